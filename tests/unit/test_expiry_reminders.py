"""Expiry reminders, pure: which billed resources reach their auto-delete-after date within the window, and the
message their owners get."""

from __future__ import annotations

from datetime import date

import pytest

from mlgov.domain.expiry import expiring_soon, reminder_text

pytestmark = pytest.mark.unit

TODAY = date(2026, 11, 20)


def finding(name, expires, status="active", monthly=168.0, **tags) -> dict:
    return {"arn": f"arn:aws:sagemaker:us-east-1:111111111111:endpoint/{name}", "name": name,
            "resource_type": "endpoint", "account": "111111111111", "region": "us-east-1", "status": status,
            "owner": "alice@example.com", "monthly_cost_usd": monthly,
            "tags": {"auto-delete-after": expires, "ml:team": "fraud", **tags}}  # fmt: skip


def test_billed_resources_within_the_window_are_due_soonest_first():
    findings = [
        finding("later", "2026-11-27"),
        finding("today", "2026-11-20"),
        finding("beyond", "2026-11-28"),  # 8 days: outside a 7-day window
        finding("past", "2026-11-19"),  # the scan reports it expired
        finding("stopped", "2026-11-21", status="stopped"),
        finding("free", "2026-11-21", monthly=0.0),
        finding("unpriced", "2026-11-22", monthly=None),  # billed at an unknown price: still worth telling
        finding("garbled", "next week"),
    ]
    due = expiring_soon(findings, TODAY, 7)
    assert [item.name for item in due] == ["today", "unpriced", "later"]
    assert expiring_soon(findings, TODAY, 0) == []


def test_the_message_names_each_resource_its_owner_date_and_cost():
    due = expiring_soon([finding("churn", "2026-11-21"), finding("lab", "2026-11-25", monthly=None)], TODAY, 7)
    text = reminder_text(due, TODAY)
    assert text.startswith("2 resources reach their auto-delete-after date soon")
    assert (
        "• endpoint *churn* (111111111111/us-east-1, alice@example.com, team fraud): "
        "auto-delete-after=2026-11-21, tomorrow; $168.00/month"
    ) in text
    assert "auto-delete-after=2026-11-25, in 5 days; unpriced/month" in text


def test_a_long_notice_is_split_into_sections_within_slacks_limits_and_escaped():
    from mlgov.domain.slack_digest import MAX_BLOCKS, SECTION_TEXT_MAX, notice_blocks

    many = [finding(f"endpoint-{i:04}", "2026-11-25") for i in range(1200)]
    text = reminder_text(expiring_soon(many, TODAY, 7), TODAY) + "\n<!channel> & <@U123>"
    blocks = notice_blocks(text)
    assert 1 < len(blocks) <= MAX_BLOCKS
    assert all(len(b["text"]["text"]) <= SECTION_TEXT_MAX and b["text"]["verbatim"] is True for b in blocks)
    assert blocks[-1]["text"]["text"].endswith("more sections: see the report")
    short = notice_blocks("a & <!channel> <@U123>")
    assert short[0]["text"]["text"] == ":warning: a &amp; &lt;!channel&gt; &lt;@U123&gt;"
