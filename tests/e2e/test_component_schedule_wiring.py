"""An inference component's schedule as the templates wire it (tests/e2e/harness.py), on the harness's inference
component service (tests/e2e/inference_components.py: moto has none): set through the hub's scheduler function (as
`mlgov schedules set` does), then the `mlgov-hyperpod` EventBridge schedule fires the deployed scheduler, which assumes
the spoke role in the member account: on Friday evening in Berlin the component goes to zero copies, a replayed pass
does nothing, on Monday morning (after the DST change) its copies come back; the endpoint hosting it is left to its
components. moto's Application Auto Scaling refuses the sagemaker:inference-component:DesiredCopyCount dimension, so
no scalable target is registered here: lowering and restoring a component's MinCapacity is tested with botocore's
Stubber (tests/aws/test_endpoint_schedule_pass.py). The last test holds the component service itself to SageMaker's
answers for an unknown name, an invalid request and a missing endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import boto3
import pytest
import time_machine
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.e2e.harness import Harness, deployed
from tests.e2e.inference_components import InferenceComponentService

MEMBER, REGION = "333333333333", "us-east-1"
SCHEDULE = "mon-fri 08:00-20:00 Europe/Berlin"  # components default to min 0 off-hours
FRIDAY_EVENING = datetime(2026, 3, 27, 19, 5, tzinfo=UTC)  # 20:05 CET
MONDAY_MORNING = datetime(2026, 3, 30, 6, 5, tzinfo=UTC)  # 08:05 CEST
SCHEDULER = "mlgov.handlers.hyperpod_scheduler.handler"
SPOKE_ROLE = f"arn:aws:iam::{MEMBER}:role/mlgov-spoke"
SCHEDULER_SESSION = "mlgov-hyperpod-scheduler"  # how the scheduler's calls show in the member's CloudTrail
HARNESS_SESSION = "mlgov-harness"  # the test's own calls, as the member's OrganizationAccountAccessRole


@dataclass(frozen=True)
class Installation:
    harness: Harness
    components: InferenceComponentService
    component_arn: str
    endpoint_arn: str


@pytest.fixture
def hub(templates):
    with deployed(templates, {MEMBER: "ml-prod"}) as harness, InferenceComponentService() as components:
        scheduler = harness.lambdas.by_handler(SCHEDULER)
        # the platform team's opt-in (the template deploys the scheduler as a dry run)
        harness.lambdas.set_environment(
            scheduler, {**harness.lambdas.environment(scheduler), "MLGOV_HYPERPOD_APPLY": "true"}
        )
        sagemaker = harness.session(MEMBER, REGION).client("sagemaker")
        container = {"Image": "123.dkr.ecr.us-east-1.amazonaws.com/tgi:2", "ModelDataUrl": "s3://m/llama.tar.gz"}
        sagemaker.create_model(
            ModelName="llama", PrimaryContainer=container, ExecutionRoleArn=f"arn:aws:iam::{MEMBER}:role/sm"
        )
        # moto wants a model on every variant; an endpoint built for components has none (its components bring theirs)
        variant = {"VariantName": "AllTraffic", "ModelName": "llama", "InstanceType": "ml.g4dn.xlarge",
                   "InitialInstanceCount": 2}  # fmt: skip
        sagemaker.create_endpoint_config(EndpointConfigName="shared", ProductionVariants=[variant])
        endpoint_arn = sagemaker.create_endpoint(EndpointName="shared", EndpointConfigName="shared")["EndpointArn"]
        component_arn = sagemaker.create_inference_component(
            InferenceComponentName="chat",
            EndpointName="shared",
            VariantName="AllTraffic",
            Specification={
                "ModelName": "llama",
                "ComputeResourceRequirements": {"NumberOfAcceleratorDevicesRequired": 1, "MinMemoryRequiredInMb": 8192},
            },
            RuntimeConfig={"CopyCount": 2},
        )["InferenceComponentArn"]
        yield Installation(harness, components, component_arn, endpoint_arn)
        assert components.faults == []


def _set_schedule(hub: Installation, arn: str) -> None:
    scheduler = hub.harness.lambdas.by_handler(SCHEDULER)
    request = {"task": "set_schedule", "cluster_arn": arn, "schedule": SCHEDULE, "by": "platform@example.com"}
    assert hub.harness.lambdas.invoke(scheduler, request).error is None


def _member_sagemaker(hub: Installation):
    return hub.harness.session(MEMBER, REGION).client("sagemaker")


def _copies(hub: Installation) -> tuple[int, int]:
    runtime = _member_sagemaker(hub).describe_inference_component(InferenceComponentName="chat")["RuntimeConfig"]
    return runtime["DesiredCopyCount"], runtime["CurrentCopyCount"]


def _outcome(run: dict, arn: str) -> dict:
    assert run["error"] is None, run
    (outcome,) = [o for o in run["result"]["clusters"] if o["arn"] == arn]
    return outcome


def test_a_component_sleeps_at_zero_copies_over_the_weekend_and_wakes_with_its_copies(hub):
    _set_schedule(hub, hub.component_arn)
    tags = _member_sagemaker(hub).list_tags(ResourceArn=hub.component_arn)["Tags"]
    assert {"Key": "mlgov:schedule", "Value": SCHEDULE} in tags  # written by the hub through the spoke role

    with time_machine.travel(FRIDAY_EVENING, tick=False):
        evening = _outcome(hub.harness.fire_schedule("mlgov-hyperpod"), hub.component_arn)
        replay = _outcome(hub.harness.fire_schedule("mlgov-hyperpod"), hub.component_arn)  # a retried invocation
    assert (evening["action"], evening["outcome"], evening["target_counts"]) == (
        "scale_down",
        "applied",
        {"copies": 0},
    )
    assert _copies(hub) == (0, 0)
    tags = _member_sagemaker(hub).list_tags(ResourceArn=hub.component_arn)["Tags"]
    assert {"Key": "mlgov:hyperpod-saved", "Value": "copies=2"} in tags
    assert replay["outcome"] == "none" and "already done" in replay["reason"]

    with time_machine.travel(MONDAY_MORNING, tick=False):
        morning = _outcome(hub.harness.fire_schedule("mlgov-hyperpod"), hub.component_arn)
    assert (morning["action"], morning["outcome"], morning["target_counts"]) == (
        "scale_up",
        "applied",
        {"copies": 2},
    )
    assert _copies(hub) == (2, 2)

    # every call of the hub reached the member through the spoke role, and only the two passes that acted scaled
    hub_calls = [r for r in hub.components.requests if r.session_name != HARNESS_SESSION]
    assert {(r.account, r.caller_role_arn, r.session_name) for r in hub_calls} == {
        (MEMBER, SPOKE_ROLE, SCHEDULER_SESSION)
    }
    updates = [r.request for r in hub_calls if r.operation == "UpdateInferenceComponentRuntimeConfig"]
    assert updates == [
        {"InferenceComponentName": "chat", "DesiredRuntimeConfig": {"CopyCount": 0}},
        {"InferenceComponentName": "chat", "DesiredRuntimeConfig": {"CopyCount": 2}},
    ]


def test_an_endpoint_hosting_components_is_left_to_their_schedules(hub):
    _set_schedule(hub, hub.endpoint_arn)
    with time_machine.travel(FRIDAY_EVENING, tick=False):
        evening = _outcome(hub.harness.fire_schedule("mlgov-hyperpod"), hub.endpoint_arn)
    assert (evening["action"], evening["outcome"]) == ("none", "none")
    assert "hosts inference components" in evening["reason"]
    described = _member_sagemaker(hub).describe_endpoint(EndpointName="shared")
    assert described["ProductionVariants"][0]["DesiredInstanceCount"] == 2
    assert _copies(hub) == (2, 2)


def test_the_component_service_refuses_what_sagemaker_refuses():
    with mock_aws(), InferenceComponentService() as components:
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        unvalidated = boto3.client("sagemaker", region_name=REGION, config=Config(parameter_validation=False))
        with pytest.raises(ClientError) as unknown:
            sagemaker.describe_inference_component(InferenceComponentName="chat")
        with pytest.raises(ClientError) as negative:  # botocore's client would refuse it before sending
            unvalidated.update_inference_component_runtime_config(
                InferenceComponentName="chat", DesiredRuntimeConfig={"CopyCount": -1}
            )
        with pytest.raises(ClientError) as no_endpoint:
            sagemaker.create_inference_component(
                InferenceComponentName="chat",
                EndpointName="shared",
                Specification={"ModelName": "llama"},
                RuntimeConfig={"CopyCount": 1},
            )
    errors = [err.value.response["Error"] for err in (unknown, negative, no_endpoint)]
    assert [error["Code"] for error in errors] == ["ValidationException"] * 3
    assert errors[0]["Message"].startswith('Could not find inference component "arn:aws:sagemaker:us-east-1:')
    assert "DesiredRuntimeConfig.CopyCount" in errors[1]["Message"]
    assert errors[2]["Message"].startswith("Could not find endpoint")
    assert (components.requests, components.faults) == ([], [])
