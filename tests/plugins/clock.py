"""The tests' clock: a pinned instant by default, any instant on request, never today's date.

- ``instant`` (fixture): "now" for one test, an aware UTC datetime. For the duration of the test the process clock
  travels there and ticks on (time-machine): moto's timestamps, botocore, the Lambda runtimes' default clocks and the
  CLI all read the same "now" as the test's expected values. ``clock_instant`` (session) is the same instant without
  the travel, for module fixtures that travel themselves.
- By default the instant is ``PINNED_INSTANT``: the suite's figures are the same on every day.
- ``pytest --instant 2026-12-31T23:30:00Z`` (an offset, or a zone in brackets:
  ``2027-03-14T01:30:00[America/Los_Angeles]``) runs the tests at that instant instead: ``instant`` returns it, and
  the whole process clock travels there for the session (with ``TZ`` set to the zone), so a test that reads today's
  date without the fixture sees the shifted date too.
- Tests that use either fixture are marked ``clock``. ``make test`` runs the date-sensitive tests again at each of
  ``SHIFTED_INSTANTS``: a 31-day month (and year) end, 28 February 23:30 UTC, and a DST change in a non-UTC zone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

PINNED_INSTANT = datetime(2026, 6, 15, 6, 0, tzinfo=UTC)  # a Monday at the scan's 06:00, mid-way through a 30-day month
SHIFTED_INSTANTS = (
    "2026-12-31T23:30:00Z",  # the last half hour of a 31-day month and of the year
    "2027-02-28T23:30:00Z",  # the last half hour of February in a common year
    "2027-03-14T01:30:00[America/Los_Angeles]",  # 30 min before US clocks spring forward (PST -> PDT)
)
DATE_SENSITIVE = "clock"
_CLOCK_FIXTURES = frozenset({"instant", "clock_instant"})
_INSTANT = pytest.StashKey[datetime]()
_SESSION_TRAVEL = pytest.StashKey[time_machine.travel]()


def parse_instant(text: str) -> datetime:
    """`2026-12-31T23:30:00Z`, `...+02:00`, or `2027-03-14T01:30:00[Area/City]` (local time in that zone)."""
    base, _, zone = text.partition("[")
    moment = datetime.fromisoformat(base.replace("Z", "+00:00"))
    if zone:
        tz = ZoneInfo(zone.rstrip("]"))
        return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)
    if moment.tzinfo is None:
        raise ValueError(f"--instant {text!r}: give an offset (Z, +02:00) or a zone ([Europe/Berlin])")
    return moment


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--instant",
        default=None,
        help="run at this instant instead of the pinned one, e.g. 2026-12-31T23:30:00Z or "
        "2027-03-14T01:30:00[America/Los_Angeles]; the process clock travels there for the whole session",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{DATE_SENSITIVE}: uses the test clock; rerun at other instants by make test")
    text = config.getoption("--instant")
    if text is None:
        config.stash[_INSTANT] = PINNED_INSTANT
        return
    try:
        moment = parse_instant(text)
    except ValueError as err:
        raise pytest.UsageError(str(err)) from None
    config.stash[_INSTANT] = moment
    config.stash[_SESSION_TRAVEL] = time_machine.travel(moment, tick=True)
    config.stash[_SESSION_TRAVEL].start()


def pytest_unconfigure(config: pytest.Config) -> None:
    travel = config.stash.get(_SESSION_TRAVEL, None)
    if travel is not None:
        travel.stop()


def pytest_report_header(config: pytest.Config) -> str:
    moment = config.stash[_INSTANT]
    shifted = config.getoption("--instant") is not None
    return f"test clock: {moment.isoformat()}" + (" (the whole process travelled there)" if shifted else " (pinned)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _CLOCK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(DATE_SENSITIVE)


@pytest.fixture(scope="session")
def clock_instant(pytestconfig: pytest.Config) -> datetime:
    """The configured instant in UTC (no travel: for fixtures that travel themselves)."""
    return pytestconfig.stash[_INSTANT].astimezone(UTC)


@pytest.fixture
def instant(pytestconfig: pytest.Config) -> Iterator[datetime]:
    """"Now" for this test (UTC); the process clock is there too while the test runs (in the zone, if one was given)."""
    moment = pytestconfig.stash[_INSTANT]
    with time_machine.travel(moment, tick=True):
        yield moment.astimezone(UTC)
