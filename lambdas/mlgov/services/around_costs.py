"""The costs around the endpoints a scan found (one use case for `mlgov scan --around` and the scanner Lambda):
per account-region, DescribeModel for each distinct model the running endpoints serve (artifact buckets, multi-model
mode), then one batched GetMetricData read (log ingestion, loaded models, bucket sizes) over the last 30 days. A
failed read is an error entry and leaves its figures unknown (null), never zero."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError

from mlgov.aws.inventory import not_found
from mlgov.aws.metrics import MetricDataError, MetricReader
from mlgov.aws.sessions import AccountSessions
from mlgov.domain.around_costs import (
    WINDOW_DAYS,
    Billed,
    Measured,
    ModelFacts,
    billable_ids,
    component_buckets,
    measured_from_series,
    measurement_queries,
    model_facts,
)
from mlgov.domain.inventory import Resource, ScanError
from mlgov.domain.zombies import UsageWindow

IDS_PER_QUERY = 500


def measure_around(
    sessions: AccountSessions, resources: Sequence[Resource], now: datetime, max_workers: int = 8
) -> tuple[Measured, list[ScanError]]:
    """What the running endpoints of `resources` cost around their instances, every account-region on a pool."""
    groups: dict[tuple[str, str], list[Resource]] = defaultdict(list)
    for resource in resources:
        if resource.resource_type == "endpoint" and resource.running:
            groups[(resource.account, resource.region)].append(resource)
    components = [r for r in resources if r.resource_type == "inference-component"]
    measured, errors = Measured(), []
    if not groups:
        return measured, errors
    workers = max(1, min(max_workers, len(groups)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlgov-around") as pool:
        outcomes = pool.map(lambda key: _measured_or_error(sessions, key, groups[key], components, now), list(groups))
        for part, part_errors in outcomes:
            measured.merge(part)
            errors += part_errors
    return measured, errors


def _measured_or_error(
    sessions: AccountSessions, key: tuple[str, str], endpoints: list[Resource], components: list[Resource], now
) -> tuple[Measured, list[ScanError]]:
    """_measure, with a failure to reach the account-region (no session, say) as one error entry."""
    try:
        return _measure(sessions, *key, endpoints, components, now)
    except (ClientError, BotoCoreError) as err:
        message = f"costs around the endpoints not read: {err}"
        operation = getattr(err, "operation_name", None) or type(err).__name__
        return Measured(log_bytes={e.arn: None for e in endpoints}), [ScanError(*key, operation, message)]


def _measure(
    sessions: AccountSessions,
    account: str,
    region: str,
    endpoints: list[Resource],
    components: list[Resource],
    now: datetime,
) -> tuple[Measured, list[ScanError]]:
    errors: list[ScanError] = []
    hosted = defaultdict(list)
    for component in components:
        if component.account == account and component.region == region:
            hosted[component.details.get("endpoint_name")].append(component)
    models_of = {
        e.arn: {*(e.details.get("model_names") or ()), *(c.details.get("model_name") for c in hosted[e.name])} - {None}
        for e in endpoints
    }
    facts, problems = _describe_models(sessions, account, region, sorted(set().union(*models_of.values())), errors)
    artifacts, artifact_problems, multi = {}, {}, set()
    for endpoint in endpoints:
        names = models_of[endpoint.arn]
        buckets = {b for name in names if name in facts for b in facts[name].buckets}
        buckets |= {b for component in hosted[endpoint.name] for b in component_buckets(component)}
        artifacts[endpoint.arn] = tuple(sorted(buckets))
        missing = [problems[name] for name in sorted(names) if name in problems]
        if missing:
            artifact_problems[endpoint.arn] = "; ".join(missing)
        if any(facts[name].multi_model for name in names if name in facts):
            multi.add(endpoint.arn)
    queries = measurement_queries(endpoints, {b for buckets in artifacts.values() for b in buckets})
    start = (now - timedelta(days=WINDOW_DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)
    window = UsageWindow(start, now)
    try:
        series = MetricReader(sessions.client("cloudwatch", account, region)).fetch(queries, window)
    except MetricDataError as err:
        series = err.partial
        errors.append(ScanError(account, region, "GetMetricData", f"costs around the endpoints: {err}"))
    except (ClientError, BotoCoreError) as err:
        series = {}
        errors.append(ScanError(account, region, "GetMetricData", f"costs around the endpoints not read: {err}"))
    days = (window.end - window.start).total_seconds() / 86_400
    ages = {e.arn: (now - e.created).total_seconds() / 86_400 for e in endpoints if e.created}
    measured = measured_from_series(account, region, endpoints, series, days, multi, ages)
    measured.artifacts, measured.artifact_problems = artifacts, artifact_problems
    for endpoint in endpoints:
        if hosted[endpoint.name]:  # their containers log under each component's own log group, not the endpoint's
            measured.log_problems[endpoint.arn] = "inference components log to their own log groups: not measured"
    return measured, errors


def _describe_models(
    sessions: AccountSessions, account: str, region: str, names: list[str], errors: list[ScanError]
) -> tuple[dict[str, ModelFacts], dict[str, str]]:
    """Facts per model name, and why a model could not be described (an endpoint outlives a deleted model)."""
    facts, problems = {}, {}
    if not names:
        return facts, problems
    client = sessions.client("sagemaker", account, region)
    failures = []
    for name in names:
        try:
            facts[name] = model_facts(client.describe_model(ModelName=name))
        except ClientError as err:
            if not_found(err):
                problems[name] = f"model {name} was deleted: its artifact location is unknown"
            else:
                problems[name] = f"DescribeModel {name} failed: {err.response.get('Error', {}).get('Code', '')}"
                failures.append(name)
        except BotoCoreError as err:
            problems[name] = f"DescribeModel {name} failed: {err}"
            failures.append(name)
    if failures:
        message = f"{len(failures)} models not described, e.g. {problems[failures[0]]}"
        errors.append(ScanError(account, region, "DescribeModel", message))
    return facts, problems


def billed_around(report: dict, measured: Measured, engine, now: datetime) -> Billed:
    """The cost export's last full month for the measured log groups and artifact buckets."""
    from mlgov.domain.cost_export import last_full_month, resource_cost_query, safe_resource_ids

    month = last_full_month(now)
    ids = safe_resource_ids(billable_ids(report, measured))
    rows = []
    for first in range(0, len(ids), IDS_PER_QUERY):  # Athena queries stop at 256 KB of text
        rows += engine.rows(
            resource_cost_query(engine.source, ids[first : first + IDS_PER_QUERY], month, engine.dialect)
        )
    return Billed(month.label, {str(r[0]).lower(): (float(r[1] or 0), float(r[2] or 0)) for r in rows})
