"""The approval flow's snapshot and restore path as the templates wire it (see tests/e2e/test_approval_flow.py):
KMS-encrypted artifacts, restore into a member account in another region, the archive's bucket policy enforced on
member roles, a failed copy, and artifacts too large for one task hashed by the Distributed Map."""

from __future__ import annotations

import json

import pytest

from tests.aws.test_snapshot_store import SHARDS, SOURCE, TARBALL
from tests.e2e.approval_kit import (
    APPROVER,
    ENDPOINT,
    MEMBER,
    OUTSIDE,
    REGION,
    _endpoint_exists,
    _kept_unconfirmed,
    _last_update,
    _member,
    _start,
)


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


def test_a_failed_snapshot_copy_deletes_nothing(flow):
    _member(flow).client("s3").delete_object(Bucket=SOURCE, Key="xgb/model.tar.gz")  # the copy of it fails
    execution = _start(flow)

    flow.click(ENDPOINT, "approve", APPROVER)
    result = flow.wait_for_execution(execution, 60)

    update = _kept_unconfirmed(flow, result)
    assert update["text"].startswith("mlgov: approval failed") and "Nothing was deleted" in update["blocks"]


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
