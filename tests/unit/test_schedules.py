"""HyperPod schedules: the tag grammar, every branch of decide(), and windows across Berlin's 2026 DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from mlgov.domain.schedules import (
    ClusterState,
    GroupState,
    LastAction,
    SavedCounts,
    ScheduleError,
    decide,
    parse_schedule,
)

ARN = "arn:aws:sagemaker:eu-west-1:111122223333:cluster/abcdef123456"
BERLIN_WORKDAY = parse_schedule("mon-fri 08:00-20:00 Europe/Berlin")
# 2026-03-30 is a Monday; Berlin is on CEST (UTC+2) from 2026-03-29 01:00 UTC to 2026-10-25 01:00 UTC.
MONDAY_MORNING = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 09:00 CEST, inside
MONDAY_NIGHT = datetime(2026, 3, 30, 19, 0, tzinfo=UTC)  # 21:00 CEST, outside


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def cluster(status: str = "InService", autoscaling: bool = False, **counts: int) -> ClusterState:
    groups = tuple(GroupState(name, count, count) for name, count in (counts or {"workers": 4, "gpu": 2}).items())
    return ClusterState("llm-train", ARN, status, groups, autoscaling)


def saved(**counts: int) -> SavedCounts:
    return SavedCounts(counts, utc("2026-03-27T18:00Z"), "off:2026-03-27T18:00Z")


# --- parser ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "days", "start", "end", "zone"),
    [
        ("mon-fri 08:00-20:00 Europe/Berlin", {0, 1, 2, 3, 4}, time(8), time(20), "Europe/Berlin"),
        ("daily 07:00-19:00 UTC", set(range(7)), time(7), time(19), "UTC"),
        ("mon+wed+fri 09:00-17:30 America/New_York", {0, 2, 4}, time(9), time(17, 30), "America/New_York"),
        ("mon,wed,fri 09:00-17:30 America/New_York", {0, 2, 4}, time(9), time(17, 30), "America/New_York"),
        ("MON-Wed+fri 09:00-17:00 UTC", {0, 1, 2, 4}, time(9), time(17), "UTC"),
        ("fri-mon 10:00-16:00 Asia/Tokyo", {4, 5, 6, 0}, time(10), time(16), "Asia/Tokyo"),
        ("weekdays 22:00-06:00 Europe/Berlin", {0, 1, 2, 3, 4}, time(22), time(6), "Europe/Berlin"),
        ("weekends 00:00-24:00 UTC", {5, 6}, time(0), None, "UTC"),
        (
            "  sun  06:00-07:00  America/Argentina/Buenos_Aires ",
            {6},
            time(6),
            time(7),
            "America/Argentina/Buenos_Aires",
        ),
    ],
)
def test_valid_schedules_parse(value, days, start, end, zone):
    schedule = parse_schedule(value)
    assert (set(schedule.days), schedule.start, schedule.end, schedule.timezone) == (days, start, end, zone)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "expected 'DAYS HH:MM-HH:MM TIMEZONE'"),
        ("mon-fri 08:00-20:00", "expected 'DAYS HH:MM-HH:MM TIMEZONE'"),
        ("mon-fry 08:00-20:00 UTC", "unknown day 'fry'"),
        ("monday 08:00-20:00 UTC", "unknown day 'monday'"),
        ("mon-fri 8:00-20:00 UTC", "are not HH:MM-HH:MM"),
        ("mon-fri 08:00-25:00 UTC", "out of range"),
        ("mon-fri 24:00-06:00 UTC", "out of range"),
        ("mon-fri 08:60-20:00 UTC", "out of range"),
        ("mon-fri 24:30-20:00 UTC", "out of range"),
        ("mon-fri 08:00-08:00 UTC", "opens and closes at the same time"),
        ("mon-fri 08:00-20:00 Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("mon-fri 08:00-20:00 ../../etc/passwd", "unknown time zone"),
        ("mon-fri 08:00-20:00 UTC max=3", "unknown option 'max=3'"),
        ("mon-fri 08:00-20:00 UTC min=one", "is not N or GROUP:N"),
        ("mon-fri 08:00-20:00 UTC min=1 min=2", "option min given twice"),
    ],
)
def test_invalid_schedules_are_rejected_with_a_one_line_reason(value, message):
    with pytest.raises(ScheduleError) as raised:
        parse_schedule(value)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
    assert str(raised.value).startswith("mlgov:schedule ")


def test_minimum_for_all_groups_or_named_groups():
    every_group = parse_schedule("daily 08:00-20:00 UTC min=1")
    assert (every_group.minimum_for("workers"), every_group.minimum_for("controller")) == (1, 1)
    named = parse_schedule("daily 08:00-20:00 UTC min=controller:1+login-nodes:2")
    assert (named.minimum_for("controller"), named.minimum_for("login-nodes"), named.minimum_for("workers")) == (
        1,
        2,
        0,
    )


def test_schedule_text_only_uses_characters_a_sagemaker_tag_value_allows():
    # TagValue pattern in the model: [\p{L}\p{Z}\p{N}_.:/=+\-@]* — no comma, hence '+' as the day-list separator.
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.:/=+-@")
    for value in ("mon+wed+fri 09:00-17:30 America/New_York min=controller:1", "daily 07:00-19:00 Etc/GMT+5"):
        parse_schedule(value)
        assert set(value) <= allowed


# --- decide: every branch -------------------------------------------------------------------------------------------


def test_outside_the_window_a_running_cluster_scales_to_zero():
    decision = decide(BERLIN_WORKDAY, cluster(), None, False, None, MONDAY_NIGHT)
    assert decision.action == "scale_down"
    assert decision.target_counts == {"workers": 0, "gpu": 0}
    assert decision.window_id == "off:2026-03-30T18:00Z"
    assert "save workers=4 gpu=2, scale to workers=0 gpu=0" in decision.reason
    assert "opens tue 2026-03-31 08:00 Europe/Berlin" in decision.reason


def test_outside_the_window_a_configured_minimum_is_kept_and_never_raised():
    schedule = parse_schedule("mon-fri 08:00-20:00 Europe/Berlin min=controller:1")
    decision = decide(schedule, cluster(controller=1, workers=8, spare=0), None, False, None, MONDAY_NIGHT)
    assert decision.target_counts == {"controller": 1, "workers": 0, "spare": 0}
    at_least_two = parse_schedule("mon-fri 08:00-20:00 Europe/Berlin min=2")
    decision = decide(at_least_two, cluster(workers=8, small=1), None, False, None, MONDAY_NIGHT)
    assert decision.target_counts == {"workers": 2, "small": 1}


def test_outside_the_window_a_cluster_already_down_is_left_alone():
    decision = decide(BERLIN_WORKDAY, cluster(workers=0, gpu=0), saved(workers=4, gpu=2), False, None, MONDAY_NIGHT)
    assert decision.action == "none"
    assert "already at workers=0 gpu=0" in decision.reason


def test_inside_the_window_the_saved_counts_are_restored_exactly():
    decision = decide(BERLIN_WORKDAY, cluster(workers=0, gpu=0), saved(workers=4, gpu=2), False, None, MONDAY_MORNING)
    assert decision.action == "scale_up"
    assert decision.target_counts == {"workers": 4, "gpu": 2}
    assert decision.window_id == "on:2026-03-30T06:00Z"
    assert "restore workers=4 gpu=2 saved at 2026-03-27T18:00Z (state table)" in decision.reason


def test_inside_the_window_a_group_scaled_down_to_its_minimum_is_restored_too():
    schedule = parse_schedule("mon-fri 08:00-20:00 Europe/Berlin min=controller:1")
    decision = decide(
        schedule, cluster(controller=1, workers=0), saved(controller=1, workers=6), False, None, MONDAY_MORNING
    )
    assert (decision.action, decision.target_counts) == ("scale_up", {"controller": 1, "workers": 6})


def test_inside_the_window_saved_groups_that_no_longer_exist_are_named_and_new_groups_kept():
    decision = decide(
        BERLIN_WORKDAY, cluster(workers=0, added=1), saved(workers=4, removed=2), False, None, MONDAY_MORNING
    )
    assert decision.target_counts == {"workers": 4, "added": 1}
    assert "saved groups no longer in the cluster: removed" in decision.reason


def test_inside_the_window_without_saved_counts_nothing_is_guessed():
    decision = decide(BERLIN_WORKDAY, cluster(workers=0, gpu=0), None, False, None, MONDAY_MORNING)
    assert decision.action == "none"
    assert "no saved counts to restore" in decision.reason
    empty = decide(BERLIN_WORKDAY, cluster(workers=0), SavedCounts({}), False, None, MONDAY_MORNING)
    assert (empty.action, "no saved counts" in empty.reason) == ("none", True)


def test_inside_the_window_a_running_cluster_is_left_alone():
    running = decide(BERLIN_WORKDAY, cluster(), None, False, None, MONDAY_MORNING)
    assert (running.action, "running at workers=4 gpu=2" in running.reason) == ("none", True)
    at_saved = decide(BERLIN_WORKDAY, cluster(), saved(workers=4, gpu=2), False, None, MONDAY_MORNING)
    assert (at_saved.action, "at the saved counts" in at_saved.reason) == ("none", True)


def test_inside_the_window_a_cluster_resized_above_its_saved_counts_is_not_shrunk():
    decision = decide(BERLIN_WORKDAY, cluster(workers=6, gpu=0), saved(workers=4, gpu=2), False, None, MONDAY_MORNING)
    assert decision.action == "none"
    assert "workers has 6 nodes, more than the saved 4" in decision.reason


def test_a_held_cluster_is_never_touched():
    decision = decide(BERLIN_WORKDAY, cluster(), None, True, None, MONDAY_NIGHT)
    assert decision.action == "none"
    assert "on hold" in decision.reason
    assert "mlgov schedules resume llm-train" in decision.reason


@pytest.mark.parametrize("status", ["Updating", "SystemUpdating", "Creating", "RollingBack", "Failed", "Deleting"])
def test_only_in_service_clusters_are_scaled(status):
    decision = decide(BERLIN_WORKDAY, cluster(status), None, False, None, MONDAY_NIGHT)
    assert decision.action == "none"
    assert decision.reason == f"cluster is {status}: only InService clusters are scaled"


def test_a_cluster_with_autoscaling_or_a_busy_group_or_no_groups_is_left_alone():
    autoscaled = decide(BERLIN_WORKDAY, cluster(autoscaling=True), None, False, None, MONDAY_NIGHT)
    assert "autoscaler owns the instance counts" in autoscaled.reason
    busy = ClusterState("c", ARN, "InService", (GroupState("workers", 4, 6, busy="Scaling"),))
    assert (
        "workers has an operation in progress (Scaling)"
        in decide(BERLIN_WORKDAY, busy, None, False, None, MONDAY_NIGHT).reason
    )
    empty = ClusterState("c", ARN, "InService", ())
    assert decide(BERLIN_WORKDAY, empty, None, False, None, MONDAY_NIGHT).reason == "cluster has no instance groups"


def test_never_acts_twice_in_one_off_period():
    first = decide(BERLIN_WORKDAY, cluster(), None, False, None, MONDAY_NIGHT)
    done = LastAction("scale_down", first.window_id, MONDAY_NIGHT, "applied", target_counts=first.target_counts)
    # Somebody scaled the cluster back up by hand at 23:00: the scheduler does not fight it until the next window.
    later = decide(BERLIN_WORKDAY, cluster(), saved(workers=4, gpu=2), False, done, utc("2026-03-30T21:00Z"))
    assert later.action == "none"
    assert "scale_down already done at 2026-03-30T19:00Z in this off period" in later.reason
    assert "the cluster now has workers=4 gpu=2, not the workers=0 gpu=0 it was sent" in later.reason
    settled = decide(BERLIN_WORKDAY, cluster(workers=0, gpu=0), None, False, done, utc("2026-03-30T21:00Z"))
    assert "it was sent" not in settled.reason
    # The next off period is a new one.
    next_night = decide(BERLIN_WORKDAY, cluster(), None, False, done, utc("2026-03-31T19:00Z"))
    assert (next_night.action, next_night.window_id) == ("scale_down", "off:2026-03-31T18:00Z")


def test_never_acts_twice_in_one_window():
    first = decide(BERLIN_WORKDAY, cluster(workers=0, gpu=0), saved(workers=4, gpu=2), False, None, MONDAY_MORNING)
    done = LastAction("scale_up", first.window_id, MONDAY_MORNING, "applied")
    # Scaled down by hand at noon: left alone for the rest of the window.
    noon = decide(
        BERLIN_WORKDAY, cluster(workers=0, gpu=0), saved(workers=4, gpu=2), False, done, utc("2026-03-30T10:00Z")
    )
    assert noon.action == "none"
    assert "acts once per window" in noon.reason


def test_a_rejected_scale_to_zero_is_not_retried_in_the_same_off_period():
    first = decide(BERLIN_WORKDAY, cluster(), None, False, None, MONDAY_NIGHT)
    rejected = LastAction(
        "scale_down",
        first.window_id,
        MONDAY_NIGHT,
        "rejected",
        "ValidationException: InstanceCount must be at least 1",
        first.target_counts,
    )
    for minutes_later in (15, 30, 600):
        now = datetime.fromtimestamp(MONDAY_NIGHT.timestamp() + minutes_later * 60, UTC)
        retry = decide(BERLIN_WORKDAY, cluster(), saved(workers=4, gpu=2), False, rejected, now)
        assert retry.action == "none"
        assert "scale_down was rejected at 2026-03-30T19:00Z: ValidationException: InstanceCount" in retry.reason
        assert "not retried in this off period (next change tue 2026-03-31 08:00 Europe/Berlin)" in retry.reason


def test_a_naive_now_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(BERLIN_WORKDAY, cluster(), None, False, None, datetime(2026, 3, 30, 19))


# --- DST: windows open and close at local wall-clock time -----------------------------------------------------------

DAILY_BERLIN = parse_schedule("daily 08:00-20:00 Europe/Berlin")


@pytest.mark.parametrize(
    ("instant", "inside"),
    [
        # Saturday 2026-03-28, still CET (UTC+1): 08:00 local = 07:00 UTC.
        ("2026-03-28T06:30Z", False),
        ("2026-03-28T07:00Z", True),
        ("2026-03-28T18:59Z", True),
        ("2026-03-28T19:00Z", False),
        # Sunday 2026-03-29, clocks 02:00 CET -> 03:00 CEST: 08:00 local = 06:00 UTC, 20:00 local = 18:00 UTC.
        ("2026-03-29T05:59Z", False),
        ("2026-03-29T06:00Z", True),
        ("2026-03-29T06:30Z", True),  # 08:30 CEST (with yesterday's offset it would be 07:30: closed)
        ("2026-03-29T17:59Z", True),
        ("2026-03-29T18:00Z", False),  # 20:00 CEST
        ("2026-03-29T18:30Z", False),  # 20:30 CEST (with yesterday's offset it would be 19:30: open)
        # Saturday 2026-10-24, CEST: 08:00 local = 06:00 UTC.
        ("2026-10-24T06:00Z", True),
        ("2026-10-24T18:00Z", False),
        # Sunday 2026-10-25, clocks 03:00 CEST -> 02:00 CET: 08:00 local = 07:00 UTC, 20:00 local = 19:00 UTC.
        ("2026-10-25T06:30Z", False),  # 07:30 CET (with yesterday's offset it would be 08:30: open)
        ("2026-10-25T07:00Z", True),
        ("2026-10-25T18:30Z", True),  # 19:30 CET (with yesterday's offset it would be 20:30: closed)
        ("2026-10-25T19:00Z", False),
    ],
)
def test_windows_follow_berlin_wall_clock_on_dst_days(instant, inside):
    assert DAILY_BERLIN.phase(utc(instant)).inside is inside


def test_dst_day_decisions_scale_at_local_time():
    spring_morning = utc("2026-03-29T06:30Z")  # 08:30 CEST on the day clocks go forward
    up = decide(DAILY_BERLIN, cluster(workers=0, gpu=0), saved(workers=4, gpu=2), False, None, spring_morning)
    assert (up.action, up.window_id) == ("scale_up", "on:2026-03-29T06:00Z")
    autumn_evening = utc("2026-10-25T19:00Z")  # 20:00 CET on the day clocks go back
    down = decide(DAILY_BERLIN, cluster(), None, False, None, autumn_evening)
    assert (down.action, down.window_id) == ("scale_down", "off:2026-10-25T19:00Z")
    assert "opens mon 2026-10-26 08:00 Europe/Berlin" in down.reason


def test_overnight_window_across_dst_changes_keeps_local_times():
    nights = parse_schedule("daily 22:00-06:00 Europe/Berlin")
    # Sat 28 Mar 22:00 CET (21:00 UTC) -> Sun 29 Mar 06:00 CEST (04:00 UTC): a 7-hour night.
    spring = nights.phase(utc("2026-03-29T03:59Z"))
    assert (spring.inside, spring.since, spring.until) == (True, utc("2026-03-28T21:00Z"), utc("2026-03-29T04:00Z"))
    assert nights.phase(utc("2026-03-29T04:00Z")).inside is False
    # Sat 24 Oct 22:00 CEST (20:00 UTC) -> Sun 25 Oct 06:00 CET (05:00 UTC): a 9-hour night.
    autumn = nights.phase(utc("2026-10-25T04:30Z"))
    assert (autumn.inside, autumn.since, autumn.until) == (True, utc("2026-10-24T20:00Z"), utc("2026-10-25T05:00Z"))
    assert nights.phase(utc("2026-10-25T05:00Z")).inside is False


def test_a_start_in_the_spring_gap_moves_forward_and_an_ambiguous_start_means_its_first_occurrence():
    early = parse_schedule("sun 02:30-05:00 Europe/Berlin")
    # 02:30 does not exist on 2026-03-29: the window opens at 03:30 CEST (01:30 UTC), closes at 05:00 CEST.
    spring = early.phase(utc("2026-03-29T02:00Z"))
    assert (spring.inside, spring.since, spring.until) == (True, utc("2026-03-29T01:30Z"), utc("2026-03-29T03:00Z"))
    assert early.phase(utc("2026-03-29T01:29Z")).inside is False
    # 02:30 happens twice on 2026-10-25: the first one (CEST, 00:30 UTC) opens the window; 05:00 CET closes it.
    autumn = early.phase(utc("2026-10-25T00:45Z"))
    assert (autumn.inside, autumn.since, autumn.until) == (True, utc("2026-10-25T00:30Z"), utc("2026-10-25T04:00Z"))


def test_new_york_windows_change_on_american_dst_dates():
    schedule = parse_schedule("mon+wed+fri 09:00-17:30 America/New_York")
    # Friday 2026-03-06 (EST, UTC-5) and Monday 2026-03-09 (EDT, UTC-4, the day after the change).
    assert schedule.phase(utc("2026-03-06T14:00Z")).inside is True  # 09:00 EST
    assert schedule.phase(utc("2026-03-09T13:00Z")).inside is True  # 09:00 EDT
    assert schedule.phase(utc("2026-03-09T21:30Z")).inside is False  # 17:30 EDT
    assert schedule.phase(utc("2026-03-10T14:00Z")).inside is False  # Tuesday


def test_full_day_windows_end_at_midnight_and_each_day_is_its_own_window():
    weekend = parse_schedule("weekends 00:00-24:00 UTC")
    saturday = weekend.phase(utc("2026-03-28T23:59Z"))
    sunday = weekend.phase(utc("2026-03-29T00:00Z"))
    assert (saturday.inside, sunday.inside) == (True, True)
    assert saturday.window_id != sunday.window_id
    assert weekend.phase(utc("2026-03-30T00:00Z")).window_id == "off:2026-03-30T00:00Z"


@pytest.mark.parametrize("module", ["schedules", "hyperpod_plan"])
def test_the_domain_modules_import_no_aws_sdk_environment_or_clock(module):
    import ast
    import importlib
    from pathlib import Path

    source = Path(importlib.import_module(f"mlgov.domain.{module}").__file__).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"boto3", "botocore", "os", "time"}
    assert ".now(" not in source and "utcnow" not in source and "today(" not in source
