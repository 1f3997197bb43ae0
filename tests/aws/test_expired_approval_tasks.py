"""The approval tasks for an expired endpoint (input "reason": "expired"): the request names the date, the re-check
reads the live `auto-delete-after` through the approval session (extended → kept, still past → on to the snapshot,
traffic or not), and Confirm/Delete hold the same line. SageMaker over Stubbers, the approvals table on moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from mlgov.aws.approvals_table import ApprovalsTable
from mlgov.domain.snapshot import endpoint_identity
from mlgov.services.approvals import ApprovalRefused, ApprovalTasks
from tests.unit.test_approval_tasks import FakeSlack

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ACCOUNT, REGION, NAME = "333333333333", "eu-west-1", "churn-prod"
ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{NAME}"
FINDING = {"arn": ARN, "account": ACCOUNT, "region": REGION, "name": NAME, "resource_type": "endpoint",
           "status": "expired", "waste_usd_month": 120.0, "monthly_cost_usd": 120.0,
           "tags": {"auto-delete-after": "2026-11-20"},
           "evidence": {"expired_on": "2026-11-20", "invocations": {"AllTraffic": 812.0}, "usage_window_days": 30.0,
                        "last_invoked": "2026-11-23", "usage_status": "active"}}  # fmt: skip
LIVE = {
    "EndpointName": NAME,
    "EndpointArn": ARN,
    "EndpointConfigName": "cfg",
    "EndpointStatus": "InService",
    "CreationTime": NOW - timedelta(days=90),
    "LastModifiedTime": NOW - timedelta(days=1),  # updated yesterday: an expired endpoint's re-check does not mind
    "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": 1}],
}
SNAPSHOT = {
    "manifest_key": "snapshots/m/manifest.json",
    "snapshot": "20261124T120000Z",
    "endpoint": endpoint_identity(LIVE),
}
VERIFIED = {"verified": True, "problems": [], "manifest_key": "snapshots/m/manifest.json"}
APPROVE = {"decision": "approve", "by": "U0PLATFORM1"}


class FakeSessions:
    """AccountSessions stand-in: one client per service; a service nobody set up fails the test when asked for."""

    def __init__(self, **clients) -> None:
        self.clients = clients

    def client(self, service, account, region, partition="aws"):
        assert (account, region) == (ACCOUNT, REGION)
        return self.clients[service]


@pytest.fixture
def approvals(approvals_table):
    return approvals_table


def _state(**extra) -> dict:
    return {"finding": FINDING, "first_seen": "2026-09-01T06:00:00Z", "reason": "expired", "expired_on": "2026-11-20",
            "lifetime_tag": "auto-delete-after", "episode": "2026-11-20"} | extra  # fmt: skip


def _tags(lifetime: str | None, **extra: str) -> dict:
    tags = {"ml:team": "fraud", **({"auto-delete-after": lifetime} if lifetime else {}), **extra}
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


def _tasks(sagemaker, approvals: ApprovalsTable | None = None, **extra) -> ApprovalTasks:
    """Only SageMaker is reachable: a CloudWatch call (an idleness re-check) would raise KeyError."""
    return ApprovalTasks(
        sessions=FakeSessions(sagemaker=sagemaker),
        archive_client=None,
        archive_bucket="archive",
        approvals=approvals,
        clock=lambda: NOW,
        **extra,
    )


def _recheck(tags: dict, approvals: ApprovalsTable, live: dict = LIVE) -> dict:
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    stub = Stubber(sagemaker)
    stub.add_response("describe_endpoint", live, {"EndpointName": NAME})
    stub.add_response("list_inference_components", {"InferenceComponents": []}, {"EndpointNameEquals": NAME,
                                                                                  "MaxResults": 1})  # fmt: skip
    stub.add_response("list_tags", tags, {"ResourceArn": ARN})
    with stub:
        result = _tasks(sagemaker, approvals).recheck(_state())
    stub.assert_no_pending_responses()
    return result


# ---- re-check ----------------------------------------------------------------------------------------------------


def test_an_endpoint_still_past_its_date_goes_on_to_the_snapshot_even_with_traffic(approvals):
    result = _recheck(_tags("2026-11-20"), approvals)

    assert result == {"still_idle": True, "reason": "still past auto-delete-after=2026-11-20", "expired": True,
                      "lifetime_value": "2026-11-20"}  # fmt: skip


def test_an_endpoint_whose_owner_extended_the_date_is_kept(approvals):
    result = _recheck(_tags("2027-01-15"), approvals)

    assert result["still_idle"] is False and result["expired"] is False
    assert result["reason"] == "auto-delete-after was extended from 2026-11-20 to 2027-01-15"


def test_an_exemption_recorded_meanwhile_keeps_it_and_an_unrecorded_one_does_not(approvals):
    value = "exempted by bob on 2026-11-23: demo day"
    approvals.record_exemption(ARN, value, by="bob", kind="manual", now=NOW)

    kept = _recheck(_tags("2026-11-20", **{"mlgov:exempt": value}), approvals)
    forged = _recheck(_tags("2026-11-20", **{"mlgov:exempt": "keep forever"}), approvals)

    assert kept["still_idle"] is False and kept["reason"] == f"it was exempted meanwhile ({value})"
    assert forged["still_idle"] is True


def test_an_endpoint_not_in_service_is_kept_without_reading_its_tags(approvals):
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    stub = Stubber(sagemaker)
    stub.add_response("describe_endpoint", {**LIVE, "EndpointStatus": "Updating"}, {"EndpointName": NAME})
    with stub:
        result = _tasks(sagemaker, approvals).recheck(_state())
    assert result == {"still_idle": False, "reason": "the endpoint is Updating, not InService"}


def test_an_expired_approval_without_its_date_is_refused():
    with pytest.raises(ApprovalRefused, match="needs expired_on"):
        _tasks(boto3.client("sagemaker", region_name=REGION)).recheck(_state(expired_on=None))


# ---- confirm and delete ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["confirm", "delete"])
def test_confirm_and_delete_go_on_while_it_is_still_expired_and_stop_once_extended(approvals, task):
    state = _state(decision=APPROVE, snapshot=SNAPSHOT, verification=VERIFIED)
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    stub = Stubber(sagemaker)
    stub.add_response("list_tags", _tags("2026-11-20"), {"ResourceArn": ARN})  # exempted meanwhile?
    stub.add_response("describe_endpoint", LIVE, {"EndpointName": NAME})  # the endpoint snapshotted
    stub.add_response("list_tags", _tags("2026-11-20"), {"ResourceArn": ARN})  # still expired: no GetMetricData
    if task == "confirm":
        tags = [{"Key": "mlgov:zombie", "Value": "confirmed"}, {"Key": "mlgov:zombie-by", "Value": "U0PLATFORM1"},
                {"Key": "mlgov:zombie-date", "Value": "2026-11-24"}]  # fmt: skip
        stub.add_response("add_tags", {}, {"ResourceArn": ARN, "Tags": tags})
    else:
        stub.add_response("delete_endpoint", {}, {"EndpointName": NAME})
    # the next attempt: the owner extended the date in between
    stub.add_response("list_tags", _tags("2027-01-15"), {"ResourceArn": ARN})
    stub.add_response("describe_endpoint", LIVE, {"EndpointName": NAME})
    stub.add_response("list_tags", _tags("2027-01-15"), {"ResourceArn": ARN})
    tasks = _tasks(sagemaker, approvals)
    with stub:
        getattr(tasks, task)(state)
        with pytest.raises(ApprovalRefused, match=f"refusing to {task}: auto-delete-after was extended"):
            getattr(tasks, task)(state)
    stub.assert_no_pending_responses()


# ---- the messages ------------------------------------------------------------------------------------------------


def test_the_request_says_expired_on_the_date_and_the_outcome_says_why_it_was_kept(approvals):
    slack = FakeSlack()
    tasks = _tasks(None, approvals, slack=slack.gateway())
    execution = "arn:aws:states:eu-west-1:222222222222:execution:mlgov-approval:expired-20261120-x"

    tasks.notify(_state(), "token-" + "b" * 100, execution)
    recheck = {"still_idle": False, "reason": "auto-delete-after was extended from 2026-11-20 to 2027-01-15"}
    tasks.update_message(_state(decision=APPROVE, recheck=recheck, result={"outcome": "aborted"}), execution)

    [(blocks, text)] = slack.posted
    assert "expired on 2026-11-20 (auto-delete-after)" in text
    request = json.dumps(blocks)
    assert "Expired endpoint: churn-prod" in request and "812 invocations in the last 30 days" in request
    [(_, _, outcome, outcome_text)] = slack.updated
    assert outcome_text == "mlgov: kept (re-checked): churn-prod"
    assert "found that auto-delete-after was extended from 2026-11-20 to 2027-01-15" in json.dumps(outcome)
