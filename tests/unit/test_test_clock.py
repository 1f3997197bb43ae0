"""The tests' clock (tests/plugins/clock.py) keeps the suite independent of today's date, and proves it can fail.

- No test reads the wall clock: `datetime.now()`, `date.today()`, `time.time()` and their kin appear nowhere under
  tests/ (the `instant` fixture gives "now"), except where the harness plays a party outside the system; and no
  domain module reads any clock (decisions take `now` as data).
- `pytest --instant X` moves the whole process to X: a test that assumes today's calendar fails there, and a test
  written against `instant` passes at every shifted instant, the DST one in a non-UTC zone included.
"""

from __future__ import annotations

import ast
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.plugins.clock import PINNED_INSTANT, SHIFTED_INSTANTS, parse_instant

REPO = Path(__file__).resolve().parents[2]
WALL_CLOCK_CALLS = {
    "datetime": {"now", "utcnow", "today"},
    "date": {"today"},
    "time": {"time", "time_ns"},
}
# Reads of the process clock that are inputs from outside the system under test, not expected values.
ALLOWED = {
    ("tests/e2e/harness.py", "time"): "the harness plays Slack, which stamps each request with its own current time",
}


def _wall_clock_calls(path: Path) -> list[tuple[str, int, str]]:
    """(path, line, call) for each datetime.now()/date.today()/time.time()-style call in `path`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner, name = node.func.value, node.func.attr
        owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", None)
        if name in WALL_CLOCK_CALLS.get(owner_name, ()):
            where = path.relative_to(REPO) if path.is_relative_to(REPO) else path
            found.append((str(where), node.lineno, f"{owner_name}.{name}()"))
    return found


def test_no_test_reads_the_wall_clock():
    calls = [
        call
        for path in sorted((REPO / "tests").rglob("*.py"))
        if path.name != "clock.py"
        for call in _wall_clock_calls(path)
        if (call[0], call[2].split(".")[1].rstrip("()")) not in ALLOWED
    ]
    assert calls == [], "take the `instant` fixture (tests/plugins/clock.py) instead of reading the wall clock"


def test_no_domain_module_reads_the_clock():
    """Pure decisions take `now` as data: the tests of the domain need no clock of their own."""
    domain = REPO / "lambdas" / "mlgov" / "domain"
    assert [call for path in sorted(domain.glob("*.py")) for call in _wall_clock_calls(path)] == []


def test_the_wall_clock_check_finds_each_kind_of_read(tmp_path):
    sample = tmp_path / "clock_reads.py"
    sample.write_text(
        "import datetime as dt, time\nfrom datetime import date, datetime\n"
        "a = datetime.now(); b = dt.datetime.utcnow(); c = date.today(); d = time.time(); e = time.monotonic()\n"
        "f = datetime.fromisoformat('2026-01-01'); g = dt.time(12, 0); h = moment.time()\n"
    )
    calls = [call for _, _, call in _wall_clock_calls(sample)]
    assert calls == ["datetime.now()", "datetime.utcnow()", "date.today()", "time.time()"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-31T23:30:00Z", datetime(2026, 12, 31, 23, 30, tzinfo=UTC)),
        ("2027-02-28T23:30:00+00:00", datetime(2027, 2, 28, 23, 30, tzinfo=UTC)),
        ("2027-03-14T01:30:00[America/Los_Angeles]", datetime(2027, 3, 14, 9, 30, tzinfo=UTC)),  # PST = UTC-8
    ],
)
def test_instants_are_read_with_an_offset_or_a_zone(text, expected):
    moment = parse_instant(text)
    assert moment == expected and moment.utcoffset() is not None


def test_an_instant_without_offset_or_zone_is_refused():
    with pytest.raises(ValueError, match="give an offset"):
        parse_instant("2026-12-31T23:30:00")


def test_the_shifted_instants_cover_a_31_day_month_end_28_february_and_a_dst_change():
    moments = [parse_instant(text) for text in SHIFTED_INSTANTS]
    utc = [m.astimezone(UTC) for m in moments]
    assert (utc[0].month, utc[0].day) == (12, 31) and (utc[1].month, utc[1].day, utc[1].hour) == (2, 28, 23)
    dst = moments[2]
    assert dst.tzinfo is not UTC and dst.dst() != (dst.replace(hour=3)).dst()  # the offset changes that night
    assert PINNED_INSTANT.tzinfo is UTC and PINNED_INSTANT not in utc


CALENDAR_SAMPLE = """
import calendar
import time
from datetime import UTC, date, datetime


def test_assumes_todays_calendar():  # the kind of test the shifted runs exist to catch
    today = date.today()
    assert calendar.monthrange(today.year, today.month)[1] == 30


def test_written_against_the_clock(instant):
    days = calendar.monthrange(instant.year, instant.month)[1]
    assert datetime.now(UTC).date() == instant.date() and 28 <= days <= 31


def test_reports_the_zone(instant):
    print("ZONE", time.strftime("%Z"), "AT", datetime.now(UTC).strftime("%Y-%m-%d"))
"""


@pytest.fixture
def sample(pytester: pytest.Pytester, monkeypatch) -> pytest.Pytester:
    """A project holding CALENDAR_SAMPLE, run in a subprocess with the clock plugin from this checkout."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    pytester.makepyfile(test_sample=CALENDAR_SAMPLE)
    return pytester


def _run(sample: pytest.Pytester, *args: str) -> pytest.RunResult:
    return sample.runpytest_subprocess("-p", "tests.plugins.clock", "-p", "no:cacheprovider", "-s", *args)


def test_a_test_that_assumes_todays_calendar_fails_at_a_shifted_instant(sample):
    result = _run(sample, "--instant", SHIFTED_INSTANTS[0])  # 31 December: a 31-day month
    result.assert_outcomes(passed=2, failed=1)
    assert "FAILED test_sample.py::test_assumes_todays_calendar" in result.stdout.str()


def test_at_the_dst_instant_the_process_runs_in_its_zone(sample):
    result = _run(sample, "--instant", SHIFTED_INSTANTS[2], "-k", "clock or zone")
    result.assert_outcomes(passed=2)
    assert "ZONE PST" in result.stdout.str()


def test_without_an_instant_the_process_runs_at_the_pinned_one(sample):
    result = _run(sample, "-k", "zone")
    result.assert_outcomes(passed=1)
    assert f"AT {PINNED_INSTANT:%Y-%m-%d}" in result.stdout.str()


def test_with_several_instants_each_clock_test_runs_once_at_each(sample):
    result = _run(sample, "-m", "clock", *(arg for text in SHIFTED_INSTANTS for arg in ("--instant", text)))
    result.assert_outcomes(passed=2 * len(SHIFTED_INSTANTS))
    out = result.stdout.str()
    assert "AT 2026-12-31" in out and "AT 2027-02-28" in out and "ZONE PST AT 2027-03-14" in out


def test_only_the_tests_that_take_the_clock_are_marked_for_the_shifted_runs(sample):
    result = _run(sample, "-m", "clock", "--collect-only", "-q")
    collected = [line for line in result.outlines if "::" in line]
    assert collected == ["test_sample.py::test_written_against_the_clock", "test_sample.py::test_reports_the_zone"]
