"""CloudWatch usage evidence: batched GetMetricData reads and the two-phase endpoint judgement over them.

Shapes follow botocore's `cloudwatch` model: MetricDataQueries[] (Id, MetricStat{Metric{Namespace, MetricName,
Dimensions[{Name, Value}]}, Period, Stat}), StartTime (inclusive), EndTime (exclusive), NextToken; the response's
MetricDataResults[] carry Id, Timestamps[], Values[] and StatusCode (Complete | PartialData | InternalError |
Forbidden). The documented limits: at most 500 queries and 100,800 datapoints per call; Ids must start with a
lowercase letter and hold only letters, digits and underscores.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from mlgov.domain.inventory import Resource
from mlgov.domain.report import Verdict
from mlgov.domain.zombies import (
    MetricQuery,
    Usage,
    UsageWindow,
    ZombiePolicy,
    evidence_queries,
    invocation_queries,
    judge_endpoint,
    measurable,
    needs_evidence,
    usage_from_series,
    usage_window,
)

MAX_QUERIES_PER_CALL = 500
MAX_DATAPOINTS_PER_CALL = 100_800
DAY_SECONDS = 86_400
# Periods must be whole hours once the start is more than 63 days ago (1-minute data is kept 15 days, 5-minute
# data 63 days, hourly data 455 days); whole days satisfy every tier.
_HOURLY_ONLY_AFTER = timedelta(days=63)
_FAILED_STATUSES = frozenset({"InternalError", "Forbidden", "PartialData"})

Series = list[tuple[datetime, float]]


class MetricDataError(RuntimeError):
    """Some queries ended without complete data; `partial` holds every series that did complete."""

    def __init__(self, failed: dict[str, str], partial: dict[str, Series]) -> None:
        sample = ", ".join(f"{key} ({status})" for key, status in list(failed.items())[:3])
        super().__init__(f"{len(failed)} metric queries returned no complete data: {sample}")
        self.failed = failed
        self.partial = partial


def metric_period(window: UsageWindow, queries_per_call: int = MAX_QUERIES_PER_CALL, base: int = DAY_SECONDS) -> int:
    """The smallest multiple of `base` that keeps queries_per_call × periods under the 100,800-datapoint cap:
    1 day up to 200 days of window at 500 queries a call, 3 days for the 455-day maximum (152 periods).
    One period is kept spare for a window that does not start on a period boundary."""
    seconds = max((window.end - window.start).total_seconds(), 1.0)
    periods_allowed = MAX_DATAPOINTS_PER_CALL // max(1, min(queries_per_call, MAX_QUERIES_PER_CALL)) - 1
    return base * max(1, math.ceil(seconds / (base * periods_allowed)))


class MetricReader:
    """Runs GetMetricData in batches of up to 500 queries, following NextToken inside a batch; counts its calls."""

    def __init__(self, client) -> None:
        self._client = client
        self.calls = 0
        self.queries = 0

    def fetch(self, queries: Sequence[MetricQuery], window: UsageWindow, period_seconds: int = DAY_SECONDS):
        """Datapoints per query key, oldest first (timestamps in UTC); an empty list when the series has no
        datapoints in the window. `period_seconds` is raised when needed to stay under the datapoint cap.
        Raises MetricDataError (with every complete series) when some query did not complete."""
        if not queries:
            return {}
        if len({q.id for q in queries}) != len(queries):
            raise ValueError("metric query keys must be unique")
        period = max(period_seconds, metric_period(window, len(queries)))
        results: dict[str, Series] = {}
        failed: dict[str, str] = {}
        for first in range(0, len(queries), MAX_QUERIES_PER_CALL):
            series, errors = self.read_batch(queries[first : first + MAX_QUERIES_PER_CALL], window, period)
            results.update(series)
            failed.update(errors)
        if failed:
            raise MetricDataError(failed, results)
        return results

    def read_batch(
        self, batch: Sequence[MetricQuery], window: UsageWindow, period: int
    ) -> tuple[dict[str, Series], dict[str, str]]:
        """One GetMetricData request (more pages when CloudWatch returns a NextToken): the complete series per key,
        and the status of every key that did not complete."""
        if not 0 < len(batch) <= MAX_QUERIES_PER_CALL:
            raise ValueError(f"a GetMetricData batch holds 1..{MAX_QUERIES_PER_CALL} queries, not {len(batch)}")
        if period % 60 or (window.end - window.start > _HOURLY_ONLY_AFTER and period % 3600):
            raise ValueError(f"period {period}s: must be a multiple of 60 s, and of 3600 s beyond 63 days")
        keys = {f"q{index}": query.id for index, query in enumerate(batch)}  # CloudWatch-safe ids, mapped back
        request: dict[str, Any] = {
            "MetricDataQueries": [_request_query(f"q{index}", query, period) for index, query in enumerate(batch)],
            "StartTime": window.start,
            "EndTime": window.end,
            "ScanBy": "TimestampAscending",
        }
        points: dict[str, Series] = {key: [] for key in keys.values()}
        status: dict[str, str] = {}
        self.queries += len(batch)
        while True:
            response = self._client.get_metric_data(**request)
            self.calls += 1
            for result in response.get("MetricDataResults", []):
                key = keys.get(result.get("Id", ""))
                if key is None:
                    continue
                timestamps, values = result.get("Timestamps", []), result.get("Values", [])
                points[key].extend((_utc(ts), float(value)) for ts, value in zip(timestamps, values, strict=True))
                status[key] = _status(result)
            token = response.get("NextToken")
            if not token:
                break
            request["NextToken"] = token
        failed = {key: status.get(key, "missing from the response") for key in keys.values()}
        failed = {key: final for key, final in failed.items() if final != "Complete"}
        complete = {key: sorted(series) for key, series in points.items() if key not in failed}
        return complete, failed


def fetch_metric_data(
    client, queries: Sequence[MetricQuery], window: UsageWindow, period_seconds: int = DAY_SECONDS
) -> dict[str, Series]:
    """ceil(len(queries) / 500) GetMetricData calls (more only when CloudWatch paginates a batch)."""
    return MetricReader(client).fetch(queries, window, period_seconds)


class EndpointUsageCollector:
    """Reads the usage of the endpoints of one account-region: `Invocations` for every variant and hosted
    inference component, then instance-metric evidence only for variants that could make a zombie and returned no
    datapoints at all. The two phases share one queue: as soon as a batch has answered every series of an
    endpoint, its evidence queries join the queue and fill the next call, so Q queries take ceil(Q/500) calls
    unless evidence is only known after the queue ran dry. `calls` counts GetMetricData calls, `queries` the
    metric queries sent."""

    def __init__(self, client, policy: ZombiePolicy, now: datetime, period_seconds: int = DAY_SECONDS) -> None:
        self._reader = MetricReader(client)
        self._policy = policy
        self._now = _utc(now)
        self._period_seconds = period_seconds

    @property
    def calls(self) -> int:
        return self._reader.calls

    @property
    def queries(self) -> int:
        return self._reader.queries

    def usage(self, endpoints: Sequence[Resource], components: Sequence[Resource] = ()) -> dict[str, Usage]:
        measured = [e for e in endpoints if e.resource_type == "endpoint" and measurable(e)]
        if not measured:
            return {}
        window = self._fetch_window(measured)
        period = max(self._period_seconds, metric_period(window))
        step = timedelta(seconds=period)
        series: dict[str, Series] = {}
        failed: set[str] = set()
        queue: deque[MetricQuery] = deque()
        outstanding: dict[str, set[str]] = {}  # endpoint ARN -> invocation keys not answered yet
        by_key: dict[str, Resource] = {}
        for endpoint in measured:
            queries = invocation_queries([endpoint], components)
            queue.extend(queries)
            outstanding[endpoint.arn] = {q.id for q in queries}
            by_key.update({q.id: endpoint for q in queries})

        def usage_of(endpoint: Resource) -> Usage:
            return usage_from_series(endpoint, series, step, self._policy, self._now, components, failed)

        usages: dict[str, Usage] = {}
        evidence_of: dict[str, Resource] = {}  # evidence key -> endpoint
        while queue:
            batch = [queue.popleft() for _ in range(min(MAX_QUERIES_PER_CALL, len(queue)))]
            answered, errors = self._reader.read_batch(batch, window, period)
            series.update(answered)
            failed.update(errors)
            proven: dict[str, Resource] = {}
            for query in batch:
                if query.id in evidence_of:
                    proven[evidence_of[query.id].arn] = evidence_of[query.id]
                    continue
                endpoint = by_key[query.id]
                waiting = outstanding[endpoint.arn]
                waiting.discard(query.id)
                if waiting:
                    continue  # the endpoint's other series are in a later batch
                usages[endpoint.arn] = usage_of(endpoint)
                silent = needs_evidence(endpoint, usages[endpoint.arn], self._policy, self._now)
                for extra in evidence_queries([(endpoint, name) for name in silent]):
                    evidence_of[extra.id] = endpoint
                    queue.append(extra)
            for endpoint in proven.values():
                usages[endpoint.arn] = usage_of(endpoint)
        return usages

    def judge(self, endpoints: Sequence[Resource], components: Sequence[Resource] = ()) -> dict[str, Verdict]:
        usages = self.usage(endpoints, components)
        return {
            e.arn: judge_endpoint(e, usages.get(e.arn, Usage({})), self._policy, self._now)
            for e in endpoints
            if e.resource_type == "endpoint"
        }

    def _fetch_window(self, endpoints: Sequence[Resource]) -> UsageWindow:
        """The union of the endpoints' windows, starting at a UTC midnight so that daily periods are calendar days
        (the `last-invoked` date is then exact)."""
        start = min(usage_window(e, self._policy, self._now).start for e in endpoints)
        start = start.replace(hour=0, minute=0, second=0, microsecond=0)
        return UsageWindow(start, self._now)


def judge_endpoints(
    cloudwatch_client,
    endpoints: Sequence[Resource],
    policy: ZombiePolicy,
    now: datetime,
    components: Sequence[Resource] = (),
) -> dict[str, Verdict]:
    """Verdict per endpoint ARN for the endpoints of one account-region (one CloudWatch client)."""
    return EndpointUsageCollector(cloudwatch_client, policy, now).judge(endpoints, components)


def _request_query(query_id: str, query: MetricQuery, period: int) -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": query.namespace,
                "MetricName": query.metric,
                "Dimensions": [{"Name": name, "Value": value} for name, value in query.dimensions],
            },
            "Period": period,
            "Stat": query.stat,
        },
        "ReturnData": True,
    }


def _status(result: dict[str, Any]) -> str:
    status = result.get("StatusCode") or "Complete"
    if status in _FAILED_STATUSES:
        messages = "; ".join(str(m.get("Value") or m.get("Code")) for m in result.get("Messages") or [])
        return f"{status}: {messages}" if messages else status
    return status


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
