"""Slack button clicks on an approval message: parse the interactivity payload, decide what the click does."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs

from mlgov.domain.approval_message import ACTIONS, REFERENCE
from mlgov.domain.resource_buttons import BadButtonValue, parse_button, resource_action

DEFAULT_SNOOZE_DAYS = 30  # when the pending approval does not say (it normally does: put_pending stores it)
PENDING = "pending"


class BadInteraction(ValueError):
    """The (correctly signed) request is not a click on an mlgov approval button; the text says why."""


@dataclass(frozen=True)
class Click:
    user_id: str
    action: str  # approve | reject | snooze, or a resource button's action (keep_running | extend_lifetime)
    reference: str  # the approval id the button carries (a resource button: its value, checked by parse_button)
    channel: str
    message_ts: str
    response_url: str | None = None  # Slack's per-interaction webhook (ephemeral replies), when present


@dataclass(frozen=True)
class ClickDecision:
    respond_text: str  # the ephemeral answer to the clicking user
    send: Literal["success", "failure"] | None  # what to tell Step Functions; None: nothing
    output: dict = field(default_factory=dict)  # SendTaskSuccess output (or error/cause for a failure)


def parse_interaction(body: str | bytes) -> Click:
    """The form body Slack posts (`payload=<JSON>`) → Click; BadInteraction when it is anything else."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    values = parse_qs(text or "", keep_blank_values=True).get("payload")
    if not values:
        raise BadInteraction("no payload field in the form body")
    try:
        payload = json.loads(values[0])
    except json.JSONDecodeError as err:
        raise BadInteraction(f"payload is not JSON: {err.msg}") from None
    if not isinstance(payload, dict):
        raise BadInteraction("payload is not a JSON object")
    if payload.get("type") != "block_actions":
        raise BadInteraction(f"interaction type {payload.get('type')!r} is not block_actions")
    user = _str(_obj(payload, "user").get("id"), "user.id")
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise BadInteraction("no action in the payload")
    action, reference = actions[0].get("action_id"), actions[0].get("value")
    if (resource := resource_action(action)) is not None:
        action = resource
        try:
            parse_button(action, reference if isinstance(reference, str) else "")
        except BadButtonValue as err:
            raise BadInteraction(str(err)) from None
    elif action not in ACTIONS:
        raise BadInteraction(f"action_id {action!r} is not one of {', '.join(ACTIONS)} or a resource button")
    elif not isinstance(reference, str) or not REFERENCE.fullmatch(reference):
        raise BadInteraction("the button value is not an approval id")
    container = payload.get("container") if isinstance(payload.get("container"), dict) else {}
    message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
    channel = container.get("channel_id") or _obj(payload, "channel").get("id")
    ts = container.get("message_ts") or message.get("ts")
    response_url = payload.get("response_url")
    return Click(
        user_id=user,
        action=action,
        reference=reference,
        channel=_str(channel, "channel.id"),
        message_ts=_str(ts, "container.message_ts"),
        response_url=response_url if isinstance(response_url, str) and response_url else None,
    )


def decide_click(
    click: Click, approvers: set[str] | frozenset[str], state: Mapping | None, *, now: float | None = None
) -> ClickDecision:
    """What a click does, given the approver allow-list and the pending approval (None: unknown reference).

    `now` (epoch seconds), when given, also treats a pending approval past its `expires_at` as finished. Only a
    decision with `send` set may change anything; the caller still claims the approval atomically before sending.
    """
    if click.user_id not in approvers:
        return ClickDecision(
            f"Sorry <@{click.user_id}>, only the configured mlgov approvers can decide on zombie endpoints; "
            "nothing was changed.",
            None,
        )
    if state is None or state.get("status") != PENDING or _expired(state, now):
        return ClickDecision(already_handled_text(), None)
    name = state.get("endpoint_name") or "the endpoint"
    output: dict = {"decision": click.action, "by": click.user_id}
    if click.action == "approve":
        text = f"Approved: mlgov re-checks usage, snapshots and then deletes `{name}`; the message shows the result."
    elif click.action == "reject":
        text = f"Rejected: `{name}` is kept and tagged exempt."
    else:
        output["days"] = _snooze_days(state)
        text = f"Snoozed: `{name}` is kept; mlgov asks again in {output['days']} days."
    return ClickDecision(text, "success", output)


def already_handled_text() -> str:
    return "This approval was already handled (decided, timed out or finished); nothing was changed."


def _expired(state: Mapping, now: float | None) -> bool:
    expires = state.get("expires_at")
    return now is not None and expires is not None and float(expires) <= now


def _snooze_days(state: Mapping) -> int:
    days = state.get("snooze_days")
    try:
        return int(days) if days is not None and int(days) > 0 else DEFAULT_SNOOZE_DAYS
    except (TypeError, ValueError):
        return DEFAULT_SNOOZE_DAYS


def _obj(payload: Mapping, key: str) -> Mapping:
    value = payload.get(key)
    return value if isinstance(value, dict) else {}


def _str(value: object, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise BadInteraction(f"{name} is missing")
    return value
