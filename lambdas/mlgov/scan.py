"""`mlgov scan`: inventory every account × region concurrently, price, judge and report (read-only)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from mlgov.aws.sessions import RETRY_CONFIG, AccountSessions
from mlgov.domain.costing import Cost, cost_of
from mlgov.domain.inventory import Resource, ScanError
from mlgov.domain.pricing import PriceTable
from mlgov.domain.report import Verdict, build_report, lifecycle_verdict
from mlgov.domain.tag_schema import TagSchema

Judge = Callable[[Sequence[tuple[Resource, Cost]]], list[Verdict]]


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


def discover(session: boto3.Session, request: ScanRequest, now: datetime, inventory_factory=None) -> ScanResult:
    """Inventory every (account, region) with a bounded pool; one failure becomes an error entry."""
    from mlgov.aws.inventory import SageMakerInventory

    inventory_factory = inventory_factory or SageMakerInventory
    caller = _caller_account(session, request.endpoint_url)
    accounts = list(request.accounts or _organization_accounts(session, request, caller))
    sessions = AccountSessions(
        hub_account=caller,
        role_name=request.assume_role or "",
        base_session=session,
        endpoint_url=request.endpoint_url,
        session_name="mlgov-scan",
    )
    if not request.assume_role:
        foreign = [account for account in accounts if account != caller]
        if foreign:
            raise ScanSetupError(f"--accounts includes {', '.join(foreign)}: pass --assume-role to scan them")

    def scan_one(account: str, region: str) -> tuple[list[Resource], list[ScanError], int]:
        try:
            client = sessions.client("sagemaker", account, region)
            inventory = inventory_factory(
                client,
                account,
                region,
                resource_types=request.resource_types,
                max_workers=request.per_region_workers,
                job_lookback_days=request.job_lookback_days,
                now=now,
            )
            resources, errors = inventory.collect()
            return resources, errors, sum(inventory.api_calls.values())
        except (ClientError, BotoCoreError) as err:
            return [], [ScanError(account, region, _operation(err), str(err))], 0

    result = ScanResult(accounts=accounts)
    if request.ledger_table:
        result.resources.extend(_ledger_jobs(session, request, now, set(accounts)))
    tasks = [(account, region) for account in accounts for region in request.regions]
    with ThreadPoolExecutor(max_workers=max(1, min(request.max_workers, len(tasks) or 1))) as pool:
        for resources, errors, calls in pool.map(lambda task: scan_one(*task), tasks):
            result.resources.extend(resources)
            result.errors.extend(errors)
            result.api_calls += calls
    result.resources = merge_ledger(result.resources)
    return result


def report(
    result: ScanResult,
    request: ScanRequest,
    prices: PriceTable,
    schema: TagSchema,
    now: datetime,
    judge: Judge | None = None,
) -> dict:
    """Price and judge every resource; `judge` (zombie/idle detection) may override the lifecycle verdicts."""
    costed = [(resource, cost_of(resource, prices, now)) for resource in result.resources]
    verdicts = [lifecycle_verdict(resource, cost, schema, now.date()) for resource, cost in costed]
    if judge is not None:
        verdicts = [override or base for override, base in zip(judge(costed), verdicts, strict=True)]
    items = [(resource, cost, verdict) for (resource, cost), verdict in zip(costed, verdicts, strict=True)]
    scope = {"accounts": result.accounts, "regions": list(request.regions)}
    pricing = {"as_of": prices.as_of, "source": prices.source, "currency": prices.currency}
    return build_report(items, result.errors, scope, schema, now, pricing)


def _ledger_jobs(session: boto3.Session, request: ScanRequest, now: datetime, accounts: set[str]) -> list[Resource]:
    """Finished jobs from the hub's ledger within the lookback, for the scanned accounts and regions."""
    from datetime import timedelta

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


def _caller_account(session: boto3.Session, endpoint_url: str | None) -> str:
    try:
        sts = session.client("sts", config=RETRY_CONFIG, endpoint_url=endpoint_url)
        return sts.get_caller_identity()["Account"]
    except (ClientError, BotoCoreError) as err:
        raise ScanSetupError(f"cannot identify the caller (credentials?): {err}") from None


def _organization_accounts(session: boto3.Session, request: ScanRequest, caller: str) -> list[str]:
    if not request.assume_role:
        return [caller]
    try:
        organizations = session.client("organizations", config=RETRY_CONFIG, endpoint_url=request.endpoint_url)
        accounts = []
        for page in organizations.get_paginator("list_accounts").paginate():
            accounts += [a["Id"] for a in page["Accounts"] if a.get("State", a.get("Status")) == "ACTIVE"]
        return sorted(accounts)
    except (ClientError, BotoCoreError) as err:
        raise ScanSetupError(f"cannot list the organization's accounts (pass --accounts instead): {err}") from None


def _operation(err: Exception) -> str:
    return getattr(err, "operation_name", None) or type(err).__name__
