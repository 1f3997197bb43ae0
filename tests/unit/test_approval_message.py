"""The approval message: what an approver sees, buttons that carry a short id, Block Kit limits held by slack-sdk."""

from __future__ import annotations

import json

import pytest
from slack_sdk.models.blocks import Block

from mlgov.domain.approval_message import (
    BUTTON_VALUE_MAX,
    OUTCOMES,
    approval_blocks,
    approval_text,
    restore_command,
    result_blocks,
    result_text,
)

REF = "mZ3kQ9x-ab_Cd12345678A"
FINDING = {
    "arn": "arn:aws:sagemaker:eu-west-1:111122223333:endpoint/churn-prod",
    "account": "111122223333",
    "region": "eu-west-1",
    "resource_type": "endpoint",
    "name": "churn-prod",
    "status": "zombie",
    "reason": "0 invocations on its only variant (AllTraffic) for 30 days; CPU series present for AllTraffic",
    "instance_type": "ml.m5.xlarge",
    "instance_count": 2,
    "monthly_cost_usd": 336.24,
    "waste_usd_month": 336.24,
    "tags": {"ml:team": "fraud", "ml:model": "churn-xgb"},
    "owner": "alice@example.com",
    "evidence": {"usage_window_days": 30.0, "last_invoked": None},
}


def _validated(blocks: list[dict]) -> list[dict]:
    """Every block parses as a slack-sdk model and passes its limit checks (header 150, section 3000, ...)."""
    assert 0 < len(blocks) <= 50
    for block in blocks:
        model = Block.parse(block)
        assert model is not None, block
        model.validate_json()
    json.dumps(blocks)
    return blocks


def _all_text(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_approval_message_shows_every_fact_an_approver_needs():
    text = _all_text(_validated(approval_blocks(FINDING, REF, snooze_days=14)))
    for fact in (
        "churn-prod",
        "111122223333",
        "eu-west-1",
        "alice@example.com",
        "fraud",
        "churn-xgb",
        "2 × ml.m5.xlarge",
        "30 days",
        "$336.24/month",
        "0 invocations on its only variant",
        "Snooze 14 days",
    ):
        assert fact in text, fact


def test_buttons_are_approve_reject_snooze_carrying_the_reference():
    blocks = approval_blocks(FINDING, REF, snooze_days=14)
    buttons = [element for block in blocks if block["type"] == "actions" for element in block["elements"]]
    assert [(b["action_id"], b["value"]) for b in buttons] == [("approve", REF), ("reject", REF), ("snooze", REF)]
    assert buttons[0]["confirm"]["confirm"]["text"] == "Snapshot and delete"


def test_a_raw_task_token_is_refused_as_button_value():
    token = "AQCEAAAAKgAAAAMAAAAA" + "x" * (BUTTON_VALUE_MAX + 100)
    with pytest.raises(ValueError, match="short approval id"):
        approval_blocks(FINDING, token, snooze_days=7)
    with pytest.raises(ValueError, match="short approval id"):
        approval_blocks(FINDING, "abc/def+ghi==", snooze_days=7)


@pytest.mark.parametrize("days", [0, -1, 366, True, 1.5])
def test_snooze_days_must_be_a_sensible_whole_number(days):
    with pytest.raises(ValueError, match="snooze_days"):
        approval_blocks(FINDING, REF, snooze_days=days)


def test_oversized_and_hostile_values_stay_within_limits_and_ping_nobody():
    hostile = dict(
        FINDING,
        name="<!channel>" + "n" * 400,
        reason="<!here> " + "r" * 5000,
        owner="<@U999> " * 100,
        tags={"ml:team": "t" * 500, "ml:model": "<!everyone>"},
    )
    results = [result_blocks(hostile, outcome, {"reason": "x" * 5000}) for outcome in OUTCOMES]
    for blocks in [approval_blocks(hostile, REF, 30), *results]:
        _validated(blocks)
        markdown = " ".join(_mrkdwn_texts(blocks))  # plain_text (headers, buttons) never pings
        for mention in ("<!channel>", "<!here>", "<!everyone>", "<@U999>"):
            assert mention not in markdown
        assert len(blocks[0]["text"]["text"]) <= 150


def _mrkdwn_texts(node) -> list[str]:
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "mrkdwn" else []
        return own + [text for value in node.values() for text in _mrkdwn_texts(value)]
    if isinstance(node, list):
        return [text for value in node for text in _mrkdwn_texts(value)]
    return []


def test_missing_facts_read_unknown_rather_than_failing():
    bare = {"arn": "arn:aws:sagemaker:us-east-1:111122223333:endpoint/bare", "account": "111122223333"}
    text = _all_text(_validated(approval_blocks(bare, REF, 30)))
    assert "bare" in text and "unknown" in text and "untagged" in text and "an unknown amount (unpriced)" in text
    assert "unpriced/month" not in text and "$0.00" not in text
    assert "wastes an unknown amount (unpriced): approve" in approval_text(bare)


def test_approved_result_has_the_restore_command_and_no_buttons():
    detail = {
        "by": "U012ABCDEF",
        "archive_bucket": "mlgov-archive-111",
        "approvals_table": "MlgovHub-Approvals",
        "snapshot": "20260101T060000Z",
    }
    blocks = _validated(result_blocks(FINDING, "approved", detail))
    text = _all_text(blocks)
    assert (
        "mlgov restore churn-prod --archive-bucket mlgov-archive-111 --approvals-table MlgovHub-Approvals "
        "--account 111122223333"
    ) in text
    assert "--snapshot 20260101T060000Z" in text
    assert "<@U012ABCDEF>" in text
    assert not [block for block in blocks if block["type"] == "actions"]


def test_restore_command_quotes_what_a_shell_would_split():
    command = restore_command(dict(FINDING, name="odd name;rm"), {"archive_bucket": "b"})
    assert command.startswith("mlgov restore 'odd name;rm' --archive-bucket b")


@pytest.mark.parametrize(
    ("outcome", "detail", "expected"),
    [
        ("rejected", {"by": "U1ABC"}, "tagged `mlgov:exempt`"),
        ("snoozed", {"by": "U1ABC", "until": "2026-02-01"}, "until 2026-02-01"),
        ("timed_out", {"hours": 72}, "treated as a reject"),
        ("aborted", {"reason": "12 invocations since 2026-01-01"}, "12 invocations since 2026-01-01"),
        ("failed", {"reason": "checksum mismatch on model.tar.gz", "step": "verify"}, "Nothing was deleted"),
    ],
)
def test_every_outcome_says_what_happened(outcome, detail, expected):
    blocks = _validated(result_blocks(FINDING, outcome, detail))
    assert expected in _all_text(blocks)
    assert "mlgov restore" not in _all_text(blocks)
    assert result_text(FINDING, outcome, detail).startswith("mlgov: ")


def test_unknown_outcome_is_refused():
    with pytest.raises(ValueError, match="unknown outcome"):
        result_blocks(FINDING, "deleted", {})


def test_fallback_text_names_the_endpoint_and_waste():
    assert approval_text(FINDING) == (
        "mlgov: zombie endpoint churn-prod (111122223333 eu-west-1) wastes $336.24/month: "
        "approve, reject or snooze its deletion"
    )
