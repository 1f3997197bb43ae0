"""The UpdateCluster request that changes only HyperPod instance counts, built from DescribeCluster; the saved tag.

Whether UpdateCluster resets group fields a request omits is not documented, so every group is sent in full: each
DescribeCluster `ClusterInstanceGroupDetails` member that has a `ClusterInstanceGroupSpecification` counterpart is
carried over, only `InstanceCount` changes. The member tables below were derived from the botocore 1.44 sagemaker
model; tests/unit/test_hyperpod_plan.py re-derives them from the installed model and fails when a member appears,
disappears or changes shape.

Top-level UpdateCluster members (NodeRecovery, TieredStorageConfig, AutoScaling, ClusterRole, Orchestrator,
NodeProvisioningMode, RestrictedInstanceGroupsConfig, InstanceGroupsToDelete) are deliberately not sent: they are not
part of a group spec, an absent top-level member means "no change", and some reject a same-value update (ClusterRole
"cannot be updated while autoscaling is enabled"; the EKS orchestrator cannot change after creation).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from mlgov.domain.schedules import ClusterState, GroupState

SAVED_TAG = "mlgov:hyperpod-saved"
TAG_VALUE_MAX = 256  # SageMaker TagValue max length
MAX_INSTANCE_COUNT = 6758  # ClusterInstanceCount max in the model
_STATE_TABLE_NOTE = "in-state-table"
_SAVED_PAIR = re.compile(r"([a-zA-Z0-9](?:-*[a-zA-Z0-9])*)=(\d+)")

# --- ClusterInstanceGroupDetails -> ClusterInstanceGroupSpecification ---------------------------------------------
# Same name and the same structure in both shapes (SlurmConfig and NetworkInterface are different shapes with
# identical members): copied as they are.
GROUP_COPIED = (
    "InstanceGroupName",
    "InstanceType",
    "LifeCycleConfig",
    "ExecutionRole",
    "ThreadsPerCore",
    "InstanceStorageConfigs",
    "OnStartDeepHealthChecks",
    "TrainingPlanArn",
    "OverrideVpcConfig",
    "ScheduledUpdateConfig",
    "CapacityRequirements",
    "SlurmConfig",
    "NetworkInterface",
)
# Spec member -> the details members it is built from (the declared "Desired*" value first, then the current one).
GROUP_DERIVED = {
    "InstanceCount": ("TargetCount",),  # replaced by the scheduler's target
    "MinInstanceCount": ("MinCount",),  # capped at the new InstanceCount
    "ImageId": ("DesiredImageId", "CurrentImageId"),
    "ImageReleaseVersion": ("DesiredImageReleaseVersion", "CurrentImageReleaseVersion"),
    "InstanceRequirements": ("InstanceRequirements",),  # Desired/CurrentInstanceTypes -> InstanceTypes
    "KubernetesConfig": ("KubernetesConfig",),  # Desired/CurrentLabels, Desired/CurrentTaints -> Labels, Taints
    "AutoPatchConfig": ("AutoPatchConfig",),  # Desired/CurrentPatchSchedule -> PatchSchedule, the rest as is
}
# Status and progress reported by DescribeCluster; never part of a request.
GROUP_OUTPUT_ONLY = (
    "CurrentCount",
    "TargetStateCount",
    "Status",
    "TrainingPlanStatus",
    "InstanceTypeDetails",
    "SoftwareUpdateStatus",
    "ActiveSoftwareUpdateConfig",
    "ActiveOperations",
    "ImageVersionStatus",
)

# --- ClusterRestrictedInstanceGroupDetails -> ClusterRestrictedInstanceGroupSpecification -------------------------
RESTRICTED_COPIED = (
    "InstanceGroupName",
    "InstanceType",
    "ExecutionRole",
    "ThreadsPerCore",
    "InstanceStorageConfigs",
    "OnStartDeepHealthChecks",
    "TrainingPlanArn",
    "OverrideVpcConfig",
    "ScheduledUpdateConfig",
)
RESTRICTED_DERIVED = {
    "InstanceCount": ("TargetCount",),
    "EnvironmentConfig": ("EnvironmentConfig",),  # FSxLustreConfig kept; S3OutputPath is output only
}
RESTRICTED_OUTPUT_ONLY = ("CurrentCount", "Status", "TrainingPlanStatus")


class PlanError(ValueError):
    """DescribeCluster does not say enough to rebuild a group's spec, or the target counts do not fit the cluster."""


class SavedTagError(ValueError):
    """The `mlgov:hyperpod-saved` tag value is not one mlgov wrote."""


def cluster_state(cluster: Mapping[str, Any]) -> ClusterState:
    """What the schedule decision needs from a DescribeCluster response (restricted instance groups included)."""
    groups = []
    for group in [*(cluster.get("InstanceGroups") or []), *(cluster.get("RestrictedInstanceGroups") or [])]:
        current = group.get("CurrentCount") or 0
        target = group.get("TargetCount")
        operations = [name for name, count in (group.get("ActiveOperations") or {}).items() if count]
        groups.append(
            GroupState(
                name=group["InstanceGroupName"],
                current_count=current,
                target_count=current if target is None else target,
                min_count=group.get("MinCount"),
                busy=", ".join(sorted(operations)) or None,
            )
        )
    return ClusterState(
        name=cluster.get("ClusterName") or cluster["ClusterArn"].rsplit("/", 1)[-1],
        arn=cluster["ClusterArn"],
        status=cluster.get("ClusterStatus") or "",
        groups=tuple(groups),
        autoscaling=(cluster.get("AutoScaling") or {}).get("Mode") == "Enable",
    )


def update_request(
    cluster: Mapping[str, Any],
    target_counts: Mapping[str, int],
    min_counts: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The full UpdateCluster request: every group of `cluster` (a DescribeCluster response) as it is, with
    InstanceCount from `target_counts` (a group not named keeps its TargetCount). `min_counts` overrides MinCount
    (the values saved before a scale-down lowered them)."""
    groups = cluster.get("InstanceGroups") or []
    restricted = cluster.get("RestrictedInstanceGroups") or []
    names = [group.get("InstanceGroupName") for group in [*groups, *restricted]]
    unknown = sorted(set(target_counts) - set(names))
    if unknown:
        raise PlanError(f"cluster {_name(cluster)} has no instance group {', '.join(unknown)}")
    for name, count in target_counts.items():
        if not 0 <= count <= MAX_INSTANCE_COUNT:
            raise PlanError(f"instance group {name}: count {count} is outside 0..{MAX_INSTANCE_COUNT}")
    mins = min_counts or {}
    request: dict[str, Any] = {"ClusterName": cluster.get("ClusterName") or cluster["ClusterArn"]}
    if groups:
        request["InstanceGroups"] = [_group_spec(group, _count(group, target_counts), mins) for group in groups]
    if restricted:
        request["RestrictedInstanceGroups"] = [
            _restricted_spec(group, _count(group, target_counts)) for group in restricted
        ]
    return request


def _group_spec(details: Mapping[str, Any], count: int, min_counts: Mapping[str, int]) -> dict[str, Any]:
    name = details.get("InstanceGroupName")
    spec = _copied(details, GROUP_COPIED)
    spec["InstanceCount"] = count
    minimum = min_counts.get(name, details.get("MinCount"))
    if minimum is not None:
        spec["MinInstanceCount"] = min(minimum, count)
    _set_declared(spec, "ImageId", details, "DesiredImageId", "CurrentImageId")
    _set_declared(spec, "ImageReleaseVersion", details, "DesiredImageReleaseVersion", "CurrentImageReleaseVersion")
    requirements = details.get("InstanceRequirements") or {}
    instance_types = _declared(requirements, "DesiredInstanceTypes", "CurrentInstanceTypes")
    if instance_types:
        spec["InstanceRequirements"] = {"InstanceTypes": list(instance_types)}
        spec.pop("InstanceType", None)  # mutually exclusive with InstanceRequirements
    kubernetes = details.get("KubernetesConfig")
    if kubernetes:
        declared = {
            "Labels": _declared(kubernetes, "DesiredLabels", "CurrentLabels"),
            "Taints": _declared(kubernetes, "DesiredTaints", "CurrentTaints"),
        }
        spec["KubernetesConfig"] = copy.deepcopy({key: value for key, value in declared.items() if value is not None})
    patching = details.get("AutoPatchConfig")
    if patching:
        auto_patch = {
            key: value for key, value in patching.items() if key not in ("DesiredPatchSchedule", "CurrentPatchSchedule")
        }
        schedule = _declared(patching, "DesiredPatchSchedule", "CurrentPatchSchedule")
        if schedule is not None:
            auto_patch["PatchSchedule"] = schedule
        spec["AutoPatchConfig"] = copy.deepcopy(auto_patch)
    _require(spec, details, ("ExecutionRole",))
    if "InstanceType" not in spec and "InstanceRequirements" not in spec:
        raise PlanError(f"instance group {name}: DescribeCluster returned neither InstanceType nor instance types")
    return spec


def _restricted_spec(details: Mapping[str, Any], count: int) -> dict[str, Any]:
    spec = _copied(details, RESTRICTED_COPIED)
    spec["InstanceCount"] = count
    environment = details.get("EnvironmentConfig") or {}
    if "FSxLustreConfig" in environment:
        spec["EnvironmentConfig"] = {"FSxLustreConfig": copy.deepcopy(environment["FSxLustreConfig"])}
    _require(spec, details, ("ExecutionRole", "InstanceType"))
    return spec


def _copied(details: Mapping[str, Any], members: tuple[str, ...]) -> dict[str, Any]:
    return {member: copy.deepcopy(details[member]) for member in members if details.get(member) is not None}


def _declared(source: Mapping[str, Any], desired: str, current: str) -> Any:
    """The declared value when the response has one (even an empty one: no labels *is* a declaration)."""
    if source.get(desired) is not None:
        return source[desired]
    return source.get(current)


def _set_declared(spec: dict[str, Any], member: str, details: Mapping[str, Any], desired: str, current: str) -> None:
    value = _declared(details, desired, current)
    if value is not None:
        spec[member] = value


def _count(group: Mapping[str, Any], target_counts: Mapping[str, int]) -> int:
    name = group.get("InstanceGroupName")
    if name in target_counts:
        return target_counts[name]
    target = group.get("TargetCount")
    return (group.get("CurrentCount") or 0) if target is None else target


def _require(spec: Mapping[str, Any], details: Mapping[str, Any], members: tuple[str, ...]) -> None:
    missing = [member for member in members if member not in spec]
    if missing:
        raise PlanError(
            f"instance group {details.get('InstanceGroupName')}: DescribeCluster returned no {', '.join(missing)}; "
            "cannot send its full spec"
        )


def _name(cluster: Mapping[str, Any]) -> str:
    return cluster.get("ClusterName") or cluster.get("ClusterArn") or "?"


def saved_counts_tag(counts: Mapping[str, int]) -> str:
    """`workers=4 gpu=2`: space-separated because SageMaker tag values may not contain commas. When the groups do
    not fit in 256 characters, a note pointing at the state table (which keeps the full record) instead."""
    value = " ".join(f"{name}={count}" for name, count in counts.items())
    if len(value) <= TAG_VALUE_MAX:
        return value
    return f"{_STATE_TABLE_NOTE} groups={len(counts)} nodes={sum(counts.values())}"


def parse_saved_counts_tag(value: str) -> dict[str, int] | None:
    """The counts in a `mlgov:hyperpod-saved` value; None when the value only points at the state table."""
    tokens = value.split()
    if tokens and tokens[0] == _STATE_TABLE_NOTE:
        return None
    counts: dict[str, int] = {}
    for token in tokens:
        match = _SAVED_PAIR.fullmatch(token)
        if not match:
            raise SavedTagError(f"{SAVED_TAG} {value!r}: {token!r} is not GROUP=COUNT")
        counts[match.group(1)] = int(match.group(2))
    if not counts:
        raise SavedTagError(f"{SAVED_TAG} {value!r}: no counts")
    return counts
