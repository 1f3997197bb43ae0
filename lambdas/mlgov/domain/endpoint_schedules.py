"""Off-hours schedules for real-time endpoints and inference components, on the HyperPod scheduler's decisions.

The same `mlgov:schedule` grammar, the same `decide()` (act once per window or off period, save the counts before
scaling down, restore them in the morning, never grow what somebody resized): an endpoint is a "cluster" whose groups
are its instance-based production variants, an inference component one whose only group is its copies.

- Inference components scale to the schedule's minimum copies off-hours (`min=N`, default 0: scale to zero).
- Endpoints scale each variant to the schedule's minimum instances, never below 1 (a real-time variant cannot run
  on zero instances); serverless variants are left alone; an endpoint hosting inference components is not scaled
  itself — schedule its components, and SageMaker's managed instance scaling releases the instances they free.
- Application Auto Scaling: a registered scalable target whose MinCapacity is above the off-hours count would scale
  the resource straight back up, so its MinCapacity is lowered with the count and restored in the morning (kept in
  the saved record's minimums).

Pure: descriptions in, states and requests out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlgov.domain.schedules import ClusterState, GroupState, Schedule

COPIES = "copies"  # the one group of an inference component
ENDPOINT, INFERENCE_COMPONENT = "endpoint", "inference-component"
SAGEMAKER_NAMESPACE = "sagemaker"
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
COMPONENT_DIMENSION = "sagemaker:inference-component:DesiredCopyCount"
_BUSY_COMPONENT = frozenset({"Creating", "Updating", "Deleting"})


@dataclass(frozen=True)
class ScalableTarget:
    """An Application Auto Scaling target of one group (variant or copies)."""

    resource_id: str
    dimension: str
    min_capacity: int
    max_capacity: int


@dataclass(frozen=True)
class FlooredSchedule(Schedule):
    """A schedule whose off-hours minimum never goes below `floor` (1 for endpoint variants)."""

    floor: int = 0

    def minimum_for(self, group: str) -> int:
        return max(self.floor, super().minimum_for(group))


def schedule_for(kind: str, schedule: Schedule) -> Schedule:
    if kind != ENDPOINT:
        return schedule
    fields = {name: getattr(schedule, name) for name in schedule.__dataclass_fields__}
    return FlooredSchedule(**fields, floor=1)


def scalable_resource_id(kind: str, name: str, group: str) -> tuple[str, str]:
    """(ResourceId, ScalableDimension) of a group in Application Auto Scaling."""
    if kind == INFERENCE_COMPONENT:
        return f"inference-component/{name}", COMPONENT_DIMENSION
    return f"endpoint/{name}/variant/{group}", VARIANT_DIMENSION


def component_state(described: Mapping[str, Any], targets: Mapping[str, ScalableTarget]) -> ClusterState:
    """An inference component as a one-group state (its desired copies; busy while it changes)."""
    name = described["InferenceComponentName"]
    runtime = described.get("RuntimeConfig") or {}
    status = described.get("InferenceComponentStatus") or "Unknown"
    desired = int(runtime.get("DesiredCopyCount") or 0)
    target = targets.get(scalable_resource_id(INFERENCE_COMPONENT, name, COPIES)[0])
    group = GroupState(
        COPIES,
        int(runtime.get("CurrentCopyCount") or 0),
        desired,
        target.min_capacity if target else None,
        busy=status if status in _BUSY_COMPONENT else None,
    )
    return ClusterState(name, described["InferenceComponentArn"], status, (group,))


def endpoint_state(described: Mapping[str, Any], targets: Mapping[str, ScalableTarget]) -> ClusterState:
    """An endpoint as a state whose groups are its instance-based production variants."""
    name = described["EndpointName"]
    groups = []
    for variant in described.get("ProductionVariants") or []:
        if variant.get("CurrentServerlessConfig") or variant.get("DesiredServerlessConfig"):
            continue  # billed per request: nothing to scale
        current = int(variant.get("CurrentInstanceCount") or 0)
        desired = int(
            variant.get("DesiredInstanceCount") if variant.get("DesiredInstanceCount") is not None else current
        )
        target = targets.get(scalable_resource_id(ENDPOINT, name, variant["VariantName"])[0])
        groups.append(GroupState(variant["VariantName"], current, desired, target.min_capacity if target else None))
    return ClusterState(name, described["EndpointArn"], described.get("EndpointStatus") or "Unknown", tuple(groups))


def update_request(kind: str, name: str, counts: Mapping[str, int]) -> tuple[str, dict[str, Any]]:
    """(SageMaker operation, request) setting the groups to `counts`."""
    if kind == INFERENCE_COMPONENT:
        return "update_inference_component_runtime_config", {
            "InferenceComponentName": name,
            "DesiredRuntimeConfig": {"CopyCount": int(counts[COPIES])},
        }
    return "update_endpoint_weights_and_capacities", {
        "EndpointName": name,
        "DesiredWeightsAndCapacities": [
            {"VariantName": variant, "DesiredInstanceCount": int(count)} for variant, count in counts.items()
        ],
    }


def minimum_changes(
    kind: str,
    name: str,
    targets: Mapping[str, ScalableTarget],
    wanted: Mapping[str, int],
) -> list[dict[str, Any]]:
    """RegisterScalableTarget requests setting each registered group's MinCapacity to `wanted` (a scale-down lowers
    it to the off-hours count when it is higher; a scale-up puts the saved minimum back). Unregistered groups and
    unchanged minimums need nothing."""
    requests = []
    for group, minimum in wanted.items():
        resource_id, dimension = scalable_resource_id(kind, name, group)
        target = targets.get(resource_id)
        if target is None or target.min_capacity == minimum:
            continue
        requests.append(
            {
                "ServiceNamespace": SAGEMAKER_NAMESPACE,
                "ResourceId": resource_id,
                "ScalableDimension": dimension,
                "MinCapacity": int(minimum),
            }
        )
    return requests


def lowered_minimums(state: ClusterState, target_counts: Mapping[str, int]) -> dict[str, int]:
    """Off-hours: each registered group's MinCapacity brought down to its target count where it is higher."""
    return {
        group.name: target_counts[group.name]
        for group in state.groups
        if group.min_count is not None and group.name in target_counts and group.min_count > target_counts[group.name]
    }


def scalable_targets(described: Sequence[Mapping[str, Any]]) -> dict[str, ScalableTarget]:
    """DescribeScalableTargets' ScalableTargets by ResourceId (SageMaker's dimensions only)."""
    return {
        target["ResourceId"]: ScalableTarget(
            target["ResourceId"], target["ScalableDimension"], int(target["MinCapacity"]), int(target["MaxCapacity"])
        )
        for target in described
        if target.get("ScalableDimension") in (VARIANT_DIMENSION, COMPONENT_DIMENSION)
    }
