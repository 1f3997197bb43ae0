"""Expiry reminders after each scheduled scan (the scanner Lambda): the resources whose `auto-delete-after` comes
within the configured days, each claimed once per date in the findings table, told in one message; a message that
cannot be posted releases its claims for the next run."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from mlgov.domain.expiry import expiring_soon, reminder_text
from mlgov.domain.resource_buttons import extend_button
from mlgov.services.budgets import NotifyError

REMINDERS_PER_MESSAGE = 20  # one Extend button each, within one actions block


class ReminderClaims(Protocol):
    def claim_reminder(self, arn: str, expires_on: str, now: datetime) -> bool: ...

    def release_reminder(self, arn: str, expires_on: str) -> None: ...


def remind_expiring(
    report: Mapping, within_days: int, now: datetime, claims: ReminderClaims, notify: Callable[..., None]
) -> dict:
    """{"due": resources within the window, "reminded": ARNs told this run, "error": why the message failed}."""
    today = now.date()
    due = expiring_soon(report.get("findings") or [], today, within_days)
    new: list = []
    try:
        for item in due:
            if claims.claim_reminder(item.arn, item.expires_on.isoformat(), now):
                new.append(item)
    except Exception:  # a claim failed: release every claim this run took, then raise
        _release(claims, new)
        raise
    reminded, errors = [], []
    for message in [new[i : i + REMINDERS_PER_MESSAGE] for i in range(0, len(new), REMINDERS_PER_MESSAGE)]:
        buttons = [extend_button(item.arn, item.name, item.expires_on, i) for i, item in enumerate(message)]
        try:
            notify(reminder_text(message, today), buttons)
        except NotifyError as err:  # this message's claims are released: the next run tells them again
            _release(claims, message)
            errors.append(str(err))
            continue
        reminded += [item.arn for item in message]
    return {"due": len(due), "reminded": reminded, **({"error": "; ".join(errors)} if errors else {})}


def _release(claims: ReminderClaims, items) -> None:
    """Best effort: one release failing does not keep the others."""
    for item in items:
        try:
            claims.release_reminder(item.arn, item.expires_on.isoformat())
        except Exception:  # noqa: BLE001, S112 - the next run's claim still sees the date; nothing else to do
            continue
