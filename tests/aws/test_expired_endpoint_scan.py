"""The scheduled scan hands expired endpoints to the approval flow (the scanner Lambda on moto, the hub of
tests/aws/test_scanner_handler.py plus an endpoint past its `auto-delete-after` that still serves traffic): one
approval per endpoint and lifetime date however often the run is replayed, a moved date asked about again, a recorded
exemption honoured, and the zombie episodes beside it unchanged."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import boto3
import pytest

from mlgov.domain.expiry_approval import expiry_execution_name
from mlgov.domain.scan_run import approval_execution_name
from tests.aws import test_scanner_handler as scanner
from tests.aws.test_scanner_handler import HUB, REGION, TABLE, _endpoint, approvals_table
from tests.samples.tags import required_tags

hub, slack_api = scanner.hub, scanner.slack_api  # the scanner module's fixtures: its hub, its local Slack Web API
NAME = "hub-expired"


def _day(moment) -> str:
    return moment.strftime("%Y-%m-%d")


@pytest.fixture
def expired(hub):
    """An endpoint whose auto-delete-after passed 3 days before the first scan, invoked on each of the last 3 days:
    `expired`, not a zombie. Returns its lifetime date."""
    tags = required_tags(hub.now, keep_days=-3, created_by="bob@example.com")
    hub.arns[NAME] = _endpoint(HUB, NAME, [50.0, 20.0, 5.0], hub.now, tags)
    return tags["auto-delete-after"]


def _set_lifetime(hub, value: str) -> None:
    """The owner moves the date (e.g. Extend): the tag the next scan reads."""
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sagemaker.add_tags(ResourceArn=hub.arns[NAME], Tags=[{"Key": "auto-delete-after", "Value": value}])


def _inputs(hub) -> dict[str, dict]:
    return {e["name"]: json.loads(e["input"]) for e in hub.executions()}


def test_an_expired_endpoint_gets_one_approval_however_often_the_run_is_replayed(hub, expired):
    name = expiry_execution_name(hub.arns[NAME], expired)

    first = hub.run("run-1")
    replayed = hub.call({"task": "aggregate", "run_id": "run-1", "parts": None})  # a retried aggregate
    next_day = hub.run("run-2", at=hub.now + timedelta(days=1))

    assert first["approvals_started"] == 3 and first["approval_errors"] == 0  # two zombies and the expired endpoint
    assert replayed["approvals_started"] == 0 and next_day["approvals_started"] == 0
    inputs = _inputs(hub)
    assert sorted(inputs) == sorted(
        [name, *(approval_execution_name(hub.arns[n], hub.day) for n in ("hub-zombie", "member-zombie"))]
    )
    payload = inputs[name]
    assert payload["reason"] == "expired" and payload["expired_on"] == expired
    assert payload["lifetime_tag"] == "auto-delete-after" and "zombie_since" not in payload
    assert payload["run_id"] == "run-1" and payload["first_seen"] == hub.seen
    finding = payload["finding"]
    assert finding["arn"] == hub.arns[NAME] and finding["status"] == "expired"
    assert finding["evidence"]["expired_on"] == expired and finding["evidence"]["invocations"] == {"blue": 75.0}
    assert finding["owner"] == "bob@example.com" and finding["waste_usd_month"] > 0
    zombie = inputs[approval_execution_name(hub.arns["hub-zombie"], hub.day)]
    assert zombie["reason"] == "zombie" and zombie["zombie_since"] == hub.day  # the zombie episode as before
    row = hub.row(NAME)
    assert row["status"] == "expired" and row["approval_execution"] == name and "zombie_since" not in row


def test_an_approval_started_but_not_recorded_is_not_started_twice(hub, expired):
    """A crash between StartExecution and marking the row: the next run finds the execution name taken."""
    hub.run("run-1")
    boto3.client("dynamodb", region_name=REGION).update_item(
        TableName=TABLE, Key={"arn": {"S": hub.arns[NAME]}}, UpdateExpression="REMOVE approval_execution"
    )

    result = hub.run("run-2", at=hub.now + timedelta(days=1))

    assert result["approvals_started"] == 0 and len(hub.executions()) == 3
    assert hub.row(NAME)["approval_execution"] == expiry_execution_name(hub.arns[NAME], expired)


def test_an_extended_date_ends_the_episode_and_the_new_date_once_past_asks_again(hub, expired):
    hub.run("run-1")
    extended = _day(hub.now + timedelta(days=5))
    _set_lifetime(hub, extended)

    kept = hub.run("run-2", at=hub.now + timedelta(days=1))
    assert kept["approvals_started"] == 0 and hub.row(NAME)["status"] == "active"

    again = hub.run("run-3", at=hub.now + timedelta(days=7))  # the new date has passed too

    assert again["approvals_started"] == 1 and hub.row(NAME)["status"] == "expired"
    new = expiry_execution_name(hub.arns[NAME], extended)
    assert _inputs(hub)[new]["expired_on"] == extended
    assert hub.row(NAME)["approval_execution"] == new and len(hub.executions()) == 4


def test_a_recorded_exemption_keeps_an_expired_endpoint_and_one_nobody_recorded_keeps_nothing(hub, caplog):
    tags = required_tags(hub.now, keep_days=-3, created_by="bob@example.com") | {"mlgov:exempt": "ticket-9"}
    hub.arns[NAME] = _endpoint(HUB, NAME, [50.0, 20.0, 5.0], hub.now, tags)
    approvals_table().record_exemption(hub.arns[NAME], "ticket-9", by="U0APPROVER", kind="reject", now=hub.now)

    kept = hub.run("run-1")
    assert kept["approvals_started"] == 2 and all(NAME not in e["input"] for e in hub.executions())

    boto3.client("dynamodb", region_name=REGION).delete_item(
        TableName="mlgov-approvals", Key={"pk": {"S": "exemption#" + hub.arns[NAME]}}
    )
    caplog.set_level(logging.WARNING)
    asked = hub.run("run-2", at=hub.now + timedelta(days=1))

    assert asked["approvals_started"] == 1
    assert expiry_execution_name(hub.arns[NAME], tags["auto-delete-after"]) in {e["name"] for e in hub.executions()}
    assert "mlgov:exempt not honoured" in caplog.text
