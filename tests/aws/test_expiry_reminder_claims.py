"""Expiry reminders on moto DynamoDB (the findings table): one reminder per resource and date however often the run
is replayed, a new date reminded again, a failed post released for the next run."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mlgov.services.budgets import NotifyError
from mlgov.services.expiry import remind_expiring
from tests.samples.notices import Notices

pytestmark = pytest.mark.aws

NOW = datetime(2026, 11, 20, 6, tzinfo=UTC)


def _report(expires: str) -> dict:
    finding = {"arn": "arn:aws:sagemaker:us-east-1:111111111111:endpoint/churn", "name": "churn",
               "resource_type": "endpoint", "account": "111111111111", "region": "us-east-1", "status": "active",
               "owner": "alice@example.com", "monthly_cost_usd": 168.0, "waste_usd_month": 0.0, "reason": "r",
               "tags": {"auto-delete-after": expires, "ml:team": "fraud"}}  # fmt: skip
    return {"findings": [finding]}


@pytest.fixture
def table(findings_table):
    findings_table.record_all(_report("2026-11-25")["findings"], NOW, "run-1")  # the run records findings first
    return findings_table


def test_one_reminder_per_date_however_often_the_run_is_replayed(table):
    sent = Notices()
    first = remind_expiring(_report("2026-11-25"), 7, NOW, table, sent)
    again = remind_expiring(_report("2026-11-25"), 7, NOW, table, sent)
    assert first["reminded"] == ["arn:aws:sagemaker:us-east-1:111111111111:endpoint/churn"] and again["reminded"] == []
    assert len(sent) == 1 and "auto-delete-after=2026-11-25, in 5 days" in sent[0]
    [button] = sent.buttons[0]  # the owner's "Extend" names the resource and the date it was reminded of
    assert button["value"] == "arn:aws:sagemaker:us-east-1:111111111111:endpoint/churn|2026-11-25"
    assert button["action_id"] == "extend_lifetime#0" and button["text"]["text"] == "Extend churn 30 days"
    assert table.get(first["reminded"][0])["reminded_for"] == "2026-11-25"  # the audit record on the finding
    moved = remind_expiring(_report("2026-11-26"), 7, NOW, table, sent)  # the owner changed the date
    assert moved["reminded"] and len(sent) == 2


def test_a_reminder_that_cannot_be_posted_is_released(table):
    def broken(text: str, buttons=()) -> None:
        raise NotifyError("Slack: chat.postMessage failed: not_in_channel")

    failed = remind_expiring(_report("2026-11-25"), 7, NOW, table, broken)
    assert failed["reminded"] == [] and "not_in_channel" in failed["error"]
    sent = Notices()
    assert remind_expiring(_report("2026-11-25"), 7, NOW, table, sent)["reminded"] and len(sent) == 1
