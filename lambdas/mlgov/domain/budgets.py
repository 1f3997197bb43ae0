"""Team budgets: each team's month-end forecast from the scan report against its monthly budget, and the alerts due
when the forecast passes 80 % and 100 % — each threshold alerted once per team and calendar month (UTC).

The forecast of a team is the sum of its resources' `month_end_forecast_usd` (month to date + the hourly price × the
real hours left in the UTC month; a job: what its run billed this month), by the `ml:team` tag. Shared endpoints
follow the report's split: an inference component forecasts its share of its endpoint, the endpoint what no
component reserves. Unpriced resources add nothing and are counted, so an alert can say what it does not know.
Pure: the report and the budgets in, forecasts and alerts out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from mlgov.domain.report import usd

TEAM_TAG = "ml:team"
THRESHOLDS_PCT = (80, 100)
UNTAGGED_TEAM = "(untagged)"


@dataclass(frozen=True)
class TeamForecast:
    team: str
    budget_usd: float
    forecast_usd: float
    unpriced: int  # the team's resources without a price: not in the forecast

    @property
    def pct(self) -> float:
        return self.forecast_usd / self.budget_usd * 100 if self.budget_usd else 0.0

    def as_json(self) -> dict:
        return {
            "budget_usd": round(self.budget_usd, 2),
            "forecast_usd": round(self.forecast_usd, 2),
            "forecast_pct": round(self.pct, 1),
            "unpriced_resources": self.unpriced,
        }


@dataclass(frozen=True)
class BudgetAlert:
    team: str
    month: str  # YYYY-MM
    threshold_pct: int  # the highest threshold newly passed
    passed: tuple[int, ...]  # every threshold this alert records (80 and 100 when both are passed at once)
    forecast: TeamForecast

    def text(self) -> str:
        f = self.forecast
        verb = "is" if f.unpriced == 1 else "are"
        unknown = f" ({f.unpriced} of its resources {verb} unpriced and not counted)" if f.unpriced else ""
        return (
            f"Budget {self.threshold_pct}%: team {self.team} is forecast to spend {usd(f.forecast_usd)} on SageMaker "
            f"in {self.month}, {f.pct:.0f}% of its {usd(f.budget_usd)} budget{unknown}."
        )


def month_of(now: datetime) -> str:
    return now.strftime("%Y-%m")


def team_forecasts(report: Mapping, budgets: Mapping[str, float]) -> dict[str, TeamForecast]:
    """The month-end forecast of every team that has a budget (0 when the scan found nothing of it)."""
    findings = report.get("findings") or []
    endpoints = {(f["account"], f["region"], f["name"]): f for f in findings if f.get("resource_type") == "endpoint"}
    totals: defaultdict[str, float] = defaultdict(float)
    unpriced: defaultdict[str, int] = defaultdict(int)
    for finding in findings:
        team = (finding.get("tags") or {}).get(TEAM_TAG) or UNTAGGED_TEAM
        forecast = _forecast(finding, endpoints)
        if forecast is None:
            unpriced[team] += finding.get("monthly_cost_usd") is None
            continue
        totals[team] += forecast
    return {
        team: TeamForecast(team, float(budget), totals.get(team, 0.0), unpriced.get(team, 0))
        for team, budget in sorted(budgets.items())
    }


def passed_thresholds(forecast: TeamForecast) -> list[int]:
    return [t for t in THRESHOLDS_PCT if forecast.budget_usd > 0 and forecast.pct >= t]


def due_alerts(
    forecasts: Mapping[str, TeamForecast], alerted: Mapping[str, Sequence[int]], month: str
) -> list[BudgetAlert]:
    """One alert per team whose forecast passed a threshold not alerted yet this month (`alerted`: team -> the
    thresholds already alerted in `month`); it records every threshold it passes, so 80 % is not sent after 100 %."""
    alerts = []
    for team, forecast in sorted(forecasts.items()):
        new = [t for t in passed_thresholds(forecast) if t not in set(alerted.get(team, ()))]
        if new:
            alerts.append(BudgetAlert(team, month, max(new), tuple(new), forecast))
    return alerts


def _forecast(finding: Mapping, endpoints: Mapping[tuple[str, str, str], Mapping]) -> float | None:
    evidence = finding.get("evidence") or {}
    if finding.get("allocated_cost_usd_month") is not None:  # an inference component: its share of the endpoint
        host = endpoints.get((finding["account"], finding["region"], evidence.get("detail.endpoint_name")))
        host_forecast = (host or {}).get("evidence", {}).get("month_end_forecast_usd")
        share = evidence.get("endpoint_share_pct")
        return None if host_forecast is None or share is None else host_forecast * share / 100
    forecast = evidence.get("month_end_forecast_usd")
    shared = finding.get("shared") or {}
    if forecast is not None and shared.get("unallocated_usd_month") is not None and finding.get("monthly_cost_usd"):
        return forecast * shared["unallocated_usd_month"] / finding["monthly_cost_usd"]  # what no component holds
    return forecast
