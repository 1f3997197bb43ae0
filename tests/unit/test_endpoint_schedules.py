"""Endpoint and inference-component schedules, pure: their states, the endpoint floor of one instance, scalable
target minimums, and the decisions across DST changes in two time zones (the HyperPod decisions, reused)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mlgov.domain.endpoint_schedules import (
    COMPONENT_DIMENSION,
    ENDPOINT,
    INFERENCE_COMPONENT,
    ScalableTarget,
    component_state,
    endpoint_state,
    lowered_minimums,
    minimum_changes,
    schedule_for,
    update_request,
)
from mlgov.domain.schedules import LastAction, SavedCounts, decide, parse_schedule

pytestmark = pytest.mark.unit

IC_ARN = "arn:aws:sagemaker:eu-west-1:111122223333:inference-component/chat"
EP_ARN = "arn:aws:sagemaker:eu-west-1:111122223333:endpoint/churn"


def component(copies: int = 2, status: str = "InService") -> dict:
    return {
        "InferenceComponentName": "chat",
        "InferenceComponentArn": IC_ARN,
        "InferenceComponentStatus": status,
        "RuntimeConfig": {"DesiredCopyCount": copies, "CurrentCopyCount": copies},
    }


def endpoint(*variants: tuple[str, int], serverless: bool = False) -> dict:
    described = [
        {"VariantName": name, "CurrentInstanceCount": count, "DesiredInstanceCount": count} for name, count in variants
    ]
    if serverless:
        described.append({"VariantName": "cheap", "CurrentServerlessConfig": {"MemorySizeInMB": 2048}})
    return {"EndpointName": "churn", "EndpointArn": EP_ARN, "EndpointStatus": "InService",
            "ProductionVariants": described}  # fmt: skip


COPIES_TARGET = {"inference-component/chat": ScalableTarget("inference-component/chat", COMPONENT_DIMENSION, 1, 4)}


def test_a_component_is_one_group_of_copies_with_its_scaling_minimum_and_busy_while_it_changes():
    state = component_state(component(3), COPIES_TARGET)
    assert state.counts == {"copies": 3} and state.min_counts == {"copies": 1}
    assert component_state(component(3, "Updating"), {}).groups[0].busy == "Updating"


def test_an_endpoint_is_its_instance_variants_and_never_goes_below_one_instance_off_hours():
    state = endpoint_state(endpoint(("blue", 4), ("green", 1), serverless=True), {})
    assert state.counts == {"blue": 4, "green": 1}  # the serverless variant is billed per use: not scheduled
    friday_night = datetime(2026, 3, 27, 21, tzinfo=UTC)
    schedule = schedule_for(ENDPOINT, parse_schedule("mon-fri 08:00-20:00 Europe/Berlin"))
    decision = decide(schedule, state, None, False, None, friday_night)
    assert (decision.action, dict(decision.target_counts)) == ("scale_down", {"blue": 1, "green": 1})
    kept = schedule_for(ENDPOINT, parse_schedule("mon-fri 08:00-20:00 Europe/Berlin min=2"))
    assert dict(decide(kept, state, None, False, None, friday_night).target_counts) == {"blue": 2, "green": 1}


def test_a_component_scales_to_zero_copies_unless_the_schedule_keeps_some():
    state = component_state(component(2), {})
    night = datetime(2026, 3, 27, 21, tzinfo=UTC)
    zero = schedule_for(INFERENCE_COMPONENT, parse_schedule("weekdays 08:00-20:00 Europe/Berlin"))
    assert dict(decide(zero, state, None, False, None, night).target_counts) == {"copies": 0}
    one = schedule_for(INFERENCE_COMPONENT, parse_schedule("weekdays 08:00-20:00 Europe/Berlin min=1"))
    assert dict(decide(one, state, None, False, None, night).target_counts) == {"copies": 1}


@pytest.mark.parametrize(
    ("zone", "evening", "inside_morning", "outside_morning"),
    [
        # Berlin springs forward on Sunday 2026-03-29: Friday 20:00 is 19:00Z (CET), Monday 08:00 is 06:00Z (CEST).
        ("Europe/Berlin", datetime(2026, 3, 27, 19, 1, tzinfo=UTC), datetime(2026, 3, 30, 6, 1, tzinfo=UTC),
         datetime(2026, 3, 30, 5, 59, tzinfo=UTC)),
        # New York falls back on Sunday 2026-11-01: Friday 20:00 is 00:00Z (EDT), Monday 08:00 is 13:00Z (EST).
        ("America/New_York", datetime(2026, 10, 31, 0, 1, tzinfo=UTC), datetime(2026, 11, 2, 13, 1, tzinfo=UTC),
         datetime(2026, 11, 2, 12, 59, tzinfo=UTC)),
    ],
)  # fmt: skip
def test_a_component_sleeps_over_a_dst_weekend_and_wakes_at_local_eight(zone, evening, inside_morning, outside_morning):
    schedule = schedule_for(INFERENCE_COMPONENT, parse_schedule(f"mon-fri 08:00-20:00 {zone}"))
    down = decide(schedule, component_state(component(2), {}), None, False, None, evening)
    assert (down.action, dict(down.target_counts)) == ("scale_down", {"copies": 0})
    saved = SavedCounts({"copies": 2}, evening, down.window_id, {"copies": 1})
    done = LastAction("scale_down", down.window_id, evening, "applied", target_counts={"copies": 0})
    asleep = component_state(component(0), {})
    assert decide(schedule, asleep, saved, False, done, outside_morning).action == "none"
    up = decide(schedule, asleep, saved, False, done, inside_morning)
    assert (up.action, dict(up.target_counts)) == ("scale_up", {"copies": 2})


def test_requests_have_the_shapes_sagemaker_expects():
    assert update_request(INFERENCE_COMPONENT, "chat", {"copies": 0}) == (
        "update_inference_component_runtime_config",
        {"InferenceComponentName": "chat", "DesiredRuntimeConfig": {"CopyCount": 0}},
    )
    operation, request = update_request(ENDPOINT, "churn", {"blue": 1, "green": 2})
    assert operation == "update_endpoint_weights_and_capacities"
    assert request["DesiredWeightsAndCapacities"] == [
        {"VariantName": "blue", "DesiredInstanceCount": 1},
        {"VariantName": "green", "DesiredInstanceCount": 2},
    ]


def test_a_scaling_minimum_above_the_off_hours_count_is_lowered_and_only_that_one():
    state = component_state(component(2), COPIES_TARGET)
    lowered = lowered_minimums(state, {"copies": 0})
    assert lowered == {"copies": 0}
    assert minimum_changes(INFERENCE_COMPONENT, "chat", COPIES_TARGET, lowered) == [
        {"ServiceNamespace": "sagemaker", "ResourceId": "inference-component/chat",
         "ScalableDimension": COMPONENT_DIMENSION, "MinCapacity": 0}
    ]  # fmt: skip
    assert lowered_minimums(state, {"copies": 1}) == {}  # already at the minimum: nothing to lower
    assert minimum_changes(INFERENCE_COMPONENT, "chat", {}, {"copies": 0}) == []  # no scalable target registered
