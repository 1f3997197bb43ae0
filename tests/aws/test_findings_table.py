"""The findings table on moto: first_seen never changes, a zombie episode opens once and ends on a definite status.

(Concurrent writers are not tested here: moto's in-process DynamoDB does not serialize updates of one item the way
DynamoDB does; the approval execution name is the second guard against a double start.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

REGION = "eu-west-1"
NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
ARN = "arn:aws:sagemaker:eu-west-1:111111111111:endpoint/churn"


def _finding(status: str, waste: float = 0.0, owner: str | None = "alice@example.com") -> dict:
    return {
        "arn": ARN,
        "account": "111111111111",
        "region": REGION,
        "resource_type": "endpoint",
        "name": "churn",
        "status": status,
        "reason": "test",
        "monthly_cost_usd": 165.6,
        "waste_usd_month": waste,
        "tags": {"ml:team": "fraud"},
        "owner": owner,
    }


def test_first_sighting_creates_the_row_and_later_ones_keep_first_seen(findings_table):
    first = findings_table.record(_finding("active"), NOW, "run-1")
    later = findings_table.record(_finding("untagged", owner=None), NOW + timedelta(days=3), "run-2")

    assert first.previous_status is None and first.first_seen == "2026-11-24T06:00:00Z"
    assert later.previous_status == "active" and later.first_seen == "2026-11-24T06:00:00Z"
    row = findings_table.get(ARN)
    assert row["first_seen"] == "2026-11-24T06:00:00Z" and row["last_seen"] == "2026-11-27T06:00:00Z"
    assert row["status"] == "untagged" and row["owner"] is None and row["team"] == "fraud"
    assert row["monthly_cost_usd"] == Decimal("165.6") and row["last_run_id"] == "run-2"
    assert row["expires_at"] == int((NOW + timedelta(days=93)).timestamp())


def test_a_zombie_episode_opens_once_and_ends_on_a_definite_other_status(findings_table):
    opened = findings_table.record(_finding("zombie", 165.6), NOW, "run-1")
    continued = findings_table.record(_finding("zombie", 165.6), NOW + timedelta(days=1), "run-2")
    unknown = findings_table.record(_finding("unknown"), NOW + timedelta(days=2), "run-3")
    still = findings_table.record(_finding("zombie", 165.6), NOW + timedelta(days=3), "run-4")
    alive = findings_table.record(_finding("active"), NOW + timedelta(days=4), "run-5")
    again = findings_table.record(_finding("zombie", 165.6), NOW + timedelta(days=5), "run-6")

    assert [r.new_zombie for r in (opened, continued, unknown, still, alive, again)] == [
        True,
        False,
        False,
        False,
        False,
        True,
    ]
    assert [r.zombie_since for r in (opened, continued, unknown, still, alive, again)] == [
        "2026-11-24",
        "2026-11-24",
        "2026-11-24",
        "2026-11-24",
        None,
        "2026-11-29",
    ]


def test_the_approval_mark_is_read_back_on_the_next_sighting(findings_table):
    findings_table.record(_finding("zombie", 1.0), NOW, "run-1")
    findings_table.mark_approval(ARN, "zombie-20261124-abc", NOW)

    next_run = findings_table.record(_finding("zombie", 1.0), NOW + timedelta(days=1), "run-2")

    assert next_run.approval_execution == "zombie-20261124-abc"
    assert findings_table.get(ARN)["approval_started_at"] == "2026-11-24T06:00:00Z"
