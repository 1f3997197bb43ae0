"""The synthesized `mlgov-approval` ASL on moto's Step Functions engine, the approval handler answering its tasks in
process (tests/e2e/lambda_shim.py): approve → snapshot, verify, delete; reject → kept and exempt; a failed snapshot
copy → nothing deleted. Hub = member (moto's default account): the same-account shortcut, no role assumed."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import boto3
import pytest
from aws_cdk.assertions import Template
from moto import mock_aws

from mlgov.approval_tasks import ApprovalTasks, SlackGateway
from mlgov.aws.approvals_table import ApprovalsTable
from mlgov.aws.sessions import AccountSessions
from tests.aws.test_snapshot_store import ACCOUNT, ARCHIVE, REGION, SHARDS, SOURCE, TARBALL, create_endpoint
from tests.e2e.lambda_shim import InProcessLambdas
from tests.infra.conftest import REPO

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ENDPOINT = "churn-ep"
ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{ENDPOINT}"


@pytest.fixture(scope="module")
def approval_template(tmp_path_factory) -> dict:
    from tests.infra.test_approval_flow_construct import _build

    context = json.loads((REPO / "cdk.json").read_text())["context"]["mlgov"]
    _, stack, _ = _build(context, str(tmp_path_factory.mktemp("approval-e2e.out")))
    return Template.from_stack(stack).to_json()


class FakeSlack:
    def __init__(self) -> None:
        self.posted: list[tuple[list, str]] = []
        self.updated: list[tuple[str, str, list, str]] = []

    def post(self, blocks, text):
        self.posted.append((blocks, text))
        return f"1700000000.{len(self.posted):06d}"

    def update(self, channel, ts, blocks, text):
        self.updated.append((channel, ts, blocks, text))
        return ts


@pytest.fixture
def flow(monkeypatch, approval_template):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": "/nonexistent/mlgov-tests/config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/mlgov-tests/credentials",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        s3 = boto3.client("s3", region_name=REGION)
        location = {"LocationConstraint": REGION}
        key_arn = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
        s3.create_bucket(Bucket=ARCHIVE, CreateBucketConfiguration=location)
        s3.put_bucket_versioning(Bucket=ARCHIVE, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_encryption(
            Bucket=ARCHIVE,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}}
                ]
            },
        )
        s3.create_bucket(Bucket=SOURCE, CreateBucketConfiguration=location)
        s3.put_object(Bucket=SOURCE, Key="xgb/model.tar.gz", Body=TARBALL)
        for key, body in SHARDS.items():
            s3.put_object(Bucket=SOURCE, Key=key, Body=body)
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        create_endpoint(sagemaker, ENDPOINT)
        sagemaker.delete_tags(ResourceArn=ARN, TagKeys=["mlgov:zombie"])  # the flow writes it
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName="approvals",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        slack = FakeSlack()
        tasks = ApprovalTasks(
            sessions=AccountSessions(ACCOUNT, "mlgov-spoke-approval", session_name="mlgov-approval"),
            archive_client=s3,
            archive_bucket=ARCHIVE,
            approvals=ApprovalsTable(dynamodb, "approvals"),
            dynamodb=dynamodb,
            approvals_table="approvals",
            slack=SlackGateway("C0MLGOV01", slack.post, slack.update),
            clock=lambda: NOW,
        )
        from mlgov.handlers import approval

        monkeypatch.setattr(approval, "_tasks", lambda: tasks)
        lambdas = InProcessLambdas(approval_template, REGION, ACCOUNT)
        (machine_id,) = [k for k, r in approval_template["Resources"].items() if r["Type"].endswith("StateMachine")]
        definition = lambdas.resolve(
            approval_template["Resources"][machine_id]["Properties"]["DefinitionString"], {"AWS::Partition": "aws"}
        )
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(
            name="mlgov-approval", definition=definition, roleArn=f"arn:aws:iam::{ACCOUNT}:role/mlgov-approval"
        )["stateMachineArn"]
        with lambdas:
            yield {"sfn": sfn, "machine": machine, "slack": slack, "tasks": tasks, "sagemaker": sagemaker, "s3": s3}


def _start(flow) -> str:
    finding = {"arn": ARN, "account": ACCOUNT, "region": REGION, "name": ENDPOINT, "status": "zombie"}
    payload = {"run_id": "r1", "report_key": "k", "first_seen": "2026-09-01", "zombie_since": "2026-11-20"}
    return flow["sfn"].start_execution(
        stateMachineArn=flow["machine"], input=json.dumps(payload | {"finding": finding})
    )["executionArn"]


def _wait(predicate, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def _decide(flow, output: dict) -> None:
    _wait(lambda: flow["slack"].posted)
    items = flow["tasks"].dynamodb.scan(TableName="approvals")["Items"]
    (token,) = [item["task_token"]["S"] for item in items if "task_token" in item]
    flow["sfn"].send_task_success(taskToken=token, output=json.dumps(output))


def _finish(flow, execution: str) -> dict:
    def done():
        described = flow["sfn"].describe_execution(executionArn=execution)
        return described if described["status"] != "RUNNING" else None

    return _wait(done)


def _tags(flow) -> dict:
    return {t["Key"]: t["Value"] for t in flow["sagemaker"].list_tags(ResourceArn=ARN)["Tags"]}


def test_approve_snapshots_verifies_and_deletes(flow):
    execution = _start(flow)
    _decide(flow, {"decision": "approve", "by": "U0PLATFORM1"})
    result = _finish(flow, execution)
    assert result["status"] == "SUCCEEDED", result
    with pytest.raises(flow["sagemaker"].exceptions.ClientError):
        flow["sagemaker"].describe_endpoint(EndpointName=ENDPOINT)
    listed = flow["s3"].list_objects_v2(Bucket=ARCHIVE, Prefix=f"snapshots/{ACCOUNT}/{REGION}/{ENDPOINT}/")
    keys = [item["Key"] for item in listed.get("Contents", [])]
    (manifest_key,) = [key for key in keys if key.endswith("manifest.json")]
    manifest = json.loads(flow["s3"].get_object(Bucket=ARCHIVE, Key=manifest_key)["Body"].read())
    assert manifest["verification"] == {"verified": True, "problems": []}
    assert len(manifest["objects"]) == 3
    (_, _, blocks, text) = flow["slack"].updated[-1]
    assert text.startswith("mlgov: deleted") and "mlgov restore" in json.dumps(blocks)


def test_reject_keeps_the_endpoint_and_tags_it_exempt(flow):
    execution = _start(flow)
    _decide(flow, {"decision": "reject", "by": "U0PLATFORM1"})
    assert _finish(flow, execution)["status"] == "SUCCEEDED"
    assert flow["sagemaker"].describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"]
    tags = _tags(flow)
    assert tags["mlgov:exempt"] == "rejected by U0PLATFORM1 on 2026-11-24"
    assert "mlgov:zombie" not in tags
    assert flow["slack"].updated[-1][3].startswith("mlgov: kept")


def test_a_failed_snapshot_copy_deletes_nothing(flow):
    flow["s3"].delete_object(Bucket=SOURCE, Key="xgb/model.tar.gz")  # one artifact is gone: the copy fails
    execution = _start(flow)
    _decide(flow, {"decision": "approve", "by": "U0PLATFORM1"})
    result = _finish(flow, execution)
    assert result["status"] == "FAILED"
    assert flow["sagemaker"].describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"]
    assert _tags(flow).get("mlgov:zombie") == "candidate"  # never confirmed
    (_, _, blocks, text) = flow["slack"].updated[-1]
    assert text.startswith("mlgov: approval failed") and "Nothing was deleted" in json.dumps(blocks)


def test_no_answer_before_the_timeout_keeps_the_endpoint(flow):
    # The template's own ASL with only Notify's TimeoutSeconds shortened (72 h is asserted in the construct test).
    definition = json.loads(flow["sfn"].describe_state_machine(stateMachineArn=flow["machine"])["definition"])
    notify = [s for s in _all_states(definition) if "waitForTaskToken" in str(s.get("Resource", ""))]
    assert len(notify) == 1 and notify[0]["TimeoutSeconds"] > 3600
    notify[0]["TimeoutSeconds"] = 1
    machine = flow["sfn"].create_state_machine(
        name="mlgov-approval-short", definition=json.dumps(definition), roleArn=f"arn:aws:iam::{ACCOUNT}:role/x"
    )["stateMachineArn"]
    finding = {"arn": ARN, "account": ACCOUNT, "region": REGION, "name": ENDPOINT, "status": "zombie"}
    payload = {"run_id": "r1", "report_key": "k", "first_seen": "2026-09-01", "zombie_since": "2026-11-20"}
    execution = flow["sfn"].start_execution(stateMachineArn=machine, input=json.dumps(payload | {"finding": finding}))[
        "executionArn"
    ]

    result = _finish(flow, execution)

    assert result["status"] == "SUCCEEDED"
    assert flow["sagemaker"].describe_endpoint(EndpointName=ENDPOINT)["EndpointStatus"]
    assert _tags(flow)["mlgov:exempt"].startswith("no answer within")


def _all_states(definition: dict):
    for state in definition["States"].values():
        yield state
        for branch in state.get("Branches", []):
            yield from _all_states(branch)
        if "ItemProcessor" in state:
            yield from _all_states(state["ItemProcessor"])
