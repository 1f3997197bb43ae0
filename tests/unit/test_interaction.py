"""Slack clicks on approval buttons: parsing the interactivity payload and deciding what a click does."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from mlgov.domain.interaction import (
    DEFAULT_SNOOZE_DAYS,
    BadInteraction,
    Click,
    decide_click,
    parse_interaction,
)

REF = "mZ3kQ9x-ab_Cd12345678A"
APPROVERS = {"U0APPROVER", "U0OTHER"}
NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def slack_payload(action: str = "approve", value: str = REF, user: str = "U0APPROVER", **overrides) -> dict:
    """The shape Slack posts for a button click in a message (block_actions), trimmed to what matters."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "alice", "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "container": {
            "type": "message",
            "message_ts": "1767225600.000100",
            "channel_id": "C0CHAN",
            "is_ephemeral": False,
        },
        "trigger_id": "123.456.abc",
        "team": {"id": "T0TEAM", "domain": "example"},
        "channel": {"id": "C0CHAN", "name": "ml-governance"},
        "message": {"type": "message", "ts": "1767225600.000100", "text": "mlgov: zombie endpoint"},
        "response_url": "https://hooks.slack.com/actions/T0TEAM/1/abc",
        "actions": [
            {
                "action_id": action,
                "block_id": "mlgov_approval",
                "text": {"type": "plain_text", "text": "Approve deletion"},
                "value": value,
                "type": "button",
                "action_ts": "1767225601.000200",
            }
        ],
    }
    payload.update(overrides)
    return payload


def form(payload: dict) -> str:
    return urlencode({"payload": json.dumps(payload)})


def pending(**overrides) -> dict:
    return {"status": "pending", "endpoint_name": "churn-prod", "snooze_days": 14, "expires_at": int(NOW) + 3600} | (
        overrides
    )


def test_a_button_click_parses_into_a_click():
    assert parse_interaction(form(slack_payload("snooze"))) == Click(
        user_id="U0APPROVER",
        action="snooze",
        reference=REF,
        channel="C0CHAN",
        message_ts="1767225600.000100",
        response_url="https://hooks.slack.com/actions/T0TEAM/1/abc",
    )


def test_bytes_bodies_and_message_ts_fallback_parse_too():
    payload = slack_payload(container={"type": "message"})
    click = parse_interaction(form(payload).encode())
    assert (click.channel, click.message_ts) == ("C0CHAN", "1767225600.000100")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("", "no payload"),
        ("text=hello", "no payload"),
        (urlencode({"payload": "{not json"}), "not JSON"),
        (urlencode({"payload": "[1]"}), "not a JSON object"),
        (form(slack_payload(type="view_submission")), "block_actions"),
        (form(slack_payload(actions=[])), "no action"),
        (form(slack_payload(action="delete")), "action_id"),
        (form(slack_payload(value="x" * 1200)), "approval id"),
        (form(slack_payload(user={})), "user.id"),
        (form(slack_payload(container={}, channel=None)), "channel.id"),
    ],
)
def test_anything_but_an_approval_click_is_a_bad_interaction(body, reason):
    with pytest.raises(BadInteraction, match=reason):
        parse_interaction(body)


def click(action: str = "approve", user: str = "U0APPROVER") -> Click:
    return parse_interaction(form(slack_payload(action, user=user)))


@pytest.mark.parametrize(
    ("action", "output"),
    [
        ("approve", {"decision": "approve", "by": "U0APPROVER"}),
        ("reject", {"decision": "reject", "by": "U0APPROVER"}),
        ("snooze", {"decision": "snooze", "by": "U0APPROVER", "days": 14}),
    ],
)
def test_an_approver_click_on_a_pending_approval_sends_the_decision(action, output):
    decision = decide_click(click(action), APPROVERS, pending(), now=NOW)
    assert (decision.send, decision.output) == ("success", output)
    assert "churn-prod" in decision.respond_text


def test_a_non_approver_is_refused_politely_and_nothing_is_sent():
    decision = decide_click(click(user="U0INTRUDER"), APPROVERS, pending(), now=NOW)
    assert decision.send is None and decision.output == {}
    assert "only the configured mlgov approvers" in decision.respond_text


@pytest.mark.parametrize(
    "state",
    [None, pending(status="done"), pending(expires_at=int(NOW) - 1), pending(expires_at=int(NOW))],
    ids=["unknown", "done", "expired", "deadline-now"],
)
def test_unknown_finished_or_expired_approvals_are_already_handled(state):
    decision = decide_click(click(), APPROVERS, state, now=NOW)
    assert decision.send is None
    assert "already handled" in decision.respond_text


def test_snooze_without_stored_days_uses_the_default():
    decision = decide_click(click("snooze"), APPROVERS, pending(snooze_days=None), now=NOW)
    assert decision.output["days"] == DEFAULT_SNOOZE_DAYS
