"""An endpoint schedule as the templates wire it (tests/e2e/harness.py): set through the hub's scheduler function (as
`mlgov schedules set` does), then the `mlgov-hyperpod` EventBridge schedule fires the deployed scheduler, which
assumes the spoke role in the member account: on Friday evening in Berlin the endpoint goes to one instance and its
scaling minimum with it, on Monday morning (after the DST change) both come back; a tag written around the hub is
never followed. moto has no inference components: their path is tested with botocore's Stubber
(tests/aws/test_endpoint_schedule_pass.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from tests.e2e.harness import deployed

MEMBER, REGION = "333333333333", "us-east-1"
SCHEDULE = "mon-fri 08:00-20:00 Europe/Berlin"
FRIDAY_EVENING = datetime(2026, 3, 27, 19, 5, tzinfo=UTC)  # 20:05 CET
MONDAY_MORNING = datetime(2026, 3, 30, 6, 5, tzinfo=UTC)  # 08:05 CEST
VARIANT = "endpoint/churn/variant/AllTraffic"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
SCHEDULER = "mlgov.handlers.hyperpod_scheduler.handler"


@pytest.fixture
def hub(templates):
    with deployed(templates, {MEMBER: "ml-prod"}) as harness:
        scheduler = harness.lambdas.by_handler(SCHEDULER)
        # the platform team's opt-in (the template deploys the scheduler as a dry run)
        harness.lambdas.set_environment(
            scheduler, {**harness.lambdas.environment(scheduler), "MLGOV_HYPERPOD_APPLY": "true"}
        )
        session = harness.session(MEMBER, REGION)
        sagemaker = session.client("sagemaker")
        container = {"Image": "123.dkr.ecr.us-east-1.amazonaws.com/xgb:1", "ModelDataUrl": "s3://m/churn.tar.gz"}
        sagemaker.create_model(
            ModelName="churn", PrimaryContainer=container, ExecutionRoleArn=f"arn:aws:iam::{MEMBER}:role/sm"
        )
        variant = {"VariantName": "AllTraffic", "ModelName": "churn", "InstanceType": "ml.m5.xlarge",
                   "InitialInstanceCount": 3}  # fmt: skip
        sagemaker.create_endpoint_config(EndpointConfigName="churn", ProductionVariants=[variant])
        harness.arn = sagemaker.create_endpoint(EndpointName="churn", EndpointConfigName="churn")["EndpointArn"]
        session.client("application-autoscaling").register_scalable_target(
            ServiceNamespace="sagemaker", ResourceId=VARIANT, ScalableDimension=DIMENSION, MinCapacity=2, MaxCapacity=4
        )
        yield harness


def _instances(harness) -> int:
    described = harness.session(MEMBER, REGION).client("sagemaker").describe_endpoint(EndpointName="churn")
    return described["ProductionVariants"][0]["DesiredInstanceCount"]


def _minimum(harness) -> int:
    autoscaling = harness.session(MEMBER, REGION).client("application-autoscaling")
    (target,) = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[VARIANT])[
        "ScalableTargets"
    ]
    return target["MinCapacity"]


def _outcome(run: dict) -> dict:
    assert run["error"] is None, run
    (outcome,) = [o for o in run["result"]["clusters"] if o["arn"].endswith(":endpoint/churn")]
    return outcome


def test_an_endpoint_sleeps_at_one_instance_over_the_weekend_and_wakes_with_its_minimum(hub):
    scheduler = hub.lambdas.by_handler(SCHEDULER)
    request = {"task": "set_schedule", "cluster_arn": hub.arn, "schedule": SCHEDULE, "by": "platform@example.com"}
    assert hub.lambdas.invoke(scheduler, request).error is None
    tags = hub.session(MEMBER, REGION).client("sagemaker").list_tags(ResourceArn=hub.arn)["Tags"]
    assert {"Key": "mlgov:schedule", "Value": SCHEDULE} in tags  # written by the hub through the spoke role

    with time_machine.travel(FRIDAY_EVENING, tick=False):
        evening = _outcome(hub.fire_schedule("mlgov-hyperpod"))
        replay = _outcome(hub.fire_schedule("mlgov-hyperpod"))  # a retried invocation in the same off period
    assert (evening["action"], evening["outcome"], evening["target_counts"]) == (
        "scale_down",
        "applied",
        {"AllTraffic": 1},
    )
    assert (_instances(hub), _minimum(hub)) == (1, 1)
    assert replay["outcome"] == "none" and "already done" in replay["reason"]

    with time_machine.travel(MONDAY_MORNING, tick=False):
        morning = _outcome(hub.fire_schedule("mlgov-hyperpod"))
    assert (morning["action"], morning["outcome"], morning["target_counts"]) == (
        "scale_up",
        "applied",
        {"AllTraffic": 3},
    )
    assert (_instances(hub), _minimum(hub)) == (3, 2)


def test_a_schedule_tag_written_around_the_hub_is_never_followed(hub):
    hub.session(MEMBER, REGION).client("sagemaker").add_tags(
        ResourceArn=hub.arn, Tags=[{"Key": "mlgov:schedule", "Value": SCHEDULE}]
    )  # e.g. an administrator of the member account; the SCPs keep it from data scientists
    with time_machine.travel(FRIDAY_EVENING, tick=False):
        run = hub.fire_schedule("mlgov-hyperpod")
    assert run["error"] is None
    assert not [o for o in run["result"]["clusters"] if o["arn"].endswith(":endpoint/churn")]  # no record: not seen
    assert _instances(hub) == 3
