"""Endpoint and inference-component schedules against Stubber-validated SageMaker and Application Auto Scaling calls:
an evening that lowers the scaling minimum then scales a component to zero, a replay that does nothing, a morning
that restores the copies then the minimum; a classic endpoint scaled to one instance; dry run and hold; a tag the hub
did not set; a rejected call recorded and not retried."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from mlgov.aws.endpoint_scaling import ScheduledEndpoints
from mlgov.aws.hyperpod_state import InMemoryStateStore
from mlgov.domain.endpoint_schedules import COMPONENT_DIMENSION, VARIANT_DIMENSION
from mlgov.services.endpoint_schedules import endpoint_schedule_pass

pytestmark = pytest.mark.aws

ACCOUNT, REGION = "111122223333", "eu-west-1"
IC_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:inference-component/chat"
EP_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/churn"
SCHEDULE = "mon-fri 08:00-20:00 Europe/Berlin"
FRIDAY_EVENING = datetime(2026, 3, 27, 19, 5, tzinfo=UTC)  # 20:05 CET
FRIDAY_LATER = datetime(2026, 3, 27, 23, 0, tzinfo=UTC)
MONDAY_MORNING = datetime(2026, 3, 30, 6, 5, tzinfo=UTC)  # 08:05 CEST, after the DST change


@pytest.fixture
def clients():
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    autoscaling = boto3.client("application-autoscaling", region_name=REGION)
    with Stubber(sagemaker) as sm, Stubber(autoscaling) as aas:
        yield ScheduledEndpoints(sagemaker, autoscaling), sm, aas
        sm.assert_no_pending_responses()
        aas.assert_no_pending_responses()


def _store(arn: str, name: str, schedule: str = SCHEDULE) -> InMemoryStateStore:
    store = InMemoryStateStore()
    store.record_schedule(arn, name, schedule, "platform@example.com", datetime(2026, 3, 1, tzinfo=UTC))
    return store


def _tags(sm, arn: str, schedule: str = SCHEDULE, saved: str | None = None) -> None:
    tags = [{"Key": "mlgov:schedule", "Value": schedule}] + (
        [{"Key": "mlgov:hyperpod-saved", "Value": saved}] if saved else []
    )  # noqa: E501
    sm.add_response("list_tags", {"Tags": tags}, {"ResourceArn": arn, "MaxResults": 50})


def _component(sm, copies: int, status: str = "InService") -> None:
    sm.add_response(
        "describe_inference_component",
        {
            "InferenceComponentName": "chat",
            "InferenceComponentArn": IC_ARN,
            "EndpointName": "shared",
            "EndpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/shared",
            "InferenceComponentStatus": status,
            "CreationTime": datetime(2026, 1, 5, tzinfo=UTC),
            "LastModifiedTime": datetime(2026, 1, 5, tzinfo=UTC),
            "RuntimeConfig": {"DesiredCopyCount": copies, "CurrentCopyCount": copies},
        },
        {"InferenceComponentName": "chat"},
    )


def _target(aas, resource_id: str, dimension: str, minimum: int) -> None:
    aas.add_response(
        "describe_scalable_targets",
        {
            "ScalableTargets": [
                {
                    "ServiceNamespace": "sagemaker",
                    "ResourceId": resource_id,
                    "ScalableDimension": dimension,
                    "MinCapacity": minimum,
                    "MaxCapacity": 4,
                    "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/sagemaker.application-autoscaling",
                    "CreationTime": datetime(2026, 1, 5, tzinfo=UTC),
                }
            ]
        },
        {"ServiceNamespace": "sagemaker", "ResourceIds": [resource_id]},
    )


def _minimum(aas, resource_id: str, dimension: str, minimum: int) -> None:
    aas.add_response(
        "register_scalable_target",
        {},
        {
            "ServiceNamespace": "sagemaker",
            "ResourceId": resource_id,
            "ScalableDimension": dimension,
            "MinCapacity": minimum,
        },  # fmt: skip
    )


def _queue_evening(sm, aas, refusal: str | None = None) -> None:
    """A component's Friday evening, as SageMaker and Application Auto Scaling answer it: tags, 2 copies, a scalable
    target at minimum 1, the saved-counts tag, the minimum lowered to 0, then zero copies (or `refusal`)."""
    _tags(sm, IC_ARN)
    _component(sm, 2)
    _target(aas, "inference-component/chat", COMPONENT_DIMENSION, 1)
    saved = [{"Key": "mlgov:hyperpod-saved", "Value": "copies=2"}]
    sm.add_response("add_tags", {}, {"ResourceArn": IC_ARN, "Tags": saved})
    _minimum(aas, "inference-component/chat", COMPONENT_DIMENSION, 0)
    if refusal:
        sm.add_client_error("update_inference_component_runtime_config", "ValidationException", refusal)
        return
    sm.add_response(
        "update_inference_component_runtime_config",
        {"InferenceComponentArn": IC_ARN},
        {"InferenceComponentName": "chat", "DesiredRuntimeConfig": {"CopyCount": 0}},
    )


def _pass(resources, store, now, apply=True):
    return endpoint_schedule_pass(
        resources, store, store.records(), account=ACCOUNT, region=REGION, now=now, apply=apply
    )


def test_a_component_sleeps_at_zero_copies_over_the_weekend_and_wakes_with_its_copies_and_minimum(clients):
    resources, sm, aas = clients
    store = _store(IC_ARN, "chat")
    # Friday evening: save, lower the scaling minimum (else auto scaling puts a copy back), then zero copies.
    _queue_evening(sm, aas)
    (evening,) = _pass(resources, store, FRIDAY_EVENING)
    assert (evening.action, evening.outcome, dict(evening.target_counts)) == ("scale_down", "applied", {"copies": 0})
    assert "lower the scalable target minimum first: inference-component/chat MinCapacity=0" in evening.reason
    record = store.get(IC_ARN)
    assert dict(record.saved.counts) == {"copies": 2} and dict(record.saved.min_counts) == {"copies": 1}

    # Replayed later that night (a retried invocation): read and decide, no write (the Stubber has none queued).
    _tags(sm, IC_ARN, saved="copies=2")
    _component(sm, 0)
    _target(aas, "inference-component/chat", COMPONENT_DIMENSION, 0)
    (replay,) = _pass(resources, store, FRIDAY_LATER)
    assert (replay.action, replay.outcome) == ("none", "none")
    assert "already done" in replay.reason

    # Monday 08:05 in Berlin (after the DST change): copies back first, then the minimum.
    _tags(sm, IC_ARN, saved="copies=2")
    _component(sm, 0)
    _target(aas, "inference-component/chat", COMPONENT_DIMENSION, 0)
    sm.add_response(
        "update_inference_component_runtime_config",
        {"InferenceComponentArn": IC_ARN},
        {"InferenceComponentName": "chat", "DesiredRuntimeConfig": {"CopyCount": 2}},
    )
    _minimum(aas, "inference-component/chat", COMPONENT_DIMENSION, 1)
    (morning,) = _pass(resources, store, MONDAY_MORNING)
    assert (morning.action, morning.outcome, dict(morning.target_counts)) == ("scale_up", "applied", {"copies": 2})
    assert store.get(IC_ARN).last_action.action == "scale_up"


def _endpoint(sm, blue: int, *, hosts_components: bool = False) -> None:
    sm.add_response(
        "describe_endpoint",
        {
            "EndpointName": "churn",
            "EndpointArn": EP_ARN,
            "EndpointConfigName": "churn-config",
            "EndpointStatus": "InService",
            "CreationTime": datetime(2026, 1, 5, tzinfo=UTC),
            "LastModifiedTime": datetime(2026, 1, 5, tzinfo=UTC),
            "ProductionVariants": [{"VariantName": "blue", "CurrentInstanceCount": blue, "DesiredInstanceCount": blue}],
        },
        {"EndpointName": "churn"},
    )
    components = (
        [
            {
                "InferenceComponentName": "x",
                "InferenceComponentArn": IC_ARN,
                "EndpointName": "churn",
                "EndpointArn": EP_ARN,
                "VariantName": "blue",
                "CreationTime": datetime(2026, 1, 5, tzinfo=UTC),
                "LastModifiedTime": datetime(2026, 1, 5, tzinfo=UTC),
            }
        ]  # fmt: skip
        if hosts_components
        else []
    )
    sm.add_response(
        "list_inference_components",
        {"InferenceComponents": components},
        {"EndpointNameEquals": "churn", "MaxResults": 1},
    )


def _queue_endpoint(sm, aas, instances: int, *, saved: str | None = None, writes_saved: bool = False) -> None:
    """The classic endpoint `churn` as read by a pass: its tags, `instances` on variant blue, no scalable target;
    with `writes_saved`, the saved-counts tag a scale-down writes next."""
    _tags(sm, EP_ARN, saved=saved)
    _endpoint(sm, instances)
    aas.add_response(
        "describe_scalable_targets",
        {"ScalableTargets": []},
        {"ServiceNamespace": "sagemaker", "ResourceIds": ["endpoint/churn/variant/blue"]},
    )
    if writes_saved:
        counts = [{"Key": "mlgov:hyperpod-saved", "Value": f"blue={instances}"}]
        sm.add_response("add_tags", {}, {"ResourceArn": EP_ARN, "Tags": counts})


def test_a_classic_endpoint_scales_to_one_instance_off_hours(clients):
    resources, sm, aas = clients
    store = _store(EP_ARN, "churn")
    _queue_endpoint(sm, aas, 4, writes_saved=True)
    sm.add_response(
        "update_endpoint_weights_and_capacities",
        {"EndpointArn": EP_ARN},
        {"EndpointName": "churn", "DesiredWeightsAndCapacities": [{"VariantName": "blue", "DesiredInstanceCount": 1}]},
    )
    (outcome,) = _pass(resources, store, FRIDAY_EVENING)
    assert (outcome.outcome, dict(outcome.target_counts)) == ("applied", {"blue": 1})


def test_an_endpoint_hosting_components_is_not_scaled_itself(clients):
    resources, sm, _ = clients
    store = _store(EP_ARN, "churn")
    _tags(sm, EP_ARN)
    _endpoint(sm, 2, hosts_components=True)
    (outcome,) = _pass(resources, store, FRIDAY_EVENING)
    assert outcome.outcome == "none" and "schedule the components" in outcome.reason


def test_dry_run_and_hold_decide_but_write_nothing(clients):
    resources, sm, aas = clients
    store = _store(IC_ARN, "chat")
    _tags(sm, IC_ARN)
    _component(sm, 2)
    _target(aas, "inference-component/chat", COMPONENT_DIMENSION, 1)
    (dry,) = _pass(resources, store, FRIDAY_EVENING, apply=False)
    assert dry.outcome == "dry_run" and dry.reason.startswith("would scale_down")
    assert store.get(IC_ARN).saved is None and store.get(IC_ARN).last_action is None

    store.set_hold(IC_ARN, "chat", True, FRIDAY_EVENING, by="alice", reason="demo tonight")
    _tags(sm, IC_ARN)
    _component(sm, 2)
    _target(aas, "inference-component/chat", COMPONENT_DIMENSION, 1)
    (held,) = _pass(resources, store, FRIDAY_EVENING)
    assert held.outcome == "none" and "on hold" in held.reason


def test_a_schedule_tag_the_hub_did_not_set_is_never_followed(clients):
    resources, sm, _ = clients
    store = _store(IC_ARN, "chat")
    _tags(sm, IC_ARN, schedule="daily 00:00-00:01 UTC")  # somebody else's value
    (outcome,) = _pass(resources, store, FRIDAY_EVENING)
    assert outcome.outcome == "unrecorded"


def test_a_rejected_scale_down_is_recorded_and_not_retried_in_the_same_off_period(clients):
    resources, sm, aas = clients
    store = _store(EP_ARN, "churn")
    _queue_endpoint(sm, aas, 3, writes_saved=True)
    sm.add_client_error("update_endpoint_weights_and_capacities", "ValidationException", "Cannot update in progress")
    (first,) = _pass(resources, store, FRIDAY_EVENING)
    assert first.outcome == "rejected" and "UpdateEndpointWeightsAndCapacities rejected" in first.reason
    _queue_endpoint(sm, aas, 3, saved="blue=3")
    (again,) = _pass(resources, store, FRIDAY_LATER)
    assert again.outcome == "none" and "was rejected" in again.reason


def test_records_of_other_places_and_kinds_are_not_this_pass(clients):
    resources, _, _ = clients
    store = InMemoryStateStore()
    at = datetime(2026, 3, 1, tzinfo=UTC)
    store.record_schedule(IC_ARN.replace(REGION, "us-east-1"), "chat", SCHEDULE, "p", at)
    store.record_schedule(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:cluster/abc123", "", SCHEDULE, "p", at)
    store.record_schedule(EP_ARN, "churn", None, "p", at)  # cleared
    assert _pass(resources, store, FRIDAY_EVENING) == []


def test_dimension_names_are_application_auto_scalings():
    model = boto3.client("application-autoscaling", region_name=REGION).meta.service_model
    assert {VARIANT_DIMENSION, COMPONENT_DIMENSION} <= set(model.shape_for("ScalableDimension").enum)


def test_a_refused_scale_down_puts_the_lowered_scaling_minimum_back(clients):
    resources, sm, aas = clients
    store = _store(IC_ARN, "chat")
    _queue_evening(sm, aas, refusal="copy count not allowed")
    _minimum(aas, "inference-component/chat", COMPONENT_DIMENSION, 1)  # put back at once
    (outcome,) = _pass(resources, store, FRIDAY_EVENING)
    assert outcome.outcome == "rejected" and "UpdateInferenceComponentRuntimeConfig rejected" in outcome.reason


def test_a_scaling_minimum_the_morning_could_not_restore_is_retried_inside_the_window(clients):
    resources, sm, aas = clients
    store = _store(IC_ARN, "chat")
    # the night went through; in the morning the copies came back but RegisterScalableTarget failed
    _queue_evening(sm, aas)
    assert _pass(resources, store, FRIDAY_EVENING)[0].outcome == "applied"
    _tags(sm, IC_ARN, saved="copies=2")
    _component(sm, 0)
    _target(aas, "inference-component/chat", COMPONENT_DIMENSION, 0)
    sm.add_response(
        "update_inference_component_runtime_config",
        {"InferenceComponentArn": IC_ARN},
        {"InferenceComponentName": "chat", "DesiredRuntimeConfig": {"CopyCount": 2}},
    )
    aas.add_client_error("register_scalable_target", "ConcurrentUpdateException", "a scaling activity is in progress")
    (morning,) = _pass(resources, store, MONDAY_MORNING)
    assert morning.outcome == "applied" and "not restored yet" in morning.reason

    later = MONDAY_MORNING.replace(hour=6, minute=20)
    _tags(sm, IC_ARN, saved="copies=2")
    _component(sm, 2)
    _target(aas, "inference-component/chat", COMPONENT_DIMENSION, 0)  # still the off-hours minimum
    _minimum(aas, "inference-component/chat", COMPONENT_DIMENSION, 1)
    (retry,) = _pass(resources, store, later)
    assert retry.outcome == "applied" and "restored the saved scaling minimum" in retry.reason

    _tags(sm, IC_ARN, saved="copies=2")
    _component(sm, 2)
    _target(aas, "inference-component/chat", COMPONENT_DIMENSION, 3)  # somebody raised it by hand: left alone
    (settled,) = _pass(resources, store, later.replace(minute=35))
    assert settled.outcome == "none"
