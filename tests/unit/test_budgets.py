"""Team budgets, pure: month-end forecasts by ml:team (shared endpoints split as the report splits them, unpriced
resources counted apart) and the alerts due at 80 % and 100 %, once per threshold and month."""

from __future__ import annotations

import pytest

from mlgov.domain.budgets import TeamForecast, due_alerts, passed_thresholds, team_forecasts

pytestmark = pytest.mark.unit


def finding(name, team, forecast, *, monthly=100.0, resource_type="endpoint", **extra) -> dict:
    evidence = {"month_end_forecast_usd": forecast, **extra.pop("evidence", {})}
    return {"account": "111111111111", "region": "us-east-1", "name": name, "resource_type": resource_type,
            "tags": {"ml:team": team} if team else {}, "monthly_cost_usd": monthly, "evidence": evidence,
            **extra}  # fmt: skip


def test_forecasts_sum_each_teams_resources_and_follow_the_shared_endpoint_split():
    report = {
        "findings": [
            finding("churn", "fraud", 400.0),
            finding("lab", "fraud", 35.5, resource_type="notebook-instance"),
            finding("shared", "platform", 1000.0, monthly=2000.0, shared={"unallocated_usd_month": 500.0}),  # fmt: skip
            finding(
                "chat",
                "search",
                None,
                monthly=0.0,
                resource_type="inference-component",
                allocated_cost_usd_month=1500.0,
                evidence={"endpoint_share_pct": 75.0, "detail.endpoint_name": "shared"},
            ),  # fmt: skip
            finding("mystery", "search", None, monthly=None),  # unpriced
            finding("stray", None, 10.0),
        ]
    }
    forecasts = team_forecasts(report, {"fraud": 500, "platform": 1000, "search": 600, "idle-team": 50})
    assert forecasts["fraud"].forecast_usd == pytest.approx(435.5)
    assert forecasts["platform"].forecast_usd == pytest.approx(250.0)  # what no component reserves: 1000 × 500/2000
    assert forecasts["search"].forecast_usd == pytest.approx(750.0)  # 75 % of the endpoint's forecast
    assert forecasts["search"].unpriced == 1
    assert forecasts["idle-team"].forecast_usd == 0.0
    assert "(untagged)" not in forecasts  # only budgeted teams


def test_thresholds_are_alerted_once_a_month_and_a_jump_past_both_records_both():
    over = TeamForecast("fraud", 500.0, 520.0, 0)
    near = TeamForecast("risk", 1000.0, 850.0, 2)
    under = TeamForecast("search", 1000.0, 100.0, 0)
    assert passed_thresholds(over) == [80, 100] and passed_thresholds(near) == [80] and passed_thresholds(under) == []
    alerts = due_alerts({"fraud": over, "risk": near, "search": under}, {}, "2026-11")
    assert [(a.team, a.threshold_pct, a.passed) for a in alerts] == [("fraud", 100, (80, 100)), ("risk", 80, (80,))]
    assert alerts[0].text() == (
        "Budget 100%: team fraud is forecast to spend $520.00 on SageMaker in 2026-11, 104% of its $500.00 budget."
    )
    assert "2 of its resources are unpriced and not counted" in alerts[1].text()
    assert due_alerts({"fraud": over, "risk": near}, {"fraud": [80, 100], "risk": [80]}, "2026-11") == []
    (later,) = due_alerts({"risk": TeamForecast("risk", 1000.0, 1000.0, 0)}, {"risk": [80]}, "2026-11")
    assert (later.threshold_pct, later.passed) == (100, (100,))
