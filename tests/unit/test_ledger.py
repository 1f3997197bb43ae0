"""Ledger rows: an ended job and its cost become one DynamoDB-ready item, and the item turns back into the Resource."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from mlgov.domain.costing import cost_of
from mlgov.domain.inventory import InstanceGroup, Resource
from mlgov.domain.job_event import job_resource, parse_job_event, with_training_times
from mlgov.domain.ledger import NotALedgerItem, ledger_item, ledger_time, resource_from_ledger_item
from mlgov.domain.pricing import PriceTable
from tests.samples import job_events as je

NOW = datetime(2026, 11, 24, 12, 0, 5, 123456, tzinfo=UTC)
PRICES = PriceTable(
    as_of="2026-11-01",
    source="test table",
    currency="USD",
    prices={"eu-west-1": {"ml.m5.xlarge": 0.23, "ml.m5.large": 0.115, "ml.c5.xlarge": 0.204}},
    components={"eu-west-1": {"training": {"ml.m5.xlarge": 0.256}}},
)
SPEC_KEYS = {
    "pk",
    "arn",
    "account",
    "region",
    "job_type",
    "name",
    "status",
    "instance_type",
    "instance_count",
    "started",
    "ended",
    "billable_seconds",
    "training_seconds",
    "managed_spot",
    "spot_savings_pct",
    "cost_usd",
    "cost_reason",
    "price_as_of",
    "tags",
    "recorded_at",
}


def spot_training_resource() -> Resource:
    job = parse_job_event(je.training_event())
    described = {"BillableTimeInSeconds": 1200, "TrainingTimeInSeconds": 2700, "EnableManagedSpotTraining": True}
    return job_resource(with_training_times(job, described))


def item_for(resource: Resource) -> dict:
    return ledger_item(resource, cost_of(resource, PRICES, NOW), price_as_of=PRICES.as_of, recorded_at=NOW)


def test_managed_spot_training_row_costs_billable_seconds_times_instances_at_the_training_price():
    item = item_for(spot_training_resource())

    assert set(item) >= SPEC_KEYS
    assert item["pk"] == f"job#{item['arn']}"
    assert (item["job_type"], item["status"], item["instance_type"], item["instance_count"]) == (
        "training-job",
        "Completed",
        "ml.m5.xlarge",
        2,
    )
    assert item["cost_usd"] == Decimal(str(round(1200 * 2 * 0.256 / 3600, 6)))
    assert item["spot_savings_pct"] == Decimal("55.56")  # (1 - 1200/2700) x 100
    assert item["managed_spot"] is True and item["billable_seconds"] == 1200 and item["training_seconds"] == 2700
    assert "1200 billable s" in item["cost_reason"] and "managed spot saved 55.6%" in item["cost_reason"]
    assert item["price_as_of"] == "2026-11-01"
    assert item["tags"] == je.TEAM_TAGS
    assert (item["started"], item["ended"]) == ("2026-11-24T10:02:00.000Z", "2026-11-24T10:47:00.000Z")
    assert item["recorded_at"] == "2026-11-24T12:00:05.123Z"


def test_row_holds_no_float_so_dynamodb_accepts_it_as_is():
    item = item_for(spot_training_resource())

    serialized = {key: TypeSerializer().serialize(value) for key, value in item.items()}  # raises on any float

    assert serialized["cost_usd"] == {"N": str(item["cost_usd"])}


def test_processing_job_without_billable_time_is_costed_from_start_to_end():
    resource = job_resource(parse_job_event(je.processing_event()))  # 09:03 -> 09:23, 1 x ml.m5.large

    item = item_for(resource)

    assert item["cost_usd"] == Decimal(str(round(1200 * 0.115 / 3600, 6)))
    assert item["spot_savings_pct"] is None and item["managed_spot"] is False


def test_unknown_instance_type_records_no_cost_and_says_why():
    resource = job_resource(parse_job_event(je.transform_event(instance_type="ml.x9.48xlarge")))

    item = item_for(resource)

    assert item["cost_usd"] is None
    assert "no price for ml.x9.48xlarge" in item["cost_reason"]


def test_failed_job_that_never_started_costs_nothing():
    resource = job_resource(parse_job_event(je.processing_event(status="Failed", started=None)))

    item = item_for(resource)

    assert item["cost_usd"] == Decimal("0")
    assert item["started"] is None and item["failure_reason"].startswith("ClientError")


def test_ledger_time_has_one_width_so_text_order_is_time_order():
    times = [
        datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
        datetime(2026, 11, 24, 10, 0, 0, 500000, tzinfo=UTC),
        datetime(2026, 11, 24, 10, 0, 1, tzinfo=UTC),
    ]
    texts = [ledger_time(moment) for moment in times]

    assert texts == sorted(texts)
    assert len({len(text) for text in texts}) == 1


@pytest.mark.parametrize(
    "resource",
    [
        spot_training_resource(),
        job_resource(parse_job_event(je.processing_event(status="Failed", started=None))),
        job_resource(parse_job_event(je.transform_event(status="Stopped"))),
    ],
    ids=["spot-training", "failed-processing", "stopped-transform"],
)
def test_item_round_trips_to_the_same_resource_through_dynamodb_types(resource):
    item = item_for(resource)
    stored = {key: TypeDeserializer().deserialize(TypeSerializer().serialize(value)) for key, value in item.items()}

    back = resource_from_ledger_item(stored)

    assert replace(back, details={}) == replace(resource, details={})
    assert back.details["source"] == "ledger"
    assert back.details["cost_usd"] == (None if item["cost_usd"] is None else float(item["cost_usd"]))
    assert back.details["cost_reason"] == item["cost_reason"]
    assert back.details["price_as_of"] == "2026-11-01"


def test_heterogeneous_training_groups_round_trip():
    resource = replace(
        spot_training_resource(),
        instance_type=None,
        instance_count=3,
        instance_groups=(InstanceGroup("gpu", "ml.m5.xlarge", 1, 1), InstanceGroup("cpu", "ml.m5.large", 2, 2)),
    )

    back = resource_from_ledger_item(item_for(resource))

    assert back.instance_groups == resource.instance_groups and back.instance_type is None


def test_an_item_without_an_end_is_not_a_ledger_row():
    item = item_for(spot_training_resource())
    del item["ended"]

    with pytest.raises(NotALedgerItem, match="ended"):
        resource_from_ledger_item(item)


def test_only_ended_jobs_make_rows():
    running = replace(spot_training_resource(), ended=None, status="InProgress")

    with pytest.raises(ValueError, match="not an ended job"):
        item_for(running)
