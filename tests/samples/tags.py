"""A tag set that passes the tag schema, with a lifetime counted from the test's own "now" (never a fixed date)."""

from __future__ import annotations

from datetime import datetime, timedelta


def required_tags(now: datetime, keep_days: int, created_by: str | None = None) -> dict[str, str]:
    """The four ml:* tags, `auto-delete-after` = `now` + `keep_days` and, if given, `mlgov:created-by`."""
    tags = {
        "ml:team": "fraud",
        "ml:model": "churn",
        "ml:experiment": "q4",
        "ml:environment": "prod",
        "auto-delete-after": (now + timedelta(days=keep_days)).strftime("%Y-%m-%d"),
    }
    return tags | ({"mlgov:created-by": created_by} if created_by else {})
