"""The job ledger as the templates wire it: a member account's job state changes in, costed rows in the hub out.

Nothing is wired here (tests/e2e/harness.py deploys the synthesized templates on moto): SageMaker's state-change
events land on the default bus of a member account in a region that is not the hub's; the spoke's rule forwards them
to the hub bus, the hub's rule queues them for the function whose template Handler is the job ledger, and
``harness.deliver()`` runs it with the template's environment. It describes training jobs through the spoke role the
StackSet put in the member account, and what comes out is read where it lands: the hub's ledger table and DLQ.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import boto3
import pytest

from mlgov.aws.ledger_table import LedgerTable
from tests.e2e.harness import deployed
from tests.samples import job_events as je

MEMBER = je.MEMBER_ACCOUNT
JOB_REGION = "us-east-1"  # not the hub's region; covered by the packaged price table
JOB_LEDGER = "mlgov.handlers.job_ledger.handler"  # DESIGN.md, "Lambda entry points"
JOB = "churn-xgb-train-20261124"
PROCESSING_JOB = "churn-features-20261124"  # the samples' default names
TRANSFORM_JOB = "churn-batch-20261124"
ROLE = je.ROLE
IMAGE = je.IMAGE


@pytest.fixture
def harness(templates):
    with deployed(templates, members={MEMBER: "ml-research"}) as harness:
        assert JOB_REGION in harness.templates.member_regions and harness.templates.hub_region != JOB_REGION
        yield harness


# ---------------------------------------------------------------- jobs in the member account


def sagemaker(harness):
    return harness.session(MEMBER, JOB_REGION).client("sagemaker")


def member_training_job(harness, name: str = JOB, *, billable: int, training: int, spot: bool = True) -> None:
    """The member account's training job, with the billing fields the service reports once it ends (moto has none)."""
    from moto.sagemaker.models import sagemaker_backends  # the harness's moto server runs in this process

    sagemaker(harness).create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        OutputDataConfig={"S3OutputPath": "s3://ml-artifacts/churn/"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30},
        StoppingCondition={"MaxRuntimeInSeconds": 7200, "MaxWaitTimeInSeconds": 10800},
        EnableManagedSpotTraining=spot,
    )
    stored = sagemaker_backends[MEMBER][JOB_REGION].training_jobs[name]
    stored.billable_time_in_seconds = billable  # rendered by moto as BillableTimeInSeconds
    stored.training_time_in_seconds = training


def member_processing_job(harness, name: str = PROCESSING_JOB) -> None:
    sagemaker(harness).create_processing_job(
        ProcessingJobName=name,
        ProcessingResources={
            "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 10}
        },
        AppSpecification={"ImageUri": IMAGE},
        RoleArn=ROLE,
    )


def member_transform_job(harness, name: str = TRANSFORM_JOB) -> None:
    client = sagemaker(harness)
    client.create_model(ModelName="churn-xgb", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    client.create_transform_job(
        TransformJobName=name,
        ModelName="churn-xgb",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://ml-data/score/"}}},
        TransformOutput={"S3OutputPath": "s3://ml-data/scored/"},
        TransformResources={"InstanceType": "ml.c5.xlarge", "InstanceCount": 3},
    )


def endpoint_state_change() -> dict:
    return je.envelope(
        "SageMaker Endpoint State Change",
        f"arn:aws:sagemaker:{JOB_REGION}:{MEMBER}:endpoint/churn",
        {"EndpointName": "churn", "EndpointStatus": "IN_SERVICE", "Tags": {}},
        account=MEMBER,
        region=JOB_REGION,
        time="2026-11-24T10:00:00Z",
    )


def emit_all(harness, events: list[dict]) -> list:
    for event in events:
        harness.emit(event)
    return harness.deliver()


# ---------------------------------------------------------------- what lands in the hub


def ledger_rows(harness) -> list[dict]:
    table = LedgerTable(boto3.client("dynamodb"), harness.hub_resource("JobLedgerTable"))  # hub account and region
    return table.read_rows(datetime(2000, 1, 1, tzinfo=UTC))


def dlq_messages(harness) -> list[dict]:
    return (
        boto3.client("sqs")
        .receive_message(
            QueueUrl=harness.hub_resource("JobLedgerDlq"), MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        )
        .get("Messages", [])
    )


# ---------------------------------------------------------------- routing


def test_the_template_pattern_routes_every_job_state_change_and_nothing_else(harness):
    harness.emit(endpoint_state_change())
    assert harness.deliver() == []  # an endpoint state change reaches no function

    member_training_job(harness, billable=1200, training=2700)
    member_processing_job(harness)
    member_transform_job(harness)
    jobs = [
        je.training_event(JOB, status="InProgress", ended=None, region=JOB_REGION),
        je.training_event(JOB, region=JOB_REGION),
        je.processing_event(PROCESSING_JOB, status="Failed", region=JOB_REGION),
        je.transform_event(TRANSFORM_JOB, status="Stopped", region=JOB_REGION),
    ]

    calls = emit_all(harness, jobs)

    assert {call.logical_id for call in calls} == {harness.lambdas.by_handler(JOB_LEDGER)}
    assert sorted(call.event["detail-type"] for call in calls) == sorted(e["detail-type"] for e in jobs)
    for call in calls:  # the envelope as the member account's bus stamped it, kept through the spoke's forwarding
        assert (call.event["account"], call.event["region"]) == (MEMBER, JOB_REGION)
        assert call.error is None, call
    assert [call.result["status"] for call in calls] == ["ignored", "written", "written", "written"]
    assert sorted(row["arn"].split(":")[5].split("/")[0] for row in ledger_rows(harness)) == [
        "processing-job",
        "training-job",
        "transform-job",
    ]


# ---------------------------------------------------------------- routing, then the handler


def test_a_routed_completed_spot_training_job_becomes_one_costed_row(harness):
    from mlgov.price_files import load_price_table

    member_training_job(harness, billable=1200, training=2700)
    event = je.training_event(JOB, region=JOB_REGION)

    (call,) = emit_all(harness, [event])

    assert call.error is None and call.result["status"] == "written", call
    (row,) = ledger_rows(harness)
    assert row["arn"] == f"arn:aws:sagemaker:{JOB_REGION}:{MEMBER}:training-job/{JOB}"
    assert (row["billable_seconds"], row["training_seconds"], row["managed_spot"]) == (1200, 2700, True)
    prices = load_price_table()  # the table the function ships with
    hourly = prices.hourly("ml.m5.xlarge", JOB_REGION, "training").hourly_usd
    assert hourly is not None, "the packaged price table no longer covers ml.m5.xlarge training in us-east-1"
    assert row["cost_usd"] == Decimal(str(round(1200 * 2 * hourly / 3600, 6)))
    assert row["spot_savings_pct"] == Decimal("55.56")
    assert row["price_as_of"] == prices.as_of

    (again,) = emit_all(harness, [event])  # the same state change delivered a second time

    assert again.error is None and again.result["status"] == "unchanged", again
    assert ledger_rows(harness) == [row]


def test_a_routed_job_still_running_is_acknowledged_without_a_row(harness):
    member_training_job(harness, billable=0, training=0)

    (call,) = emit_all(harness, [je.training_event(JOB, status="InProgress", ended=None, region=JOB_REGION)])

    assert call.result == {"status": "ignored", "job_status": "InProgress"}
    assert ledger_rows(harness) == []
    assert dlq_messages(harness) == []


# ---------------------------------------------------------------- bad events: parked with the reason


def test_a_routed_bad_event_is_parked_with_its_reason_and_the_next_one_still_recorded(harness):
    member_processing_job(harness)
    # The member account's bus stamps its own account on the envelope; the job's ARN names another one.
    bad = je.training_event(JOB, account="444444444444", region=JOB_REGION)

    harness.emit(bad, account=MEMBER, region=JOB_REGION)
    harness.emit(je.processing_event(PROCESSING_JOB, region=JOB_REGION))
    bad_call, good_call = harness.deliver()

    assert bad_call.result["status"] == "rejected" and "does not match the job ARN" in bad_call.result["reason"]
    (parked,) = dlq_messages(harness)
    assert parked["MessageAttributes"]["reason"]["StringValue"] == bad_call.result["reason"]
    assert json.loads(parked["Body"])["detail"]["TrainingJobArn"] == bad["detail"]["TrainingJobArn"]
    assert good_call.result["status"] == "written"
    (row,) = ledger_rows(harness)
    assert row["arn"] == f"arn:aws:sagemaker:{JOB_REGION}:{MEMBER}:processing-job/{PROCESSING_JOB}"
