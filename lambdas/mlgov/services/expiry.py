"""Expiry reminders after each scheduled scan (the scanner Lambda): the resources whose `auto-delete-after` comes
within the configured days, each claimed once per date in the findings table, told in one message; a message that
cannot be posted releases its claims for the next run."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from mlgov.domain.expiry import expiring_soon, reminder_text
from mlgov.services.budgets import NotifyError


class ReminderClaims(Protocol):
    def claim_reminder(self, arn: str, expires_on: str, now: datetime) -> bool: ...

    def release_reminder(self, arn: str, expires_on: str) -> None: ...


def remind_expiring(
    report: Mapping, within_days: int, now: datetime, claims: ReminderClaims, notify: Callable[[str], None]
) -> dict:
    """{"due": resources within the window, "reminded": ARNs told this run, "error": why the message failed}."""
    today = now.date()
    due = expiring_soon(report.get("findings") or [], today, within_days)
    new = []
    try:
        for item in due:
            if claims.claim_reminder(item.arn, item.expires_on.isoformat(), now):
                new.append(item)
        if new:
            notify(reminder_text(new, today))
    except Exception as err:  # a claim or the post failed: release every claim this run took, then report or raise
        _release(claims, new)
        if isinstance(err, NotifyError):
            return {"due": len(due), "reminded": [], "error": str(err)}
        raise
    return {"due": len(due), "reminded": [item.arn for item in new]}


def _release(claims: ReminderClaims, items) -> None:
    """Best effort: one release failing does not keep the others."""
    for item in items:
        try:
            claims.release_reminder(item.arn, item.expires_on.isoformat())
        except Exception:  # noqa: BLE001, S112 - the next run's claim still sees the date; nothing else to do
            continue
