"""The scheduled scan as the templates wire it (tests/e2e/harness.py): the hub's `mlgov-scan` schedule fires the
`mlgov-scan` state machine (ListTargets → CountTargets → Choice → inline Map of ScanAccountRegion with its Catch →
Aggregate) on moto's engine, its tasks answered by the template's scanner function, which reaches the members through
the StackSet's spoke role, writes the report to the template's archive bucket, posts the digest and starts the
template's approval state machine once per new zombie.

The organization: the hub, a member running one busy endpoint, a member running one zombie (old, InService, no
Invocations datapoints, a CPUUtilization series as proof that metrics flow), a member whose spoke role is gone (its
AssumeRole is refused), and an account outside the target OUs. Only the target OUs' accounts are scanned — never the
management account or the outside one, where no StackSet instance exists.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import jsonschema
import pytest
import time_machine

from mlgov.domain.scan_run import approval_execution_name
from tests.e2e.conftest import REPO
from tests.e2e.harness import FAKE_SECRETS, deployed
from tests.samples.endpoints import create_endpoint
from tests.samples.tags import required_tags

BUSY, IDLE, BROKEN, OUTSIDE = "333333333333", "444444444444", "555555555555", "666666666666"
REGION = "us-east-1"  # a member region the checked-in price table prices
REPORT_SCHEMA = json.loads((REPO / "lambdas/mlgov/data/scan_report.schema.json").read_text())


def _endpoint(harness, account: str, name: str, now: datetime, *, invocations: list[float] | None, variant: str) -> str:
    """An InService ml.m5.xlarge endpoint created 45 days before `now`; daily Invocations sums (None: no series at
    all) and a CPUUtilization series of its instances."""
    from moto.sagemaker.models import sagemaker_backends

    session = harness.session(account, REGION)
    sm = session.client("sagemaker")
    arn = create_endpoint(sm, account, name, variant, required_tags(now, keep_days=90), image="ecr/xgb:1")
    stored = sagemaker_backends[account][REGION].endpoints[name]
    stored.creation_time = stored.last_modified_time = (now - timedelta(days=45)).replace(tzinfo=None)
    dimensions = [{"Name": "EndpointName", "Value": name}, {"Name": "VariantName", "Value": variant}]
    cloudwatch = session.client("cloudwatch")
    if invocations is not None:
        cloudwatch.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {
                    "MetricName": "Invocations",
                    "Dimensions": dimensions,
                    "Timestamp": now - timedelta(days=day + 1),
                    "Value": value,
                }
                for day, value in enumerate(invocations)
            ],
        )
    cloudwatch.put_metric_data(
        Namespace="/aws/sagemaker/Endpoints",
        MetricData=[
            {
                "MetricName": "CPUUtilization",
                "Dimensions": dimensions,
                "Timestamp": now - timedelta(days=day + 1),
                "Value": 1.5,
                "Unit": "Percent",
            }
            for day in range(10)
        ],
    )
    return arn


@pytest.fixture
def hub(templates, instant):
    members = {BUSY: "ml-prod", IDLE: "ml-research", BROKEN: "ml-broken"}
    with deployed(templates, members, outside={OUTSIDE: "unmanaged"}) as harness:
        # a failed stack instance: the spoke role is missing in one governed account
        harness.session(BROKEN).client("iam").delete_role_policy(RoleName="mlgov-spoke", PolicyName="mlgov-spoke")
        harness.session(BROKEN).client("iam").delete_role(RoleName="mlgov-spoke")
        harness.arns = {
            "busy": _endpoint(
                harness, BUSY, "churn-busy", instant, invocations=[120.0, 0.0, 35.0], variant="AllTraffic"
            ),
            "zombie": _endpoint(harness, IDLE, "churn-zombie", instant, invocations=None, variant="blue"),
        }
        _endpoint(harness, OUTSIDE, "hidden", instant, invocations=[0.0], variant="AllTraffic")
        harness.session(BUSY, REGION).client("cloudwatch").put_metric_data(
            Namespace="AWS/Logs",
            MetricData=[
                {
                    "MetricName": "IncomingBytes",
                    "Dimensions": [{"Name": "LogGroupName", "Value": "/aws/sagemaker/Endpoints/churn-busy"}],
                    "Timestamp": instant - timedelta(days=day + 1),
                    "Value": float(2**30),
                }
                for day in range(10)
            ],
        )
        yield harness


def _run(harness, name: str) -> dict:
    return harness.fire_schedule("mlgov-scan", execution_name=name)


def _report(harness, key: str = "reports/latest.json") -> dict:
    s3 = harness.session(harness.templates.hub_account).client("s3")
    return json.loads(s3.get_object(Bucket=harness.hub_resource("ArchiveBucket"), Key=key)["Body"].read())


def _approvals(harness) -> list[dict]:
    sfn = harness.session(harness.templates.hub_account).client("stepfunctions")
    return sfn.list_executions(stateMachineArn=harness.state_machine_arn("mlgov-approval"))["executions"]


def _states_entered(harness, execution_arn: str) -> list[str]:
    sfn = harness.session(harness.templates.hub_account).client("stepfunctions")
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def _scanned(harness) -> list[str]:
    """The accounts the StackSet reaches: those of the target OUs."""
    return harness.governed_accounts()


def test_the_scheduled_scan_reports_and_hands_each_new_zombie_over_once(hub, instant):
    first = _run(hub, "scan-1")

    assert first["status"] == "SUCCEEDED", first
    output = json.loads(first["output"])
    assert output["new_zombies"] == [hub.arns["zombie"]]
    assert output["approvals_started"] == 1 and output["approval_errors"] == 0 and output["digest_posted"] is True
    # few targets: the inline Map, one scan per account × region of the organization, then one aggregate
    entered = _states_entered(hub, first["executionArn"])
    assert "ScanEachAccountRegion" in entered and "ScanEachAccountRegionDistributed" not in entered
    regions = hub.templates.member_regions
    scanner = hub.lambdas.by_handler("mlgov.handlers.scanner.handler")
    calls = hub.lambdas.calls(scanner)
    assert [call.event["task"] for call in calls] == ["targets"] + ["scan"] * (len(_scanned(hub)) * 2) + ["aggregate"]
    assert sorted((c.event["account"], c.event["region"]) for c in calls[1:-1]) == sorted(
        (account, region) for account in _scanned(hub) for region in regions
    )
    assert [call.error for call in calls] == [None] * len(calls)

    day = instant.strftime("%Y-%m-%d")
    report = _report(hub)
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(report)
    assert output["report_key"] == f"reports/{day}/scan-1.json" and _report(hub, output["report_key"]) == report
    assert {f["name"]: f["status"] for f in report["findings"]} == {"churn-busy": "active", "churn-zombie": "zombie"}
    zombie = next(f for f in report["findings"] if f["status"] == "zombie")
    assert zombie["arn"] == hub.arns["zombie"] and zombie["account"] == IDLE
    assert zombie["reason"] == "0 invocations on its only variant (blue) for 30 days; CPU series present"
    assert zombie["waste_usd_month"] > 0
    # the costs around the endpoints, read with the spoke role (its errors would be listed below)
    busy = next(f for f in report["findings"] if f["name"] == "churn-busy")
    assert busy["around"]["logs"]["source"] == "estimated" and busy["around"]["logs"]["gb_month"] > 9
    assert report["around"]["logs_usd_month"]["estimated"] == busy["around"]["logs"]["usd_month"] > 0
    assert OUTSIDE not in _scanned(hub) and hub.templates.management_account not in _scanned(hub)
    assert sorted((e["account"], e["region"], e["operation"]) for e in report["errors"]) == [
        (BROKEN, region, "AssumeRole") for region in regions
    ]
    assert all("AccessDenied" in e["message"] for e in report["errors"])

    [approval] = _approvals(hub)
    assert approval["name"] == approval_execution_name(hub.arns["zombie"], day)
    sfn = hub.session(hub.templates.hub_account).client("stepfunctions")
    started = json.loads(sfn.describe_execution(executionArn=approval["executionArn"])["input"])
    assert started["run_id"] == "scan-1" and started["finding"]["arn"] == hub.arns["zombie"]

    [digest] = [m for m in hub.slack.messages() if "New zombies" in json.dumps(m["body"])]
    assert digest["authorization"] == f"Bearer {FAKE_SECRETS['bot_token']}"
    assert (
        digest["body"]["channel"]
        == hub.templates.function_environment("mlgov.handlers.scanner.handler")["MLGOV_SLACK_CHANNEL"]
    )
    assert "churn-zombie" in json.dumps(digest["body"]) and "*New zombies:* 1" in json.dumps(digest["body"])

    second = _run(hub, "scan-2")

    assert second["status"] == "SUCCEEDED", second
    again = json.loads(second["output"])
    assert again["new_zombies"] == [] and again["approvals_started"] == 0
    assert len(_approvals(hub)) == 1
    assert again["report_key"] == f"reports/{day}/scan-2.json"
    assert _report(hub) == _report(hub, again["report_key"])


def test_a_scan_task_that_raises_is_caught_by_the_template_and_reported(hub, monkeypatch):
    """The Map iteration's Catch → ScanFailed Pass output reaches Aggregate as an error entry: the run succeeds."""
    from mlgov.handlers.scanner_runtime import ScannerRuntime

    scan = ScannerRuntime.scan

    def crash_in_the_idle_account(runtime, target):
        if target.account == IDLE:
            raise RuntimeError("scanner crashed")
        return scan(runtime, target)

    monkeypatch.setattr(ScannerRuntime, "scan", crash_in_the_idle_account)

    result = _run(hub, "scan-1")

    assert result["status"] == "SUCCEEDED", result
    report = _report(hub)
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(report)
    crashed = sorted((e for e in report["errors"] if e["account"] == IDLE), key=lambda e: e["region"])
    assert [(e["region"], e["operation"]) for e in crashed] == [
        (r, "RuntimeError") for r in hub.templates.member_regions
    ]
    # the message is the Cause: the Python runtime's error document (errorMessage, errorType, stackTrace)
    assert all("scanner crashed" in e["message"] and "stackTrace" in e["message"] for e in crashed)
    assert {f["name"] for f in report["findings"]} == {"churn-busy"}
    assert json.loads(result["output"])["approvals_started"] == 0 and _approvals(hub) == []


def test_a_team_over_its_budget_is_alerted_once_however_often_the_scan_runs(hub):
    scanner = hub.lambdas.by_handler("mlgov.handlers.scanner.handler")
    budgets = json.dumps({"fraud": 100, "search": 10_000})  # the endpoints carry ml:team=fraud
    hub.lambdas.set_environment(scanner, {**hub.lambdas.environment(scanner), "MLGOV_BUDGETS": budgets})
    # the platform subscribes a queue (email, Amazon Q Developer, a pager alike) to the notifications topic
    session = hub.session(hub.templates.hub_account)
    sqs = session.client("sqs")
    queue = sqs.create_queue(QueueName="notifications-probe")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = hub.lambdas.environment(scanner)["MLGOV_NOTIFY_TOPIC"]
    session.client("sns").subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )

    for run in ("budget-1", "budget-2"):
        assert _run(hub, run)["status"] == "SUCCEEDED"

    report = _report(hub)
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(report)
    fraud = report["budgets"]["teams"]["fraud"]
    assert fraud["budget_usd"] == 100 and fraud["forecast_pct"] > 100
    assert report["budgets"]["teams"]["search"]["forecast_usd"] == 0
    alerts = [m for m in hub.slack.messages() if "Budget" in m["body"].get("text", "")]
    assert [m["body"]["text"].split(":")[0] for m in alerts] == ["Budget 100%"]  # 80 % recorded with it, once
    assert "team fraud is forecast to spend" in alerts[0]["body"]["text"]
    published = []
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        published += [message["Body"] for message in batch]
        sqs.delete_message_batch(
            QueueUrl=queue, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)]
        )
    assert [body for body in published if body.startswith("Budget")] == [alerts[0]["body"]["text"]]
    assert len([body for body in published if body.startswith("mlgov scan: ") and "reports%2F" in body]) == 2  # digests


def test_an_idle_notebook_is_warned_then_stopped_and_another_is_kept_by_its_owners_click(hub, instant):
    from moto.sagemaker.models import sagemaker_backends

    scanner = hub.lambdas.by_handler("mlgov.handlers.scanner.handler")
    stops = {"MLGOV_NOTEBOOK_STOPS": "stop", "MLGOV_NOTEBOOK_STOP_GRACE_HOURS": "1"}  # cdk.json notebook_stops
    hub.lambdas.set_environment(scanner, {**hub.lambdas.environment(scanner), **stops})
    hub.slack.users |= {"U0DANA": "dana@example.com", "U0EVE": "eve@example.com"}  # their Slack profile e-mails
    sagemaker = hub.session(BUSY, REGION).client("sagemaker")
    for name in ("lab-idle", "lab-kept"):
        tags = required_tags(instant, keep_days=90) | {"mlgov:created-by": "dana@example.com"}  # the auto-tagger's
        sagemaker.create_notebook_instance(
            NotebookInstanceName=name, InstanceType="ml.t3.medium", RoleArn=f"arn:aws:iam::{BUSY}:role/sm",
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )  # fmt: skip
        stored = sagemaker_backends[BUSY][REGION].notebook_instances[name]
        stored.creation_time = stored.last_modified_time = (instant - timedelta(days=3)).replace(tzinfo=None)

    assert _run(hub, "notebooks-1")["status"] == "SUCCEEDED"
    warnings = [m for m in hub.slack.messages() if "will be stopped by the daily scan" in json.dumps(m["body"])]
    assert len(warnings) == 1 and "lab-idle" in json.dumps(warnings[0]["body"])
    approval = hub.lambdas.by_handler("mlgov.handlers.approval.handler")

    def click(label: str, user: str) -> str:
        """The clicker's private answer: Slack gets 'on it' at once, the approval function answers the rest."""
        status, answer = hub.click_button(label, user)
        assert status == 200 and answer["text"].startswith("mlgov is on it"), answer
        return hub.lambdas.calls(approval)[-1].result["text"]

    assert "only its owner (dana@example.com) or an mlgov approver" in click("Keep lab-idle running", "U0EVE")
    assert "keeps running until" in click("Keep lab-kept running", "U0DANA")  # the owner keeps hers
    assert "already kept" in click("Keep lab-kept running", "U0DANA")  # a replayed click changes nothing
    with time_machine.travel(instant + timedelta(hours=2), tick=True):
        assert _run(hub, "notebooks-2")["status"] == "SUCCEEDED"

    def status_of(name: str) -> str:
        return sagemaker.describe_notebook_instance(NotebookInstanceName=name)["NotebookInstanceStatus"]

    assert status_of("lab-idle") == "Stopped" and status_of("lab-kept") == "InService"
    kept = sagemaker.describe_notebook_instance(NotebookInstanceName="lab-kept")["NotebookInstanceArn"]
    exempt = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=kept)["Tags"]}["mlgov:exempt"]
    assert "slack:U0DANA dana@example.com" in exempt  # who kept it, in the tag and the approvals table's record
    assert any("Stopped 1 notebook instance after the warning" in json.dumps(m["body"]) for m in hub.slack.messages())
