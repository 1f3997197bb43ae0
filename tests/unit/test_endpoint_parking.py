"""Parked dev endpoints: when the scheduler parks, restores or leaves one alone (pure; DST and zones included)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mlgov.domain.endpoint_parking import NONE, PARK, UNPARK, park_step
from mlgov.domain.schedules import LastAction, ScheduleError, parse_schedule

pytestmark = pytest.mark.unit

BERLIN = parse_schedule("weekdays 08:00-19:00 Europe/Berlin park")
EVENING = datetime(2026, 11, 18, 19, 30, tzinfo=UTC)  # Wed 20:30 CET: off-hours
MORNING = datetime(2026, 11, 19, 7, 15, tzinfo=UTC)  # Thu 08:15 CET: inside


def step(now, status="InService", environment="dev", last=None, hold=False, schedule=BERLIN):
    return park_step(schedule, status=status, environment=environment, hold=hold, last=last, now=now)


def parked(at=EVENING, window=None) -> LastAction:
    return LastAction("park", window or step(at).window_id, at, "applied")


def test_the_grammar_takes_park_for_endpoints_and_refuses_it_with_a_minimum():
    assert BERLIN.park and not parse_schedule("weekdays 08:00-19:00 Europe/Berlin").park
    with pytest.raises(ScheduleError, match="exclude each other"):
        parse_schedule("weekdays 08:00-19:00 Europe/Berlin park min=1")


def test_a_dev_endpoint_is_parked_once_per_off_period_and_restored_when_the_window_opens():
    evening = step(EVENING)
    assert evening.action == PARK and "snapshot, verify, delete" in evening.reason
    assert step(EVENING, last=parked()).action == NONE  # a retried or later pass of the same night
    assert step(EVENING, status=None, last=parked()).reason == "parked"
    morning = step(MORNING, status=None, last=parked())
    assert morning.action == UNPARK and morning.parked_at == EVENING and morning.window_id.startswith("on:")
    assert step(MORNING, status="Creating", last=LastAction("unpark", morning.window_id, MORNING, "applied")).action \
        == NONE  # fmt: skip


def test_prod_a_busy_endpoint_a_hold_and_an_endpoint_mlgov_did_not_park_are_left_alone():
    assert "dev endpoints" in step(EVENING, environment="prod").reason
    assert step(EVENING, environment=None).action == NONE
    assert step(EVENING, status="Updating").reason == "is Updating: parked once InService"
    assert step(EVENING, hold=True).reason == "schedule on hold"
    assert step(MORNING, status=None).action == NONE  # deleted by someone else: it stays gone
    assert step(MORNING, status=None, last=LastAction("park", "off:x", EVENING, "rejected", "boom")).action == NONE


def test_a_failed_restore_is_tried_again_at_the_next_window_not_in_a_loop():
    window = step(MORNING).window_id
    failed = LastAction("unpark", window, MORNING, "rejected", "ResourceLimitExceeded")
    assert step(MORNING, status=None, last=failed).action == NONE
    next_morning = datetime(2026, 11, 20, 7, 15, tzinfo=UTC)
    retry = step(next_morning, status=None, last=failed)
    assert retry.action == UNPARK and retry.parked_at is None  # the newest sealed snapshot is the park's


@pytest.mark.parametrize(
    ("now", "action"),
    [
        (datetime(2026, 3, 27, 18, 30, tzinfo=UTC), PARK),  # Fri 19:30 CET
        (datetime(2026, 3, 30, 5, 30, tzinfo=UTC), NONE),  # Mon 07:30 CEST after spring-forward: still off
        (datetime(2026, 3, 30, 6, 5, tzinfo=UTC), UNPARK),  # Mon 08:05 CEST
    ],
)
def test_the_nights_follow_local_time_across_the_spring_forward_weekend(now, action):
    friday = LastAction("park", step(datetime(2026, 3, 27, 18, 30, tzinfo=UTC)).window_id,
                        datetime(2026, 3, 27, 18, 30, tzinfo=UTC), "applied")  # fmt: skip
    status = "InService" if action == PARK else None
    assert step(now, status=status, last=None if action == PARK else friday).action == action


def test_zones_decide_the_night_new_york_is_still_working_when_berlin_parks():
    new_york = parse_schedule("weekdays 08:00-19:00 America/New_York park")
    assert step(EVENING, schedule=new_york).action == NONE  # 14:30 EST: inside its window, running
    assert step(EVENING, schedule=BERLIN).action == PARK


def test_a_park_deletes_nothing_by_day_or_after_its_night_or_under_another_schedule():
    from mlgov.domain.endpoint_parking import park_problem

    tags = {"mlgov:schedule": BERLIN.text, "ml:environment": "dev"}
    night = step(EVENING).window_id
    assert park_problem(tags, BERLIN.text, EVENING, night) is None
    assert "only off-hours" in park_problem(tags, BERLIN.text, MORNING, night)  # a snapshot that ran into the day
    next_night = datetime(2026, 11, 19, 19, 30, tzinfo=UTC)
    assert "is over" in park_problem(tags, BERLIN.text, next_night, night)  # an execution started for another night
    assert "not the park schedule" in park_problem({**tags, "mlgov:schedule": "daily 08:00-19:00 UTC"}, BERLIN.text,
                                                   EVENING)  # fmt: skip
    assert "dev endpoints" in park_problem({**tags, "ml:environment": "prod"}, BERLIN.text, EVENING)
