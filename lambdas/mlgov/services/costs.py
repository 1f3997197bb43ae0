"""Billed cost of SageMaker from the organization's FOCUS export (one use case for `mlgov costs`, `mlgov scan
--cost-export` and the hub): run the domain's queries on an engine (DuckDB or Athena) and build the report."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from mlgov.domain.around_costs import Measured, with_around_costs
from mlgov.domain.cost_export import (
    Dialect,
    Window,
    billed_by_resource,
    compliance_query,
    cost_query,
    cost_rows,
    costs_report,
    last_full_month,
    month_to_date,
    with_billed_costs,
)
from mlgov.domain.tag_schema import TagSchema
from mlgov.services.around_costs import billed_around


class CostEngine(Protocol):
    location: str
    source: str
    dialect: Dialect

    def rows(self, sql: str) -> list[tuple]: ...


def billed_costs(engine: CostEngine, by: str, now: datetime, schema: TagSchema, month: Window | None = None) -> dict:
    """SageMaker's billed, effective and list cost by `by` for `month` (default: the last full month) and the
    month to date, with the dollar-weighted tag compliance of the month's usage (against the keys the schema requires
    of every resource type: a billing row does not say its type) and the Savings Plans coverage."""
    month = month or last_full_month(now)
    current = month_to_date(now)
    rows = cost_rows(engine.rows(cost_query(engine.source, by, month, current, engine.dialect)))
    everywhere = [rule.key for rule in schema.rules if rule.applies_to is None]
    compliance = engine.rows(compliance_query(engine.source, everywhere, month, engine.dialect))
    return costs_report(rows, by, month, current, compliance[0] if compliance else None, engine.location)


def billed_resources(engine: CostEngine, now: datetime) -> tuple[Window, dict[str, tuple[float, float]]]:
    """(the last full month, lower-cased ResourceId -> (billed, effective) in it)."""
    month = last_full_month(now)
    rows = cost_rows(engine.rows(cost_query(engine.source, "resource", month, month_to_date(now), engine.dialect)))
    return month, billed_by_resource(rows)


def add_billed_costs(
    report: dict, engine: CostEngine, now: datetime, schema: TagSchema, around: Measured | None = None
) -> dict:
    """`mlgov scan --cost-export`: each finding whose ARN the export bills gets its billed and effective cost of the
    last full month; the report's `billed` block compares them with the estimate. With `around` (the costs around the
    endpoints), the export's lines of their log groups and artifact buckets replace the estimates."""
    month, by_resource = billed_resources(engine, now)

    def required(resource_type: str) -> list[str]:
        return [rule.key for rule in schema.rules_for(resource_type)]

    document = with_billed_costs(report, month, engine.location, by_resource, required)
    if around is not None:
        document = with_around_costs(document, around, billed_around(document, around, engine, now))
    return document
