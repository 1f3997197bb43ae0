"""Parked endpoints: a dev endpoint whose `mlgov:schedule` says `park` is snapshotted, verified and deleted off-hours
(the approval flow's pieces, with the schedule as the approval) and recreated from that snapshot when the window
opens. What the scheduler does for one such endpoint now. Pure: the schedule, what the endpoint looks like and the
last action in, the step out.

- Off-hours, an InService endpoint tagged `ml:environment=dev` is parked once per off period; anything else is
  left running with the reason (parking is for dev endpoints: a prod endpoint is scaled, never deleted by a clock).
- In the window, an endpoint mlgov parked (the last action a started park) is restored; a restore that failed is
  tried again at the next window, never in a loop within one; an endpoint that is gone without mlgov parking it
  stays gone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from mlgov.domain.schedules import SCHEDULE_TAG, LastAction, Schedule, ScheduleError, parse_schedule

PARK, UNPARK, NONE = "park", "unpark", "none"
PARKABLE_ENVIRONMENT = "dev"
ENVIRONMENT_TAG = "ml:environment"
APPLIED, REJECTED = "applied", "rejected"


class ParkRefused(RuntimeError):
    """The hub refused to park or restore the endpoint (the approval flow's own checks); the text says why."""


@dataclass(frozen=True)
class ParkStep:
    action: str  # PARK | UNPARK | NONE
    reason: str
    window_id: str
    parked_at: datetime | None = None  # an unpark: when the park it undoes started (its snapshot is not older);
    # None for a retry after a failed restore: the newest sealed snapshot of the endpoint is the park's


def park_step(
    schedule: Schedule,
    *,
    status: str | None,  # the endpoint's status; None: it does not exist
    environment: str | None,
    hold: bool,
    last: LastAction | None,
    now: datetime,
) -> ParkStep:
    phase = schedule.phase(now)
    window = phase.window_id
    if hold:
        return ParkStep(NONE, "schedule on hold", window)
    parked = last if last is not None and last.action == PARK and last.outcome == APPLIED else None
    if not phase.inside:
        if status is None:
            return ParkStep(NONE, "parked" if parked else "does not exist (mlgov did not park it)", window)
        if last is not None and last.action == PARK and last.window_id == window:
            return ParkStep(NONE, f"park already started this off period ({last.outcome}{_message(last)})", window)
        if environment != PARKABLE_ENVIRONMENT:
            return ParkStep(
                NONE,
                f"park is for dev endpoints ({ENVIRONMENT_TAG}={environment or 'missing'}): left running",
                window,
            )
        if status != "InService":
            return ParkStep(NONE, f"is {status}: parked once InService", window)
        return ParkStep(PARK, f"off-hours until {phase.until_local}: snapshot, verify, delete", window)
    if status is not None:
        return ParkStep(NONE, f"running ({status}) inside the window until {phase.until_local}", window)
    if parked is not None:
        return ParkStep(UNPARK, f"window open: restore from the snapshot of {parked.at:%Y-%m-%d %H:%M} UTC", window,
                        parked.at)  # fmt: skip
    failed = last if last is not None and last.action == UNPARK and last.outcome == REJECTED else None
    if failed is not None and failed.window_id != window:  # the newest sealed snapshot is the park's
        return ParkStep(UNPARK, f"window open: the last restore failed ({failed.message}); trying again", window)
    if failed is not None:
        return ParkStep(NONE, f"restore failed in this window ({failed.message}); tried again at the next one", window)
    return ParkStep(NONE, "does not exist and mlgov did not park it: left alone", window)


def park_problem(tags: Mapping[str, str], schedule: str, now: datetime, window_id: str | None = None) -> str | None:
    """Why an endpoint with these live tags must not be parked under `schedule` at `now` (in the off period
    `window_id` the park was started for, when given); None when it may. A park never runs inside the window: a
    slow snapshot that reaches the morning, or an execution started by hand by day, deletes nothing."""
    if tags.get(SCHEDULE_TAG) != schedule:
        return f"{SCHEDULE_TAG} is {tags.get(SCHEDULE_TAG)!r} now, not the park schedule {schedule!r}"
    try:
        parsed = parse_schedule(schedule)
    except ScheduleError as err:
        return str(err)
    if not parsed.park:
        return f"{schedule!r} does not park"
    if tags.get(ENVIRONMENT_TAG) != PARKABLE_ENVIRONMENT:
        return f"park is for dev endpoints ({ENVIRONMENT_TAG}={tags.get(ENVIRONMENT_TAG) or 'missing'})"
    phase = parsed.phase(now)
    if phase.inside:
        return f"inside the schedule's window until {phase.until_local}: a park runs only off-hours"
    if window_id is not None and phase.window_id != window_id:
        return f"the off period {window_id} the park was started for is over (now {phase.window_id})"
    return None


def _message(last: LastAction) -> str:
    return f": {last.message}" if last.message else ""
