"""Expired endpoints in the approval flow (mlgov.domain.expiry_approval): who needs an approval, under which name, what
the start input says, and the re-check of the live lifetime tag."""

from __future__ import annotations

import re
from datetime import date

import pytest

from mlgov.domain.expiry_approval import (
    expired_on,
    expiry_approval_input,
    expiry_execution_name,
    needs_expiry_approval,
    recheck_expiry,
)
from mlgov.domain.scan_run import approval_execution_name, needs_approval

ARN = "arn:aws:sagemaker:eu-west-1:111111111111:endpoint/churn"
TODAY = date(2026, 11, 24)


def _expired(on: str = "2026-11-20", **changes) -> dict:
    evidence = {"expired_on": on, "invocations": {"AllTraffic": 812.0}, "usage_status": "active"}
    tags = {"auto-delete-after": on}
    return {"arn": ARN, "status": "expired", "resource_type": "endpoint", "tags": tags, "evidence": evidence} | changes


def test_the_execution_name_is_per_endpoint_and_lifetime_date_and_never_a_zombie_name():
    name = expiry_execution_name(ARN, "2026-11-20")

    assert name == expiry_execution_name(ARN, "2026-11-20")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", name) and name.startswith("expired-20261120-")
    assert name != expiry_execution_name(ARN, "2026-12-01")  # a moved date is a new episode
    assert name != expiry_execution_name(ARN.replace("churn", "churn2"), "2026-11-20")
    assert name != approval_execution_name(ARN, "2026-11-20")


def test_an_expired_endpoint_needs_one_approval_per_lifetime_date():
    finding = _expired()

    assert needs_expiry_approval(finding, None, {})
    assert needs_expiry_approval(finding, approval_execution_name(ARN, "2026-11-01"), {})  # a zombie episode before
    assert not needs_expiry_approval(finding, expiry_execution_name(ARN, "2026-11-20"), {})
    assert needs_expiry_approval(_expired("2026-11-22"), expiry_execution_name(ARN, "2026-11-20"), {})
    assert not needs_approval(finding, None, None, {})  # the zombie rule stays as it was


@pytest.mark.parametrize(
    "finding",
    [
        _expired(resource_type="notebook-instance", arn=ARN.replace(":endpoint/", ":notebook-instance/")),
        _expired(resource_type="training-job", arn=ARN.replace(":endpoint/", ":training-job/")),
        _expired(status="active"),
        _expired(status="zombie"),  # a zombie that is also expired goes through the zombie episode
        _expired(evidence={"expired_on": "soon"}),
        _expired(evidence={}),
    ],
    ids=["notebook", "training job", "not expired", "zombie", "date unreadable", "no date"],
)
def test_only_expired_endpoints_with_a_date_need_an_expiry_approval(finding):
    assert not needs_expiry_approval(finding, None, {})


def test_a_recorded_exemption_keeps_an_expired_endpoint_and_an_unrecorded_one_keeps_nothing():
    kept = _expired(tags={"auto-delete-after": "2026-11-20", "mlgov:exempt": "rejected by U0APPROVER on 2026-11-21"})

    assert not needs_expiry_approval(kept, None, {ARN: "rejected by U0APPROVER on 2026-11-21"})
    assert needs_expiry_approval(kept, None, {})  # written by hand: not honoured


def test_a_lapsed_snooze_asks_again_the_day_after_it_ended():
    snooze = "snoozed by U0APPROVER on 2026-11-21 until 2026-12-21"
    lapsed = _expired(
        tags={"auto-delete-after": "2026-11-20", "mlgov:exempt": snooze},
        evidence={"expired_on": "2026-11-20", "exempt_lapsed": snooze},
    )
    snoozed = _expired(
        tags={"auto-delete-after": "2026-11-20", "mlgov:exempt": snooze},
        evidence={"expired_on": "2026-11-20", "exempt": snooze},
    )
    first = expiry_execution_name(ARN, "2026-11-20")
    recorded = {ARN: snooze}

    assert not needs_expiry_approval(snoozed, first, recorded)
    assert needs_expiry_approval(lapsed, first, recorded)
    assert not needs_expiry_approval(lapsed, expiry_execution_name(ARN, "2026-12-22"), recorded)


def test_the_start_input_says_why_and_names_the_date():
    name, payload = expiry_approval_input(
        _expired(), run_id="run-1", report_key="reports/2026-11-24/run-1.json", first_seen="2026-09-01T06:00:00Z"
    )

    assert name == expiry_execution_name(ARN, "2026-11-20")
    assert payload == {
        "run_id": "run-1",
        "report_key": "reports/2026-11-24/run-1.json",
        "first_seen": "2026-09-01T06:00:00Z",
        "reason": "expired",
        "expired_on": "2026-11-20",
        "lifetime_tag": "auto-delete-after",
        "episode": "2026-11-20",
        "finding": _expired(),
    }
    assert "zombie_since" not in payload
    assert expired_on(_expired(status="zombie")) is None
    with pytest.raises(ValueError, match="not an expired finding"):
        expiry_approval_input(_expired(status="active"), run_id="r", report_key="k", first_seen="f")


@pytest.mark.parametrize(
    ("tags", "still", "reason"),
    [
        ({"auto-delete-after": "2026-11-20"}, True, "still past auto-delete-after=2026-11-20"),
        ({"auto-delete-after": "2026-11-23"}, True, "still past auto-delete-after=2026-11-23 (moved from 2026-11-20)"),
        ({"auto-delete-after": "2026-11-24"}, False, "auto-delete-after was extended from 2026-11-20 to 2026-11-24"),
        ({"auto-delete-after": "2027-01-15"}, False, "auto-delete-after was extended from 2026-11-20 to 2027-01-15"),
        ({}, False, "it no longer carries auto-delete-after (it was 2026-11-20 at the scan)"),
        ({"auto-delete-after": "never"}, False, "auto-delete-after=never is not a date (YYYY-MM-DD)"),
    ],
    ids=["unchanged", "moved but past", "extended to today", "extended", "tag removed", "not a date"],
)
def test_the_recheck_reads_the_live_lifetime_tag(tags, still, reason):
    check = recheck_expiry(tags, "auto-delete-after", "2026-11-20", TODAY)

    assert (check.still_expired, check.reason) == (still, reason)
    assert check.live_value == tags.get("auto-delete-after")
