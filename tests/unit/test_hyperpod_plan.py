"""The UpdateCluster request built from DescribeCluster, checked against the installed botocore model; the saved tag."""

from __future__ import annotations

import copy

import pytest

from mlgov.domain import hyperpod_plan as plan
from mlgov.domain.hyperpod_plan import (
    SAVED_TAG,
    PlanError,
    SavedTagError,
    cluster_state,
    parse_saved_counts_tag,
    saved_counts_tag,
    update_request,
)
from mlgov.domain.schedules import GroupState
from tests.samples.hyperpod import eks_cluster, scaled, shape, slurm_cluster, strict_problems

ALL_ZERO = {"workers": 0, "flex": 0, "nova-rig": 0}
SAVED = {"workers": 4, "flex": 2, "nova-rig": 2}


def structure(node, seen=()) -> object:
    """A shape's structure without shape names: members, element types, enums — what a value must look like."""
    if node.name in seen:
        return node.name
    seen = (*seen, node.name)
    if node.type_name == "structure":
        return {name: structure(member, seen) for name, member in node.members.items()}
    if node.type_name == "list":
        return [structure(node.member, seen)]
    if node.type_name == "map":
        return {"<key>": structure(node.key, seen), "<value>": structure(node.value, seen)}
    return (node.type_name, tuple(node.metadata.get("enum", ())))


# --- the member tables follow the installed model -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("details_name", "spec_name", "copied", "derived", "output_only"),
    [
        (
            "ClusterInstanceGroupDetails",
            "ClusterInstanceGroupSpecification",
            plan.GROUP_COPIED,
            plan.GROUP_DERIVED,
            plan.GROUP_OUTPUT_ONLY,
        ),
        (
            "ClusterRestrictedInstanceGroupDetails",
            "ClusterRestrictedInstanceGroupSpecification",
            plan.RESTRICTED_COPIED,
            plan.RESTRICTED_DERIVED,
            plan.RESTRICTED_OUTPUT_ONLY,
        ),
    ],
)
def test_every_describe_member_is_copied_derived_or_output_only(details_name, spec_name, copied, derived, output_only):
    details, spec = shape(details_name).members, shape(spec_name).members
    read = set(copied) | {source for sources in derived.values() for source in sources} | set(output_only)
    assert read == set(details), "a DescribeCluster group member is neither copied, derived nor output-only"
    assert set(copied) | set(derived) == set(spec), "an UpdateCluster group member is never produced"
    assert not set(output_only) & set(spec)
    for member in copied:  # copied as is only when both sides have the same structure
        assert structure(details[member]) == structure(spec[member]), member
    # Different shape names but the same structure (SlurmConfig, NetworkInterface) may be copied; others are derived.
    renamed = {m for m in set(details) & set(spec) if details[m].name != spec[m].name}
    assert renamed - set(derived) <= set(copied)


def test_members_that_differ_between_describe_and_update_are_the_derived_ones():
    details = shape("ClusterInstanceGroupDetails").members
    spec = shape("ClusterInstanceGroupSpecification").members
    assert set(details) - set(spec) == {
        "CurrentCount",
        "TargetCount",
        "MinCount",
        "TargetStateCount",
        "Status",
        "TrainingPlanStatus",
        "InstanceTypeDetails",
        "SoftwareUpdateStatus",
        "ActiveSoftwareUpdateConfig",
        "ActiveOperations",
        "CurrentImageId",
        "DesiredImageId",
        "CurrentImageReleaseVersion",
        "DesiredImageReleaseVersion",
        "ImageVersionStatus",
    }
    assert set(spec) - set(details) == {"InstanceCount", "MinInstanceCount", "ImageId", "ImageReleaseVersion"}


# --- requests --------------------------------------------------------------------------------------------------------


def test_the_sample_responses_are_valid_describe_cluster_responses():
    assert strict_problems(eks_cluster(), "DescribeClusterResponse") == []
    assert strict_problems(slurm_cluster(), "DescribeClusterResponse") == []


def test_scale_to_zero_request_is_valid_and_keeps_every_group_setting():
    described = eks_cluster()
    request = update_request(described, ALL_ZERO)

    assert strict_problems(request, "UpdateClusterRequest") == []
    assert request["ClusterName"] == "llm-train"
    assert set(request) == {"ClusterName", "InstanceGroups", "RestrictedInstanceGroups"}
    workers, flex = request["InstanceGroups"]
    source = described["InstanceGroups"][0]
    for member in plan.GROUP_COPIED:
        assert workers.get(member) == source.get(member), member
    assert (workers["InstanceCount"], workers["MinInstanceCount"]) == (0, 0)
    assert (workers["ImageId"], workers["ImageReleaseVersion"]) == ("ami-0abc1234def567890", "1.4.2")
    assert workers["KubernetesConfig"] == {
        "Labels": {"team": "nlp", "accelerator": "h100"},
        "Taints": [{"Key": "nvidia.com/gpu", "Value": "present", "Effect": "NoSchedule"}],
    }
    assert workers["AutoPatchConfig"]["PatchSchedule"] == source["AutoPatchConfig"]["DesiredPatchSchedule"]
    assert "DesiredPatchSchedule" not in workers["AutoPatchConfig"]
    assert flex["InstanceCount"] == 0
    (rig,) = request["RestrictedInstanceGroups"]
    assert rig["InstanceCount"] == 0
    assert rig["EnvironmentConfig"] == {"FSxLustreConfig": {"SizeInGiB": 1200, "PerUnitStorageThroughput": 250}}


def test_no_output_only_member_reaches_the_request():
    request = update_request(eks_cluster(), ALL_ZERO)
    for group in request["InstanceGroups"]:
        assert not set(group) & (set(plan.GROUP_OUTPUT_ONLY) | {"TargetCount", "MinCount"})
        assert set(group) <= set(shape("ClusterInstanceGroupSpecification").members)
    for group in request["RestrictedInstanceGroups"]:
        assert set(group) <= set(shape("ClusterRestrictedInstanceGroupSpecification").members)


def test_scale_up_restores_exactly_the_saved_counts_and_minimums():
    down = scaled(eks_cluster(), ALL_ZERO)  # what DescribeCluster says after the scale-down
    assert down["InstanceGroups"][0]["MinCount"] == 0
    request = update_request(down, SAVED, min_counts={"workers": 2})

    assert strict_problems(request, "UpdateClusterRequest") == []
    counts = {g["InstanceGroupName"]: g["InstanceCount"] for g in request["InstanceGroups"]}
    counts |= {g["InstanceGroupName"]: g["InstanceCount"] for g in request["RestrictedInstanceGroups"]}
    assert counts == SAVED
    assert request["InstanceGroups"][0]["MinInstanceCount"] == 2
    assert update_request(eks_cluster(), SAVED) == request  # the same spec the cluster had before going down


def test_a_flexible_group_sends_instance_requirements_and_never_an_instance_type():
    described = eks_cluster()
    request = update_request(described, ALL_ZERO)
    flex = request["InstanceGroups"][1]
    assert flex["InstanceRequirements"] == {"InstanceTypes": ["ml.g5.8xlarge", "ml.g6.8xlarge"]}
    assert "InstanceType" not in flex
    assert "InstanceTypeDetails" not in flex
    # Only the current types known: they are the declaration. A response carrying both keeps the requirements.
    group = described["InstanceGroups"][1]
    group["InstanceRequirements"] = {"CurrentInstanceTypes": ["ml.g6.8xlarge"]}
    group["InstanceType"] = "ml.g6.8xlarge"
    flex = update_request(described, ALL_ZERO)["InstanceGroups"][1]
    assert (flex["InstanceRequirements"], "InstanceType" in flex) == ({"InstanceTypes": ["ml.g6.8xlarge"]}, False)
    assert strict_problems(update_request(described, ALL_ZERO), "UpdateClusterRequest") == []


def test_declared_values_win_over_current_ones_even_when_empty():
    described = eks_cluster()
    workers = described["InstanceGroups"][0]
    workers["DesiredImageId"] = "ami-0fff1234def567890"  # a software update pending
    workers["KubernetesConfig"]["DesiredLabels"] = {}  # labels being removed
    group = update_request(described, ALL_ZERO)["InstanceGroups"][0]
    assert group["ImageId"] == "ami-0fff1234def567890"
    assert group["KubernetesConfig"]["Labels"] == {}
    flex = update_request(described, ALL_ZERO)["InstanceGroups"][1]
    assert flex["KubernetesConfig"] == {"Labels": {"pool": "flex"}}  # only current labels known


def test_groups_without_a_target_keep_their_count_and_the_response_is_not_mutated():
    described = eks_cluster()
    before = copy.deepcopy(described)
    request = update_request(described, {"workers": 0})
    request["InstanceGroups"][0]["OverrideVpcConfig"]["Subnets"].append("subnet-mutated")
    assert described == before
    assert [g["InstanceCount"] for g in request["InstanceGroups"]] == [0, 2]
    assert request["RestrictedInstanceGroups"][0]["InstanceCount"] == 2


def test_slurm_cluster_request_is_valid_without_minimums_or_images():
    request = update_request(slurm_cluster(), {"controller": 1, "compute": 0})
    assert strict_problems(request, "UpdateClusterRequest") == []
    controller, compute = request["InstanceGroups"]
    assert controller == {
        "InstanceGroupName": "controller",
        "InstanceType": "ml.m5.xlarge",
        "LifeCycleConfig": slurm_cluster()["InstanceGroups"][0]["LifeCycleConfig"],
        "ExecutionRole": slurm_cluster()["InstanceGroups"][0]["ExecutionRole"],
        "ThreadsPerCore": 1,
        "SlurmConfig": {"NodeType": "Controller"},
        "InstanceCount": 1,
    }
    assert (compute["InstanceCount"], compute["SlurmConfig"]) == (0, {"NodeType": "Compute", "PartitionNames": ["dev"]})
    assert "RestrictedInstanceGroups" not in request


@pytest.mark.parametrize(
    ("change", "targets", "message"),
    [
        (lambda c: None, {"nope": 0}, "has no instance group nope"),
        (lambda c: None, {"workers": 6759}, "count 6759 is outside 0..6758"),
        (lambda c: None, {"workers": -1}, "count -1 is outside"),
        (lambda c: c["InstanceGroups"][0].pop("ExecutionRole"), {"workers": 0}, "returned no ExecutionRole"),
        (lambda c: c["InstanceGroups"][1].pop("InstanceRequirements"), {"flex": 0}, "neither InstanceType nor"),
        (lambda c: c["RestrictedInstanceGroups"][0].pop("InstanceType"), {}, "returned no InstanceType"),
    ],
)
def test_requests_that_cannot_be_built_in_full_are_refused(change, targets, message):
    described = eks_cluster()
    change(described)
    with pytest.raises(PlanError, match=message):
        update_request(described, targets)


# --- cluster state ---------------------------------------------------------------------------------------------------


def test_cluster_state_reads_target_counts_minimums_busy_groups_and_autoscaling():
    described = eks_cluster()
    described["InstanceGroups"][0].update(CurrentCount=3, ActiveOperations={"Scaling": 1})
    described["AutoScaling"] = {"Mode": "Enable", "Status": "InService"}
    state = cluster_state(described)
    assert state.groups == (
        GroupState("workers", 3, 4, min_count=2, busy="Scaling"),
        GroupState("flex", 2, 2),
        GroupState("nova-rig", 2, 2),
    )
    assert (state.counts, state.min_counts) == (SAVED, {"workers": 2})
    assert (state.name, state.status, state.autoscaling) == ("llm-train", "InService", True)
    assert cluster_state(slurm_cluster()).autoscaling is False


# --- the saved-counts tag --------------------------------------------------------------------------------------------


def test_saved_tag_is_compact_round_trips_and_uses_only_allowed_characters():
    value = saved_counts_tag({"workers": 4, "gpu": 2})
    assert value == "workers=4 gpu=2"
    assert parse_saved_counts_tag(value) == {"workers": 4, "gpu": 2}
    assert "," not in value  # SageMaker TagValue pattern has no comma
    assert len(value) <= shape("TagValue").metadata["max"]


def test_saved_tag_too_long_for_a_tag_points_at_the_state_table():
    counts = {f"group-{index:02d}-{'x' * 50}": 12 for index in range(100)}
    value = saved_counts_tag(counts)
    assert value == "in-state-table groups=100 nodes=1200"
    assert len(value) <= 256
    assert parse_saved_counts_tag(value) is None


@pytest.mark.parametrize("value", ["", "workers", "workers=four", "workers=4,gpu=2", "-bad=1"])
def test_saved_tag_values_mlgov_did_not_write_are_refused(value):
    with pytest.raises(SavedTagError, match=SAVED_TAG):
        parse_saved_counts_tag(value)
