"""`mlgov demo`: the simulated organization of `make demo`, run from a source checkout (tests/e2e/demo.py)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from mlgov.repo_files import REPO_ROOT


def add_demo_command(commands, common: argparse.ArgumentParser) -> None:
    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="a simulated organization on a local moto server, run end to end (needs a checkout and cdk.out)",
    )
    demo.add_argument("--cloud-assembly", default=str(REPO_ROOT / "cdk.out"), help="`cdk synth` output (cdk.out)")
    demo.add_argument("--out", default=str(REPO_ROOT / "demo-out"), help="where the report goes (demo-out)")
    demo.set_defaults(run=_demo)


def _demo(args) -> int:
    from mlgov.cli import CliError

    if not (REPO_ROOT / "tests" / "e2e" / "demo.py").is_file():
        raise CliError("mlgov demo runs from a source checkout: git clone the repository and run `make demo`")
    # The demo is a tool of the checkout (it drives the e2e harness), never code of this package: it runs as its own
    # process, as `make demo` runs it.
    assembly, out = str(Path(args.cloud_assembly).resolve()), str(Path(args.out).resolve())  # relative to the caller
    command = [sys.executable, "-m", "tests.e2e.demo", "--cloud-assembly", assembly, "--out", out]
    return subprocess.run(command, cwd=REPO_ROOT, check=False).returncode
