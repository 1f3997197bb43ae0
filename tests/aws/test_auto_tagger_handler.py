"""The auto-tagger Lambda handler on moto: real-shaped CloudTrail events in, tags on the real (moto) resources out."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta

import boto3
import pytest
from moto import mock_aws

from mlgov.domain.tagging import TagDefaults
from tests.samples import cloudtrail as ct

REGION = "eu-west-1"
ROLE = f"arn:aws:iam::{ct.MEMBER_ACCOUNT}:role/SageMakerExecution"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/xgboost:1"
EVENT_DAY = date(2026, 11, 24)
TEAM_TAGS = [{"Key": "ml:team", "Value": "fraud"}, {"Key": "ml:environment", "Value": "dev"}]


@dataclass
class FakeLambdaContext:
    function_name: str = "mlgov-auto-tagger"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:mlgov-auto-tagger"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def aws(monkeypatch, real_schema):
    """moto with the hub's table and DLQ, the handler's environment, and a member account to create things in."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        queue_url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="dlq")["QueueUrl"]
        monkeypatch.setenv("MLGOV_HUB_ACCOUNT", ct.HUB_ACCOUNT)
        monkeypatch.setenv("MLGOV_IDEMPOTENCY_TABLE", "idempotency")
        monkeypatch.setenv("MLGOV_DLQ_URL", queue_url)
        monkeypatch.setenv("MLGOV_TAG_DEFAULTS", TagDefaults.from_schema(real_schema).to_json())
        _reset_handler_caches()
        yield {"dlq": queue_url, "member": _member_sagemaker()}
        _reset_handler_caches()


def _reset_handler_caches() -> None:
    from mlgov.handlers import auto_tagger
    from mlgov.settings import settings

    auto_tagger._runtime.cache_clear()
    settings.cache_clear()


def _member_sagemaker():
    credentials = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{ct.MEMBER_ACCOUNT}:role/setup", RoleSessionName="test-setup"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    ).client("sagemaker", region_name=REGION)


def _handle(event: dict) -> dict:
    from mlgov.handlers.auto_tagger import handler

    return handler(event, FakeLambdaContext())


def _tags(client, arn: str) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in client.list_tags(ResourceArn=arn)["Tags"]}


def _model(sm, name="churn-model", tags=None):
    request = {"modelName": name, "executionRoleArn": ROLE, "primaryContainer": {"image": IMAGE}}
    arn = sm.create_model(
        ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE}, Tags=tags or TEAM_TAGS
    )["ModelArn"]
    return "CreateModel", request, {"modelArn": arn}


def _endpoint_config(sm, name="churn-config"):
    _model(sm, f"{name}-model")
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": f"{name}-model",
        "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.xlarge",
    }
    arn = sm.create_endpoint_config(Tags=TEAM_TAGS, EndpointConfigName=name, ProductionVariants=[variant])[
        "EndpointConfigArn"
    ]
    return "CreateEndpointConfig", {"endpointConfigName": name}, {"endpointConfigArn": arn}


def _endpoint(sm, name="churn-prod", tags=None):
    _endpoint_config(sm, f"{name}-config")
    tags = tags or TEAM_TAGS
    arn = sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config", Tags=tags)["EndpointArn"]
    request = {"endpointName": name, "endpointConfigName": f"{name}-config", "tags": ct.request_tags(_as_dict(tags))}
    return "CreateEndpoint", request, {"endpointArn": arn}


def _training_job(sm, name="xgb-churn-001"):
    arn = sm.create_training_job(
        Tags=TEAM_TAGS,
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        OutputDataConfig={"S3OutputPath": "s3://ml-artifacts/churn/"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )["TrainingJobArn"]
    return "CreateTrainingJob", {"trainingJobName": name, "roleArn": ROLE}, {"trainingJobArn": arn}


def _processing_job(sm, name="churn-features"):
    arn = sm.create_processing_job(
        Tags=TEAM_TAGS,
        ProcessingJobName=name,
        ProcessingResources={
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 10}
        },
        AppSpecification={"ImageUri": IMAGE},
        RoleArn=ROLE,
    )["ProcessingJobArn"]
    return "CreateProcessingJob", {"processingJobName": name}, {"processingJobArn": arn}


def _transform_job(sm, name="churn-batch"):
    _model(sm, "batch-model")
    arn = sm.create_transform_job(
        Tags=TEAM_TAGS,
        TransformJobName=name,
        ModelName="batch-model",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://in/"}}},
        TransformOutput={"S3OutputPath": "s3://out/"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )["TransformJobArn"]
    return "CreateTransformJob", {"transformJobName": name, "modelName": "batch-model"}, {"transformJobArn": arn}


def _tuning_job(sm, name="churn-hpo"):
    definition = {
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": "s3://ml-artifacts/hpo/"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    }
    arn = sm.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig={
            "Strategy": "Bayesian",
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
        },
        TrainingJobDefinition=definition,
        Tags=TEAM_TAGS,
    )["HyperParameterTuningJobArn"]
    request = {"hyperParameterTuningJobName": name, "tags": ct.request_tags(_as_dict(TEAM_TAGS))}
    return "CreateHyperParameterTuningJob", request, {"hyperParameterTuningJobArn": arn}


def _compilation_job(sm, name="churn-neo"):
    arn = sm.create_compilation_job(
        CompilationJobName=name,
        RoleArn=ROLE,
        InputConfig={"S3Uri": "s3://ml-artifacts/model.tar.gz", "Framework": "XGBOOST"},
        OutputConfig={"S3OutputLocation": "s3://ml-artifacts/neo/", "TargetDevice": "ml_c5"},
        StoppingCondition={"MaxRuntimeInSeconds": 900},
        Tags=TEAM_TAGS,
    )["CompilationJobArn"]
    request = {"compilationJobName": name, "tags": ct.request_tags(_as_dict(TEAM_TAGS))}
    return "CreateCompilationJob", request, {"compilationJobArn": arn}


def _as_dict(tags: list[dict]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags}


def _pipeline(sm, name="churn-train"):
    definition = json.dumps({"Version": "2020-12-01", "Steps": []})
    arn = sm.create_pipeline(Tags=TEAM_TAGS, PipelineName=name, PipelineDefinition=definition, RoleArn=ROLE)[
        "PipelineArn"
    ]
    return "CreatePipeline", {"pipelineName": name}, {"pipelineArn": arn}


def _model_package_group(sm, name="churn-models"):
    arn = sm.create_model_package_group(Tags=TEAM_TAGS, ModelPackageGroupName=name)["ModelPackageGroupArn"]
    return "CreateModelPackageGroup", {"modelPackageGroupName": name}, {"modelPackageGroupArn": arn}


def _experiment(sm, name="churn-q4"):
    arn = sm.create_experiment(Tags=TEAM_TAGS, ExperimentName=name)["ExperimentArn"]
    return "CreateExperiment", {"experimentName": name}, {"experimentArn": arn}


CREATES = {
    "endpoint": _endpoint,
    "endpoint-config": _endpoint_config,
    "model": _model,
    "training-job": _training_job,
    "processing-job": _processing_job,
    "transform-job": _transform_job,
    "hyper-parameter-tuning-job": _tuning_job,
    "compilation-job": _compilation_job,
    "pipeline": _pipeline,
    "model-package-group": _model_package_group,
    "experiment": _experiment,
}
# moto cannot tag notebook instances, feature groups or clusters; their rows are covered by the unit tests.
LIFETIME_TYPES = {"endpoint", "endpoint-config"}


@pytest.mark.parametrize("resource_type", sorted(CREATES))
def test_create_event_tags_the_new_resource_in_the_member_account(aws, resource_type):
    sm = aws["member"]
    event_name, request, response = CREATES[resource_type](sm)
    event = ct.create_event(event_name, request, response, account=ct.MEMBER_ACCOUNT)

    result = _handle(event)

    tags = _tags(sm, next(iter(response.values())))
    assert result["status"] == "tagged"
    assert tags["mlgov:created-by"] == "alice@example.com"
    assert tags["mlgov:created-at"] == "2026-11-24T10:00:00Z"
    assert tags["mlgov:creator-arn"].startswith(f"arn:aws:sts::{ct.MEMBER_ACCOUNT}:assumed-role/AWSReservedSSO_")
    assert (tags.get("last-invoked") == "never") == (resource_type == "endpoint")
    expected_lifetime = (EVENT_DAY + timedelta(days=30)).isoformat() if resource_type in LIFETIME_TYPES else None
    assert tags.get("auto-delete-after") == expected_lifetime


def test_tags_a_person_set_survive_and_only_missing_keys_are_added(aws):
    sm = aws["member"]
    person_tags = [{"Key": "ml:team", "Value": "fraud"}, {"Key": "auto-delete-after", "Value": "2026-12-01"}]
    event_name, request, response = _endpoint(sm, "kept-tags", tags=person_tags)

    result = _handle(ct.create_event(event_name, request, response, account=ct.MEMBER_ACCOUNT))

    tags = _tags(sm, response["endpointArn"])
    assert tags["ml:team"] == "fraud" and tags["auto-delete-after"] == "2026-12-01"
    assert "auto-delete-after" not in result["added"] and "ml:team" in result["kept"]


def test_each_identity_type_is_recorded_readably(aws):
    sm = aws["member"]
    cases = [
        (ct.iam_user(ct.MEMBER_ACCOUNT, "bob"), "iam-user/bob"),
        (ct.federated_user(ct.MEMBER_ACCOUNT, "carol"), "iam-user/broker/federated/carol"),  # name chosen by broker
        (
            ct.assumed_role(ct.MEMBER_ACCOUNT, "MLPipelineRole", "nightly-retrain"),
            "role/MLPipelineRole/nightly-retrain",
        ),
    ]
    for index, (identity, expected) in enumerate(cases):
        event_name, request, response = _model(sm, f"model-{index}")
        _handle(ct.create_event(event_name, request, response, account=ct.MEMBER_ACCOUNT, user_identity=identity))
        assert _tags(sm, response["modelArn"])["mlgov:created-by"] == expected


def test_hub_account_resources_are_tagged_without_assuming_a_role(aws, monkeypatch):
    hub = boto3.client("sagemaker", region_name=REGION)
    event_name, request, response = _training_job(hub, "hub-job")
    assumed: list[str] = []
    import mlgov.aws.sessions as sessions

    original = sessions.AccountSessions._assume
    monkeypatch.setattr(
        sessions.AccountSessions,
        "_assume",
        lambda self, account, *args: assumed.append(account) or original(self, account, *args),
    )

    _handle(ct.create_event(event_name, request, response, account=ct.HUB_ACCOUNT))

    assert _tags(hub, response["trainingJobArn"])["mlgov:created-by"] == "alice@example.com"
    assert assumed == []


def test_failed_call_changes_nothing_and_is_parked_with_its_reason(aws):
    sm = aws["member"]
    event_name, request, response = _endpoint(sm, "failed-call")
    before = _tags(sm, response["endpointArn"])
    event = ct.create_event(event_name, request, response, account=ct.MEMBER_ACCOUNT, error_code="ValidationException")

    result = _handle(event)

    assert result["status"] == "rejected" and "ValidationException" in result["reason"]
    assert _tags(sm, response["endpointArn"]) == before
    parked = _dlq_messages(aws["dlq"])
    assert len(parked) == 1
    assert "ValidationException" in parked[0]["MessageAttributes"]["reason"]["StringValue"]
    assert json.loads(parked[0]["Body"])["detail"]["eventID"] == event["detail"]["eventID"]


def test_a_bad_event_does_not_stop_the_next_one(aws):
    sm = aws["member"]
    describe = ct.create_event("DescribeEndpoint", {"endpointName": "x"}, {}, account=ct.MEMBER_ACCOUNT)
    event_name, request, response = _model(sm, "after-bad-event")

    first = _handle(describe)
    second = _handle(ct.create_event(event_name, request, response, account=ct.MEMBER_ACCOUNT))

    assert first["status"] == "rejected" and "DescribeEndpoint" in first["reason"]
    assert second["status"] == "tagged"
    assert "mlgov:created-by" in _tags(sm, response["modelArn"])


def test_duplicate_delivery_makes_no_second_write(aws):
    sm = aws["member"]
    event_name, request, response = _endpoint(sm, "delivered-twice")
    event = ct.create_event(event_name, request, response, account=ct.MEMBER_ACCOUNT)
    first = _handle(event)
    sm.delete_tags(ResourceArn=response["endpointArn"], TagKeys=["mlgov:created-by"])

    second = _handle(event)

    assert second == first
    assert "mlgov:created-by" not in _tags(sm, response["endpointArn"])


def test_service_event_from_a_tuning_job_is_tagged(aws):
    sm = aws["member"]
    event_name, request, response = _training_job(sm, "churn-hpo-001-0a1b2c3d")
    identity = {"accountId": ct.MEMBER_ACCOUNT, "invokedBy": "sagemaker.amazonaws.com", "type": "AWSService"}

    result = _handle(
        ct.create_event(
            event_name, request, response, account=ct.MEMBER_ACCOUNT, user_identity=identity, service_event=True
        )
    )

    assert result["status"] == "tagged"
    assert _tags(sm, response["trainingJobArn"])["mlgov:created-by"].startswith("sagemaker.amazonaws.com")


def _dlq_messages(queue_url: str) -> list[dict]:
    sqs = boto3.client("sqs", region_name=REGION)
    return sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
        "Messages", []
    )


def test_a_rejected_event_logs_none_of_the_previous_events_keys(aws):
    import io
    import logging

    from mlgov.handlers.auto_tagger import logger

    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.setFormatter(logger.registered_formatter)
    logger.addHandler(capture)
    sm = aws["member"]
    event_name, request, response = _model(sm, "before-a-bad-event")
    good = ct.create_event(event_name, request, response, account=ct.MEMBER_ACCOUNT)
    try:
        assert _handle(good)["status"] == "tagged"
        assert (
            _handle(ct.create_event("DescribeEndpoint", {"endpointName": "x"}, {}, account=ct.MEMBER_ACCOUNT))["status"]
            == "rejected"
        )
    finally:
        logger.removeHandler(capture)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    [rejected] = [line for line in lines if line["message"].startswith("event rejected")]
    [tagged] = [line for line in lines if line["message"] == "tagged"]
    assert tagged["event_id"] == good["detail"]["eventID"]
    assert "event_id" not in rejected and "resource_arn" not in rejected


def test_a_model_registered_into_another_accounts_registry_is_skipped_not_parked(aws):
    sm = aws["member"]
    event_name, request, response = _model(sm, "registered-elsewhere")
    registry = "999988887777"  # a central model registry account: its own trail records the create
    foreign = {"modelArn": response["modelArn"].replace(f":{ct.MEMBER_ACCOUNT}:", f":{registry}:")}

    result = _handle(ct.create_event(event_name, request, foreign, account=ct.MEMBER_ACCOUNT))

    assert result["status"] == "skipped" and f"is in account {registry}" in result["reason"]
    assert _dlq_messages(aws["dlq"]) == []
    assert "mlgov:created-by" not in _tags(sm, response["modelArn"])  # nothing was tagged, anywhere


def test_the_deployed_trusted_federation_roles_decide_whether_an_email_session_names_the_person(aws, monkeypatch):
    sm = aws["member"]
    saml = f"arn:aws:iam::{ct.MEMBER_ACCOUNT}:role/ADFS-DataScience"
    monkeypatch.setenv("MLGOV_TRUSTED_FEDERATION_ROLES", json.dumps([saml]))
    _reset_handler_caches()
    cases = [
        (ct.assumed_role(ct.MEMBER_ACCOUNT, "ADFS-DataScience", "carol@example.com"), "carol@example.com"),
        (ct.assumed_role(ct.MEMBER_ACCOUNT, "my-own-role", "ceo@example.com"), "role/my-own-role/ceo@example.com"),
    ]
    for index, (identity, expected) in enumerate(cases):
        event_name, request, response = _model(sm, f"federated-{index}")
        _handle(ct.create_event(event_name, request, response, account=ct.MEMBER_ACCOUNT, user_identity=identity))
        assert _tags(sm, response["modelArn"])["mlgov:created-by"] == expected
