"""Runs every benchmark in bench/ and writes one markdown table of their ratios (stdout and bench/RESULTS.md).

Each script is run in its own interpreter with `--json PATH` and its `mlgov.bench/1` document is read back; the
scripts' own human output goes to stderr so stdout holds only the table. `--quick` passes small sizes to each
script for a smoke test: the figures are then not representative (the table says so).

Run: .venv/bin/python bench/report.py [--quick] [--output bench/RESULTS.md] [--only scan ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
DEFAULT_OUTPUT = BENCH / "RESULTS.md"
SCHEMA = "mlgov.bench/1"
# Small sizes per script for --quick; a script missing here runs with its defaults.
QUICK_ARGS: dict[str, list[str]] = {
    "auto_tagger": ["--events", "20", "--runs", "1"],
    "costs": ["--rows", "100000"],
    "scan": ["--endpoints", "40", "--jobs", "100", "--latency-ms", "5"],
    "scan_calls": ["--endpoints", "60", "--latency-ms", "5"],
    "zombies": ["--endpoints", "60", "--latency-ms", "5"],
}
COLUMNS = ("benchmark", "metric", "mlgov", "baseline", "ratio", "goal")


def scripts(bench_dir: Path = BENCH) -> list[Path]:
    """The benchmark scripts: every bench/*.py except this one and helpers (leading underscore)."""
    own = Path(__file__).resolve().name
    return sorted(p for p in bench_dir.glob("*.py") if p.name != own and not p.name.startswith("_"))


def run_script(script: Path, extra_args: Sequence[str]) -> tuple[dict | None, float, str]:
    """Run one script with --json; returns (its document or None on failure, seconds, a failure message)."""
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / f"{script.stem}.json"
        command = [sys.executable, str(script), *extra_args, "--json", str(output)]
        print(f"== {' '.join([script.relative_to(REPO).as_posix(), *extra_args])}", file=sys.stderr, flush=True)
        start = time.perf_counter()
        completed = subprocess.run(command, cwd=REPO, stdout=sys.stderr, stderr=sys.stderr, check=False)
        elapsed = time.perf_counter() - start
        if completed.returncode != 0:
            return None, elapsed, f"exited with status {completed.returncode}"
        if not output.exists():
            return None, elapsed, "wrote no JSON (does it support --json?)"
        document = json.loads(output.read_text(encoding="utf-8"))
    if document.get("schema") != SCHEMA:
        return None, elapsed, f"wrote schema {document.get('schema')!r}, expected {SCHEMA!r}"
    return document, elapsed, ""


def render_table(documents: Sequence[Mapping]) -> str:
    """One markdown table row per figure of every document, in the order given."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for document in documents:
        for result in document["results"]:
            cells = (
                result["benchmark"],
                result["metric"],
                _quantity(result["mlgov"], result["unit"]),
                _baseline(result),
                _ratio(result),
                _goal(result),
            )
            lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def goal_met(result: Mapping) -> bool | None:
    """Whether the ratio meets the script's stated goal; None when there is no goal or no ratio."""
    goal, ratio = result.get("goal"), result.get("ratio")
    if not goal or ratio is None:
        return None
    return ratio >= goal["value"] if goal["op"] == ">=" else ratio <= goal["value"]


def render_markdown(
    documents: Sequence[Mapping],
    failures: Sequence[tuple[str, str]] = (),
    quick: bool = False,
    context: Mapping[str, str] | None = None,
) -> str:
    """The whole RESULTS.md: a heading, how it was measured, the table, then any failed scripts."""
    parts = ["# mlgov benchmark results", ""]
    if quick:
        parts += ["**Quick run** (`--quick`, small sizes): a smoke test, not representative figures.", ""]
    parts += [
        "Each ratio compares mlgov with a baseline measured in the same run (`make bench` regenerates this file).",
        "",
    ]
    if context:
        parts += [", ".join(f"{key}: {value}" for key, value in context.items()), ""]
    parts.append(render_table(documents).rstrip("\n"))
    parameters = [
        f"- `{document['script']}`: " + ", ".join(f"{key}={value}" for key, value in document["parameters"].items())
        for document in documents
        if document.get("parameters")
    ]
    if parameters:
        parts += ["", "Parameters:", *parameters]
    if failures:
        parts += ["", "Failed:", *(f"- `{script}`: {why}" for script, why in failures)]
    return "\n".join(parts) + "\n"


def _quantity(value: float, unit: str) -> str:
    number = _number(value)
    if unit in ("%", "/s"):
        return f"{number}{unit}"
    return f"{number} {unit}" if unit else number


def _baseline(result: Mapping) -> str:
    quantity = _quantity(result["baseline"], result["unit"])
    return f"{result['baseline_name']}: {quantity}" if result.get("baseline_name") else quantity


def _ratio(result: Mapping) -> str:
    ratio = result.get("ratio")
    if ratio is None:
        return "n/a"
    verdict = goal_met(result)
    mark = "" if verdict is None else (" ✅" if verdict else " ❌")
    return f"{ratio:.2f}x {result.get('ratio_means', '')}".rstrip() + mark


def _goal(result: Mapping) -> str:
    goal = result.get("goal")
    return f"{goal['op']} {goal['value']:g}x" if goal else ""


def _number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    magnitude = abs(value)
    return f"{value:,.0f}" if magnitude >= 100 else f"{value:.1f}" if magnitude >= 10 else f"{value:.2f}"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test, minutes become seconds")
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help=f"default {DEFAULT_OUTPUT.relative_to(REPO)}"
    )
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these scripts (file stems, e.g. scan)")
    args = parser.parse_args(argv)
    selected = scripts()
    if args.only:
        unknown = sorted(set(args.only) - {script.stem for script in selected})
        if unknown:
            parser.error(f"no benchmark named {', '.join(unknown)}; have {', '.join(s.stem for s in selected)}")
        selected = [script for script in selected if script.stem in args.only]
    documents, failures, timings = [], [], []
    for script in selected:
        document, seconds, failure = run_script(script, QUICK_ARGS.get(script.stem, []) if args.quick else [])
        timings.append(f"{script.stem} {seconds:.0f} s")
        if document is None:
            failures.append((script.name, failure))
            print(f"!! {script.name}: {failure}", file=sys.stderr)
        else:
            documents.append(document)
    context = {
        "measured": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count() or 1} CPUs",
        "run times": ", ".join(timings),
    }
    markdown = render_markdown(documents, failures, quick=args.quick, context=context)
    args.output.write_text(markdown, encoding="utf-8")
    sys.stdout.write(markdown)
    print(f"wrote {args.output}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
