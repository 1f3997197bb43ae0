"""Zombie detection benchmark: mlgov's batched detector vs the naive per-endpoint loop, on moto with latency.

Creates N endpoints in moto whose variants are named the way real fleets name them (AllTraffic, blue/green,
canary...), seeds CloudWatch with their usage (traffic on both/one variant, zero-valued Invocations, CPU series
only, nothing at all), adds a fixed latency to every SageMaker and CloudWatch call, then runs in one process:

* mlgov: SageMakerInventory (concurrent List/Describe/ListTags) + EndpointUsageCollector (GetMetricData, 500
  queries a call: Invocations for every variant, then CPU evidence for the silent ones);
* naive: the popular-script loop, sequential: ListEndpoints → DescribeEndpoint → GetMetricStatistics(Invocations,
  EndpointName + VariantName=AllTraffic, Sum) per endpoint; "no datapoints" counts as zero invocations.

Both are scored against a brute-force oracle over the seeded data. moto stamps endpoints with the wall clock, so
the judgement runs "as of" 40 days later and the metrics are seeded relative to that moment.

Run: .venv/bin/python bench/zombies.py [--endpoints 2000] [--latency-ms 10] [--workers 32] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "lambdas")]
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecution"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/xgboost:1"
LAYOUTS = [("AllTraffic",), ("blue", "green"), ("AllTraffic", "canary"), ("prod",), ("v1", "v2"), ("AllTraffic",)]
NOW = datetime.now(UTC).replace(microsecond=0) + timedelta(days=40)
IDLE_DAYS = 30


def populate(sm, endpoints: int) -> dict[str, tuple[str, ...]]:
    """Endpoints sharing a handful of configs per variant layout; returns endpoint name -> variant names."""
    configs = max(len(LAYOUTS), endpoints // 50)
    for index in range(configs):
        sm.create_model(ModelName=f"m{index}", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
        layout = LAYOUTS[index % len(LAYOUTS)]
        sm.create_endpoint_config(
            EndpointConfigName=f"cfg{index}",
            ProductionVariants=[
                {"VariantName": v, "ModelName": f"m{index}", "InitialInstanceCount": 1, "InstanceType": "ml.m5.xlarge"}
                for v in layout
            ],
        )
    fleet = {}
    for index in range(endpoints):
        sm.create_endpoint(EndpointName=f"ep{index}", EndpointConfigName=f"cfg{index % configs}")
        fleet[f"ep{index}"] = LAYOUTS[(index % configs) % len(LAYOUTS)]
    return fleet


def seed(cloudwatch, fleet: dict[str, tuple[str, ...]], rng: random.Random) -> dict[str, dict]:
    """Usage per endpoint: {"invocations": {variant: [(ts, sum)]}, "cpu": {variant: [ts]}}, as put into CloudWatch."""
    facts, data = {}, {"AWS/SageMaker": [], "/aws/sagemaker/Endpoints": []}
    for index, (name, variants) in enumerate(fleet.items()):
        last = variants[-1]
        scenario = index % 6
        invocations: dict[str, list] = {}
        cpu: dict[str, list] = {}

        def moment() -> datetime:
            return NOW - timedelta(days=rng.randint(2, IDLE_DAYS - 2), hours=rng.randint(1, 10))

        if scenario == 0:  # traffic on every variant
            invocations = {v: [(moment(), float(rng.randint(1, 500)))] for v in variants}
        elif scenario == 1:  # traffic on the last variant only (blue/green after a cut-over, a canary...)
            invocations = {last: [(moment(), float(rng.randint(1, 500)))]}
        elif scenario == 2:  # silent, SageMaker published zero-valued Invocations
            invocations = {v: [(moment(), 0.0)] for v in variants}
        elif scenario == 3:  # silent, only the instance metrics prove it was up
            cpu = {v: [moment()] for v in variants}
        elif scenario == 4:  # nothing published at all
            pass
        else:  # silent: zeros on the first variant, CPU on the others
            invocations = {variants[0]: [(moment(), 0.0)]}
            cpu = {v: [moment()] for v in variants[1:]}
        facts[name] = {"invocations": invocations, "cpu": cpu}
        for variant, points in invocations.items():
            for ts, value in points:
                data["AWS/SageMaker"].append(_datum("Invocations", name, variant, ts, value))
        for variant, moments in cpu.items():
            data["/aws/sagemaker/Endpoints"].extend(_datum("CPUUtilization", name, variant, ts, 4.2) for ts in moments)
    for namespace, metric_data in data.items():
        for first in range(0, len(metric_data), 1000):
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=metric_data[first : first + 1000])
    return facts


def _datum(metric: str, endpoint: str, variant: str, ts: datetime, value: float) -> dict:
    return {
        "MetricName": metric,
        "Dimensions": [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}],
        "Timestamp": ts,
        "StatisticValues": {"Sum": value, "SampleCount": 1440.0, "Minimum": 0.0, "Maximum": value},
    }


def oracle(variants: tuple[str, ...], facts: dict) -> str:
    start = NOW - timedelta(days=IDLE_DAYS)
    inside = {v: [value for ts, value in points if start <= ts < NOW] for v, points in facts["invocations"].items()}
    if any(value > 0 for values in inside.values() for value in values):
        return "active"
    proven = all(inside.get(v) or any(start <= ts < NOW for ts in facts["cpu"].get(v, [])) for v in variants)
    return "zombie" if proven else "unknown"


def mlgov_detector(session, workers: int) -> tuple[dict[str, str], int, int, float]:
    from mlgov.aws.inventory import SageMakerInventory
    from mlgov.aws.metrics import EndpointUsageCollector
    from mlgov.domain.zombies import ZombiePolicy

    start = time.perf_counter()
    inventory = SageMakerInventory(
        session.client("sagemaker"), ACCOUNT, REGION, resource_types=["endpoint"], max_workers=workers, now=NOW
    )
    endpoints, errors = inventory.collect()
    assert not errors, errors[:3]
    inventory_s = time.perf_counter() - start
    collector = EndpointUsageCollector(session.client("cloudwatch"), ZombiePolicy(idle_days=IDLE_DAYS), NOW)
    verdicts = collector.judge(endpoints)
    elapsed = time.perf_counter() - start
    statuses = {e.name: verdicts[e.arn].status for e in endpoints}
    print(
        f"mlgov: inventory {inventory_s:.1f} s, usage {elapsed - inventory_s:.1f} s "
        f"({collector.queries} metric queries in {collector.calls} GetMetricData calls, "
        f"ceil(Q/500) = {-(-collector.queries // 500)})"
    )
    return statuses, collector.calls, sum(inventory.api_calls.values()) + collector.calls, elapsed


def naive_loop(session) -> tuple[dict[str, str], int, int, float]:
    """The per-endpoint script: one GetMetricStatistics per endpoint with VariantName=AllTraffic; no data = 0."""
    sm, cloudwatch = session.client("sagemaker"), session.client("cloudwatch")
    calls: Counter[str] = Counter()
    for client in (sm, cloudwatch):
        client.meta.events.register("before-call", lambda model, **_: calls.update([model.service_model.service_name]))
    start = time.perf_counter()
    statuses = {}
    for page in sm.get_paginator("list_endpoints").paginate():
        for summary in page["Endpoints"]:
            name = summary["EndpointName"]
            if sm.describe_endpoint(EndpointName=name)["EndpointStatus"] != "InService":
                continue
            datapoints = cloudwatch.get_metric_statistics(
                Namespace="AWS/SageMaker",
                MetricName="Invocations",
                Dimensions=[{"Name": "EndpointName", "Value": name}, {"Name": "VariantName", "Value": "AllTraffic"}],
                StartTime=NOW - timedelta(days=IDLE_DAYS),
                EndTime=NOW,
                Period=86400,
                Statistics=["Sum"],
            )["Datapoints"]
            statuses[name] = "zombie" if sum(d["Sum"] for d in datapoints) == 0 else "active"
    elapsed = time.perf_counter() - start
    return statuses, calls["cloudwatch"], sum(calls.values()), elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=32, help="mlgov inventory: Describe/ListTags calls at once")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON (read by bench/report.py)")
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION=REGION)

    import boto3
    from moto import mock_aws

    with mock_aws():
        session = boto3.Session(region_name=REGION)
        fleet = populate(session.client("sagemaker"), args.endpoints)
        facts = seed(session.client("cloudwatch"), fleet, random.Random(6))
        delay = args.latency_ms / 1000
        session.events.register("before-call.sagemaker", lambda **_: time.sleep(delay))
        session.events.register("before-call.cloudwatch", lambda **_: time.sleep(delay))
        mine, mine_cw, mine_total, mine_s = mlgov_detector(session, args.workers)
        naive, naive_cw, naive_total, naive_s = naive_loop(session)

    truth = {name: oracle(variants, facts[name]) for name, variants in fleet.items()}
    mine_agree = sum(mine[name] == status for name, status in truth.items())
    mine_binary = sum((mine[name] == "zombie") == (status == "zombie") for name, status in truth.items())
    naive_agree = sum((naive[name] == "zombie") == (status == "zombie") for name, status in truth.items())
    naive_errors: Counter[str] = Counter()
    for name, status in truth.items():
        flagged = naive[name] == "zombie"
        if flagged and status == "active":
            naive_errors["active endpoints flagged zombie (their traffic is on variants not named AllTraffic)"] += 1
        elif flagged and status == "unknown":
            naive_errors["endpoints without any metrics flagged zombie (no data counted as zero)"] += 1
        elif not flagged and status == "zombie":
            naive_errors["zombies missed"] += 1
    no_alltraffic = sum(
        naive[name] == "zombie" and status != "zombie" and "AllTraffic" not in fleet[name]
        for name, status in truth.items()
    )
    n = len(truth)
    print(f"oracle: {dict(Counter(truth.values()))} over {n} endpoints; {args.latency_ms:g} ms per call")
    print("| benchmark | naive per-endpoint loop | mlgov | ratio |")
    print("|---|---|---|---|")
    print(
        f"| zombie detection, {n} endpoints on moto, {args.latency_ms:g} ms/call | "
        f"{naive_s:.1f} s, {naive_cw} CloudWatch / {naive_total} API calls, "
        f"oracle agreement {naive_agree}/{n} ({100 * naive_agree / n:.1f}%, zombie or not) | "
        f"{mine_s:.1f} s, {mine_cw} CloudWatch / {mine_total} API calls, "
        f"oracle agreement {mine_binary}/{n} zombie or not, {mine_agree}/{n} exact status | "
        f"{naive_s / mine_s:.1f}x faster, {naive_cw / max(mine_cw, 1):.0f}x fewer CloudWatch calls |"
    )
    for what, count in naive_errors.items():
        print(f"naive loop misjudged {count} {what}")
    print(f"of the endpoints the naive loop flagged wrongly, {no_alltraffic} have no variant named AllTraffic at all")
    if args.json:
        from bench._results import measured, write_json

        scope = f"zombie detection, {n} endpoints on moto, {args.latency_ms:g} ms/call"
        naive_name = "naive per-endpoint loop"
        mine_pct, naive_pct = 100 * mine_binary / n, 100 * naive_agree / n
        write_json(
            args.json,
            "zombies",
            {"endpoints": args.endpoints, "latency_ms": args.latency_ms, "workers": args.workers},
            [
                measured(
                    scope, "wall time", mine_s, naive_s, "s", naive_s / mine_s, "faster", baseline_name=naive_name
                ),
                measured(
                    scope,
                    "CloudWatch calls",
                    mine_cw,
                    naive_cw,
                    "calls",
                    naive_cw / max(mine_cw, 1),
                    "fewer calls",
                    baseline_name=naive_name,
                ),
                measured(
                    scope,
                    "API calls, all services",
                    mine_total,
                    naive_total,
                    "calls",
                    mine_total / max(naive_total, 1),
                    "of the baseline's calls (mlgov also lists tags)",
                    baseline_name=naive_name,
                ),
                measured(
                    scope,
                    "oracle agreement, zombie or not",
                    mine_pct,
                    naive_pct,
                    "%",
                    mine_pct / naive_pct if naive_pct else None,
                    "of the baseline's agreement",
                    baseline_name=naive_name,
                ),
            ],
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
