"""HyperPod on/off schedules: parse the `mlgov:schedule` tag; decide scale-down / scale-up from (schedule, state, now).

Grammar of the tag value (whitespace-separated, case-insensitive days):

    DAYS HH:MM-HH:MM TIMEZONE [min=N | min=GROUP:N+GROUP:N...]

- DAYS: `daily`, `weekdays` (mon-fri), `weekends` (sat-sun), a day (`mon`), a range (`mon-fri`, wrapping allowed:
  `fri-mon`) or several joined by `+` (`mon+wed+fri`, `mon-wed+fri`). SageMaker tag values may not contain a comma
  (TagValue pattern `[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*`), so `+` is the list separator; a comma is accepted too for
  schedules that do not come from a tag.
- HH:MM-HH:MM: the window in local wall-clock time; the end may be `24:00`. An end earlier than the start is an
  overnight window: it opens on each listed day and closes the next day (`fri 22:00-06:00` = Fri 22:00 → Sat 06:00).
  Start == end is rejected (neither an empty nor a 24-hour window is what anyone means; use `00:00-24:00`).
- TIMEZONE: an IANA name (`Europe/Berlin`, `America/New_York`, `UTC`), required.
- `min=N` keeps N nodes in every instance group off-hours; `min=controller:1+login:1` keeps those groups at 1 and
  scales the others to 0. A group never goes *up* to its minimum.
- `park` (endpoints only, opt-in for dev endpoints): off-hours the endpoint is snapshotted, verified and deleted by
  the approval flow's pieces, and recreated from that snapshot when the window opens (domain.endpoint_parking).
  It excludes `min=`: a parked endpoint has no instances.

Windows follow local wall-clock time through DST changes (zoneinfo, PEP 495): a start or end that falls in the
spring-forward gap moves forward by the gap (02:30 on 2026-03-29 in Berlin is 03:30 CEST), and an ambiguous time on the
fall-back day means its first occurrence (fold=0).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SCHEDULE_TAG = "mlgov:schedule"
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {"daily": range(7), "weekdays": range(5), "weekends": range(5, 7)}
_HOURS = re.compile(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})")
_GROUP_MIN = re.compile(r"([a-zA-Z0-9](?:-*[a-zA-Z0-9])*):(\d+)")
_EXAMPLE = "mon-fri 08:00-20:00 Europe/Berlin"
_SEARCH_DAYS = 8  # a week plus one day either side finds the previous and the next window of any schedule

Action = Literal["scale_down", "scale_up", "none"]
Outcome = Literal["applied", "rejected"]

# The scheduler state item that keeps two HyperPod scheduler passes from running at once (the stack scopes the
# scheduler's conditional writes to it).
SCHEDULER_PASS_KEY = "pass#scheduler"


class ScheduleError(ValueError):
    """The tag value is not a schedule; the message is one line naming what is wrong. The cluster is left alone."""


@dataclass(frozen=True)
class Schedule:
    text: str
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time | None  # None = 24:00
    timezone: str
    min_all: int = 0
    min_groups: Mapping[str, int] = field(default_factory=dict)
    park: bool = False

    @property
    def overnight(self) -> bool:
        return self.end is not None and self.end <= self.start

    def minimum_for(self, group: str) -> int:
        return self.min_groups.get(group, 0) if self.min_groups else self.min_all

    def windows(self, around: datetime) -> list[tuple[datetime, datetime]]:
        """(open, close) instants in UTC of every window that opens within _SEARCH_DAYS days of `around`."""
        zone = ZoneInfo(self.timezone)
        today = around.astimezone(zone).date()
        windows = []
        for offset in range(-_SEARCH_DAYS, _SEARCH_DAYS + 1):
            day = today + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            opens = _instant(day, self.start, zone)
            if self.end is None:
                closes = _instant(day + timedelta(days=1), time(0), zone)
            elif self.overnight:
                closes = _instant(day + timedelta(days=1), self.end, zone)
            else:
                closes = _instant(day, self.end, zone)
            if opens < closes:  # always true outside pathological zones; never trust a reversed window
                windows.append((opens, closes))
        return windows

    def phase(self, now: datetime) -> Phase:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        now = now.astimezone(UTC)
        windows = self.windows(now)
        for opens, closes in windows:
            if opens <= now < closes:
                return Phase(True, f"on:{_iso(opens)}", opens, closes, self._local(closes))
        closed = max((closes for _, closes in windows if closes <= now), default=None)
        opens = min((opens for opens, _ in windows if opens > now), default=None)
        window_id = f"off:{_iso(closed)}" if closed else "off:unknown"
        return Phase(False, window_id, closed, opens, self._local(opens) if opens else "never")

    def _local(self, instant: datetime) -> str:
        local = instant.astimezone(ZoneInfo(self.timezone))
        return f"{DAY_NAMES[local.weekday()]} {local:%Y-%m-%d %H:%M} {self.timezone}"


@dataclass(frozen=True)
class Phase:
    """Where `now` falls: inside a window (id `on:<open>`) or in the off period after one (id `off:<close>`)."""

    inside: bool
    window_id: str
    since: datetime | None  # the window's open instant, or the previous window's close
    until: datetime | None  # the window's close, or the next window's open
    until_local: str  # `until` in the schedule's zone, for reasons


@dataclass(frozen=True)
class GroupState:
    name: str
    current_count: int
    target_count: int  # the group's declared size (TargetCount); what is saved and restored
    min_count: int | None = None  # MinCount (continuous provisioning), restored with the counts
    busy: str | None = None  # an operation in progress on the group, e.g. "Scaling"


@dataclass(frozen=True)
class ClusterState:
    name: str
    arn: str
    status: str
    groups: tuple[GroupState, ...]
    autoscaling: bool = False  # cluster autoscaling owns the counts

    @property
    def counts(self) -> dict[str, int]:
        return {group.name: group.target_count for group in self.groups}

    @property
    def min_counts(self) -> dict[str, int]:
        return {group.name: group.min_count for group in self.groups if group.min_count is not None}


@dataclass(frozen=True)
class SavedCounts:
    counts: Mapping[str, int]
    saved_at: datetime | None = None
    window_id: str | None = None
    min_counts: Mapping[str, int] = field(default_factory=dict)
    source: str = "state table"  # or "tag" when restored from the `mlgov:hyperpod-saved` tag


@dataclass(frozen=True)
class LastAction:
    action: Action
    window_id: str
    at: datetime
    outcome: Outcome
    message: str = ""
    target_counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    target_counts: Mapping[str, int] = field(default_factory=dict)
    window_id: str | None = None


def parse_schedule(value: str) -> Schedule:
    """Parse one `mlgov:schedule` value; ScheduleError with a one-line reason when it is not valid."""
    tokens = (value or "").split()
    if len(tokens) < 3:
        raise ScheduleError(f"{SCHEDULE_TAG} {value!r}: expected 'DAYS HH:MM-HH:MM TIMEZONE', e.g. {_EXAMPLE!r}")
    days = _parse_days(value, tokens[0])
    start, end = _parse_hours(value, tokens[1])
    zone = _parse_zone(value, tokens[2])
    min_all, min_groups = 0, {}
    seen: set[str] = set()
    for option in tokens[3:]:
        key, sep, raw = option.partition("=")
        key = key.lower()
        if not (sep and key == "min") and not (key == "park" and not sep):
            raise ScheduleError(
                f"{SCHEDULE_TAG} {value!r}: unknown option {option!r} (only min=N, min=GROUP:N or park)"
            )
        if key in seen:
            raise ScheduleError(f"{SCHEDULE_TAG} {value!r}: option {key} given twice")
        seen.add(key)
        if key == "min":
            min_all, min_groups = _parse_minimum(value, raw)
    if seen == {"min", "park"}:
        raise ScheduleError(f"{SCHEDULE_TAG} {value!r}: park and min= exclude each other (a parked endpoint has none)")
    return Schedule(value.strip(), days, start, end, zone, min_all, min_groups, park="park" in seen)


def _parse_days(value: str, token: str) -> frozenset[int]:
    token = token.lower()
    if token in _DAY_ALIASES:
        return frozenset(_DAY_ALIASES[token])
    days: set[int] = set()
    for part in re.split(r"[+,]", token):
        first, dash, last = part.partition("-")
        for name in (first, last) if dash else (first,):
            if name not in DAY_NAMES:
                raise ScheduleError(
                    f"{SCHEDULE_TAG} {value!r}: unknown day {name!r} (use mon..sun, ranges like mon-fri, "
                    "lists like mon+wed+fri, or daily/weekdays/weekends)"
                )
        begin = DAY_NAMES.index(first)
        length = (DAY_NAMES.index(last) - begin) % 7 + 1 if dash else 1
        days.update((begin + step) % 7 for step in range(length))
    return frozenset(days)


def _parse_hours(value: str, token: str) -> tuple[time, time | None]:
    match = _HOURS.fullmatch(token)
    if not match:
        raise ScheduleError(f"{SCHEDULE_TAG} {value!r}: hours {token!r} are not HH:MM-HH:MM (24-hour clock)")
    start_h, start_m, end_h, end_m = (int(part) for part in match.groups())
    if start_h > 23 or start_m > 59 or end_m > 59 or end_h > 24 or (end_h == 24 and end_m):
        raise ScheduleError(f"{SCHEDULE_TAG} {value!r}: hours {token!r} are out of range (00:00 to 24:00)")
    start = time(start_h, start_m)
    end = None if end_h == 24 else time(end_h, end_m)
    if end == start:
        raise ScheduleError(f"{SCHEDULE_TAG} {value!r}: the window opens and closes at the same time")
    return start, end


def _parse_zone(value: str, token: str) -> str:
    try:
        ZoneInfo(token)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(
            f"{SCHEDULE_TAG} {value!r}: unknown time zone {token!r} (an IANA name like Europe/Berlin or UTC)"
        ) from None
    return token


def _parse_minimum(value: str, raw: str) -> tuple[int, dict[str, int]]:
    if raw.isdigit():
        return int(raw), {}
    groups: dict[str, int] = {}
    for part in raw.split("+"):
        match = _GROUP_MIN.fullmatch(part)
        if not match:
            raise ScheduleError(f"{SCHEDULE_TAG} {value!r}: min={raw!r} is not N or GROUP:N joined by '+'")
        groups[match.group(1)] = int(match.group(2))
    return 0, groups


def decide(
    schedule: Schedule,
    cluster: ClusterState,
    saved: SavedCounts | None,
    hold: bool,
    last_action: LastAction | None,
    now: datetime,
) -> Decision:
    """What the scheduler does with one cluster now, and why. Acts at most once per window or off period."""
    if hold:
        return _none(
            f"on hold (manual override): `mlgov schedules resume {cluster.name}` hands it back to the schedule"
        )
    if cluster.status != "InService":
        return _none(f"cluster is {cluster.status}: only InService clusters are scaled")
    if cluster.autoscaling:
        return _none("cluster autoscaling is enabled: the autoscaler owns the instance counts")
    if not cluster.groups:
        return _none("cluster has no instance groups")
    busy = [group for group in cluster.groups if group.busy]
    if busy:
        return _none(f"instance group {busy[0].name} has an operation in progress ({busy[0].busy})")
    phase = schedule.phase(now)
    if last_action is not None and last_action.window_id == phase.window_id:
        return _none(_acted_already(last_action, phase, cluster.counts), phase.window_id)
    counts = cluster.counts
    if not phase.inside:
        return _off_hours(schedule, counts, phase)
    return _in_window(schedule, counts, saved, phase)


def _off_hours(schedule: Schedule, counts: dict[str, int], phase: Phase) -> Decision:
    target = {name: min(count, schedule.minimum_for(name)) for name, count in counts.items()}
    where = f"outside the window ({schedule.text}; opens {phase.until_local})"
    if target == counts:
        return _none(f"{where}; already at {_describe(counts)}", phase.window_id)
    return Decision(
        "scale_down",
        f"{where}: save {_describe(counts)}, scale to {_describe(target)}",
        target,
        phase.window_id,
    )


def _in_window(schedule: Schedule, counts: dict[str, int], saved: SavedCounts | None, phase: Phase) -> Decision:
    where = f"inside the window ({schedule.text}; closes {phase.until_local})"
    if saved is None or not saved.counts:
        if any(count > schedule.minimum_for(name) for name, count in counts.items()):
            return _none(f"{where}; running at {_describe(counts)}", phase.window_id)
        return _none(f"{where}; no saved counts to restore: scale it up by hand", phase.window_id)
    target = {name: saved.counts.get(name, count) for name, count in counts.items()}
    if target == counts:
        return _none(f"{where}; at the saved counts {_describe(counts)}", phase.window_id)
    grown = [name for name in counts if counts[name] > target[name]]
    if grown:
        name = grown[0]
        return _none(
            f"{where}; {name} has {counts[name]} nodes, more than the saved {target[name]}: "
            "resized since the scale-down, left as it is",
            phase.window_id,
        )
    gone = sorted(set(saved.counts) - set(counts))
    note = f" (saved groups no longer in the cluster: {', '.join(gone)})" if gone else ""
    when = f" at {_iso(saved.saved_at)}" if saved.saved_at else ""
    return Decision(
        "scale_up",
        f"{where}: restore {_describe(target)} saved{when} ({saved.source}){note}",
        target,
        phase.window_id,
    )


def _acted_already(last: LastAction, phase: Phase, counts: Mapping[str, int]) -> str:
    period = "window" if phase.inside else "off period"
    if last.outcome == "rejected":
        return (
            f"{last.action} was rejected at {_iso(last.at)}: {last.message}; not retried in this {period} "
            f"(next change {phase.until_local})"
        )
    reason = f"{last.action} already done at {_iso(last.at)} in this {period}: acts once per {period}"
    differ = {name: counts[name] for name, target in last.target_counts.items() if counts.get(name, target) != target}
    if differ:  # accepted, yet the counts are not what was asked: it failed later, or somebody changed them
        reason += f"; the cluster now has {_describe(differ)}, not the {_describe(last.target_counts)} it was sent"
    return reason


def _none(reason: str, window_id: str | None = None) -> Decision:
    return Decision("none", reason, {}, window_id)


def _describe(counts: Mapping[str, int]) -> str:
    return " ".join(f"{name}={count}" for name, count in counts.items()) or "no groups"


def _instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
