"""bench/report.py's table from canned `mlgov.bench/1` documents (the benchmarks themselves are not run here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench._results import SCHEMA, measured, write_json
from bench.report import QUICK_ARGS, goal_met, render_markdown, render_table, scripts

SCAN = {
    "schema": SCHEMA,
    "script": "scan",
    "parameters": {"endpoints": 2000, "jobs": 5000, "latency_ms": 10.0},
    "results": [
        measured(
            "scan of 2000 endpoints + 5000 jobs",
            "wall time",
            19.9,
            203.5,
            "s",
            203.5 / 19.9,
            "faster",
            goal=(">=", 5.0),
            baseline_name="sequential",
        ),
        measured("scan | API", "calls per resource", 2.02, 2.29, "calls", 2.29 / 2.02, "fewer calls"),
    ],
}
AUTO_TAGGER = {
    "schema": SCHEMA,
    "script": "auto_tagger",
    "parameters": {"events": 200, "runs": 5},
    "results": [
        measured("cold import", "import time", 190.0, 125.0, "ms", 1.52, "of import boto3", goal=("<=", 1.5)),
        measured("on moto", "events per second", 169.0, 245.0, "/s", 169 / 245, "of the floor"),
    ],
}


def table_rows(markdown: str) -> list[list[str]]:
    lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[1:]]


def test_table_has_a_row_per_figure_in_document_order_with_the_columns_asked_for():
    table = render_table([AUTO_TAGGER, SCAN])
    header = table.splitlines()[0]

    assert header == "| benchmark | metric | mlgov | baseline | ratio | goal |"
    assert [row[1] for row in table_rows(table)] == [
        "import time",
        "events per second",
        "wall time",
        "calls per resource",
    ]


def test_row_shows_values_with_units_ratio_and_goal():
    wall_time = table_rows(render_table([SCAN]))[0]

    assert wall_time == [
        "scan of 2000 endpoints + 5000 jobs",
        "wall time",
        "19.9 s",
        "sequential: 204 s",
        "10.23x faster ✅",
        ">= 5x",
    ]


def test_a_missed_goal_is_marked_and_figures_without_goal_have_an_empty_goal_cell():
    cold, throughput = table_rows(render_table([AUTO_TAGGER]))

    assert cold[4] == "1.52x of import boto3 ❌" and cold[5] == "<= 1.5x"
    assert throughput[2:] == ["169/s", "245/s", "0.69x of the floor", ""]


def test_pipes_in_names_do_not_break_the_table():
    table = render_table([SCAN])

    assert r"scan \| API" in table
    assert all(line.count(" | ") == 5 for line in table.splitlines() if line.startswith("| "))


@pytest.mark.parametrize(
    ("op", "value", "ratio", "met"),
    [(">=", 5.0, 5.0, True), (">=", 5.0, 4.9, False), ("<=", 1.5, 1.5, True), ("<=", 1.5, 1.51, False)],
)
def test_goal_is_judged_on_the_ratio(op, value, ratio, met):
    result = measured("b", "m", 1.0, 1.0, "s", ratio, "x", goal=(op, value))
    assert goal_met(result) is met


def test_no_goal_or_no_ratio_is_neither_met_nor_missed():
    assert goal_met(measured("b", "m", 1.0, 1.0, "s", 2.0, "faster")) is None
    assert goal_met(measured("b", "m", 1.0, 0.0, "%", None, "of", goal=(">=", 1.0))) is None
    assert "n/a" in render_table([{"results": [measured("b", "m", 1.0, 0.0, "%", None, "of")]}])


def test_unknown_goal_operator_is_refused():
    with pytest.raises(ValueError, match="goal operator"):
        measured("b", "m", 1.0, 1.0, "s", 1.0, "x", goal=("<", 1.0))


def test_markdown_flags_a_quick_run_lists_parameters_and_failures():
    markdown = render_markdown([SCAN], failures=[("zombies.py", "exited with status 1")], quick=True)

    assert markdown.startswith("# mlgov benchmark results\n")
    assert "Quick run" in markdown and "not representative" in markdown
    assert "- `scan`: endpoints=2000, jobs=5000, latency_ms=10.0" in markdown
    assert "- `zombies.py`: exited with status 1" in markdown
    assert "Quick run" not in render_markdown([SCAN])


def test_written_json_round_trips_into_the_table(tmp_path: Path):
    path = tmp_path / "scan.json"
    write_json(path, "scan", SCAN["parameters"], SCAN["results"])

    assert render_table([json.loads(path.read_text())]) == render_table([SCAN])


def test_every_benchmark_script_is_found_and_has_quick_sizes():
    names = [script.stem for script in scripts()]

    assert "report" not in names and not any(name.startswith("_") for name in names)
    assert set(names) == set(QUICK_ARGS)


def test_every_benchmark_script_offers_the_json_hook():
    for script in scripts():
        assert '"--json"' in script.read_text(), f"{script.name} has no --json option for bench/report.py"
