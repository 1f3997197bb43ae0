"""The approval state machine's tasks (mlgov.services.approvals) over Stubbers and moto: guarded delete, tags, re-check,
notify once, message update, verify, handler dispatch."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from moto import mock_aws

from mlgov.domain.snapshot import endpoint_identity
from mlgov.services.approvals import ApprovalRefused, ApprovalTasks, SlackGateway

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
ACCOUNT, REGION, NAME = "333333333333", "eu-west-1", "churn-prod"
ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{NAME}"
FINDING = {"arn": ARN, "account": ACCOUNT, "region": REGION, "name": NAME, "resource_type": "endpoint",
           "status": "zombie", "waste_usd_month": 120.0, "monthly_cost_usd": 120.0, "tags": {}}  # fmt: skip
MANIFEST_KEY = f"snapshots/{ACCOUNT}/{REGION}/{NAME}/20261124T120000Z/manifest.json"


@pytest.fixture(autouse=True)
def fake_aws_credentials(monkeypatch):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/mlgov-tests/config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/mlgov-tests/credentials")


class FakeSessions:
    """AccountSessions stand-in: one client per service, records which account/region was asked for."""

    def __init__(self, **clients) -> None:
        self.clients = clients
        self.asked: list[tuple[str, str, str]] = []

    def client(self, service, account, region, partition="aws"):
        self.asked.append((service, account, region))
        return self.clients[service]


def _stubbed(service: str):
    client = boto3.client(service, region_name=REGION)
    return client, Stubber(client)


def _unchanged_and_unused(sm_stub, cw_stub, described: dict | None = None, invocations: list[float] = ()) -> None:
    """What Confirm and Delete read first: the live endpoint, then its invocations since zombie_since."""
    sm_stub.add_response("describe_endpoint", described or LIVE, {"EndpointName": NAME})
    stamps = [NOW - timedelta(days=1 + i) for i in range(len(invocations))]
    cw_stub.add_response(
        "get_metric_data",
        {
            "MetricDataResults": [
                {"Id": "q0", "Timestamps": stamps, "Values": list(invocations), "StatusCode": "Complete"}
            ]
        },
    )


def _expect_confirmed_tags(stub) -> None:
    stub.add_response(
        "add_tags",
        {},
        {
            "ResourceArn": ARN,
            "Tags": [
                {"Key": "mlgov:zombie", "Value": "confirmed"},
                {"Key": "mlgov:zombie-by", "Value": "U0PLATFORM1"},
                {"Key": "mlgov:zombie-date", "Value": "2026-11-24"},
            ],
        },
    )


def _tasks(sessions, **extra) -> ApprovalTasks:
    return ApprovalTasks(sessions=sessions, archive_client=None, archive_bucket="archive", clock=lambda: NOW, **extra)


def _state(**extra) -> dict:
    return {"finding": FINDING, "first_seen": "2026-09-01", "zombie_since": "2026-11-20"} | extra


NO_COMPONENTS = {"InferenceComponents": []}
LIVE = {  # DescribeEndpoint of the endpoint as snapshotted
    "EndpointName": NAME,
    "EndpointArn": ARN,
    "EndpointConfigName": "cfg",
    "EndpointStatus": "InService",
    "CreationTime": NOW - timedelta(days=90),
    "LastModifiedTime": NOW - timedelta(days=90),
    "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": 1}],
}
VERIFIED = {"verified": True, "problems": [], "manifest_key": MANIFEST_KEY}
SNAPSHOT = {
    "manifest_key": MANIFEST_KEY,
    "snapshot": "20261124T120000Z",
    "prefix": MANIFEST_KEY[:-13],
    "endpoint": endpoint_identity(LIVE),
}
APPROVE = {"decision": "approve", "by": "U0PLATFORM1"}


# ---- guarded delete ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "state",
    [
        _state(decision=APPROVE, snapshot=SNAPSHOT),  # no verify output at all
        _state(decision=APPROVE, snapshot=SNAPSHOT, verification={**VERIFIED, "verified": False}),
        _state(decision=APPROVE, snapshot=SNAPSHOT, verification={**VERIFIED, "verified": "true"}),
        _state(decision=APPROVE, verification=VERIFIED),  # no snapshot
        _state(decision=APPROVE, snapshot=SNAPSHOT, verification={**VERIFIED, "manifest_key": "other"}),
        _state(decision={"decision": "reject", "by": "U1"}, snapshot=SNAPSHOT, verification=VERIFIED),
    ],
)
def test_delete_is_refused_without_a_verified_snapshot_of_this_execution(state):
    sagemaker, stub = _stubbed("sagemaker")
    with stub:  # no call expected: any DeleteEndpoint would raise from the Stubber
        with pytest.raises(ApprovalRefused, match="refusing to delete"):
            _tasks(FakeSessions(sagemaker=sagemaker)).delete(state)
        stub.assert_no_pending_responses()


def test_delete_goes_through_the_approval_session_when_verified():
    sagemaker, stub = _stubbed("sagemaker")
    cloudwatch, cw_stub = _stubbed("cloudwatch")
    _unchanged_and_unused(stub, cw_stub)
    stub.add_response("delete_endpoint", {}, {"EndpointName": NAME})
    sessions = FakeSessions(sagemaker=sagemaker, cloudwatch=cloudwatch)
    with stub, cw_stub:
        result = _tasks(sessions).delete(_state(decision=APPROVE, snapshot=SNAPSHOT, verification=VERIFIED))
    stub.assert_no_pending_responses()
    assert result == {"deleted": True, "endpoint": NAME}
    assert set(sessions.asked) == {("sagemaker", ACCOUNT, REGION), ("cloudwatch", ACCOUNT, REGION)}


@pytest.mark.parametrize(
    ("live", "invocations", "refusal"),
    [
        (
            {**LIVE, "LastModifiedTime": NOW - timedelta(hours=1)},
            [],
            "changed since the snapshot .*LastModifiedTime was",
        ),
        ({**LIVE, "CreationTime": NOW - timedelta(hours=2)}, [], "changed since the snapshot .*CreationTime"),
        ({**LIVE, "EndpointConfigName": "cfg-v2"}, [], "EndpointConfigName was cfg, now cfg-v2"),
        (LIVE, [0.0, 3.0], "3 invocations since 2026-11-20"),
    ],
    ids=["updated", "recreated", "new config", "used again"],
)
@pytest.mark.parametrize("task", ["confirm", "delete"])
def test_an_endpoint_changed_or_used_since_the_snapshot_is_kept(task, live, invocations, refusal):
    sagemaker, stub = _stubbed("sagemaker")
    cloudwatch, cw_stub = _stubbed("cloudwatch")
    stub.add_response("describe_endpoint", live, {"EndpointName": NAME})
    if invocations:
        stamps = [NOW - timedelta(days=1 + i) for i in range(len(invocations))]
        cw_stub.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {"Id": "q0", "Timestamps": stamps, "Values": invocations, "StatusCode": "Complete"}
                ]
            },
        )
    state = _state(decision=APPROVE, snapshot=SNAPSHOT, verification=VERIFIED)
    with stub, cw_stub, pytest.raises(ApprovalRefused, match=f"refusing to {task}: .*{refusal}"):
        getattr(_tasks(FakeSessions(sagemaker=sagemaker, cloudwatch=cloudwatch)), task)(state)
    stub.assert_no_pending_responses()  # no AddTags, no DeleteEndpoint


def test_a_vanished_endpoint_is_neither_confirmed_nor_deleted():
    sagemaker, stub = _stubbed("sagemaker")
    stub.add_client_error("describe_endpoint", "ValidationException", "Could not find endpoint", 400)
    state = _state(decision=APPROVE, snapshot=SNAPSHOT, verification=VERIFIED)
    with stub, pytest.raises(ApprovalRefused, match="no longer exists"):
        _tasks(FakeSessions(sagemaker=sagemaker)).delete(state)


# ---- tags --------------------------------------------------------------------------------------------------------


def test_mark_candidate_and_confirm_write_the_zombie_tags():
    sagemaker, stub = _stubbed("sagemaker")
    stub.add_response(
        "add_tags",
        {},
        {
            "ResourceArn": ARN,
            "Tags": [
                {"Key": "mlgov:zombie", "Value": "candidate"},
                {"Key": "mlgov:zombie-by", "Value": "mlgov"},
                {"Key": "mlgov:zombie-date", "Value": "2026-11-24"},
            ],
        },
    )
    cloudwatch, cw_stub = _stubbed("cloudwatch")
    tasks = _tasks(FakeSessions(sagemaker=sagemaker, cloudwatch=cloudwatch))
    with stub, cw_stub:
        tasks.mark_candidate(_state())
        _unchanged_and_unused(stub, cw_stub)
        _expect_confirmed_tags(stub)
        tasks.confirm(_state(decision=APPROVE, snapshot=SNAPSHOT))
    stub.assert_no_pending_responses()


def test_confirm_needs_an_approver():
    sagemaker, stub = _stubbed("sagemaker")
    with stub, pytest.raises(ApprovalRefused):
        _tasks(FakeSessions(sagemaker=sagemaker)).confirm(_state(decision={"decision": "approve"}))


@pytest.mark.parametrize(
    ("kind", "decision", "value", "until"),
    [
        ("reject", {"decision": "reject", "by": "U0PLATFORM1"}, "rejected by U0PLATFORM1 on 2026-11-24", None),
        (
            "snooze",
            {"decision": "snooze", "by": "U0PLATFORM1", "days": 14},
            "snoozed by U0PLATFORM1 on 2026-11-24 until 2026-12-08",
            "2026-12-08",
        ),
        ("timeout", {}, "no answer within 72h - kept on 2026-11-24", None),
    ],
)
def test_exempt_tags_who_and_when_clears_the_zombie_keys_and_records_it(dynamodb, kind, decision, value, until):
    from mlgov.aws.approvals_table import ApprovalsTable

    sagemaker, stub = _stubbed("sagemaker")
    stub.add_response("add_tags", {}, {"ResourceArn": ARN, "Tags": [{"Key": "mlgov:exempt", "Value": value}]})
    stub.add_response(
        "delete_tags", {}, {"ResourceArn": ARN, "TagKeys": ["mlgov:zombie", "mlgov:zombie-by", "mlgov:zombie-date"]}
    )
    table = ApprovalsTable(dynamodb, "approvals")
    with stub:
        result = _tasks(FakeSessions(sagemaker=sagemaker), approvals=table).exempt(_state(decision=decision), kind)
    stub.assert_no_pending_responses()
    assert result == {"exempt": value, "until": until, "kind": kind}
    assert table.recorded_exemptions([ARN, ARN.replace("churn", "other")]) == {ARN: value}


@pytest.mark.parametrize(
    ("until", "value", "kind"),
    [
        (None, "exempted by arn:aws:sts::222222222222:assumed-role/Platform/bob on 2026-11-24: ticket-42", "manual"),
        (
            "2027-01-15",
            "snoozed by arn:aws:sts::222222222222:assumed-role/Platform/bob on 2026-11-24 until 2027-01-15: ticket-42",
            "snooze",
        ),
    ],
)
def test_a_manual_exemption_is_tagged_through_the_approval_role_and_recorded(dynamodb, until, value, kind):
    from mlgov.aws.approvals_table import ApprovalsTable

    by = "arn:aws:sts::222222222222:assumed-role/Platform/bob"
    sagemaker, stub = _stubbed("sagemaker")
    stub.add_response("add_tags", {}, {"ResourceArn": ARN, "Tags": [{"Key": "mlgov:exempt", "Value": value}]})
    stub.add_response(  # an approval under way for it loses its candidate/confirmed state
        "delete_tags", {}, {"ResourceArn": ARN, "TagKeys": ["mlgov:zombie", "mlgov:zombie-by", "mlgov:zombie-date"]}
    )
    table = ApprovalsTable(dynamodb, "approvals")
    sessions = FakeSessions(sagemaker=sagemaker)
    with stub:
        result = _tasks(sessions, approvals=table).exempt_manually({"finding": FINDING}, "ticket-42", by, until)
    stub.assert_no_pending_responses()
    assert result == {"exempt": value, "until": until, "kind": kind}
    assert sessions.asked == [("sagemaker", FINDING["account"], FINDING["region"])]
    assert table.recorded_exemptions([ARN]) == {ARN: value}


def test_a_notebook_is_kept_running_with_the_exempt_tag_alone_and_recorded(dynamodb):
    from mlgov.aws.approvals_table import ApprovalsTable

    notebook = {**FINDING, "arn": ARN.replace(":endpoint/", ":notebook-instance/"), "name": "lab"}
    value = "exempted by alice on 2026-11-24: thesis"
    sagemaker, stub = _stubbed("sagemaker")
    stub.add_response(
        "add_tags", {}, {"ResourceArn": notebook["arn"], "Tags": [{"Key": "mlgov:exempt", "Value": value}]}
    )  # no delete_tags: a notebook carries no approval tags (the Stubber refuses any other call)
    table = ApprovalsTable(dynamodb, "approvals")
    with stub:
        _tasks(FakeSessions(sagemaker=sagemaker), approvals=table).exempt_manually(
            {"finding": notebook}, "thesis", "alice", None
        )
    stub.assert_no_pending_responses()
    assert table.recorded_exemptions([notebook["arn"]]) == {notebook["arn"]: value}


@pytest.mark.parametrize("task", ["confirm", "delete"])
def test_an_exemption_recorded_during_the_approval_stops_confirm_and_delete(dynamodb, task):
    from mlgov.aws.approvals_table import ApprovalsTable

    value = "exempted by bob on 2026-11-24: ticket-42"
    table = ApprovalsTable(dynamodb, "approvals")
    table.record_exemption(ARN, value, by="bob", kind="manual", now=NOW)
    sagemaker, stub = _stubbed("sagemaker")
    stub.add_response("list_tags", {"Tags": [{"Key": "mlgov:exempt", "Value": value}]}, {"ResourceArn": ARN})
    state = _state(decision=APPROVE, snapshot=SNAPSHOT, verification=VERIFIED)
    with stub, pytest.raises(ApprovalRefused, match="exempted meanwhile"):  # no DeleteEndpoint or AddTags stubbed
        getattr(_tasks(FakeSessions(sagemaker=sagemaker), approvals=table), task)(state)
    stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    "tags",
    [
        [],
        [{"Key": "mlgov:exempt", "Value": "forged by a data scientist"}],
        [{"Key": "mlgov:exempt", "Value": "snoozed by U1 on 2026-09-01 until 2026-10-01"}],  # lapsed
    ],
    ids=["no exemption", "unrecorded", "lapsed snooze"],
)
def test_confirm_goes_on_without_a_current_recorded_exemption(dynamodb, tags):
    from mlgov.aws.approvals_table import ApprovalsTable

    table = ApprovalsTable(dynamodb, "approvals")
    table.record_exemption(ARN, "snoozed by U1 on 2026-09-01 until 2026-10-01", by="U1", kind="snooze", now=NOW)
    sagemaker, stub = _stubbed("sagemaker")
    cloudwatch, cw_stub = _stubbed("cloudwatch")
    stub.add_response("list_tags", {"Tags": tags}, {"ResourceArn": ARN})
    _unchanged_and_unused(stub, cw_stub)
    _expect_confirmed_tags(stub)
    with stub, cw_stub:
        result = _tasks(FakeSessions(sagemaker=sagemaker, cloudwatch=cloudwatch), approvals=table).confirm(
            _state(decision=APPROVE, snapshot=SNAPSHOT)
        )
    stub.assert_no_pending_responses()
    assert result["tags"]["mlgov:zombie"] == "confirmed"


@pytest.mark.parametrize(
    ("finding", "reason", "until", "refusal"),
    [
        (
            {**FINDING, "arn": ARN.replace(":endpoint/", ":training-job/")},
            "x",
            None,
            "only endpoints, notebook instances, Studio apps and Studio domains",
        ),
        (FINDING, "   ", None, "needs a reason"),
        (FINDING, "x", "2026-11-24", "not after today"),
        (FINDING, "x", "soon", "not a date"),
    ],
)
def test_a_manual_exemption_is_refused_before_anything_is_written(dynamodb, finding, reason, until, refusal):
    from mlgov.aws.approvals_table import ApprovalsTable

    sagemaker, stub = _stubbed("sagemaker")
    with stub, pytest.raises(ApprovalRefused, match=refusal):  # no call expected: any AddTags raises
        _tasks(FakeSessions(sagemaker=sagemaker), approvals=ApprovalsTable(dynamodb, "approvals")).exempt_manually(
            {"finding": finding}, reason, "bob", until
        )
    assert ApprovalsTable(dynamodb, "approvals").recorded_exemptions([finding["arn"]]) == {}


# ---- re-check ----------------------------------------------------------------------------------------------------


def _recheck(values: list[float]) -> dict:
    sagemaker, sm_stub = _stubbed("sagemaker")
    cloudwatch, cw_stub = _stubbed("cloudwatch")
    sm_stub.add_response("describe_endpoint", LIVE, {"EndpointName": NAME})
    sm_stub.add_response("list_inference_components", NO_COMPONENTS, {"EndpointNameEquals": NAME, "MaxResults": 1})
    stamps = [NOW - timedelta(days=1 + i) for i in range(len(values))]
    cw_stub.add_response(
        "get_metric_data",
        {"MetricDataResults": [{"Id": "q0", "Timestamps": stamps, "Values": values, "StatusCode": "Complete"}]},
    )
    with sm_stub, cw_stub:
        result = _tasks(FakeSessions(sagemaker=sagemaker, cloudwatch=cloudwatch)).recheck(_state())
    sm_stub.assert_no_pending_responses()
    cw_stub.assert_no_pending_responses()
    return result


def test_recheck_of_an_endpoint_younger_than_the_minimum_age_is_not_idle():
    """Recreated under the same name since the scan: Recheck applies zombie_min_age_days to the live CreationTime."""
    sagemaker, stub = _stubbed("sagemaker")
    recreated = {**LIVE, "CreationTime": NOW - timedelta(days=2), "LastModifiedTime": NOW - timedelta(days=8)}
    stub.add_response("describe_endpoint", recreated, {"EndpointName": NAME})
    stub.add_response("list_inference_components", NO_COMPONENTS, {"EndpointNameEquals": NAME, "MaxResults": 1})
    with stub:  # no GetMetricData: age alone decides
        result = _tasks(FakeSessions(sagemaker=sagemaker), min_age_days=7).recheck(_state())
    assert result == {
        "still_idle": False,
        "reason": "the endpoint was created 2026-11-22, less than 7 days ago (recreated since the scan?)",
    }


@pytest.mark.parametrize(
    ("live", "components", "reason"),
    [
        ({**LIVE, "EndpointStatus": "Updating"}, None, "the endpoint is Updating, not InService"),
        (
            {**LIVE, "LastModifiedTime": NOW - timedelta(days=1)},
            None,
            "the endpoint was updated on 2026-11-23, after it was found idle",
        ),
        (LIVE, ["churn-ic"], "it hosts inference components, whose usage is not re-checked"),
    ],
    ids=["updating", "updated during the approval wait", "inference components"],
)
def test_recheck_keeps_an_endpoint_its_owner_changed_or_that_it_cannot_measure(live, components, reason):
    sagemaker, stub = _stubbed("sagemaker")
    stub.add_response("describe_endpoint", live, {"EndpointName": NAME})
    if components is not None:
        listed = {
            "InferenceComponents": [
                {
                    "InferenceComponentName": name,
                    "InferenceComponentArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:inference-component/{name}",
                    "EndpointName": NAME,
                    "EndpointArn": ARN,
                    "VariantName": "AllTraffic",
                    "CreationTime": NOW - timedelta(days=90),
                    "LastModifiedTime": NOW - timedelta(days=90),
                }
                for name in components
            ]
        }
        stub.add_response("list_inference_components", listed, {"EndpointNameEquals": NAME, "MaxResults": 1})
    with stub:  # no GetMetricData
        result = _tasks(FakeSessions(sagemaker=sagemaker)).recheck(_state())
    stub.assert_no_pending_responses()
    assert result == {"still_idle": False, "reason": reason}


def test_recheck_with_traffic_is_not_idle():
    result = _recheck([0.0, 7.0])
    assert result["still_idle"] is False
    assert "7 invocations since 2026-11-20" in result["reason"]


def test_recheck_without_traffic_is_still_idle():
    assert _recheck([])["still_idle"] is True
    assert _recheck([0.0, 0.0])["still_idle"] is True


def test_recheck_of_a_vanished_endpoint_is_not_idle():
    sagemaker, stub = _stubbed("sagemaker")
    stub.add_client_error("describe_endpoint", "ValidationException", "Could not find endpoint")
    with stub:
        result = _tasks(FakeSessions(sagemaker=sagemaker)).recheck(_state())
    assert result == {"still_idle": False, "reason": f"endpoint {NAME} no longer exists"}


# ---- notify and the final message (moto DynamoDB, fake Slack) ----------------------------------------------------


class FakeSlack:
    def __init__(self) -> None:
        self.posted: list[tuple[list, str]] = []
        self.updated: list[tuple[str, str, list, str]] = []

    def gateway(self) -> SlackGateway:
        return SlackGateway("C0MLGOV01", self.post, self.update)

    def post(self, blocks, text):
        self.posted.append((blocks, text))
        return f"1700000000.00000{len(self.posted)}"

    def update(self, channel, ts, blocks, text):
        self.updated.append((channel, ts, blocks, text))
        return ts


@pytest.fixture
def dynamodb():
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName="approvals",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def _notify_tasks(dynamodb, slack: FakeSlack) -> ApprovalTasks:
    from mlgov.aws.approvals_table import ApprovalsTable

    return _tasks(
        FakeSessions(),
        approvals=ApprovalsTable(dynamodb, "approvals"),
        slack=slack.gateway(),
    )


def test_notify_posts_once_per_token_and_the_result_replaces_that_message(dynamodb):
    slack = FakeSlack()
    tasks = _notify_tasks(dynamodb, slack)
    execution = "arn:aws:states:eu-west-1:222222222222:execution:mlgov-approval:x1"
    first = tasks.notify(_state(), "token-" + "a" * 200, execution)
    again = tasks.notify(_state(), "token-" + "a" * 200, execution)  # a retried task
    assert first == again and len(slack.posted) == 1
    blocks, _ = slack.posted[0]
    assert "token-" not in json.dumps(blocks)  # the buttons carry the approval id, never the token
    pending = tasks.approvals.get(first["approval_id"])
    assert pending["ts"] == first["ts"] and pending["status"] == "pending"

    state = _state(decision={"decision": "reject", "by": "U0PLATFORM1"}, result={"outcome": "rejected"})
    result = tasks.update_message(state, execution)
    assert result["updated"] is True and len(slack.posted) == 1
    channel, ts, blocks, text = slack.updated[0]
    assert (channel, ts) == ("C0MLGOV01", first["ts"])
    assert "actions" not in {block["type"] for block in blocks}  # no buttons left to click
    assert text.startswith("mlgov: kept")


def test_update_message_posts_the_result_when_the_request_was_never_posted(dynamodb):
    slack = FakeSlack()
    tasks = _notify_tasks(dynamodb, slack)
    error = {
        "Error": "SlackPostError",
        "Cause": json.dumps({"errorMessage": "chat.postMessage failed: not_in_channel"}),
    }
    result = tasks.update_message(_state(result={"outcome": "failed", "step": "Notify"}, error=error), "exec-none")
    assert result["posted"] is True and not slack.updated
    blocks, _ = slack.posted[0]
    assert "not_in_channel" in json.dumps(blocks) and "Nothing was deleted" in json.dumps(blocks)


# ---- verify (moto S3 for the manifest) ---------------------------------------------------------------------------


def test_verify_re_reads_the_manifest_and_re_checks_the_copies():
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="archive", CreateBucketConfiguration={"LocationConstraint": REGION})
        document = {"verification": {"verified": True, "problems": []}, "objects": [
            {"source_uri": "s3://models/m.tar.gz", "archive_key": "k", "size": 1, "checksum": {}, "version_id": None}
        ]}  # fmt: skip
        s3.put_object(Bucket="archive", Key=MANIFEST_KEY, Body=json.dumps(document).encode())
        seen = []

        def verify_fn(source, archive, bucket, copied, range_hashes):
            seen.append([obj.source_uri for obj in copied])
            assert range_hashes == {}  # every range was hashed by the snapshot task
            return problems

        tasks = ApprovalTasks(
            sessions=FakeSessions(s3=s3), archive_client=s3, archive_bucket="archive", verify_fn=verify_fn
        )
        problems: list[str] = []
        assert tasks.verify(_state(snapshot=SNAPSHOT))["verified"] is True
        problems = ["k: checksum mismatch"]
        result = tasks.verify(_state(snapshot=SNAPSHOT))
        assert result["verified"] is False and result["problems"] == problems
        assert seen == [["s3://models/m.tar.gz"]] * 2
        assert tasks.verify(_state())["verified"] is False  # no snapshot taken
        missing = tasks.verify(_state(snapshot={**SNAPSHOT, "manifest_key": "snapshots/none/manifest.json"}))
        assert missing["verified"] is False


def _tasks_hashing_nothing_themselves(dynamodb, *extra_keys: str):
    """Approval tasks over moto: an endpoint whose artifacts S3 holds no checksum of (old uploads), a versioned
    archive, the approvals table, and a snapshot task that may hash nothing itself (all ranges left to the Map)."""
    from mlgov.aws.approvals_table import ApprovalsTable
    from mlgov.aws.snapshot_store import CopyLimits, take_snapshot
    from tests.aws.test_snapshot_store import create_endpoint

    legacy = boto3.client("s3", region_name=REGION, config=Config(request_checksum_calculation="when_required"))
    s3, sagemaker = boto3.client("s3", region_name=REGION), boto3.client("sagemaker", region_name=REGION)
    for bucket in ("archive", "ml-artifacts"):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket="archive", VersioningConfiguration={"Status": "Enabled"})
    for key in ("xgb/model.tar.gz", "weights/v3/config.json", "weights/v3/model.safetensors", *extra_keys):
        legacy.put_object(Bucket="ml-artifacts", Key=key, Body=key.encode() * 10)
    create_endpoint(sagemaker, NAME)
    return s3, ApprovalTasks(
        sessions=FakeSessions(s3=s3, sagemaker=sagemaker),
        archive_client=s3,
        archive_bucket="archive",
        approvals=ApprovalsTable(dynamodb, "approvals"),
        snapshot_fn=lambda *a, **k: take_snapshot(*a, **k, limits=CopyLimits(hash_in_task_max=0)),
        clock=lambda: NOW,
    )


def test_ranges_left_to_the_distributed_map_are_hashed_one_per_item_then_verified(dynamodb):
    """Snapshot (hashing nothing itself) → the Map's items from hash-jobs/ → hash_range each → Verify: not verified
    until every range is recorded, verified after; a job for another snapshot's key is refused."""
    s3, tasks = _tasks_hashing_nothing_themselves(dynamodb)
    snap = tasks.snapshot(_state())
    assert snap["pending_hashes"] == 3 and snap["hash_jobs_key"].startswith("hash-jobs/snapshots/")
    jobs = json.loads(s3.get_object(Bucket="archive", Key=snap["hash_jobs_key"])["Body"].read())
    state = _state(snapshot=snap)
    not_yet = tasks.verify(state)
    assert not_yet["verified"] is False and all("not hashed yet" in p for p in not_yet["problems"])

    for job in jobs:
        item = {"finding": FINDING, "manifest_key": snap["manifest_key"], "job": job}
        assert tasks.hash_range(item)["index"] == job["index"]
    assert tasks.verify(state) == {**tasks.verify(state), "verified": True, "problems": []}

    stray = {"finding": FINDING, "manifest_key": snap["manifest_key"], "job": {**jobs[0], "archive_key": "x/y"}}
    with pytest.raises(ApprovalRefused, match="is not part of the snapshot"):
        tasks.hash_range(stray)
    with pytest.raises(ApprovalRefused, match="malformed job"):
        tasks.hash_range({**stray, "job": {"source_uri": "s3://b/k"}})
    with pytest.raises(ApprovalRefused, match="has no source range 7"):
        tasks.hash_range({**stray, "job": {**jobs[0], "index": 7}})


def test_what_is_hashed_and_verified_comes_from_the_sealed_manifest_never_from_the_job_or_a_rewritten_manifest(
    dynamodb,
):
    """A job pointing at another object still hashes the sealed manifest's source; a manifest rewritten after its
    seal (by anyone who can write the archive) changes nothing, and one the hub never sealed is refused."""
    s3, tasks = _tasks_hashing_nothing_themselves(dynamodb, "other/evil.bin")
    snap = tasks.snapshot(_state())
    jobs = json.loads(s3.get_object(Bucket="archive", Key=snap["hash_jobs_key"])["Body"].read())
    for job in jobs:
        forged = {**job, "source_uri": "s3://ml-artifacts/other/evil.bin", "range": [0, 3]}
        tasks.hash_range({"finding": FINDING, "manifest_key": snap["manifest_key"], "job": forged})
    assert tasks.verify(_state(snapshot=snap))["verified"] is True  # the sealed sources were hashed

    # a manifest rewritten after its seal is ignored: the sealed version (immutable in the versioned archive) counts
    manifest = json.loads(s3.get_object(Bucket="archive", Key=snap["manifest_key"])["Body"].read())
    s3.put_object(Bucket="archive", Key=snap["manifest_key"], Body=json.dumps({**manifest, "objects": []}).encode())
    assert tasks.verify(_state(snapshot=snap))["objects"] == 3
    # a manifest the hub never sealed is neither verified nor hashed for
    dynamodb.delete_item(TableName="approvals", Key={"pk": {"S": f"seal#{snap['manifest_key']}"}})
    result = tasks.verify(_state(snapshot=snap))
    assert result["verified"] is False and "was never sealed by the hub" in result["problems"][0]
    with pytest.raises(ApprovalRefused, match="was never sealed by the hub"):
        tasks.hash_range({"finding": FINDING, "manifest_key": snap["manifest_key"], "job": jobs[0]})


# ---- the handler -------------------------------------------------------------------------------------------------


def test_handler_dispatches_and_rejects_unknown_tasks(monkeypatch):
    from mlgov.handlers import approval

    calls = []

    class Recorder:
        def exempt(self, state, kind):
            calls.append(("exempt", kind))
            return {"kind": kind}

        def delete(self, state):
            calls.append(("delete",))
            return {"deleted": True}

    assert approval.dispatch(Recorder(), {"task": "exempt", "state": {}, "kind": "snooze"}) == {"kind": "snooze"}
    assert approval.dispatch(Recorder(), {"task": "delete", "state": {}}) == {"deleted": True}
    assert calls == [("exempt", "snooze"), ("delete",)]

    class Context:
        function_name, memory_limit_in_mb, aws_request_id = "approval", 256, "r1"
        invoked_function_arn = "arn:aws:lambda:eu-west-1:222222222222:function:approval"

    with pytest.raises(ApprovalRefused, match="unknown task"):
        approval.handler({"task": "rm -rf", "state": {}}, Context())
    with pytest.raises(ApprovalRefused, match="state"):
        approval.handler({"task": "delete"}, Context())


# ---- chat.update (mlgov.aws.slack_update) against a local Slack Web API ------------------------------------------


class _SlackApi(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append({"path": self.path, "body": body})
        answer = {"ok": True, "ts": "1.2"} if b"C0MLGOV01" in body else {"ok": False, "error": "channel_not_found"}
        payload = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


def test_update_message_calls_chat_update_and_reports_slack_errors_without_the_token():
    from mlgov.aws.slack_post import SlackPostError
    from mlgov.aws.slack_update import update_message

    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlackApi)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)  # stops within 20 ms
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/api"
    try:
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "done"}}]
        assert update_message("xoxb-secret", "C0MLGOV01", "1.2", blocks, "done", base_url=url) == "1.2"
        with pytest.raises(SlackPostError, match="chat.update failed: channel_not_found") as raised:
            update_message("xoxb-secret", "C0OTHER01", "1.2", blocks, "done", base_url=url)
        assert "xoxb" not in str(raised.value)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert [r["path"] for r in server.requests] == ["/api/chat.update"] * 2
    assert b'"ts": "1.2"' in server.requests[0]["body"] or b"ts=1.2" in server.requests[0]["body"]
