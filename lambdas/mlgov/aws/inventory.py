"""Discovers the SageMaker resources of one account and region: what exists, on which instances, since when, tagged how.

Every shape read here is checked against botocore's SageMaker model. Per type the calls are: one paginated List
(page size = the model's MaxResults maximum), a Describe per resource only where the list summary lacks what costing
needs, and one ListTags per resource. Describe and ListTags calls run on a bounded thread pool. A failing List turns
into one ScanError for that type; failing Describe or ListTags calls keep the resource (marked incomplete) and are
reported once per type, operation and error code.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError

from mlgov.domain.inventory import InstanceGroup, Resource, ScanError, Variant
from mlgov.domain.resource_identity import resource_arn
from mlgov.domain.snapshot import jsonable

SUPPORTED_TYPES: tuple[str, ...] = (
    "endpoint",
    "inference-component",
    "notebook-instance",
    "domain",
    "user-profile",
    "space",
    "app",
    "training-job",
    "processing-job",
    "transform-job",
    "hyper-parameter-tuning-job",
    "automl-job",
    "labeling-job",
    "compilation-job",
    "feature-group",
    "cluster",
)

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
_NOT_FOUND_CODES = frozenset({"ResourceNotFound", "ResourceNotFoundException"})
# Search refused (no sagemaker:Search in the caller's policy, or a partition without it): List + Describe instead.
_SEARCH_REFUSED = frozenset(
    {"AccessDeniedException", "AccessDenied", "ValidationException", "UnknownOperationException"}
)


class EndpointConfigCache:
    """DescribeEndpointConfig responses kept across scans, per (config, endpoint ARN, endpoint LastModifiedTime): the
    CLI keeps them in a local file, the scanner Lambda in the archive (`dump` as JSON). Only what costing reads."""

    FIELDS = ("EndpointConfigName", "CreationTime", "ProductionVariants", "ShadowProductionVariants",
              "AsyncInferenceConfig")  # fmt: skip

    def __init__(self, entries: Mapping[str, Any] | None = None) -> None:
        self._entries: dict[str, Any] = dict(entries or {})
        self._lock = threading.Lock()
        self.changed = False

    def get(self, account: str, region: str, name: str) -> dict[str, Any] | None:
        return self._entries.get(f"{account}/{region}/{name}")

    def put(self, account: str, region: str, name: str, response: Mapping[str, Any]) -> None:
        kept = {k: jsonable(response[k]) for k in self.FIELDS if k in response}
        with self._lock:
            self._entries[f"{account}/{region}/{name}"] = kept
            self.changed = True

    def dump(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._entries)


# SageMaker reports a missing resource as a ValidationException in several phrasings.
_NOT_FOUND_PHRASES = ("not found", "does not exist", "could not find")


@dataclass(frozen=True)
class _Described:
    """One Describe call's outcome: the response, or the resource vanished, or the call failed (`failure` = code)."""

    response: dict[str, Any] | None = None
    gone: bool = False
    failure: str | None = None

    def evidence(self, operation: str) -> dict[str, object]:
        return {"incomplete": f"{operation} failed: {self.failure}"} if self.failure else {}


@dataclass
class _Scan:
    """State of one collect(): the pool, and per-resource failures to be reported once per (type, operation, code)."""

    pool: Executor
    now: datetime
    errors: list[ScanError] = field(default_factory=list)
    _failures: dict[tuple[str, str, str], list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def failed(self, resource_type: str, operation: str, name: str, err: Exception) -> str:
        code, message = _error_parts(err)
        with self._lock:
            self._failures[(resource_type, operation, code)].append((name, message))
        return code

    def flush(self, account: str, region: str) -> None:
        """Turns the per-resource failures of a type into one ScanError per (type, operation, code)."""
        with self._lock:
            failures, self._failures = self._failures, defaultdict(list)
        for (resource_type, operation, code), items in failures.items():
            if len(items) == 1:
                message = f"{resource_type} {items[0][0]}: {code}: {items[0][1]}"
            else:
                names = ", ".join(name for name, _ in items[:5]) + (", ..." if len(items) > 5 else "")
                message = f"{len(items)} {resource_type} resources: {code}: {items[0][1]} ({names})"
            self.errors.append(ScanError(account, region, operation, message))


class SageMakerInventory:
    """Lists every supported SageMaker resource type of one account-region; `api_calls` counts calls by operation."""

    def __init__(
        self,
        client,
        account: str,
        region: str,
        *,
        resource_types: Collection[str] | None = None,
        max_workers: int = 8,
        job_lookback_days: int = 45,
        now: datetime | None = None,
        config_cache: EndpointConfigCache | None = None,
    ) -> None:
        unknown = sorted(set(resource_types or ()) - set(SUPPORTED_TYPES))
        if unknown:
            raise ValueError(f"unsupported resource types {unknown}; supported: {', '.join(SUPPORTED_TYPES)}")
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self._client = client
        self._account = account
        self._region = region
        self._types = tuple(t for t in SUPPORTED_TYPES if resource_types is None or t in resource_types)
        self._max_workers = max_workers
        self._lookback = timedelta(days=job_lookback_days)
        self._now = now
        self._partition = getattr(client.meta, "partition", None)
        self._config_cache = config_cache
        self._tags_known: dict[str, dict[str, str]] = {}
        self.api_calls: Counter[str] = Counter()
        self._calls_lock = threading.Lock()

    def _count_call(self, model, **_: Any) -> None:
        with self._calls_lock:
            self.api_calls[model.name] += 1

    def collect(self) -> tuple[list[Resource], list[ScanError]]:
        collectors: dict[str, Callable[[_Scan], list[Resource]]] = {
            "endpoint": self._endpoints,
            "inference-component": self._inference_components,
            "notebook-instance": self._notebook_instances,
            "domain": self._domains,
            "user-profile": self._user_profiles,
            "space": self._spaces,
            "app": self._apps,
            "training-job": self._training_jobs,
            "processing-job": self._processing_jobs,
            "transform-job": self._transform_jobs,
            "hyper-parameter-tuning-job": self._tuning_jobs,
            "automl-job": self._automl_jobs,
            "labeling-job": self._labeling_jobs,
            "compilation-job": self._compilation_jobs,
            "feature-group": self._feature_groups,
            "cluster": self._clusters,
        }
        resources: list[Resource] = []
        # before-parameter-build fires once per operation call on real, moto and Stubber clients alike (the
        # Stubber answers in before-call, which would hide its calls from a before-call handler). The handler
        # lives only for this scan: clients are cached across scans and must not collect stale handlers.
        events, event, handler_id = self._client.meta.events, "before-parameter-build.sagemaker", f"mlgov-{id(self)}"
        events.register(event, self._count_call, unique_id=handler_id)
        try:
            with ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="mlgov-inventory") as pool:
                scan = _Scan(pool=pool, now=self._now or datetime.now(UTC))
                for resource_type in self._types:
                    try:
                        found = collectors[resource_type](scan)
                    except (ClientError, BotoCoreError) as err:
                        code, message = _error_parts(err)
                        operation = getattr(err, "operation_name", None) or _LIST_OPERATION[resource_type]
                        scan.errors.append(
                            ScanError(self._account, self._region, operation, f"{resource_type}: {code}: {message}")
                        )
                    else:
                        resources.extend(self._with_tags(scan, resource_type, found))
                    scan.flush(self._account, self._region)
        finally:
            events.unregister(event, unique_id=handler_id)
        return resources, scan.errors

    # -- calls ------------------------------------------------------------------------------------------------

    def _items(self, operation: str, result_key: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a List operation, through botocore's paginator (manual NextToken loop without one)."""
        method = xform_name(operation)
        page_size = self._page_size(operation)
        if self._client.can_paginate(method):
            config = {"PageSize": page_size} if page_size else {}
            for page in self._client.get_paginator(method).paginate(**params, PaginationConfig=config):
                yield from page.get(result_key, [])
            return
        request = {**params, **({"MaxResults": page_size} if page_size else {})}
        while True:
            page = getattr(self._client, method)(**request)
            yield from page.get(result_key, [])
            if not page.get("NextToken"):
                return
            request["NextToken"] = page["NextToken"]

    def _page_size(self, operation: str) -> int | None:
        """The largest MaxResults the model allows (default pages are often 10); ListTags has only a minimum
        (50), which is also the most tags a SageMaker resource can carry: one page."""
        members = self._client.meta.service_model.operation_model(operation).input_shape.members
        if "MaxResults" not in members:
            return None
        metadata = members["MaxResults"].metadata
        return metadata.get("max") or metadata.get("min")

    def _since(self, scan: _Scan) -> dict[str, datetime]:
        return {"CreationTimeAfter": scan.now - self._lookback}

    def _describe_each(
        self,
        scan: _Scan,
        resource_type: str,
        operation: str,
        items: Iterable[Any],
        request: Callable[[Any], dict[str, Any]],
    ) -> list[tuple[Any, _Described]]:
        """Calls `operation` for every item on the pool, in order. A resource deleted since the List is `gone`;
        other failures are recorded (reported once per code) and leave the summary to stand alone."""
        method = getattr(self._client, xform_name(operation))

        def describe(item: Any) -> tuple[Any, _Described]:
            params = request(item)
            try:
                return item, _Described(response=method(**params))
            except ClientError as err:
                if _not_found(err):
                    return item, _Described(gone=True)
                return item, _Described(failure=scan.failed(resource_type, operation, _label(params), err))
            except BotoCoreError as err:
                return item, _Described(failure=scan.failed(resource_type, operation, _label(params), err))

        return list(scan.pool.map(describe, items))

    def _with_tags(self, scan: _Scan, resource_type: str, resources: list[Resource]) -> list[Resource]:
        def tagged(resource: Resource) -> Resource:
            if resource.arn in self._tags_known:  # Search returned them with the resource
                return replace(resource, tags=self._tags_known[resource.arn])
            try:
                tags: dict[str, str] = {}
                for tag in self._items("ListTags", "Tags", ResourceArn=resource.arn):
                    tags[tag["Key"]] = tag.get("Value", "")
                return replace(resource, tags=tags)
            except (ClientError, BotoCoreError) as err:
                code = scan.failed(resource_type, "ListTags", resource.arn, err)
                # Unknown tags are not "no tags": owner checks must not treat this resource as untagged.
                return replace(resource, details={**resource.details, "tags_error": code})

        return list(scan.pool.map(tagged, resources))

    def _resource(
        self, resource_type: str, arn: str, name: str, status: str | None, created, **fields: Any
    ) -> Resource:
        return Resource(
            arn=arn,
            account=self._account,
            region=self._region,
            resource_type=resource_type,
            name=name,
            status=status or "Unknown",
            created=created,
            **fields,
        )

    def _built_arn(self, create_operation: str, request: Mapping[str, Any]) -> str:
        """The ARN of a resource whose List summary carries none (user profiles, apps), built the way
        mlgov.domain.resource_identity builds it from a create request."""
        return resource_arn(create_operation, request, None, self._account, self._region, self._partition)

    # -- inference --------------------------------------------------------------------------------------------

    def _endpoints(self, scan: _Scan) -> list[Resource]:
        """Endpoints from Search (100 a page, with their variants and tags: no DescribeEndpoint, no ListTags), or
        ListEndpoints + DescribeEndpoint where Search is refused; each distinct config described once, or taken from
        `config_cache` (see `_endpoint_configs`)."""
        try:
            records = [r["Endpoint"] for r in self._items("Search", "Results", Resource="Endpoint") if "Endpoint" in r]
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") not in _SEARCH_REFUSED:
                raise
            records = None
        if records is None:
            summaries = list(self._items("ListEndpoints", "Endpoints"))
            listed = self._describe_each(
                scan, "endpoint", "DescribeEndpoint", summaries, lambda s: {"EndpointName": s["EndpointName"]}
            )
        else:
            listed = [(record, _Described(response=record)) for record in records]
            for record in records:
                self._tags_known[record["EndpointArn"]] = {t["Key"]: t.get("Value", "") for t in record.get("Tags", [])}
        configs = self._endpoint_configs(scan, [d.response for _, d in listed if d.response])
        resources = []
        for summary, described in listed:
            if described.gone:
                continue
            endpoint = described.response or {}
            details: dict[str, object] = {
                "last_modified": _iso(summary.get("LastModifiedTime")),
                **described.evidence("DescribeEndpoint"),
            }
            variants: tuple[Variant, ...] = ()
            if endpoint:
                config_name = endpoint.get("EndpointConfigName")
                config = configs.get(config_name, _Described())
                variants, variant_details = _endpoint_variants(endpoint, config.response or {})
                details |= {"endpoint_config_name": config_name, **variant_details}
                if config.gone:
                    details["endpoint_config_missing"] = True  # deleted while the endpoint still uses it
                details |= config.evidence("DescribeEndpointConfig")
                if endpoint.get("AsyncInferenceConfig") or (config.response or {}).get("AsyncInferenceConfig"):
                    details["async_inference"] = True
                if endpoint.get("FailureReason"):
                    details["failure_reason"] = endpoint["FailureReason"]
            instance_types = {v.instance_type for v in variants if v.instance_type}
            status = summary.get("EndpointStatus")
            resources.append(
                self._resource(
                    "endpoint",
                    summary["EndpointArn"],
                    summary["EndpointName"],
                    status,
                    summary.get("CreationTime"),
                    running=status in BILLED_ENDPOINT_STATUSES,
                    instance_type=instance_types.pop() if len(instance_types) == 1 else None,
                    instance_count=sum(v.current_count for v in variants if v.instance_type),
                    variants=variants,
                    details=details,
                )
            )
        return resources

    def _endpoint_configs(self, scan: _Scan, endpoints: list[Mapping[str, Any]]) -> dict[str, _Described]:
        """name -> DescribeEndpointConfig of every config the endpoints use, described once per scan on the pool —
        or taken from `config_cache` when every endpoint using it is unchanged (same ARN and LastModifiedTime) since
        it was described: an endpoint runs the config as it was when the endpoint last changed, so a cache entry is
        never older evidence than a fresh describe would be."""
        users: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for endpoint in endpoints:
            if name := endpoint.get("EndpointConfigName"):
                users[name].append(endpoint)
        configs: dict[str, _Described] = {}
        if self._config_cache is not None:
            for name, using in users.items():
                cached = [self._config_cache.get(self._account, self._region, _cache_key(name, e)) for e in using]
                if all(cached):
                    configs[name] = _Described(response=cached[0])
        missing = sorted(set(users) - set(configs))
        described = self._describe_each(
            scan, "endpoint", "DescribeEndpointConfig", missing, lambda n: {"EndpointConfigName": n}
        )
        for name, result in described:
            configs[name] = result
            if self._config_cache is not None and result.response:
                for endpoint in users[name]:
                    self._config_cache.put(self._account, self._region, _cache_key(name, endpoint), result.response)
        return configs

    def _inference_components(self, scan: _Scan) -> list[Resource]:
        summaries = list(self._items("ListInferenceComponents", "InferenceComponents"))
        described = self._describe_each(
            scan,
            "inference-component",
            "DescribeInferenceComponent",
            summaries,
            lambda s: {"InferenceComponentName": s["InferenceComponentName"]},
        )
        resources = []
        for summary, result in described:
            if result.gone:
                continue
            component = result.response or {}
            runtime = component.get("RuntimeConfig") or {}
            specification = component.get("Specification") or {}
            current_copies = runtime.get("CurrentCopyCount")
            details = _compact(
                {
                    "endpoint_name": summary.get("EndpointName"),
                    "variant_name": summary.get("VariantName"),
                    # The instances belong to the endpoint's variant: cost them there, not here.
                    "cost_in_endpoint": True,
                    "compute_resource_requirements": specification.get("ComputeResourceRequirements"),
                    "model_name": specification.get("ModelName"),
                    "base_inference_component_name": specification.get("BaseInferenceComponentName"),
                    "current_copy_count": current_copies,
                    "desired_copy_count": runtime.get("DesiredCopyCount"),
                    "specification_count": len(component.get("Specifications") or []) or None,
                    "failure_reason": component.get("FailureReason"),
                    **result.evidence("DescribeInferenceComponent"),
                }
            )
            status = summary.get("InferenceComponentStatus")
            resources.append(
                self._resource(
                    "inference-component",
                    summary["InferenceComponentArn"],
                    summary["InferenceComponentName"],
                    status,
                    summary.get("CreationTime"),
                    running=status == "InService" and (current_copies or 0) > 0,
                    details=details,
                )
            )
        return resources

    # -- notebooks and Studio ---------------------------------------------------------------------------------

    def _notebook_instances(self, scan: _Scan) -> list[Resource]:
        resources = []
        for summary in self._items("ListNotebookInstances", "NotebookInstances"):
            status = summary.get("NotebookInstanceStatus")
            running = status == "InService"
            details = _compact(
                {
                    "lifecycle_config_name": summary.get("NotebookInstanceLifecycleConfigName"),
                    "default_code_repository": summary.get("DefaultCodeRepository"),
                    "last_modified": _iso(summary.get("LastModifiedTime")),
                }
            )
            resources.append(
                self._resource(
                    "notebook-instance",
                    summary["NotebookInstanceArn"],
                    summary["NotebookInstanceName"],
                    status,
                    summary.get("CreationTime"),
                    running=running,
                    instance_type=summary.get("InstanceType"),
                    instance_count=1 if running else 0,
                    details=details,
                )
            )
        return resources

    def _domains(self, scan: _Scan) -> list[Resource]:
        summaries = list(self._items("ListDomains", "Domains"))
        described = self._describe_each(
            scan, "domain", "DescribeDomain", summaries, lambda s: {"DomainId": s["DomainId"]}
        )
        resources = []
        for summary, result in described:
            if result.gone:
                continue
            domain = result.response or {}
            defaults = domain.get("DefaultUserSettings") or {}
            idle = {
                app: settings
                for app, key in (("JupyterLab", "JupyterLabAppSettings"), ("CodeEditor", "CodeEditorAppSettings"))
                if (settings := ((defaults.get(key) or {}).get("AppLifecycleManagement") or {}).get("IdleSettings"))
            }
            details = _compact(
                {
                    "domain_id": summary.get("DomainId"),
                    "tag_propagation": domain.get("TagPropagation"),
                    "auth_mode": domain.get("AuthMode"),
                    "app_network_access_type": domain.get("AppNetworkAccessType"),
                    "default_idle_settings": idle or None,
                    **result.evidence("DescribeDomain"),
                }
            )
            resources.append(
                self._resource(
                    "domain",
                    summary["DomainArn"],
                    summary.get("DomainName") or summary["DomainId"],
                    summary.get("Status"),
                    summary.get("CreationTime"),
                    details=details,
                )
            )
        return resources

    def _user_profiles(self, scan: _Scan) -> list[Resource]:
        resources = []
        for summary in self._items("ListUserProfiles", "UserProfiles"):
            domain_id, name = summary["DomainId"], summary["UserProfileName"]
            arn = self._built_arn("CreateUserProfile", {"domainId": domain_id, "userProfileName": name})
            resources.append(
                self._resource(
                    "user-profile",
                    arn,
                    name,
                    summary.get("Status"),
                    summary.get("CreationTime"),
                    details={"domain_id": domain_id},
                )
            )
        return resources

    def _spaces(self, scan: _Scan) -> list[Resource]:
        summaries = list(self._items("ListSpaces", "Spaces"))
        described = self._describe_each(
            scan,
            "space",
            "DescribeSpace",
            summaries,
            lambda s: {"DomainId": s["DomainId"], "SpaceName": s["SpaceName"]},
        )
        resources = []
        for summary, result in described:
            if result.gone:
                continue
            space = result.response or {}
            settings = space.get("SpaceSettings") or {}
            listed = summary.get("SpaceSettingsSummary") or {}
            app_type = settings.get("AppType") or listed.get("AppType")
            app_settings = settings.get(SPACE_APP_SETTINGS.get(app_type, ""), {}) or {}
            storage = settings.get("SpaceStorageSettings") or listed.get("SpaceStorageSettings") or {}
            idle = ((app_settings.get("AppLifecycleManagement") or {}).get("IdleSettings") or {}).get(
                "IdleTimeoutInMinutes"
            )
            domain_id, name = summary["DomainId"], summary["SpaceName"]
            details = _compact(
                {
                    "domain_id": domain_id,
                    "app_type": app_type,
                    # The space's compute is billed through its running app, not here.
                    "compute_billed_via": "app",
                    "owner_user_profile_name": (summary.get("OwnershipSettingsSummary") or {}).get(
                        "OwnerUserProfileName"
                    ),
                    "sharing_type": (summary.get("SpaceSharingSettingsSummary") or {}).get("SharingType"),
                    "ebs_volume_size_gb": (storage.get("EbsStorageSettings") or {}).get("EbsVolumeSizeInGb"),
                    "idle_timeout_minutes": idle,
                    **result.evidence("DescribeSpace"),
                }
            )
            arn = space.get("SpaceArn") or self._built_arn("CreateSpace", {"domainId": domain_id, "spaceName": name})
            resources.append(
                self._resource(
                    "space",
                    arn,
                    name,
                    summary.get("Status"),
                    summary.get("CreationTime"),
                    instance_type=(app_settings.get("DefaultResourceSpec") or {}).get("InstanceType"),
                    details=details,
                )
            )
        return resources

    def _apps(self, scan: _Scan) -> list[Resource]:
        resources = []
        for summary in self._items("ListApps", "Apps"):
            status = summary.get("Status")
            if status == "Deleted":  # ListApps keeps deleted apps visible for a while; they no longer exist
                continue
            owner_key = "userProfileName" if summary.get("UserProfileName") else "spaceName"
            owner = summary.get("UserProfileName") or summary.get("SpaceName")
            arn = self._built_arn(
                "CreateApp",
                {
                    "domainId": summary["DomainId"],
                    owner_key: owner,
                    "appType": summary["AppType"],
                    "appName": summary["AppName"],
                },
            )
            instance_type = (summary.get("ResourceSpec") or {}).get("InstanceType")
            running = status == "InService" and instance_type not in (None, "system")
            details = _compact(
                {
                    "domain_id": summary["DomainId"],
                    "app_type": summary["AppType"],
                    "user_profile_name": summary.get("UserProfileName"),
                    "space_name": summary.get("SpaceName"),
                }
            )
            resources.append(
                self._resource(
                    "app",
                    arn,
                    summary["AppName"],
                    status,
                    summary.get("CreationTime"),
                    running=running,
                    instance_type=instance_type,
                    instance_count=1 if running else 0,
                    details=details,
                )
            )
        return resources

    # -- jobs -------------------------------------------------------------------------------------------------

    def _training_jobs(self, scan: _Scan) -> list[Resource]:
        summaries = list(self._items("ListTrainingJobs", "TrainingJobSummaries", **self._since(scan)))
        described = self._describe_each(
            scan,
            "training-job",
            "DescribeTrainingJob",
            summaries,
            lambda s: {"TrainingJobName": s["TrainingJobName"]},
        )
        resources = []
        for summary, result in described:
            if result.gone:
                continue
            job = result.response or {}
            config = job.get("ResourceConfig") or {}
            # Heterogeneous clusters: one group per instance type; the job then has no single type.
            groups = tuple(
                InstanceGroup(g["InstanceGroupName"], g["InstanceType"], g["InstanceCount"], g["InstanceCount"])
                for g in config.get("InstanceGroups") or []
            )
            warm_pool = job.get("WarmPoolStatus") or {}
            status = summary.get("TrainingJobStatus")
            details = _compact(
                {
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
                    **result.evidence("DescribeTrainingJob"),
                }
            )
            resources.append(
                self._resource(
                    "training-job",
                    summary["TrainingJobArn"],
                    summary["TrainingJobName"],
                    status,
                    summary.get("CreationTime"),
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
                    details=details,
                )
            )
        return resources

    def _processing_jobs(self, scan: _Scan) -> list[Resource]:
        summaries = list(self._items("ListProcessingJobs", "ProcessingJobSummaries", **self._since(scan)))
        described = self._describe_each(
            scan,
            "processing-job",
            "DescribeProcessingJob",
            summaries,
            lambda s: {"ProcessingJobName": s["ProcessingJobName"]},
        )
        resources = []
        for summary, result in described:
            if result.gone:
                continue
            job = result.response or {}
            cluster = (job.get("ProcessingResources") or {}).get("ClusterConfig") or {}
            status = summary.get("ProcessingJobStatus")
            details = _compact(
                {
                    "volume_size_gb": cluster.get("VolumeSizeInGB"),
                    "monitoring_schedule_arn": job.get("MonitoringScheduleArn"),
                    "training_job_arn": job.get("TrainingJobArn"),
                    "automl_job_arn": job.get("AutoMLJobArn"),
                    "failure_reason": summary.get("FailureReason"),
                    **result.evidence("DescribeProcessingJob"),
                }
            )
            resources.append(
                self._resource(
                    "processing-job",
                    summary["ProcessingJobArn"],
                    summary["ProcessingJobName"],
                    status,
                    summary.get("CreationTime"),
                    running=status in RUNNING_JOB_STATUSES,
                    instance_type=cluster.get("SelectedInstanceType") or cluster.get("InstanceType"),
                    instance_count=cluster.get("SelectedInstanceCount") or cluster.get("InstanceCount") or 0,
                    started=job.get("ProcessingStartTime"),
                    ended=job.get("ProcessingEndTime") or summary.get("ProcessingEndTime"),
                    details=details,
                )
            )
        return resources

    def _transform_jobs(self, scan: _Scan) -> list[Resource]:
        summaries = list(self._items("ListTransformJobs", "TransformJobSummaries", **self._since(scan)))
        described = self._describe_each(
            scan,
            "transform-job",
            "DescribeTransformJob",
            summaries,
            lambda s: {"TransformJobName": s["TransformJobName"]},
        )
        resources = []
        for summary, result in described:
            if result.gone:
                continue
            job = result.response or {}
            compute = job.get("TransformResources") or {}
            status = summary.get("TransformJobStatus")
            details = _compact(
                {
                    "model_name": job.get("ModelName"),
                    "automl_job_arn": job.get("AutoMLJobArn"),
                    "labeling_job_arn": job.get("LabelingJobArn"),
                    "failure_reason": summary.get("FailureReason"),
                    **result.evidence("DescribeTransformJob"),
                }
            )
            resources.append(
                self._resource(
                    "transform-job",
                    summary["TransformJobArn"],
                    summary["TransformJobName"],
                    status,
                    summary.get("CreationTime"),
                    running=status in RUNNING_JOB_STATUSES,
                    instance_type=compute.get("InstanceType"),
                    instance_count=compute.get("InstanceCount") or 0,
                    started=job.get("TransformStartTime"),
                    ended=job.get("TransformEndTime") or summary.get("TransformEndTime"),
                    details=details,
                )
            )
        return resources

    def _tuning_jobs(self, scan: _Scan) -> list[Resource]:
        # The summary already carries the counters: no Describe. The cost is in the child training jobs.
        resources = []
        for summary in self._items(
            "ListHyperParameterTuningJobs", "HyperParameterTuningJobSummaries", **self._since(scan)
        ):
            status = summary.get("HyperParameterTuningJobStatus")
            limits = summary.get("ResourceLimits") or {}
            details = _compact(
                {
                    "cost_in_children": True,
                    "strategy": summary.get("Strategy"),
                    "training_job_status_counters": summary.get("TrainingJobStatusCounters"),
                    "objective_status_counters": summary.get("ObjectiveStatusCounters"),
                    "max_number_of_training_jobs": limits.get("MaxNumberOfTrainingJobs"),
                    "max_parallel_training_jobs": limits.get("MaxParallelTrainingJobs"),
                }
            )
            resources.append(
                self._resource(
                    "hyper-parameter-tuning-job",
                    summary["HyperParameterTuningJobArn"],
                    summary["HyperParameterTuningJobName"],
                    status,
                    summary.get("CreationTime"),
                    running=status in RUNNING_JOB_STATUSES,
                    ended=summary.get("HyperParameterTuningEndTime"),
                    details=details,
                )
            )
        return resources

    def _automl_jobs(self, scan: _Scan) -> list[Resource]:
        # Lists V1 and V2 jobs alike; their cost is in the training, processing and transform jobs they start.
        resources = []
        for summary in self._items("ListAutoMLJobs", "AutoMLJobSummaries", **self._since(scan)):
            status = summary.get("AutoMLJobStatus")
            details = _compact(
                {
                    "cost_in_children": True,
                    "secondary_status": summary.get("AutoMLJobSecondaryStatus"),
                    "failure_reason": summary.get("FailureReason"),
                }
            )
            resources.append(
                self._resource(
                    "automl-job",
                    summary["AutoMLJobArn"],
                    summary["AutoMLJobName"],
                    status,
                    summary.get("CreationTime"),
                    running=status in RUNNING_JOB_STATUSES,
                    ended=summary.get("EndTime"),
                    details=details,
                )
            )
        return resources

    def _labeling_jobs(self, scan: _Scan) -> list[Resource]:
        # Ground Truth bills per labeled object (plus the workforce); active-learning jobs are children.
        resources = []
        for summary in self._items("ListLabelingJobs", "LabelingJobSummaryList", **self._since(scan)):
            status = summary.get("LabelingJobStatus")
            details = _compact(
                {
                    "billed_per_labeled_object": True,
                    "label_counters": summary.get("LabelCounters"),
                    "workteam_arn": summary.get("WorkteamArn"),
                    "failure_reason": summary.get("FailureReason"),
                }
            )
            resources.append(
                self._resource(
                    "labeling-job",
                    summary["LabelingJobArn"],
                    summary["LabelingJobName"],
                    status,
                    summary.get("CreationTime"),
                    running=status in RUNNING_JOB_STATUSES,
                    details=details,
                )
            )
        return resources

    def _compilation_jobs(self, scan: _Scan) -> list[Resource]:
        # The summary carries start and end times; no API exposes the compilation instance type.
        resources = []
        for summary in self._items("ListCompilationJobs", "CompilationJobSummaries", **self._since(scan)):
            status = summary.get("CompilationJobStatus")
            details = _compact(
                {
                    "instance_type_not_exposed": True,
                    "target_device": summary.get("CompilationTargetDevice"),
                    "target_platform_os": summary.get("CompilationTargetPlatformOs"),
                    "target_platform_arch": summary.get("CompilationTargetPlatformArch"),
                    "target_platform_accelerator": summary.get("CompilationTargetPlatformAccelerator"),
                }
            )
            resources.append(
                self._resource(
                    "compilation-job",
                    summary["CompilationJobArn"],
                    summary["CompilationJobName"],
                    status,
                    summary.get("CreationTime"),
                    running=status in RUNNING_JOB_STATUSES,
                    started=summary.get("CompilationStartTime"),
                    ended=summary.get("CompilationEndTime"),
                    details=details,
                )
            )
        return resources

    # -- feature store and HyperPod ---------------------------------------------------------------------------

    def _feature_groups(self, scan: _Scan) -> list[Resource]:
        summaries = list(self._items("ListFeatureGroups", "FeatureGroupSummaries"))
        described = self._describe_each(
            scan,
            "feature-group",
            "DescribeFeatureGroup",
            summaries,
            lambda s: {"FeatureGroupName": s["FeatureGroupName"]},
        )
        resources = []
        for summary, result in described:
            if result.gone:
                continue
            group = result.response or {}
            online = group.get("OnlineStoreConfig") or {}
            throughput = group.get("ThroughputConfig") or {}
            ttl = online.get("TtlDuration") or {}
            details = _compact(
                {
                    # Feature Store bills reads, writes and storage, not instance hours.
                    "online_store": bool(online.get("EnableOnlineStore")) if result.response else None,
                    "online_storage_type": online.get("StorageType"),
                    "online_ttl": f"{ttl['Value']} {ttl['Unit']}" if ttl.get("Value") and ttl.get("Unit") else None,
                    "online_store_size_bytes": group.get("OnlineStoreTotalSizeBytes"),
                    "offline_store_s3_uri": ((group.get("OfflineStoreConfig") or {}).get("S3StorageConfig") or {}).get(
                        "S3Uri"
                    ),
                    "throughput_mode": throughput.get("ThroughputMode"),
                    "provisioned_read_capacity_units": throughput.get("ProvisionedReadCapacityUnits"),
                    "provisioned_write_capacity_units": throughput.get("ProvisionedWriteCapacityUnits"),
                    **result.evidence("DescribeFeatureGroup"),
                }
            )
            resources.append(
                self._resource(
                    "feature-group",
                    summary["FeatureGroupArn"],
                    summary["FeatureGroupName"],
                    summary.get("FeatureGroupStatus"),
                    summary.get("CreationTime"),
                    details=details,
                )
            )
        return resources

    def _clusters(self, scan: _Scan) -> list[Resource]:
        summaries = list(self._items("ListClusters", "ClusterSummaries"))
        described = self._describe_each(
            scan, "cluster", "DescribeCluster", summaries, lambda s: {"ClusterName": s["ClusterName"]}
        )
        resources = []
        for summary, result in described:
            if result.gone:
                continue
            cluster = result.response or {}
            groups, group_details = _cluster_groups(cluster)
            status = cluster.get("ClusterStatus") or summary.get("ClusterStatus")
            orchestrator = cluster.get("Orchestrator") or {}
            details = _compact(
                {
                    "orchestrator": next(iter(orchestrator), None),
                    "node_recovery": cluster.get("NodeRecovery"),
                    "failure_message": cluster.get("FailureMessage"),
                    **group_details,
                    **result.evidence("DescribeCluster"),
                }
            )
            instance_types = {g.instance_type for g in groups}
            resources.append(
                self._resource(
                    "cluster",
                    summary["ClusterArn"],
                    summary["ClusterName"],
                    status,
                    summary.get("CreationTime"),
                    running=status in CLUSTER_NODE_STATUSES and any(g.current_count > 0 for g in groups),
                    instance_type=instance_types.pop() if len(instance_types) == 1 else None,
                    instance_count=sum(g.current_count for g in groups),
                    instance_groups=groups,
                    details=details,
                )
            )
        return resources


# The List call of each type: what a failing type is reported under when the error names no operation.
_LIST_OPERATION = {
    "endpoint": "ListEndpoints",
    "inference-component": "ListInferenceComponents",
    "notebook-instance": "ListNotebookInstances",
    "domain": "ListDomains",
    "user-profile": "ListUserProfiles",
    "space": "ListSpaces",
    "app": "ListApps",
    "training-job": "ListTrainingJobs",
    "processing-job": "ListProcessingJobs",
    "transform-job": "ListTransformJobs",
    "hyper-parameter-tuning-job": "ListHyperParameterTuningJobs",
    "automl-job": "ListAutoMLJobs",
    "labeling-job": "ListLabelingJobs",
    "compilation-job": "ListCompilationJobs",
    "feature-group": "ListFeatureGroups",
    "cluster": "ListClusters",
}


def _endpoint_variants(endpoint: Mapping[str, Any], config: Mapping[str, Any]) -> tuple[tuple[Variant, ...], dict]:
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
            "shadow_variant_names": shadow_names or None,
            "serverless_provisioned_concurrency": provisioned or None,
            "instance_pools": pools or None,
        }
    )
    return tuple(variants), details


def _cluster_groups(cluster: Mapping[str, Any]) -> tuple[tuple[InstanceGroup, ...], dict]:
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


def _cache_key(config_name: str, endpoint: Mapping[str, Any]) -> str:
    modified = endpoint.get("LastModifiedTime")
    stamp = modified.isoformat() if isinstance(modified, datetime) else str(modified)
    return f"{config_name}@{endpoint.get('EndpointArn')}@{stamp}"


def _not_found(err: ClientError) -> bool:
    error = err.response.get("Error", {})
    message = str(error.get("Message", "")).lower()
    return error.get("Code") in _NOT_FOUND_CODES or (
        error.get("Code") == "ValidationException" and any(phrase in message for phrase in _NOT_FOUND_PHRASES)
    )


def _error_parts(err: Exception) -> tuple[str, str]:
    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        return str(error.get("Code") or "ClientError"), str(error.get("Message") or err)
    return type(err).__name__, str(err)


def _label(params: Mapping[str, Any]) -> str:
    return "/".join(str(value) for value in params.values())


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _compact(values: Mapping[str, Any]) -> dict[str, Any]:
    """Drops absent facts (None, and the empty strings some responses carry for unset members)."""
    return {key: value for key, value in values.items() if value is not None and value != ""}
