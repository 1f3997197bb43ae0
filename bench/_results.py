"""The machine-readable side of the bench scripts: `--json PATH` writes one `mlgov.bench/1` document for report.py."""

from __future__ import annotations

import json
from pathlib import Path

SCHEMA = "mlgov.bench/1"
GOAL_OPERATORS = (">=", "<=")


def measured(
    benchmark: str,
    metric: str,
    mlgov: float,
    baseline: float,
    unit: str,
    ratio: float | None,
    ratio_means: str,
    goal: tuple[str, float] | None = None,
    baseline_name: str = "",
) -> dict:
    """One figure: mlgov's value, the baseline's from the same run, their ratio and what the ratio means.

    `ratio_means` reads after the number ("faster", "fewer calls", "of the floor"...); `goal` is on the ratio,
    e.g. (">=", 5.0).
    """
    if goal is not None and goal[0] not in GOAL_OPERATORS:
        raise ValueError(f"goal operator must be one of {GOAL_OPERATORS}, got {goal[0]!r}")
    return {
        "benchmark": benchmark,
        "metric": metric,
        "unit": unit,
        "mlgov": mlgov,
        "baseline": baseline,
        "baseline_name": baseline_name,
        "ratio": ratio,
        "ratio_means": ratio_means,
        "goal": None if goal is None else {"op": goal[0], "value": goal[1]},
    }


def write_json(path: str | Path, script: str, parameters: dict, results: list[dict]) -> None:
    document = {"schema": SCHEMA, "script": script, "parameters": parameters, "results": results}
    Path(path).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
