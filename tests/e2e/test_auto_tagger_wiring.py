"""The hub as the template wires it, on moto: the rule's pattern routes CloudTrail records, the handler tags them.

Nothing here is hand-wired: the EventBridge pattern, the handler path and the environment come from the
synthesized MlgovHub template; only the ids of the template's own resources are swapped for moto's.
"""

from __future__ import annotations

import importlib
import json
import os
import uuid
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account, standing in for the hub account (no role is assumed)
EVENT_TIME = "2026-11-24T10:00:00Z"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecution"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/xgboost:1"
ENDPOINT = "churn-xgb-dev"
TRAINING_JOB = "churn-xgb-train-20261124"
TUNED_JOB = "churn-hpo-1124-001-0a1b2c3d"  # a training job SageMaker launched for tuning job churn-hpo-1124
REQUEST_TAGS = {"ml:team": "fraud-detection", "ml:model": "churn-xgb", "ml:environment": "dev"}


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
    app = cdk.App(context=context, outdir=str(tmp_path_factory.mktemp("cdk.out.e2e")))
    build_app(app, nag=False)
    return app.synth().get_stack_by_name("MlgovHub").template


AUTO_TAGGER_HANDLER = "mlgov.handlers.auto_tagger.handler"  # DESIGN.md, "Lambda entry points"


def _auto_tagger_id(template: dict) -> str:
    found = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Lambda::Function" and resource["Properties"]["Handler"] == AUTO_TAGGER_HANDLER
    ]
    assert len(found) == 1, f"{len(found)} auto-tagger functions in the hub template"
    return found[0]


@pytest.fixture(scope="module")
def event_pattern(hub_template) -> dict:
    """The pattern of the one rule that targets the auto-tagger."""
    target = {"Fn::GetAtt": [_auto_tagger_id(hub_template), "Arn"]}
    rules = [
        r
        for r in hub_template["Resources"].values()
        if r["Type"] == "AWS::Events::Rule" and any(t["Arn"] == target for t in r["Properties"]["Targets"])
    ]
    assert len(rules) == 1, f"{len(rules)} rules target the auto-tagger"
    return rules[0]["Properties"]["EventPattern"]


@pytest.fixture(scope="module")
def auto_tagger_function(hub_template) -> dict:
    return hub_template["Resources"][_auto_tagger_id(hub_template)]["Properties"]


# ---------------------------------------------------------------- CloudTrail records as PutEvents entries


def _sso_user() -> dict:
    role = "AWSReservedSSO_DataScientist_0123456789abcdef"
    return {
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLEID:alice@example.com",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/alice@example.com",
        "accountId": ACCOUNT,
        "accessKeyId": "ASIAEXAMPLEKEY",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLEID",
                "arn": f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/{REGION}/{role}",
                "accountId": ACCOUNT,
                "userName": role,
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": "2026-11-24T09:58:00Z", "mfaAuthenticated": "false"},
        },
    }


def _record(
    event_name: str,
    request: dict,
    response: dict | None,
    *,
    source: str = "aws.sagemaker",
    event_source: str = "sagemaker.amazonaws.com",
    service_event: bool = False,
    error_code: str | None = None,
    read_only: bool = False,
) -> dict:
    """One EventBridge PutEvents entry carrying a CloudTrail management-event record."""
    detail = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "AWSService", "invokedBy": "sagemaker.amazonaws.com"}
        if service_event
        else _sso_user(),
        "eventTime": EVENT_TIME,
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": REGION,
        "sourceIPAddress": "sagemaker.amazonaws.com" if service_event else "198.51.100.7",
        "userAgent": "sagemaker.amazonaws.com" if service_event else "Boto3/1.44.5 md/Botocore#1.44.5 ua/2.1",
        "requestParameters": request,
        "responseElements": response,
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": read_only,
        "eventType": "AwsServiceEvent" if service_event else "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    if error_code:
        detail["errorCode"] = error_code
        detail["errorMessage"] = 'Could not find endpoint configuration "missing-config".'
    return {
        "Source": source,
        "DetailType": "AWS Service Event via CloudTrail" if service_event else "AWS API Call via CloudTrail",
        "Detail": json.dumps(detail),
        "EventBusName": "mlgov-hub",
    }


def _arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name}"


def _tags_param() -> list[dict]:
    return [{"key": key, "value": value} for key, value in REQUEST_TAGS.items()]


def create_endpoint() -> dict:
    request = {"endpointName": ENDPOINT, "endpointConfigName": f"{ENDPOINT}-config", "tags": _tags_param()}
    return _record("CreateEndpoint", request, {"endpointArn": _arn("endpoint", ENDPOINT)})


def create_training_job() -> dict:
    request = {
        "trainingJobName": TRAINING_JOB,
        "algorithmSpecification": {"trainingImage": IMAGE, "trainingInputMode": "File"},
        "roleArn": ROLE,
        "outputDataConfig": {"s3OutputPath": "s3://ml-artifacts/churn/"},
        "resourceConfig": {"instanceType": "ml.m5.xlarge", "instanceCount": 1, "volumeSizeInGB": 30},
        "stoppingCondition": {"maxRuntimeInSeconds": 3600},
        "tags": _tags_param(),
    }
    return _record("CreateTrainingJob", request, {"trainingJobArn": _arn("training-job", TRAINING_JOB)})


def tuning_child_training_job() -> dict:
    request = {
        "trainingJobName": TUNED_JOB,
        "tuningJobArn": _arn("hyper-parameter-tuning-job", "churn-hpo-1124"),
        "roleArn": ROLE,
    }
    return _record(
        "CreateTrainingJob", request, {"trainingJobArn": _arn("training-job", TUNED_JOB)}, service_event=True
    )


def failed_create_endpoint() -> dict:
    request = {"endpointName": "churn-xgb-broken", "endpointConfigName": "missing-config", "tags": _tags_param()}
    return _record("CreateEndpoint", request, None, error_code="ValidationException")


def describe_endpoint() -> dict:
    return _record("DescribeEndpoint", {"endpointName": ENDPOINT}, None, read_only=True)


def ec2_run_instances() -> dict:
    request = {"instanceType": "m5.large", "instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890"}]}}
    return _record("RunInstances", request, None, source="aws.ec2", event_source="ec2.amazonaws.com")


# ---------------------------------------------------------------- moto, wired from the template


@dataclass
class FakeLambdaContext:
    function_name: str = "mlgov-auto-tagger"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:mlgov-auto-tagger"
    aws_request_id: str = "6f1c9c1e-0000-4000-8000-000000000001"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def aws(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("MLGOV_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def hub_bus(aws, event_pattern) -> str:
    """The hub bus and the template's rule on moto, with an SQS probe as the rule's target; returns the probe URL."""
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    events.create_event_bus(Name="mlgov-hub")
    events.put_rule(Name="create-calls", EventBusName="mlgov-hub", EventPattern=json.dumps(event_pattern))
    probe = sqs.create_queue(QueueName="probe")["QueueUrl"]
    probe_arn = sqs.get_queue_attributes(QueueUrl=probe, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_targets(Rule="create-calls", EventBusName="mlgov-hub", Targets=[{"Id": "probe", "Arn": probe_arn}])
    return probe


def route(probe_url: str, entries: list[dict]) -> list[dict]:
    """put_events the entries on the hub bus; the events as the rule delivered them to its target."""
    result = boto3.client("events", region_name=REGION).put_events(Entries=entries)
    assert result["FailedEntryCount"] == 0, result
    sqs = boto3.client("sqs", region_name=REGION)
    delivered = []
    while messages := sqs.receive_message(QueueUrl=probe_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            event = json.loads(message["Body"])
            # moto's default target input leaves out the envelope's "account", which EventBridge delivers.
            event.setdefault("account", ACCOUNT)
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
def handler(aws, monkeypatch, hub_template, auto_tagger_function):
    """The template's handler with the template's environment, its table and DLQ created in moto."""
    table = "mlgov-idempotency"
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dlq = boto3.client("sqs", region_name=REGION).create_queue(QueueName="auto-tagger-dlq")["QueueUrl"]
    moto_names = {"AWS::DynamoDB::GlobalTable": table, "AWS::DynamoDB::Table": table, "AWS::SQS::Queue": dlq}
    for name, value in auto_tagger_function["Environment"]["Variables"].items():
        monkeypatch.setenv(name, _resolve(value, hub_template["Resources"], moto_names))
    monkeypatch.setenv("MLGOV_HUB_ACCOUNT", ACCOUNT)
    module_name, attribute = auto_tagger_function["Handler"].rsplit(".", 1)
    module = importlib.import_module(module_name)
    _clear_caches()
    yield getattr(module, attribute)
    _clear_caches()


def _clear_caches() -> None:
    from mlgov.handlers import auto_tagger
    from mlgov.settings import settings

    auto_tagger._runtime.cache_clear()
    settings.cache_clear()


def create_resources() -> None:
    """What the three successful calls created, in moto, with the tags the creators passed."""
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    tags = [{"Key": key, "Value": value} for key, value in REQUEST_TAGS.items()]
    sagemaker.create_model(ModelName="churn-xgb", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{ENDPOINT}-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "churn-xgb",
                "InstanceType": "ml.m5.xlarge",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=f"{ENDPOINT}-config", Tags=tags)
    for name, job_tags in ((TRAINING_JOB, tags), (TUNED_JOB, [])):
        sagemaker.create_training_job(
            TrainingJobName=name,
            AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            RoleArn=ROLE,
            OutputDataConfig={"S3OutputPath": "s3://ml-artifacts/churn/"},
            ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
            StoppingCondition={"MaxRuntimeInSeconds": 3600},
            Tags=job_tags,
        )


def tags_of(arn: str) -> dict[str, str]:
    response = boto3.client("sagemaker", region_name=REGION).list_tags(ResourceArn=arn)
    return {tag["Key"]: tag["Value"] for tag in response["Tags"]}


ALL_RECORDS = (
    create_endpoint,
    create_training_job,
    tuning_child_training_job,
    failed_create_endpoint,
    describe_endpoint,
    ec2_run_instances,
)


# ---------------------------------------------------------------- routing


def test_the_template_pattern_routes_exactly_the_successful_sagemaker_creates(hub_bus):
    entries = [make() for make in ALL_RECORDS]
    delivered = route(hub_bus, entries)
    routed_ids = sorted(event["detail"]["eventID"] for event in delivered)
    wanted = sorted(json.loads(entry["Detail"])["eventID"] for entry in entries[:3])
    assert routed_ids == wanted
    assert {(e["detail"]["eventName"], e["detail-type"]) for e in delivered} == {
        ("CreateEndpoint", "AWS API Call via CloudTrail"),
        ("CreateTrainingJob", "AWS API Call via CloudTrail"),
        ("CreateTrainingJob", "AWS Service Event via CloudTrail"),
    }


def test_each_excluded_record_is_excluded_on_its_own(hub_bus):
    for make in (failed_create_endpoint, describe_endpoint, ec2_run_instances):
        assert route(hub_bus, [make()]) == [], make.__name__


# ---------------------------------------------------------------- routing, then the handler


def test_routed_creates_are_tagged_by_the_template_handler(hub_bus, handler):
    create_resources()
    delivered = route(hub_bus, [make() for make in ALL_RECORDS])
    assert len(delivered) == 3
    for event in delivered:
        assert {"id", "time", "account", "region", "detail-type", "source", "detail"} <= set(event)
        result = handler(event, FakeLambdaContext())
        assert result["status"] == "tagged", result

    endpoint = tags_of(_arn("endpoint", ENDPOINT))
    assert endpoint["mlgov:created-by"] == "alice@example.com"
    assert endpoint["mlgov:creator-arn"] == _sso_user()["arn"]
    assert endpoint["mlgov:created-at"] == EVENT_TIME
    assert endpoint["last-invoked"] == "never"
    assert endpoint["auto-delete-after"] == "2026-12-24"  # created-at + the schema's 30 default days
    assert {key: endpoint[key] for key in REQUEST_TAGS} == REQUEST_TAGS  # the creator's tags are untouched

    job = tags_of(_arn("training-job", TRAINING_JOB))
    assert job["mlgov:created-by"] == "alice@example.com"
    assert job["mlgov:created-at"] == EVENT_TIME
    assert "last-invoked" not in job
    assert "auto-delete-after" not in job  # training jobs are not in the lifetime rule's types

    tuned = tags_of(_arn("training-job", TUNED_JOB))
    assert "sagemaker.amazonaws.com" in tuned["mlgov:created-by"]
    assert "churn-hpo-1124" in tuned["mlgov:created-by"]
    assert tuned["mlgov:creator-arn"] == _arn("hyper-parameter-tuning-job", "churn-hpo-1124")
    assert "last-invoked" not in tuned


def test_a_redelivered_event_is_handled_once_through_the_template_idempotency_table(hub_bus, handler):
    create_resources()
    (event,) = route(hub_bus, [create_endpoint()])
    first = handler(event, FakeLambdaContext())
    endpoint_arn = _arn("endpoint", ENDPOINT)
    boto3.client("sagemaker", region_name=REGION).delete_tags(ResourceArn=endpoint_arn, TagKeys=list(first["added"]))
    again = handler(event, FakeLambdaContext(aws_request_id="6f1c9c1e-0000-4000-8000-000000000002"))
    assert again == first  # the stored result: the redelivery did not tag again
    assert "mlgov:created-by" not in tags_of(endpoint_arn)
    table = os.environ["MLGOV_IDEMPOTENCY_TABLE"]  # the name the template's environment pointed at
    assert len(boto3.client("dynamodb", region_name=REGION).scan(TableName=table)["Items"]) == 1
