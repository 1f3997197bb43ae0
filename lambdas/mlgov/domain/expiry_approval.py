"""Expired endpoints in the approval flow (pure): which need an approval, under which execution name, what the
approval start input says, and the re-check of the live lifetime tag before anything is deleted.

An `expired` endpoint (its `auto-delete-after` date has passed while it still bills) enters the same approval as a
zombie. Its episode is the lifetime date itself: a retried or repeated scan computes the same execution name (Step
Functions refuses a second one), a date the owner moves is a new episode, and a lapsed snooze asks again the day after
it ends (`scan_run.approval_episode`). Only endpoints: the approval flow snapshots and deletes endpoints alone.

The re-check is about the lifetime, not about idleness: an expired endpoint may well serve traffic, which the approver
sees in the request; what stops a deletion is a date moved into the future (or removed) since the scan.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from mlgov.domain.scan_run import APPROVABLE_TYPES, approval_episode, is_exempt

EXPIRED = "expired"  # the approval start input's "reason" for an endpoint past its lifetime date
ZOMBIE = "zombie"  # ... and for a zombie (the default when an input names no reason)
LIFETIME_TAG = "auto-delete-after"  # the schema's date rule; the scan passes the key it judged by
_EXECUTION_NAME_MAX = 80  # Step Functions: 1-80 characters of [A-Za-z0-9_-]


def expired_on(finding: Mapping) -> str | None:
    """The lifetime date an `expired` finding is past (the verdict's evidence `expired_on`), as YYYY-MM-DD; None for
    any other finding or a value that is not a date."""
    if finding.get("status") != EXPIRED:
        return None
    value = (finding.get("evidence") or {}).get("expired_on")
    return value if isinstance(value, str) and _date(value) is not None else None


def expiry_execution_name(arn: str, episode: str) -> str:
    """Deterministic per (endpoint, expiry episode), never equal to a zombie episode's name for the same day."""
    digest = hashlib.sha256(f"{arn}\n{EXPIRED}\n{episode}".encode()).hexdigest()
    return f"expired-{episode.replace('-', '')}-{digest}"[:_EXECUTION_NAME_MAX]


def expiry_episode(finding: Mapping) -> str | None:
    """The episode an expired endpoint's approval is about: its lifetime date, or the day after a lapsed snooze."""
    on = expired_on(finding)
    return None if on is None else approval_episode(finding, on)


def needs_expiry_approval(finding: Mapping, approval_started: str | None, recorded: Mapping[str, str]) -> bool:
    """An expired endpoint, not exempt by an exemption mlgov recorded, whose episode was not handed over yet."""
    episode = expiry_episode(finding)
    return (
        episode is not None
        and finding.get("resource_type") in APPROVABLE_TYPES
        and not is_exempt(finding, recorded)
        and approval_started != expiry_execution_name(finding["arn"], episode)
    )


def expiry_approval_input(
    finding: Mapping, *, run_id: str, report_key: str, first_seen: str, lifetime_tag: str = LIFETIME_TAG
) -> tuple[str, dict]:
    """(execution name, start input) of the approval for an expired endpoint finding (`needs_expiry_approval`)."""
    episode = expiry_episode(finding)
    if episode is None:
        raise ValueError(f"{finding.get('arn')} is not an expired finding with a lifetime date")
    payload = {
        "run_id": run_id,
        "report_key": report_key,
        "first_seen": first_seen,
        "reason": EXPIRED,
        "expired_on": expired_on(finding),
        "lifetime_tag": lifetime_tag,
        "episode": episode,
        "finding": dict(finding),
    }
    return expiry_execution_name(finding["arn"], episode), payload


@dataclass(frozen=True)
class ExpiryRecheck:
    still_expired: bool
    reason: str
    live_value: str | None  # the lifetime tag's value now (None: the tag is gone)


def recheck_expiry(tags: Mapping[str, str], tag: str, scanned: str, today: date) -> ExpiryRecheck:
    """Is the endpoint still past its lifetime date, judged on its live tags (`today` in UTC)? `scanned` is the date
    the scan found. A date moved to today or later, a removed tag or one that is no date: not expired (kept)."""
    value = tags.get(tag)
    if value is None:
        return ExpiryRecheck(False, f"it no longer carries {tag} (it was {scanned} at the scan)", None)
    live = _date(value)
    if live is None:
        return ExpiryRecheck(False, f"{tag}={value} is not a date (YYYY-MM-DD)", value)
    if live >= today:
        return ExpiryRecheck(False, f"{tag} was extended from {scanned} to {value}", value)
    moved = f" (moved from {scanned})" if value != scanned else ""
    return ExpiryRecheck(True, f"still past {tag}={value}{moved}", value)


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if len(value) == 10 else None
    except ValueError:
        return None
