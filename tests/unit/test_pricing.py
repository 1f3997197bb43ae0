"""The SageMaker price table: validation, lookups with reasons, building it from Price List products, the file."""

from __future__ import annotations

import copy
import json
import random

import pytest

from mlgov.domain.pricing import (
    PriceChange,
    PriceTable,
    PriceTableError,
    compare_tables,
    parse_price_table,
    price_table_from_products,
    render_price_table,
)
from mlgov.price_files import PACKAGED_PRICES_PATH, load_price_table, price_table_text

AS_OF = "2026-11-24"
LOCATIONS = {"us-east-1": "US East (N. Virginia)", "ap-south-1": "Asia Pacific (Mumbai)"}

VALID = {
    "schema": "mlgov.prices/1",
    "as_of": AS_OF,
    "source": "AWS Price List API GetProducts",
    "currency": "USD",
    "regions": {
        "us-east-1": {
            "ml.m5.xlarge": 0.23,
            "ml.g5.xlarge": 1.4084,
            "components": {"training": {"ml.g5.xlarge": 1.408}, "notebook": {"ml.r5.4xlarge": 1.21}},
        },
        "ap-south-1": {"components": {"notebook": {"ml.t3.medium": 0.054}}},
    },
}


def sagemaker_product(
    instance: str,
    usagetype: str,
    component: str | None,
    usd: str,
    *,
    region: str = "us-east-1",
    unit: str = "Hrs",
    location_type: str = "AWS Region",
    sku: str = "JDZQJFUVUR8SUWHS",
) -> dict:
    """One AmazonSageMaker product document as GetProducts returns it (after json.loads), in the aws_v1 format."""
    attributes = {
        "regionCode": region,
        "location": LOCATIONS.get(region, region),
        "locationType": location_type,
        "instanceName": instance,
        "usagetype": usagetype,
        "operation": "RunInstance",
        "servicecode": "AmazonSageMaker",
        "servicename": "Amazon SageMaker",
        "vCpu": "4",
        "memory": "16 GiB",
    }
    if component is not None:
        attributes["component"] = component
    term, rate = f"{sku}.JRTCKXETXF", f"{sku}.JRTCKXETXF.6YS6EN2CT7"
    return {
        "product": {"productFamily": "ML Instance", "attributes": attributes, "sku": sku},
        "serviceCode": "AmazonSageMaker",
        "terms": {
            "OnDemand": {
                term: {
                    "priceDimensions": {
                        rate: {
                            "unit": unit,
                            "endRange": "Inf",
                            "description": f"${usd} per {component} {instance} in {region}",
                            "appliesTo": [],
                            "rateCode": rate,
                            "beginRange": "0",
                            "pricePerUnit": {"USD": usd},
                        }
                    },
                    "sku": sku,
                    "effectiveDate": "2026-09-01T00:00:00Z",
                    "offerTermCode": "JRTCKXETXF",
                    "termAttributes": {},
                }
            }
        },
        "version": "20260924235959",
        "publicationDate": "2026-09-24T23:59:59Z",
    }


def realistic_products() -> list[dict]:
    return [
        sagemaker_product("ml.m5.xlarge", "USE1-Host:ml.m5.xlarge", "Hosting", "0.2300000000"),
        sagemaker_product("ml.m5.xlarge", "USE1-Train:ml.m5.xlarge", "Training", "0.2300000000", sku="TRAINM5"),
        sagemaker_product("ml.g5.xlarge", "USE1-Host:ml.g5.xlarge", "Hosting", "1.4084000000", sku="HOSTG5"),
        sagemaker_product("ml.g5.xlarge", "USE1-Train:ml.g5.xlarge", "Training", "1.4080000000", sku="TRAING5"),
        sagemaker_product("ml.g5.xlarge", "USE1-Notebk:ml.g5.xlarge", "Notebook", "1.4100000000", sku="NBG5"),
        sagemaker_product("ml.p4d.24xlarge", "USE1-Host:ml.p4d.24xlarge", "Hosting", "25.2510000000", sku="P4D"),
        sagemaker_product("ml.p4d.24xlarge", "USE1-Cluster:ml.p4d.24xlarge", "Cluster", "25.9100000000", sku="P4DC"),
        sagemaker_product("ml.t3.medium", "APS3-Notebk:ml.t3.medium", "Notebook", "0.0540000000", region="ap-south-1"),
        # Not on-demand instance-hours: storage, spot training, a training-plan fee, a free tier SKU, Outposts.
        sagemaker_product("ml.m5.xlarge", "USE1-Host:VolumeUsage.gp2", "Hosting", "0.1400000000", unit="GB-Mo"),
        sagemaker_product("ml.m5.xlarge", "USE1-TrSpt:ml.m5.xlarge", "Training", "0.0690000000", sku="SPOT"),
        sagemaker_product(
            "ml.p4d.24xlarge", "USE1-TrainingPlanUpfrontFee:ml.p4d.24xlarge", None, "13.57", unit="Quantity"
        ),
        sagemaker_product("ml.t3.medium", "USE1-Notebk:ml.t3.medium", "Notebook", "0.0000000000", sku="FREE"),
        sagemaker_product("ml.m5.xlarge", "USE1-Host:ml.m5.xlarge", "Hosting", "0.27", location_type="AWS Outposts"),
        sagemaker_product("", "USE1-ServerlessInf:Mem-4GB", "Hosting", "0.0000800000", unit="Second"),
    ]


def _error(raw: object) -> str:
    with pytest.raises(PriceTableError) as caught:
        parse_price_table(raw)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- parsing --------------------------------------------------------------------------------------------------------


def test_a_valid_document_parses_into_hosting_prices_and_component_overrides():
    table = parse_price_table(VALID)

    assert table.prices == {"us-east-1": {"ml.m5.xlarge": 0.23, "ml.g5.xlarge": 1.4084}}
    assert table.components["us-east-1"]["training"] == {"ml.g5.xlarge": 1.408}
    assert table.regions() == ["ap-south-1", "us-east-1"]
    assert table.instance_types("us-east-1") == ["ml.g5.xlarge", "ml.m5.xlarge", "ml.r5.4xlarge"]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda d: d.update(schema="mlgov.prices/2"), "schema is 'mlgov.prices/2'"),
        (lambda d: d.update(as_of="24/11/2026"), "'as_of' must be a date"),
        (lambda d: d.update(as_of="2026-02-30"), "'as_of' must be a date"),
        (lambda d: d.update(source=""), "'source'"),
        (lambda d: d.update(currency="EUR"), "currency is 'EUR'"),
        (lambda d: d.update(regoins={}), "unknown key 'regoins'"),
        (lambda d: d.update(regions={}), "non-empty 'regions'"),
        (lambda d: d.update(notes="see source"), "'notes'"),
        (lambda d: d["regions"].update({"US-East-1": {"ml.m5.xlarge": 0.23}}), "'US-East-1' is not an AWS region"),
        (lambda d: d["regions"]["us-east-1"].update({"m5.xlarge": 0.19}), "'m5.xlarge' is not a SageMaker instance"),
        (lambda d: d["regions"]["us-east-1"].update({"ml.m5.large": -0.115}), "ml.m5.large: price must be a positive"),
        (lambda d: d["regions"]["us-east-1"].update({"ml.m5.large": 0}), "positive finite number, got 0"),
        (lambda d: d["regions"]["us-east-1"].update({"ml.m5.large": float("nan")}), "got nan"),
        (lambda d: d["regions"]["us-east-1"].update({"ml.m5.large": "0.115"}), "got '0.115'"),
        (lambda d: d["regions"]["us-east-1"].update({"ml.m5.large": True}), "got True"),
        (lambda d: d["regions"].update({"eu-west-1": {}}), "regions.eu-west-1 has no prices"),
        (lambda d: d["regions"]["us-east-1"]["components"].update(hosting={}), "hosting prices belong directly"),
        (lambda d: d["regions"]["us-east-1"]["components"].update(trainng={}), "unknown component 'trainng'"),
        (
            lambda d: d["regions"]["us-east-1"]["components"]["training"].update({"ml.g5.xlarge": -1}),
            "regions.us-east-1.components.training: ml.g5.xlarge: price must be a positive",
        ),
    ],
)
def test_an_invalid_document_is_rejected_with_one_line_naming_the_problem(change, named):
    raw = copy.deepcopy(VALID)
    change(raw)

    assert named in _error(raw)


def test_a_document_that_is_not_an_object_is_rejected():
    assert "must be a JSON object, got list" in _error([VALID])


# --- lookups --------------------------------------------------------------------------------------------------------


def test_a_hosting_price_comes_with_its_source_date():
    lookup = parse_price_table(VALID).hourly("ml.m5.xlarge", "us-east-1")

    assert lookup.hourly_usd == 0.23
    assert lookup.reason == "$0.23/h ml.m5.xlarge us-east-1 (table 2026-11-24)"


def test_an_unknown_instance_type_has_no_price_and_the_reason_names_type_and_region():
    lookup = parse_price_table(VALID).hourly("ml.foo.bar", "us-east-1")

    assert lookup.hourly_usd is None
    assert "ml.foo.bar" in lookup.reason and "us-east-1" in lookup.reason
    assert "(2026-11-24)" in lookup.reason and "`mlgov pricing refresh`" in lookup.reason


def test_a_region_missing_from_the_table_is_never_priced_from_another_region():
    lookup = parse_price_table(VALID).hourly("ml.m5.xlarge", "eu-west-1")

    assert lookup.hourly_usd is None
    assert "ml.m5.xlarge" in lookup.reason and "eu-west-1" in lookup.reason
    assert "covers only ap-south-1, us-east-1" in lookup.reason
    assert "`mlgov pricing refresh --regions ap-south-1 us-east-1 eu-west-1`" in lookup.reason


def test_a_component_price_overrides_the_hosting_price():
    lookup = parse_price_table(VALID).hourly("ml.g5.xlarge", "us-east-1", "training")

    assert lookup.hourly_usd == 1.408
    assert lookup.reason == "$1.408/h ml.g5.xlarge us-east-1 training (table 2026-11-24)"


def test_a_component_without_its_own_price_uses_the_hosting_price_and_says_so():
    lookup = parse_price_table(VALID).hourly("ml.m5.xlarge", "us-east-1", "processing")

    assert lookup.hourly_usd == 0.23
    assert "hosting rate, the table has no separate processing rate" in lookup.reason


def test_a_region_with_only_component_prices_leaves_endpoints_unpriced():
    table = parse_price_table(VALID)

    assert table.hourly("ml.t3.medium", "ap-south-1", "notebook").hourly_usd == 0.054
    hosting = table.hourly("ml.t3.medium", "ap-south-1")
    assert hosting.hourly_usd is None
    assert "ml.t3.medium" in hosting.reason and "ap-south-1" in hosting.reason


def test_a_component_type_without_any_price_names_the_component():
    lookup = parse_price_table(VALID).hourly("ml.c5.xlarge", "us-east-1", "training")

    assert lookup.hourly_usd is None
    assert "ml.c5.xlarge (training)" in lookup.reason


def test_an_unknown_component_is_a_caller_error():
    with pytest.raises(ValueError, match="unknown price component 'inference'"):
        parse_price_table(VALID).hourly("ml.m5.xlarge", "us-east-1", "inference")


# --- building from the AWS Price List -------------------------------------------------------------------------------


def test_products_become_hosting_prices_plus_only_the_component_prices_that_differ():
    table = price_table_from_products(realistic_products(), AS_OF)

    assert table.prices == {"us-east-1": {"ml.g5.xlarge": 1.4084, "ml.m5.xlarge": 0.23, "ml.p4d.24xlarge": 25.251}}
    assert table.components == {
        "ap-south-1": {"notebook": {"ml.t3.medium": 0.054}},
        "us-east-1": {
            "cluster": {"ml.p4d.24xlarge": 25.91},
            "notebook": {"ml.g5.xlarge": 1.41},
            "training": {"ml.g5.xlarge": 1.408},
        },
    }
    assert table.as_of == AS_OF and table.currency == "USD"
    assert "offer published 2026-09-24T23:59:59Z" in table.source


def test_spot_storage_reservation_free_and_outposts_prices_never_become_hourly_prices():
    table = price_table_from_products(realistic_products(), AS_OF)

    assert table.hourly("ml.m5.xlarge", "us-east-1", "training").hourly_usd == 0.23  # not the 0.069 spot rate
    assert table.hourly("ml.p4d.24xlarge", "us-east-1", "training").hourly_usd == 25.251  # not the 13.57 fee
    assert table.hourly("ml.t3.medium", "us-east-1", "notebook").hourly_usd is None  # the $0 SKU is not a price
    assert table.hourly("ml.m5.xlarge", "us-east-1").hourly_usd == 0.23  # not the Outposts 0.27


def test_the_table_does_not_depend_on_the_order_the_api_returned_products():
    products = realistic_products()
    shuffled = products[:]
    random.Random(7).shuffle(shuffled)

    assert render_price_table(price_table_from_products(shuffled, AS_OF)) == render_price_table(
        price_table_from_products(products, AS_OF)
    )


def test_two_skus_for_one_price_keep_the_higher_so_costs_are_not_understated():
    products = [
        sagemaker_product("ml.g5.xlarge", "USE1-Studio:JupyterLab-ml.g5.xlarge", "Studio Notebook", "1.41"),
        sagemaker_product("ml.g5.xlarge", "USE1-Studio:CodeEditor-ml.g5.xlarge", "studio-codeeditor", "1.45"),
    ]

    table = price_table_from_products(products, AS_OF)

    assert table.components == {"us-east-1": {"studio": {"ml.g5.xlarge": 1.45}}}


def test_usage_types_without_a_region_prefix_or_instance_name_are_still_classified():
    product = sagemaker_product("ml.m5.large", "Host:ml.m5.large", None, "0.1150000000")
    del product["product"]["attributes"]["instanceName"]

    table = price_table_from_products([product], AS_OF)

    assert table.prices == {"us-east-1": {"ml.m5.large": 0.115}}


def test_a_built_table_survives_rendering_and_parsing_unchanged():
    table = price_table_from_products(realistic_products(), AS_OF)

    assert parse_price_table(json.loads(json.dumps(render_price_table(table)))) == table


# --- comparing tables -----------------------------------------------------------------------------------------------


def test_compare_reports_each_added_removed_and_changed_price_once():
    old = parse_price_table(VALID)
    raw = copy.deepcopy(VALID)
    raw["regions"]["us-east-1"]["ml.m5.xlarge"] = 0.25  # hosting change: not repeated under training
    del raw["regions"]["us-east-1"]["ml.g5.xlarge"]
    raw["regions"]["us-east-1"]["ml.c5.xlarge"] = 0.204
    new = parse_price_table(raw)

    assert compare_tables(old, new) == [
        PriceChange("us-east-1", "hosting", "ml.c5.xlarge", None, 0.204),
        PriceChange("us-east-1", "hosting", "ml.g5.xlarge", 1.4084, None),
        PriceChange("us-east-1", "hosting", "ml.m5.xlarge", 0.23, 0.25),
    ]
    assert compare_tables(old, old) == []


def test_compare_reports_a_changed_component_override():
    old = parse_price_table(VALID)
    raw = copy.deepcopy(VALID)
    raw["regions"]["us-east-1"]["components"]["training"]["ml.g5.xlarge"] = 1.5

    assert compare_tables(old, parse_price_table(raw)) == [
        PriceChange("us-east-1", "training", "ml.g5.xlarge", 1.408, 1.5)
    ]


def test_an_override_that_now_equals_hosting_is_not_a_change():
    old = PriceTable(AS_OF, "s", "USD", {"us-east-1": {"ml.g5.xlarge": 1.41}}, {"us-east-1": {"training": {}}})
    new = PriceTable(
        AS_OF, "s", "USD", {"us-east-1": {"ml.g5.xlarge": 1.41}}, {"us-east-1": {"training": {"ml.g5.xlarge": 1.41}}}
    )

    assert compare_tables(old, new) == []


# --- the checked-in table -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> PriceTable:
    return load_price_table()


def test_the_checked_in_table_is_in_canonical_form(shipped):
    assert PACKAGED_PRICES_PATH.read_text() == price_table_text(shipped)


def test_the_checked_in_table_says_where_its_prices_come_from(shipped):
    assert shipped.source and shipped.notes
    assert "us-east-1" in shipped.regions()


@pytest.mark.parametrize(
    ("instance_type", "low", "high"),
    [
        ("ml.t3.medium", 0.04, 0.06),  # AWS_FACTS: ≈ $0.05/h
        ("ml.m5.xlarge", 0.20, 0.26),  # AWS_FACTS: ≈ $0.23/h
        ("ml.g5.xlarge", 1.35, 1.47),  # AWS_FACTS: ≈ $1.41/h
    ],
)
def test_the_checked_in_us_east_1_hosting_prices_match_the_known_references(shipped, instance_type, low, high):
    price = shipped.hourly(instance_type, "us-east-1").hourly_usd

    assert price is not None and low <= price <= high


def test_the_checked_in_p4d_price_is_the_post_2025_reading(shipped):
    """AWS_FACTS quotes ml.p4d.24xlarge at $32-38/h, the rate before AWS cut P4 prices in June 2025; the table holds
    the 2026 Price List reading ($25.251), which is within the range of any current P4d price."""
    price = shipped.hourly("ml.p4d.24xlarge", "us-east-1").hourly_usd

    assert price is not None and 20 <= price <= 38


def test_the_checked_in_table_leaves_unsourced_instance_types_unpriced(shipped):
    assert shipped.hourly("ml.p5.48xlarge", "us-east-1").hourly_usd is None
    assert shipped.hourly("ml.m5.xlarge", "eu-west-1").hourly_usd is None
