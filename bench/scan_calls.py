"""`mlgov scan --types endpoint` against the seed playbook's script: AWS calls and wall time, first and warm run.

Creates N InService endpoints in moto, each with its own endpoint config (the floor of a first run: the instance type
is only in the config), and puts every SageMaker call behind a call-counting proxy that sleeps a fixed latency (moto
answers in about a millisecond; AWS does not). Then, in one process:
- the seed's script: ListEndpoints pages, then DescribeEndpoint and DescribeEndpointConfig per endpoint, in order;
- `mlgov scan` (services.scan.discover, the CLI's code): Search pages (endpoints with variants and tags), one
  DescribeEndpointConfig per config on a pool — first with an empty endpoint-config cache, then again with the
  cache the first run left (a scheduled run or a second CLI run).
Prints calls and wall time, and their ratios to the seed's (goals: calls <= 0.55x first run, <= 0.1x warm;
wall <= 0.2x).

Run: .venv/bin/python bench/scan_calls.py [--endpoints 300] [--latency-ms 20] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "lambdas")]

from bench.scan import IMAGE, REGION, ROLE, TAGS  # noqa: E402 (the fleet of bench/scan.py, after the path is set)


def populate(sm, endpoints: int) -> None:
    sm.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE}, Tags=TAGS)
    for index in range(endpoints):
        variant = {"VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 1}
        sm.create_endpoint_config(
            EndpointConfigName=f"cfg{index}", ProductionVariants=[{**variant, "InstanceType": "ml.m5.xlarge"}]
        )
        sm.create_endpoint(EndpointName=f"ep{index}", EndpointConfigName=f"cfg{index}", Tags=TAGS)


class CallCounter:
    """Counts every SageMaker call a session's clients make and sleeps `latency` seconds in each (thread-safe)."""

    def __init__(self, session, latency: float) -> None:
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._latency = latency
        session.events.register("before-call.sagemaker", self._count)

    def _count(self, model, **_) -> None:
        with self._lock:
            self.calls[model.name] += 1
        time.sleep(self._latency)

    def take(self) -> Counter[str]:
        with self._lock:
            taken, self.calls = self.calls, Counter()
        return taken


def seed_script(session) -> int:
    """The seed playbook's loop: every endpoint, its description and its config's, one after another."""
    sm = session.client("sagemaker")
    found = 0
    for page in sm.get_paginator("list_endpoints").paginate(PaginationConfig={"PageSize": 100}):
        for endpoint in page["Endpoints"]:
            described = sm.describe_endpoint(EndpointName=endpoint["EndpointName"])
            sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
            found += 1
    return found


def mlgov_scan(session, cache) -> int:
    from mlgov.services.scan import ScanRequest, discover

    result = discover(session, ScanRequest(regions=[REGION], resource_types=["endpoint"]), datetime.now(UTC),
                      config_cache=cache)  # fmt: skip
    assert not result.errors, result.errors[:3]
    return len(result.resources)


def timed(run, *args) -> tuple[float, int]:
    start = time.perf_counter()
    found = run(*args)
    return time.perf_counter() - start, found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=300)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON (read by bench/report.py)")
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION=REGION)

    import boto3
    from moto import mock_aws

    from mlgov.aws.inventory import EndpointConfigCache

    with mock_aws():
        session = boto3.Session(region_name=REGION)
        populate(session.client("sagemaker"), args.endpoints)
        counter = CallCounter(session, args.latency_ms / 1000)
        seed_s, seed_found = timed(seed_script, session)
        seed_calls = counter.take()
        cache = EndpointConfigCache()
        first_s, first_found = timed(mlgov_scan, session, cache)
        first_calls = counter.take()
        warm_s, warm_found = timed(mlgov_scan, session, EndpointConfigCache(cache.dump()))
        warm_calls = counter.take()
    assert seed_found == first_found == warm_found == args.endpoints, (seed_found, first_found, warm_found)
    seed_n, first_n, warm_n = (sum(c.values()) for c in (seed_calls, first_calls, warm_calls))
    scope = f"{args.endpoints} endpoints, one config each, {args.latency_ms:g} ms/call"
    rows = [
        ("SageMaker calls, first run", first_n, seed_n, "calls", first_n / seed_n, ("<=", 0.55)),
        ("SageMaker calls, warm cache", warm_n, seed_n, "calls", warm_n / seed_n, ("<=", 0.1)),
        ("wall time, first run", first_s, seed_s, "s", first_s / seed_s, ("<=", 0.2)),
        ("wall time, warm cache", warm_s, seed_s, "s", warm_s / seed_s, ("<=", 0.2)),
    ]
    print(f"seed script: {dict(seed_calls)}; mlgov first: {dict(first_calls)}; mlgov warm: {dict(warm_calls)}")
    print("| benchmark | metric | seed script | mlgov scan | ratio (goal) |")
    print("|---|---|---|---|---|")
    for metric, mine, seed, unit, ratio, goal in rows:
        shown = (lambda v: f"{v:.2f} s") if unit == "s" else (lambda v: f"{v:.0f}")
        print(f"| {scope} | {metric} | {shown(seed)} | {shown(mine)} | {ratio:.3f}x ({goal[0]} {goal[1]}) |")
    if args.json:
        from bench._results import measured, write_json

        write_json(
            args.json,
            "scan_calls",
            {"endpoints": args.endpoints, "latency_ms": args.latency_ms},
            [
                measured(
                    scope,
                    metric,
                    mine,
                    seed,
                    unit,
                    ratio,
                    "of the seed's",
                    goal=goal,
                    baseline_name="seed playbook script",
                )  # fmt: skip
                for metric, mine, seed, unit, ratio, goal in rows
            ],
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
