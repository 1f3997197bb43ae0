"""`mlgov scan` benchmark: concurrent vs sequential discovery on moto with injected per-call latency.

Creates N endpoints (sharing a handful of endpoint configs, as real fleets do) and M training/processing jobs
in moto, adds a fixed latency to every SageMaker call (moto answers in about a millisecond; AWS does not),
then runs the same discovery twice in one process: sequential (1 worker everywhere) and concurrent (the
defaults). Prints both times, the ratio (goal >= 5x) and the API calls per resource.

moto answers in-process, so its CPU time (and botocore's) is part of every call and no concurrency can hide it
under the GIL: the floor — the same discovery, sequential, with no injected latency — is measured first and the
concurrent run is also reported against it. On a slow machine the floor, not mlgov, bounds the wall-time ratio:
the best any concurrency can reach is (sequential time) / (floor).

Run: .venv/bin/python bench/scan.py [--endpoints 2000] [--jobs 5000] [--latency-ms 10] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "lambdas")]
REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"
TAGS = [{"Key": "ml:team", "Value": "fraud"}, {"Key": "ml:environment", "Value": "dev"}]


def populate(sm, endpoints: int, jobs: int) -> None:
    configs = max(1, endpoints // 50)
    for index in range(configs):
        sm.create_model(ModelName=f"m{index}", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE}, Tags=TAGS)
        sm.create_endpoint_config(
            EndpointConfigName=f"cfg{index}",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": f"m{index}",
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.xlarge",
                }
            ],
            Tags=TAGS,
        )
    for index in range(endpoints):
        sm.create_endpoint(EndpointName=f"ep{index}", EndpointConfigName=f"cfg{index % configs}", Tags=TAGS)
    for index in range(jobs):
        if index % 2:
            sm.create_processing_job(
                ProcessingJobName=f"proc{index}",
                ProcessingResources={
                    "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 10}
                },
                AppSpecification={"ImageUri": IMAGE},
                RoleArn=ROLE,
                Tags=TAGS,
            )
        else:
            sm.create_training_job(
                TrainingJobName=f"train{index}",
                AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
                RoleArn=ROLE,
                OutputDataConfig={"S3OutputPath": "s3://bench/out/"},
                ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
                StoppingCondition={"MaxRuntimeInSeconds": 3600},
                Tags=TAGS,
            )


def naive_loop_calls(session) -> tuple[int, int]:
    """The per-resource loop popular scripts use: list, then describe each endpoint and its config, list tags."""
    from collections import Counter

    calls: Counter[str] = Counter()
    sm = session.client("sagemaker")
    sm.meta.events.register("before-call.sagemaker", lambda model, **_: calls.update([model.name]))
    resources = 0
    for page in sm.get_paginator("list_endpoints").paginate():
        for endpoint in page["Endpoints"]:
            described = sm.describe_endpoint(EndpointName=endpoint["EndpointName"])
            sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])
            sm.list_tags(ResourceArn=endpoint["EndpointArn"])
            resources += 1
    for page in sm.get_paginator("list_training_jobs").paginate():
        for job in page["TrainingJobSummaries"]:
            sm.describe_training_job(TrainingJobName=job["TrainingJobName"])
            sm.list_tags(ResourceArn=job["TrainingJobArn"])
            resources += 1
    for page in sm.get_paginator("list_processing_jobs").paginate():
        for job in page["ProcessingJobSummaries"]:
            sm.describe_processing_job(ProcessingJobName=job["ProcessingJobName"])
            sm.list_tags(ResourceArn=job["ProcessingJobArn"])
            resources += 1
    return sum(calls.values()), resources


def timed_scan(session, workers: int, per_region_workers: int) -> tuple[float, int, int]:
    from mlgov.services.scan import ScanRequest, discover

    request = ScanRequest(
        regions=[REGION],
        resource_types=["endpoint", "training-job", "processing-job"],
        max_workers=workers,
        per_region_workers=per_region_workers,
    )
    start = time.perf_counter()
    result = discover(session, request, datetime.now(UTC))
    elapsed = time.perf_counter() - start
    assert not result.errors, result.errors[:3]
    return elapsed, len(result.resources), result.api_calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=32, help="concurrent run: ListTags/Describe calls at once")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON (read by bench/report.py)")
    args = parser.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION=REGION)

    import boto3
    from moto import mock_aws

    with mock_aws():
        session = boto3.Session(region_name=REGION)
        populate(session.client("sagemaker"), args.endpoints, args.jobs)
        naive_calls, naive_resources = naive_loop_calls(session)
        floor_s, _, _ = timed_scan(session, workers=1, per_region_workers=1)
        delay = args.latency_ms / 1000
        session.events.register("before-call.sagemaker", lambda **_: time.sleep(delay))
        concurrent_s, resources, calls = timed_scan(session, workers=8, per_region_workers=args.workers)
        sequential_s, resources_seq, calls_seq = timed_scan(session, workers=1, per_region_workers=1)
    assert resources == resources_seq == args.endpoints + args.jobs, (resources, resources_seq)
    print("| benchmark | baseline | mlgov | ratio |")
    print("|---|---|---|---|")
    print(
        f"| scan of {args.endpoints} endpoints + {args.jobs} jobs on moto, {args.latency_ms:g} ms/call | "
        f"sequential: {sequential_s:.1f} s | concurrent: {concurrent_s:.1f} s | "
        f"{sequential_s / concurrent_s:.1f}x faster (goal >= 5x) |"
    )
    print(
        f"| CPU floor: the same discovery with no latency | sequential: {floor_s:.1f} s | concurrent: "
        f"{concurrent_s:.1f} s | {concurrent_s / floor_s:.2f}x of the floor (best reachable here: "
        f"{sequential_s / floor_s:.1f}x faster) |"
    )
    naive_rate, rate = naive_calls / naive_resources, calls / resources
    print(
        f"| SageMaker API calls per resource | naive per-resource loop: {naive_rate:.2f} ({naive_calls} calls) | "
        f"{rate:.2f} ({calls} calls) | {naive_rate / rate:.2f}x fewer |"
    )
    if args.json:
        from bench._results import measured, write_json

        scope = f"scan of {args.endpoints} endpoints + {args.jobs} jobs on moto, {args.latency_ms:g} ms/call"
        write_json(
            args.json,
            "scan",
            {"endpoints": args.endpoints, "jobs": args.jobs, "latency_ms": args.latency_ms, "workers": args.workers},
            [
                measured(
                    scope,
                    "wall time",
                    concurrent_s,
                    sequential_s,
                    "s",
                    sequential_s / concurrent_s,
                    "faster",
                    goal=(">=", 5.0),
                    baseline_name="the same discovery, sequential",
                ),
                measured(
                    scope,
                    "wall time vs the CPU floor",
                    concurrent_s,
                    floor_s,
                    "s",
                    concurrent_s / floor_s,
                    f"of the floor (no concurrency can beat it here: at most {sequential_s / floor_s:.1f}x faster)",
                    baseline_name="the same discovery, sequential, no injected latency",
                ),
                measured(
                    scope,
                    "SageMaker API calls per resource",
                    rate,
                    naive_rate,
                    "calls",
                    naive_rate / rate,
                    "fewer calls",
                    baseline_name="naive per-resource loop",
                ),
            ],
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
