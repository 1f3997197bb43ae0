"""Budget alerts on moto DynamoDB (the findings table): claimed once per threshold and month under retries, released
when the alert cannot be posted, and a new month starting over."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mlgov.aws.findings_table import budget_key
from mlgov.services.budgets import NotifyError, alert_budgets

pytestmark = pytest.mark.aws

NOW = datetime(2026, 11, 20, 6, tzinfo=UTC)
REPORT = {
    "findings": [
        {"account": "111111111111", "region": "us-east-1", "name": "churn", "resource_type": "endpoint",
         "tags": {"ml:team": "fraud"}, "monthly_cost_usd": 500.0, "evidence": {"month_end_forecast_usd": 420.0}},
    ]
}  # fmt: skip


def test_a_team_past_80_percent_is_alerted_once_however_often_the_run_is_replayed(findings_table):
    sent: list[str] = []
    first = alert_budgets(REPORT, {"fraud": 500}, NOW, findings_table, sent.append)
    again = alert_budgets(REPORT, {"fraud": 500}, NOW, findings_table, sent.append)  # a retried or a later run
    assert sent == [
        "Budget 80%: team fraud is forecast to spend $420.00 on SageMaker in 2026-11, 84% of its $500.00 budget."
    ]
    assert [a["posted"] for a in first["alerts"]] == [True] and again["alerts"] == []
    assert first["teams"]["fraud"] == {"budget_usd": 500.0, "forecast_usd": 420.0, "forecast_pct": 84.0,
                                       "unpriced_resources": 0}  # fmt: skip
    row = findings_table.get(budget_key("fraud", "2026-11"))
    assert row["alerted_pct"] == {80} and row["last_alert"]["forecast_pct"] == 84  # the audit record

    over = {"findings": [{**REPORT["findings"][0], "evidence": {"month_end_forecast_usd": 510.0}}]}
    alert_budgets(over, {"fraud": 500}, NOW, findings_table, sent.append)
    assert sent[-1].startswith("Budget 100%: team fraud") and len(sent) == 2

    december = datetime(2026, 12, 1, 6, tzinfo=UTC)
    alert_budgets(over, {"fraud": 500}, december, findings_table, sent.append)  # a new month starts over, once
    assert sent[-1].startswith("Budget 100%") and "in 2026-12" in sent[-1] and len(sent) == 3


def test_an_alert_that_cannot_be_posted_is_released_for_the_next_run(findings_table):
    def broken(text: str) -> None:
        raise NotifyError("Slack: chat.postMessage failed: channel_not_found")

    failed = alert_budgets(REPORT, {"fraud": 500}, NOW, findings_table, broken)
    assert failed["alerts"] == [{"team": "fraud", "threshold_pct": 80, "posted": False,
                                 "error": "Slack: chat.postMessage failed: channel_not_found"}]  # fmt: skip
    sent: list[str] = []
    alert_budgets(REPORT, {"fraud": 500}, NOW, findings_table, sent.append)
    assert len(sent) == 1 and sent[0].startswith("Budget 80%")
