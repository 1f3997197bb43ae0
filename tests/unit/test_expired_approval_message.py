"""The approval request for an expired endpoint: the lifetime date is the why, the traffic it still serves is shown,
the buttons are the zombie request's; and its outcome when the re-check keeps it."""

from __future__ import annotations

import json

import pytest
from slack_sdk.models.blocks import Block

from mlgov.domain.approval_message import (
    approval_blocks,
    approval_text,
    result_blocks,
    result_text,
    traffic_phrase,
)

REF = "mZ3kQ9x-ab_Cd12345678A"
FINDING = {
    "arn": "arn:aws:sagemaker:eu-west-1:111122223333:endpoint/churn-prod",
    "account": "111122223333",
    "region": "eu-west-1",
    "resource_type": "endpoint",
    "name": "churn-prod",
    "status": "expired",
    "reason": "auto-delete-after=2026-11-20 is in the past and it is still billed; usage: 812 invocations in the last "
    "30 days (AllTraffic: 812); last invoked 2026-11-23",
    "instance_type": "ml.m5.xlarge",
    "instance_count": 2,
    "monthly_cost_usd": 336.24,
    "waste_usd_month": 336.24,
    "tags": {"ml:team": "fraud", "ml:model": "churn-xgb", "auto-delete-after": "2026-11-20"},
    "owner": "alice@example.com",
    "evidence": {
        "expired_on": "2026-11-20",
        "usage_status": "active",
        "usage_window_days": 30.0,
        "invocations": {"AllTraffic": 812.0},
        "last_invoked": "2026-11-23",
    },
}


def _text(blocks: list[dict]) -> str:
    for block in blocks:
        Block.parse(block).validate_json()  # slack-sdk's Block Kit limits
    return json.dumps(blocks, ensure_ascii=False)


def test_the_request_says_when_it_expired_and_the_traffic_it_still_serves():
    blocks = approval_blocks(FINDING, REF, snooze_days=30, expired_on="2026-11-20")
    text = _text(blocks)

    assert blocks[0]["text"]["text"] == "Expired endpoint: churn-prod"
    assert "*Why:* expired on 2026-11-20 (auto-delete-after) and still billed." in text
    assert "812 invocations in the last 30 days (last invoked 2026-11-23)" in text
    assert "It still serves traffic" in text
    assert "*Idle*" not in text and "is in the past" not in text  # the date, not the idle evidence
    for fact in ("churn-prod", "111122223333", "alice@example.com", "fraud", "2 × ml.m5.xlarge", "$336.24/month"):
        assert fact in text, fact
    buttons = [e for block in blocks if block["type"] == "actions" for e in block["elements"]]
    assert [(b["action_id"], b["value"]) for b in buttons] == [("approve", REF), ("reject", REF), ("snooze", REF)]
    assert "re-checks that auto-delete-after is still past" in text


def test_the_notification_text_names_the_date():
    assert approval_text(FINDING, expired_on="2026-11-20") == (
        "mlgov: endpoint churn-prod (111122223333 eu-west-1) expired on 2026-11-20 (auto-delete-after) and costs "
        "$336.24/month: approve, reject or snooze its deletion"
    )
    assert approval_text(FINDING).startswith("mlgov: zombie endpoint churn-prod")  # without the date: as before


@pytest.mark.parametrize(
    ("evidence", "expected"),
    [
        ({"invocations": {"a": 1.0, "b": 2.0}, "usage_window_days": 7.5}, "3 invocations in the last 7.5 days"),
        ({"invocations": {"a": 1.0}, "usage_window_days": 30.0}, "1 invocation in the last 30 days"),
        ({"invocations": {"a": 0.0, "b": None}, "usage_window_days": 30.0}, "no invocation in the last 30 days"),
        ({"invocations": {"a": None}}, "unknown (no Invocations series read)"),
        ({}, "unknown (no Invocations series read)"),
    ],
)
def test_traffic_is_counted_over_the_variants_the_scan_read(evidence, expected):
    assert traffic_phrase(evidence) == expected


def test_an_expired_endpoint_without_traffic_says_so_without_claiming_it_is_used():
    quiet = {**FINDING, "evidence": {"expired_on": "2026-11-20", "usage_status": "unknown"}}
    text = _text(approval_blocks(quiet, REF, 30, expired_on="2026-11-20"))

    assert "Traffic: unknown (no Invocations series read)." in text and "still serves traffic" not in text


def test_a_recheck_that_keeps_it_says_what_it_found():
    detail = {"reason": "auto-delete-after was extended from 2026-11-20 to 2027-01-15", "expired_on": "2026-11-20"}
    text = _text(result_blocks(FINDING, "aborted", detail))

    assert "Not deleted: the re-check before deletion found that auto-delete-after was extended" in text
    assert "traffic" not in text.lower()
    assert result_text(FINDING, "aborted", detail) == "mlgov: kept (re-checked): churn-prod"
