"""Builds the `mlgov.scan/1` report: a status and a reason per resource, waste, totals and attribution."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from mlgov.domain.attribution import attribute, tag_problems
from mlgov.domain.costing import Cost, monthly_run_rate
from mlgov.domain.inventory import Resource, ScanError
from mlgov.domain.shared_endpoints import ComponentShare, SharedEndpoint, split_endpoints
from mlgov.domain.tag_schema import TagSchema

SCHEMA_ID = "mlgov.scan/1"
STATUSES = ("zombie", "idle", "expired", "untagged", "active", "stopped", "unknown")
WASTE_STATUSES = frozenset({"zombie", "idle", "expired"})
_STOPPED_SERVICE_STATES = frozenset(
    {"Stopped", "Stopping", "Deleted", "Deleting", "Failed", "Completed", "Succeeded", "Pending"}
)


@dataclass(frozen=True)
class Verdict:
    status: str
    reason: str
    evidence: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    resource: Resource
    cost: Cost
    verdict: Verdict
    waste_usd_month: float | None
    share: ComponentShare | None = None  # an inference component's part of its endpoint's instances
    shared: SharedEndpoint | None = None  # an endpoint whose instances serve several components or models

    def as_json(self) -> dict:
        resource, cost = self.resource, self.cost
        shares = {}
        if self.share is not None:
            shares["allocated_cost_usd_month"] = _cents(self.share.monthly_usd)
        if self.shared is not None:
            shares["shared"] = self.shared.as_json()
        share_evidence = (
            {"endpoint_share_pct": self.share.share_pct, "allocation_basis": self.share.basis} if self.share else {}
        )
        return {
            "arn": resource.arn,
            "account": resource.account,
            "region": resource.region,
            "resource_type": resource.resource_type,
            "name": resource.name,
            "status": self.verdict.status,
            "reason": self.verdict.reason,
            "instance_type": instance_type_label(resource),
            "instance_count": instance_count(resource),
            "monthly_cost_usd": _cents(cost.monthly_cost_usd),
            "waste_usd_month": _cents(self.waste_usd_month),
            "tags": dict(resource.tags),
            "owner": resource.owner,
            **shares,
            "evidence": {
                "service_status": resource.status,
                "cost": cost.reason,
                "price_source": cost.price_source,
                "hourly_usd": cost.hourly_usd,
                "month_to_date_usd": _cents(cost.month_to_date_usd),
                "month_end_forecast_usd": _cents(cost.month_end_forecast_usd),
                "run_cost_usd": _cents(cost.run_cost_usd),
                "spot_savings_pct": cost.spot_savings_pct,
                **share_evidence,
                **{key: _jsonable(value) for key, value in self.verdict.evidence.items()},
                **{f"detail.{key}": _jsonable(value) for key, value in resource.details.items()},
            },
        }


UNPRICED = "unpriced"


def usd(value: float | None) -> str:
    """Dollars as every report format shows them; an unknown amount is "unpriced", never $0.00."""
    return UNPRICED if value is None else f"${value:,.2f}"


def instance_type_label(resource: Resource) -> str | None:
    types = [v.instance_type or "serverless" for v in resource.variants] or [
        g.instance_type for g in resource.instance_groups
    ]
    if types:
        return ",".join(dict.fromkeys(types))
    return resource.instance_type


def instance_count(resource: Resource) -> int:
    if resource.variants:
        return sum(v.current_count for v in resource.variants)
    if resource.instance_groups:
        return sum(g.current_count for g in resource.instance_groups)
    return resource.instance_count


def lifecycle_verdict(resource: Resource, cost: Cost, schema: TagSchema, today: date) -> Verdict:
    """expired > untagged > stopped/active. Zombie and idle verdicts (usage evidence) take precedence when given."""
    lifetime = schema.lifetime_rule()
    expiry = resource.tags.get(lifetime.key) if lifetime else None
    if expiry and _is_past(expiry, today) and _is_billing(resource, cost):
        return Verdict(
            "expired", f"{lifetime.key}={expiry} is in the past and it is still billed", {"expired_on": expiry}
        )
    problems = tag_problems(resource, schema, today)
    if problems:
        missing = ", ".join(f"{p.key} ({p.message})" for p in problems)
        return Verdict("untagged", f"tag problems: {missing}", {"tag_problems": [p.key for p in problems]})
    if _is_billing(resource, cost):
        return Verdict("active", "running and tagged")
    return Verdict("stopped", f"not billed by the hour now ({resource.status})")


def _is_billing(resource: Resource, cost: Cost) -> bool:
    if resource.is_job:
        return resource.ended is None and resource.status not in _STOPPED_SERVICE_STATES
    return resource.running and (cost.hourly_usd is None or cost.hourly_usd > 0)


def _is_past(value: str, today: date) -> bool:
    try:
        return date.fromisoformat(value) < today
    except ValueError:
        return False


def waste(resource: Resource, cost: Cost, verdict: Verdict) -> float | None:
    """What a resource that should not be running costs a month: the run rate of one billed by the hour (see
    costing: a month is HOURS_PER_MONTH), or a job's own monthly cost (its run this month), never more. None when
    it should not be running but has no price: unknown, which is not $0."""
    if verdict.status not in WASTE_STATUSES:
        return 0.0
    if cost.hourly_usd is None:
        return None
    if resource.is_job:
        return cost.monthly_cost_usd or 0.0
    return monthly_run_rate(cost.hourly_usd)


def build_report(
    items: Sequence[tuple[Resource, Cost, Verdict]],
    errors: Sequence[ScanError],
    scope: Mapping[str, Sequence[str]],
    schema: TagSchema,
    now: datetime,
    pricing: Mapping[str, str],
    loaded_models: Mapping[str, int | None] | None = None,
) -> dict:
    """The report; `loaded_models`: multi-model endpoint ARN -> the most models CloudWatch saw loaded (or None).
    Attribution follows the shared endpoints' split (each inference component's share goes to its own tags)."""
    split = split_endpoints([(resource, cost) for resource, cost, _ in items], loaded_models)
    findings = [
        Finding(
            resource,
            cost,
            verdict,
            waste(resource, cost, verdict),
            split.components.get(resource.arn),
            split.endpoints.get(resource.arn),
        )
        for resource, cost, verdict in items
    ]
    findings.sort(key=lambda f: (-(f.waste_usd_month or 0.0), -(f.cost.monthly_cost_usd or 0.0), f.resource.arn))
    attribution = attribute([(f.resource, f.cost) for f in findings], schema, now.date(), split.attributed_usd_month)
    monthly = sum(f.cost.monthly_cost_usd or 0.0 for f in findings)
    return {
        "schema": SCHEMA_ID,
        "generated_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scope": {"accounts": sorted(scope.get("accounts", [])), "regions": sorted(scope.get("regions", []))},
        "summary": {
            "resources": len(findings),
            "monthly_cost_usd": round(monthly, 2),
            "waste_usd_month": round(sum(f.waste_usd_month or 0.0 for f in findings), 2),
            "tag_compliance_pct": round(attribution.tag_compliance_pct, 1),
            "by_status": dict(sorted(Counter(f.verdict.status for f in findings).items())),
        },
        "attribution": {
            "by_tag": {key: _rounded(values) for key, values in attribution.by_tag.items()},
            "by_owner": _rounded(attribution.by_owner),
            "untagged_usd_month": round(attribution.untagged_usd_month, 2),
            "tag_compliance_usd_pct": round(attribution.tag_compliance_usd_pct, 1),
            "unpriced_resources": attribution.unpriced_resources,
        },
        "pricing": dict(pricing),
        "findings": [f.as_json() for f in findings],
        "errors": [
            {"account": e.account, "region": e.region, "operation": e.operation, "message": e.message} for e in errors
        ],
    }


def _rounded(values: Mapping[str, float]) -> dict[str, float]:
    return {key: round(value, 2) for key, value in sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))}


def _cents(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _jsonable(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value
