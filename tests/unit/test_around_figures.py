"""The pure side of the costs around endpoints: where a model's artifacts live, what the measurements are worth a
month, and that a region without a checked-in price shows sizes with unpriced dollars (never $0)."""

from __future__ import annotations

import dataclasses

import pytest

from mlgov.domain.around_costs import (
    BYTES_PER_GB,
    Measured,
    bucket_key,
    bucket_of,
    measured_from_series,
    model_facts,
    with_around_costs,
)
from mlgov.domain.inventory import Resource, Variant

pytestmark = pytest.mark.unit


def test_every_place_a_model_names_its_artifacts_is_read_and_multi_model_mode_is_seen():
    described = {
        "PrimaryContainer": {
            "ModelDataSource": {"S3DataSource": {"S3Uri": "s3://weights/llama/", "S3DataType": "S3Prefix"}},
            "AdditionalModelDataSources": [{"ChannelName": "draft", "S3DataSource": {"S3Uri": "s3://drafts/d/"}}],
            "Mode": "SingleModel",
        },
        "Containers": [{"ModelDataUrl": "s3://pipeline/step2.tar.gz", "Mode": "MultiModel"}],
    }
    facts = model_facts(described)
    assert facts.buckets == ("drafts", "pipeline", "weights")
    assert facts.multi_model
    assert model_facts({"PrimaryContainer": {"Image": "x"}}).buckets == ()
    assert [bucket_of(u) for u in ("s3://b/k", "s3://", "https://b.s3/k", None)] == ["b", None, None, None]


def _endpoint(region: str) -> Resource:
    return Resource(
        arn=f"arn:aws:sagemaker:{region}:111111111111:endpoint/e",
        account="111111111111",
        region=region,
        resource_type="endpoint",
        name="e",
        status="InService",
        created=None,
        running=True,
        variants=(Variant("AllTraffic", "ml.m5.xlarge", 1),),
    )


def _finding(endpoint: Resource) -> dict:
    return {"arn": endpoint.arn, "account": endpoint.account, "region": endpoint.region,
            "resource_type": "endpoint", "name": endpoint.name}  # fmt: skip


def test_a_region_without_a_checked_in_price_shows_sizes_and_unpriced_dollars():
    endpoint = _endpoint("ap-northeast-1")
    series = {
        f"logs|{endpoint.arn}": [(None, 15.0 * BYTES_PER_GB)],
        "bucket|b": [(None, 10.0 * BYTES_PER_GB), (None, 20.0 * BYTES_PER_GB)],
    }
    measured = measured_from_series(endpoint.account, endpoint.region, [endpoint], series, window_days=30)
    measured.artifacts = {endpoint.arn: ("b",)}
    assert measured.bucket_bytes == {bucket_key(endpoint.account, endpoint.region, "b"): 20.0 * BYTES_PER_GB}
    report = with_around_costs({"findings": [_finding(endpoint)]}, measured)
    around = report["findings"][0]["around"]
    assert around["logs"]["gb_month"] == pytest.approx(15.208, abs=0.001)  # 15 GiB in 30 days, a 30.42-day month
    assert around["logs"]["usd_month"] is None and "no checked-in price for ap-northeast-1" in around["logs"]["basis"]
    assert (around["artifacts"][0]["gb"], around["artifacts"][0]["usd_month"]) == (20.0, None)
    assert report["around"]["unpriced"] == 2
    assert report["around"]["logs_usd_month"] == {"billed": 0.0, "estimated": 0.0}


def test_an_unread_series_is_unknown_not_zero():
    endpoint = _endpoint("us-east-1")
    measured = measured_from_series(endpoint.account, endpoint.region, [endpoint], {}, window_days=30)
    assert measured.log_bytes == {endpoint.arn: None}
    report = with_around_costs({"findings": [_finding(endpoint)]}, measured)
    logs = report["findings"][0]["around"]["logs"]
    assert (logs["usd_month"], logs["basis"]) == (None, "IncomingBytes not read")
    assert (report["around"]["unpriced"], report["around"]["unread"]) == (0, 1)  # unknown, not $0 and not unpriced


def test_findings_that_were_not_measured_are_left_as_they_are():
    other = {"arn": "arn:aws:sagemaker:us-east-1:1:notebook-instance/n", "resource_type": "notebook-instance"}
    report = with_around_costs({"findings": [other]}, Measured())
    assert report["findings"] == [other]
    assert report["around"]["artifact_buckets"] == 0


def test_a_bucket_used_from_several_accounts_is_counted_once_in_the_totals():
    from mlgov.domain.around_costs import Billed

    endpoints = [_endpoint("us-east-1"), dataclasses.replace(_endpoint("us-west-2"), account="222222222222")]
    endpoints[1] = dataclasses.replace(endpoints[1], arn=endpoints[1].arn.replace("111111111111", "222222222222"))
    measured = Measured(artifacts={e.arn: ("org-data-lake",) for e in endpoints})
    billed = Billed("2026-10", {"org-data-lake": (500.0, 500.0)})
    report = with_around_costs({"findings": [_finding(e) for e in endpoints]}, measured, billed)
    assert [f["around"]["artifacts"][0]["shared_by_endpoints"] for f in report["findings"]] == [2, 2]
    assert report["around"]["artifact_buckets_usd_month"] == {"billed": 500.0, "estimated": 0.0}
    assert report["around"]["artifact_buckets"] == 1


def test_a_young_endpoints_logs_are_scaled_over_its_life_not_the_whole_window():
    endpoint = _endpoint("us-east-1")
    series = {f"logs|{endpoint.arn}": [(None, 3.0 * BYTES_PER_GB)]}
    young = measured_from_series(endpoint.account, endpoint.region, [endpoint], series, 30, ages_days={endpoint.arn: 3})
    old = measured_from_series(endpoint.account, endpoint.region, [endpoint], series, 30, ages_days={endpoint.arn: 90})
    skewed = measured_from_series(
        endpoint.account, endpoint.region, [endpoint], series, 30, ages_days={endpoint.arn: -1}
    )
    assert young.log_bytes[endpoint.arn] == pytest.approx(3.0 * BYTES_PER_GB / 3 * 730 / 24)
    assert (
        old.log_bytes[endpoint.arn]
        == skewed.log_bytes[endpoint.arn]
        == pytest.approx(3.0 * BYTES_PER_GB / 30 * 730 / 24)
    )
