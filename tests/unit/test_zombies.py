"""Zombie endpoints and idle notebooks/apps: windows, queries, every verdict branch, exemption, tags, precedence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlgov.domain.costing import Cost
from mlgov.domain.inventory import Resource, Variant
from mlgov.domain.report import Verdict, waste
from mlgov.domain.zombies import (
    MetricQuery,
    Usage,
    ZombiePolicy,
    combine,
    evidence_queries,
    invocation_key,
    invocation_queries,
    is_exempt,
    judge_endpoint,
    judge_idle,
    last_invoked_tag,
    needs_evidence,
    studio_guards,
    usage_from_series,
    usage_window,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
POLICY = ZombiePolicy(idle_days=30, min_age_days=7, idle_hours=24)
ACCOUNT, REGION = "123456789012", "us-east-1"
M5 = "ml.m5.xlarge"


def endpoint(
    name="churn",
    variants=("AllTraffic",),
    created_days_ago=90,
    updated_days_ago=None,
    status="InService",
    tags=None,
    serverless=False,
    **details,
) -> Resource:
    created = NOW - timedelta(days=created_days_ago)
    updated = NOW - timedelta(days=updated_days_ago) if updated_days_ago is not None else created
    return Resource(
        arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}",
        account=ACCOUNT,
        region=REGION,
        resource_type="endpoint",
        name=name,
        status=status,
        created=created,
        tags=tags or {},
        running=status == "InService",
        variants=tuple(
            Variant(v, None, 0, serverless_memory_mb=2048) if serverless else Variant(v, M5, 1) for v in variants
        ),
        details={"last_modified": updated.isoformat(), **details},
    )


def component(name: str, endpoint_name: str) -> Resource:
    return Resource(
        arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:inference-component/{name}",
        account=ACCOUNT,
        region=REGION,
        resource_type="inference-component",
        name=name,
        status="InService",
        created=NOW - timedelta(days=60),
        details={"endpoint_name": endpoint_name, "variant_name": "AllTraffic"},
    )


# -- windows -----------------------------------------------------------------------------------------------------


def test_window_is_idle_days_back_for_an_old_untouched_endpoint():
    window = usage_window(endpoint(created_days_ago=400), POLICY, NOW)
    assert window.start == NOW - timedelta(days=30) and window.end == NOW


def test_window_starts_at_creation_for_a_young_endpoint():
    assert usage_window(endpoint(created_days_ago=10), POLICY, NOW).start == NOW - timedelta(days=10)


def test_window_starts_at_the_last_update_when_it_is_the_latest():
    window = usage_window(endpoint(created_days_ago=200, updated_days_ago=12), POLICY, NOW)
    assert window.start == NOW - timedelta(days=12) and round(window.days) == 12


def test_policy_rejects_a_minimum_age_longer_than_the_idle_window_and_windows_beyond_retention():
    with pytest.raises(ValueError, match="min_age_days"):
        ZombiePolicy(idle_days=7, min_age_days=8)
    with pytest.raises(ValueError, match="retention"):
        ZombiePolicy(idle_days=456)


# -- queries -----------------------------------------------------------------------------------------------------


def test_invocation_queries_cover_every_named_variant_with_both_dimensions_and_never_assume_alltraffic():
    queries = invocation_queries([endpoint("ab", variants=("blue", "green"))])
    assert [q.dimensions for q in queries] == [
        (("EndpointName", "ab"), ("VariantName", "blue")),
        (("EndpointName", "ab"), ("VariantName", "green")),
    ]
    assert {(q.namespace, q.metric, q.stat) for q in queries} == {("AWS/SageMaker", "Invocations", "Sum")}
    assert len({q.id for q in queries}) == 2


def test_inference_components_are_queried_per_component_name():
    host = endpoint("host")
    queries = invocation_queries([host], [component("llama", "host"), component("other", "elsewhere")])
    assert queries[-1] == MetricQuery(
        f"component|{host.arn}|llama", "AWS/SageMaker", "Invocations", (("InferenceComponentName", "llama"),)
    )
    assert len(queries) == 2  # the component of another endpoint is not queried


def test_asynchronous_endpoints_get_no_invocation_query():
    assert invocation_queries([endpoint(async_inference=True)]) == []


def test_evidence_queries_ask_instance_cpu_sample_counts_and_skip_serverless_variants():
    ab, serverless = endpoint("ab", variants=("blue", "green")), endpoint("sls", serverless=True)
    queries = evidence_queries([(ab, "green"), (serverless, "AllTraffic")])
    assert queries == [
        MetricQuery(
            f"evidence|{ab.arn}|green",
            "/aws/sagemaker/Endpoints",
            "CPUUtilization",
            (("EndpointName", "ab"), ("VariantName", "green")),
            "SampleCount",
        )
    ]


def test_evidence_is_needed_only_for_silent_variants_without_datapoints_on_candidate_endpoints():
    ab = endpoint("ab", variants=("blue", "green"))
    assert needs_evidence(ab, Usage({"blue": 0.0, "green": None}), POLICY, NOW) == ["green"]
    assert needs_evidence(ab, Usage({"blue": 5.0, "green": None}), POLICY, NOW) == []  # active anyway
    young = endpoint("young", created_days_ago=2)
    assert needs_evidence(young, Usage({"AllTraffic": None}), POLICY, NOW) == []


# -- usage from series -------------------------------------------------------------------------------------------


def test_series_totals_only_count_periods_overlapping_the_endpoints_own_window():
    updated = endpoint("ab", variants=("blue", "green"), created_days_ago=200, updated_days_ago=10)
    day = timedelta(days=1)
    series = {
        invocation_key(updated, "blue"): [(NOW - timedelta(days=20), 500.0), (NOW - timedelta(days=3), 0.0)],
        invocation_key(updated, "green"): [(NOW - timedelta(days=15), 42.0)],
    }
    usage = usage_from_series(updated, series, day, POLICY, NOW)
    assert usage.invocations == {"blue": 0.0, "green": None}  # traffic before the update does not count
    assert usage.last_invoked is None


def test_last_invoked_is_the_latest_period_with_traffic():
    ep = endpoint("ab", variants=("blue", "green"))
    series = {
        invocation_key(ep, "blue"): [(datetime(2026, 11, 2, tzinfo=UTC), 3.0), (datetime(2026, 11, 9, tzinfo=UTC), 0)],
        invocation_key(ep, "green"): [(datetime(2026, 11, 5, tzinfo=UTC), 1.0)],
    }
    usage = usage_from_series(ep, series, timedelta(days=1), POLICY, NOW)
    assert usage.invocations == {"blue": 3.0, "green": 1.0}
    assert usage.last_invoked == datetime(2026, 11, 5, tzinfo=UTC)


# -- endpoint verdicts -------------------------------------------------------------------------------------------


def test_endpoint_with_traffic_on_one_of_two_variants_is_active():
    verdict = judge_endpoint(
        endpoint("ab", variants=("blue", "green")),
        Usage({"blue": 1234.0, "green": 0.0}, last_invoked=datetime(2026, 11, 20, tzinfo=UTC)),
        POLICY,
        NOW,
    )
    assert verdict.status == "active"
    assert "blue: 1234" in verdict.reason and "last invoked 2026-11-20" in verdict.reason
    assert verdict.evidence["last_invoked"] == "2026-11-20"
    assert verdict.evidence["invocations"] == {"blue": 1234.0, "green": 0.0}


def test_variant_named_blue_with_zero_invocations_and_a_cpu_series_is_a_zombie():
    verdict = judge_endpoint(endpoint("ab", variants=("blue",)), Usage({"blue": None}, {"blue": True}), POLICY, NOW)
    assert verdict.status == "zombie"
    assert verdict.reason == "0 invocations on its only variant (blue) for 30 days; CPU series present"


def test_two_silent_variants_with_cpu_series_are_a_zombie_naming_both():
    verdict = judge_endpoint(
        endpoint("ab", variants=("blue", "green")),
        Usage({"blue": None, "green": None}, {"blue": True, "green": True}),
        POLICY,
        NOW,
    )
    assert verdict.status == "zombie"
    assert verdict.reason == "0 invocations on all 2 variants (blue, green) for 30 days; CPU series present"
    assert verdict.evidence["silence_proof"] == {"blue": "cpu", "green": "cpu"}


def test_zero_valued_invocation_datapoints_prove_silence_on_their_own():
    verdict = judge_endpoint(endpoint(), Usage({"AllTraffic": 0.0}), POLICY, NOW)
    assert verdict.status == "zombie" and "zero values" in verdict.reason


def test_no_series_at_all_is_unknown_and_names_the_variant():
    verdict = judge_endpoint(
        endpoint("ab", variants=("blue", "green")),
        Usage({"blue": 0.0, "green": None}, {"green": False}),
        POLICY,
        NOW,
    )
    assert verdict.status == "unknown"
    assert "for variant green over 30 days" in verdict.reason


def test_endpoint_updated_three_days_ago_is_not_a_zombie():
    verdict = judge_endpoint(
        endpoint(created_days_ago=200, updated_days_ago=3), Usage({"AllTraffic": 0.0}), POLICY, NOW
    )
    assert verdict.status == "active"
    assert "3 days since its last update" in verdict.reason


def test_endpoint_younger_than_the_minimum_age_is_not_a_zombie():
    verdict = judge_endpoint(endpoint(created_days_ago=5), Usage({"AllTraffic": 0.0}), POLICY, NOW)
    assert verdict.status == "active" and "younger than the 7-day minimum age" in verdict.reason


def test_endpoint_just_past_the_minimum_age_with_proven_silence_is_a_zombie_over_its_shorter_window():
    verdict = judge_endpoint(endpoint(created_days_ago=8), Usage({"AllTraffic": 0.0}), POLICY, NOW)
    assert verdict.status == "zombie" and "for 8 days" in verdict.reason


def test_serverless_idle_endpoint_is_a_zombie_that_wastes_about_nothing():
    serverless = endpoint("sls", serverless=True)
    verdict = judge_endpoint(serverless, Usage({"AllTraffic": 0.0}), POLICY, NOW)
    assert verdict.status == "zombie"
    free = Cost(0.0, 0.0, 0.0, None, None, "serverless: billed per request, ≈ $0 idle")
    assert waste(serverless, free, verdict) == pytest.approx(0.0)


def test_serverless_variant_without_datapoints_stays_unknown():
    serverless = endpoint("sls", serverless=True)
    assert needs_evidence(serverless, Usage({"AllTraffic": None}), POLICY, NOW) == []
    assert judge_endpoint(serverless, Usage({"AllTraffic": None}), POLICY, NOW).status == "unknown"


def test_endpoint_not_in_service_is_not_judged_a_zombie():
    verdict = judge_endpoint(endpoint(status="Updating"), Usage({"AllTraffic": 0.0}), POLICY, NOW)
    assert verdict.status == "active" and "Updating" in verdict.reason


def test_asynchronous_endpoint_is_unknown_because_it_publishes_no_invocations():
    verdict = judge_endpoint(endpoint(async_inference=True), Usage({}), POLICY, NOW)
    assert verdict.status == "unknown" and "asynchronous" in verdict.reason


def test_unreadable_series_make_the_endpoint_unknown_never_a_zombie():
    usage = Usage({"AllTraffic": None}, {"AllTraffic": True}, unreadable=("AllTraffic",))
    verdict = judge_endpoint(endpoint(), usage, POLICY, NOW)
    assert verdict.status == "unknown" and "AllTraffic" in verdict.reason


def test_traffic_on_a_hosted_inference_component_keeps_the_endpoint_active():
    usage = Usage({"AllTraffic": None}, {"AllTraffic": True}, components={"llama": 17.0})
    verdict = judge_endpoint(endpoint("host"), usage, POLICY, NOW)
    assert verdict.status == "active" and "llama: 17" in verdict.reason


def test_silent_inference_components_on_a_silent_variant_make_a_zombie():
    usage = Usage({"AllTraffic": None}, {"AllTraffic": True}, components={"llama": None})
    verdict = judge_endpoint(endpoint("host"), usage, POLICY, NOW)
    assert verdict.status == "zombie" and "and its 1 inference components" in verdict.reason
    assert verdict.evidence["component_invocations"] == {"llama": None}


def test_exempt_zombie_keeps_its_status_and_carries_the_exemption():
    exempt = endpoint(tags={"mlgov:exempt": "quarterly batch scoring"})
    verdict = judge_endpoint(exempt, Usage({"AllTraffic": 0.0}), POLICY, NOW)
    assert is_exempt(exempt)
    assert verdict.status == "zombie" and verdict.evidence["exempt"] == "quarterly batch scoring"


# -- last-invoked tag --------------------------------------------------------------------------------------------


def test_last_invoked_tag_is_written_when_traffic_is_newer_than_the_tag():
    usage = Usage({"AllTraffic": 3.0}, last_invoked=datetime(2026, 11, 20, tzinfo=UTC))
    assert last_invoked_tag(usage, "never") == "2026-11-20"
    assert last_invoked_tag(usage, None) == "2026-11-20"
    assert last_invoked_tag(usage, "2026-11-01") == "2026-11-20"
    assert last_invoked_tag(usage, "2026-11-20") is None
    assert last_invoked_tag(Usage({"AllTraffic": 0.0}), "never") is None


# -- idle notebooks and Studio apps ------------------------------------------------------------------------------


def notebook(hours: float, lifecycle: str | None = None, tags=None) -> Resource:
    details = {"last_modified": (NOW - timedelta(hours=hours)).isoformat()}
    if lifecycle:
        details["lifecycle_config_name"] = lifecycle
    return Resource(
        arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/nb",
        account=ACCOUNT,
        region=REGION,
        resource_type="notebook-instance",
        name="nb",
        status="InService",
        created=NOW - timedelta(days=100),
        tags=tags or {},
        running=True,
        instance_type="ml.t3.medium",
        instance_count=1,
        details=details,
    )


def studio(idle: dict | None, hours: float = 30, app_type="JupyterLab", space_timeout=None) -> list[Resource]:
    domain = Resource(
        arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:domain/d-abc",
        account=ACCOUNT,
        region=REGION,
        resource_type="domain",
        name="research",
        status="InService",
        created=NOW - timedelta(days=300),
        details={"domain_id": "d-abc", **({"default_idle_settings": idle} if idle else {})},
    )
    space = Resource(
        arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:space/d-abc/alice-space",
        account=ACCOUNT,
        region=REGION,
        resource_type="space",
        name="alice-space",
        status="InService",
        created=NOW - timedelta(days=200),
        details={"domain_id": "d-abc", **({"idle_timeout_minutes": space_timeout} if space_timeout else {})},
    )
    app = Resource(
        arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:app/d-abc/alice-space/jupyterlab/default",
        account=ACCOUNT,
        region=REGION,
        resource_type="app",
        name="default",
        status="InService",
        created=NOW - timedelta(hours=hours),
        running=True,
        instance_type="ml.g5.xlarge",
        instance_count=1,
        details={"domain_id": "d-abc", "app_type": app_type, "space_name": "alice-space"},
    )
    return [domain, space, app]


def test_notebook_running_past_the_threshold_without_lifecycle_config_is_idle_with_the_guard_to_apply():
    verdict = judge_idle(notebook(hours=30), POLICY, NOW)
    assert verdict.status == "idle"
    assert "running 30 h" in verdict.reason and "lifecycle configuration" in verdict.reason


def test_notebook_with_a_lifecycle_config_or_running_briefly_is_not_idle():
    assert judge_idle(notebook(hours=30, lifecycle="auto-stop-idle"), POLICY, NOW) is None
    assert judge_idle(notebook(hours=5), POLICY, NOW) is None


def test_studio_app_without_domain_idle_settings_is_idle_and_names_the_setting():
    resources = studio(idle=None, space_timeout=120)
    verdict = judge_idle(resources[-1], POLICY, NOW, studio_guards(resources))
    assert verdict.status == "idle"
    assert "JupyterLabAppSettings.AppLifecycleManagement.IdleSettings" in verdict.reason
    assert "space alice-space sets 120 min" in verdict.reason


def test_studio_app_with_domain_idle_shutdown_enabled_is_not_idle():
    idle = {"JupyterLab": {"LifecycleManagement": "ENABLED", "IdleTimeoutInMinutes": 60}}
    resources = studio(idle=idle)
    assert judge_idle(resources[-1], POLICY, NOW, studio_guards(resources)) is None


def test_studio_app_whose_domain_disables_idle_shutdown_is_idle():
    resources = studio(idle={"JupyterLab": {"LifecycleManagement": "DISABLED"}})
    assert judge_idle(resources[-1], POLICY, NOW, studio_guards(resources)).status == "idle"


def test_studio_apps_without_a_checkable_guard_or_domain_are_not_judged():
    classic = studio(idle=None, app_type="KernelGateway")
    assert judge_idle(classic[-1], POLICY, NOW, studio_guards(classic)) is None
    lab = studio(idle=None)
    assert judge_idle(lab[-1], POLICY, NOW, studio_guards([])) is None  # domain not scanned
    assert judge_idle(studio(idle=None, hours=3)[-1], POLICY, NOW, studio_guards(lab)) is None


def test_a_snooze_exempts_until_its_end_date_then_lapses_other_exemptions_never_do():
    from datetime import timedelta

    until = (NOW - timedelta(days=1)).date().isoformat()
    lapsed = endpoint(tags={"mlgov:exempt": f"snoozed by U0APPROVER on 2026-01-01 until {until}"})
    running = endpoint(tags={"mlgov:exempt": f"snoozed by U0APPROVER on 2026-01-01 until {NOW.date().isoformat()}"})
    rejected = endpoint(tags={"mlgov:exempt": "rejected by U0APPROVER on 2020-01-01"})

    verdict = judge_endpoint(lapsed, Usage({"AllTraffic": 0.0}), POLICY, NOW)
    assert verdict.status == "zombie" and "exempt" not in verdict.evidence
    assert verdict.evidence["exempt_lapsed"].endswith(f"until {until}")
    assert not is_exempt(lapsed, NOW.date()) and is_exempt(lapsed)  # without a date: the tag alone
    assert judge_endpoint(running, Usage({"AllTraffic": 0.0}), POLICY, NOW).evidence["exempt"].startswith("snoozed")
    assert is_exempt(rejected, NOW.date() + timedelta(days=3650))


def test_exempt_idle_notebook_is_reported_with_the_exemption():
    verdict = judge_idle(notebook(hours=48, tags={"mlgov:exempt": ""}), POLICY, NOW)
    assert verdict.status == "idle" and verdict.evidence["exempt"] == "(no reason given)"


# -- precedence over the lifecycle verdict -----------------------------------------------------------------------


def test_zombie_takes_precedence_over_expired_and_keeps_its_evidence():
    merged = combine(Verdict("zombie", "0 invocations", {"a": 1}), Verdict("expired", "past", {"expired_on": "x"}))
    assert merged.status == "zombie" and merged.evidence == {"expired_on": "x", "a": 1}


def test_untagged_stays_visible_over_active_usage_with_the_usage_as_evidence():
    merged = combine(Verdict("active", "12 invocations", {"last_invoked": "2026-11-20"}), Verdict("untagged", "tags"))
    assert merged.status == "untagged" and merged.evidence["last_invoked"] == "2026-11-20"
    assert "usage: 12 invocations" in merged.reason


def test_usage_verdict_replaces_a_plain_lifecycle_verdict():
    assert combine(Verdict("unknown", "no data"), Verdict("active", "running and tagged")).status == "unknown"
    assert combine(Verdict("zombie", "idle"), Verdict("stopped", "serverless")).status == "zombie"
