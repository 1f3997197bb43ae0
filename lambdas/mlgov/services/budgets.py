"""Team budget alerts after each scheduled scan (one use case for the scanner Lambda): forecast each team's month,
claim the thresholds it newly passed in the findings table, post one alert per team; an alert that cannot be posted
releases its claim so that the next run tries again, and a retried run alerts nothing twice."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from mlgov.domain.budgets import due_alerts, month_of, passed_thresholds, team_forecasts


class BudgetClaims(Protocol):
    def claim_budget_thresholds(self, team: str, month: str, thresholds: list[int], now: datetime) -> list[int]: ...

    def record_budget_alert(self, team: str, month: str, now: datetime, audit: Mapping[str, object]) -> None: ...

    def release_budget_thresholds(self, team: str, month: str, thresholds: list[int]) -> None: ...


class NotifyError(RuntimeError):
    """An alert could not be delivered; the message says where and why."""


def alert_budgets(
    report: Mapping,
    budgets: Mapping[str, float],
    now: datetime,
    claims: BudgetClaims,
    notify: Callable[[str], None],
) -> dict:
    """The `budgets` block of the run: every budgeted team's forecast, and the alerts posted (or failed)."""
    month = month_of(now)
    forecasts = team_forecasts(report, budgets)
    alerts = []
    for team, forecast in forecasts.items():
        passed = passed_thresholds(forecast)
        if not passed:
            continue
        before = claims.claim_budget_thresholds(team, month, passed, now)
        for alert in due_alerts({team: forecast}, {team: before}, month):
            try:
                notify(alert.text())
            except NotifyError as err:
                claims.release_budget_thresholds(team, month, list(alert.passed))
                alerts.append({"team": team, "threshold_pct": alert.threshold_pct, "posted": False, "error": str(err)})
                continue
            audit = {"threshold_pct": alert.threshold_pct, "forecast_usd": round(forecast.forecast_usd, 2),
                     "budget_usd": forecast.budget_usd, "forecast_pct": round(forecast.pct, 1),
                     "by": "mlgov scheduled scan"}  # fmt: skip
            claims.record_budget_alert(team, month, now, audit)
            alerts.append({"team": team, "threshold_pct": alert.threshold_pct, "posted": True, "text": alert.text()})
    return {"month": month, "teams": {team: f.as_json() for team, f in forecasts.items()}, "alerts": alerts}
