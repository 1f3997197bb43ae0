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
# What reads the wall clock, by qualified name: referenced at all, or called with no time argument.
CLOCK_READS = {"datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today", "datetime.date.today",
               "time.time", "time.time_ns"}  # fmt: skip
CLOCK_READS_WITHOUT_ARGUMENT = {"time.localtime": 0, "time.gmtime": 0, "time.ctime": 0, "time.asctime": 0,
                                "time.strftime": 1}  # fmt: skip
# Reads of the process clock that are inputs from outside the system under test, not expected values.
ALLOWED = {
    ("tests/e2e/harness.py", "time.time"): "the harness plays Slack, which stamps each request with its own time",
}
PLUGIN = Path("tests/plugins/clock.py")


def _imported_names(tree: ast.AST) -> dict[str, str]:
    """Local name -> qualified name for `import datetime as dt`, `from datetime import date as d`, `from time import
    time`; the plain module names stand for themselves."""
    names = {"datetime": "datetime", "time": "time"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {(alias.asname or alias.name): alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module in ("datetime", "time"):
            names |= {(alias.asname or alias.name): f"{node.module}.{alias.name}" for alias in node.names}
    names.setdefault("date", "datetime.date")
    return names


def _qualified(node: ast.AST, names: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _qualified(node.value, names)
        return f"{owner}.{node.attr}" if owner else None
    return None


def _wall_clock_calls(path: Path) -> list[tuple[str, int, str]]:
    """(path, line, what) for each read of the wall clock in `path`: a reference to datetime.now/utcnow/today,
    date.today, time.time/time_ns (whatever they are imported as), or time.localtime()/gmtime()/strftime(fmt)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = _imported_names(tree)
    where = str(path.relative_to(REPO) if path.is_relative_to(REPO) else path)
    found = []
    for node in ast.walk(tree):
        referenced = isinstance(node, ast.Attribute | ast.Name) and isinstance(node.ctx, ast.Load)
        if referenced and _qualified(node, names) in CLOCK_READS:
            found.append(((node.lineno, node.col_offset), _qualified(node, names)))
        if isinstance(node, ast.Call):
            name = _qualified(node.func, names)
            if name in CLOCK_READS_WITHOUT_ARGUMENT and len(node.args) <= CLOCK_READS_WITHOUT_ARGUMENT[name]:
                found.append(((node.lineno, node.col_offset), f"{name}()"))
    return [(where, position[0], what) for position, what in sorted(found)]


def test_no_test_reads_the_wall_clock():
    calls = [
        call
        for path in sorted((REPO / "tests").rglob("*.py"))
        if path.relative_to(REPO) != PLUGIN
        for call in _wall_clock_calls(path)
        if (call[0], call[2]) not in ALLOWED
    ]
    assert calls == [], "take the `instant` fixture (tests/plugins/clock.py) instead of reading the wall clock"


def test_no_domain_module_reads_the_clock():
    """Pure decisions take `now` as data: the tests of the domain need no clock of their own."""
    domain = REPO / "lambdas" / "mlgov" / "domain"
    assert [call for path in sorted(domain.glob("*.py")) for call in _wall_clock_calls(path)] == []


def test_the_wall_clock_check_finds_each_kind_of_read(tmp_path):
    sample = tmp_path / "clock_reads.py"
    sample.write_text(
        "import datetime as dt, time\nfrom datetime import date as d, datetime\nfrom time import time as now_s\n"
        "a = datetime.now(); b = dt.datetime.utcnow(); c = d.today(); e = time.time(); f = now_s()\n"
        "stamp = datetime.now\ng = time.localtime(); h = time.strftime('%Y')\n"
        "x = time.monotonic(); y = datetime.fromisoformat('2026-01-01'); z = dt.time(12, 0); w = moment.time()\n"
        "u = time.localtime(0); v = time.strftime('%Y', u)\n"
    )
    reads = [what for _, _, what in _wall_clock_calls(sample)]
    assert reads == [
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.date.today",
        "time.time",
        "time.time",
        "datetime.datetime.now",
        "time.localtime()",
        "time.strftime()",
    ]


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

import pytest


def test_assumes_todays_calendar():  # the kind of test the shifted runs exist to catch
    today = date.today()
    assert calendar.monthrange(today.year, today.month)[1] == 30


def test_written_against_the_clock(instant):
    days = calendar.monthrange(instant.year, instant.month)[1]
    assert datetime.now(UTC).date() == instant.date() and 28 <= days <= 31


def test_reports_the_zone(instant):
    print("ZONE", time.strftime("%Z"), "AT", datetime.now(UTC).strftime("%Y-%m-%d"))


@pytest.fixture
def made_before_the_clock():
    return datetime.now(UTC).date()  # a fixture set up before `instant` (moto resources are made like this)


def test_fixtures_are_set_up_at_the_tests_instant(made_before_the_clock, instant):
    assert made_before_the_clock == instant.date()
"""


@pytest.fixture
def sample(pytester: pytest.Pytester, monkeypatch) -> pytest.Pytester:
    """A project holding CALENDAR_SAMPLE, run in a subprocess with the clock plugin from this checkout."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    pytester.makepyfile(test_sample=CALENDAR_SAMPLE)
    return pytester


def _run(sample: pytest.Pytester, *args: str) -> pytest.RunResult:
    return sample.runpytest_subprocess("-p", "tests.plugins.clock", "-p", "no:cacheprovider", "-s", *args)


def _all_shifted() -> list[str]:
    return [arg for text in SHIFTED_INSTANTS for arg in ("--instant", text)]


def test_a_test_that_assumes_todays_calendar_fails_in_the_shifted_run(sample):
    result = _run(sample, *_all_shifted())  # as make test runs it: the process at the first, 31 December
    result.assert_outcomes(passed=3 * len(SHIFTED_INSTANTS), failed=1)
    assert "FAILED test_sample.py::test_assumes_todays_calendar" in result.stdout.str()


def test_at_a_single_shifted_instant_the_same_test_fails_too(sample):
    result = _run(sample, "--instant", SHIFTED_INSTANTS[0])
    result.assert_outcomes(passed=3, failed=1)


def test_at_the_dst_instant_the_process_runs_in_its_zone(sample):
    result = _run(sample, "--instant", SHIFTED_INSTANTS[2], "-k", "clock or zone or fixtures")
    result.assert_outcomes(passed=3)
    assert "ZONE PST" in result.stdout.str()


def test_without_an_instant_the_process_runs_at_the_pinned_one(sample):
    result = _run(sample, "-k", "zone or fixtures")
    result.assert_outcomes(passed=2)
    assert f"AT {PINNED_INSTANT:%Y-%m-%d}" in result.stdout.str()


def test_with_several_instants_each_clock_test_runs_once_at_each_from_its_setup(sample):
    result = _run(sample, "-m", "clock", *_all_shifted())
    result.assert_outcomes(passed=3 * len(SHIFTED_INSTANTS))
    out = result.stdout.str()
    assert "AT 2026-12-31" in out and "AT 2027-02-28" in out and "ZONE PST AT 2027-03-14" in out


def test_only_the_tests_that_take_the_clock_are_marked_for_the_shifted_runs(sample):
    result = _run(sample, "-m", "clock", "--collect-only", "-q")
    collected = [line for line in result.outlines if "::" in line]
    assert collected == [
        "test_sample.py::test_written_against_the_clock",
        "test_sample.py::test_reports_the_zone",
        "test_sample.py::test_fixtures_are_set_up_at_the_tests_instant",
    ]
