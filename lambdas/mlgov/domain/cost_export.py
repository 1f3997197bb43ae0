"""Billed cost from a FOCUS 1.2 cost export (AWS Data Exports): the SQL that sums SageMaker's BilledCost, EffectiveCost
and ListCost by account, tag, region or resource for a calendar month and the month to date, in the two dialects mlgov
runs it on (DuckDB on a laptop, Athena at scale), and the report built from the rows.

Every charge row counts — usage, Savings Plans negation and fee lines, credits, refunds, tax — so the totals are what
the export says was billed (BilledCost) and what it cost after discounts and amortization (EffectiveCost). Tags come
from the FOCUS `Tags` column: a MAP in AWS's Parquet export, a JSON object string in FOCUS's own CSV form; user tags
appear under their own key (`ml:team`) or with AWS's `user:` prefix. Pure: no engine, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from mlgov.domain.inventory import JOB_TYPES

SCHEMA_ID = "mlgov.costs/1"
DUCKDB, ATHENA = "duckdb", "athena"
MAP, JSON = "map", "json"
SAGEMAKER_SERVICE = "Amazon SageMaker%"  # ServiceName: "Amazon SageMaker" (and the "Amazon SageMaker AI" rename)
# The FOCUS columns mlgov reads (exact names from the FOCUS 1.2 specification and AWS's FOCUS export).
REQUIRED_COLUMNS = (
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ResourceId",
    "SubAccountId",
    "RegionId",
    "ServiceName",
    "ChargeCategory",
    "ChargePeriodStart",
    "PricingCategory",
    "Tags",
)
TAG_DIMENSIONS = {
    "team": "ml:team",
    "model": "ml:model",
    "experiment": "ml:experiment",
    "environment": "ml:environment",
}
COLUMN_DIMENSIONS = {"account": "SubAccountId", "region": "RegionId", "resource": "ResourceId"}
DIMENSIONS = (*COLUMN_DIMENSIONS, *TAG_DIMENSIONS)
UNATTRIBUTED = "(none)"  # rows without the column or tag: Savings Plans fees, tax, untagged resources
USER_TAG_PREFIX = "user:"
CENT = Decimal("0.01")


class CostExportError(ValueError):
    """A cost export that cannot be read as FOCUS; one line naming what is missing."""


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC."""

    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        return self.start.strftime("%Y-%m")


def month_of(text: str) -> Window:
    """`YYYY-MM` as its calendar month."""
    try:
        start = datetime.strptime(text, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise CostExportError(f"--month must be YYYY-MM, got {text!r}") from None
    return Window(start, _next_month(start))


def last_full_month(now: datetime) -> Window:
    first = _month_start(now)
    return Window(_month_start(first - timedelta(days=1)), first)


def month_to_date(now: datetime) -> Window:
    return Window(_month_start(now), now.astimezone(UTC))


@dataclass(frozen=True)
class Dialect:
    """How one engine spells what FOCUS needs: the tag lookup (by Tags' storage) and a timestamp literal."""

    engine: str
    tags: str  # MAP or JSON
    zoned: bool = False  # ChargePeriodStart is TIMESTAMP WITH TIME ZONE (AWS's Parquet): compare with UTC instants
    quantities: bool = False  # the export has ConsumedQuantity and ConsumedUnit (FOCUS; optional to mlgov)

    def tag(self, key: str) -> str:
        candidates = [key, f"{USER_TAG_PREFIX}{key}"]
        return f"COALESCE({', '.join(self._lookup(candidate) for candidate in candidates)})"

    def _lookup(self, key: str) -> str:
        quoted = key.replace("'", "''")
        if self.tags == MAP:
            return f"Tags['{quoted}']" if self.engine == DUCKDB else f"element_at(Tags, '{quoted}')"
        path = key.replace('"', '\\"').replace("'", "''")
        if self.engine == DUCKDB:
            return f"json_extract_string(Tags, '$.\"{path}\"')"
        return f"json_extract_scalar(Tags, '$[\"{path}\"]')"

    def timestamp(self, moment: datetime) -> str:
        """A UTC instant as a literal of the column's own kind: a zoned column compared with a zone-less literal
        (or the reverse) would be converted through the machine's time zone and shift the month boundaries."""
        text = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        return f"TIMESTAMPTZ '{text}+00'" if self.zoned else f"TIMESTAMP '{text}'"

    def partitions(self, windows: Sequence[Window]) -> str:
        """Athena: the billing periods the windows touch, so partition projection reads only those months."""
        if self.engine != ATHENA:
            return ""
        months = sorted({m for window in windows for m in _months(window)})
        return f" AND billing_period IN ({', '.join(f"'{m}'" for m in months)})"


def dimension_expression(by: str, dialect: Dialect) -> str:
    if by in COLUMN_DIMENSIONS:
        column = COLUMN_DIMENSIONS[by]
        return f"lower({column})" if by == "resource" else column
    if by in TAG_DIMENSIONS:
        return dialect.tag(TAG_DIMENSIONS[by])
    raise CostExportError(f"--by must be one of {', '.join(DIMENSIONS)}, got {by!r}")


def cost_query(source: str, by: str, month: Window, current: Window, dialect: Dialect) -> str:
    """One scan of the export: per `by` value, the month's and the month to date's billed, effective and list cost."""
    key = dimension_expression(by, dialect)
    sums = []
    for window, suffix in ((month, ""), (current, "_mtd")):
        inside = _inside(window, dialect)
        sums += [f"SUM(CASE WHEN {inside} THEN {column} ELSE 0 END) AS {name}{suffix}" for column, name in _COSTS]
    return (
        f"SELECT {key} AS dimension, {', '.join(sums)}\n"
        f"FROM {source}\n"
        f"WHERE ServiceName LIKE '{SAGEMAKER_SERVICE}' AND ({_inside(month, dialect)} OR {_inside(current, dialect)})"
        f"{dialect.partitions([month, current])}\n"
        f"GROUP BY 1"
    )


def compliance_query(source: str, required_tags: Sequence[str], month: Window, dialect: Dialect) -> str:
    """Over the month's usage rows (fees, credits and tax carry no resource): the EffectiveCost carrying every
    required tag and all of it (dollar-weighted tag compliance); the on-demand equivalent (ListCost) a commitment
    covered (PricingCategory Committed: Savings Plans) and all of it (coverage; negation lines list nothing); and
    the same in instance hours (ConsumedQuantity of rows consumed in hours; NULL when the export lacks the columns)."""
    tagged = " AND ".join(f"{dialect.tag(tag)} IS NOT NULL" for tag in required_tags) or "TRUE"
    if dialect.quantities:
        # a Savings Plans negation line (negative BilledCost) repeats the hours its usage line already counts
        in_hours = "lower(ConsumedUnit) IN ('hours', 'hour', 'hrs') AND BilledCost >= 0"
        hours = (
            f"SUM(CASE WHEN PricingCategory = 'Committed' AND {in_hours} THEN ConsumedQuantity ELSE 0 END) "
            f"AS committed_hours, SUM(CASE WHEN {in_hours} THEN ConsumedQuantity ELSE 0 END) AS hours"
        )
    else:
        hours = "NULL AS committed_hours, NULL AS hours"
    return (
        f"SELECT SUM(CASE WHEN {tagged} THEN EffectiveCost ELSE 0 END) AS tagged, SUM(EffectiveCost) AS total,\n"
        f"SUM(CASE WHEN PricingCategory = 'Committed' THEN ListCost ELSE 0 END) AS committed, "
        f"SUM(ListCost) AS on_demand_equivalent, {hours}\n"
        f"FROM {source}\n"
        f"WHERE ServiceName LIKE '{SAGEMAKER_SERVICE}' AND ChargeCategory = 'Usage' AND {_inside(month, dialect)}"
        f"{dialect.partitions([month])}"
    )


def resource_cost_query(source: str, resource_ids: Sequence[str], month: Window, dialect: Dialect) -> str:
    """The month's billed and effective cost of the named resources of any service (an endpoint's log group, an
    artifact bucket), by lower-cased ResourceId. Ids that are not plain resource names or ARNs are left out: they come
    from member accounts' resource names and must not reach the SQL as anything but a literal (see safe_resource_ids).
    """
    wanted = safe_resource_ids(resource_ids)
    if not wanted:
        raise CostExportError("no resource id to look up")
    listed = ", ".join(f"'{resource_id}'" for resource_id in wanted)
    return (
        f"SELECT lower(ResourceId) AS resource, SUM(BilledCost) AS billed, SUM(EffectiveCost) AS effective\n"
        f"FROM {source}\n"
        f"WHERE lower(ResourceId) IN ({listed}) AND {_inside(month, dialect)}{dialect.partitions([month])}\n"
        f"GROUP BY 1"
    )


def safe_resource_ids(resource_ids: Sequence[str]) -> list[str]:
    """The lower-cased ids made only of the characters resource names and ARNs use (no quote can reach the SQL)."""
    return sorted({i.lower() for i in resource_ids if _SAFE_RESOURCE_ID.fullmatch(i.lower())})


_SAFE_RESOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9:/._*#-]{0,1023}$")
_COSTS = (("BilledCost", "billed"), ("EffectiveCost", "effective"), ("ListCost", "list"))


@dataclass(frozen=True)
class CostRow:
    dimension: str
    billed: Decimal
    effective: Decimal
    list_cost: Decimal
    billed_mtd: Decimal
    effective_mtd: Decimal
    list_mtd: Decimal

    def as_json(self) -> dict:
        return {
            "key": self.dimension,
            **{name: _usd(getattr(self, attribute)) for name, attribute in _FIELDS},
        }


# report field -> CostRow attribute
_FIELDS = (
    ("billed_cost_usd", "billed"),
    ("effective_cost_usd", "effective"),
    ("list_cost_usd", "list_cost"),
    ("month_to_date_billed_usd", "billed_mtd"),
    ("month_to_date_effective_usd", "effective_mtd"),
)


def cost_rows(raw: Sequence[Sequence[object]]) -> list[CostRow]:
    """The engine's rows (dimension, billed, effective, list, and the same three month to date), exact until the
    report rounds them to the cent, largest billed cost first; a null dimension is UNATTRIBUTED."""
    rows = [
        CostRow(str(values[0]) if values[0] not in (None, "") else UNATTRIBUTED, *(_exact(v) for v in values[1:7]))
        for values in raw
    ]
    return sorted(rows, key=lambda row: (-row.billed, -row.effective, row.dimension))


def costs_report(
    rows: Sequence[CostRow],
    by: str,
    month: Window,
    current: Window,
    compliance: Sequence[object] | None,
    source: str,
) -> dict:
    """The `mlgov costs` document."""
    totals = {name: _usd(sum((getattr(row, attribute) for row in rows), Decimal(0))) for name, attribute in _FIELDS}
    tagged, total, committed, on_demand, committed_hours, hours = (*(compliance or ()), *([None] * 6))[:6]
    total_cents = _cents(_exact(total))
    coverage_hours = None
    if hours is not None and _exact(hours) > 0:
        coverage_hours = {
            "committed_hours": float(_exact(committed_hours).quantize(Decimal("0.1"))),
            "not_covered_hours": float((_exact(hours) - _exact(committed_hours)).quantize(Decimal("0.1"))),
            "pct": _pct(committed_hours, hours),
        }
    return {
        "schema": SCHEMA_ID,
        "source": source,
        "by": by,
        "month": {"label": month.label, "start": _iso(month.start), "end": _iso(month.end)},
        "month_to_date": {"label": current.label, "start": _iso(current.start), "end": _iso(current.end)},
        "totals": totals,
        "tag_compliance_usd_pct": _pct(tagged, total) if total_cents else None,
        "savings_plan_coverage_pct": _pct(committed, on_demand) if _exact(on_demand) > 0 else None,
        "savings_plan_coverage_hours": coverage_hours,
        "rows": [row.as_json() for row in rows],
    }


def billed_by_resource(rows: Sequence[CostRow]) -> dict[str, tuple[float, float]]:
    """lower-cased ResourceId (an ARN for SageMaker) -> (billed, effective) of the month: for the scan's findings."""
    return {row.dimension: (_usd(row.billed), _usd(row.effective)) for row in rows if row.dimension != UNATTRIBUTED}


def missing_columns(columns: Mapping[str, str] | Sequence[str]) -> list[str]:
    """The FOCUS columns `columns` lacks, matched without case: SQL names are case-insensitive in both engines and
    Glue keeps them in lower case."""
    present = {name.lower() for name in columns}
    return [column for column in REQUIRED_COLUMNS if column.lower() not in present]


def has_quantities(columns: Mapping[str, str] | Sequence[str]) -> bool:
    """ConsumedQuantity and ConsumedUnit are both there (Savings Plans coverage in hours)."""
    present = {name.lower() for name in columns}
    return {"consumedquantity", "consumedunit"} <= present


def column_type(columns: Mapping[str, str], name: str) -> str:
    """The type of column `name`, matched without case (see missing_columns)."""
    return next(kind for column, kind in columns.items() if column.lower() == name.lower())


def tags_storage(column_type: str) -> str:
    """MAP for AWS's Parquet export (MAP(VARCHAR, VARCHAR) / map<string,string>), JSON for a string column."""
    lowered = column_type.lower()
    if lowered.startswith("map"):
        return MAP
    if lowered in ("varchar", "string", "json") or lowered.startswith("varchar"):
        return JSON
    raise CostExportError(f"the Tags column is {column_type}: expected a map or a JSON object string (FOCUS)")


def _months(window: Window) -> list[str]:
    months, cursor = [], _month_start(window.start)
    while cursor < window.end or not months:
        months.append(cursor.strftime("%Y-%m"))
        cursor = _next_month(cursor)
    return months


def _inside(window: Window, dialect: Dialect) -> str:
    return (
        f"(ChargePeriodStart >= {dialect.timestamp(window.start)} AND "
        f"ChargePeriodStart < {dialect.timestamp(window.end)})"
    )


def _pct(part: object, whole: object) -> float:
    """part / whole in percent, kept within 0-100 (credits and refunds can push a part past its whole)."""
    share = min(max(_exact(part) / _exact(whole) * 100, Decimal(0)), Decimal(100))
    return float(share.quantize(Decimal("0.1")))


def _exact(value: object) -> Decimal:
    return Decimal(0) if value is None else Decimal(str(value))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def _usd(value: Decimal) -> float:
    return float(_cents(value))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def _next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def with_billed_costs(
    report: dict,
    month: Window,
    source: str,
    by_resource: Mapping[str, tuple[float, float]],
    required_tags: Callable[[str], Sequence[str]],
) -> dict:
    """The scan report with each finding's billed and effective cost of `month` where the export has its ARN, and a
    `billed` block: the matched total next to the list-price run-rate estimate of the matched resources billed by the
    hour (a job's estimate is this month's run, not last month's), and the billed tag compliance (each finding against
    the tags its type requires: `required_tags(resource_type)`)."""
    findings, matched, compliant_billed = [], 0, Decimal(0)
    billed_total, effective_total, estimated = Decimal(0), Decimal(0), Decimal(0)
    for finding in report["findings"]:
        found = by_resource.get(str(finding["arn"]).lower())
        if found is None:
            findings.append(finding)
            continue
        billed, effective = (Decimal(str(value)) for value in found)
        findings.append({**finding, "billed_cost_usd": float(billed), "effective_cost_usd": float(effective)})
        matched += 1
        billed_total, effective_total = billed_total + billed, effective_total + effective
        if finding["resource_type"] not in JOB_TYPES:
            estimated += Decimal(str(finding.get("monthly_cost_usd") or 0))
        if all(finding["tags"].get(tag) for tag in required_tags(finding["resource_type"])):
            compliant_billed += billed
    compliance = _pct(compliant_billed, billed_total) if billed_total > 0 else None
    billed_block = {
        "month": month.label,
        "source": source,
        "matched_findings": matched,
        "billed_cost_usd": _usd(billed_total),
        "effective_cost_usd": _usd(effective_total),
        "estimated_usd_month": _usd(estimated),
        "tag_compliance_usd_pct": compliance,
    }
    return {**report, "findings": findings, "billed": billed_block}
