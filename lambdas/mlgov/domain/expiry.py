"""Expiry reminders: the resources whose `auto-delete-after` date falls within the next N days while they still
bill, told to their owners before the date (the scan marks them `expired` after it). Pure: findings and a day in,
the reminders out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from mlgov.domain.report import usd
from mlgov.domain.resource_buttons import EXTEND_DAYS

LIFETIME_TAG = "auto-delete-after"
_NOT_BILLING = frozenset({"stopped", "expired"})


@dataclass(frozen=True)
class Expiring:
    arn: str
    name: str
    resource_type: str
    account: str
    region: str
    owner: str | None
    team: str | None
    expires_on: date
    monthly_cost_usd: float | None

    def line(self, today: date) -> str:
        days = (self.expires_on - today).days
        when = "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"
        owner = self.owner or "owner unknown"
        return (
            f"• {self.resource_type} *{self.name}* ({self.account}/{self.region}, {owner}, team "
            f"{self.team or '(untagged)'}): {LIFETIME_TAG}={self.expires_on.isoformat()}, {when}; "
            f"{usd(self.monthly_cost_usd)}/month"
        )


def expiring_soon(findings: Sequence[Mapping], today: date, within_days: int) -> list[Expiring]:
    """Billed resources whose lifetime tag is a valid date from today to `within_days` days ahead, soonest first."""
    if within_days <= 0:
        return []
    last = today + timedelta(days=within_days)
    found = []
    for finding in findings:
        tags = finding.get("tags") or {}
        try:
            expires_on = date.fromisoformat(tags.get(LIFETIME_TAG, ""))
        except ValueError:
            continue
        if not today <= expires_on <= last or finding.get("status") in _NOT_BILLING:
            continue
        if not finding.get("monthly_cost_usd") and finding.get("monthly_cost_usd") is not None:
            continue  # costs nothing a month (a finished job, a serverless endpoint): nothing to warn about
        found.append(
            Expiring(
                finding["arn"],
                finding["name"],
                finding["resource_type"],
                finding["account"],
                finding["region"],
                finding.get("owner"),
                tags.get("ml:team"),
                expires_on,
                finding.get("monthly_cost_usd"),
            )
        )
    return sorted(found, key=lambda item: (item.expires_on, item.arn))


def reminder_text(items: Sequence[Expiring], today: date) -> str:
    """One message for the resources newly due a reminder."""
    header = (
        f"{len(items)} resource{'s' if len(items) != 1 else ''} reach their {LIFETIME_TAG} date soon; after it the "
        "daily scan reports them as expired and endpoints go to approval. To keep one longer, its owner or an approver "
        f"clicks its Extend button ({EXTEND_DAYS} more days, within the schema's maximum lifetime), or changes the tag."
    )
    return "\n".join([header, *(item.line(today) for item in items)])
