"""What one SageMaker resource costs (hourly, per month, month-to-date, month-end forecast, job run) and why.

What "a month" means is decided here, once:
- `monthly_cost_usd` of a resource billed by the hour and every `waste_usd_month` is a run rate: the hourly price ×
  `HOURS_PER_MONTH` (730 h = 8,760 h a year / 12, the month of the AWS Pricing Calculator). It is the same figure on
  every day of every month, so a report from 31 January compares with one from 28 February.
- A job's `monthly_cost_usd` is what its run bills inside the current UTC calendar month (it has no run rate).
- `month_end_forecast_usd` is the calendar figure: for a resource billed by the hour, month to date plus the hourly
  price × the real hours left in the UTC month (`hours_left_in_month`: 28 to 31 days, DST never changes a UTC month);
  for a job, what its run has billed this month so far (a run's end is not forecast).
- `waste_usd_month` (domain/report.py) is the run rate for a resource billed by the hour, a job's monthly cost.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mlgov.domain.inventory import Resource, Variant
from mlgov.domain.pricing import Prices

SECONDS_PER_HOUR = 3600
HOURS_PER_MONTH = 730  # 8,760 h / 12: the AWS Pricing Calculator's month; every run-rate "per month" figure uses it
MINIMUM_BILLED_SECONDS_PER_INSTANCE = 60  # SageMaker bills per second with a 1-minute minimum per instance

# The price-table component each type is billed under (the table falls back to hosting prices without an override):
# HyperPod nodes and Studio apps have Price List usage kinds of their own, distinct from notebook instances.
JOB_COMPONENT = {"training-job": "training", "processing-job": "processing", "transform-job": "transform"}
PERSISTENT_COMPONENT = {"endpoint": "hosting", "cluster": "cluster", "notebook-instance": "notebook", "app": "studio"}
SINGLE_INSTANCE_TYPES = frozenset({"notebook-instance", "app"})  # always exactly one instance while running

# Parents whose instances run as child jobs (TuningJobArn / AutoMLJobArn on the children): the children are listed
# and priced on their own, so pricing the parent as well would count the same instance-seconds twice.
BILLED_THROUGH_CHILD_JOBS = {
    "hyper-parameter-tuning-job": "its training jobs",
    "automl-job": "its training, processing and transform jobs",
}
# Billed by something other than instance time; no instance type in the API to price.
NOT_ESTIMATED = {
    "feature-group": "online store billed per request and storage: not estimated",
    "labeling-job": "Ground Truth bills per labeled object: not estimated",
    "compilation-job": "Neo compilation reports no instance type: not estimated",
    "mlflow-app": "serverless MLflow: billed per use, not estimated",
}
SERVERLESS_REASON = "serverless: billed per request, ≈ $0 idle"
STUDIO_SYSTEM_INSTANCE = "system"
WARM_POOL_BILLED_STATUS = "Available"  # retained instances bill while Available; InUse bills the job reusing them


@dataclass(frozen=True)
class Cost:
    hourly_usd: float | None  # billed per hour right now (persistent: sum over variants/groups; running job: its rate)
    month_to_date_usd: float | None
    monthly_cost_usd: float | None  # persistent: hourly × HOURS_PER_MONTH (run rate); jobs: run cost this month
    run_cost_usd: float | None  # jobs: billable s (1-minute minimum per instance) × instances × hourly / 3600
    spot_savings_pct: float | None  # managed spot training only: (1 − billable/training) × 100
    reason: str
    month_end_forecast_usd: float | None = None  # month to date + hourly × the real hours left in the UTC month
    price_source: str | None = None  # the price table(s) that priced it ("AWS Price List, fetched 2026-12-01")


@dataclass(frozen=True)
class _Slice:
    """Instances of one type inside a resource: an endpoint variant, a HyperPod or training instance group."""

    label: str | None
    instance_type: str | None
    count: int
    serverless: bool = False
    unpriced_reason: str | None = None  # billed, but not per instance-hour


def cost_of(resource: Resource, prices: Prices, now: datetime) -> Cost:
    """The cost of `resource` at `now`; every field None with the reason when a price is unknown (never a guess)."""
    now = _utc(now)
    kind = resource.resource_type
    if kind in NOT_ESTIMATED:
        return _unpriced(NOT_ESTIMATED[kind])
    if kind in BILLED_THROUGH_CHILD_JOBS:
        return _nothing_billed(f"billed through {BILLED_THROUGH_CHILD_JOBS[kind]}, each priced on its own", job=True)
    if kind == "inference-component":
        endpoint = resource.details.get("endpoint_name") or "(unknown)"
        return _nothing_billed(f"billed through endpoint {endpoint}")
    if kind == "mlflow-tracking-server":
        return _mlflow_cost(resource)
    if kind == "space":
        return _nothing_billed("compute billed through the space's apps; its storage is not estimated")
    if kind in JOB_COMPONENT:
        return _job_cost(resource, prices, now, JOB_COMPONENT[kind])
    if kind in PERSISTENT_COMPONENT:
        component = "async" if kind == "endpoint" and resource.details.get("async_inference") else None
        return _persistent_cost(resource, prices, now, component or PERSISTENT_COMPONENT[kind])
    return _unpriced(f"no cost model for resource type '{kind}'")


def instance_types_to_price(resources: Iterable[Resource]) -> set[tuple[str, str]]:
    """(region, instance type) of every instance `cost_of` would look a price up for: what live pricing fetches."""
    return {
        (resource.region, piece.instance_type)
        for resource in resources
        if resource.resource_type in JOB_COMPONENT or resource.resource_type in PERSISTENT_COMPONENT
        for piece in _slices(resource)
        if piece.instance_type and piece.instance_type != STUDIO_SYSTEM_INSTANCE and not piece.serverless
    }


def job_run_cost(billable_seconds: int, instance_count: int, hourly_usd: float) -> float:
    """Per-second billing with a 1-minute minimum per instance; a job that billed no time costs nothing."""
    if billable_seconds <= 0 or instance_count <= 0:
        return 0.0
    billed = max(billable_seconds, MINIMUM_BILLED_SECONDS_PER_INSTANCE)
    return billed * instance_count * hourly_usd / SECONDS_PER_HOUR


def managed_spot_savings_pct(billable_seconds: int | None, training_seconds: int | None) -> float | None:
    """(1 − billable/training) × 100, floored at 0; None when either time is unknown or no training time."""
    if billable_seconds is None or training_seconds is None or training_seconds <= 0:
        return None
    return max(0.0, (1 - billable_seconds / training_seconds) * 100)


def month_window(now: datetime) -> tuple[datetime, datetime]:
    """[first instant of the calendar month of `now`, first instant of the next month), in UTC."""
    now = _utc(now)
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    end = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def monthly_run_rate(hourly_usd: float) -> float:
    """What `hourly_usd` costs over one month of `HOURS_PER_MONTH` hours, whatever the calendar month."""
    return hourly_usd * HOURS_PER_MONTH


def hours_left_in_month(now: datetime) -> float:
    """The real hours from `now` to the end of its UTC calendar month (for month-end forecasts only)."""
    return (month_window(now)[1] - _utc(now)).total_seconds() / SECONDS_PER_HOUR


def _persistent_cost(resource: Resource, prices: Prices, now: datetime, component: str) -> Cost:
    if not_billed := _not_billed_reason(resource):
        return _nothing_billed(not_billed)
    slices = _slices(resource)
    if not slices:
        return _unpriced(f"no instance type reported for {resource.resource_type} {resource.name}")
    priced = _price_slices(slices, resource.region, prices, component)
    if isinstance(priced, str):
        return _unpriced(priced)
    hourly = priced.hourly_usd
    month_start, _ = month_window(now)
    billed_since = max(_utc_or_none(resource.created) or month_start, month_start)
    hours_so_far = max(0.0, (now - billed_since).total_seconds() / SECONDS_PER_HOUR)
    month_to_date = hourly * hours_so_far
    return Cost(
        hourly_usd=hourly,
        month_to_date_usd=month_to_date,
        monthly_cost_usd=monthly_run_rate(hourly),
        month_end_forecast_usd=month_to_date + hourly * hours_left_in_month(now),
        run_cost_usd=None,
        spot_savings_pct=None,
        reason=priced.reason,
        price_source=priced.source,
    )


def _mlflow_cost(resource: Resource) -> Cost:
    """A tracking server bills by the hour by size (Small, Medium, Large), not by instance type: mlgov has no
    verified per-size price, so a running one is unpriced with its size named (never guessed)."""
    if not resource.running:
        return _nothing_billed(f"not running ({resource.status}): a stopped tracking server bills no compute")
    size = str(resource.details.get("tracking_server_size") or "")
    if not size:
        return _unpriced("MLflow tracking server of unknown size")
    return _unpriced(f"MLflow tracking server ({size}): billed by the hour by size; no verified {size} price")


def _not_billed_reason(resource: Resource) -> str | None:
    """Why a persistent resource bills no instance right now, or None when it does."""
    kind, status = resource.resource_type, resource.status
    if kind in SINGLE_INSTANCE_TYPES and status != "InService":
        return f"not running ({status}): billed only while InService"
    if kind == "app" and resource.instance_type == STUDIO_SYSTEM_INSTANCE:
        return "system app: runs on no billed instance"
    if kind == "cluster" and all(group.current_count == 0 for group in resource.instance_groups):
        if status == "InService":
            return "stopped: every instance group at 0 (storage only)"
        return f"no instances running ({status})"
    return None


def _slices(resource: Resource) -> list[_Slice]:
    if resource.variants:
        return [piece for variant in resource.variants for piece in _variant_slices(resource, variant)]
    if resource.instance_groups:
        return [_Slice(g.name, g.instance_type, g.current_count) for g in resource.instance_groups]
    if resource.instance_type is None:
        return []
    if resource.resource_type in SINGLE_INSTANCE_TYPES:
        return [_Slice(None, resource.instance_type, 1)]
    if resource.is_job:
        # Every job runs on at least one instance: a count of 0 means it was not reported.
        return [_Slice(None, resource.instance_type, max(resource.instance_count, 1))]
    return [_Slice(None, resource.instance_type, resource.instance_count)]


def _variant_slices(resource: Resource, variant: Variant) -> list[_Slice]:
    """A variant's instances: by instance pool when it runs several types, else its configured type."""
    pools = _mapping(_mapping(resource.details.get("instance_pools")).get(variant.name))
    if pools:
        return [_Slice(f"{variant.name}/{kind}", kind, count) for kind, count in pools.items()]
    provisioned = _mapping(resource.details.get("serverless_provisioned_concurrency")).get(variant.name)
    if variant.serverless and provisioned:
        reason = f"serverless with {provisioned} provisioned concurrency: billed while provisioned, not estimated"
        return [_Slice(variant.name, None, 0, unpriced_reason=reason)]
    return [_Slice(variant.name, variant.instance_type, variant.current_count, variant.serverless)]


@dataclass(frozen=True)
class _Priced:
    hourly_usd: float  # sum over slices of count × price
    reason: str
    billed: tuple[tuple[int, float], ...]  # (instance count, hourly price) of each slice with running instances
    source: str | None = None  # the tables that priced the slices, "; "-joined


def _price_slices(slices: Sequence[_Slice], region: str, prices: Prices, component: str) -> _Priced | str:
    """Every slice priced, or the price table's reasons (a string) when any billed slice has no price."""
    hourly, parts, missing, billed, sources = 0.0, [], [], [], []
    named = len(slices) > 1
    for piece in slices:
        prefix = f"{piece.label}: " if named and piece.label else ""
        if piece.unpriced_reason:
            missing.append(prefix + piece.unpriced_reason)
        elif piece.serverless:
            parts.append(prefix + SERVERLESS_REASON)
        elif piece.instance_type is None:
            missing.append(f"{prefix}no instance type reported")
        elif piece.count <= 0:
            parts.append(f"{prefix}0 × {piece.instance_type}")
        else:
            lookup = prices.hourly(piece.instance_type, region, component)
            if lookup.hourly_usd is None:
                missing.append(prefix + lookup.reason)
            else:
                hourly += piece.count * lookup.hourly_usd
                billed.append((piece.count, lookup.hourly_usd))
                sources.append(lookup.source)
                parts.append(f"{prefix}{piece.count} × {piece.instance_type} at {_dollars(lookup.hourly_usd)}/h")
    if missing:
        return "; ".join(missing)
    return _Priced(hourly, "; ".join(parts), tuple(billed), "; ".join(dict.fromkeys(filter(None, sources))) or None)


def _job_cost(resource: Resource, prices: Prices, now: datetime, component: str) -> Cost:
    slices = _slices(resource)
    if not slices and resource.details.get("serverless_job_type"):
        tokens = resource.details.get("billable_token_count")
        counted = f" ({tokens} billable tokens)" if tokens is not None else ""
        return _unpriced(f"serverless training billed per token{counted}: not estimated")
    if not slices:
        return _unpriced(f"no instance type reported for {resource.resource_type} {resource.name}")
    started, ended = _utc_or_none(resource.started), _utc_or_none(resource.ended)
    if resource.billable_seconds is not None:
        seconds, timing = resource.billable_seconds, f"{resource.billable_seconds} billable s"
    elif started is not None:
        seconds = math.ceil(max(0.0, ((ended or now) - started).total_seconds()))
        timing = f"{seconds} s {'so far' if ended is None else 'from start to end'}"
    else:
        when = "not started yet" if ended is None else "ended before its instances started"
        return _nothing_billed(f"{when} ({resource.status})", job=True)
    priced = _price_slices(slices, resource.region, prices, component)
    if isinstance(priced, str):
        return _unpriced(priced)
    month_start, _ = month_window(now)
    run_cost = sum(job_run_cost(seconds, count, hourly) for count, hourly in priced.billed)
    this_month = _share_in_month(run_cost, started or _utc_or_none(resource.created), ended or now, month_start)
    retained = _warm_pool_seconds(resource) if ended is not None else 0
    if retained:
        warm_run, warm_this_month = _warm_pool_cost(retained, priced, ended, month_start)
        run_cost, this_month = run_cost + warm_run, this_month + warm_this_month
    warm_pool_billing = resource.details.get("warm_pool_status") == WARM_POOL_BILLED_STATUS
    spot = managed_spot_savings_pct(resource.billable_seconds, resource.training_seconds)
    spot = spot if resource.managed_spot else None
    notes = [f"{timing} × {priced.reason}"]
    if 0 < seconds < MINIMUM_BILLED_SECONDS_PER_INSTANCE:
        notes.append("1-minute minimum per instance")
    if spot is not None:
        notes.append(f"managed spot saved {spot:.1f}%")
    if retained:
        notes.append(f"warm pool kept the instances {retained} billable s")
    if warm_pool_billing:
        notes.append("warm pool Available: billed until reused or its keep-alive ends")
    return Cost(
        hourly_usd=priced.hourly_usd if ended is None or warm_pool_billing else 0.0,
        month_to_date_usd=this_month,
        monthly_cost_usd=this_month,
        month_end_forecast_usd=this_month,
        run_cost_usd=run_cost,
        spot_savings_pct=spot,
        reason="; ".join(notes),
        price_source=priced.source,
    )


def _warm_pool_seconds(resource: Resource) -> int:
    retained = resource.details.get("warm_pool_billable_seconds")
    return retained if isinstance(retained, int) and retained > 0 else 0


def _warm_pool_cost(retained: int, priced: _Priced, ended: datetime, month_start: datetime) -> tuple[float, float]:
    """(cost, part in this month) of instances kept warm after the job: per second from its end, no new minimum."""
    cost = sum(retained * count * hourly for count, hourly in priced.billed) / SECONDS_PER_HOUR
    return cost, _share_in_month(cost, ended, ended + timedelta(seconds=retained), month_start)


def _share_in_month(run_cost: float, start: datetime | None, end: datetime, month_start: datetime) -> float:
    """The part of a run's cost billed from `month_start` on, in proportion to wall-clock time."""
    if end <= month_start:
        return 0.0
    if start is None or start >= month_start or end <= start:
        return run_cost
    return run_cost * (end - month_start).total_seconds() / (end - start).total_seconds()


def _unpriced(reason: str) -> Cost:
    return Cost(None, None, None, None, None, reason)


def _nothing_billed(reason: str, job: bool = False) -> Cost:
    return Cost(0.0, 0.0, 0.0, 0.0 if job else None, None, reason, month_end_forecast_usd=0.0)


def _dollars(amount: float) -> str:
    """$0.23, $1.408, $37.6885: at least cents, at most 4 decimals, no trailing zeros beyond cents."""
    text = f"{amount:,.4f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"${whole}.{fraction.ljust(2, '0')}"


def _utc(moment: datetime) -> datetime:
    """Aware datetimes converted to UTC; naive ones taken as UTC (boto3 returns aware ones)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _mapping(value: object) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def _utc_or_none(moment: datetime | None) -> datetime | None:
    return _utc(moment) if moment else None
