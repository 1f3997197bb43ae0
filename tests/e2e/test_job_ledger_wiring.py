"""The job ledger as the template wires it, on moto: the hub rule routes job state changes, the handler records them.

Nothing is hand-wired: the rule's EventBridge pattern, the handler path and the environment come from the
synthesized MlgovHub template (the rule is found by its target, the function by that rule); only the template's own
table and queue are swapped for moto's. The job runs in a member account in another region than the hub, as a
forwarded event does, and is described through the spoke role.
"""

from __future__ import annotations

import importlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import boto3
import pytest
from moto import mock_aws

from mlgov.aws.ledger_table import LedgerTable
from tests.samples import job_events as je

HUB_REGION = "eu-west-1"
JOB_REGION = "us-east-1"  # covered by the packaged price table
HUB_ACCOUNT = "123456789012"  # moto's default account, standing in for the hub account
JOB = "churn-xgb-train-20261124"


# ---------------------------------------------------------------- the template, synthesized once


@pytest.fixture(scope="module")
def hub_template(tmp_path_factory) -> dict:
    """The MlgovHub template as the cloud assembly holds it (real cdk.json; cdk-nag off: not under test here)."""
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
    app = cdk.App(context=context, outdir=str(tmp_path_factory.mktemp("cdk.out.e2e.ledger")))
    build_app(app, nag=False)
    return app.synth().get_stack_by_name("MlgovHub").template


def _ledger_wiring(template: dict) -> tuple[dict, dict]:
    """(the rule, its one Lambda target's properties) for the rule on the hub bus that targets a job_ledger handler."""
    resources = template["Resources"]
    found = []
    for rule in (r for r in resources.values() if r["Type"] == "AWS::Events::Rule"):
        for target in rule["Properties"]["Targets"]:
            function_id = target["Arn"].get("Fn::GetAtt", [None])[0] if isinstance(target["Arn"], dict) else None
            function = resources.get(function_id, {})
            if function.get("Type") == "AWS::Lambda::Function" and "job_ledger" in function["Properties"]["Handler"]:
                found.append((rule, function["Properties"]))
    assert len(found) == 1, f"{len(found)} rules target the job ledger"
    return found[0]


@pytest.fixture(scope="module")
def event_pattern(hub_template) -> dict:
    rule, _ = _ledger_wiring(hub_template)
    return rule["Properties"]["EventPattern"]


@pytest.fixture(scope="module")
def ledger_function(hub_template) -> dict:
    _, function = _ledger_wiring(hub_template)
    return function


# ---------------------------------------------------------------- moto, wired from the template


@dataclass
class FakeLambdaContext:
    function_name: str = "mlgov-job-ledger"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{HUB_REGION}:{HUB_ACCOUNT}:function:mlgov-job-ledger"
    aws_request_id: str = "6f1c9c1e-0000-4000-8000-000000000101"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": HUB_REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("MLGOV_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def hub_bus(aws, event_pattern) -> str:
    """The hub bus and the template's ledger rule on moto, an SQS probe as the rule's target; returns the probe URL."""
    events = boto3.client("events", region_name=HUB_REGION)
    sqs = boto3.client("sqs", region_name=HUB_REGION)
    events.create_event_bus(Name="mlgov-hub")
    events.put_rule(Name="job-state-changes", EventBusName="mlgov-hub", EventPattern=json.dumps(event_pattern))
    probe = sqs.create_queue(QueueName="probe")["QueueUrl"]
    probe_arn = sqs.get_queue_attributes(QueueUrl=probe, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_targets(Rule="job-state-changes", EventBusName="mlgov-hub", Targets=[{"Id": "probe", "Arn": probe_arn}])
    return probe


def as_entry(event: dict) -> dict:
    return {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
        "Resources": event["resources"],
        "EventBusName": "mlgov-hub",
    }


def route(probe_url: str, events: list[dict]) -> list[dict]:
    """put_events on the hub bus; the events as the rule delivered them, with the sender's envelope restored.

    A forwarded event keeps the account and region it was emitted in; moto's PutEvents stamps the caller's
    region and leaves out the account, so both are put back from the original event (matched on the detail).
    """
    originals = {json.dumps(event["detail"], sort_keys=True): event for event in events}
    result = boto3.client("events", region_name=HUB_REGION).put_events(Entries=[as_entry(e) for e in events])
    assert result["FailedEntryCount"] == 0, result
    sqs = boto3.client("sqs", region_name=HUB_REGION)
    delivered = []
    while messages := sqs.receive_message(QueueUrl=probe_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            event = json.loads(message["Body"])
            original = originals[json.dumps(event["detail"], sort_keys=True)]
            event.update(account=original["account"], region=original["region"])
            delivered.append(event)
            sqs.delete_message(QueueUrl=probe_url, ReceiptHandle=message["ReceiptHandle"])
    return delivered


def _resolve(value: object, resources: dict, moto_names: dict) -> str:
    """A template environment value for moto: literals as they are, Refs to the template's table/queue as moto's."""
    if isinstance(value, str):
        return value
    logical_id = value["Ref"]  # anything else (GetAtt, Join...) is wiring this test does not know: fail loudly
    return moto_names[resources[logical_id]["Type"]]


@pytest.fixture
def handler(aws, monkeypatch, hub_template, ledger_function):
    """The template's handler with the template's environment; its table and DLQ created in moto."""
    table = "mlgov-job-ledger"
    boto3.client("dynamodb", region_name=HUB_REGION).create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dlq = boto3.client("sqs", region_name=HUB_REGION).create_queue(QueueName="job-ledger-dlq")["QueueUrl"]
    moto_names = {"AWS::DynamoDB::GlobalTable": table, "AWS::DynamoDB::Table": table, "AWS::SQS::Queue": dlq}
    for name, value in ledger_function["Environment"]["Variables"].items():
        monkeypatch.setenv(name, _resolve(value, hub_template["Resources"], moto_names))
    monkeypatch.setenv("MLGOV_HUB_ACCOUNT", HUB_ACCOUNT)
    module_name, attribute = ledger_function["Handler"].rsplit(".", 1)
    module = importlib.import_module(module_name)
    _clear_caches()
    yield getattr(module, attribute)
    _clear_caches()


def _clear_caches() -> None:
    from mlgov.handlers import job_ledger
    from mlgov.settings import settings

    job_ledger._runtime.cache_clear()
    settings.cache_clear()


def member_spot_training_job(billable: int, training: int) -> None:
    """The member account's finished managed-spot job, with the billing fields the service reports (moto has none)."""
    from moto.sagemaker.models import sagemaker_backends

    credentials = boto3.client("sts", region_name=HUB_REGION).assume_role(
        RoleArn=f"arn:aws:iam::{je.MEMBER_ACCOUNT}:role/setup", RoleSessionName="test-setup"
    )["Credentials"]
    sagemaker = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    ).client("sagemaker", region_name=JOB_REGION)
    sagemaker.create_training_job(
        TrainingJobName=JOB,
        AlgorithmSpecification={"TrainingImage": je.IMAGE, "TrainingInputMode": "File"},
        RoleArn=je.ROLE,
        OutputDataConfig={"S3OutputPath": "s3://ml-artifacts/churn/"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30},
        StoppingCondition={"MaxRuntimeInSeconds": 7200, "MaxWaitTimeInSeconds": 10800},
        EnableManagedSpotTraining=True,
    )
    record = sagemaker_backends[je.MEMBER_ACCOUNT][JOB_REGION].training_jobs[JOB]
    record.billable_time_in_seconds = billable
    record.training_time_in_seconds = training


def ledger_rows() -> list[dict]:
    table = LedgerTable(boto3.client("dynamodb", region_name=HUB_REGION), os.environ["MLGOV_LEDGER_TABLE"])
    return table.read_rows(datetime(2000, 1, 1, tzinfo=UTC))


def endpoint_state_change() -> dict:
    return je.envelope(
        "SageMaker Endpoint State Change",
        f"arn:aws:sagemaker:{JOB_REGION}:{je.MEMBER_ACCOUNT}:endpoint/churn",
        {"EndpointName": "churn", "EndpointStatus": "IN_SERVICE", "Tags": {}},
        account=je.MEMBER_ACCOUNT,
        region=JOB_REGION,
        time="2026-11-24T10:00:00Z",
    )


# ---------------------------------------------------------------- routing


def test_the_template_pattern_routes_every_job_state_change_and_nothing_else(hub_bus):
    jobs = [
        je.training_event(region=JOB_REGION),
        je.training_event("running", status="InProgress", ended=None, region=JOB_REGION),
        je.processing_event(status="Failed", region=JOB_REGION),
        je.transform_event(status="Stopped", region=JOB_REGION),
    ]

    delivered = route(hub_bus, [*jobs, endpoint_state_change()])

    assert sorted(e["detail-type"] for e in delivered) == sorted(e["detail-type"] for e in jobs)
    assert len(delivered) == len(jobs)


# ---------------------------------------------------------------- routing, then the handler


def test_a_routed_completed_spot_training_job_becomes_one_costed_row(hub_bus, handler):
    from mlgov.price_files import load_price_table

    member_spot_training_job(billable=1200, training=2700)
    (event,) = route(hub_bus, [je.training_event(JOB, region=JOB_REGION)])

    result = handler(event, FakeLambdaContext())

    assert result["status"] == "written", result
    (row,) = ledger_rows()
    assert row["arn"] == f"arn:aws:sagemaker:{JOB_REGION}:{je.MEMBER_ACCOUNT}:training-job/{JOB}"
    assert (row["billable_seconds"], row["training_seconds"], row["managed_spot"]) == (1200, 2700, True)
    prices = load_price_table()  # the table the function ships with
    hourly = prices.hourly("ml.m5.xlarge", JOB_REGION, "training").hourly_usd
    assert hourly is not None, "the packaged price table no longer covers ml.m5.xlarge training in us-east-1"
    assert row["cost_usd"] == Decimal(str(round(1200 * 2 * hourly / 3600, 6)))
    assert row["spot_savings_pct"] == Decimal("55.56")
    assert row["price_as_of"] == prices.as_of

    again = handler(event, FakeLambdaContext(aws_request_id="6f1c9c1e-0000-4000-8000-000000000102"))

    assert again["status"] == "unchanged" and ledger_rows() == [row]


def test_a_routed_job_still_running_is_acknowledged_without_a_row(hub_bus, handler):
    (event,) = route(hub_bus, [je.training_event("running", status="InProgress", ended=None, region=JOB_REGION)])

    assert handler(event, FakeLambdaContext()) == {"status": "ignored", "job_status": "InProgress"}
    assert ledger_rows() == []
