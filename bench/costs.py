"""`mlgov costs` benchmark: billed cost by team from a generated FOCUS export of N rows (default 10 million) on 2 cores.

Generates the export (Parquet, FOCUS columns, Tags as a map; SageMaker and EC2 rows over one month, 5 teams, 2,000
resources; not checked in) into a temporary folder, then runs in separate processes, each reporting its own peak
memory (ru_maxrss):

* mlgov: services.costs.billed_costs by team (the cost query and the compliance query), DuckDB streaming the file;
* the floor: one DuckDB pass that sums BilledCost over the same file (the least any engine must read);
* full load: the whole export loaded into memory first (as reading it into pandas would), then summed.

Prints mlgov's time against the floor's, and mlgov's peak memory against the full load's: streaming keeps memory
flat whatever the export's size.

Run: .venv/bin/python bench/costs.py [--rows 10000000] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "lambdas")]
MONTH = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)

CHILD = """
import json, resource, sys, time
from datetime import datetime
sys.path[:0] = [{repo!r}, {lambdas!r}]
start = time.perf_counter()
if {mode!r} == "mlgov":
    from mlgov.aws.cost_export import DuckDbExport
    from mlgov.packaged_schema import load_packaged_schema
    from mlgov.services.costs import billed_costs
    report = billed_costs(DuckDbExport({path!r}), "team", datetime.fromisoformat({now!r}), load_packaged_schema())
    result = {{"billed": report["totals"]["billed_cost_usd"], "rows": len(report["rows"])}}
elif {mode!r} == "floor":
    import duckdb
    connection = duckdb.connect(config={{"threads": 2, "memory_limit": "1GB"}})
    total = connection.execute("SELECT SUM(BilledCost) FROM read_parquet('{path}')").fetchone()[0]
    result = {{"billed": float(total), "rows": 1}}
else:  # full load: the whole export in memory first, as a pandas read would, then the same sum
    import duckdb
    connection = duckdb.connect(config={{"threads": 2, "memory_limit": "16GB"}})
    connection.execute("CREATE TABLE export AS SELECT * FROM read_parquet('{path}')")
    total = connection.execute("SELECT SUM(BilledCost) FROM export").fetchone()[0]
    result = {{"billed": float(total), "rows": 1}}
elapsed = time.perf_counter() - start
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": elapsed, "peak_mb": peak_mb, **result}}))
"""


def run_child(mode: str, path: Path) -> dict:
    code = CHILD.format(
        repo=str(REPO), lambdas=str(REPO / "lambdas"), mode=mode, path=str(path), now=NOW.isoformat()
    )  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON (read by bench/report.py)")
    args = parser.parse_args()

    from tests.samples.focus_export import write_generated_focus_parquet

    with tempfile.TemporaryDirectory(prefix="mlgov-bench-focus-") as folder:
        path = Path(folder) / "focus.parquet"
        started = time.perf_counter()
        write_generated_focus_parquet(path, args.rows, MONTH)
        generated_s = time.perf_counter() - started
        size_mb = path.stat().st_size / 1024 / 1024
        floor = run_child("floor", path)
        full = run_child("full", path)
        mlgov = run_child("mlgov", path)
    print(f"generated {args.rows:,} rows ({size_mb:.0f} MB Parquet) in {generated_s:.0f} s", file=sys.stderr)
    print("| benchmark | baseline | mlgov | ratio |")
    print("|---|---|---|---|")
    print(
        f"| mlgov costs by team, {args.rows:,} FOCUS rows | one DuckDB pass summing BilledCost: "
        f"{floor['seconds']:.1f} s | {mlgov['seconds']:.1f} s | "
        f"{mlgov['seconds'] / floor['seconds']:.1f}x of the floor |"
    )
    print(
        f"| peak memory (export {size_mb:.0f} MB on disk) | full load: {full['peak_mb']:.0f} MB | "
        f"{mlgov['peak_mb']:.0f} MB | {mlgov['peak_mb'] / full['peak_mb']:.2f}x of the full load |"
    )
    if args.json:
        from bench._results import measured, write_json

        scope = f"mlgov costs by team, {args.rows:,}-row FOCUS export (DuckDB, 2 threads)"
        write_json(
            args.json,
            "costs",
            {"rows": args.rows, "export_mb": round(size_mb, 1), "generated_s": round(generated_s, 1)},
            [
                measured(
                    scope, "wall time", mlgov["seconds"], floor["seconds"], "s", mlgov["seconds"] / floor["seconds"],
                    "of the floor", baseline_name="one DuckDB pass summing BilledCost",
                ),
                measured(
                    scope, f"peak memory (RSS; export {size_mb:.0f} MB on disk)", mlgov["peak_mb"], full["peak_mb"],
                    "MB", mlgov["peak_mb"] / full["peak_mb"], "of the full load",
                    baseline_name="the export loaded into memory, then summed",
                ),
            ],
        )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
