"""The mlgov.scan/1 report: lifecycle verdicts, waste, ordering, totals, and the checked-in JSON Schema."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import jsonschema
import pytest

from mlgov.domain.costing import Cost
from mlgov.domain.inventory import InstanceGroup, Resource, ScanError, Variant
from mlgov.domain.report import Verdict, build_report, instance_count, instance_type_label, lifecycle_verdict, waste
from mlgov.report_html import render_html
from mlgov.report_render import render_csv, render_table

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "lambdas/mlgov/data/scan_report.schema.json").read_text())
GOOD_TAGS = {
    "ml:team": "fraud",
    "ml:model": "churn",
    "ml:experiment": "q4",
    "ml:environment": "prod",
    "auto-delete-after": "2027-01-31",
    "mlgov:created-by": "alice@example.com",
}


def resource(resource_type: str, name: str, status: str, **fields) -> Resource:
    """A resource of `resource_type` in 123456789012/us-east-1, created 2026-11-01 with GOOD_TAGS unless `fields`
    say otherwise."""
    return Resource(
        **{
            "arn": f"arn:aws:sagemaker:us-east-1:123456789012:{resource_type}/{name}",
            "account": "123456789012",
            "region": "us-east-1",
            "resource_type": resource_type,
            "name": name,
            "status": status,
            "created": datetime(2026, 11, 1, tzinfo=UTC),
            "tags": GOOD_TAGS,
            **fields,
        }
    )


def endpoint(name="churn", tags=None, running=True, count=2) -> Resource:
    return resource(
        "endpoint",
        name,
        "InService" if running else "OutOfService",
        tags=GOOD_TAGS if tags is None else tags,
        running=running,
        variants=(Variant("AllTraffic", "ml.m5.xlarge", count),),
    )


def hourly_cost(hourly: float | None) -> Cost:
    monthly = None if hourly is None else hourly * 730
    return Cost(hourly, monthly, monthly, None, None, "test price")


def test_tagged_running_endpoint_is_active(real_schema):
    verdict = lifecycle_verdict(endpoint(), hourly_cost(0.46), real_schema, TODAY)
    assert verdict.status == "active"


def test_missing_required_tag_is_untagged_with_the_key_named(real_schema):
    tags = {k: v for k, v in GOOD_TAGS.items() if k != "ml:team"}
    verdict = lifecycle_verdict(endpoint(tags=tags), hourly_cost(0.46), real_schema, TODAY)
    assert verdict.status == "untagged" and "ml:team" in verdict.reason


def test_past_auto_delete_after_on_a_billed_resource_is_expired_and_wastes_its_run_rate(real_schema):
    tags = {**GOOD_TAGS, "auto-delete-after": "2026-11-01"}
    cost = hourly_cost(0.46)
    verdict = lifecycle_verdict(endpoint(tags=tags), cost, real_schema, TODAY)

    assert verdict.status == "expired" and "2026-11-01" in verdict.reason
    # one month is 730 h in every calendar month: 0.46 $/h × 730 h
    assert waste(endpoint(tags=tags), cost, verdict) == pytest.approx(335.8)


def test_expired_but_not_billed_resource_is_not_waste(real_schema):
    tags = {**GOOD_TAGS, "auto-delete-after": "2026-11-01"}
    stopped = endpoint(tags=tags, running=False)
    verdict = lifecycle_verdict(stopped, hourly_cost(0.0), real_schema, TODAY)
    assert verdict.status == "stopped" and waste(stopped, hourly_cost(0.0), verdict) == 0.0


def test_active_resources_waste_nothing():
    assert waste(endpoint(), hourly_cost(1.0), Verdict("active", "x")) == 0.0


def test_an_expired_running_job_wastes_what_it_costs_this_month_not_a_run_rate(real_schema):
    job = resource(
        "training-job",
        "forgotten",
        "InProgress",
        created=datetime(2026, 11, 20, tzinfo=UTC),
        tags={**GOOD_TAGS, "auto-delete-after": "2026-11-01"},
        instance_type="ml.m5.xlarge",
        instance_count=1,
        started=datetime(2026, 11, 20, tzinfo=UTC),
    )
    cost = Cost(0.23, 0.46, 0.46, 0.46, None, "2 h so far × 1 × ml.m5.xlarge at $0.23/h")
    verdict = lifecycle_verdict(job, cost, real_schema, TODAY)
    assert verdict.status == "expired"
    assert waste(job, cost, verdict) == pytest.approx(0.46)  # never more than its monthly cost (not 0.23 × 730)


def test_zero_node_hyperpod_cluster_is_stopped(real_schema):
    cluster = resource(
        "cluster",
        "weekend",
        "InService",
        arn="arn:aws:sagemaker:us-east-1:123456789012:cluster/abc123",
        running=False,
        instance_groups=(InstanceGroup("workers", "ml.g5.xlarge", 0, 0),),
    )
    verdict = lifecycle_verdict(cluster, hourly_cost(0.0), real_schema, TODAY)
    assert verdict.status == "stopped"
    assert instance_count(cluster) == 0 and instance_type_label(cluster) == "ml.g5.xlarge"


def test_mixed_endpoint_lists_every_variant_type():
    mixed = resource(
        "endpoint",
        "mixed",
        "InService",
        created=None,
        tags={},
        variants=(Variant("a", "ml.g5.xlarge", 1), Variant("b", None, 0, 2048, 5)),
    )
    assert instance_type_label(mixed) == "ml.g5.xlarge,serverless" and instance_count(mixed) == 1


def _items(real_schema):
    expired = endpoint("old", tags={**GOOD_TAGS, "auto-delete-after": "2026-10-01"}, count=4)
    rows = [
        (endpoint("cheap", count=1), hourly_cost(0.23)),
        (expired, hourly_cost(0.92)),
        (endpoint("big", count=8), hourly_cost(1.84)),
        (endpoint("unpriced", tags={"owner": "x"}), hourly_cost(None)),
    ]
    return [(r, c, lifecycle_verdict(r, c, real_schema, TODAY)) for r, c in rows]


def test_findings_are_sorted_by_waste_then_cost_and_totals_add_up(real_schema):
    errors = [ScanError("444444444444", "us-east-1", "AssumeRole", "AccessDenied")]
    report = build_report(
        _items(real_schema),
        errors,
        {"accounts": ["123456789012"], "regions": ["us-east-1"]},
        real_schema,
        NOW,
        {"as_of": "2026-11-24", "source": "test", "currency": "USD"},
    )

    assert [f["name"] for f in report["findings"]] == ["old", "big", "cheap", "unpriced"]
    assert report["summary"]["monthly_cost_usd"] == pytest.approx((0.23 + 0.92 + 1.84) * 730, abs=0.01)
    assert report["summary"]["waste_usd_month"] == pytest.approx(0.92 * 730, abs=0.01)
    assert report["summary"]["by_status"] == {"active": 2, "expired": 1, "untagged": 1}
    assert report["attribution"]["unpriced_resources"] == 1
    assert report["errors"] == [
        {"account": "444444444444", "region": "us-east-1", "operation": "AssumeRole", "message": "AccessDenied"}
    ]
    jsonschema.Draft202012Validator(SCHEMA).validate(report)


def test_schema_rejects_a_finding_with_an_unknown_status(real_schema):
    report = build_report(_items(real_schema), [], {"accounts": [], "regions": []}, real_schema, NOW, {})
    report["findings"][0]["status"] = "abandoned"

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SCHEMA).validate(report)


def test_csv_and_table_render_every_finding(real_schema):
    report = build_report(_items(real_schema), [], {"accounts": [], "regions": []}, real_schema, NOW, {})

    csv_lines = render_csv(report).splitlines()
    table = render_table(report)

    assert csv_lines[0].startswith("status,resource_type,name,") and len(csv_lines) == 5
    assert csv_lines[1].startswith("expired,endpoint,old,")
    for name in ("old", "big", "cheap", "unpriced"):
        assert name in table
    assert "unpriced" in table and "total" in table


def test_an_unpriced_zombie_wastes_an_unknown_amount_in_every_format_never_zero(real_schema):
    zombie = endpoint("p5-fleet", tags={**GOOD_TAGS, "auto-delete-after": "2026-10-01"}, count=2)
    priced = endpoint("priced", tags={**GOOD_TAGS, "auto-delete-after": "2026-10-01"}, count=1)
    items = [
        (zombie, hourly_cost(None)),
        (priced, hourly_cost(0.5)),
    ]
    report = build_report(
        [(r, c, lifecycle_verdict(r, c, real_schema, TODAY)) for r, c in items], [], {}, real_schema, NOW, {}
    )
    finding = next(f for f in report["findings"] if f["name"] == "p5-fleet")
    csv_row = next(line for line in render_csv(report).splitlines() if ",p5-fleet," in line)
    table_row = next(line for line in render_table(report, width=240).splitlines() if "p5-fleet" in line)
    html = render_html(report)

    assert finding["status"] == "expired" and finding["waste_usd_month"] is None and finding["monthly_cost_usd"] is None
    assert report["summary"]["waste_usd_month"] == 365.0  # the priced one only
    assert csv_row.count("unpriced") == 2 and "0.0" not in csv_row.split(",")
    assert table_row.count("unpriced") == 2 and "$0.00" not in table_row
    assert "p5-fleet" in html and "$0.00" not in html.split("p5-fleet", 1)[1].split("</tr>", 1)[0]
    assert waste(zombie, hourly_cost(None), Verdict("expired", "r")) is None


def test_report_dates_are_utc_iso(real_schema):
    report = build_report([], [], {"accounts": [], "regions": []}, real_schema, NOW, {})
    assert report["generated_at"] == "2026-11-24T12:00:00Z"
    assert report["summary"]["tag_compliance_pct"] == 100.0
    assert date.fromisoformat(report["generated_at"][:10]) == TODAY
