"""The scanner Lambda on moto, task by task as the state machine calls it: targets → scan per target → aggregate.

A hub and a member account with endpoints and seeded Invocations metrics, a third account that refuses AssumeRole,
the archive bucket, the findings table, an approval state machine (a Pass state: only its executions are looked at)
and a local Slack Web API that records what it is sent.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import jsonschema
import pytest
import time_machine
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from mlgov.aws.sessions import AccountSessions
from mlgov.domain.report import Verdict
from mlgov.domain.scan_run import approval_execution_name
from tests.samples.endpoints import create_endpoint
from tests.samples.tags import required_tags

HUB = "123456789012"  # moto's default account: the hub's own credentials
MEMBER = "333333333333"
DENIED = "444444444444"
REGION = "us-east-1"  # the checked-in price table prices ml.m5.xlarge here
BUCKET = "mlgov-archive"
TABLE = "mlgov-findings"
APPROVALS_TABLE = "mlgov-approvals"
SLACK_TOKEN = "xoxb-test-token-never-logged"
CREATED_BEFORE = timedelta(days=40)  # the endpoints' age when the scanner first runs (the zombie judge needs age)
REPORT_SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "lambdas/mlgov/data/scan_report.schema.json").read_text()
)


@dataclass
class FakeLambdaContext:
    function_name: str = "mlgov-scanner"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{HUB}:function:mlgov-scanner"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 600_000


# ---- a local Slack Web API ----------------------------------------------------------------------------------------


class _SlackApi(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        payload = json.dumps({"ok": True, "channel": "C0123ABCD", "ts": "1.2"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def slack_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlackApi)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)  # stops within 20 ms
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/", server.requests
    server.shutdown()
    server.server_close()
    thread.join()


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/"  # nothing listens there: connection refused


# ---- moto accounts ------------------------------------------------------------------------------------------------


def _session_in(account: str) -> boto3.Session:
    if account == HUB:
        return boto3.Session(region_name=REGION)
    credentials = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/setup", RoleSessionName="setup"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )


def _endpoint(
    account: str, name: str, invocations: list[float] | None, now: datetime, tags: dict, variant="blue"
) -> str:
    """An InService endpoint; `invocations`: daily sums before `now` published for its variant (None: no series)."""
    session = _session_in(account)
    sm = session.client("sagemaker")
    image = f"{account}.dkr.ecr.{REGION}.amazonaws.com/xgboost:1"
    with time_machine.travel(now - CREATED_BEFORE, tick=True):  # moto stamps CreationTime from the clock
        arn = create_endpoint(sm, account, name, variant, tags, image)
    if invocations is not None:
        session.client("cloudwatch").put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {
                    "MetricName": "Invocations",
                    "Dimensions": [{"Name": "EndpointName", "Value": name}, {"Name": "VariantName", "Value": variant}],
                    "Timestamp": now - timedelta(days=day + 1),
                    "Value": value,
                    "Unit": "None",
                }
                for day, value in enumerate(invocations)
            ],
        )
    return arn


def with_overrides(factory, overrides: dict[str, str]):
    """The production judge factory, with `overrides` (endpoint name → status) replacing its verdicts, so a test can
    make an endpoint come back to life or lose its evidence between runs."""

    def wrapped(sessions: AccountSessions, target, now: datetime, schema):
        judge = factory(sessions, target, now, schema)

        def overriding(costed):
            judgement = judge(costed)
            verdicts = [
                Verdict(overrides[resource.name], "test override") if resource.name in overrides else verdict
                for (resource, _), verdict in zip(costed, judgement.verdicts, strict=True)
            ]
            return replace(judgement, verdicts=verdicts)

        return overriding

    return wrapped


@dataclass
class Hub:
    runtime: object
    arns: dict[str, str]
    state_machine: str
    overrides: dict[str, str]
    clock: list[datetime]
    now: datetime  # the first scan's clock (the test instant): CREATED_BEFORE after the endpoints were created

    @property
    def day(self) -> str:
        return self.now.strftime("%Y-%m-%d")

    @property
    def seen(self) -> str:
        return self.now.strftime("%Y-%m-%dT%H:%M:%SZ")

    def call(self, event: dict) -> dict:
        from mlgov.handlers import scanner

        return scanner.handler(event, FakeLambdaContext())

    def run(self, run_id: str, at: datetime | None = None) -> dict:
        """The state machine's path: targets, one scan per target (the Map), aggregate over the scan outputs."""
        self.clock[0] = at or self.clock[0]
        listed = self.call({"task": "targets", "run_id": run_id})
        parts = [self.call({"task": "scan", **target}) for target in listed["targets"]]
        return self.call({"task": "aggregate", "run_id": run_id, "parts": parts})

    def executions(self) -> list[dict]:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        listed = sfn.list_executions(stateMachineArn=self.state_machine)["executions"]
        return [sfn.describe_execution(executionArn=e["executionArn"]) for e in listed]

    def row(self, name: str) -> dict:
        from mlgov.aws.findings_table import FindingsTable

        return FindingsTable(boto3.client("dynamodb", region_name=REGION), TABLE).get(self.arns[name])

    def object(self, key: str) -> dict:
        return json.loads(boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=key)["Body"].read())


@pytest.fixture
def hub(monkeypatch, slack_api, instant):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "arn", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "arn", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=APPROVALS_TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        state_machine = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
            name="mlgov-approval",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}),
            roleArn=f"arn:aws:iam::{HUB}:role/mlgov-approval",
        )["stateMachineArn"]
        secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name="mlgov/slack-bot-token", SecretString=SLACK_TOKEN
        )["Name"]
        now = instant
        tags = required_tags(instant, keep_days=300, created_by="alice@example.com")  # outlives every scan
        arns = {
            "hub-busy": _endpoint(HUB, "hub-busy", [120.0, 80.0, 0.0], now, tags),
            "hub-zombie": _endpoint(HUB, "hub-zombie", [0.0, 0.0, 0.0], now, tags),
            "member-zombie": _endpoint(MEMBER, "member-zombie", [0.0] * 10, now, tags, variant="AllTraffic"),
            "member-exempt": _endpoint(MEMBER, "member-exempt", [0.0] * 10, now, {**tags, "mlgov:exempt": "ticket-7"}),
            "member-new": _endpoint(MEMBER, "member-new", None, now, {"ml:team": "search"}),
        }
        _endpoint(DENIED, "hidden", [0.0], now, tags)
        approvals_table().record_exemption(  # what a Reject in Slack leaves behind
            arns["member-exempt"], "ticket-7", by="U0APPROVER", kind="reject", now=now
        )
        for name, value in {
            "MLGOV_HUB_ACCOUNT": HUB,
            "MLGOV_SPOKE_ROLE": "mlgov-spoke",
            "MLGOV_ARCHIVE_BUCKET": BUCKET,
            "MLGOV_FINDINGS_TABLE": TABLE,
            "MLGOV_ACCOUNTS": json.dumps([HUB, MEMBER, DENIED]),
            "MLGOV_REGIONS": json.dumps([REGION]),
            "MLGOV_RESOURCE_TYPES": json.dumps(["endpoint"]),
            "MLGOV_APPROVAL_STATE_MACHINE_ARN": state_machine,
            "MLGOV_APPROVALS_TABLE": APPROVALS_TABLE,
            "MLGOV_SLACK_CHANNEL": "C0123ABCD",
            "MLGOV_SLACK_TOKEN_SECRET": secret,
            "MLGOV_SLACK_API_URL": slack_api[0],
        }.items():
            monkeypatch.setenv(name, value)
        overrides: dict[str, str] = {}
        clock = [now]
        runtime = _runtime(monkeypatch, overrides, clock)
        yield Hub(runtime, arns, state_machine, overrides, clock, now)
        _reset_caches()


def approvals_table():
    from mlgov.aws.approvals_table import ApprovalsTable

    return ApprovalsTable(boto3.client("dynamodb", region_name=REGION), APPROVALS_TABLE)


def _runtime(monkeypatch, overrides, clock):
    """The handler's own runtime (settings from the environment), with a base session whose AssumeRole into DENIED
    is refused, verdict overrides on top of the real zombie judge, and a fixed clock."""
    from mlgov.handlers import scanner
    from mlgov.handlers.scanner_runtime import SESSION_NAME, ScannerRuntime

    _reset_caches()
    runtime = ScannerRuntime.from_settings(scanner.logger)
    session = boto3.Session(region_name=REGION)

    def deny_assuming_into_the_denied_account(params, **_):
        if f":{DENIED}:" in params.get("RoleArn", ""):
            raise ClientError(
                {"Error": {"Code": "AccessDenied", "Message": f"not authorized to assume a role in {DENIED}"}},
                "AssumeRole",
            )

    session.events.register("provide-client-params.sts.AssumeRole", deny_assuming_into_the_denied_account)
    runtime.sessions = AccountSessions(HUB, "mlgov-spoke", base_session=session, session_name=SESSION_NAME)
    runtime.judge_factory = with_overrides(runtime.judge_factory, overrides)
    runtime.clock = lambda: clock[0]
    monkeypatch.setattr(scanner, "_runtime", lambda: runtime)
    return runtime


def _reset_caches() -> None:
    from mlgov.handlers import scanner
    from mlgov.handlers.scanner_runtime import scanner_settings

    if hasattr(scanner._runtime, "cache_clear"):  # not while a test has replaced it
        scanner._runtime.cache_clear()
    scanner_settings.cache_clear()


# ---- tests --------------------------------------------------------------------------------------------------------


def test_more_targets_than_the_inline_map_takes_stay_in_the_archive(hub):
    listed = hub.call({"task": "targets", "run_id": "run-9", "inline_max": 2})

    assert "targets" not in listed and listed["count"] == 3  # the Distributed Map reads targets_key
    assert [t["account"] for t in hub.object(listed["targets_key"])] == [HUB, MEMBER, DENIED]
    assert hub.call({"task": "targets", "run_id": "run-9", "inline_max": 3})["targets"] == hub.object(
        listed["targets_key"]
    )


@pytest.mark.parametrize("inline_max", [-1, "200", True])
def test_a_bad_inline_max_is_refused(hub, inline_max):
    from mlgov.domain.scan_run import BadTask

    with pytest.raises(BadTask, match="inline_max must be a non-negative integer"):
        hub.call({"task": "targets", "run_id": "run-9", "inline_max": inline_max})


def test_targets_scan_and_aggregate_produce_a_valid_report_in_the_archive(hub):
    listed = hub.call({"task": "targets", "run_id": "run-1"})
    assert listed["targets"] == [{"account": a, "region": REGION, "run_id": "run-1"} for a in (HUB, MEMBER, DENIED)]
    assert hub.object(listed["targets_key"]) == listed["targets"]

    parts = [hub.call({"task": "scan", **target}) for target in listed["targets"]]
    assert [(p["account"], p["resources"], p["errors"]) for p in parts] == [(HUB, 2, 0), (MEMBER, 3, 0), (DENIED, 0, 1)]
    assert parts[0]["part_key"] == f"runs/run-1/parts/{HUB}-{REGION}.json"

    result = hub.call({"task": "aggregate", "run_id": "run-1", "parts": parts})

    assert result["report_key"] == f"reports/{hub.day}/run-1.json"
    report = hub.object(result["report_key"])
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(report)
    assert hub.object("reports/latest.json") == report
    head = boto3.client("s3", region_name=REGION).head_object(Bucket=BUCKET, Key=result["report_key"])
    assert head["ContentType"] == "application/json"
    assert report["scope"] == {"accounts": [HUB, MEMBER, DENIED], "regions": [REGION]}
    statuses = {f["name"]: f["status"] for f in report["findings"]}
    assert statuses == {
        "hub-busy": "active",
        "hub-zombie": "zombie",
        "member-zombie": "zombie",
        "member-exempt": "zombie",
        "member-new": "untagged",  # no metric series: no usage verdict, the lifecycle one stands
    }
    assert [f["name"] for f in report["findings"][:3]] == sorted(["hub-zombie", "member-exempt", "member-zombie"])
    assert report["summary"]["by_status"] == {"active": 1, "untagged": 1, "zombie": 3}
    by_name = {f["name"]: f for f in report["findings"]}
    assert by_name["member-zombie"]["reason"].startswith("0 invocations on its only variant (AllTraffic)")
    assert by_name["member-exempt"]["evidence"]["exempt"] == "ticket-7"
    assert report["summary"]["waste_usd_month"] == pytest.approx(
        sum(f["waste_usd_month"] for f in report["findings"]), abs=0.05
    )
    assert report["summary"] == result["summary"]
    [denied] = report["errors"]
    assert denied["account"] == DENIED and denied["operation"] == "AssumeRole" and "AccessDenied" in denied["message"]


def test_traffic_seen_updates_the_last_invoked_tag(hub):
    hub.run("run-1")

    tags = boto3.client("sagemaker", region_name=REGION).list_tags(ResourceArn=hub.arns["hub-busy"])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags}["last-invoked"] == (hub.now - timedelta(days=1)).strftime("%Y-%m-%d")


def test_unreadable_metrics_are_an_error_entry_and_never_a_zombie(hub):
    from mlgov.domain.zombies import ZombiePolicy
    from mlgov.services.scan import UsageJudge

    def refuse(**_):
        raise ClientError(
            {"Error": {"Code": "AccessDenied", "Message": "no cloudwatch:GetMetricData"}}, "GetMetricData"
        )

    def factory(sessions, target, now, schema):
        cloudwatch = sessions.client("cloudwatch", target.account, target.region)
        if target.account == MEMBER:
            cloudwatch = boto3.client("cloudwatch", region_name=REGION)
            cloudwatch.meta.events.register("before-call.cloudwatch.GetMetricData", refuse)
        return UsageJudge(lambda account, region: cloudwatch, ZombiePolicy(), now, schema)

    hub.runtime.judge_factory = factory

    result = hub.run("run-1")

    report = hub.object(result["report_key"])
    statuses = {f["name"]: f["status"] for f in report["findings"]}
    assert statuses["member-zombie"] == "unknown" and statuses["hub-zombie"] == "zombie"
    assert {"account": MEMBER, "region": REGION, "operation": "GetMetricData"}.items() <= report["errors"][0].items()
    assert result["approvals_started"] == 1


def test_an_exemption_tag_mlgov_never_recorded_keeps_no_zombie(hub, caplog):
    boto3.client("dynamodb", region_name=REGION).delete_item(
        TableName=APPROVALS_TABLE, Key={"pk": {"S": "exemption#" + hub.arns["member-exempt"]}}
    )

    result = hub.run("run-1")

    assert result["approvals_started"] == 3
    names = {e["name"] for e in hub.executions()}
    assert approval_execution_name(hub.arns["member-exempt"], hub.day) in names
    assert "mlgov:exempt not honoured" in caplog.text


def test_findings_are_recorded_with_first_seen_and_each_new_zombie_gets_one_approval(hub):
    result = hub.run("run-1")

    assert sorted(result["new_zombies"]) == sorted(
        hub.arns[n] for n in ("hub-zombie", "member-zombie", "member-exempt")
    )
    assert result["approvals_started"] == 2 and result["approval_errors"] == 0  # the exempt one is not sent
    executions = hub.executions()
    assert sorted(e["name"] for e in executions) == sorted(
        approval_execution_name(hub.arns[n], hub.day) for n in ("hub-zombie", "member-zombie")
    )
    payload = json.loads(next(e["input"] for e in executions if "member" in e["input"]))
    assert payload["run_id"] == "run-1" and payload["report_key"] == result["report_key"]
    assert payload["finding"]["arn"] == hub.arns["member-zombie"] and payload["finding"]["status"] == "zombie"
    assert payload["finding"]["owner"] == "alice@example.com" and payload["finding"]["waste_usd_month"] > 0
    assert payload["first_seen"] == hub.seen and payload["zombie_since"] == hub.day
    row = hub.row("member-zombie")
    assert row["first_seen"] == row["last_seen"] == hub.seen
    assert row["status"] == "zombie" and row["account"] == MEMBER and row["region"] == REGION
    assert row["name"] == "member-zombie" and row["owner"] == "alice@example.com" and row["team"] == "fraud"
    assert float(row["waste_usd_month"]) == payload["finding"]["waste_usd_month"]
    assert row["approval_execution"] == approval_execution_name(hub.arns["member-zombie"], hub.day)
    assert hub.row("member-new")["status"] == "untagged" and "zombie_since" not in hub.row("hub-busy")


def test_rerunning_keeps_first_seen_and_starts_no_second_execution(hub):
    hub.run("run-1")
    next_day = hub.now + timedelta(days=1)

    again = hub.run("run-2", at=next_day)
    retried = hub.call({"task": "aggregate", "run_id": "run-2", "parts": None})  # a retried aggregate, parts listed

    for result in (again, retried):
        assert result["new_zombies"] == [] and result["approvals_started"] == 0
    assert len(hub.executions()) == 2
    row = hub.row("hub-zombie")
    assert row["first_seen"] == hub.seen and row["last_seen"] == next_day.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert row["zombie_since"] == hub.day and row["last_run_id"] == "run-2"


def test_an_approval_started_but_not_recorded_is_not_started_twice(hub):
    """A crash between StartExecution and marking the row: the next run finds the execution name taken."""
    hub.run("run-1")
    boto3.client("dynamodb", region_name=REGION).update_item(
        TableName=TABLE, Key={"arn": {"S": hub.arns["hub-zombie"]}}, UpdateExpression="REMOVE approval_execution"
    )

    result = hub.run("run-2", at=hub.now + timedelta(days=1))

    assert result["approvals_started"] == 0 and len(hub.executions()) == 2
    assert hub.row("hub-zombie")["approval_execution"] == approval_execution_name(hub.arns["hub-zombie"], hub.day)


def test_a_zombie_that_came_back_to_life_and_died_again_gets_a_new_approval(hub):
    hub.run("run-1")
    hub.overrides["hub-zombie"] = "active"
    hub.run("run-2", at=hub.now + timedelta(days=1))
    assert "zombie_since" not in hub.row("hub-zombie")
    del hub.overrides["hub-zombie"]

    result = hub.run("run-3", at=hub.now + timedelta(days=2))

    assert result["new_zombies"] == [hub.arns["hub-zombie"]] and result["approvals_started"] == 1
    assert hub.row("hub-zombie")["first_seen"] == hub.seen
    assert hub.row("hub-zombie")["zombie_since"] == (hub.now + timedelta(days=2)).strftime("%Y-%m-%d")
    assert len(hub.executions()) == 3


def test_missing_evidence_does_not_end_a_zombie_episode(hub):
    hub.run("run-1")
    hub.overrides["hub-zombie"] = "unknown"
    hub.run("run-2", at=hub.now + timedelta(days=1))
    del hub.overrides["hub-zombie"]

    result = hub.run("run-3", at=hub.now + timedelta(days=2))

    assert result["new_zombies"] == [] and result["approvals_started"] == 0 and len(hub.executions()) == 2
    assert hub.row("hub-zombie")["zombie_since"] == hub.day


def test_digest_is_posted_to_slack_with_the_totals_top_waste_and_report_link(hub, slack_api, caplog):
    caplog.set_level(logging.DEBUG)

    result = hub.run("run-1")

    assert result["digest_posted"] is True
    [request] = slack_api[1]
    assert request["path"] == "/api/chat.postMessage"
    assert request["headers"]["Authorization"] == f"Bearer {SLACK_TOKEN}"
    body = json.loads(request["body"])
    assert body["channel"] == "C0123ABCD" and body["text"].startswith("mlgov scan: 5 resources")
    blocks = body["blocks"]
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["text"] == f"mlgov scan {hub.day}"
    text = json.dumps(blocks)
    for expected in ("hub-zombie", "member-zombie", "owner alice@example.com", "team fraud", "*New zombies:* 3"):
        assert expected in text
    assert "*Errors:* 1" in text and DENIED in text
    assert "s3.console.aws.amazon.com/s3/object/mlgov-archive" in text and "run-1.json" in text
    assert SLACK_TOKEN not in _logged(caplog)  # never logged, not even at debug level


def test_slack_down_is_reported_and_the_run_still_succeeds(hub, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(hub.runtime, "settings", _with(hub.runtime.settings, slack_api_url=_closed_port_url()))

    result = hub.run("run-1")

    assert result["digest_posted"] is False
    assert result["approvals_started"] == 2 and hub.object(result["report_key"])["summary"]["resources"] == 5
    assert "Slack digest not posted" in _logged(caplog) and SLACK_TOKEN not in _logged(caplog)


def test_no_approval_state_machine_configured_starts_nothing_and_retries_later(hub, monkeypatch):
    monkeypatch.setattr(hub.runtime, "settings", _with(hub.runtime.settings, approval_state_machine_arn=None))

    result = hub.run("run-1")

    assert result["approvals_started"] == 0 and len(result["new_zombies"]) == 3 and hub.executions() == []
    assert "approval_execution" not in hub.row("hub-zombie")


def test_approvals_can_be_capped_per_run_largest_waste_first(hub, monkeypatch):
    monkeypatch.setattr(hub.runtime, "settings", _with(hub.runtime.settings, max_approvals_per_run=1))

    first = hub.run("run-1")
    second = hub.run("run-2", at=hub.now + timedelta(days=1))

    assert first["approvals_started"] == 1 and second["approvals_started"] == 1 and len(hub.executions()) == 2


def test_a_failed_map_iteration_is_an_error_in_the_report_not_a_failure(hub):
    listed = hub.call({"task": "targets", "run_id": "run-1"})
    parts = [hub.call({"task": "scan", **target}) for target in listed["targets"][:2]]
    # the state machine's Catch → Pass output for an iteration whose Lambda failed
    parts.append(
        {"account": DENIED, "region": REGION, "failed": True, "error": "States.Timeout", "cause": "Task timed out"}
    )

    result = hub.call({"task": "aggregate", "run_id": "run-1", "parts": parts})

    report = hub.object(result["report_key"])
    assert report["errors"] == [
        {"account": DENIED, "region": REGION, "operation": "States.Timeout", "message": "Task timed out"}
    ]
    assert result["errors"] == 1 and DENIED in report["scope"]["accounts"]
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(report)


def test_organization_accounts_are_listed_when_no_accounts_are_configured(hub, monkeypatch):
    organizations = boto3.client("organizations", region_name=REGION)
    organizations.create_organization(FeatureSet="ALL")
    created = organizations.create_account(AccountName="ml-team", Email="ml@example.com")["CreateAccountStatus"]
    monkeypatch.setattr(hub.runtime, "settings", _with(hub.runtime.settings, accounts=None))

    listed = hub.call({"task": "targets", "run_id": "run-1"})

    assert {t["account"] for t in listed["targets"]} == {HUB, created["AccountId"]}


def test_an_account_outside_any_organization_scans_itself(hub, monkeypatch):
    monkeypatch.setattr(hub.runtime, "settings", _with(hub.runtime.settings, accounts=None))
    organizations = boto3.client("organizations", region_name=REGION)
    stubber = Stubber(organizations)
    stubber.add_client_error("list_accounts", "AWSOrganizationsNotInUseException", "not in an organization")
    hub.runtime._clients["organizations"] = organizations

    with stubber:
        listed = hub.call({"task": "targets", "run_id": "run-1"})

    assert listed["targets"] == [{"account": HUB, "region": REGION, "run_id": "run-1"}]


@pytest.mark.parametrize(
    "event",
    [
        {"task": "delete-everything", "run_id": "run-1"},
        {"task": "scan", "account": "nope", "region": REGION, "run_id": "run-1"},
        {"task": "aggregate", "run_id": "../other-run"},
        {"task": "aggregate", "run_id": "run-1", "parts": [{"part_key": "reports/latest.json"}]},
    ],
)
def test_malformed_events_fail_the_execution(hub, event):
    from mlgov.domain.scan_run import BadTask

    with pytest.raises(BadTask):
        hub.call(event)


def _logged(caplog) -> str:
    """What mlgov and slack-sdk logged (botocore's own DEBUG output prints response bodies, secrets included: it is
    never enabled in the Lambda)."""
    return "\n".join(
        f"{record.getMessage()} {record.__dict__}"
        for record in caplog.records
        if not record.name.startswith("botocore")
    )


def _with(settings, **changes):
    from dataclasses import replace

    return replace(settings, **changes)


def test_a_scheduled_run_describes_only_the_endpoint_configs_no_earlier_run_described(hub):
    """The scanner keeps the configs it described in the archive (cache/endpoint-configs/<account>/<region>.json):
    the next run's inventory of an unchanged fleet is one Search per account-region, no DescribeEndpointConfig."""
    described: list[str] = []

    def count(params, **_):
        described.append(params["EndpointConfigName"])

    for account in (HUB, MEMBER):  # the runtime's clients are cached per account and region: the scans use these
        client = hub.runtime.sessions.client("sagemaker", account, REGION)
        client.meta.events.register("before-parameter-build.sagemaker.DescribeEndpointConfig", count)

    hub.run("run-1")
    first = sorted(described)
    described.clear()
    hub.run("run-2", at=hub.now + timedelta(hours=1))

    assert first  # the first run described every config of the two readable accounts
    assert described == []
    cached = hub.object(f"cache/endpoint-configs/{MEMBER}/{REGION}.json")
    assert any("endpoint/member-zombie@" in key for key in cached)


def test_a_scheduled_run_prices_from_the_price_list_once_a_week(hub, monkeypatch):
    """The scan task fetches the list price of each instance type it meets (GetProducts, the real model's shapes),
    keeps it in the archive (cache/prices/<region>.json) and asks again only when the entry is a week old."""
    import mlgov.aws.price_list as price_list
    from tests.unit.test_pricing import sagemaker_product

    client = boto3.client("pricing", region_name="us-east-1")
    monkeypatch.setattr(price_list, "pricing_client", lambda session, endpoint_url=None: client)
    answer = {
        "FormatVersion": "aws_v1",
        "PriceList": [json.dumps(sagemaker_product("ml.m5.xlarge", "USE1-Host:ml.m5.xlarge", "Hosting", "0.2400"))],
    }
    request = {
        "ServiceCode": "AmazonSageMaker",
        "Filters": [
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": REGION},
            {"Type": "TERM_MATCH", "Field": "instanceName", "Value": "ml.m5.xlarge"},
        ],
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
    }
    with Stubber(client) as stubber:
        stubber.add_response("get_products", answer, request)  # one answer: the first task's, cached for the rest
        hub.run("run-1")
        hub.run("run-2", at=hub.now + timedelta(days=1))
        stubber.assert_no_pending_responses()
        stubber.add_response("get_products", answer, request)
        hub.run("run-3", at=hub.now + timedelta(days=8))
        stubber.assert_no_pending_responses()

    cached = hub.object(f"cache/prices/{REGION}.json")
    assert cached["entries"][f"{REGION}|ml.m5.xlarge"]["prices"] == {"hosting": 0.24}
    part = hub.object(f"runs/run-2/parts/{MEMBER}-{REGION}.json")
    finding = next(f for f in part["findings"] if f["resource_type"] == "endpoint")
    assert finding["evidence"]["price_source"].startswith("AWS Price List, fetched")
    assert finding["evidence"]["hourly_usd"] == pytest.approx(0.24 * finding["instance_count"])
