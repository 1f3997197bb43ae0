"""The auto-tagger as the templates wire it: a member account's CloudTrail records in, tags on its resources out.

Nothing is wired here (tests/e2e/harness.py deploys the synthesized templates on moto): each record lands on the
default bus of a member account in a region that is not the hub's, as CloudTrail puts it there; the spoke's rule
forwards it to the hub bus, the hub's rule queues it for the function whose template Handler is the auto-tagger, and
``harness.deliver()`` runs it with the template's environment (idempotency table, DLQ, tag defaults). What comes out
is read where it lands: tags on the resource in the member account, items in the hub's idempotency table and DLQ.
"""

from __future__ import annotations

import json

import boto3
import pytest

from tests.e2e.harness import deployed
from tests.samples import cloudtrail as ct

MEMBER = "333333333333"
OUTSIDE = "666666666666"  # in the organization's root: no StackSet instance, no spoke
REGION = "us-east-1"  # a member region that is not the hub's (eu-west-1)
AUTO_TAGGER = "mlgov.handlers.auto_tagger.handler"  # DESIGN.md, "Lambda entry points"
EVENT_TIME = "2026-11-24T10:00:00Z"  # the samples' eventTime
ROLE = f"arn:aws:iam::{MEMBER}:role/SageMakerExecution"
IMAGE = f"{MEMBER}.dkr.ecr.{REGION}.amazonaws.com/xgboost:1"
ENDPOINT = "churn-xgb-dev"
TRAINING_JOB = "churn-xgb-train-20261124"
TUNING_JOB = "churn-hpo-1124"
TUNED_JOB = "churn-hpo-1124-001-0a1b2c3d"  # a training job SageMaker launched for tuning job churn-hpo-1124
REQUEST_TAGS = {"ml:team": "fraud-detection", "ml:model": "churn-xgb", "ml:environment": "dev"}
SERVICE_IDENTITY = {"type": "AWSService", "invokedBy": "sagemaker.amazonaws.com"}


@pytest.fixture
def harness(templates):
    with deployed(templates, members={MEMBER: "ml-research"}, outside={OUTSIDE: "unmanaged"}) as harness:
        assert REGION in harness.templates.member_regions and harness.templates.hub_region != REGION
        yield harness


# ---------------------------------------------------------------- resources in the member account, their records


def sagemaker(harness, account: str = MEMBER):
    return harness.session(account, REGION).client("sagemaker")


def tags_of(harness, arn: str) -> dict[str, str]:
    response = sagemaker(harness, arn.split(":")[4]).list_tags(ResourceArn=arn)
    return {tag["Key"]: tag["Value"] for tag in response["Tags"]}


def _tag_list(tags: dict[str, str]) -> list[dict]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def record(event_name: str, request: dict, response: dict | None, account: str = MEMBER, **options) -> dict:
    """The CloudTrail record of a call in `account` and REGION, as EventBridge carries it."""
    return ct.create_event(event_name, request, response, account=account, region=REGION, **options)


def create_model(harness, name: str, account: str = MEMBER, **options) -> dict:
    role = f"arn:aws:iam::{account}:role/SageMakerExecution"
    arn = sagemaker(harness, account).create_model(
        ModelName=name, ExecutionRoleArn=role, PrimaryContainer={"Image": IMAGE}
    )["ModelArn"]
    request = {"modelName": name, "executionRoleArn": role, "primaryContainer": {"image": IMAGE}}
    return record("CreateModel", request, {"modelArn": arn}, account, **options)


def create_endpoint(harness, name: str = ENDPOINT, tags: dict[str, str] = REQUEST_TAGS) -> dict:
    client = sagemaker(harness)
    client.create_model(ModelName=f"{name}-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    client.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{name}-model",
                "InstanceType": "ml.m5.xlarge",
                "InitialInstanceCount": 1,
            }
        ],
    )
    arn = client.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config", Tags=_tag_list(tags))[
        "EndpointArn"
    ]
    request = {"endpointName": name, "endpointConfigName": f"{name}-config", "tags": ct.request_tags(tags)}
    return record("CreateEndpoint", request, {"endpointArn": arn})


def _training_job(harness, name: str, tags: dict[str, str]) -> str:
    return sagemaker(harness).create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        OutputDataConfig={"S3OutputPath": "s3://ml-artifacts/churn/"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
        Tags=_tag_list(tags),
    )["TrainingJobArn"]


def create_training_job(harness) -> dict:
    arn = _training_job(harness, TRAINING_JOB, REQUEST_TAGS)
    request = {
        "trainingJobName": TRAINING_JOB,
        "algorithmSpecification": {"trainingImage": IMAGE, "trainingInputMode": "File"},
        "roleArn": ROLE,
        "outputDataConfig": {"s3OutputPath": "s3://ml-artifacts/churn/"},
        "resourceConfig": {"instanceType": "ml.m5.xlarge", "instanceCount": 1, "volumeSizeInGB": 30},
        "stoppingCondition": {"maxRuntimeInSeconds": 3600},
        "tags": ct.request_tags(REQUEST_TAGS),
    }
    return record("CreateTrainingJob", request, {"trainingJobArn": arn})


def tuning_child_training_job(harness) -> dict:
    """The tuning job a person created, and the record of one training job SageMaker created for it."""
    tuning_arn = sagemaker(harness).create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=TUNING_JOB,
        HyperParameterTuningJobConfig={
            "Strategy": "Bayesian",
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 4, "MaxParallelTrainingJobs": 2},
        },
        TrainingJobDefinition={
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            "RoleArn": ROLE,
            "OutputDataConfig": {"S3OutputPath": "s3://ml-artifacts/hpo/"},
            "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
        Tags=_tag_list(REQUEST_TAGS),
    )["HyperParameterTuningJobArn"]
    arn = _training_job(harness, TUNED_JOB, {})
    request = {"trainingJobName": TUNED_JOB, "tuningJobArn": tuning_arn, "roleArn": ROLE}
    return record(
        "CreateTrainingJob",
        request,
        {"trainingJobArn": arn},
        user_identity={**SERVICE_IDENTITY, "accountId": MEMBER},
        service_event=True,
    )


def failed_create_endpoint() -> dict:
    request = {"endpointName": "churn-xgb-broken", "endpointConfigName": "missing-config"}
    return record("CreateEndpoint", request, None, error_code="ValidationException")


def describe_endpoint() -> dict:
    event = record("DescribeEndpoint", {"endpointName": ENDPOINT}, None)
    event["detail"]["readOnly"] = True
    return event


def ec2_run_instances() -> dict:
    request = {"instanceType": "m5.large", "instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890"}]}}
    event = record("RunInstances", request, None)
    event["source"] = "aws.ec2"
    event["detail"]["eventSource"] = "ec2.amazonaws.com"
    return event


EXCLUDED = (failed_create_endpoint, describe_endpoint, ec2_run_instances)


def emit_all(harness, events: list[dict]) -> list:
    for event in events:
        harness.emit(event)
    return harness.deliver()


def dlq_messages(harness) -> list[dict]:
    return (
        boto3.client("sqs")  # the process's default clients act in the hub account, hub region
        .receive_message(
            QueueUrl=harness.hub_resource("AutoTaggerDlq"), MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        .get("Messages", [])
    )


# ---------------------------------------------------------------- routing


def test_the_template_pattern_routes_exactly_the_successful_sagemaker_creates(harness):
    routed = [create_endpoint(harness), create_training_job(harness), tuning_child_training_job(harness)]
    records = [*routed, *(make() for make in EXCLUDED)]

    calls = emit_all(harness, records)

    assert {call.logical_id for call in calls} == {harness.lambdas.by_handler(AUTO_TAGGER)}
    assert sorted(call.event["detail"]["eventID"] for call in calls) == sorted(r["detail"]["eventID"] for r in routed)
    assert {(call.event["detail"]["eventName"], call.event["detail-type"]) for call in calls} == {
        ("CreateEndpoint", "AWS API Call via CloudTrail"),
        ("CreateTrainingJob", "AWS API Call via CloudTrail"),
        ("CreateTrainingJob", "AWS Service Event via CloudTrail"),
    }
    for call in calls:  # the envelope as the member account's bus stamped it, kept through the spoke's forwarding
        assert {"id", "time", "account", "region", "detail-type", "source", "detail"} <= set(call.event)
        assert (call.event["account"], call.event["region"]) == (MEMBER, REGION)
        assert call.error is None and call.result["status"] == "tagged", call


def test_each_excluded_record_is_excluded_on_its_own(harness):
    for make in EXCLUDED:
        harness.emit(make())
        assert harness.deliver() == [], make.__name__


def test_an_account_outside_the_governed_ous_has_no_spoke_to_forward_its_creates(harness):
    event = create_model(harness, "unmanaged-model", account=OUTSIDE)

    assert emit_all(harness, [event]) == []
    assert "mlgov:created-by" not in tags_of(harness, event["detail"]["responseElements"]["modelArn"])


# ---------------------------------------------------------------- routing, then the handler


def test_routed_creates_are_tagged_by_the_template_handler(harness):
    events = [create_endpoint(harness), create_training_job(harness), tuning_child_training_job(harness)]
    endpoint_arn, job_arn, tuned_arn = (next(iter(e["detail"]["responseElements"].values())) for e in events)

    calls = emit_all(harness, events)

    assert [call.result["status"] for call in calls] == ["tagged"] * 3, calls
    endpoint = tags_of(harness, endpoint_arn)
    assert endpoint["mlgov:created-by"] == "alice@example.com"
    assert endpoint["mlgov:creator-arn"] == ct.sso_user(MEMBER)["arn"]
    assert endpoint["mlgov:created-at"] == EVENT_TIME
    assert endpoint["last-invoked"] == "never"
    assert endpoint["auto-delete-after"] == "2026-12-24"  # created-at + the schema's 30 default days
    assert {key: endpoint[key] for key in REQUEST_TAGS} == REQUEST_TAGS  # the creator's tags are untouched

    job = tags_of(harness, job_arn)
    assert job["mlgov:created-by"] == "alice@example.com"
    assert job["mlgov:created-at"] == EVENT_TIME
    assert "last-invoked" not in job
    assert "auto-delete-after" not in job  # training jobs are not in the lifetime rule's types

    tuned = tags_of(harness, tuned_arn)
    assert "sagemaker.amazonaws.com" in tuned["mlgov:created-by"]
    assert TUNING_JOB in tuned["mlgov:created-by"]
    assert tuned["mlgov:creator-arn"] == f"arn:aws:sagemaker:{REGION}:{MEMBER}:hyper-parameter-tuning-job/{TUNING_JOB}"
    assert "last-invoked" not in tuned


def test_each_creator_identity_is_recorded_readably(harness):
    cases = [
        (ct.iam_user(MEMBER, "bob"), "iam-user/bob"),
        (ct.federated_user(MEMBER, "carol"), "iam-user/broker/federated/carol"),  # name chosen by the broker
        (ct.assumed_role(MEMBER, "MLPipelineRole", "nightly-retrain"), "role/MLPipelineRole/nightly-retrain"),
    ]
    events = [create_model(harness, f"model-{i}", user_identity=identity) for i, (identity, _) in enumerate(cases)]

    calls = emit_all(harness, events)

    assert [call.result["status"] for call in calls] == ["tagged"] * len(cases), calls
    for event, (identity, expected) in zip(events, cases, strict=True):
        tags = tags_of(harness, event["detail"]["responseElements"]["modelArn"])
        assert tags["mlgov:created-by"] == expected, identity["type"]
        assert tags["mlgov:creator-arn"] == identity["arn"]


def test_tags_a_person_set_are_never_overwritten_only_missing_keys_are_added(harness):
    person_tags = {"ml:team": "fraud", "auto-delete-after": "2026-12-01"}
    event = create_endpoint(harness, "kept-tags", tags=person_tags)

    (call,) = emit_all(harness, [event])

    tags = tags_of(harness, event["detail"]["responseElements"]["endpointArn"])
    assert {key: tags[key] for key in person_tags} == person_tags
    assert tags["mlgov:created-by"] == "alice@example.com" and tags["last-invoked"] == "never"
    assert "auto-delete-after" not in call.result["added"] and "ml:team" in call.result["kept"]


def test_a_redelivered_event_is_handled_once_through_the_template_idempotency_table(harness):
    event = create_endpoint(harness)
    endpoint_arn = event["detail"]["responseElements"]["endpointArn"]
    (first,) = emit_all(harness, [event])
    sagemaker(harness).delete_tags(ResourceArn=endpoint_arn, TagKeys=list(first.result["added"]))

    (again,) = emit_all(harness, [event])  # the same CloudTrail record (eventID) delivered a second time

    assert again.logical_id == first.logical_id
    assert again.error is None and again.result == first.result  # the stored result: the redelivery did not tag
    assert "mlgov:created-by" not in tags_of(harness, endpoint_arn)
    items = boto3.client("dynamodb").scan(TableName=harness.hub_resource("IdempotencyTable"))["Items"]
    assert len(items) == 1


# ---------------------------------------------------------------- bad events: parked with the reason


def test_a_routed_create_without_its_resource_identity_is_parked_and_the_next_one_still_tagged(harness):
    cluster_arn = sagemaker(harness).create_cluster(
        ClusterName="llm-train",
        InstanceGroups=[
            {
                "InstanceGroupName": "workers",
                "InstanceType": "ml.p5.48xlarge",
                "InstanceCount": 1,
                "LifeCycleConfig": {
                    "SourceS3Uri": f"s3://sagemaker-hyperpod-lifecycle-{MEMBER}/scripts/",
                    "OnCreate": "on_create.sh",
                },
                "ExecutionRole": ROLE,
                "ThreadsPerCore": 1,
            }
        ],
    )["ClusterArn"]
    # A truncated record: no responseElements, and a cluster's ARN holds an id that only the response carries.
    truncated = record("CreateCluster", {"clusterName": "llm-train"}, None)
    good = create_model(harness, "after-bad-event")

    bad_call, good_call = emit_all(harness, [truncated, good])

    assert bad_call.result["status"] == "rejected" and "clusterArn" in bad_call.result["reason"]
    (parked,) = dlq_messages(harness)
    assert parked["MessageAttributes"]["reason"]["StringValue"] == bad_call.result["reason"]
    assert json.loads(parked["Body"])["detail"]["eventID"] == truncated["detail"]["eventID"]
    assert "mlgov:created-by" not in tags_of(harness, cluster_arn)
    assert good_call.result["status"] == "tagged"
    assert "mlgov:created-by" in tags_of(harness, good["detail"]["responseElements"]["modelArn"])
