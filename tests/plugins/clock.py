"""The tests' clock: a pinned instant by default, any instants on request, never today's date.

- The whole test process runs at ``PINNED_INSTANT`` (time-machine, ticking on from there): moto's timestamps,
  botocore, the Lambda runtimes' default clocks and the CLI read the same day whatever the machine's date, so the
  suite gives the same results on every day.
- ``instant`` (fixture) is "now" for one test, an aware UTC datetime; the process clock is there for the whole test
  (setup, call, teardown). ``clock_instant`` (session) is the same instant without a travel of its own, for session
  fixtures such as ``today``.
- ``pytest --instant 2026-12-31T23:30:00Z`` (an offset, or a zone in brackets:
  ``2027-03-14T01:30:00[America/Los_Angeles]``, which also sets ``TZ``) moves the process there instead.
  Given several times, the process runs at the first, and every date-sensitive test runs once per instant, each
  run (setup, call and teardown) at its own instant.
- Date-sensitive tests, marked ``clock``, are those that take ``instant`` or ``clock_instant``. ``make test`` reruns
  them at each of ``SHIFTED_INSTANTS`` (a 31-day month and year end, 28 February 23:30 UTC, a DST change in a non-UTC
  zone) and, in the same session, every unit and moto test at the first of them: a test that assumes today's
  calendar, through the code it calls or on its own, fails there. No test reads the wall clock and no domain module
  reads any clock (tests/unit/test_test_clock.py).
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
_INSTANTS = pytest.StashKey[list[datetime]]()
_SESSION_TRAVEL = pytest.StashKey[time_machine.travel]()
_TEST_TRAVEL = pytest.StashKey[time_machine.travel]()


def parse_instant(text: str) -> datetime:
    """`2026-12-31T23:30:00Z`, `...+02:00`, or `2027-03-14T01:30:00[Area/City]` (local time in that zone)."""
    base, _, zone = text.partition("[")
    moment = datetime.fromisoformat(base.replace("Z", "+00:00"))
    if zone:
        tz = ZoneInfo(zone.rstrip("]"))
        if moment.tzinfo is not None:
            return moment.astimezone(tz)
        local = moment.replace(tzinfo=tz)
        if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != moment:
            raise ValueError(f"--instant {text!r}: that local time does not exist in {tz.key} (a DST gap)")
        return local
    if moment.tzinfo is None:
        raise ValueError(f"--instant {text!r}: give an offset (Z, +02:00) or a zone ([Europe/Berlin])")
    return moment


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--instant",
        action="append",
        default=[],
        help="run at this instant instead of the pinned one, e.g. 2026-12-31T23:30:00Z or "
        "2027-03-14T01:30:00[America/Los_Angeles]; repeat it to run each date-sensitive test at every one",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{DATE_SENSITIVE}: date-sensitive (takes the test clock): make test reruns it at other instants"
    )
    try:
        instants = [parse_instant(text) for text in config.getoption("--instant")]
    except ValueError as err:
        raise pytest.UsageError(str(err)) from None
    config.stash[_INSTANTS] = instants or [PINNED_INSTANT]
    session_instant = instants[0] if instants else PINNED_INSTANT
    config.stash[_SESSION_TRAVEL] = time_machine.travel(session_instant, tick=True)
    config.stash[_SESSION_TRAVEL].start()


def pytest_unconfigure(config: pytest.Config) -> None:
    travel = config.stash.get(_SESSION_TRAVEL, None)
    if travel is not None:
        travel.stop()


def pytest_report_header(config: pytest.Config) -> str:
    return "test clock: " + ", ".join(moment.isoformat() for moment in config.stash[_INSTANTS])


def _date_sensitive(fixturenames) -> bool:
    """Whether the test's fixture closure holds the clock (a test parameter merely named `instant` does not)."""
    return "clock_destination" in fixturenames


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    instants = metafunc.config.stash[_INSTANTS]
    if len(instants) > 1 and _date_sensitive(metafunc.fixturenames):
        ids = [moment.isoformat() for moment in instants]
        metafunc.parametrize("clock_destination", instants, indirect=True, scope="session", ids=ids)


@pytest.hookimpl(tryfirst=True)  # before -m selects on the mark
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _date_sensitive(getattr(item, "fixturenames", ())):
            item.add_marker(DATE_SENSITIVE)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    """A test run once per instant is there from the setup of its first fixture to its last teardown."""
    callspec = getattr(item, "callspec", None)
    destination = callspec.params.get("clock_destination") if callspec else None
    if destination is not None:
        item.stash[_TEST_TRAVEL] = time_machine.travel(destination, tick=True)
        item.stash[_TEST_TRAVEL].start()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item):
    try:
        return (yield)
    finally:
        travel = item.stash.get(_TEST_TRAVEL, None)
        if travel is not None:
            travel.stop()


@pytest.fixture(scope="session")
def clock_destination(request: pytest.FixtureRequest) -> datetime:
    """The instant as given (aware, in its zone if it has one): one of several with --instant repeated."""
    return getattr(request, "param", request.config.stash[_INSTANTS][0])


@pytest.fixture(scope="session")
def clock_instant(clock_destination: datetime) -> datetime:
    """The test instant in UTC (no travel of its own: for session fixtures)."""
    return clock_destination.astimezone(UTC)


@pytest.fixture
def instant(clock_destination: datetime) -> Iterator[datetime]:
    """ "Now" for this test (UTC); the process clock is there while the test runs (in the zone, if one was given)."""
    with time_machine.travel(clock_destination, tick=True):
        yield clock_destination.astimezone(UTC)
