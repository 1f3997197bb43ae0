"""Merges per account-region `mlgov.scan/1` reports into one: summed totals, weighted compliance, one findings list."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from mlgov.domain.around_costs import around_totals
from mlgov.domain.report import SCHEMA_ID


def merge_reports(parts: Sequence[Mapping], now: datetime, errors: Iterable[Mapping] = ()) -> dict:
    """One report from `parts` (each a valid mlgov.scan/1 document), plus `errors` of parts that produced none.

    Totals are sums; tag compliance is weighted by resource count (by priced spend for the spend-based figure);
    findings are re-sorted by waste, then cost, then ARN, as build_report sorts them.
    """
    extra_errors = [dict(error) for error in errors]
    findings = [finding for part in parts for finding in part.get("findings", [])]
    findings.sort(key=lambda f: (-(f.get("waste_usd_month") or 0.0), -(f.get("monthly_cost_usd") or 0.0), f["arn"]))
    summaries = [part["summary"] for part in parts]
    resources = sum(summary["resources"] for summary in summaries)
    monthly = sum(summary["monthly_cost_usd"] for summary in summaries)
    by_status: Counter[str] = Counter()
    for summary in summaries:
        by_status.update(summary.get("by_status", {}))
    compliance = _weighted((s["tag_compliance_pct"], s["resources"]) for s in summaries)
    all_errors = [dict(error) for part in parts for error in part.get("errors", [])] + extra_errors
    around = {"around": around_totals(findings)} if any(part.get("around") for part in parts) else {}
    return {
        "schema": SCHEMA_ID,
        "generated_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scope": {
            "accounts": sorted(
                {a for part in parts for a in part["scope"]["accounts"]} | _field(extra_errors, "account")
            ),
            "regions": sorted({r for part in parts for r in part["scope"]["regions"]} | _field(extra_errors, "region")),
        },
        "summary": {
            "resources": resources,
            "monthly_cost_usd": round(monthly, 2),
            "waste_usd_month": round(sum(summary["waste_usd_month"] for summary in summaries), 2),
            "tag_compliance_pct": round(compliance, 1),
            "by_status": dict(sorted((status, count) for status, count in by_status.items() if count)),
        },
        "attribution": _merge_attribution(parts),
        "pricing": _first_pricing(parts),
        **around,
        "findings": findings,
        "errors": all_errors,
    }


def _merge_attribution(parts: Sequence[Mapping]) -> dict:
    by_tag: dict[str, defaultdict[str, float]] = {}
    by_owner: defaultdict[str, float] = defaultdict(float)
    untagged = 0.0
    unpriced = 0
    spend_compliance: list[tuple[float, float]] = []
    for part in parts:
        attribution = part.get("attribution")
        if not attribution:
            continue
        for key, values in attribution.get("by_tag", {}).items():
            merged = by_tag.setdefault(key, defaultdict(float))
            for value, usd in values.items():
                merged[value] += usd
        for owner, usd in attribution.get("by_owner", {}).items():
            by_owner[owner] += usd
        untagged += attribution.get("untagged_usd_month", 0.0)
        unpriced += attribution.get("unpriced_resources", 0)
        # The spend-based percentage is over priced spend, which is the part's monthly total (unpriced count as 0).
        spend_compliance.append((attribution.get("tag_compliance_usd_pct", 100.0), part["summary"]["monthly_cost_usd"]))
    return {
        "by_tag": {key: _rounded(values) for key, values in by_tag.items()},
        "by_owner": _rounded(by_owner),
        "untagged_usd_month": round(untagged, 2),
        "tag_compliance_usd_pct": round(_weighted(spend_compliance), 1),
        "unpriced_resources": unpriced,
    }


def _weighted(pairs: Iterable[tuple[float, float]]) -> float:
    """Mean of percentages weighted by their base; 100.0 when the bases sum to 0 (nothing to be non-compliant)."""
    total = weight = 0.0
    for pct, base in pairs:
        total += pct * base
        weight += base
    return 100.0 if weight == 0 else min(100.0, max(0.0, total / weight))


def _first_pricing(parts: Sequence[Mapping]) -> dict:
    return next((dict(part["pricing"]) for part in parts if part.get("pricing")), {})


def _field(errors: Sequence[Mapping], key: str) -> set[str]:
    return {error[key] for error in errors if error.get(key)}


def _rounded(values: Mapping[str, float]) -> dict[str, float]:
    return {key: round(value, 2) for key, value in sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))}
