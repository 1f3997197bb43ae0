"""Batched usage evidence on moto CloudWatch (1,200 endpoints × 2 variants) and GetMetricData shapes via Stubber."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from mlgov.aws.metrics import (
    MAX_DATAPOINTS_PER_CALL,
    EndpointUsageCollector,
    MetricDataError,
    fetch_metric_data,
    metric_period,
)
from mlgov.domain.inventory import Resource, Variant
from mlgov.domain.zombies import MetricQuery, UsageWindow, ZombiePolicy

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
POLICY = ZombiePolicy(idle_days=30, min_age_days=7)
ACCOUNT, REGION = "123456789012", "eu-west-1"
VARIANT_PAIRS = [("AllTraffic", "blue"), ("blue", "green"), ("prod", "AllTraffic"), ("v1", "v2"), ("AllTraffic", "b")]


@dataclass
class Seeded:
    """One endpoint and exactly what was put into CloudWatch for it: the oracle's only input."""

    resource: Resource
    invocations: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)
    cpu: dict[str, list[datetime]] = field(default_factory=dict)


def _endpoint(index: int, created: datetime, updated: datetime) -> Resource:
    name = f"ep-{index:04d}"
    return Resource(
        arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}",
        account=ACCOUNT,
        region=REGION,
        resource_type="endpoint",
        name=name,
        status="InService",
        created=created,
        running=True,
        variants=tuple(Variant(v, "ml.m5.xlarge", 1) for v in VARIANT_PAIRS[index % len(VARIANT_PAIRS)]),
        details={"last_modified": updated.isoformat()},
    )


def build_fleet(count: int, seed: int = 6) -> list[Seeded]:
    """Endpoints in eight usage scenarios (traffic on both, on one, silent with zero datapoints, silent with CPU
    series, no series at all, mixed proofs), some young, some updated 4 days ago after earlier traffic."""
    rng = random.Random(seed)
    fleet = []
    for index in range(count):
        young, updated_recently = index % 50 == 7, index % 37 == 5
        created = NOW - timedelta(days=3 if young else 90)
        updated = NOW - timedelta(days=4) if updated_recently else created
        item = Seeded(_endpoint(index, created, updated))
        first, second = (v.name for v in item.resource.variants)

        low, high = (1, 2) if young else ((1, 3) if updated_recently else (2, 28))  # days ago, inside the window

        def moment(low: int = low, high: int = high) -> datetime:
            return NOW - timedelta(days=rng.randint(low, high), hours=rng.randint(1, 10))

        scenario = index % 8
        if scenario == 0:
            item.invocations = {first: [(moment(), rng.randint(1, 900))], second: [(moment(), rng.randint(1, 50))]}
        elif scenario == 1:
            item.invocations = {first: [(moment(), rng.randint(1, 900))]}
        elif scenario == 2:
            item.invocations = {first: [(moment(), 0.0)], second: [(moment(), rng.randint(1, 9))]}
        elif scenario == 3:
            item.invocations = {first: [(moment(), 0.0)], second: [(moment(), 0.0)]}
        elif scenario == 4:
            item.cpu = {first: [moment()], second: [moment()]}
        elif scenario == 6:
            item.invocations, item.cpu = {first: [(moment(), 0.0)]}, {second: [moment()]}
        elif scenario == 7:
            item.cpu = {first: [moment()]}
        # scenario 5: nothing at all
        if updated_recently:  # traffic before the update says nothing about the fleet deployed since
            item.invocations.setdefault(first, []).append((NOW - timedelta(days=10), 500.0))
        fleet.append(item)
    return fleet


def oracle(item: Seeded) -> str:
    """Brute force over the seeded facts (every seed sits ≥ 1 day away from a window boundary)."""
    endpoint = item.resource
    start = max(
        NOW - timedelta(days=POLICY.idle_days),
        endpoint.created,
        datetime.fromisoformat(endpoint.details["last_modified"]),
    )
    inside = {v: [value for ts, value in points if start <= ts < NOW] for v, points in item.invocations.items()}
    if any(value > 0 for values in inside.values() for value in values):
        return "active"
    if NOW - endpoint.created < timedelta(days=POLICY.min_age_days) or NOW - start < timedelta(
        days=POLICY.min_age_days
    ):
        return "active"
    for variant in endpoint.variants:
        zeros = bool(inside.get(variant.name))
        cpu = any(start <= ts < NOW for ts in item.cpu.get(variant.name, []))
        if not (zeros or cpu):
            return "unknown"
    return "zombie"


def evidence_needed(item: Seeded) -> int:
    """Variants the design must prove silent with instance metrics: candidates' variants without datapoints."""
    if oracle(item) == "active":
        return 0
    endpoint = item.resource
    start = max(NOW - timedelta(days=POLICY.idle_days), endpoint.created)
    return sum(1 for v in endpoint.variants if not any(start <= ts < NOW for ts, _ in item.invocations.get(v.name, [])))


def seed_cloudwatch(cloudwatch, fleet: list[Seeded]) -> int:
    """Daily aggregates, the way SageMaker's 1-minute datapoints roll up (StatisticValues keep moto's store small)."""
    data = {"AWS/SageMaker": [], "/aws/sagemaker/Endpoints": []}
    for item in fleet:
        for variant, points in item.invocations.items():
            dimensions = [
                {"Name": "EndpointName", "Value": item.resource.name},
                {"Name": "VariantName", "Value": variant},
            ]
            for ts, value in points:
                stats = {"Sum": float(value), "SampleCount": 1440.0, "Minimum": 0.0, "Maximum": float(value)}
                data["AWS/SageMaker"].append(
                    {"MetricName": "Invocations", "Dimensions": dimensions, "Timestamp": ts, "StatisticValues": stats}
                )
        for variant, moments in item.cpu.items():
            dimensions = [
                {"Name": "EndpointName", "Value": item.resource.name},
                {"Name": "VariantName", "Value": variant},
            ]
            for ts in moments:
                stats = {"Sum": 1440.0 * 3.5, "SampleCount": 1440.0, "Minimum": 1.0, "Maximum": 9.0}
                data["/aws/sagemaker/Endpoints"].append(
                    {
                        "MetricName": "CPUUtilization",
                        "Dimensions": dimensions,
                        "Timestamp": ts,
                        "StatisticValues": stats,
                    }
                )
    for namespace, metric_data in data.items():
        for first in range(0, len(metric_data), 1000):  # PutMetricData takes at most 1,000 entries
            cloudwatch.put_metric_data(Namespace=namespace, MetricData=metric_data[first : first + 1000])
    return sum(len(d) for d in data.values())


def count_get_metric_data(client) -> list[int]:
    """Queries per GetMetricData request, recorded from the validated request parameters."""
    sizes: list[int] = []

    def record(params, **_):
        sizes.append(len(params["MetricDataQueries"]))

    client.meta.events.register("before-parameter-build.cloudwatch.GetMetricData", record)
    return sizes


def test_600_endpoints_with_two_variants_are_judged_in_ceil_q_over_500_calls_and_match_the_oracle():
    # 1,200 variant queries and the evidence queries: more than two calls' worth (bench/zombies.py goes larger)
    fleet = build_fleet(600)
    with mock_aws():
        cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        seeded = seed_cloudwatch(cloudwatch, fleet)
        sizes = count_get_metric_data(cloudwatch)
        collector = EndpointUsageCollector(cloudwatch, POLICY, NOW)
        verdicts = collector.judge([item.resource for item in fleet])

    expected_queries = 1200 + sum(evidence_needed(item) for item in fleet)
    bound = math.ceil(expected_queries / 500)
    print(
        f"\n600 endpoints / 1,200 variants, {seeded} seeded datapoints: {collector.calls} GetMetricData calls "
        f"for {collector.queries} queries (bound ceil({expected_queries}/500) = {bound}); queries per call {sizes}"
    )
    assert collector.queries == expected_queries
    assert collector.calls == len(sizes) <= bound and bound >= 3
    assert max(sizes) <= 500
    expected = {item.resource.arn: oracle(item) for item in fleet}
    actual = {arn: verdict.status for arn, verdict in verdicts.items()}
    mismatches = {arn: (actual[arn], status) for arn, status in expected.items() if actual[arn] != status}
    assert not mismatches, list(mismatches.items())[:5]
    assert {"active", "zombie", "unknown"} <= set(actual.values())


def test_traffic_date_and_variant_names_other_than_alltraffic_reach_the_verdict():
    fleet = build_fleet(16)
    blue_green = next(i for i in fleet if i.resource.variants[0].name == "blue" and i.invocations)
    with mock_aws():
        cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        seed_cloudwatch(cloudwatch, fleet)
        verdict = EndpointUsageCollector(cloudwatch, POLICY, NOW).judge([blue_green.resource])[blue_green.resource.arn]
    last = max(ts for points in blue_green.invocations.values() for ts, value in points if value > 0)
    assert verdict.status == "active"
    assert verdict.evidence["last_invoked"] == last.date().isoformat()


# -- GetMetricData shapes, pagination and failures (Stubber validates every request against the model) -----------


def _query(index: int) -> MetricQuery:
    return MetricQuery(
        f"invocations|arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/e{index}|AllTraffic",
        "AWS/SageMaker",
        "Invocations",
        (("EndpointName", f"e{index}"), ("VariantName", "AllTraffic")),
    )


WINDOW = UsageWindow(datetime(2026, 10, 25, tzinfo=UTC), NOW)


def test_batches_of_500_use_safe_ids_follow_next_token_and_map_results_back():
    client = boto3.client("cloudwatch", region_name=REGION)
    queries = [_query(i) for i in range(501)]
    day = datetime(2026, 11, 20, tzinfo=UTC)
    with Stubber(client) as stub:
        first_request = {
            "MetricDataQueries": [
                {
                    "Id": f"q{i}",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/SageMaker",
                            "MetricName": "Invocations",
                            "Dimensions": [
                                {"Name": "EndpointName", "Value": f"e{i}"},
                                {"Name": "VariantName", "Value": "AllTraffic"},
                            ],
                        },
                        "Period": 86400,
                        "Stat": "Sum",
                    },
                    "ReturnData": True,
                }
                for i in range(500)
            ],
            "StartTime": WINDOW.start,
            "EndTime": WINDOW.end,
            "ScanBy": "TimestampAscending",
        }
        page = {"Id": "q7", "Timestamps": [day], "Values": [3.0], "StatusCode": "PartialData"}
        stub.add_response("get_metric_data", {"MetricDataResults": [page], "NextToken": "more"}, first_request)
        rest = {"Id": "q7", "Timestamps": [day + timedelta(days=1)], "Values": [4.0], "StatusCode": "Complete"}
        others = [
            {"Id": f"q{i}", "Timestamps": [], "Values": [], "StatusCode": "Complete"} for i in range(500) if i != 7
        ]
        stub.add_response(
            "get_metric_data", {"MetricDataResults": [rest, *others]}, {**first_request, "NextToken": "more"}
        )
        stub.add_response(
            "get_metric_data",
            {"MetricDataResults": [{"Id": "q0", "Timestamps": [], "Values": [], "StatusCode": "Complete"}]},
        )
        series = fetch_metric_data(client, queries, WINDOW)
        stub.assert_no_pending_responses()
    assert series[queries[7].id] == [(day, 3.0), (day + timedelta(days=1), 4.0)]
    assert series[queries[500].id] == [] and series[queries[0].id] == []
    assert len(series) == 501


def test_forbidden_series_raise_with_the_complete_ones_kept():
    client = boto3.client("cloudwatch", region_name=REGION)
    queries = [_query(0), _query(1)]
    with Stubber(client) as stub:
        stub.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {"Id": "q0", "Timestamps": [], "Values": [], "StatusCode": "Complete"},
                    {"Id": "q1", "StatusCode": "Forbidden", "Messages": [{"Code": "Forbidden", "Value": "no access"}]},
                ]
            },
        )
        with pytest.raises(MetricDataError) as raised:
            fetch_metric_data(client, queries, WINDOW)
    assert raised.value.failed == {queries[1].id: "Forbidden: no access"}
    assert raised.value.partial == {queries[0].id: []}


def test_an_endpoint_whose_series_cloudwatch_refuses_is_unknown_not_a_zombie():
    endpoint = build_fleet(5)[4].resource  # silent, CPU series in the seeded fleet; here CloudWatch refuses
    client = boto3.client("cloudwatch", region_name=REGION)
    with Stubber(client) as stub:
        results = [
            {"Id": "q0", "Timestamps": [], "Values": [], "StatusCode": "Complete"},
            {"Id": "q1", "StatusCode": "InternalError"},
        ]
        stub.add_response("get_metric_data", {"MetricDataResults": results})
        verdict = EndpointUsageCollector(client, POLICY, NOW).judge([endpoint])[endpoint.arn]
    assert verdict.status == "unknown" and endpoint.variants[1].name in verdict.reason


def test_period_keeps_500_queries_under_the_datapoint_cap_up_to_the_455_day_retention():
    month = UsageWindow(NOW - timedelta(days=31), NOW)
    longest = UsageWindow(NOW - timedelta(days=456), NOW)
    assert metric_period(month) == 86400
    period = metric_period(longest)
    assert period == 3 * 86400
    assert 500 * (math.ceil((longest.end - longest.start).total_seconds() / period) + 1) <= MAX_DATAPOINTS_PER_CALL
