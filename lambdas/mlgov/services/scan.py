"""The scan use case, for `mlgov scan` and the scanner Lambda alike: which accounts, one account-region's inventory,
usage judging (zombie endpoints, idle notebooks and apps) and the priced report.

- `scan_account_region` inventories one account × region; the CLI runs it on a pool (`discover`), the Lambda once
  per Distributed Map item. An access failure is an error entry, never an exception.
- Accounts: explicit ones, else `mlgov.aws.organization.organization_accounts` (the walk the Lambda and the HyperPod
  scheduler use too).
- `UsageJudge` reads usage (batched GetMetricData per account-region) and returns one `Judgement` — verdicts, the
  errors met, the `last-invoked` tag values, the calls made — mutating nothing; `report` applies it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from mlgov.aws.inventory import EndpointConfigCache
from mlgov.aws.organization import OrganizationUnreadable, organization_accounts
from mlgov.aws.sessions import RETRY_CONFIG, AccountSessions
from mlgov.domain.around_costs import Measured, with_around_costs
from mlgov.domain.costing import Cost, cost_of
from mlgov.domain.inventory import Resource, ScanError
from mlgov.domain.pricing import Prices
from mlgov.domain.report import Verdict, build_report, lifecycle_verdict
from mlgov.domain.tag_schema import TagSchema
from mlgov.domain.zombies import (
    LAST_INVOKED_TAG,
    Usage,
    ZombiePolicy,
    combine,
    judge_endpoint,
    judge_idle,
    last_invoked_tag,
    studio_guards,
)
from mlgov.services.local_cache import read_json, write_json_atomically

ClientFactory = Callable[[str, str], Any]  # (account, region) -> a boto3 client


@dataclass(frozen=True)
class ScanRequest:
    regions: Sequence[str]
    accounts: Sequence[str] | None = None  # None: the caller's account, or the organization with assume_role
    assume_role: str | None = None
    resource_types: Sequence[str] | None = None
    max_workers: int = 8  # account × region tasks at once
    per_region_workers: int = 8  # ListTags / Describe calls at once inside one account-region
    job_lookback_days: int = 45
    endpoint_url: str | None = None
    ledger_table: str | None = None  # hub job-cost ledger (DynamoDB) to add jobs List* no longer returns


@dataclass
class ScanResult:
    resources: list[Resource] = field(default_factory=list)
    errors: list[ScanError] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    api_calls: int = 0


class ScanSetupError(RuntimeError):
    """The scan cannot start (no credentials, cannot list the organization); one line for the user."""


# --- one account × region ------------------------------------------------------------------------------------------


def scan_account_region(
    sessions: AccountSessions,
    account: str,
    region: str,
    now: datetime,
    *,
    resource_types: Sequence[str] | None = None,
    per_region_workers: int = 8,
    job_lookback_days: int = 45,
    inventory_factory=None,
    config_cache: EndpointConfigCache | None = None,
) -> ScanResult:
    """Every SageMaker resource of one account-region (read-only); an access failure is an error entry.
    `config_cache`: endpoint configs described in earlier scans (kept by the caller between runs)."""
    from mlgov.aws.inventory import SageMakerInventory

    result = ScanResult(accounts=[account])
    try:
        inventory = (inventory_factory or SageMakerInventory)(
            sessions.client("sagemaker", account, region),
            account,
            region,
            resource_types=resource_types,
            max_workers=per_region_workers,
            job_lookback_days=job_lookback_days,
            now=now,
            **({"config_cache": config_cache} if config_cache is not None else {}),
        )
        result.resources, result.errors = inventory.collect()
        result.api_calls = sum(inventory.api_calls.values())
    except (ClientError, BotoCoreError) as err:
        result.errors.append(ScanError(account, region, operation_of(err), str(err)))
    return result


def discover(
    session: boto3.Session,
    request: ScanRequest,
    now: datetime,
    inventory_factory=None,
    config_cache: EndpointConfigCache | None = None,
) -> ScanResult:
    """`mlgov scan`: every (account, region) of the request on a bounded pool, plus the hub's job ledger."""
    caller = caller_account(session, request.endpoint_url)
    sessions = scan_sessions(session, request, caller)
    if request.accounts:
        accounts = list(request.accounts)
    elif request.assume_role:
        organizations = session.client("organizations", config=RETRY_CONFIG, endpoint_url=request.endpoint_url)
        try:
            accounts = organization_accounts(organizations, caller)
        except OrganizationUnreadable as err:
            raise ScanSetupError(f"{err} (pass --accounts instead)") from None
    else:
        accounts = [caller]
    if not request.assume_role:
        foreign = [account for account in accounts if account != caller]
        if foreign:
            raise ScanSetupError(f"--accounts includes {', '.join(foreign)}: pass --assume-role to scan them")

    def scan_one(task: tuple[str, str]) -> ScanResult:
        return scan_account_region(
            sessions,
            *task,
            now,
            resource_types=request.resource_types,
            per_region_workers=request.per_region_workers,
            job_lookback_days=request.job_lookback_days,
            inventory_factory=inventory_factory,
            config_cache=config_cache,
        )

    result = ScanResult(accounts=accounts)
    if request.ledger_table:
        result.resources.extend(_ledger_jobs(session, request, now, set(accounts)))
    tasks = [(account, region) for account in accounts for region in request.regions]
    with ThreadPoolExecutor(max_workers=max(1, min(request.max_workers, len(tasks) or 1))) as pool:
        for part in pool.map(scan_one, tasks):
            result.resources.extend(part.resources)
            result.errors.extend(part.errors)
            result.api_calls += part.api_calls
    result.resources = merge_ledger(result.resources)
    return result


def scan_sessions(session: boto3.Session, request: ScanRequest, caller: str) -> AccountSessions:
    """The CLI's sessions: the caller's own credentials in its account, `--assume-role` elsewhere."""
    return AccountSessions(
        hub_account=caller,
        role_name=request.assume_role or "",
        base_session=session,
        endpoint_url=request.endpoint_url,
        session_name="mlgov-scan",
    )


def caller_account(session: boto3.Session, endpoint_url: str | None) -> str:
    try:
        sts = session.client("sts", config=RETRY_CONFIG, endpoint_url=endpoint_url)
        return sts.get_caller_identity()["Account"]
    except (ClientError, BotoCoreError) as err:
        raise ScanSetupError(f"cannot identify the caller (credentials?): {err}") from None


# --- usage ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Judgement:
    """What usage judging found: a verdict (or None: keep the lifecycle verdict) per item, the account-regions whose
    metrics could not be read, `last-invoked` tag values ({endpoint ARN: YYYY-MM-DD}) and GetMetricData calls."""

    verdicts: list[Verdict | None]
    errors: list[ScanError] = field(default_factory=list)
    last_invoked: dict[str, str] = field(default_factory=dict)
    calls: int = 0


Judge = Callable[[Sequence[tuple[Resource, Cost]]], Judgement]


def cloudwatch_clients(sessions: AccountSessions) -> ClientFactory:
    """CloudWatch clients made per account and region the way the scan makes SageMaker ones."""
    return lambda account, region: sessions.client("cloudwatch", account, region)


@dataclass(frozen=True)
class UsageJudge:
    """A `Judge`: zombie endpoints from batched GetMetricData per account-region (on a bounded pool), idle notebooks
    and Studio apps from their own fields. A failing CloudWatch leaves its endpoints `unknown`, never `zombie`."""

    clients: ClientFactory  # (account, region) -> CloudWatch client
    policy: ZombiePolicy
    now: datetime
    schema: TagSchema
    max_workers: int = 8

    def __call__(self, items: Sequence[tuple[Resource, Cost]]) -> Judgement:
        resources = [resource for resource, _ in items]
        endpoints = [r for r in resources if r.resource_type == "endpoint" and r.running]
        components = [r for r in resources if r.resource_type == "inference-component"]
        groups: dict[tuple[str, str], list[Resource]] = defaultdict(list)
        for endpoint in endpoints:
            groups[(endpoint.account, endpoint.region)].append(endpoint)
        usage: dict[str, Verdict] = {}
        errors: list[ScanError] = []
        last_invoked: dict[str, str] = {}
        calls = 0
        if groups:
            workers = min(max(1, self.max_workers), len(groups))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlgov-zombies") as pool:
                outcomes = list(pool.map(lambda key: self._judge_group(*key, groups[key], components), groups))
            for found, group_calls, error, tags in outcomes:
                usage.update(found)
                calls += group_calls
                last_invoked.update(tags)
                errors.extend([error] if error else [])
        guards = studio_guards(resources)
        verdicts: list[Verdict | None] = []
        for resource, cost in items:
            verdict = usage.get(resource.arn) if resource.resource_type == "endpoint" else None
            if verdict is None and resource.resource_type in ("notebook-instance", "app"):
                verdict = judge_idle(resource, self.policy, self.now, guards)
            lifecycle = lifecycle_verdict(resource, cost, self.schema, self.now.date()) if verdict else None
            verdicts.append(combine(verdict, lifecycle) if verdict else None)
        return Judgement(verdicts, errors, last_invoked, calls)

    def _judge_group(self, account: str, region: str, endpoints: list[Resource], components: list[Resource]):
        """(verdict per ARN, GetMetricData calls, error, last-invoked tag values) for one account-region."""
        from mlgov.aws.metrics import EndpointUsageCollector

        collector = None
        try:
            collector = EndpointUsageCollector(self.clients(account, region), self.policy, self.now)
            usages = collector.usage(endpoints, components)
        except (ClientError, BotoCoreError) as err:
            operation = getattr(err, "operation_name", None) or "GetMetricData"
            reason = f"usage not read: {operation} failed: {err}"
            unknown = {e.arn: Verdict("unknown", reason, {"usage_error": str(err)}) for e in endpoints}
            calls = collector.calls if collector else 0
            return unknown, calls, ScanError(account, region, operation, str(err)), {}
        found = {e.arn: judge_endpoint(e, usages.get(e.arn, Usage({})), self.policy, self.now) for e in endpoints}
        tags = {
            e.arn: value
            for e in endpoints
            if e.arn in usages and (value := last_invoked_tag(usages[e.arn], e.tags.get(LAST_INVOKED_TAG)))
        }
        return found, collector.calls, None, tags


# --- the report ----------------------------------------------------------------------------------------------------


def report(
    result: ScanResult,
    request: ScanRequest,
    prices: Prices,
    schema: TagSchema,
    now: datetime,
    judge: Judge | None = None,
    around: Measured | None = None,
) -> tuple[dict, Judgement | None]:
    """Price every resource, judge it (usage verdicts override lifecycle ones) and build the report, whose errors
    include the judge's; (report, judgement). A judge that fails as a whole leaves the lifecycle verdicts standing
    and becomes one error entry per account-region. `around` (services.around_costs.measure_around) adds the costs
    around the endpoints and marks multi-model endpoints shared."""
    costed = [(resource, cost_of(resource, prices, now)) for resource in result.resources]
    verdicts = [lifecycle_verdict(resource, cost, schema, now.date()) for resource, cost in costed]
    errors = list(result.errors)
    judgement = None
    if judge is not None and costed:
        try:
            judgement = judge(costed)
        except (ClientError, BotoCoreError) as err:
            judgement = Judgement(
                [None] * len(costed),
                [ScanError(account, region, operation_of(err), str(err)) for account, region in _places(costed)],
            )
        verdicts = [override or base for override, base in zip(judgement.verdicts, verdicts, strict=True)]
        errors += judgement.errors
    items = [(resource, cost, verdict) for (resource, cost), verdict in zip(costed, verdicts, strict=True)]
    scope = {"accounts": result.accounts, "regions": list(request.regions)}
    loaded_models = around.loaded_models if around is not None else None
    document = build_report(items, errors, scope, schema, now, prices.summary(), loaded_models)
    if around is not None:
        document = with_around_costs(document, around)
    return document, judgement


def _places(costed: Sequence[tuple[Resource, Cost]]) -> list[tuple[str, str]]:
    return sorted({(resource.account, resource.region) for resource, _ in costed})


# --- the job ledger ------------------------------------------------------------------------------------------------


def _ledger_jobs(session: boto3.Session, request: ScanRequest, now: datetime, accounts: set[str]) -> list[Resource]:
    """Finished jobs from the hub's ledger within the lookback, for the scanned accounts and regions."""
    from mlgov.aws.ledger_table import LedgerTable
    from mlgov.domain.ledger import NotALedgerItem, resource_from_ledger_item

    client = session.client("dynamodb", config=RETRY_CONFIG, endpoint_url=request.endpoint_url)
    try:
        rows = LedgerTable(client, request.ledger_table).read_rows(now - timedelta(days=request.job_lookback_days))
    except (ClientError, BotoCoreError) as err:
        raise ScanSetupError(f"cannot read the job ledger {request.ledger_table}: {err}") from None
    jobs = []
    for row in rows:
        try:
            job = resource_from_ledger_item(row)
        except NotALedgerItem:
            continue
        if job.account in accounts and job.region in request.regions:
            jobs.append(job)
    return jobs


def merge_ledger(resources: list[Resource]) -> list[Resource]:
    """Live inventory wins; ledger rows only add jobs the List* APIs no longer return (same ARN, any case)."""
    live = {r.arn.lower() for r in resources if r.details.get("source") != "ledger"}
    seen: set[str] = set()
    merged = []
    for resource in resources:
        key = resource.arn.lower()
        if resource.details.get("source") == "ledger" and (key in live or key in seen):
            continue
        seen.add(key)
        merged.append(resource)
    return merged


def operation_of(err: Exception) -> str:
    """The AWS operation an error came from (its class name when botocore does not say)."""
    return getattr(err, "operation_name", None) or type(err).__name__


# --- the endpoint-config cache between runs -------------------------------------------------------------------------


def load_config_cache(path) -> EndpointConfigCache:
    """The CLI's cache file (JSON); an unreadable or missing one starts empty (it only saves calls)."""
    entries = read_json(path)
    return EndpointConfigCache(entries if isinstance(entries, dict) else {})


def save_config_cache(cache: EndpointConfigCache, path) -> None:
    """Write the cache file when the scan described anything new."""
    if cache.changed:
        write_json_atomically(path, cache.dump())
