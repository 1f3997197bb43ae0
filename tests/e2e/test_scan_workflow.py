"""The scan state machine of the synthesized MlgovHub template, run by moto's Step Functions engine.

The definition (ListTargets → CountTargets → Choice → inline Map of ScanAccountRegion with its Catch → Aggregate)
and the scanner's handler and environment come from the template; its Lambda tasks are answered in process by the
template's handler (tests/e2e/lambda_shim.py). Only the template's own resources are swapped for moto's (archive
bucket, findings table), and the few variables the `hub` fixture adds are commented there (the hub account,
a stand-in for the approval state machine the template names, the local Slack API, endpoints only).

The organization: the hub (moto's default account, the management account), a member reached through the spoke
role, and an account whose AssumeRole is refused. The member runs one zombie endpoint (old, InService, no
Invocations datapoints, a CPUUtilization series as proof that metrics flow), the hub one endpoint with traffic.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
import jsonschema
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from mlgov.domain.scan_run import approval_execution_name
from tests.e2e.lambda_shim import InProcessLambdas

HUB = "123456789012"  # moto's default account, standing in for the hub account (the template says 222222222222)
ENDPOINT_REGION = "us-east-1"  # one of the template's member regions; the checked-in price table prices it
SCANNER_HANDLER = "mlgov.handlers.scanner.handler"  # DESIGN.md, "Lambda entry points"
SLACK_TOKEN = "xoxb-e2e-token"
# moto stamps endpoints with the real creation time and a zombie must be older than zombie_min_age_days: the
# scanner's clock runs 40 days ahead of the real one (metrics are seeded relative to it).
NOW = (datetime.now(UTC) + timedelta(days=40)).replace(hour=6, minute=0, second=0, microsecond=0)
DAY = NOW.strftime("%Y-%m-%d")
REPORT_SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "lambdas/mlgov/data/scan_report.schema.json").read_text()
)
TAGS = {
    "ml:team": "fraud",
    "ml:model": "churn",
    "ml:experiment": "q4",
    "ml:environment": "prod",
    "auto-delete-after": (NOW + timedelta(days=90)).strftime("%Y-%m-%d"),  # within max_lifetime_days
    "mlgov:created-by": "alice@example.com",
}


# ---------------------------------------------------------------- the template, synthesized once


@pytest.fixture(scope="module")
def hub_stack(tmp_path_factory) -> tuple[dict, str]:
    """(the MlgovHub template, its region) from the real cdk.json (cdk-nag off: not under test here)."""
    for name, value in {
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
    }.items():
        os.environ.setdefault(name, value)
    import aws_cdk as cdk

    from stacks.app_builder import build_app
    from tests.infra.conftest import REPO

    context = json.loads((REPO / "cdk.json").read_text())["context"]
    app = cdk.App(context=context, outdir=str(tmp_path_factory.mktemp("cdk.out.e2e.scan")))
    build_app(app, nag=False)
    stack = app.synth().get_stack_by_name("MlgovHub")
    return stack.template, stack.environment.region


def _scan_wiring(template: dict) -> tuple[str, str]:
    """(state machine, scanner function) logical ids: the one state machine whose definition calls the scanner."""
    resources = template["Resources"]
    [scanner] = [
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Lambda::Function" and resource["Properties"]["Handler"] == SCANNER_HANDLER
    ]
    calls_scanner = {"Fn::GetAtt": [scanner, "Arn"]}
    [machine] = [
        logical_id
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::StepFunctions::StateMachine"
        and calls_scanner in resource["Properties"]["DefinitionString"]["Fn::Join"][1]
    ]
    return machine, scanner


# ---------------------------------------------------------------- a local Slack Web API


class _SlackApi(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        payload = json.dumps({"ok": True, "channel": "C0MLGOV01", "ts": "1.2"}).encode()
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
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/", server.requests
    server.shutdown()
    server.server_close()
    thread.join()


# ---------------------------------------------------------------- moto: the organization and its endpoints


def _session_in(account: str, region: str) -> boto3.Session:
    if account == HUB:
        return boto3.Session(region_name=region)
    credentials = boto3.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/setup", RoleSessionName="setup"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def _endpoint(account: str, name: str, *, invocations: list[float] | None, cpu: bool, variant: str) -> str:
    """An InService endpoint with one ml.m5.xlarge variant; daily Invocations sums (None: no series at all) and,
    with `cpu`, a CPUUtilization series of its instances, over the days before NOW."""
    session = _session_in(account, ENDPOINT_REGION)
    sm = session.client("sagemaker")
    role = f"arn:aws:iam::{account}:role/SageMakerExecution"
    image = f"{account}.dkr.ecr.{ENDPOINT_REGION}.amazonaws.com/xgboost:1"
    sm.create_model(ModelName=f"{name}-model", ExecutionRoleArn=role, PrimaryContainer={"Image": image})
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": variant,
                "ModelName": f"{name}-model",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.xlarge",
            }
        ],
    )
    arn = sm.create_endpoint(
        EndpointName=name, EndpointConfigName=f"{name}-config", Tags=[{"Key": k, "Value": v} for k, v in TAGS.items()]
    )["EndpointArn"]
    dimensions = [{"Name": "EndpointName", "Value": name}, {"Name": "VariantName", "Value": variant}]
    cloudwatch = session.client("cloudwatch")
    if invocations is not None:
        cloudwatch.put_metric_data(
            Namespace="AWS/SageMaker",
            MetricData=[
                {
                    "MetricName": "Invocations",
                    "Dimensions": dimensions,
                    "Timestamp": NOW - timedelta(days=day + 1),
                    "Value": value,
                }
                for day, value in enumerate(invocations)
            ],
        )
    if cpu:
        cloudwatch.put_metric_data(
            Namespace="/aws/sagemaker/Endpoints",
            MetricData=[
                {
                    "MetricName": "CPUUtilization",
                    "Dimensions": dimensions,
                    "Timestamp": NOW - timedelta(days=day + 1),
                    "Value": 1.5,
                    "Unit": "Percent",
                }
                for day in range(10)
            ],
        )
    return arn


def _organization() -> tuple[str, str]:
    """The hub's organization with two member accounts: (member, denied)."""
    organizations = boto3.client("organizations", region_name=ENDPOINT_REGION)
    organizations.create_organization(FeatureSet="ALL")
    member, denied = (
        organizations.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]["AccountId"]
        for name in ("ml-team", "locked")
    )
    return member, denied


# ---------------------------------------------------------------- the workflow on moto


@dataclass
class Hub:
    """The scan state machine created in moto from the template, and what the test looks at."""

    region: str
    state_machine: str
    approval_state_machine: str
    bucket: str
    lambdas: InProcessLambdas
    scanner: str  # the scanner function's logical id
    environment: dict[str, str]
    arns: dict[str, str]
    member: str
    denied: str
    slack: list[dict]
    clock: list[datetime]

    @property
    def sfn(self):
        return boto3.client("stepfunctions", region_name=self.region)

    def run(self, name: str, at: datetime, timeout: float = 30) -> dict:
        """Starts an execution of the scan state machine (its name is the run id) and waits for it to end."""
        self.clock[0] = at
        execution = self.sfn.start_execution(stateMachineArn=self.state_machine, name=name, input="{}")["executionArn"]
        deadline = time.monotonic() + timeout
        while (described := self.sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
            assert time.monotonic() < deadline, f"{name} still running after {timeout} s"
            time.sleep(0.05)
        return described

    def states_entered(self, execution_arn: str) -> list[str]:
        events = self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]

    def approvals(self) -> list[dict]:
        return self.sfn.list_executions(stateMachineArn=self.approval_state_machine)["executions"]

    def object(self, key: str) -> dict:
        s3 = boto3.client("s3", region_name=self.region)
        return json.loads(s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    @property
    def regions(self) -> list[str]:
        return json.loads(self.environment["MLGOV_REGIONS"])


def _moto_resources(template: dict, environment: dict, region: str) -> dict[str, str]:
    """The template resources the scanner's environment refers to (Ref), created in moto: logical id → name."""
    names = {}
    for value in environment.values():
        if not isinstance(value, dict):
            continue
        logical_id = value["Ref"]  # anything else (GetAtt, Join...) is wiring this test does not know: fail loudly
        resource = template["Resources"][logical_id]
        if resource["Type"] == "AWS::S3::Bucket":
            names[logical_id] = "mlgov-archive"
            boto3.client("s3", region_name=region).create_bucket(
                Bucket=names[logical_id], CreateBucketConfiguration={"LocationConstraint": region}
            )
        elif resource["Type"] in ("AWS::DynamoDB::GlobalTable", "AWS::DynamoDB::Table"):
            names[logical_id] = "mlgov-findings"
            boto3.client("dynamodb", region_name=region).create_table(
                TableName=names[logical_id],
                KeySchema=resource["Properties"]["KeySchema"],
                AttributeDefinitions=resource["Properties"]["AttributeDefinitions"],
                BillingMode="PAY_PER_REQUEST",
            )
        elif resource["Type"] == "AWS::StepFunctions::StateMachine":  # the approval flow: only its starts matter here
            names[logical_id] = boto3.client("stepfunctions", region_name=region).create_state_machine(
                name="mlgov-approval",
                definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}),
                roleArn=f"arn:aws:iam::{HUB}:role/mlgov-approval",
            )["stateMachineArn"]
        else:
            raise AssertionError(f"the scanner's environment refers to a {resource['Type']}: create it in moto here")
    return names


@pytest.fixture
def hub(monkeypatch, hub_stack, slack_api):
    template, region = hub_stack
    machine_id, scanner_id = _scan_wiring(template)
    scanner = template["Resources"][scanner_id]["Properties"]
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "MLGOV_ENDPOINT_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,  # what the Lambda runtime sets: the hub stack's region
        "AWS_CONFIG_FILE": "/nonexistent/mlgov-tests/config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/mlgov-tests/credentials",
    }.items():
        monkeypatch.setenv(name, value)

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        member, denied = _organization()
        arns = {
            "hub-busy": _endpoint(HUB, "hub-busy", invocations=[120.0, 0.0, 35.0], cpu=True, variant="AllTraffic"),
            "member-zombie": _endpoint(member, "member-zombie", invocations=None, cpu=True, variant="blue"),
        }
        _endpoint(denied, "hidden", invocations=[0.0], cpu=False, variant="AllTraffic")
        lambdas = InProcessLambdas(template, region, HUB)
        variables = scanner["Environment"]["Variables"]
        refs = _moto_resources(template, variables, region)
        environment = {name: lambdas.resolve(value, refs) for name, value in variables.items()} | {
            "MLGOV_HUB_ACCOUNT": HUB,  # moto's default account plays the hub (the template names the real one)
            "MLGOV_SLACK_API_URL": slack_api[0],  # test only: the local Slack Web API
            # moto lacks the List operations of several SageMaker types (AWS_FACTS "moto"): endpoints only.
            "MLGOV_RESOURCE_TYPES": json.dumps(["endpoint"]),
        }
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        boto3.client("secretsmanager", region_name=region).create_secret(
            Name=environment["MLGOV_SLACK_TOKEN_SECRET"], SecretString=SLACK_TOKEN
        )
        clock = [NOW]
        _reset_caches()
        _adjust_runtime(environment, clock, denied)

        sfn = boto3.client("stepfunctions", region_name=region)
        definition = lambdas.resolve(template["Resources"][machine_id]["Properties"]["DefinitionString"])
        state_machine = sfn.create_state_machine(
            name="mlgov-scan", definition=definition, roleArn=f"arn:aws:iam::{HUB}:role/mlgov-scan"
        )["stateMachineArn"]
        with lambdas:
            yield Hub(
                region=region,
                state_machine=state_machine,
                approval_state_machine=environment["MLGOV_APPROVAL_STATE_MACHINE_ARN"],
                bucket=refs[variables["MLGOV_ARCHIVE_BUCKET"]["Ref"]],
                lambdas=lambdas,
                scanner=scanner_id,
                environment=environment,
                arns=arns,
                member=member,
                denied=denied,
                slack=slack_api[1],
                clock=clock,
            )
        _reset_caches()


def _adjust_runtime(environment: dict, clock: list, denied: str) -> None:
    """The handler's own runtime (built from the environment by the handler's factory), with a clock 40 days ahead
    and a base session whose AssumeRole into `denied` is refused (moto grants every AssumeRole)."""
    from mlgov.aws.sessions import AccountSessions
    from mlgov.handlers import scanner
    from mlgov.handlers.scanner_runtime import SESSION_NAME

    runtime = scanner._runtime()
    session = boto3.Session()

    def refuse(params, **_):
        if f":{denied}:" in params.get("RoleArn", ""):
            raise ClientError(
                {"Error": {"Code": "AccessDenied", "Message": f"not authorized to assume a role in {denied}"}},
                "AssumeRole",
            )

    session.events.register("provide-client-params.sts.AssumeRole", refuse)
    runtime.sessions = AccountSessions(
        HUB, environment["MLGOV_SPOKE_ROLE"], base_session=session, session_name=SESSION_NAME
    )
    runtime.clock = lambda: clock[0]


def _reset_caches() -> None:
    from mlgov.handlers import scanner
    from mlgov.handlers.scanner_runtime import scanner_settings

    scanner._runtime.cache_clear()
    scanner_settings.cache_clear()


# ---------------------------------------------------------------- tests


def test_the_template_state_machine_scans_reports_and_hands_each_new_zombie_over_once(hub):
    first = hub.run("scan-1", NOW)

    assert first["status"] == "SUCCEEDED", first
    output = json.loads(first["output"])
    assert output["new_zombies"] == [hub.arns["member-zombie"]]
    assert output["approvals_started"] == 1 and output["approval_errors"] == 0 and output["digest_posted"] is True
    # few targets: the inline Map, one scan per account × region of the organization, then one aggregate
    entered = hub.states_entered(first["executionArn"])
    assert "ScanEachAccountRegion" in entered and "ScanEachAccountRegionDistributed" not in entered
    targets = sorted((account, region) for account in (HUB, hub.member, hub.denied) for region in hub.regions)
    calls = hub.lambdas.calls(hub.scanner)
    assert [call.event["task"] for call in calls] == ["targets"] + ["scan"] * len(targets) + ["aggregate"]
    assert sorted((call.event["account"], call.event["region"]) for call in calls[1:-1]) == targets
    assert [call.error for call in calls] == [None] * len(calls)

    report = hub.object("reports/latest.json")
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(report)
    assert output["report_key"] == f"reports/{DAY}/scan-1.json" and hub.object(output["report_key"]) == report
    assert {f["name"]: f["status"] for f in report["findings"]} == {"hub-busy": "active", "member-zombie": "zombie"}
    zombie = next(f for f in report["findings"] if f["status"] == "zombie")
    assert zombie["arn"] == hub.arns["member-zombie"] and zombie["account"] == hub.member
    assert zombie["reason"] == "0 invocations on its only variant (blue) for 30 days; CPU series present"
    assert zombie["waste_usd_month"] > 0
    assert sorted((e["account"], e["region"], e["operation"]) for e in report["errors"]) == [
        (hub.denied, region, "AssumeRole") for region in sorted(hub.regions)
    ]
    assert all("AccessDenied" in e["message"] for e in report["errors"])

    [approval] = hub.approvals()
    assert approval["name"] == approval_execution_name(hub.arns["member-zombie"], DAY)
    started = json.loads(hub.sfn.describe_execution(executionArn=approval["executionArn"])["input"])
    assert started["run_id"] == "scan-1" and started["finding"]["arn"] == hub.arns["member-zombie"]

    [digest] = hub.slack
    assert digest["path"] == "/api/chat.postMessage" and digest["headers"]["Authorization"] == f"Bearer {SLACK_TOKEN}"
    body = json.loads(digest["body"])
    assert body["channel"] == hub.environment["MLGOV_SLACK_CHANNEL"]
    assert "member-zombie" in json.dumps(body["blocks"]) and "*New zombies:* 1" in json.dumps(body["blocks"])

    next_day = NOW + timedelta(days=1)
    second = hub.run("scan-2", next_day)

    assert second["status"] == "SUCCEEDED", second
    again = json.loads(second["output"])
    assert again["new_zombies"] == [] and again["approvals_started"] == 0
    assert len(hub.approvals()) == 1
    assert again["report_key"] == f"reports/{next_day:%Y-%m-%d}/scan-2.json"
    assert hub.object("reports/latest.json") == hub.object(again["report_key"])
    assert len(hub.slack) == 2


def test_a_scan_task_that_raises_is_caught_by_the_template_and_reported(hub, monkeypatch):
    """The Map iteration's Catch → ScanFailed Pass output reaches Aggregate as an error entry: the run succeeds."""
    from mlgov.handlers import scanner

    runtime = scanner._runtime()
    scan = runtime.scan

    def crash_in_the_member_account(target):
        if target.account == hub.member:
            raise RuntimeError("scanner crashed")
        return scan(target)

    monkeypatch.setattr(runtime, "scan", crash_in_the_member_account)

    result = hub.run("scan-1", NOW)

    assert result["status"] == "SUCCEEDED", result
    report = hub.object("reports/latest.json")
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(report)
    crashed = sorted((e for e in report["errors"] if e["account"] == hub.member), key=lambda e: e["region"])
    assert [(e["region"], e["operation"]) for e in crashed] == [(r, "RuntimeError") for r in sorted(hub.regions)]
    # the message is the Cause: the Python runtime's error document (errorMessage, errorType, stackTrace)
    assert all("scanner crashed" in e["message"] and "stackTrace" in e["message"] for e in crashed)
    assert {f["name"] for f in report["findings"]} == {"hub-busy"}
    assert json.loads(result["output"])["approvals_started"] == 0 and hub.approvals() == []
