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
    new = [item for item in due if claims.claim_reminder(item.arn, item.expires_on.isoformat(), now)]
    if not new:
        return {"due": len(due), "reminded": []}
    try:
        notify(reminder_text(new, today))
    except NotifyError as err:
        for item in new:
            claims.release_reminder(item.arn, item.expires_on.isoformat())
        return {"due": len(due), "reminded": [], "error": str(err)}
    return {"due": len(due), "reminded": [item.arn for item in new]}
