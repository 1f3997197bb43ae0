"""Costing: per-second job billing with the per-instance minimum, spot savings, month-end forecasts, every type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from mlgov.domain.costing import (
    SERVERLESS_REASON,
    cost_of,
    hours_left_in_month,
    job_run_cost,
    managed_spot_savings_pct,
    month_window,
)
from mlgov.domain.inventory import InstanceGroup, Resource, Variant
from mlgov.domain.pricing import PriceTable

REGION = "us-east-1"
M5 = 0.23  # ml.m5.xlarge hosting, $/h
G5 = 1.41  # ml.g5.xlarge hosting, $/h
T3 = 0.05  # ml.t3.medium hosting, $/h
# Component overrides: what a job, notebook, Studio app or HyperPod node of that type pays instead of hosting.
M5_TRAINING = 0.25
T3_NOTEBOOK = 0.0582
T3_STUDIO = 0.0464
G5_CLUSTER = 1.52
G5_ASYNC = 1.45
NOV_24_NOON = datetime(2026, 11, 24, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def prices() -> PriceTable:
    return PriceTable(
        as_of="2026-01-01",
        source="test table",
        currency="USD",
        prices={REGION: {"ml.m5.xlarge": M5, "ml.g5.xlarge": G5, "ml.t3.medium": T3}},
        components={
            REGION: {
                "training": {"ml.m5.xlarge": M5_TRAINING},
                "notebook": {"ml.t3.medium": T3_NOTEBOOK},
                "studio": {"ml.t3.medium": T3_STUDIO},
                "cluster": {"ml.g5.xlarge": G5_CLUSTER},
                "async": {"ml.g5.xlarge": G5_ASYNC},
            }
        },
    )


def resource(resource_type: str, **fields) -> Resource:
    name = fields.pop("name", "r1")
    defaults = {
        "arn": f"arn:aws:sagemaker:{REGION}:111122223333:{resource_type}/{name}",
        "account": "111122223333",
        "region": REGION,
        "resource_type": resource_type,
        "name": name,
        "status": "InService",
        "created": datetime(2026, 11, 1, tzinfo=UTC),
    }
    return Resource(**{**defaults, **fields})


def endpoint(*variants: Variant, created: datetime) -> Resource:
    return resource("endpoint", variants=variants, created=created, running=True)


# --- jobs -----------------------------------------------------------------------------------------------------


def test_a_20_second_job_on_2_instances_bills_the_1_minute_minimum_per_instance():
    # max(20, 60) = 60 s per instance × 2 instances = 120 s; 120 × 0.23 / 3600 = 0.23 / 30
    assert job_run_cost(20, 2, M5) == pytest.approx(0.23 / 30)


def test_job_billing_is_per_second_above_the_minimum():
    # 61 s × 3 instances = 183 s; 183 × 1.41 / 3600 = 0.071675
    assert job_run_cost(61, 3, G5) == pytest.approx(0.071675)
    # a job that billed nothing (failed while provisioning) costs nothing: no minimum applies
    assert job_run_cost(0, 2, G5) == 0.0


def test_managed_spot_savings_is_the_share_of_training_time_not_billed():
    # (1 − 1800 / 3600) × 100 = 50.0
    assert managed_spot_savings_pct(1800, 3600) == pytest.approx(50.0)
    # (1 − 900 / 3600) × 100 = 75.0
    assert managed_spot_savings_pct(900, 3600) == pytest.approx(75.0)
    assert managed_spot_savings_pct(None, 3600) is None
    assert managed_spot_savings_pct(1800, None) is None
    assert managed_spot_savings_pct(0, 0) is None


def test_managed_spot_training_job_costs_its_billable_seconds_at_the_training_price(prices):
    job = resource(
        "training-job",
        status="Completed",
        instance_type="ml.m5.xlarge",
        instance_count=2,
        started=datetime(2026, 11, 20, 10, tzinfo=UTC),
        ended=datetime(2026, 11, 20, 11, tzinfo=UTC),
        billable_seconds=1800,
        training_seconds=3600,
        managed_spot=True,
    )
    cost = cost_of(job, prices, NOV_24_NOON)
    # training component: 1800 s × 2 instances × 0.25 / 3600 = 0.25
    assert cost.run_cost_usd == pytest.approx(0.25)
    assert cost.monthly_cost_usd == pytest.approx(0.25)
    assert cost.month_to_date_usd == pytest.approx(0.25)
    assert cost.spot_savings_pct == pytest.approx(50.0)
    assert cost.hourly_usd == 0.0  # finished: nothing billed by the hour now
    assert cost.reason == "1800 billable s × 2 × ml.m5.xlarge at $0.25/h; managed spot saved 50.0%"


def test_spot_savings_are_reported_only_for_managed_spot_jobs(prices):
    job = resource(
        "training-job",
        status="Completed",
        instance_type="ml.m5.xlarge",
        instance_count=1,
        started=datetime(2026, 11, 20, 10, tzinfo=UTC),
        ended=datetime(2026, 11, 20, 11, tzinfo=UTC),
        billable_seconds=3600,
        training_seconds=3600,
    )
    cost = cost_of(job, prices, NOV_24_NOON)
    # 3600 s × 1 × 0.25 / 3600 = 0.25
    assert cost.run_cost_usd == pytest.approx(0.25)
    assert cost.spot_savings_pct is None


def test_processing_job_without_billable_time_bills_end_minus_start_with_the_minimum(prices):
    job = resource(
        "processing-job",
        status="Completed",
        instance_type="ml.m5.xlarge",
        instance_count=2,
        started=datetime(2026, 11, 20, 10, 0, 0, tzinfo=UTC),
        ended=datetime(2026, 11, 20, 10, 0, 20, tzinfo=UTC),
    )
    cost = cost_of(job, prices, NOV_24_NOON)
    # no processing override: hosting price 0.23; 20 s → 60 s minimum × 2 instances = 120 s; 120 × 0.23 / 3600
    assert cost.run_cost_usd == pytest.approx(0.23 / 30)
    assert cost.monthly_cost_usd == pytest.approx(0.23 / 30)
    assert cost.reason == "20 s from start to end × 2 × ml.m5.xlarge at $0.23/h; 1-minute minimum per instance"


def test_running_transform_job_bills_now_minus_start_and_reports_its_hourly_rate(prices):
    job = resource(
        "transform-job",
        status="InProgress",
        instance_type="ml.g5.xlarge",
        instance_count=1,
        started=NOV_24_NOON - timedelta(hours=2),
    )
    cost = cost_of(job, prices, NOV_24_NOON)
    # 7200 s × 1 × 1.41 / 3600 = 2.82
    assert cost.run_cost_usd == pytest.approx(2.82)
    assert cost.monthly_cost_usd == pytest.approx(2.82)
    assert cost.hourly_usd == pytest.approx(1.41)
    assert cost.reason == "7200 s so far × 1 × ml.g5.xlarge at $1.41/h"


def test_job_that_ended_last_month_costs_nothing_this_month_but_keeps_its_run_cost(prices):
    job = resource(
        "processing-job",
        status="Completed",
        instance_type="ml.m5.xlarge",
        instance_count=1,
        started=datetime(2026, 10, 30, 10, tzinfo=UTC),
        ended=datetime(2026, 10, 30, 12, tzinfo=UTC),
    )
    cost = cost_of(job, prices, NOV_24_NOON)
    # 7200 s × 1 × 0.23 / 3600 = 0.46
    assert cost.run_cost_usd == pytest.approx(0.46)
    assert cost.monthly_cost_usd == 0.0
    assert cost.month_to_date_usd == 0.0


def test_job_spanning_the_month_start_counts_only_the_part_after_it(prices):
    job = resource(
        "processing-job",
        status="Completed",
        instance_type="ml.m5.xlarge",
        instance_count=1,
        started=datetime(2026, 10, 31, 23, tzinfo=UTC),
        ended=datetime(2026, 11, 1, 1, tzinfo=UTC),
    )
    cost = cost_of(job, prices, NOV_24_NOON)
    # run: 7200 s × 0.23 / 3600 = 0.46; 1 h of the 2 h falls after Nov 1 00:00 → 0.46 × 1/2 = 0.23
    assert cost.run_cost_usd == pytest.approx(0.46)
    assert cost.monthly_cost_usd == pytest.approx(0.23)


def test_job_whose_instances_have_not_started_costs_nothing(prices):
    job = resource("training-job", status="InProgress", instance_type="ml.m5.xlarge", instance_count=4)
    cost = cost_of(job, prices, NOV_24_NOON)
    assert (cost.hourly_usd, cost.monthly_cost_usd, cost.run_cost_usd) == (0.0, 0.0, 0.0)
    assert cost.reason == "not started yet (InProgress)"


def test_heterogeneous_training_job_sums_its_instance_groups(prices):
    job = resource(
        "training-job",
        status="Completed",
        instance_groups=(
            InstanceGroup("gpu", "ml.g5.xlarge", current_count=2, target_count=2),
            InstanceGroup("cpu", "ml.m5.xlarge", current_count=1, target_count=1),
        ),
        started=datetime(2026, 11, 20, 10, tzinfo=UTC),
        ended=datetime(2026, 11, 20, 11, tzinfo=UTC),
        billable_seconds=3600,
    )
    cost = cost_of(job, prices, NOV_24_NOON)
    # 3600 s × (2 × 1.41 [no training override for g5] + 1 × 0.25 [training override]) / 3600 = 3.07
    assert cost.run_cost_usd == pytest.approx(3.07)


def test_warm_pool_retention_is_billed_after_the_job_and_while_available(prices):
    job = resource(
        "training-job",
        status="Completed",
        instance_type="ml.m5.xlarge",
        instance_count=2,
        started=datetime(2026, 11, 20, 10, tzinfo=UTC),
        ended=datetime(2026, 11, 20, 11, tzinfo=UTC),
        billable_seconds=3600,
        details={"warm_pool_status": "Available", "warm_pool_billable_seconds": 1800},
    )
    cost = cost_of(job, prices, NOV_24_NOON)
    # run 3600 s × 2 × 0.25 / 3600 = 0.5; warm pool 1800 s × 2 × 0.25 / 3600 = 0.25; total 0.75
    assert cost.run_cost_usd == pytest.approx(0.75)
    assert cost.monthly_cost_usd == pytest.approx(0.75)
    assert cost.hourly_usd == pytest.approx(0.5)  # 2 × 0.25 while the pool is Available
    assert cost.reason == (
        "3600 billable s × 2 × ml.m5.xlarge at $0.25/h; warm pool kept the instances 1800 billable s; "
        "warm pool Available: billed until reused or its keep-alive ends"
    )


def test_serverless_training_job_is_billed_per_token_and_not_estimated(prices):
    job = resource(
        "training-job",
        status="Completed",
        details={"serverless_job_type": "FineTuning", "billable_token_count": 120000},
    )
    cost = cost_of(job, prices, NOV_24_NOON)
    assert (cost.run_cost_usd, cost.monthly_cost_usd) == (None, None)
    assert cost.reason == "serverless training billed per token (120000 billable tokens): not estimated"


def test_tuning_and_automl_parents_cost_nothing_because_their_child_jobs_are_priced(prices):
    for kind in ("hyper-parameter-tuning-job", "automl-job"):
        cost = cost_of(resource(kind, status="Completed", instance_type="ml.m5.xlarge"), prices, NOV_24_NOON)
        assert (cost.monthly_cost_usd, cost.run_cost_usd) == (0.0, 0.0)
        assert cost.reason.startswith("billed through its training")


def test_labeling_and_compilation_jobs_are_not_estimated(prices):
    for kind in ("labeling-job", "compilation-job"):
        cost = cost_of(resource(kind, status="Completed"), prices, NOV_24_NOON)
        assert (cost.hourly_usd, cost.monthly_cost_usd, cost.run_cost_usd) == (None, None, None)
        assert "not estimated" in cost.reason


# --- the calendar month ---------------------------------------------------------------------------------------


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "start", "end", "hours_left"),
    [
        # Feb 2026 has 28 days: Feb 20 00:00 → Mar 1 00:00 = 9 days = 216 h
        (utc(2026, 2, 20), utc(2026, 2, 1), utc(2026, 3, 1), 216),
        # Nov 2026 has 30 days: Nov 24 12:00 → Dec 1 00:00 = 6.5 days = 156 h
        (NOV_24_NOON, utc(2026, 11, 1), utc(2026, 12, 1), 156),
        # Dec 2026 has 31 days and ends the year: Dec 31 18:00 → Jan 1 2027 00:00 = 6 h
        (utc(2026, 12, 31, 18), utc(2026, 12, 1), utc(2027, 1, 1), 6),
    ],
)
def test_month_window_and_hours_left_follow_the_calendar(now, start, end, hours_left):
    assert month_window(now) == (start, end)
    assert hours_left_in_month(now) == pytest.approx(hours_left)


def test_month_window_converts_other_time_zones_to_utc():
    # 2026-12-01 01:00 at UTC+02:00 is 2026-11-30 23:00 UTC: still November, 1 h left
    now = datetime(2026, 12, 1, 1, tzinfo=timezone(timedelta(hours=2)))
    assert month_window(now) == (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    assert hours_left_in_month(now) == pytest.approx(1.0)


# --- persistent resources -------------------------------------------------------------------------------------


def test_endpoint_forecast_in_a_30_day_month(prices):
    ep = endpoint(Variant("AllTraffic", "ml.m5.xlarge", 2), created=datetime(2026, 11, 10, tzinfo=UTC))
    cost = cost_of(ep, prices, NOV_24_NOON)
    # hourly 2 × 0.23 = 0.46; MTD Nov 10 00:00 → Nov 24 12:00 = 14.5 d × 24 × 0.46 = 160.08
    # forecast = 160.08 + 6.5 d left × 24 × 0.46 (71.76) = 231.84; run rate 730 h × 0.46 = 335.8
    assert cost.hourly_usd == pytest.approx(0.46)
    assert cost.month_to_date_usd == pytest.approx(160.08)
    assert cost.month_end_forecast_usd == pytest.approx(231.84)
    assert cost.monthly_cost_usd == pytest.approx(335.8)
    assert cost.run_cost_usd is None
    assert cost.reason == "2 × ml.m5.xlarge at $0.23/h"


def test_endpoint_created_last_month_counts_from_the_first_in_a_28_day_month(prices):
    ep = endpoint(Variant("AllTraffic", "ml.m5.xlarge", 2), created=datetime(2026, 1, 15, tzinfo=UTC))
    cost = cost_of(ep, prices, datetime(2026, 2, 20, tzinfo=UTC))
    # MTD Feb 1 → Feb 20 = 19 d × 24 × 0.46 = 209.76; forecast = whole month 28 d × 24 × 0.46 = 309.12
    assert cost.month_to_date_usd == pytest.approx(209.76)
    assert cost.month_end_forecast_usd == pytest.approx(309.12)
    assert cost.monthly_cost_usd == pytest.approx(335.8)  # 730 h × 0.46, in February as in any month


def test_endpoint_forecast_in_a_31_day_month(prices):
    ep = endpoint(Variant("AllTraffic", "ml.m5.xlarge", 1), created=datetime(2026, 12, 1, 6, tzinfo=UTC))
    cost = cost_of(ep, prices, datetime(2026, 12, 31, 18, tzinfo=UTC))
    # MTD Dec 1 06:00 → Dec 31 18:00 = 30.5 d = 732 h × 0.23 = 168.36; forecast = 168.36 + 6 h × 0.23 = 169.74
    assert cost.month_to_date_usd == pytest.approx(168.36)
    assert cost.month_end_forecast_usd == pytest.approx(169.74)
    assert cost.monthly_cost_usd == pytest.approx(167.9)  # 730 h × 0.23


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 2, 28, 23, 30, tzinfo=UTC),  # the last half hour of a 28-day month
        datetime(2026, 12, 31, 23, 30, tzinfo=UTC),  # the last half hour of a 31-day month and of the year
        datetime(2027, 3, 14, 1, 30, tzinfo=ZoneInfo("America/Los_Angeles")),  # 30 min before a DST change
        datetime(2026, 11, 1, 0, 0, tzinfo=UTC),  # the first instant of a 30-day month
    ],
    ids=["28-feb-23:30", "31-dec-23:30", "dst-los-angeles", "1-nov-00:00"],
)
def test_a_running_endpoint_costs_the_same_per_month_on_any_day(prices, now):
    ep = endpoint(Variant("AllTraffic", "ml.m5.xlarge", 2), created=datetime(2025, 6, 1, tzinfo=UTC))
    cost = cost_of(ep, prices, now)
    assert cost.monthly_cost_usd == pytest.approx(0.46 * 730)  # HOURS_PER_MONTH, whatever the calendar month
    # the calendar figure: the whole month so far plus the hours left equals the month's real length
    start, end = month_window(now)
    assert cost.month_end_forecast_usd == pytest.approx(0.46 * (end - start).total_seconds() / 3600)


def test_mixed_endpoint_sums_variants_of_different_types(prices):
    ep = endpoint(
        Variant("cpu", "ml.m5.xlarge", 2),
        Variant("gpu", "ml.g5.xlarge", 1),
        created=datetime(2026, 10, 3, tzinfo=UTC),
    )
    cost = cost_of(ep, prices, NOV_24_NOON)
    # hourly 2 × 0.23 + 1 × 1.41 = 1.87; MTD 23.5 d × 24 × 1.87 = 1054.68; forecast 30 d × 24 × 1.87 = 1346.4
    assert cost.hourly_usd == pytest.approx(1.87)
    assert cost.month_to_date_usd == pytest.approx(1054.68)
    assert cost.month_end_forecast_usd == pytest.approx(1346.4)
    assert cost.monthly_cost_usd == pytest.approx(1365.1)  # 730 h × 1.87
    assert cost.reason == "cpu: 2 × ml.m5.xlarge at $0.23/h; gpu: 1 × ml.g5.xlarge at $1.41/h"


def test_serverless_endpoint_costs_nothing_idle_and_says_so(prices):
    ep = endpoint(
        Variant("AllTraffic", None, 0, serverless_memory_mb=2048, serverless_max_concurrency=5),
        created=datetime(2026, 11, 2, tzinfo=UTC),
    )
    cost = cost_of(ep, prices, NOV_24_NOON)
    assert (cost.hourly_usd, cost.month_to_date_usd, cost.monthly_cost_usd) == (0.0, 0.0, 0.0)
    assert cost.reason == SERVERLESS_REASON == "serverless: billed per request, ≈ $0 idle"


def test_serverless_variant_with_provisioned_concurrency_is_not_free_and_not_estimated(prices):
    ep = resource(
        "endpoint",
        running=True,
        variants=(Variant("AllTraffic", None, 0, serverless_memory_mb=2048, serverless_max_concurrency=5),),
        details={"serverless_provisioned_concurrency": {"AllTraffic": 2}},
    )
    cost = cost_of(ep, prices, NOV_24_NOON)
    assert (cost.hourly_usd, cost.monthly_cost_usd) == (None, None)
    assert cost.reason == "serverless with 2 provisioned concurrency: billed while provisioned, not estimated"


def test_async_inference_endpoint_pays_the_async_price(prices):
    ep = resource(
        "endpoint",
        running=True,
        variants=(Variant("AllTraffic", "ml.g5.xlarge", 1),),
        details={"async_inference": True},
    )
    cost = cost_of(ep, prices, NOV_24_NOON)
    # async override 1.45: 730 h × 1.45 = 1058.5 a month; running since before Nov 1: forecast 720 h × 1.45 = 1044
    assert cost.hourly_usd == pytest.approx(1.45)
    assert cost.monthly_cost_usd == pytest.approx(1058.5)
    assert cost.month_end_forecast_usd == pytest.approx(1044.0)


def test_variant_running_instance_pools_is_priced_per_pool(prices):
    ep = resource(
        "endpoint",
        running=True,
        variants=(Variant("AllTraffic", None, 3),),
        details={"instance_pools": {"AllTraffic": {"ml.g5.xlarge": 1, "ml.m5.xlarge": 2}}},
    )
    cost = cost_of(ep, prices, NOV_24_NOON)
    # 1 × 1.41 + 2 × 0.23 = 1.87 per hour
    assert cost.hourly_usd == pytest.approx(1.87)
    assert cost.reason == (
        "AllTraffic/ml.g5.xlarge: 1 × ml.g5.xlarge at $1.41/h; AllTraffic/ml.m5.xlarge: 2 × ml.m5.xlarge at $0.23/h"
    )


def test_endpoint_variant_scaled_to_zero_costs_nothing_even_without_a_price(prices):
    ep = endpoint(
        Variant("main", "ml.m5.xlarge", 1),
        Variant("canary", "ml.unpriced.xlarge", 0),
        created=datetime(2026, 11, 1, tzinfo=UTC),
    )
    cost = cost_of(ep, prices, NOV_24_NOON)
    # 1 × 0.23; the canary has no instance to price; 730 h × 0.23 = 167.9; forecast 30 d × 24 × 0.23 = 165.6
    assert cost.hourly_usd == pytest.approx(0.23)
    assert cost.monthly_cost_usd == pytest.approx(167.9)
    assert cost.month_end_forecast_usd == pytest.approx(165.6)
    assert cost.reason == "main: 1 × ml.m5.xlarge at $0.23/h; canary: 0 × ml.unpriced.xlarge"


def test_unknown_instance_type_leaves_every_cost_unknown_with_the_price_tables_reason(prices):
    ep = endpoint(Variant("AllTraffic", "ml.foo.xlarge", 1), created=datetime(2026, 11, 1, tzinfo=UTC))
    cost = cost_of(ep, prices, NOV_24_NOON)
    assert (cost.hourly_usd, cost.month_to_date_usd, cost.monthly_cost_usd, cost.run_cost_usd) == (None,) * 4
    assert cost.reason == prices.hourly("ml.foo.xlarge", REGION, "hosting").reason
    assert "ml.foo.xlarge" in cost.reason


def test_one_unknown_variant_makes_the_whole_endpoint_unpriced(prices):
    ep = endpoint(
        Variant("cpu", "ml.m5.xlarge", 2),
        Variant("new", "ml.foo.xlarge", 1),
        created=datetime(2026, 11, 1, tzinfo=UTC),
    )
    cost = cost_of(ep, prices, NOV_24_NOON)
    assert cost.monthly_cost_usd is None
    assert cost.reason == "new: " + prices.hourly("ml.foo.xlarge", REGION, "hosting").reason


def test_unknown_instance_type_on_a_job_leaves_the_run_cost_unknown(prices):
    job = resource(
        "training-job",
        status="Completed",
        instance_type="ml.foo.xlarge",
        instance_count=1,
        started=datetime(2026, 11, 20, tzinfo=UTC),
        ended=datetime(2026, 11, 21, tzinfo=UTC),
        billable_seconds=86400,
    )
    cost = cost_of(job, prices, NOV_24_NOON)
    assert (cost.run_cost_usd, cost.monthly_cost_usd, cost.hourly_usd) == (None, None, None)
    assert cost.reason == prices.hourly("ml.foo.xlarge", REGION, "training").reason


def test_hyperpod_cluster_sums_instance_groups(prices):
    cluster = resource(
        "cluster",
        running=True,
        instance_groups=(
            InstanceGroup("workers", "ml.g5.xlarge", current_count=2, target_count=2),
            InstanceGroup("controller", "ml.m5.xlarge", current_count=1, target_count=1),
        ),
    )
    cost = cost_of(cluster, prices, NOV_24_NOON)
    # cluster component: 2 × 1.52 (override) + 1 × 0.23 (hosting fallback) = 3.27 per hour; created Nov 1:
    # MTD 23.5 d × 24 = 564 h × 3.27 = 1844.28; forecast 720 h × 3.27 = 2354.4; run rate 730 h × 3.27 = 2387.1
    assert cost.hourly_usd == pytest.approx(3.27)
    assert cost.month_to_date_usd == pytest.approx(1844.28)
    assert cost.month_end_forecast_usd == pytest.approx(2354.4)
    assert cost.monthly_cost_usd == pytest.approx(2387.1)
    assert cost.reason == "workers: 2 × ml.g5.xlarge at $1.52/h; controller: 1 × ml.m5.xlarge at $0.23/h"


def test_in_service_hyperpod_cluster_with_every_group_at_zero_is_stopped_and_costs_nothing(prices):
    cluster = resource(
        "cluster",
        running=True,
        instance_groups=(
            InstanceGroup("workers", "ml.g5.xlarge", current_count=0, target_count=0),
            InstanceGroup("controller", "ml.m5.xlarge", current_count=0, target_count=0),
        ),
    )
    cost = cost_of(cluster, prices, NOV_24_NOON)
    assert (cost.hourly_usd, cost.month_to_date_usd, cost.monthly_cost_usd) == (0.0, 0.0, 0.0)
    assert cost.reason == "stopped: every instance group at 0 (storage only)"


def test_notebook_instance_in_service_pays_the_notebook_price(prices):
    notebook = resource("notebook-instance", instance_type="ml.t3.medium", running=True)
    cost = cost_of(notebook, prices, NOV_24_NOON)
    # notebook component override 0.0582; created Nov 1: MTD 564 h × 0.0582 = 32.8248; forecast 720 h × 0.0582 = 41.904;
    # run rate 730 h × 0.0582 = 42.486
    assert cost.hourly_usd == pytest.approx(0.0582)
    assert cost.month_to_date_usd == pytest.approx(32.8248)
    assert cost.month_end_forecast_usd == pytest.approx(41.904)
    assert cost.monthly_cost_usd == pytest.approx(42.486)
    assert cost.reason == "1 × ml.t3.medium at $0.0582/h"


def test_stopped_notebook_instance_costs_nothing(prices):
    notebook = resource("notebook-instance", status="Stopped", instance_type="ml.t3.medium")
    cost = cost_of(notebook, prices, NOV_24_NOON)
    assert (cost.hourly_usd, cost.month_to_date_usd, cost.monthly_cost_usd) == (0.0, 0.0, 0.0)
    assert cost.reason == "not running (Stopped): billed only while InService"


def test_studio_app_is_billed_while_in_service_unless_it_runs_on_the_system_instance(prices):
    app = cost_of(resource("app", instance_type="ml.t3.medium", running=True), prices, NOV_24_NOON)
    # studio component 0.0464 (not the notebook-instance 0.0582); created Nov 1: run rate 730 h × 0.0464 = 33.872
    assert app.hourly_usd == pytest.approx(0.0464)
    assert app.monthly_cost_usd == pytest.approx(33.872)
    # no studio override for m5: hosting 0.23; 730 h × 0.23 = 167.9
    m5_app = cost_of(resource("app", instance_type="ml.m5.xlarge", running=True), prices, NOV_24_NOON)
    assert m5_app.monthly_cost_usd == pytest.approx(167.9)

    system = cost_of(resource("app", instance_type="system"), prices, NOV_24_NOON)
    assert (system.hourly_usd, system.monthly_cost_usd) == (0.0, 0.0)
    assert system.reason == "system app: runs on no billed instance"

    deleted = cost_of(resource("app", status="Deleted", instance_type="ml.m5.xlarge"), prices, NOV_24_NOON)
    assert deleted.monthly_cost_usd == 0.0


def test_inference_component_is_billed_through_its_endpoint(prices):
    component = resource("inference-component", details={"endpoint_name": "shared-llm"})
    cost = cost_of(component, prices, NOV_24_NOON)
    assert (cost.hourly_usd, cost.monthly_cost_usd) == (0.0, 0.0)
    assert cost.reason == "billed through endpoint shared-llm"


def test_feature_group_is_not_estimated(prices):
    cost = cost_of(resource("feature-group", status="Created"), prices, NOV_24_NOON)
    assert (cost.hourly_usd, cost.month_to_date_usd, cost.monthly_cost_usd) == (None, None, None)
    assert cost.reason == "online store billed per request and storage: not estimated"


def test_unknown_resource_type_is_not_priced(prices):
    cost = cost_of(resource("model-package", instance_type="ml.m5.xlarge"), prices, NOV_24_NOON)
    assert cost.monthly_cost_usd is None
    assert cost.reason == "no cost model for resource type 'model-package'"
