"""What the approval-flow e2e modules share (tests/e2e/test_approval_flow.py, tests/e2e/test_snapshot_flow.py): the
deployed organization with one member endpoint, and the ways a test starts and reads an approval. Two modules so
pytest-xdist can run them on two workers (each holds about a dozen harness deployments, three times over in the
shifted-clock session)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.aws.test_snapshot_store import SHARDS, SOURCE, TARBALL, create_endpoint
from tests.e2e.harness import deployed

MEMBER = "333333333333"
OUTSIDE = "555555555555"  # in the organization, not below the target OUs: no spoke, no SCPs
REGION = "us-east-1"  # a member region that is not the hub's
ENDPOINT = "churn-ep"
APPROVER = "U0PLATFORM1"  # cdk.json slack.approvers


@pytest.fixture
def flow(templates, instant):
    with deployed(templates, {MEMBER: "ml-research"}, outside={OUTSIDE: "sandbox"}) as harness:
        session = harness.session(MEMBER, REGION)
        s3, sagemaker = session.client("s3"), session.client("sagemaker")
        s3.create_bucket(Bucket=SOURCE)
        s3.put_object(Bucket=SOURCE, Key="xgb/model.tar.gz", Body=TARBALL)
        for key, body in SHARDS.items():
            s3.put_object(Bucket=SOURCE, Key=key, Body=body)
        create_endpoint(sagemaker, ENDPOINT)  # two models: one model.tar.gz, one S3Prefix of shards
        backdate(ENDPOINT, instant - timedelta(days=60))  # older than zombie_min_age_days: Recheck applies it
        harness.found_idle_on = (instant - timedelta(days=10)).date()  # the scan's zombie_since, after the update
        harness.endpoint_arn = sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointArn"]
        sagemaker.delete_tags(ResourceArn=harness.endpoint_arn, TagKeys=["mlgov:zombie"])  # the flow writes it
        yield harness


def backdate(name: str, created: datetime) -> None:
    """moto stamps an endpoint with the wall clock's now; a zombie candidate is weeks old."""
    from moto.sagemaker.models import sagemaker_backends

    stored = sagemaker_backends[MEMBER][REGION].endpoints[name]
    stored.creation_time = stored.last_modified_time = created.astimezone(UTC).replace(tzinfo=None)


def _start(harness, machine: str | None = None) -> str:
    """What the scanner starts for a new zombie (scan_run.approval_input)."""
    finding = {
        "arn": harness.endpoint_arn,
        "account": MEMBER,
        "region": REGION,
        "name": ENDPOINT,
        "status": "zombie",
        "waste_usd_month": 1234.5,
        "reason": "0 invocations for 30 days",
        "owner": "alice@example.com",
    }
    payload = {
        "run_id": "r1",
        "report_key": "reports/r1.json",
        "first_seen": (harness.found_idle_on - timedelta(days=30)).isoformat(),
        "zombie_since": harness.found_idle_on.isoformat(),
        "finding": finding,
    }
    sfn = harness.session(harness.templates.hub_account).client("stepfunctions")
    return sfn.start_execution(
        stateMachineArn=machine or harness.state_machine_arn("mlgov-approval"), input=json.dumps(payload)
    )["executionArn"]


def _member(harness):
    return harness.session(MEMBER, REGION)


def _tags(harness) -> dict:
    listed = _member(harness).client("sagemaker").list_tags(ResourceArn=harness.endpoint_arn)["Tags"]
    return {t["Key"]: t["Value"] for t in listed}


def _endpoint_exists(harness) -> bool:
    names = {e["EndpointName"] for e in _member(harness).client("sagemaker").list_endpoints()["Endpoints"]}
    return ENDPOINT in names


def _kept_unconfirmed(harness, result: dict) -> dict:
    """The execution failed, the endpoint is still there and never got mlgov:zombie=confirmed: its last Slack update."""
    assert result["status"] == "FAILED"
    assert _endpoint_exists(harness)
    assert _tags(harness).get("mlgov:zombie") == "candidate"  # never confirmed
    return _last_update(harness)


def _last_update(harness) -> dict:
    body = harness.slack.messages("chat.update")[-1]["body"]
    return {"text": body.get("text", ""), "blocks": json.dumps(body.get("blocks", ""))}
