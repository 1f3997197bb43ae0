"""The approval flow as the templates wire it (tests/e2e/harness.py): the `mlgov-approval` state machine of the hub
template on moto's engine, its tasks answered by the template's approval function, Slack clicks as signed requests to
the template's Function URL, and the member account reached through the StackSet's `mlgov-spoke-approval` role.

approve → re-check, snapshot, verify, delete; reject → kept and exempt; a failed snapshot copy → nothing deleted;
no answer before the timeout → kept; a forged or unauthorised click → nothing happens; an expired endpoint (past its
`auto-delete-after`, still used) approved → re-checked on its live tag, snapshotted and deleted.
"""

from __future__ import annotations

import json
from datetime import UTC, timedelta

from tests.e2e.approval_kit import (
    APPROVER,
    ENDPOINT,
    MEMBER,
    REGION,
    _endpoint_exists,
    _kept_unconfirmed,
    _last_update,
    _member,
    _start,
    _tags,
)


def test_approve_snapshots_verifies_and_deletes(flow):
    execution = _start(flow)

    status, answer = flow.click(ENDPOINT, "approve", APPROVER)
    result = flow.wait_for_execution(execution, 60)

    assert status == 200 and answer["text"].startswith("Approved"), answer
    assert result["status"] == "SUCCEEDED", result
    assert not _endpoint_exists(flow)
    s3 = flow.session(flow.templates.hub_account).client("s3")
    archive = flow.hub_resource("ArchiveBucket")
    listed = s3.list_objects_v2(Bucket=archive, Prefix=f"snapshots/{MEMBER}/{REGION}/{ENDPOINT}/")
    keys = [item["Key"] for item in listed.get("Contents", [])]
    (manifest_key,) = [key for key in keys if key.endswith("manifest.json")]
    manifest = json.loads(s3.get_object(Bucket=archive, Key=manifest_key)["Body"].read())
    assert manifest["verification"] == {"verified": True, "problems": []}
    assert len(manifest["objects"]) == 3 and len(keys) == 4
    update = _last_update(flow)
    assert update["text"].startswith("mlgov: deleted") and "mlgov restore" in update["blocks"]
    # the member was reached through the StackSet's approval role (moto records every AssumeRole)
    from moto.sts.models import sts_backends

    assumed = {(r.role_arn, r.session_name) for r in sts_backends[MEMBER]["aws"].assumed_roles}
    assert (f"arn:aws:iam::{MEMBER}:role/mlgov-spoke-approval", "mlgov-approval") in assumed


def test_an_expired_endpoint_approved_is_rechecked_on_its_tag_snapshotted_and_deleted(flow, instant):
    """What the scan starts for an endpoint past its auto-delete-after (domain.expiry_approval): the request names
    the date, Recheck reads the live tag through the approval role (no idleness check: it served traffic), then the
    same snapshot, verify, confirm and guarded delete as for a zombie."""
    from mlgov.domain.expiry_approval import expiry_approval_input

    expired_on = (instant - timedelta(days=3)).strftime("%Y-%m-%d")
    _member(flow).client("sagemaker").add_tags(
        ResourceArn=flow.endpoint_arn, Tags=[{"Key": "auto-delete-after", "Value": expired_on}]
    )
    finding = {"arn": flow.endpoint_arn, "account": MEMBER, "region": REGION, "name": ENDPOINT, "status": "expired",
               "resource_type": "endpoint", "waste_usd_month": 1234.5, "owner": "alice@example.com",
               "reason": f"auto-delete-after={expired_on} is in the past and it is still billed",
               "evidence": {"expired_on": expired_on, "invocations": {"xgb": 40.0, "llm": 2.0},
                            "usage_window_days": 30.0}}  # fmt: skip
    name, payload = expiry_approval_input(finding, run_id="r1", report_key="reports/r1.json", first_seen="x")
    sfn = flow.session(flow.templates.hub_account).client("stepfunctions")
    execution = sfn.start_execution(
        stateMachineArn=flow.state_machine_arn("mlgov-approval"), name=name, input=json.dumps(payload)
    )["executionArn"]

    status, _ = flow.click(ENDPOINT, "approve", APPROVER)
    result = flow.wait_for_execution(execution, 60)

    request = json.dumps(flow.approval_message(ENDPOINT)["blocks"])
    assert f"expired on {expired_on} (auto-delete-after)" in request and "42 invocations" in request
    assert status == 200 and result["status"] == "SUCCEEDED", result
    assert json.loads(result["output"])["recheck"]["reason"] == f"still past auto-delete-after={expired_on}"
    assert not _endpoint_exists(flow)
    s3, archive = flow.session(flow.templates.hub_account).client("s3"), flow.hub_resource("ArchiveBucket")
    listed = s3.list_objects_v2(Bucket=archive, Prefix=f"snapshots/{MEMBER}/{REGION}/{ENDPOINT}/")
    (manifest_key,) = [item["Key"] for item in listed["Contents"] if item["Key"].endswith("manifest.json")]
    manifest = json.loads(s3.get_object(Bucket=archive, Key=manifest_key)["Body"].read())
    assert manifest["verification"] == {"verified": True, "problems": []}
    assert _last_update(flow)["text"].startswith("mlgov: deleted")


def test_reject_keeps_the_endpoint_and_tags_it_exempt(flow, instant):
    execution = _start(flow)

    status, _ = flow.click(ENDPOINT, "reject", APPROVER)

    assert status == 200 and flow.wait_for_execution(execution, 60)["status"] == "SUCCEEDED"
    assert _endpoint_exists(flow)
    tags = _tags(flow)
    assert tags["mlgov:exempt"] == f"rejected by {APPROVER} on {instant:%Y-%m-%d}"
    assert "mlgov:zombie" not in tags
    assert _last_update(flow)["text"].startswith("mlgov: kept")


def test_an_endpoint_updated_after_its_snapshot_is_kept_and_the_message_says_why(flow, monkeypatch, instant):
    """The owner updates the endpoint (a new config) while the flow snapshots it: Confirm compares the live endpoint
    with the snapshot, refuses, and nothing is deleted."""
    from mlgov.services.approvals import ApprovalTasks

    snapshot = ApprovalTasks.snapshot

    def snapshot_then_the_owner_updates(self, state):
        result = snapshot(self, state)
        sagemaker = _member(flow).client("sagemaker")
        config = sagemaker.describe_endpoint_config(EndpointConfigName=f"{ENDPOINT}-config")
        sagemaker.create_endpoint_config(
            EndpointConfigName=f"{ENDPOINT}-config-v2", ProductionVariants=config["ProductionVariants"]
        )
        # What UpdateEndpoint leaves behind (moto's server answers UpdateEndpoint with a 500)
        from moto.sagemaker.models import sagemaker_backends

        stored = sagemaker_backends[MEMBER][REGION].endpoints[ENDPOINT]
        stored.endpoint_config_name = f"{ENDPOINT}-config-v2"
        stored.last_modified_time = instant.astimezone(UTC).replace(tzinfo=None)
        return result

    monkeypatch.setattr(ApprovalTasks, "snapshot", snapshot_then_the_owner_updates)
    execution = _start(flow)

    flow.click(ENDPOINT, "approve", APPROVER)
    result = flow.wait_for_execution(execution, 60)

    update = _kept_unconfirmed(flow, result)
    assert "failed at Confirm" in update["blocks"] and "changed since the snapshot" in update["blocks"]
    assert f"EndpointConfigName was {ENDPOINT}-config, now {ENDPOINT}-config-v2" in update["blocks"]
    assert "Nothing was deleted" in update["blocks"]


def test_a_forged_or_unauthorised_click_changes_nothing(flow):
    execution = _start(flow)

    forged, _ = flow.click(ENDPOINT, "approve", APPROVER, secret="not-the-signing-secret")
    stranger, answer = flow.click(ENDPOINT, "approve", "U0SOMEONE1")

    assert forged == 401
    assert stranger == 200 and "not" in answer["text"].lower(), answer
    sfn = flow.session(flow.templates.hub_account).client("stepfunctions")
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"
    assert _endpoint_exists(flow) and _tags(flow).get("mlgov:zombie") == "candidate"


def test_no_answer_before_the_timeout_keeps_the_endpoint(flow, instant):  # instant: rerun at the shifted ones
    # The deployed ASL with only Notify's TimeoutSeconds shortened (72 h is asserted in the construct test).
    sfn = flow.session(flow.templates.hub_account).client("stepfunctions")
    deployed_machine = sfn.describe_state_machine(stateMachineArn=flow.state_machine_arn("mlgov-approval"))
    definition = json.loads(deployed_machine["definition"])
    notify = [s for s in _all_states(definition) if "waitForTaskToken" in str(s.get("Resource", ""))]
    assert len(notify) == 1 and notify[0]["TimeoutSeconds"] == 72 * 3600
    notify[0]["TimeoutSeconds"] = 1
    machine = sfn.create_state_machine(
        name="mlgov-approval-short", definition=json.dumps(definition), roleArn=deployed_machine["roleArn"]
    )["stateMachineArn"]

    result = flow.wait_for_execution(_start(flow, machine), 60)

    assert result["status"] == "SUCCEEDED"
    assert _endpoint_exists(flow)
    assert _tags(flow)["mlgov:exempt"].startswith("no answer within")


def _all_states(definition: dict):
    for state in definition["States"].values():
        yield state
        for branch in state.get("Branches", []):
            yield from _all_states(branch)
        if "ItemProcessor" in state:
            yield from _all_states(state["ItemProcessor"])
