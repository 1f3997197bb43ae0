"""`mlgov scan --zombies`: the judge that adds usage evidence (zombie endpoints, idle notebooks and apps) to a scan.

Wiring (scan.report takes any callable [(Resource, Cost)] -> [Verdict | None]):

    sessions = AccountSessions(hub_account=caller, role_name=request.assume_role or "", base_session=session,
                               endpoint_url=request.endpoint_url, session_name="mlgov-scan")
    policy = ZombiePolicy(idle_days=args.idle_days or config.zombie_idle_days,
                          min_age_days=args.min_age_days or config.zombie_min_age_days)
    judge = make_judge(sessions, policy, now, schema)
    document = report(result, request, prices, schema, now, judge=judge)
    # judge.calls: GetMetricData calls; judge.errors: ScanError per account-region whose metrics could not be read;
    # judge.last_invoked: {endpoint ARN: YYYY-MM-DD} for the `last-invoked` tag (the scan itself stays read-only).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mlgov.domain.costing import Cost
from mlgov.domain.inventory import Resource, ScanError
from mlgov.domain.report import Verdict, lifecycle_verdict
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

ClientFactory = Callable[[str, str], Any]  # (account, region) -> CloudWatch client


class ZombieJudge:
    """Callable judge for scan.report: one EndpointUsageCollector per (account, region), run on a bounded pool."""

    def __init__(
        self, clients: ClientFactory, policy: ZombiePolicy, now: datetime, schema: TagSchema, max_workers: int = 8
    ) -> None:
        self._clients = clients
        self._policy = policy
        self._now = now
        self._schema = schema
        self._max_workers = max(1, max_workers)
        self.calls = 0
        self.errors: list[ScanError] = []
        self.last_invoked: dict[str, str] = {}

    def __call__(self, items: Sequence[tuple[Resource, Cost]]) -> list[Verdict | None]:
        resources = [resource for resource, _ in items]
        endpoints = [r for r in resources if r.resource_type == "endpoint" and r.running]
        components = [r for r in resources if r.resource_type == "inference-component"]
        usage_verdicts = self._judge_endpoints(endpoints, components)
        guards = studio_guards(resources)
        verdicts: list[Verdict | None] = []
        for resource, cost in items:
            usage = usage_verdicts.get(resource.arn) if resource.resource_type == "endpoint" else None
            if usage is None and resource.resource_type in ("notebook-instance", "app"):
                usage = judge_idle(resource, self._policy, self._now, guards)
            if usage is None:
                verdicts.append(None)
                continue
            verdicts.append(combine(usage, lifecycle_verdict(resource, cost, self._schema, self._now.date())))
        return verdicts

    def _judge_endpoints(self, endpoints: list[Resource], components: list[Resource]) -> dict[str, Verdict]:
        groups: dict[tuple[str, str], list[Resource]] = defaultdict(list)
        for endpoint in endpoints:
            groups[(endpoint.account, endpoint.region)].append(endpoint)
        if not groups:
            return {}
        workers = min(self._max_workers, len(groups))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlgov-zombies") as pool:
            outcomes = list(pool.map(lambda key: self._judge_group(*key, groups[key], components), groups))
        verdicts: dict[str, Verdict] = {}
        for found, calls, error, tags in outcomes:
            verdicts.update(found)
            self.calls += calls
            self.last_invoked.update(tags)
            if error:
                self.errors.append(error)
        return verdicts

    def _judge_group(self, account: str, region: str, endpoints: list[Resource], components: list[Resource]):
        """(verdict per ARN, GetMetricData calls, error, last-invoked tag values) for one account-region; a failing
        CloudWatch leaves its endpoints `unknown` with the error as the reason, never `zombie`."""
        from mlgov.aws.metrics import EndpointUsageCollector

        collector = None
        try:
            collector = EndpointUsageCollector(self._clients(account, region), self._policy, self._now)
            usages = collector.usage(endpoints, components)
        except (ClientError, BotoCoreError) as err:
            operation = getattr(err, "operation_name", None) or "GetMetricData"
            reason = f"usage not read: {operation} failed: {err}"
            unknown = {e.arn: Verdict("unknown", reason, {"usage_error": str(err)}) for e in endpoints}
            calls = collector.calls if collector else 0
            return unknown, calls, ScanError(account, region, operation, str(err)), {}
        found = {e.arn: judge_endpoint(e, usages.get(e.arn, Usage({})), self._policy, self._now) for e in endpoints}
        tags = {
            e.arn: value
            for e in endpoints
            if e.arn in usages and (value := last_invoked_tag(usages[e.arn], e.tags.get(LAST_INVOKED_TAG)))
        }
        return found, collector.calls, None, tags


def make_judge(
    sessions_or_client_factory, policy: ZombiePolicy, now: datetime, schema: TagSchema, max_workers: int = 8
) -> ZombieJudge:
    """A judge for scan.report. Pass an AccountSessions (CloudWatch clients are made per account and region the
    way the scan makes SageMaker ones) or a callable (account, region) -> CloudWatch client."""
    source = sessions_or_client_factory
    if hasattr(source, "client"):

        def clients(account: str, region: str):
            return source.client("cloudwatch", account, region)

    elif callable(source):
        clients = source
    else:
        raise TypeError("make_judge needs an AccountSessions or a callable (account, region) -> cloudwatch client")
    return ZombieJudge(clients, policy, now, schema, max_workers)
