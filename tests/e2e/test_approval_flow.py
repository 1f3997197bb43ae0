"""The approval flow as the templates wire it (tests/e2e/harness.py): the `mlgov-approval` state machine of the hub
template on moto's engine, its tasks answered by the template's approval function, Slack clicks as signed requests to
the template's Function URL, and the member account reached through the StackSet's `mlgov-spoke-approval` role.

approve → re-check, snapshot, verify, delete; reject → kept and exempt; a failed snapshot copy → nothing deleted;
no answer before the timeout → kept; a forged or unauthorised click → nothing happens.
"""

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


def test_a_kms_encrypted_artifact_is_snapshotted_verified_and_the_endpoint_deleted(flow):
    member = _member(flow)
    key = member.client("kms").create_key(Description="team model artifacts")["KeyMetadata"]["Arn"]
    member.client("s3").put_object(
        Bucket=SOURCE, Key="xgb/model.tar.gz", Body=TARBALL, ServerSideEncryption="aws:kms", SSEKMSKeyId=key
    )
    execution = _start(flow)

    flow.click(ENDPOINT, "approve", APPROVER)
    result = flow.wait_for_execution(execution, 60)

    assert result["status"] == "SUCCEEDED", result
    assert not _endpoint_exists(flow)
    s3 = flow.session(flow.templates.hub_account).client("s3")
    archive = flow.hub_resource("ArchiveBucket")
    listed = s3.list_objects_v2(Bucket=archive, Prefix=f"snapshots/{MEMBER}/{REGION}/{ENDPOINT}/")["Contents"]
    (manifest_key,) = [item["Key"] for item in listed if item["Key"].endswith("manifest.json")]
    manifest = json.loads(s3.get_object(Bucket=archive, Key=manifest_key)["Body"].read())
    assert manifest["verification"] == {"verified": True, "problems": []}
    copied = next(o for o in manifest["objects"] if o["source_uri"].endswith("xgb/model.tar.gz"))
    assert s3.head_object(Bucket=archive, Key=copied["archive_key"])["ContentLength"] == len(TARBALL)


def test_a_deleted_member_endpoint_is_restored_in_its_own_account_and_region(flow, tmp_path):
    """The hub (eu-west-1) archived it; `mlgov restore` reads the archive and the seal with the hub's profile, copies
    the artifacts into a bucket of the member account in us-east-1 and recreates the endpoint there with the member's
    profile: the models read their region's copy, the original ml:* tags come back, mlgov's keys do not."""
    from mlgov.cli import main

    execution = _start(flow)
    flow.click(ENDPOINT, "approve", APPROVER)
    assert flow.wait_for_execution(execution, 60)["status"] == "SUCCEEDED"
    member = _member(flow)
    restore_bucket = f"ml-restore-{MEMBER}-{REGION}"
    member.client("s3").create_bucket(Bucket=restore_bucket)
    credentials = tmp_path / "credentials"
    names = flow.write_profiles(credentials)
    argv = [
        "restore", ENDPOINT, "--name", "churn-ep-restored", "--account", MEMBER, "--region", REGION,
        "--profile", names[MEMBER], "--hub-profile", names[flow.templates.hub_account],
        "--hub-region", flow.templates.hub_region, "--archive-bucket", flow.hub_resource("ArchiveBucket"),
        "--approvals-table", flow.hub_resource("ApprovalApprovalsTable"), "--restore-bucket", restore_bucket,
        "--endpoint-url", flow.endpoint_url,
    ]  # fmt: skip
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            env.delenv(name, raising=False)
        code = main(argv)

    assert code == 0
    sagemaker = member.client("sagemaker")
    assert sagemaker.describe_endpoint(EndpointName="churn-ep-restored")["EndpointStatus"]
    model = sagemaker.describe_model(ModelName="churn-ep-restored-churn-xgb")
    url = model["PrimaryContainer"]["ModelDataUrl"]
    assert url.startswith(f"s3://{restore_bucket}/snapshots/{MEMBER}/{REGION}/{ENDPOINT}/")
    key = url.removeprefix(f"s3://{restore_bucket}/")
    assert member.client("s3").get_object(Bucket=restore_bucket, Key=key)["Body"].read() == TARBALL
    tags = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=model["ModelArn"])["Tags"]}
    assert tags.get("ml:team") == "fraud" and not [k for k in tags if k.startswith("mlgov:")]


def test_the_archive_admits_a_member_approval_role_to_write_its_own_prefix_and_nothing_else(flow):
    """The hub's bucket policy, enforced by the harness: a role named mlgov-spoke-approval outside the target OUs gets
    nothing; the member's own one writes only under its account's prefix and reads nothing."""
    from botocore.exceptions import ClientError

    archive = flow.hub_resource("ArchiveBucket")
    flow.session(OUTSIDE).client("iam").create_role(
        RoleName="mlgov-spoke-approval",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )  # anyone with iam:CreateRole outside the governed OUs (no SCP protects the name there)
    impostor = flow.session(OUTSIDE, role="mlgov-spoke-approval").client("s3")
    member = flow.session(MEMBER, role="mlgov-spoke-approval").client("s3")
    own = f"snapshots/{MEMBER}/{REGION}/{ENDPOINT}/20260101T000000Z/probe"

    def refused(call) -> bool:
        try:
            call()
        except ClientError as err:
            return err.response["Error"]["Code"] in ("AccessDenied", "403")
        return False

    assert refused(lambda: impostor.put_object(Bucket=archive, Key=f"snapshots/{OUTSIDE}/x/probe", Body=b"x"))
    assert refused(lambda: impostor.put_object(Bucket=archive, Key=own, Body=b"x"))
    member.put_object(Bucket=archive, Key=own, Body=b"x")  # its own prefix
    assert refused(lambda: member.get_object(Bucket=archive, Key=own))  # never reads, not even its own
    assert refused(lambda: member.put_object(Bucket=archive, Key=f"snapshots/{OUTSIDE}/x/probe", Body=b"x"))
    assert refused(lambda: member.put_object(Bucket=archive, Key="reports/latest.json", Body=b"{}"))
    assert {(r["caller"].split(":")[4], r["action"]) for r in flow.refused_s3} == {
        (OUTSIDE, "s3:PutObject"),
        (MEMBER, "s3:GetObject"),
        (MEMBER, "s3:PutObject"),
    }


def test_reject_keeps_the_endpoint_and_tags_it_exempt(flow, instant):
    execution = _start(flow)

    status, _ = flow.click(ENDPOINT, "reject", APPROVER)

    assert status == 200 and flow.wait_for_execution(execution, 60)["status"] == "SUCCEEDED"
    assert _endpoint_exists(flow)
    tags = _tags(flow)
    assert tags["mlgov:exempt"] == f"rejected by {APPROVER} on {instant:%Y-%m-%d}"
    assert "mlgov:zombie" not in tags
    assert _last_update(flow)["text"].startswith("mlgov: kept")


def test_a_failed_snapshot_copy_deletes_nothing(flow):
    _member(flow).client("s3").delete_object(Bucket=SOURCE, Key="xgb/model.tar.gz")  # the copy of it fails
    execution = _start(flow)

    flow.click(ENDPOINT, "approve", APPROVER)
    result = flow.wait_for_execution(execution, 60)

    update = _kept_unconfirmed(flow, result)
    assert update["text"].startswith("mlgov: approval failed") and "Nothing was deleted" in update["blocks"]


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


def test_artifacts_too_large_to_hash_in_one_task_are_hashed_by_the_distributed_map_then_deleted(flow, monkeypatch):
    """Sources S3 holds no checksum of, more bytes than the snapshot task may hash (budget 0 here): HashSourceRanges
    reads the ranges from the archive (ItemReader), one HashRange per range records its SHA-256, Verify compares
    them with S3's checksums of the archived copies, and only then is the endpoint deleted."""
    from functools import partial

    from botocore.config import Config

    from mlgov.aws import snapshot_store

    monkeypatch.setattr(snapshot_store, "CopyLimits", partial(snapshot_store.CopyLimits, hash_in_task_max=0))
    legacy = _member(flow).client("s3", config=Config(request_checksum_calculation="when_required"))
    legacy.put_object(Bucket=SOURCE, Key="xgb/model.tar.gz", Body=TARBALL)  # old uploads: no checksum in S3
    for key, body in SHARDS.items():
        legacy.put_object(Bucket=SOURCE, Key=key, Body=body)
    execution = _start(flow)

    flow.click(ENDPOINT, "approve", APPROVER)
    result = flow.wait_for_execution(execution, 90)

    assert result["status"] == "SUCCEEDED", result
    assert not _endpoint_exists(flow)
    hub = flow.session(flow.templates.hub_account)
    events = hub.client("stepfunctions").get_execution_history(executionArn=execution, maxResults=1000)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
    assert entered.index("Snapshot") < entered.index("HashSourceRanges") < entered.index("Verify")
    table = flow.hub_resource("ApprovalApprovalsTable")
    items = hub.client("dynamodb").scan(TableName=table)["Items"]
    hashed = [item for item in items if item["pk"]["S"].startswith("hash#snapshots/")]
    assert len(hashed) == 3  # the tarball and two shards, one range each
    assert _last_update(flow)["text"].startswith("mlgov: deleted")
