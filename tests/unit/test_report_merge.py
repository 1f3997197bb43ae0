"""Merging per account-region scan reports: the merge of the parts equals the report built over everything at once."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from mlgov.domain.costing import Cost
from mlgov.domain.inventory import Resource, ScanError, Variant
from mlgov.domain.report import Verdict, build_report, lifecycle_verdict
from mlgov.domain.report_merge import merge_reports

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "lambdas/mlgov/data/scan_report.schema.json").read_text())
PRICING = {"as_of": "2026-11-01", "source": "test", "currency": "USD"}
HUB, MEMBER = "111111111111", "222222222222"
GOOD_TAGS = {
    "ml:team": "fraud",
    "ml:model": "churn",
    "ml:experiment": "q4",
    "ml:environment": "prod",
    "auto-delete-after": "2027-01-31",
    "mlgov:created-by": "alice@example.com",
}


def _endpoint(account: str, region: str, name: str, hourly: float | None, tags=GOOD_TAGS, zombie=False):
    resource = Resource(
        arn=f"arn:aws:sagemaker:{region}:{account}:endpoint/{name}",
        account=account,
        region=region,
        resource_type="endpoint",
        name=name,
        status="InService",
        created=datetime(2026, 10, 1, tzinfo=UTC),
        tags=tags,
        running=True,
        variants=(Variant("AllTraffic", "ml.m5.xlarge", 1),),
    )
    monthly = None if hourly is None else hourly * 730
    cost = Cost(hourly, monthly, monthly, None, None, "test price" if hourly is not None else "no price")
    verdict = Verdict("zombie", "0 invocations for 30 days", {"idle_days": 30}) if zombie else None
    return resource, cost, verdict


@pytest.fixture
def items(real_schema):
    """Eight endpoints over two accounts × two regions: zombies, untagged, unpriced, different teams and owners."""
    other_team = {**GOOD_TAGS, "ml:team": "search", "mlgov:created-by": "bob@example.com"}
    raw = [
        _endpoint(HUB, "us-east-1", "hub-a", 0.23),
        _endpoint(HUB, "us-east-1", "hub-zombie", 1.15, zombie=True),
        _endpoint(HUB, "eu-west-1", "hub-eu", None),
        _endpoint(MEMBER, "us-east-1", "member-a", 0.46, tags=other_team),
        _endpoint(MEMBER, "us-east-1", "member-untagged", 0.23, tags={"owner": "nobody"}),
        _endpoint(MEMBER, "us-east-1", "member-zombie", 4.6, tags=other_team, zombie=True),
        _endpoint(MEMBER, "eu-west-1", "member-eu", 0.1),
        _endpoint(MEMBER, "eu-west-1", "member-eu-untagged", 0.05, tags={}),
    ]
    return [
        (resource, cost, verdict or lifecycle_verdict(resource, cost, real_schema, NOW.date()))
        for resource, cost, verdict in raw
    ]


def _part(items, account, region, real_schema, errors=()):
    mine = [item for item in items if item[0].account == account and item[0].region == region]
    scope = {"accounts": [account], "regions": [region]}
    return build_report(mine, list(errors), scope, real_schema, NOW, PRICING)


def _parts(items, real_schema):
    return [
        _part(items, account, region, real_schema) for account in (HUB, MEMBER) for region in ("us-east-1", "eu-west-1")
    ]


def test_merging_the_parts_gives_the_report_built_over_everything(items, real_schema):
    whole = build_report(
        items, [], {"accounts": [HUB, MEMBER], "regions": ["us-east-1", "eu-west-1"]}, real_schema, NOW, PRICING
    )

    merged = merge_reports(_parts(items, real_schema), NOW)

    assert merged["findings"] == whole["findings"]
    assert merged["scope"] == whole["scope"] and merged["pricing"] == whole["pricing"]
    assert merged["summary"]["resources"] == whole["summary"]["resources"] == 8
    assert merged["summary"]["by_status"] == whole["summary"]["by_status"]
    for key in ("monthly_cost_usd", "waste_usd_month"):
        assert merged["summary"][key] == pytest.approx(whole["summary"][key], abs=0.05)
    assert merged["summary"]["tag_compliance_pct"] == pytest.approx(whole["summary"]["tag_compliance_pct"], abs=0.1)
    merged_attribution, whole_attribution = merged["attribution"], whole["attribution"]
    assert merged_attribution["unpriced_resources"] == whole_attribution["unpriced_resources"] == 1
    assert merged_attribution["by_owner"] == pytest.approx(whole_attribution["by_owner"], abs=0.05)
    assert list(merged_attribution["by_owner"]) == list(whole_attribution["by_owner"])  # largest spend first
    for key, values in whole_attribution["by_tag"].items():
        assert merged_attribution["by_tag"][key] == pytest.approx(values, abs=0.05)
    assert merged_attribution["untagged_usd_month"] == pytest.approx(whole_attribution["untagged_usd_month"], abs=0.05)
    assert merged_attribution["tag_compliance_usd_pct"] == pytest.approx(
        whole_attribution["tag_compliance_usd_pct"], abs=0.1
    )
    assert merged["generated_at"] == "2026-11-24T12:00:00Z"
    jsonschema.Draft202012Validator(SCHEMA).validate(merged)


def test_findings_are_ordered_by_waste_then_cost_across_parts(items, real_schema):
    merged = merge_reports(list(reversed(_parts(items, real_schema))), NOW)

    names = [finding["name"] for finding in merged["findings"]]
    assert names[:2] == ["member-zombie", "hub-zombie"]  # the two zombies, larger waste first
    costs = [finding["monthly_cost_usd"] or 0.0 for finding in merged["findings"][2:]]
    assert costs == sorted(costs, reverse=True)


def test_tag_compliance_is_weighted_by_resource_count(real_schema):
    compliant = [_endpoint(HUB, "us-east-1", f"ok-{n}", 0.1) for n in range(3)]
    untagged = [_endpoint(MEMBER, "us-east-1", "bad", 0.1, tags={})]
    items = [(r, c, lifecycle_verdict(r, c, real_schema, NOW.date())) for r, c, _ in compliant + untagged]

    merged = merge_reports(
        [_part(items, HUB, "us-east-1", real_schema), _part(items, MEMBER, "us-east-1", real_schema)], NOW
    )

    assert merged["summary"]["tag_compliance_pct"] == 75.0  # not the unweighted mean (100 + 0) / 2 = 50


def test_errors_of_parts_and_of_failed_parts_are_kept_and_in_scope(items, real_schema):
    denied = ScanError(MEMBER, "eu-west-1", "AssumeRole", "AccessDenied: not authorized")
    parts = [
        _part(items, HUB, "us-east-1", real_schema),
        _part([], MEMBER, "eu-west-1", real_schema, errors=[denied]),
    ]
    failed = {"account": "333333333333", "region": "ap-south-1", "operation": "States.Timeout", "message": "timed out"}

    merged = merge_reports(parts, NOW, errors=[failed])

    assert merged["errors"] == [
        {
            "account": MEMBER,
            "region": "eu-west-1",
            "operation": "AssumeRole",
            "message": "AccessDenied: not authorized",
        },
        failed,
    ]
    assert merged["scope"] == {
        "accounts": [HUB, MEMBER, "333333333333"],
        "regions": ["ap-south-1", "eu-west-1", "us-east-1"],
    }
    jsonschema.Draft202012Validator(SCHEMA).validate(merged)


def test_no_parts_is_an_empty_valid_report():
    merged = merge_reports([], NOW)

    assert merged["summary"] == {
        "resources": 0,
        "monthly_cost_usd": 0.0,
        "waste_usd_month": 0.0,
        "tag_compliance_pct": 100.0,
        "by_status": {},
    }
    assert merged["findings"] == [] and merged["errors"] == [] and merged["pricing"] == {}
    jsonschema.Draft202012Validator(SCHEMA).validate(merged)


def test_merge_leaves_its_inputs_unchanged(items, real_schema):
    parts = _parts(items, real_schema)
    before = copy.deepcopy(parts)

    merged = merge_reports(parts, NOW)
    merged["findings"].clear()
    merged["errors"].append({"account": "x"})

    assert parts == before
