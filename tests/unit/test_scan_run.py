"""The scan workflow's contracts: targets, archive keys, approval execution names and who needs an approval."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from mlgov.domain.scan_run import (
    BadTask,
    Target,
    approval_execution_name,
    failed_part_error,
    is_exempt,
    needs_approval,
    parse_target,
    part_key,
    report_key,
    report_location,
    run_id_of,
    targets,
    unrecorded_exemption,
)

ARN = "arn:aws:sagemaker:eu-west-1:111111111111:endpoint/churn"


def _zombie(**changes) -> dict:
    return {"arn": ARN, "status": "zombie", "resource_type": "endpoint", "tags": {}} | changes


def test_targets_are_every_account_region_once_sorted():
    result = targets(["222222222222", "111111111111", "222222222222"], ["us-east-1", "eu-west-1"], "run-1")

    assert [(t.account, t.region) for t in result] == [
        ("111111111111", "eu-west-1"),
        ("111111111111", "us-east-1"),
        ("222222222222", "eu-west-1"),
        ("222222222222", "us-east-1"),
    ]
    assert result[0].as_json() == {"account": "111111111111", "region": "eu-west-1", "run_id": "run-1"}


@pytest.mark.parametrize(
    "event",
    [
        {"account": "1111", "region": "eu-west-1", "run_id": "r"},
        {"account": "111111111111", "region": "EU", "run_id": "r"},
        {"account": "111111111111", "region": "eu-west-1", "run_id": "../../etc"},
        {"account": "111111111111", "region": "eu-west-1"},
        {"account": 111111111111, "region": "eu-west-1", "run_id": "r"},
    ],
)
def test_malformed_targets_are_refused(event):
    with pytest.raises(BadTask):
        parse_target(event)


def test_step_functions_execution_names_are_valid_run_ids():
    assert run_id_of({"run_id": "a1b2c3d4-0000-4000-8000-000000000000"}) == "a1b2c3d4-0000-4000-8000-000000000000"


def test_keys_follow_the_archive_layout():
    target = Target("111111111111", "eu-west-1", "run-1")

    assert part_key(target) == "runs/run-1/parts/111111111111-eu-west-1.json"
    assert report_key("run-1", datetime(2026, 11, 24, 6, tzinfo=UTC)) == "reports/2026-11-24/run-1.json"


def test_execution_name_is_deterministic_valid_and_per_episode():
    first = approval_execution_name(ARN, "2026-11-24")

    assert first == approval_execution_name(ARN, "2026-11-24")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", first) and first.startswith("zombie-20261124-")
    assert first != approval_execution_name(ARN, "2026-12-30")
    assert first != approval_execution_name(ARN.replace("churn", "churn2"), "2026-11-24")


def test_a_zombie_endpoint_needs_an_approval_until_its_episode_has_one():
    name = approval_execution_name(ARN, "2026-11-24")

    assert needs_approval(_zombie(), "2026-11-24", None, {})
    assert needs_approval(_zombie(), "2026-11-24", approval_execution_name(ARN, "2026-10-01"), {})  # older episode
    assert not needs_approval(_zombie(), "2026-11-24", name, {})


@pytest.mark.parametrize(
    "finding",
    [
        _zombie(tags={"mlgov:exempt": "ticket-42"}),
        _zombie(status="idle"),
        _zombie(resource_type="notebook-instance"),
    ],
)
def test_exempt_non_zombie_and_non_endpoint_findings_never_need_approval(finding):
    assert not needs_approval(finding, "2026-11-24", None, {ARN: "ticket-42"})


@pytest.mark.parametrize(
    "recorded",
    [{}, {ARN: "rejected by U0APPROVER on 2026-10-01"}, {ARN.replace("churn", "other"): "forever"}],
    ids=["nothing recorded", "another value recorded", "recorded for another endpoint"],
)
def test_an_exemption_tag_mlgov_did_not_record_keeps_nothing(recorded):
    forged = _zombie(tags={"mlgov:exempt": "forever"})

    assert not is_exempt(forged, recorded)
    assert unrecorded_exemption(forged, recorded) == "forever"
    assert needs_approval(forged, "2026-11-24", None, recorded)


def test_the_recorded_exemption_keeps_the_zombie():
    kept = _zombie(tags={"mlgov:exempt": "rejected by U0APPROVER on 2026-10-01"})
    recorded = {ARN: "rejected by U0APPROVER on 2026-10-01"}

    assert is_exempt(kept, recorded) and unrecorded_exemption(kept, recorded) is None
    assert not needs_approval(kept, "2026-11-24", None, recorded)


def test_failed_map_iteration_becomes_an_error_entry():
    item = {
        "account": "111111111111",
        "region": "eu-west-1",
        "error": {"Error": "Lambda.Unknown", "Cause": "The function timed out"},
    }

    assert failed_part_error(item) == {
        "account": "111111111111",
        "region": "eu-west-1",
        "operation": "Lambda.Unknown",
        "message": "The function timed out",
    }


def test_flattened_catch_output_becomes_an_error_entry():
    item = {"account": "111111111111", "region": "eu-west-1", "failed": True, "error": "States.Timeout", "cause": None}

    assert failed_part_error(item) == {
        "account": "111111111111",
        "region": "eu-west-1",
        "operation": "States.Timeout",
        "message": "States.Timeout",
    }


def test_report_location_is_a_console_link_in_aws_and_a_uri_elsewhere():
    url = report_location("archive", "reports/2026-11-24/run-1.json", "eu-west-1")

    assert url == (
        "https://s3.console.aws.amazon.com/s3/object/archive?region=eu-west-1&prefix=reports%2F2026-11-24%2Frun-1.json"
    )
    assert report_location("archive", "reports/x.json", "cn-north-1") == "s3://archive/reports/x.json"


def test_a_lapsed_snooze_asks_again_under_a_new_episode():
    from mlgov.domain.scan_run import approval_episode

    snooze = "snoozed by U0APPROVER on 2026-10-01 until 2026-10-31"
    lapsed = _zombie(tags={"mlgov:exempt": snooze}, evidence={"exempt_lapsed": snooze})
    snoozed = _zombie(tags={"mlgov:exempt": snooze}, evidence={"exempt": snooze})
    first = approval_execution_name(ARN, "2026-09-20")  # the approval that ended in the snooze

    assert approval_episode(lapsed, "2026-09-20") == "2026-11-01"
    recorded = {ARN: snooze}
    assert needs_approval(lapsed, "2026-09-20", first, recorded)
    assert not needs_approval(lapsed, "2026-09-20", approval_execution_name(ARN, "2026-11-01"), recorded)  # asked once
    assert not needs_approval(snoozed, "2026-09-20", first, recorded)
    assert approval_episode(snoozed, "2026-09-20") == "2026-09-20"
