"""Shared endpoints: an inference-component endpoint's run rate split by what each component reserves, multi-model
endpoints marked shared, and the report and attribution following the split without counting a dollar twice."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from mlgov.domain.costing import Cost
from mlgov.domain.instance_capacity import MIB_PER_GIB, Capacity, instance_capacity
from mlgov.domain.inventory import Resource, Variant
from mlgov.domain.report import Verdict, build_report
from mlgov.domain.shared_endpoints import INFERENCE_COMPONENTS, MULTI_MODEL, split_endpoints

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "lambdas/mlgov/data/scan_report.schema.json").read_text())
ACCOUNT, REGION = "123456789012", "us-east-1"
HOURLY_G5_12XL = 7.09  # any price: the split is proportional
TAGS = {
    "ml:model": "m",
    "ml:experiment": "e",
    "ml:environment": "prod",
    "auto-delete-after": "2027-01-31",
}


def endpoint(name="shared", instance_type="ml.g5.12xlarge", count=2, team="platform") -> Resource:
    return Resource(
        arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{name}",
        account=ACCOUNT,
        region=REGION,
        resource_type="endpoint",
        name=name,
        status="InService",
        created=datetime(2026, 11, 1, tzinfo=UTC),
        tags={**TAGS, "ml:team": team},
        running=True,
        instance_type=instance_type,
        instance_count=count,
        variants=(Variant("AllTraffic", instance_type, count),),
    )


def component(name, *, copies=1, cores=4, memory_mib=16 * MIB_PER_GIB, devices=0, team="fraud", endpoint_name="shared",
              base=None, running=True) -> Resource:  # fmt: skip
    requirements = {"NumberOfCpuCoresRequired": cores, "MinMemoryRequiredInMb": memory_mib}
    if devices:
        requirements["NumberOfAcceleratorDevicesRequired"] = devices
    details = {"endpoint_name": endpoint_name, "current_copy_count": copies}
    if base:
        details["base_inference_component_name"] = base
    else:
        details["compute_resource_requirements"] = requirements
    return Resource(
        arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:inference-component/{name}",
        account=ACCOUNT,
        region=REGION,
        resource_type="inference-component",
        name=name,
        status="InService",
        created=datetime(2026, 11, 2, tzinfo=UTC),
        tags={**TAGS, "ml:team": team},
        running=running,
        details=details,
    )


def priced(hourly: float | None) -> Cost:
    monthly = None if hourly is None else hourly * 730
    return Cost(hourly, monthly, monthly, None, None, "test price")


COMPONENT_COST = Cost(0.0, 0.0, 0.0, None, None, "billed through endpoint shared")


def items(endpoint_resource: Resource, *components: Resource, hourly: float | None = HOURLY_G5_12XL):
    return [(endpoint_resource, priced(hourly)), *((c, COMPONENT_COST) for c in components)]


# -- capacity -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instance_type", "expected"),
    [
        ("ml.g5.12xlarge", Capacity(48, 192 * MIB_PER_GIB, 4)),
        ("ml.g5.2xlarge", Capacity(8, 32 * MIB_PER_GIB, 1)),
        ("ml.p4d.24xlarge", Capacity(96, 1152 * MIB_PER_GIB, 8)),
        ("ml.m5.large", Capacity(2, 8 * MIB_PER_GIB)),
        ("ml.c5.9xlarge", Capacity(36, 72 * MIB_PER_GIB)),
        ("ml.r6i.xlarge", Capacity(4, 32 * MIB_PER_GIB)),
    ],
)
def test_known_instance_types_have_their_nominal_size(instance_type, expected):
    assert instance_capacity(instance_type) == expected


@pytest.mark.parametrize(
    "instance_type", ["ml.c5n.large", "ml.trn1.32xlarge", "ml.inf2.xlarge", "ml.g4dn.48xlarge", "m5.large", None]
)
def test_an_instance_type_mlgov_does_not_know_is_unknown_never_guessed(instance_type):
    assert instance_capacity(instance_type) is None


# -- the split ----------------------------------------------------------------------------------------------------


def test_each_component_pays_its_dominant_share_and_the_rest_stays_with_the_endpoint():
    # ml.g5.12xlarge: 48 vCPU, 192 GiB, 4 GPUs; 2 instances = 8 GPUs. fraud: 2 copies x 1 GPU = 2/8 of the fleet
    # (GPU dominates: 4/48 cores, 16/192 GiB); search: 1 copy x 24 cores = half an instance = 1/4 of the fleet
    # (cores dominate: 24/48 vs 0 GPUs and 32/192 GiB). Unreserved: half.
    fraud = component("fraud-ic", copies=2, devices=1)
    search = component("search-ic", copies=1, cores=24, memory_mib=32 * MIB_PER_GIB, team="search")
    split = split_endpoints(items(endpoint(), fraud, search))
    monthly = HOURLY_G5_12XL * 730
    assert split.components[fraud.arn].monthly_usd == pytest.approx(monthly / 4)
    assert split.components[search.arn].monthly_usd == pytest.approx(monthly / 4)
    assert split.components[fraud.arn].share_pct == 25.0
    shared = split.endpoints[endpoint().arn]
    assert shared.kind == INFERENCE_COMPONENTS and shared.members == 2
    assert shared.unallocated_usd_month == pytest.approx(monthly / 2)
    assert shared.allocated_usd_month + shared.unallocated_usd_month == pytest.approx(monthly)
    assert "dominant share of 2 × ml.g5.12xlarge (48 vCPU, 192 GiB, 4 accelerators)" in shared.basis


def test_requests_beyond_the_nominal_capacity_are_scaled_to_the_run_rate_never_past_it():
    # 3 copies x 2 GPUs on one ml.g5.12xlarge (4 GPUs): 150 % reserved by the nominal figures.
    greedy = component("greedy", copies=3, devices=2)
    split = split_endpoints(items(endpoint(count=1), greedy))
    shared = split.endpoints[endpoint(count=1).arn]
    assert split.components[greedy.arn].monthly_usd == pytest.approx(HOURLY_G5_12XL * 730)
    assert shared.unallocated_usd_month == 0.0
    assert "scaled to fit" in shared.basis


@pytest.mark.parametrize(
    ("host", "member", "why"),
    [
        (
            endpoint(instance_type="ml.trn1.32xlarge", count=1),
            component("c"),
            "the size of ml.trn1.32xlarge is unknown",
        ),
        (endpoint(instance_type="ml.m5.xlarge", count=1), component("c", devices=1), "accelerators requested of"),
        (endpoint(count=1), None, "the requests of component c are unknown"),
        (endpoint(count=1), None, "reserves accelerator partitions"),
    ],
)
def test_a_share_that_cannot_be_measured_splits_nothing_and_leaves_the_cost_with_the_endpoint(host, member, why):
    if why.startswith("the requests"):
        member = dataclasses.replace(component("c"), details={"endpoint_name": "shared"})  # Describe failed
    elif why.startswith("reserves"):
        member = component("c", devices=1)
        requested = {**member.details["compute_resource_requirements"], "AcceleratorPartitionType": "mig-1g.10gb"}
        member = dataclasses.replace(member, details={**member.details, "compute_resource_requirements": requested})
    split = split_endpoints(items(host, member, hourly=20.0))
    assert split.components == {}
    shared = split.endpoints[host.arn]
    assert (shared.allocated_usd_month, shared.unallocated_usd_month) == (None, None)
    assert why in shared.basis and "stays with the endpoint's tags" in shared.basis
    assert split.attributed_usd_month(host, priced(20.0)) == pytest.approx(20.0 * 730)


def test_an_empty_variant_of_another_type_does_not_stop_the_split():
    host = dataclasses.replace(
        endpoint(count=2),
        instance_type=None,
        variants=(Variant("AllTraffic", "ml.g5.12xlarge", 2), Variant("spare", "ml.trn1.32xlarge", 0)),
    )
    member = component("c", copies=2, devices=1)
    split = split_endpoints(items(host, member))
    assert split.components[member.arn].monthly_usd == pytest.approx(HOURLY_G5_12XL * 730 / 4)


def test_a_component_that_is_updating_still_holds_its_copies():
    member = component("c", copies=4, devices=1, running=False)  # e.g. Updating while it scales
    split = split_endpoints(items(endpoint(count=1), member))
    assert split.components[member.arn].monthly_usd == pytest.approx(HOURLY_G5_12XL * 730)


def test_adapters_and_stopped_components_reserve_nothing():
    base = component("base", copies=1, devices=4)
    adapter = component("adapter", base="base", team="search")
    idle = component("idle", copies=0, devices=1, running=False, team="search")
    split = split_endpoints(items(endpoint(count=1), base, adapter, idle))
    assert split.components[adapter.arn].monthly_usd == 0.0
    assert "adapter of base" in split.components[adapter.arn].basis
    assert split.components[idle.arn].monthly_usd == 0.0
    assert split.components[base.arn].monthly_usd == pytest.approx(HOURLY_G5_12XL * 730)


def test_an_unpriced_endpoint_is_not_split_and_components_elsewhere_are_left_alone():
    unpriced = split_endpoints(items(endpoint(), component("a", devices=1), hourly=None))
    assert unpriced.components == {} and unpriced.endpoints == {}
    elsewhere = split_endpoints(items(endpoint(), component("b", devices=1, endpoint_name="other")))
    assert elsewhere.components == {} and elsewhere.endpoints == {}


def test_a_multi_model_endpoint_is_marked_shared_without_a_split():
    host = endpoint(instance_type="ml.m5.xlarge", count=1)
    split = split_endpoints(items(host, hourly=0.23), loaded_models={host.arn: 37})
    shared = split.endpoints[host.arn]
    assert (shared.kind, shared.members, shared.allocated_usd_month) == (MULTI_MODEL, 37, None)
    assert "no per-model metrics" in shared.basis
    assert split.attributed_usd_month(host, priced(0.23)) == pytest.approx(0.23 * 730)


# -- the report -----------------------------------------------------------------------------------------------------


def test_the_report_shows_the_split_and_attribution_follows_it_without_double_counting(real_schema):
    fraud = component("fraud-ic", copies=2, devices=1, team="fraud")
    search = component("search-ic", copies=1, cores=24, memory_mib=32 * MIB_PER_GIB, team="search")
    pieces = items(endpoint(team="platform"), fraud, search)
    active = Verdict("active", "in use")
    report = build_report(
        [(r, c, active) for r, c in pieces], [], {"accounts": [ACCOUNT], "regions": [REGION]}, real_schema, NOW, {}
    )
    jsonschema.validate(report, SCHEMA)
    monthly = round(HOURLY_G5_12XL * 730, 2)
    assert report["summary"]["monthly_cost_usd"] == monthly  # the components add nothing to the total
    by_team = report["attribution"]["by_tag"]["ml:team"]
    assert by_team == {
        "platform": round(monthly / 2, 2),
        "fraud": round(monthly / 4, 2),
        "search": round(monthly / 4, 2),
    }
    assert sum(by_team.values()) == pytest.approx(monthly, abs=0.02)
    findings = {f["name"]: f for f in report["findings"]}
    assert findings["fraud-ic"]["allocated_cost_usd_month"] == round(monthly / 4, 2)
    assert findings["fraud-ic"]["evidence"]["endpoint_share_pct"] == 25.0
    assert findings["shared"]["shared"]["unallocated_usd_month"] == round(monthly / 2, 2)
    assert "allocated_cost_usd_month" not in findings["shared"]


def test_table_and_csv_show_a_components_share_apart_from_the_total(real_schema):
    from mlgov.report_render import render_csv, render_table

    pieces = items(endpoint(), component("fraud-ic", copies=2, devices=1))
    active = Verdict("active", "in use")
    report = build_report(
        [(r, c, active) for r, c in pieces], [], {"accounts": [ACCOUNT], "regions": [REGION]}, real_schema, NOW, {}
    )
    share = round(HOURLY_G5_12XL * 730 / 4, 2)
    assert f"(${share:,.2f} share)" in render_table(report, width=220)
    rows = render_csv(report).splitlines()
    column = rows[0].split(",").index("allocated_cost_usd_month")
    values = {row.split(",")[2]: row.split(",")[column] for row in rows[1:]}
    assert values == {"shared": "", "fraud-ic": str(share)}


def test_a_share_billed_to_another_team_than_the_endpoints_says_so():
    theirs = component("theirs", copies=1, devices=1, team="fraud")
    ours = component("ours", copies=1, devices=1, team="platform")
    split = split_endpoints(items(endpoint(count=1, team="platform"), theirs, ours))
    assert split.components[theirs.arn].basis.endswith("— ml:team fraud differs from the endpoint's (platform)")
    assert "differs" not in split.components[ours.arn].basis
