"""What each SageMaker resource type is, as discovery sees it: one declarative table (which List and Describe calls find
it, which fields name it) and, per type, the billing rules that turn a List summary and its Describe response into a
Resource (running or not, on which instances, billed where).

Pure: the inventory adapter (mlgov.aws.inventory) makes the calls this table names and hands the responses here. Every
member read is checked against botocore's SageMaker model by the tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from types import MappingProxyType
from typing import Any

from mlgov.domain.inventory import InstanceGroup, Resource, Variant
from mlgov.domain.resource_identity import resource_arn

# Statuses in which an endpoint holds its instances (and bills them). Updating and SystemUpdating keep serving
# on the current fleet; RollingBack and UpdateRollbackFailed still run the previous one. Creating, Deleting,
# Failed and OutOfService are not counted as running.
BILLED_ENDPOINT_STATUSES = frozenset({"InService", "Updating", "SystemUpdating", "RollingBack", "UpdateRollbackFailed"})
# HyperPod nodes exist (and bill) while the cluster is in service or being updated; no status means "stopped"
# (AWS_FACTS: an InService cluster whose groups are all at 0 costs only its storage).
CLUSTER_NODE_STATUSES = frozenset({"InService", "Updating", "SystemUpdating", "RollingBack"})
RUNNING_JOB_STATUSES = frozenset({"InProgress", "Stopping", "Initializing", "INPROGRESS", "STARTING", "STOPPING"})
# A warm pool keeps a finished training job's instances (billed) until it is reused or its keep-alive ends.
BILLED_WARM_POOL_STATUSES = frozenset({"Available", "InUse"})
# The per-app-type settings member of SpaceSettings that holds the space's DefaultResourceSpec.
SPACE_APP_SETTINGS = {
    "JupyterLab": "JupyterLabAppSettings",
    "CodeEditor": "CodeEditorAppSettings",
    "JupyterServer": "JupyterServerAppSettings",
    "KernelGateway": "KernelGatewayAppSettings",
}
# A tracking server bills its size by the hour unless stopped (or not yet / no longer there).
MLFLOW_UNBILLED_STATUSES = frozenset(
    {"Stopped", "Stopping", "StartFailed", "Creating", "CreateFailed", "Deleting", "DeleteFailed"}
)
# The Describe response an endpoint's variants take their instance types from.
ENDPOINT_CONFIG = "DescribeEndpointConfig"


@dataclass(frozen=True)
class Observed:
    """What the calls returned for one resource: its List summary, its Describe response ({} when not described or
    the call failed), the responses of related resources by operation (an endpoint's config), those related
    resources found deleted, and the calls that failed ("DescribeEndpoint failed: AccessDeniedException")."""

    account: str
    region: str
    partition: str | None
    summary: Mapping[str, Any]
    described: Mapping[str, Any] = field(default_factory=dict)
    related: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    related_gone: frozenset[str] = frozenset()
    incomplete: tuple[str, ...] = ()


@dataclass(frozen=True)
class Billing:
    """A type rule's answer: what the resource runs and bills, and the evidence kept in the report. `status` None
    means the summary's status member; every other field is the Resource field of the same name."""

    details: Mapping[str, Any] = field(default_factory=dict)
    status: str | None = None
    running: bool = False
    instance_type: str | None = None
    instance_count: int = 0
    variants: tuple[Variant, ...] = ()
    instance_groups: tuple[InstanceGroup, ...] = ()
    started: datetime | None = None
    ended: datetime | None = None
    billable_seconds: int | None = None
    training_seconds: int | None = None
    managed_spot: bool = False


@dataclass(frozen=True)
class ResourceKind:
    """How discovery finds and reads one resource type.

    list_operation / result_key: the paginated List call and the member holding its summaries.
    describe_operation:  the Describe call, made only where the summary lacks what costing needs; its request is
                         the summary's `describe_keys` members under the same names.
    search_resource:     the Search API's Resource value where Search returns the Describe shape with the tags (one
                         call per 100 resources instead of a Describe and a ListTags each).
    recent_only:         jobs: listed with CreationTimeAfter = now - the job lookback.
    arn_member:          the summary member holding the ARN; None when the ARN is built from `create_request`
                         (request member -> summary member) the way resource_identity builds it for `create_operation`.
    name_members:        the summary member naming the resource (the first one present).
    status_member:       the summary member holding the service's status.
    gone_statuses:       summary statuses of resources that a List still shows but no longer exist.
    billing:             the type's billing rule.
    """

    list_operation: str
    result_key: str
    billing: Callable[[Observed], Billing]
    name_members: tuple[str, ...]
    status_member: str
    arn_member: str | None = None
    describe_operation: str | None = None
    describe_keys: tuple[str, ...] = ()
    search_resource: str | None = None
    recent_only: bool = False
    create_operation: str | None = None
    create_request: Mapping[str, str] = field(default_factory=dict)
    gone_statuses: frozenset[str] = frozenset()

    def describe_request(self, summary: Mapping[str, Any]) -> dict[str, Any]:
        return {key: summary[key] for key in self.describe_keys}

    def exists(self, summary: Mapping[str, Any]) -> bool:
        return summary.get(self.status_member) not in self.gone_statuses

    def resource(self, resource_type: str, observed: Observed) -> Resource:
        """The Resource the observation shows; tags are added by the caller."""
        billing = self.billing(observed)
        summary = observed.summary
        details = dict(billing.details)
        if observed.incomplete:
            details["incomplete"] = "; ".join(observed.incomplete)
        return Resource(
            arn=self._arn(observed),
            account=observed.account,
            region=observed.region,
            resource_type=resource_type,
            name=next(str(summary[m]) for m in self.name_members if summary.get(m)),
            status=billing.status or summary.get(self.status_member) or "Unknown",
            created=summary.get("CreationTime"),
            details=details,
            **{f.name: getattr(billing, f.name) for f in fields(Billing) if f.name not in ("details", "status")},
        )

    def _arn(self, observed: Observed) -> str:
        if self.arn_member:
            return observed.summary[self.arn_member]
        request = {member: observed.summary.get(source) for member, source in self.create_request.items()}
        request = {member: value for member, value in request.items() if value is not None}
        return resource_arn(
            self.create_operation or "", request, None, observed.account, observed.region, observed.partition
        )


# -- billing rules, one per type ----------------------------------------------------------------------------------


def endpoint_billing(observed: Observed) -> Billing:
    """Variants from the endpoint (current counts) and its config (instance types); shadow variants bill too."""
    endpoint, summary = observed.described, observed.summary
    details: dict[str, Any] = {"last_modified": _iso(summary.get("LastModifiedTime"))}
    variants: tuple[Variant, ...] = ()
    if endpoint:
        config = observed.related.get(ENDPOINT_CONFIG) or {}
        variants, variant_details = endpoint_variants(endpoint, config)
        details |= {"endpoint_config_name": endpoint.get("EndpointConfigName"), **variant_details}
        if ENDPOINT_CONFIG in observed.related_gone:
            details["endpoint_config_missing"] = True  # deleted while the endpoint still uses it
        if endpoint.get("AsyncInferenceConfig") or config.get("AsyncInferenceConfig"):
            details["async_inference"] = True
        details["failure_reason"] = endpoint.get("FailureReason")
    instance_types = {v.instance_type for v in variants if v.instance_type}
    status = summary.get("EndpointStatus")
    return Billing(
        details=_compact(details),
        running=status in BILLED_ENDPOINT_STATUSES,
        instance_type=instance_types.pop() if len(instance_types) == 1 else None,
        instance_count=sum(v.current_count for v in variants if v.instance_type),
        variants=variants,
    )


def inference_component_billing(observed: Observed) -> Billing:
    component, summary = observed.described, observed.summary
    runtime = component.get("RuntimeConfig") or {}
    specification = component.get("Specification") or {}
    current_copies = runtime.get("CurrentCopyCount")
    details = {
        "endpoint_name": summary.get("EndpointName"),
        "variant_name": summary.get("VariantName"),
        # The instances belong to the endpoint's variant: cost them there, not here.
        "cost_in_endpoint": True,
        "compute_resource_requirements": specification.get("ComputeResourceRequirements"),
        "model_name": specification.get("ModelName"),
        "artifact_url": (specification.get("Container") or {}).get("ArtifactUrl"),
        "base_inference_component_name": specification.get("BaseInferenceComponentName"),
        "current_copy_count": current_copies,
        "desired_copy_count": runtime.get("DesiredCopyCount"),
        "specification_count": len(component.get("Specifications") or []) or None,
        "failure_reason": component.get("FailureReason"),
    }
    running = summary.get("InferenceComponentStatus") == "InService" and (current_copies or 0) > 0
    return Billing(details=_compact(details), running=running)


def notebook_instance_billing(observed: Observed) -> Billing:
    summary = observed.summary
    running = summary.get("NotebookInstanceStatus") == "InService"
    details = {
        "lifecycle_config_name": summary.get("NotebookInstanceLifecycleConfigName"),
        "default_code_repository": summary.get("DefaultCodeRepository"),
        "last_modified": _iso(summary.get("LastModifiedTime")),
    }
    return Billing(
        details=_compact(details),
        running=running,
        instance_type=summary.get("InstanceType"),
        instance_count=1 if running else 0,
    )


def domain_billing(observed: Observed) -> Billing:
    domain = observed.described
    defaults = domain.get("DefaultUserSettings") or {}
    idle = {
        app: settings
        for app, key in (("JupyterLab", "JupyterLabAppSettings"), ("CodeEditor", "CodeEditorAppSettings"))
        if (settings := ((defaults.get(key) or {}).get("AppLifecycleManagement") or {}).get("IdleSettings"))
    }
    details = {
        "domain_id": observed.summary.get("DomainId"),
        "tag_propagation": domain.get("TagPropagation"),
        "auth_mode": domain.get("AuthMode"),
        "app_network_access_type": domain.get("AppNetworkAccessType"),
        "default_idle_settings": idle or None,
        # The whole members idle shutdown lives in: a switch-on sends them back with only IdleSettings changed.
        "default_app_settings": {
            key: defaults[key] for key in ("JupyterLabAppSettings", "CodeEditorAppSettings") if defaults.get(key)
        }
        or None,
    }
    return Billing(details=_compact(details))


def user_profile_billing(observed: Observed) -> Billing:
    """A profile's own idle shutdown settings (UserSettings overrides the domain's DefaultUserSettings)."""
    settings = observed.described.get("UserSettings") or {}
    idle = {
        app: value
        for app, key in (("JupyterLab", "JupyterLabAppSettings"), ("CodeEditor", "CodeEditorAppSettings"))
        if (value := ((settings.get(key) or {}).get("AppLifecycleManagement") or {}).get("IdleSettings"))
    }
    return Billing(details=_compact({"domain_id": observed.summary["DomainId"], "idle_settings": idle or None}))


def space_billing(observed: Observed) -> Billing:
    space, summary = observed.described, observed.summary
    settings = space.get("SpaceSettings") or {}
    listed = summary.get("SpaceSettingsSummary") or {}
    app_type = settings.get("AppType") or listed.get("AppType")
    app_settings = settings.get(SPACE_APP_SETTINGS.get(app_type, ""), {}) or {}
    storage = settings.get("SpaceStorageSettings") or listed.get("SpaceStorageSettings") or {}
    idle = ((app_settings.get("AppLifecycleManagement") or {}).get("IdleSettings") or {}).get("IdleTimeoutInMinutes")
    details = {
        "domain_id": summary["DomainId"],
        "app_type": app_type,
        # The space's compute is billed through its running app, not here.
        "compute_billed_via": "app",
        "owner_user_profile_name": (summary.get("OwnershipSettingsSummary") or {}).get("OwnerUserProfileName"),
        "sharing_type": (summary.get("SpaceSharingSettingsSummary") or {}).get("SharingType"),
        "ebs_volume_size_gb": (storage.get("EbsStorageSettings") or {}).get("EbsVolumeSizeInGb"),
        "idle_timeout_minutes": idle,
    }
    return Billing(
        details=_compact(details), instance_type=(app_settings.get("DefaultResourceSpec") or {}).get("InstanceType")
    )


def app_billing(observed: Observed) -> Billing:
    summary = observed.summary
    status = summary.get("Status")
    instance_type = (summary.get("ResourceSpec") or {}).get("InstanceType")
    running = status == "InService" and instance_type not in (None, "system")
    details = {
        "domain_id": summary["DomainId"],
        "app_type": summary["AppType"],
        "user_profile_name": summary.get("UserProfileName"),
        "space_name": summary.get("SpaceName"),
    }
    return Billing(
        details=_compact(details),
        running=running,
        instance_type=instance_type,
        instance_count=1 if running else 0,
    )


def training_job_billing(observed: Observed) -> Billing:
    job, summary = observed.described, observed.summary
    config = job.get("ResourceConfig") or {}
    # Heterogeneous clusters: one group per instance type; the job then has no single type.
    groups = tuple(
        InstanceGroup(g["InstanceGroupName"], g["InstanceType"], g["InstanceCount"], g["InstanceCount"])
        for g in config.get("InstanceGroups") or []
    )
    warm_pool = job.get("WarmPoolStatus") or {}
    details = {
        "secondary_status": summary.get("SecondaryStatus"),
        "tuning_job_arn": job.get("TuningJobArn"),
        "automl_job_arn": job.get("AutoMLJobArn"),
        "labeling_job_arn": job.get("LabelingJobArn"),
        "warm_pool_status": warm_pool.get("Status"),
        "warm_pool_billable_seconds": warm_pool.get("ResourceRetainedBillableTimeInSeconds"),
        "keep_alive_seconds": config.get("KeepAlivePeriodInSeconds"),
        "billable_token_count": job.get("BillableTokenCount"),
        "serverless_job_type": (job.get("ServerlessJobConfig") or {}).get("JobType"),
        "failure_reason": job.get("FailureReason"),
    }
    status = summary.get("TrainingJobStatus")
    return Billing(
        details=_compact(details),
        running=status in RUNNING_JOB_STATUSES or warm_pool.get("Status") in BILLED_WARM_POOL_STATUSES,
        instance_type=None if groups else config.get("SelectedInstanceType") or config.get("InstanceType"),
        instance_count=sum(g.current_count for g in groups)
        or config.get("SelectedInstanceCount")
        or config.get("InstanceCount")
        or 0,
        instance_groups=groups,
        started=job.get("TrainingStartTime"),
        ended=job.get("TrainingEndTime") or summary.get("TrainingEndTime"),
        billable_seconds=job.get("BillableTimeInSeconds"),
        training_seconds=job.get("TrainingTimeInSeconds"),
        managed_spot=bool(job.get("EnableManagedSpotTraining")),
    )


def processing_job_billing(observed: Observed) -> Billing:
    job, summary = observed.described, observed.summary
    cluster = (job.get("ProcessingResources") or {}).get("ClusterConfig") or {}
    details = {
        "volume_size_gb": cluster.get("VolumeSizeInGB"),
        "monitoring_schedule_arn": job.get("MonitoringScheduleArn"),
        "training_job_arn": job.get("TrainingJobArn"),
        "automl_job_arn": job.get("AutoMLJobArn"),
        "failure_reason": summary.get("FailureReason"),
    }
    return Billing(
        details=_compact(details),
        running=summary.get("ProcessingJobStatus") in RUNNING_JOB_STATUSES,
        instance_type=cluster.get("SelectedInstanceType") or cluster.get("InstanceType"),
        instance_count=cluster.get("SelectedInstanceCount") or cluster.get("InstanceCount") or 0,
        started=job.get("ProcessingStartTime"),
        ended=job.get("ProcessingEndTime") or summary.get("ProcessingEndTime"),
    )


def transform_job_billing(observed: Observed) -> Billing:
    job, summary = observed.described, observed.summary
    compute = job.get("TransformResources") or {}
    details = {
        "model_name": job.get("ModelName"),
        "automl_job_arn": job.get("AutoMLJobArn"),
        "labeling_job_arn": job.get("LabelingJobArn"),
        "failure_reason": summary.get("FailureReason"),
    }
    return Billing(
        details=_compact(details),
        running=summary.get("TransformJobStatus") in RUNNING_JOB_STATUSES,
        instance_type=compute.get("InstanceType"),
        instance_count=compute.get("InstanceCount") or 0,
        started=job.get("TransformStartTime"),
        ended=job.get("TransformEndTime") or summary.get("TransformEndTime"),
    )


def tuning_job_billing(observed: Observed) -> Billing:
    """The summary already carries the counters: no Describe. The cost is in the child training jobs."""
    summary = observed.summary
    limits = summary.get("ResourceLimits") or {}
    details = {
        "cost_in_children": True,
        "strategy": summary.get("Strategy"),
        "training_job_status_counters": summary.get("TrainingJobStatusCounters"),
        "objective_status_counters": summary.get("ObjectiveStatusCounters"),
        "max_number_of_training_jobs": limits.get("MaxNumberOfTrainingJobs"),
        "max_parallel_training_jobs": limits.get("MaxParallelTrainingJobs"),
    }
    return Billing(
        details=_compact(details),
        running=summary.get("HyperParameterTuningJobStatus") in RUNNING_JOB_STATUSES,
        ended=summary.get("HyperParameterTuningEndTime"),
    )


def automl_job_billing(observed: Observed) -> Billing:
    """V1 and V2 jobs alike; their cost is in the training, processing and transform jobs they start."""
    summary = observed.summary
    details = {
        "cost_in_children": True,
        "secondary_status": summary.get("AutoMLJobSecondaryStatus"),
        "failure_reason": summary.get("FailureReason"),
    }
    return Billing(
        details=_compact(details),
        running=summary.get("AutoMLJobStatus") in RUNNING_JOB_STATUSES,
        ended=summary.get("EndTime"),
    )


def labeling_job_billing(observed: Observed) -> Billing:
    """Ground Truth bills per labeled object (plus the workforce); active-learning jobs are children."""
    summary = observed.summary
    details = {
        "billed_per_labeled_object": True,
        "label_counters": summary.get("LabelCounters"),
        "workteam_arn": summary.get("WorkteamArn"),
        "failure_reason": summary.get("FailureReason"),
    }
    return Billing(details=_compact(details), running=summary.get("LabelingJobStatus") in RUNNING_JOB_STATUSES)


def compilation_job_billing(observed: Observed) -> Billing:
    """The summary carries start and end times; no API exposes the compilation instance type."""
    summary = observed.summary
    details = {
        "instance_type_not_exposed": True,
        "target_device": summary.get("CompilationTargetDevice"),
        "target_platform_os": summary.get("CompilationTargetPlatformOs"),
        "target_platform_arch": summary.get("CompilationTargetPlatformArch"),
        "target_platform_accelerator": summary.get("CompilationTargetPlatformAccelerator"),
    }
    return Billing(
        details=_compact(details),
        running=summary.get("CompilationJobStatus") in RUNNING_JOB_STATUSES,
        started=summary.get("CompilationStartTime"),
        ended=summary.get("CompilationEndTime"),
    )


def feature_group_billing(observed: Observed) -> Billing:
    """Feature Store bills reads, writes and storage, not instance hours."""
    group = observed.described
    online = group.get("OnlineStoreConfig") or {}
    throughput = group.get("ThroughputConfig") or {}
    ttl = online.get("TtlDuration") or {}
    details = {
        "online_store": bool(online.get("EnableOnlineStore")) if group else None,
        "online_storage_type": online.get("StorageType"),
        "online_ttl": f"{ttl['Value']} {ttl['Unit']}" if ttl.get("Value") and ttl.get("Unit") else None,
        "online_store_size_bytes": group.get("OnlineStoreTotalSizeBytes"),
        "offline_store_s3_uri": ((group.get("OfflineStoreConfig") or {}).get("S3StorageConfig") or {}).get("S3Uri"),
        "throughput_mode": throughput.get("ThroughputMode"),
        "provisioned_read_capacity_units": throughput.get("ProvisionedReadCapacityUnits"),
        "provisioned_write_capacity_units": throughput.get("ProvisionedWriteCapacityUnits"),
    }
    return Billing(details=_compact(details))


def cluster_billing(observed: Observed) -> Billing:
    cluster = observed.described
    groups, group_details = cluster_groups(cluster)
    status = cluster.get("ClusterStatus") or observed.summary.get("ClusterStatus")
    orchestrator = cluster.get("Orchestrator") or {}
    details = {
        "orchestrator": next(iter(orchestrator), None),
        "node_recovery": cluster.get("NodeRecovery"),
        "failure_message": cluster.get("FailureMessage"),
        **group_details,
    }
    instance_types = {g.instance_type for g in groups}
    return Billing(
        details=_compact(details),
        status=status,
        running=status in CLUSTER_NODE_STATUSES and any(g.current_count > 0 for g in groups),
        instance_type=instance_types.pop() if len(instance_types) == 1 else None,
        instance_count=sum(g.current_count for g in groups),
        instance_groups=groups,
    )


def mlflow_tracking_server_billing(observed: Observed) -> Billing:
    """Billed by the hour by size (Small, Medium, Large) while it runs; `IsActive` says whether it serves."""
    server, summary = observed.described, observed.summary
    status = summary.get("TrackingServerStatus")
    details = {
        "tracking_server_size": server.get("TrackingServerSize"),
        "is_active": summary.get("IsActive") or server.get("IsActive"),
        "mlflow_version": summary.get("MlflowVersion"),
        "artifact_store_uri": server.get("ArtifactStoreUri"),
        "last_modified": _iso(summary.get("LastModifiedTime")),
    }
    return Billing(details=_compact(details), running=status not in MLFLOW_UNBILLED_STATUSES)


def mlflow_app_billing(observed: Observed) -> Billing:
    """MLflow apps are serverless: no instance runs between requests."""
    summary = observed.summary
    details = {"mlflow_version": summary.get("MlflowVersion"), "last_modified": _iso(summary.get("LastModifiedTime"))}
    return Billing(details=_compact(details))


def endpoint_variants(endpoint: Mapping[str, Any], config: Mapping[str, Any]) -> tuple[tuple[Variant, ...], dict]:
    """Variants with the instance type from the endpoint config and the current count from the endpoint
    (DescribeEndpoint has no instance type). Shadow variants are billed like production ones."""
    configured = {
        v["VariantName"]: v
        for v in [*(config.get("ProductionVariants") or []), *(config.get("ShadowProductionVariants") or [])]
    }
    live = [*(endpoint.get("ProductionVariants") or []), *(endpoint.get("ShadowProductionVariants") or [])]
    shadow_names = [v["VariantName"] for v in endpoint.get("ShadowProductionVariants") or []]
    if not live:  # e.g. Creating: nothing deployed yet, the config says what will be
        live = [{"VariantName": name, "CurrentInstanceCount": 0} for name in configured]
        shadow_names = [v["VariantName"] for v in config.get("ShadowProductionVariants") or []]
    variants, provisioned, pools = [], {}, {}
    for summary in live:
        name = summary["VariantName"]
        wanted = configured.get(name, {})
        serverless = summary.get("CurrentServerlessConfig") or wanted.get("ServerlessConfig")
        if serverless and serverless.get("ProvisionedConcurrency"):
            provisioned[name] = serverless["ProvisionedConcurrency"]
        if summary.get("InstancePools"):
            pools[name] = {p["InstanceType"]: p["CurrentInstanceCount"] for p in summary["InstancePools"]}
        variants.append(
            Variant(
                name=name,
                instance_type=None if serverless else wanted.get("InstanceType"),
                current_count=summary.get("CurrentInstanceCount") or 0,
                serverless_memory_mb=serverless.get("MemorySizeInMB") if serverless else None,
                serverless_max_concurrency=serverless.get("MaxConcurrency") if serverless else None,
            )
        )
    details = _compact(
        {
            "variant_names": [v.name for v in variants],
            "model_names": sorted({str(v["ModelName"]) for v in configured.values() if v.get("ModelName")}) or None,
            "shadow_variant_names": shadow_names or None,
            "serverless_provisioned_concurrency": provisioned or None,
            "instance_pools": pools or None,
        }
    )
    return tuple(variants), details


def cluster_groups(cluster: Mapping[str, Any]) -> tuple[tuple[InstanceGroup, ...], dict]:
    """HyperPod instance groups, restricted groups included. A group with flexible instance types
    (InstanceRequirements instead of InstanceType) becomes one entry per type it currently runs."""
    groups, flexible = [], {}
    restricted = [g.get("InstanceGroupName") for g in cluster.get("RestrictedInstanceGroups") or []]
    for group in [*(cluster.get("InstanceGroups") or []), *(cluster.get("RestrictedInstanceGroups") or [])]:
        name = group.get("InstanceGroupName") or ""
        current, target = group.get("CurrentCount") or 0, group.get("TargetCount") or 0
        if group.get("InstanceType"):
            groups.append(InstanceGroup(name, group["InstanceType"], current, target))
            continue
        by_type = [d for d in group.get("InstanceTypeDetails") or [] if d.get("InstanceType")]
        flexible[name] = {"target_count": target, "current_count": current}
        groups.extend(
            InstanceGroup(name, d["InstanceType"], d.get("CurrentCount") or 0, d.get("CurrentCount") or 0)
            for d in by_type
        )
    details = _compact({"restricted_instance_groups": restricted or None, "flexible_instance_groups": flexible or None})
    return tuple(groups), details


def live_endpoint(account: str, region: str, described: Mapping[str, Any]) -> Resource:
    """An endpoint from DescribeEndpoint alone (the approval flow's re-check): variants and current counts, no
    instance types (those are in the config, which usage measurement does not need)."""
    return RESOURCE_KINDS["endpoint"].resource(
        "endpoint", Observed(account, region, None, summary=described, described=described)
    )


def _job(
    operation_noun: str, result_key: str, billing: Callable[[Observed], Billing], *, describe: bool = True
) -> ResourceKind:
    """A SageMaker job type: List<Noun>s with CreationTimeAfter, named <Noun>Name, <Noun>Arn, <Noun>Status."""
    return ResourceKind(
        list_operation=f"List{operation_noun}s",
        result_key=result_key,
        billing=billing,
        name_members=(f"{operation_noun}Name",),
        status_member=f"{operation_noun}Status",
        arn_member=f"{operation_noun}Arn",
        describe_operation=f"Describe{operation_noun}" if describe else None,
        describe_keys=(f"{operation_noun}Name",) if describe else (),
        recent_only=True,
    )


# resource_type (SageMaker's ARN resource name) -> how to discover it, in the order a scan lists them.
RESOURCE_KINDS: Mapping[str, ResourceKind] = MappingProxyType(
    {
        "endpoint": ResourceKind(
            "ListEndpoints",
            "Endpoints",
            endpoint_billing,
            name_members=("EndpointName",),
            status_member="EndpointStatus",
            arn_member="EndpointArn",
            describe_operation="DescribeEndpoint",
            describe_keys=("EndpointName",),
            search_resource="Endpoint",
        ),
        "inference-component": ResourceKind(
            "ListInferenceComponents",
            "InferenceComponents",
            inference_component_billing,
            name_members=("InferenceComponentName",),
            status_member="InferenceComponentStatus",
            arn_member="InferenceComponentArn",
            describe_operation="DescribeInferenceComponent",
            describe_keys=("InferenceComponentName",),
        ),
        "notebook-instance": ResourceKind(
            "ListNotebookInstances",
            "NotebookInstances",
            notebook_instance_billing,
            name_members=("NotebookInstanceName",),
            status_member="NotebookInstanceStatus",
            arn_member="NotebookInstanceArn",
        ),
        "domain": ResourceKind(
            "ListDomains",
            "Domains",
            domain_billing,
            name_members=("DomainName", "DomainId"),
            status_member="Status",
            arn_member="DomainArn",
            describe_operation="DescribeDomain",
            describe_keys=("DomainId",),
        ),
        "user-profile": ResourceKind(
            "ListUserProfiles",
            "UserProfiles",
            user_profile_billing,
            name_members=("UserProfileName",),
            status_member="Status",
            describe_operation="DescribeUserProfile",  # UserSettings: a profile's own idle shutdown override
            describe_keys=("DomainId", "UserProfileName"),
            create_operation="CreateUserProfile",
            create_request={"domainId": "DomainId", "userProfileName": "UserProfileName"},
        ),
        "space": ResourceKind(
            "ListSpaces",
            "Spaces",
            space_billing,
            name_members=("SpaceName",),
            status_member="Status",
            describe_operation="DescribeSpace",
            describe_keys=("DomainId", "SpaceName"),
            create_operation="CreateSpace",
            create_request={"domainId": "DomainId", "spaceName": "SpaceName"},
        ),
        "app": ResourceKind(
            "ListApps",
            "Apps",
            app_billing,
            name_members=("AppName",),
            status_member="Status",
            create_operation="CreateApp",
            create_request={
                "domainId": "DomainId",
                "userProfileName": "UserProfileName",
                "spaceName": "SpaceName",
                "appType": "AppType",
                "appName": "AppName",
            },
            gone_statuses=frozenset({"Deleted"}),  # ListApps keeps deleted apps visible for a while
        ),
        "training-job": _job("TrainingJob", "TrainingJobSummaries", training_job_billing),
        "processing-job": _job("ProcessingJob", "ProcessingJobSummaries", processing_job_billing),
        "transform-job": _job("TransformJob", "TransformJobSummaries", transform_job_billing),
        "hyper-parameter-tuning-job": _job(
            "HyperParameterTuningJob", "HyperParameterTuningJobSummaries", tuning_job_billing, describe=False
        ),
        "automl-job": _job("AutoMLJob", "AutoMLJobSummaries", automl_job_billing, describe=False),
        "labeling-job": _job("LabelingJob", "LabelingJobSummaryList", labeling_job_billing, describe=False),
        "compilation-job": _job("CompilationJob", "CompilationJobSummaries", compilation_job_billing, describe=False),
        "feature-group": ResourceKind(
            "ListFeatureGroups",
            "FeatureGroupSummaries",
            feature_group_billing,
            name_members=("FeatureGroupName",),
            status_member="FeatureGroupStatus",
            arn_member="FeatureGroupArn",
            describe_operation="DescribeFeatureGroup",
            describe_keys=("FeatureGroupName",),
        ),
        "mlflow-tracking-server": ResourceKind(
            "ListMlflowTrackingServers",
            "TrackingServerSummaries",
            mlflow_tracking_server_billing,
            name_members=("TrackingServerName",),
            status_member="TrackingServerStatus",
            arn_member="TrackingServerArn",
            describe_operation="DescribeMlflowTrackingServer",
            describe_keys=("TrackingServerName",),  # the size is only in the Describe
        ),
        "mlflow-app": ResourceKind(
            "ListMlflowApps",
            "Summaries",
            mlflow_app_billing,
            name_members=("Name",),
            status_member="Status",
            arn_member="Arn",
            gone_statuses=frozenset({"Deleted"}),
        ),
        "cluster": ResourceKind(
            "ListClusters",
            "ClusterSummaries",
            cluster_billing,
            name_members=("ClusterName",),
            status_member="ClusterStatus",
            arn_member="ClusterArn",
            describe_operation="DescribeCluster",
            describe_keys=("ClusterName",),
        ),
    }
)
SUPPORTED_TYPES: tuple[str, ...] = tuple(RESOURCE_KINDS)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _compact(values: Mapping[str, Any]) -> dict[str, Any]:
    """Drops absent facts (None, and the empty strings some responses carry for unset members)."""
    return {key: value for key, value in values.items() if value is not None and value != ""}
