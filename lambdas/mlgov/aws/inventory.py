"""Discovers the SageMaker resources of one account and region: one generic collector over the per-type table
mlgov.domain.discovery.RESOURCE_KINDS, which names the calls and holds each type's billing rule.

Per type the calls are: Search where it serves the type (100 resources a page with their tags), else one paginated
List (page size = the model's MaxResults maximum), a Describe per resource only where the list summary lacks what
costing needs, and one ListTags per resource. Endpoint configs are described once per distinct config, or taken from
an EndpointConfigCache. Describe and ListTags calls run on a bounded thread pool. A failing List turns
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

from mlgov.domain.discovery import ENDPOINT_CONFIG, RESOURCE_KINDS, SUPPORTED_TYPES, Observed, ResourceKind
from mlgov.domain.inventory import Resource, ScanError
from mlgov.domain.snapshot import jsonable

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

    def retain(self, account: str, region: str, names: Collection[str]) -> None:
        """Forgets the account-region's entries not in `names` (configs of endpoints deleted or changed since)."""
        prefix, kept = f"{account}/{region}/", {f"{account}/{region}/{name}" for name in names}
        with self._lock:
            stale = [key for key in self._entries if key.startswith(prefix) and key not in kept]
            for key in stale:
                del self._entries[key]
            self.changed = self.changed or bool(stale)

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

    def failures(self, operation: str | None) -> tuple[str, ...]:
        return (f"{operation} failed: {self.failure}",) if self.failure else ()


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
                        found = self._collect_kind(scan, resource_type)
                    except (ClientError, BotoCoreError) as err:
                        code, message = _error_parts(err)
                        operation = getattr(err, "operation_name", None) or RESOURCE_KINDS[resource_type].list_operation
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
                if not_found(err):
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

    # -- the generic collector --------------------------------------------------------------------------------

    def _collect_kind(self, scan: _Scan, resource_type: str) -> list[Resource]:
        """One type, as RESOURCE_KINDS describes it: Search or List (+ Describe), then the type's billing rule."""
        kind = RESOURCE_KINDS[resource_type]
        listed = self._listed(scan, resource_type, kind)
        configs = (
            self._endpoint_configs(scan, [d.response for _, d in listed if d.response])
            if resource_type == "endpoint"
            else {}
        )
        resources = []
        for summary, described in listed:
            if described.gone or not kind.exists(summary):
                continue
            response = described.response or {}
            related: dict[str, Mapping[str, Any]] = {}
            related_gone: set[str] = set()
            incomplete = described.failures(kind.describe_operation)
            if (config := configs.get(response.get("EndpointConfigName", ""))) is not None:
                related[ENDPOINT_CONFIG] = config.response or {}
                related_gone |= {ENDPOINT_CONFIG} if config.gone else set()
                incomplete += config.failures(ENDPOINT_CONFIG)
            observed = Observed(
                self._account,
                self._region,
                self._partition,
                summary=summary,
                described=response,
                related=related,
                related_gone=frozenset(related_gone),
                incomplete=incomplete,
            )
            resources.append(kind.resource(resource_type, observed))
        return resources

    def _listed(self, scan: _Scan, resource_type: str, kind: ResourceKind) -> list[tuple[dict, _Described]]:
        """(summary, Describe outcome) of every resource of the type. Where Search serves the type (100 a page, the
        Describe shape with the tags: no Describe, no ListTags) each record is both; where Search is refused, List +
        Describe. Types without a Describe stand on their summaries."""
        if kind.search_resource:
            records = self._searched(kind.search_resource)
            if records is not None:
                return [(record, _Described(response=record)) for record in records]
        since = {"CreationTimeAfter": scan.now - self._lookback} if kind.recent_only else {}
        summaries = list(self._items(kind.list_operation, kind.result_key, **since))
        if not kind.describe_operation:
            return [(summary, _Described()) for summary in summaries]
        return self._describe_each(scan, resource_type, kind.describe_operation, summaries, kind.describe_request)

    def _searched(self, resource: str) -> list[dict[str, Any]] | None:
        """Every record Search returns for `resource`, its tags remembered for _with_tags; None when Search is
        refused (no sagemaker:Search in the caller's policy, or a partition without it)."""
        try:
            records = [r[resource] for r in self._items("Search", "Results", Resource=resource) if resource in r]
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") not in _SEARCH_REFUSED:
                raise
            return None
        arn_member = f"{resource}Arn"
        for record in records:
            self._tags_known[record[arn_member]] = {t["Key"]: t.get("Value", "") for t in record.get("Tags", [])}
        return records

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
        if self._config_cache is not None:
            in_use = [_cache_key(name, endpoint) for name, using in users.items() for endpoint in using]
            self._config_cache.retain(self._account, self._region, in_use)
        return configs


def _cache_key(config_name: str, endpoint: Mapping[str, Any]) -> str:
    modified = endpoint.get("LastModifiedTime")
    stamp = modified.isoformat() if isinstance(modified, datetime) else str(modified)
    return f"{config_name}@{endpoint.get('EndpointArn')}@{stamp}"


def not_found(err: ClientError) -> bool:
    """SageMaker says the resource does not exist (in any of its phrasings)."""
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
