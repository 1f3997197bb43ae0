"""The buttons on mlgov's notices that act on one resource — "Keep running" on an idle notebook's or Studio app's
warning, "Extend 30 days" on an expiry reminder — and what a click on one may do. Pure: values, identities and dates
in, decisions out.

A button's value names the resource (and, for an extension, the date the reminder was about); Slack signs the click,
so the value is what mlgov posted, but it is re-checked against the live resource before anything is written.
Who may click: the configured approvers, and the resource's owner — the Slack user whose profile e-mail equals the
resource's `mlgov:created-by` tag (a protected key only mlgov's auto-tagger writes). A click can only keep or extend,
never delete, and an extension never passes the tag schema's maximum lifetime.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

KEEP_RUNNING = "keep_running"
EXTEND_LIFETIME = "extend_lifetime"
RESOURCE_ACTIONS = (KEEP_RUNNING, EXTEND_LIFETIME)
KEEP_RUNNING_DAYS = (
    7  # the exemption a "Keep running" click writes lapses after this; then the notebook is warned again
)
EXTEND_DAYS = 30
BUTTONS_PER_BLOCK = 25  # Block Kit: elements of one actions block
_ARN = re.compile(r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:[a-z-]+/[A-Za-z0-9][A-Za-z0-9/-]{0,120}")
_KINDS = {KEEP_RUNNING: ("notebook-instance", "app"), EXTEND_LIFETIME: None}  # None: any SageMaker resource


class BadButtonValue(ValueError):
    """A click whose value is not one mlgov posts; the text says why."""


@dataclass(frozen=True)
class ButtonTarget:
    action: str
    arn: str
    reminded_for: date | None = None  # an extension: the auto-delete-after date the reminder told

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    @property
    def region(self) -> str:
        return self.arn.split(":")[3]

    @property
    def name(self) -> str:
        return self.arn.rsplit("/", 1)[1]


def keep_running_button(arn: str, name: str, index: int) -> dict:
    """The `index`-th button of a message (action ids must differ within a block)."""
    return _button(f"{KEEP_RUNNING}#{index}", f"Keep {name} running", arn)


def extend_button(arn: str, name: str, expires_on: date, index: int) -> dict:
    return _button(f"{EXTEND_LIFETIME}#{index}", f"Extend {name} {EXTEND_DAYS} days", f"{arn}|{expires_on.isoformat()}")


def resource_action(action_id: object) -> str | None:
    """KEEP_RUNNING or EXTEND_LIFETIME for a resource button's action id (`<action>#<index>`), else None."""
    if not isinstance(action_id, str):
        return None
    action, _, index = action_id.partition("#")
    return action if action in RESOURCE_ACTIONS and index.isdigit() else None


def button_blocks(buttons: list[dict]) -> list[dict]:
    """Buttons in actions blocks of at most BUTTONS_PER_BLOCK elements."""
    return [
        {"type": "actions", "elements": buttons[i : i + BUTTONS_PER_BLOCK]}
        for i in range(0, len(buttons), BUTTONS_PER_BLOCK)
    ]


def parse_button(action: str, value: str) -> ButtonTarget:
    """The resource (and date) a click names; BadButtonValue for anything mlgov would not have posted."""
    if action not in RESOURCE_ACTIONS:
        raise BadButtonValue(f"action_id {action!r} is not a resource button")
    arn, _, day = value.partition("|")
    if not _ARN.fullmatch(arn):
        raise BadButtonValue("the button value is not a SageMaker resource ARN")
    kinds = _KINDS[action]
    if kinds is not None and arn.split(":")[5].split("/", 1)[0] not in kinds:
        raise BadButtonValue(f"{action} applies to {', '.join(kinds)} only")
    if action == KEEP_RUNNING:
        if day:
            raise BadButtonValue("a keep-running button carries no date")
        return ButtonTarget(action, arn)
    try:
        return ButtonTarget(action, arn, date.fromisoformat(day))
    except ValueError:
        raise BadButtonValue("an extension button carries the reminded date (YYYY-MM-DD)") from None


def click_refusal(user_id: str, approvers: Collection[str], clicker_email: str | None, owner: str | None) -> str | None:
    """None when the clicker may act on the resource (an approver, or its owner by e-mail), else the answer."""
    if user_id in approvers:
        return None
    if owner and "@" in owner and clicker_email and clicker_email.strip().casefold() == owner.strip().casefold():
        return None
    who = f"its owner ({owner})" if owner else "its owner (unknown: no mlgov:created-by tag)"
    return (
        f"Sorry <@{user_id}>, only {who} or an mlgov approver can do this (matched by your Slack profile e-mail); "
        "nothing was changed."
    )


@dataclass(frozen=True)
class Extension:
    write: date | None  # the new auto-delete-after to write; None: nothing to write
    answer: str


def plan_extension(
    live_value: str | None, reminded_for: date, today: date, *, max_lifetime_days: int | None, days: int = EXTEND_DAYS
) -> Extension:
    """What an "Extend" click writes: the reminded date + `days`, no later than today + the schema's maximum
    lifetime. Idempotent: a second click finds the new date already there. A date changed since the reminder (by
    its owner, or another click) is left alone."""
    wanted = reminded_for + timedelta(days=days)
    if max_lifetime_days is not None:
        wanted = min(wanted, today + timedelta(days=max_lifetime_days))
    if wanted <= reminded_for:
        return Extension(None, f"{reminded_for.isoformat()} is already the latest the tag schema allows")
    if live_value == wanted.isoformat():
        return Extension(None, f"already extended to {wanted.isoformat()}; nothing changed")
    if live_value != reminded_for.isoformat():
        now_says = f"auto-delete-after={live_value}" if live_value else "no auto-delete-after tag"
        return Extension(None, f"it was changed since the reminder ({now_says}); nothing changed")
    return Extension(wanted, f"auto-delete-after extended from {reminded_for.isoformat()} to {wanted.isoformat()}")


def _button(action: str, text: str, value: str) -> dict:
    label = text if len(text) <= 75 else text[:74] + "…"  # Block Kit: a button's text
    return {"type": "button", "action_id": action, "text": {"type": "plain_text", "text": label}, "value": value}
