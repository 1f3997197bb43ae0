"""Realistic DescribeCluster responses (valid against the botocore model) and a strict check of HyperPod requests."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from functools import cache

import botocore.session
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters

ACCOUNT = "111122223333"
REGION = "eu-west-1"
CREATED = datetime(2026, 1, 12, 9, 30, tzinfo=UTC)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/hyperpod-exec"
TRAINING_PLAN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-plan/p5-q1-2026"
VPC = {
    "SecurityGroupIds": ["sg-0a1b2c3d4e5f60718"],
    "Subnets": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
}
LIFECYCLE = {"SourceS3Uri": f"s3://sagemaker-hyperpod-lifecycle-{ACCOUNT}/scripts/", "OnCreate": "on_create.sh"}
ROLLING = {
    "RollingUpdatePolicy": {"MaximumBatchSize": {"Type": "CAPACITY_PERCENTAGE", "Value": 25}},
    "WaitIntervalInSeconds": 300,
    "AutoRollbackConfiguration": [{"AlarmName": "hyperpod-node-health"}],
}


def cluster_arn(cluster_id: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:cluster/{cluster_id}"


@cache
def sagemaker_model():
    return botocore.session.get_session().get_service_model("sagemaker")


def shape(name: str):
    return sagemaker_model().shape_for(name)


def eks_cluster(
    workers: int = 4, flex: int = 2, rig: int = 2, status: str = "InService", name: str = "llm-train"
) -> dict:
    """An EKS-orchestrated cluster with every group member DescribeCluster can return: a fixed-type training-plan
    group (workers), a flexible group (InstanceRequirements) and a restricted instance group for Nova."""
    return {
        "ClusterArn": cluster_arn("k3q9z8x7w6v5"),
        "ClusterName": name,
        "ClusterStatus": status,
        "CreationTime": CREATED,
        "InstanceGroups": [
            {
                "CurrentCount": workers,
                "TargetCount": workers,
                "MinCount": min(workers, 2),
                "InstanceGroupName": "workers",
                "InstanceType": "ml.p5.48xlarge",
                "LifeCycleConfig": LIFECYCLE,
                "ExecutionRole": ROLE,
                "ThreadsPerCore": 2,
                "InstanceStorageConfigs": [
                    {"EbsVolumeConfig": {"VolumeSizeInGB": 500, "RootVolume": False}},
                    {
                        "FsxLustreConfig": {
                            "DnsName": "fs-0123456789abcdef0.fsx.eu-west-1.amazonaws.com",
                            "MountName": "abcdefgh",
                            "MountPath": "/fsx",
                        }
                    },
                ],
                "OnStartDeepHealthChecks": ["InstanceStress", "InstanceConnectivity"],
                "Status": "InService",
                "TrainingPlanArn": TRAINING_PLAN,
                "TrainingPlanStatus": "Active",
                "OverrideVpcConfig": VPC,
                "ScheduledUpdateConfig": {"ScheduleExpression": "cron(0 3 ? * SUN *)", "DeploymentConfig": ROLLING},
                "CurrentImageId": "ami-0abc1234def567890",
                "DesiredImageId": "ami-0abc1234def567890",
                "CurrentImageReleaseVersion": "1.4.2",
                "DesiredImageReleaseVersion": "1.4.2",
                "ImageVersionStatus": "UpToDate",
                "ActiveOperations": {},
                "KubernetesConfig": {
                    "CurrentLabels": {"team": "nlp", "accelerator": "h100"},
                    "DesiredLabels": {"team": "nlp", "accelerator": "h100"},
                    "CurrentTaints": [{"Key": "nvidia.com/gpu", "Value": "present", "Effect": "NoSchedule"}],
                    "DesiredTaints": [{"Key": "nvidia.com/gpu", "Value": "present", "Effect": "NoSchedule"}],
                },
                "CapacityRequirements": {"OnDemand": {}},
                "TargetStateCount": workers,
                "SoftwareUpdateStatus": "Succeeded",
                "ActiveSoftwareUpdateConfig": ROLLING,
                "NetworkInterface": {"InterfaceType": "efa"},
                "AutoPatchConfig": {
                    "PatchingStrategy": "WhenIdle",
                    "CurrentPatchSchedule": {"NextPatchDate": datetime(2026, 4, 5, 3, 0, tzinfo=UTC)},
                    "DesiredPatchSchedule": {"NextPatchDate": datetime(2026, 4, 5, 3, 0, tzinfo=UTC)},
                    "DeploymentConfig": ROLLING,
                    "IdleWaitWindowInSeconds": 7200,
                    "DrainPolicy": {"DrainTimeoutInSeconds": 1800, "OnDrainTimeout": "Skip"},
                },
            },
            {
                "CurrentCount": flex,
                "TargetCount": flex,
                "InstanceGroupName": "flex",
                "InstanceRequirements": {
                    "CurrentInstanceTypes": ["ml.g5.8xlarge", "ml.g6.8xlarge"],
                    "DesiredInstanceTypes": ["ml.g5.8xlarge", "ml.g6.8xlarge"],
                },
                "InstanceTypeDetails": [
                    {"InstanceType": "ml.g5.8xlarge", "CurrentCount": flex, "ThreadsPerCore": 2},
                    {"InstanceType": "ml.g6.8xlarge", "CurrentCount": 0, "ThreadsPerCore": 2},
                ],
                "LifeCycleConfig": LIFECYCLE,
                "ExecutionRole": ROLE,
                "InstanceStorageConfigs": [{"EbsVolumeConfig": {"VolumeSizeInGB": 200}}],
                "Status": "InService",
                "KubernetesConfig": {"CurrentLabels": {"pool": "flex"}},
                "CapacityRequirements": {"Spot": {}},
            },
        ],
        "RestrictedInstanceGroups": [
            {
                "CurrentCount": rig,
                "TargetCount": rig,
                "InstanceGroupName": "nova-rig",
                "InstanceType": "ml.p5.48xlarge",
                "ExecutionRole": ROLE,
                "ThreadsPerCore": 1,
                "InstanceStorageConfigs": [{"EbsVolumeConfig": {"VolumeSizeInGB": 1000}}],
                "OnStartDeepHealthChecks": ["InstanceStress"],
                "Status": "InService",
                "OverrideVpcConfig": VPC,
                "EnvironmentConfig": {
                    "FSxLustreConfig": {"SizeInGiB": 1200, "PerUnitStorageThroughput": 250},
                    "S3OutputPath": f"s3://nova-output-{ACCOUNT}/rig/",
                },
            }
        ],
        "VpcConfig": VPC,
        "Orchestrator": {"Eks": {"ClusterArn": f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/hyperpod-eks"}},
        "NodeRecovery": "Automatic",
        "NodeProvisioningMode": "Continuous",
        "AutoScaling": {"Mode": "Disable", "Status": "InService"},
    }


def slurm_cluster(controller: int = 1, compute: int = 8, status: str = "InService", name: str = "slurm-dev") -> dict:
    """A Slurm cluster as older clusters describe: no MinCount, no image fields, no Kubernetes."""

    def group(group_name: str, instance_type: str, count: int, node_type: str) -> dict:
        return {
            "CurrentCount": count,
            "TargetCount": count,
            "InstanceGroupName": group_name,
            "InstanceType": instance_type,
            "LifeCycleConfig": LIFECYCLE,
            "ExecutionRole": ROLE,
            "ThreadsPerCore": 1,
            "Status": "InService",
            "SlurmConfig": {"NodeType": node_type, **({"PartitionNames": ["dev"]} if node_type == "Compute" else {})},
        }

    return {
        "ClusterArn": cluster_arn("s1u2r3m4d5e6"),
        "ClusterName": name,
        "ClusterStatus": status,
        "CreationTime": CREATED,
        "InstanceGroups": [
            group("controller", "ml.m5.xlarge", controller, "Controller"),
            group("compute", "ml.g5.12xlarge", compute, "Compute"),
        ],
        "Orchestrator": {"Slurm": {"SlurmConfigStrategy": "Managed"}},
        "NodeRecovery": "Automatic",
    }


def scaled(describe: dict, counts: dict[str, int]) -> dict:
    """The same cluster after an update to `counts` (CurrentCount, TargetCount and per-type details follow)."""
    after = copy.deepcopy(describe)
    for group in [*after.get("InstanceGroups", []), *after.get("RestrictedInstanceGroups", [])]:
        if group["InstanceGroupName"] in counts:
            count = counts[group["InstanceGroupName"]]
            group["CurrentCount"] = group["TargetCount"] = count
            if "TargetStateCount" in group:
                group["TargetStateCount"] = count
            if "MinCount" in group:
                group["MinCount"] = min(group["MinCount"], count)
            for detail in group.get("InstanceTypeDetails", [])[:1]:
                detail["CurrentCount"] = count
    return after


def summary(describe: dict) -> dict:
    return {key: describe[key] for key in ("ClusterArn", "ClusterName", "CreationTime", "ClusterStatus")}


def strict_problems(params, shape_or_name) -> list[str]:
    """botocore's own validation (types, required members, minimums) plus the maximums and enums it does not check."""
    top = shape(shape_or_name) if isinstance(shape_or_name, str) else shape_or_name
    problems: list[str] = []
    try:
        validate_parameters(params, top)
    except ParamValidationError as err:
        problems.extend(line.strip() for line in str(err).splitlines()[1:] if line.strip())
    _check_limits(params, top, top.name, problems)
    return problems


def _check_limits(value, node, path: str, problems: list[str]) -> None:
    metadata = node.metadata
    if node.type_name == "structure" and isinstance(value, dict):
        for key, member_value in value.items():
            if key in node.members:
                _check_limits(member_value, node.members[key], f"{path}.{key}", problems)
    elif node.type_name == "list" and isinstance(value, list):
        if "max" in metadata and len(value) > metadata["max"]:
            problems.append(f"{path}: {len(value)} items > max {metadata['max']}")
        for index, item in enumerate(value):
            _check_limits(item, node.member, f"{path}[{index}]", problems)
    elif node.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            _check_limits(item, node.value, f"{path}[{key}]", problems)
    elif node.type_name == "string" and isinstance(value, str):
        if "enum" in metadata and value not in metadata["enum"]:
            problems.append(f"{path}: {value!r} not in the enum")
        if "max" in metadata and len(value) > metadata["max"]:
            problems.append(f"{path}: length {len(value)} > max {metadata['max']}")
    elif node.type_name in ("integer", "long") and isinstance(value, int) and value > metadata.get("max", value):
        problems.append(f"{path}: {value} > max {metadata['max']}")
