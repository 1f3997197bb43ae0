"""`mlgov demo`: the simulated organization of `make demo`, run from a source checkout (tests/e2e/demo.py)."""

from __future__ import annotations

import argparse
import sys

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
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from tests.e2e.demo import main as run_demo

    return run_demo(["--cloud-assembly", args.cloud_assembly, "--out", args.out])
