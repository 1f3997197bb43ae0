"""The Price List adapter and `mlgov pricing`: GetProducts stubbed against botocore's real `pricing` model."""

from __future__ import annotations

import argparse
import json

import boto3
import pytest
from botocore.stub import Stubber

from mlgov.aws.price_list import (
    PRICING_API_REGIONS,
    PRICING_REGION,
    PriceListError,
    fetch_sagemaker_products,
    pricing_client,
)
from mlgov.cli import _common_options
from mlgov.cli.pricing import PricingError, add_pricing_commands
from mlgov.domain.pricing import parse_price_table
from mlgov.price_files import load_price_table
from tests.unit.test_pricing import sagemaker_product


def _filters(region: str) -> list[dict]:
    return [
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
        {"Type": "TERM_MATCH", "Field": "productFamily", "Value": "ML Instance"},
    ]


def _request(region: str, token: str | None = None) -> dict:
    request = {"ServiceCode": "AmazonSageMaker", "Filters": _filters(region), "FormatVersion": "aws_v1"}
    request["MaxResults"] = 100
    if token:
        request["NextToken"] = token
    return request


def _page(products: list[dict], token: str | None = None) -> dict:
    page = {"FormatVersion": "aws_v1", "PriceList": [json.dumps(product) for product in products]}
    if token:
        page["NextToken"] = token
    return page


US_EAST_1_PAGE_1 = [
    sagemaker_product("ml.m5.xlarge", "USE1-Host:ml.m5.xlarge", "Hosting", "0.2300000000"),
    sagemaker_product("ml.g5.xlarge", "USE1-Host:ml.g5.xlarge", "Hosting", "1.4084000000", sku="HOSTG5"),
]
US_EAST_1_PAGE_2 = [
    sagemaker_product("ml.g5.xlarge", "USE1-Train:ml.g5.xlarge", "Training", "1.4080000000", sku="TRAING5"),
]
AP_SOUTH_1 = [
    sagemaker_product("ml.m5.xlarge", "APS3-Host:ml.m5.xlarge", "Hosting", "0.2420000000", region="ap-south-1"),
]


@pytest.fixture
def client():
    return boto3.client("pricing", region_name="us-east-1")


def _stub_two_regions(stubber: Stubber) -> None:
    stubber.add_response("get_products", _page(US_EAST_1_PAGE_1, "page-2"), _request("us-east-1"))
    stubber.add_response("get_products", _page(US_EAST_1_PAGE_2), _request("us-east-1", "page-2"))
    stubber.add_response("get_products", _page(AP_SOUTH_1), _request("ap-south-1"))


# --- adapter --------------------------------------------------------------------------------------------------------


def test_products_of_every_page_and_region_come_back_decoded(client):
    with Stubber(client) as stubber:
        _stub_two_regions(stubber)

        products = fetch_sagemaker_products(client, ["us-east-1", "ap-south-1"])

    assert [(p["product"]["attributes"]["regionCode"], p["product"]["sku"]) for p in products] == [
        ("us-east-1", "JDZQJFUVUR8SUWHS"),
        ("us-east-1", "HOSTG5"),
        ("us-east-1", "TRAING5"),
        ("ap-south-1", "JDZQJFUVUR8SUWHS"),
    ]
    assert products[0]["terms"]["OnDemand"]["JDZQJFUVUR8SUWHS.JRTCKXETXF"]["offerTermCode"] == "JRTCKXETXF"


def test_access_denied_becomes_one_line_naming_the_missing_permission(client):
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "get_products",
            service_error_code="AccessDeniedException",
            service_message="User: arn:aws:iam::111122223333:user/ci is not authorized\nto do pricing:GetProducts",
            http_status_code=400,
            expected_params=_request("us-east-1"),
        )
        with pytest.raises(PriceListError) as caught:
            fetch_sagemaker_products(client, ["us-east-1"])

    message = str(caught.value)
    assert "\n" not in message
    assert "us-east-1" in message and "AccessDeniedException" in message and "pricing:GetProducts" in message


def test_missing_credentials_become_one_line(monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    client = pricing_client(boto3.Session())

    with pytest.raises(PriceListError, match="^Price List GetProducts for us-east-1 failed: Unable to locate cred"):
        fetch_sagemaker_products(client, ["us-east-1"])


def test_the_pricing_client_uses_a_region_that_serves_the_price_list():
    client = pricing_client(boto3.Session())

    assert client.meta.region_name == PRICING_REGION == "us-east-1"
    assert sorted(PRICING_API_REGIONS) == sorted(boto3.Session().get_available_regions("pricing"))


# --- `mlgov pricing` ------------------------------------------------------------------------------------------------


def _parser(client) -> argparse.ArgumentParser:
    """The `mlgov` parser as cli.build_parser makes it, with only the pricing commands and a stubbed client."""
    parser = argparse.ArgumentParser(prog="mlgov", parents=[_common_options(True)])
    add_pricing_commands(parser.add_subparsers(), _common_options(False), client_factory=lambda args: client)
    return parser


def _run(client, *argv: str) -> int:
    args = _parser(client).parse_args(list(argv))
    return args.run(args)


def test_refresh_writes_a_table_from_the_price_list_and_reports_what_changed(client, tmp_path, capsys):
    output = tmp_path / "prices.json"
    with Stubber(client) as stubber:
        _stub_two_regions(stubber)

        status = _run(client, "pricing", "refresh", "--regions", "us-east-1", "ap-south-1", "--output", str(output))

    assert status == 0
    table = load_price_table(output)
    assert table.hourly("ml.m5.xlarge", "us-east-1").hourly_usd == 0.23
    assert table.hourly("ml.g5.xlarge", "us-east-1", "training").hourly_usd == 1.408
    assert table.hourly("ml.m5.xlarge", "ap-south-1").hourly_usd == 0.242
    assert "Price List API" in table.source and table.notes == ()
    printed = capsys.readouterr().out
    assert "4 Price List products for 2 regions" in printed
    assert "us-east-1" in printed and "2 instance types (2 hosting, 1 training prices)" in printed
    assert "changes against the packaged table" in printed
    assert f"wrote {output}" in printed


def test_refresh_defaults_to_the_regions_already_in_the_table(client, tmp_path, capsys):
    output = tmp_path / "prices.json"
    output.write_text(
        json.dumps(
            {
                "schema": "mlgov.prices/1",
                "as_of": "2026-01-01",
                "source": "hand-made",
                "currency": "USD",
                "regions": {"ap-south-1": {"ml.m5.xlarge": 0.25}},
            }
        )
    )
    with Stubber(client) as stubber:
        stubber.add_response("get_products", _page(AP_SOUTH_1), _request("ap-south-1"))

        assert _run(client, "pricing", "refresh", "--output", str(output)) == 0

    assert load_price_table(output).prices == {"ap-south-1": {"ml.m5.xlarge": 0.242}}
    printed = capsys.readouterr().out
    assert "ap-south-1: 0 added, 0 removed, 1 changed" in printed
    assert "ml.m5.xlarge" in printed and "$0.25 -> $0.242" in printed


def test_a_dry_run_prints_the_changes_and_writes_nothing(client, tmp_path, capsys):
    output = tmp_path / "prices.json"
    with Stubber(client) as stubber:
        _stub_two_regions(stubber)

        status = _run(
            client, "pricing", "refresh", "--regions", "us-east-1", "ap-south-1", "--output", str(output), "--dry-run"
        )

    assert status == 0
    assert not output.exists()
    assert "dry run: nothing written" in capsys.readouterr().out


def test_refresh_refuses_to_write_when_a_region_has_no_prices(client, tmp_path):
    output = tmp_path / "prices.json"
    with Stubber(client) as stubber:
        stubber.add_response("get_products", _page(US_EAST_1_PAGE_1), _request("us-east-1"))
        stubber.add_response("get_products", _page([]), _request("us-west-9"))

        with pytest.raises(PricingError, match="no SageMaker instance prices for us-west-9") as caught:
            _run(client, "pricing", "refresh", "--regions", "us-east-1", "us-west-9", "--output", str(output))

    assert isinstance(caught.value, ValueError) and "\n" not in str(caught.value)
    assert not output.exists()


def test_refresh_rejects_a_malformed_region_before_calling_aws(client, tmp_path):
    with Stubber(client), pytest.raises(PricingError, match="'useast1' is not an AWS region code"):
        _run(client, "pricing", "refresh", "--regions", "useast1", "--output", str(tmp_path / "p.json"))


def test_refresh_without_permission_is_a_one_line_error_and_writes_nothing(client, tmp_path):
    output = tmp_path / "prices.json"
    with Stubber(client) as stubber:
        stubber.add_client_error("get_products", "AccessDeniedException", "not authorized", 400)

        with pytest.raises(ValueError, match="AccessDeniedException: not authorized"):
            _run(client, "pricing", "refresh", "--regions", "us-east-1", "--output", str(output))

    assert not output.exists()


def test_show_prints_every_price_of_an_instance_type_with_its_reason(client, capsys):
    assert _run(client, "pricing", "show", "--instance-type", "ml.g5.xlarge", "--region", "us-east-1") == 0

    printed = capsys.readouterr().out
    assert "/h ml.g5.xlarge us-east-1 (table " in printed
    assert "/h ml.g5.xlarge us-east-1 training (table " in printed


def test_show_of_an_unpriced_instance_type_says_why_and_fails(client, capsys):
    assert _run(client, "pricing", "show", "--instance-type", "ml.foo.bar") == 1

    assert "no price for ml.foo.bar in us-east-1" in capsys.readouterr().out


def test_show_of_a_region_lists_its_prices(client, tmp_path, capsys):
    table = tmp_path / "prices.json"
    table.write_text(json.dumps({**_minimal_table(), "regions": {"eu-west-1": {"ml.m5.xlarge": 0.256}}}))

    assert _run(client, "pricing", "show", "--table", str(table), "--region", "eu-west-1") == 0

    assert "ml.m5.xlarge" in capsys.readouterr().out
    with pytest.raises(PricingError, match="no prices for us-east-1"):
        _run(client, "pricing", "show", "--table", str(table), "--region", "us-east-1")


def _minimal_table() -> dict:
    table = {"schema": "mlgov.prices/1", "as_of": "2026-11-24", "source": "test", "currency": "USD"}
    parse_price_table({**table, "regions": {"us-east-1": {"ml.m5.xlarge": 0.23}}})
    return table
