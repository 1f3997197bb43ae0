"""`make demo`, asserted: the simulated organization run end to end by the system the templates wire.

The demo (tests/e2e/demo.py) and this test share the harness (tests/e2e/harness.py): the spoke template is the one
the OrgStack's StackSet embeds, the rules, state machines, schedule and Function URL are the hub template's, and each
Lambda function is its template Handler. A wiring mistake in CDK fails here.
"""

from __future__ import annotations

import json

import jsonschema
import pytest

from mlgov.cli.doctor import CHECK_NAMES
from tests.e2e import demo
from tests.e2e.conftest import REPO

REPORT_SCHEMA = json.loads((REPO / "lambdas/mlgov/data/scan_report.schema.json").read_text())


@pytest.fixture(scope="module")
def outcome(templates, tmp_path_factory):
    lines: list[str] = []
    out = tmp_path_factory.mktemp("demo-out")
    result = demo.run_demo(templates, out, say=lines.append)
    return result, lines, out


def _finding(report: dict, name: str) -> dict:
    [found] = [f for f in report["findings"] if f["name"] == name]
    return found


def test_doctor_passes_every_check_on_the_deployed_installation(outcome):
    result, _, _ = outcome
    assert result.doctor_exit == 0, result.doctor_lines
    statuses = {
        line.split()[1]: line.split()[0] for line in result.doctor_lines if line[:4] in ("OK  ", "FAIL", "SKIP")
    }
    assert set(statuses) == set(CHECK_NAMES)
    assert set(statuses.values()) == {"OK"}


def test_every_create_is_routed_to_the_auto_tagger_and_tagged_without_overwriting(outcome):
    result, _, _ = outcome
    assert result.tagger_errors == []
    assert result.ledger_rows == sum(job.kind == "training-job" for job in demo.JOBS)  # job state changes → ledger
    endpoints = {e.name: e for e in demo.ENDPOINTS}
    created = len(demo.ENDPOINTS) + len(demo.NOTEBOOKS) + len(demo.JOBS)
    assert len(result.tagged) == created
    for arn, tags in result.tagged.items():
        assert tags["mlgov:created-at"] and tags["mlgov:creator-arn"].startswith("arn:aws:"), arn
        if ":endpoint/" in arn or ":notebook-instance/" in arn:  # persistent: set by the person or defaulted
            assert tags.get("auto-delete-after"), arn
    for name, endpoint in endpoints.items():
        tags = next(t for a, t in result.tagged.items() if a.endswith(f":endpoint/{name}"))
        assert tags["last-invoked"] == "never"
        assert tags["mlgov:created-by"] == endpoint.creator
        for key, value in endpoint.tags.items():  # a tag a person set is never overwritten
            assert tags[key] == value, (name, key)


def test_the_scan_finds_the_zombies_with_their_costs_and_spares_the_busy_and_the_new(outcome):
    result, _, _ = outcome
    report = result.report
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(report)
    zombies = {f["name"] for f in report["findings"] if f["status"] == "zombie"}
    assert zombies == {e.name for e in demo.ENDPOINTS if e.usage == "idle"}
    for endpoint in demo.ENDPOINTS:
        if endpoint.usage != "idle":
            assert _finding(report, endpoint.name)["status"] == "active", endpoint.name
    # 1 × ml.g4dn.12xlarge at the checked-in us-east-1 hosting price × 730 h (one month, whatever the calendar month)
    llm = _finding(report, "llm-playground")
    assert llm["waste_usd_month"] == pytest.approx(llm["evidence"]["hourly_usd"] * 730, abs=0.01)
    assert llm["waste_usd_month"] > 1000
    # eu-west-1 is not in the checked-in price table: the cost is unknown, never a made-up number
    assert _finding(report, "vision-demo-eu")["monthly_cost_usd"] is None
    exempt = _finding(report, "legacy-forecast")["evidence"]["exempt"]
    assert exempt.startswith("exempted by arn:aws:sts::") and exempt.endswith(": regulatory-hold")
    accounts = set(report["scope"]["accounts"])
    assert set(demo.MEMBERS) <= accounts and report["scope"]["regions"] == ["eu-west-1", "us-east-1"]


def test_billed_cost_from_the_focus_export_sits_next_to_the_estimate(outcome):
    result, lines, _ = outcome
    billed = result.report["billed"]
    priced_endpoints = [
        f for f in result.report["findings"] if f["resource_type"] == "endpoint" and f["monthly_cost_usd"]
    ]
    assert billed["matched_findings"] == len(priced_endpoints) > 0
    # prod endpoints run under the Savings Plan: billed 0 on the resource (usage + negation; the fee carries no
    # resource), effective 72 % of the list price; the others are billed their list price
    assert any(f["tags"].get("ml:environment") == "prod" for f in priced_endpoints)
    assert billed["billed_cost_usd"] < billed["effective_cost_usd"] < billed["estimated_usd_month"]
    assert any(line.strip().startswith("team ") for line in lines)


def test_one_zombie_is_approved_snapshotted_deleted_and_restored_one_rejected_the_rest_untouched(outcome):
    result, _, _ = outcome
    output = result.scan_output
    waiting = {e.name for e in demo.ENDPOINTS if e.usage == "idle"} - {"legacy-forecast"}  # exempt: no approval
    assert output["approvals_started"] == len(waiting)
    assert set(result.approvals) == waiting
    decided = {e.name for e in demo.ENDPOINTS if e.decision}
    assert decided == {"fraud-xgb-staging", "churn-bert-dev", "vision-demo-eu"}
    assert {result.approvals[n] for n in decided} == {"SUCCEEDED"}
    assert {result.approvals[n] for n in waiting - decided} == {"RUNNING"}  # llm-playground awaits an answer
    assert result.deleted == ["fraud-xgb-staging"]
    prefix = "snapshots/333333333333/us-east-1/fraud-xgb-staging/"
    assert any(k.startswith(prefix) and k.endswith("manifest.json") for k in result.snapshot_objects)
    assert any(k.startswith(prefix) and k.endswith("model.tar.gz") for k in result.snapshot_objects)
    assert result.restored == ["fraud-xgb-staging"]  # under its own name, reusing the config the flow kept
    assert result.endpoint_tags["churn-bert-dev"]["mlgov:exempt"].startswith("rejected by U0PLATFORM1")
    snoozed = result.endpoint_tags["vision-demo-eu"]["mlgov:exempt"]
    assert snoozed.startswith("snoozed by U0PLATFORM1") and " until " in snoozed
    for name in ("legacy-forecast", "churn-xgb-prod", "recsys-ranker-prod", "fresh-endpoint", "llm-playground"):
        assert name in result.surviving_endpoints
        assert result.endpoint_tags[name].get("mlgov:zombie") != "confirmed"


def test_the_demo_prints_each_stage_and_writes_the_report(outcome):
    result, lines, out = outcome
    assert [line.split(" ", 2)[1] for line in lines if line.startswith("== ") and "/8" in line] == [
        f"{n}/8" for n in range(1, 9)
    ]
    assert json.loads((out / "report.json").read_text()) == result.report
    html = (out / "report.html").read_text()
    assert "llm-playground" in html and "<svg" in html and "http://" not in html.split("<body", 1)[1]


def test_one_night_of_schedules_and_one_budget_alert(outcome):
    result, lines, _ = outcome
    night, morning = result.schedule_outcomes
    assert (night["action"], night["outcome"], night["target_counts"]) == ("scale_down", "applied", {"AllTraffic": 1})
    assert (morning["action"], morning["outcome"], morning["target_counts"]) == (
        "scale_up",
        "applied",
        {"AllTraffic": 3},
    )
    assert result.scheduled_instances == [1, 3]
    budgets = result.report["budgets"]["teams"]
    assert budgets["churn"]["forecast_pct"] >= 100 and budgets["recsys"]["forecast_pct"] < 80
    [alert] = result.budget_alerts
    assert alert.startswith("Budget 100%: team churn is forecast to spend")
    assert any(line.strip().startswith("Slack: Budget 100%") for line in lines)
