"""Billed cost from a FOCUS 1.2 export: DuckDB over a Parquet file built here (credits, a refund, Savings Plans
usage + negation + fee, tax, untagged usage, another service, other months), totals checked against a hand
computation to the cent; the Athena path through botocore's Stubber with the result shapes Athena returns."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from mlgov.aws.cost_export import AthenaExport, DuckDbExport
from mlgov.domain.cost_export import ATHENA, MAP, CostExportError, Dialect, month_of
from mlgov.services.costs import billed_costs, billed_resources
from tests.samples.focus_export import Charge, write_focus_parquet

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
NOV = datetime(2026, 11, 10, tzinfo=UTC)
ENDPOINT = "arn:aws:sagemaker:us-east-1:111111111111:endpoint/churn"
TRAINING = "arn:aws:sagemaker:us-east-1:222222222222:training-job/pd-7"
NOTEBOOK = "arn:aws:sagemaker:us-east-1:222222222222:notebook-instance/lab"
EVERYWHERE = ("ml:team", "ml:model", "ml:experiment", "ml:environment")  # what the schema requires of every type
FRAUD = {
    "ml:team": "fraud",
    "ml:model": "churn",
    "ml:experiment": "e1",
    "ml:environment": "prod",
    "auto-delete-after": "2027-01-01",
}
# AWS writes user tags with its `user:` prefix in some exports; mlgov reads both spellings.
RISK = {"user:ml:team": "risk", "user:ml:model": "pd"}
CHARGES = [
    Charge(100.00, 100.00, 100.00, NOV, resource=ENDPOINT, tags=FRAUD),
    Charge(50.00, 30.00, 50.00, NOV, resource=ENDPOINT, tags=FRAUD, pricing="Committed"),  # covered by a SP
    Charge(-50.00, 0.00, 0.00, NOV, resource=ENDPOINT, tags=FRAUD, pricing="Committed"),  # its negation line
    Charge(30.00, 0.00, 0.00, NOV, category="Purchase", usage_type="SavingsPlanRecurringFee", hours=None),
    Charge(12.346, 12.346, 12.346, NOV, account="222222222222", resource=TRAINING, tags=RISK),
    Charge(7.50, 7.50, 7.50, NOV, account="222222222222", resource=NOTEBOOK),  # untagged
    Charge(-20.00, -20.00, 0.00, NOV, category="Credit", resource=None, hours=None),
    Charge(-5.00, -5.00, 0.00, NOV, category="Adjustment", charge_class="Correction", resource=ENDPOINT, tags=FRAUD),
    Charge(3.10, 3.10, 0.00, NOV, category="Tax", resource=None, region=None, hours=None),
    Charge(999.00, 999.00, 999.00, NOV, service="Amazon Elastic Compute Cloud", resource="i-0abc"),
    Charge(400.00, 400.00, 400.00, datetime(2026, 10, 31, 23, tzinfo=UTC), resource=ENDPOINT, tags=FRAUD),
    Charge(3.333, 3.333, 3.333, datetime(2026, 12, 1, 5, tzinfo=UTC), resource=ENDPOINT, tags=FRAUD),
    Charge(8.00, 8.00, 8.00, datetime(2026, 12, 2, 13, tzinfo=UTC), resource=ENDPOINT, tags=FRAUD),  # after NOW
]


@pytest.fixture
def export(tmp_path):
    return DuckDbExport(str(write_focus_parquet(tmp_path / "focus" / "part-0.parquet", CHARGES)))


def _by_key(report: dict) -> dict[str, dict]:
    return {row["key"]: row for row in report["rows"]}


def test_sagemaker_totals_equal_the_hand_computation_to_the_cent(export, real_schema):
    report = billed_costs(export, "account", NOW, real_schema)

    # November, SageMaker only: 100 + 50 - 50 + 30 + 12.346 + 7.50 - 20 - 5 + 3.10 billed;
    # 100 + 30 + 0 + 0 + 12.346 + 7.50 - 20 - 5 + 3.10 effective; 100 + 50 + 12.346 + 7.50 list.
    assert report["totals"] == {
        "billed_cost_usd": 127.95,
        "effective_cost_usd": 127.95,
        "list_cost_usd": 169.85,
        "month_to_date_billed_usd": 3.33,  # December 1st; the 13:00 row on the 2nd is after NOW
        "month_to_date_effective_usd": 3.33,
    }
    assert report["month"] == {"label": "2026-11", "start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"}
    by_account = _by_key(report)
    assert by_account["111111111111"]["billed_cost_usd"] == 108.10  # 100 + 50 - 50 + 30 - 20 - 5 + 3.10
    assert by_account["222222222222"]["billed_cost_usd"] == 19.85  # 12.346 + 7.50


def test_by_team_puts_fees_credits_tax_and_untagged_usage_under_none(export, real_schema):
    by_team = _by_key(billed_costs(export, "team", NOW, real_schema))

    assert by_team["fraud"]["billed_cost_usd"] == 95.00  # 100 + 50 - 50 - 5
    assert by_team["fraud"]["effective_cost_usd"] == 125.00  # 100 + 30 + 0 - 5: the Savings Plan rate
    assert by_team["risk"]["billed_cost_usd"] == 12.35  # found under user:ml:team
    assert by_team["(none)"]["billed_cost_usd"] == 20.60  # 30 + 7.50 - 20 + 3.10
    assert by_team["(none)"]["effective_cost_usd"] == -9.40  # 0 + 7.50 - 20 + 3.10
    assert list(by_team) == ["fraud", "(none)", "risk"]  # largest billed first


def test_tag_compliance_is_weighted_by_usage_dollars(export, real_schema):
    report = billed_costs(export, "model", NOW, real_schema)

    # usage effective cost with the four ml:* tags every type needs: 100 + 30 + 0; all usage: + 12.346 (only two
    # of them) + 7.50 (none)
    assert report["tag_compliance_usd_pct"] == pytest.approx(round(130 / 149.846 * 100, 1))
    # on-demand equivalent of usage under the Savings Plan: 50 of 100 + 50 + 0 + 12.346 + 7.50
    assert report["savings_plan_coverage_pct"] == pytest.approx(round(50 / 169.846 * 100, 1))
    # in hours: the covered hour of 4 usage hours (endpoint on demand, endpoint covered, training, notebook); the
    # negation line's hour is the covered one again and is not counted twice
    assert report["savings_plan_coverage_hours"] == {"committed_hours": 1.0, "not_covered_hours": 3.0, "pct": 25.0}


def test_an_explicit_month_and_the_resources_billed_in_the_last_full_month(export, real_schema):
    october = billed_costs(export, "resource", NOW, real_schema, month=month_of("2026-10"))
    month, resources = billed_resources(export, NOW)

    assert _by_key(october)[ENDPOINT]["billed_cost_usd"] == 400.00
    assert month.label == "2026-11"
    assert resources[ENDPOINT] == (95.00, 125.00)
    assert resources[NOTEBOOK] == (7.50, 7.50) and "i-0abc" not in resources


def test_tags_stored_as_json_strings_read_the_same(tmp_path, export, real_schema):
    as_json = DuckDbExport(str(write_focus_parquet(tmp_path / "json.parquet", CHARGES, tags_as_json=True)))

    from_json = billed_costs(as_json, "team", NOW, real_schema)
    assert from_json["rows"] == billed_costs(export, "team", NOW, real_schema)["rows"]


def test_a_file_that_is_not_a_focus_export_is_one_line(tmp_path):
    import duckdb

    path = tmp_path / "cur.parquet"
    duckdb.connect().execute(f"COPY (SELECT 1.0 AS line_item_unblended_cost) TO '{path}' (FORMAT parquet)")

    with pytest.raises(CostExportError, match=r"is not a FOCUS export: no column BilledCost, EffectiveCost"):
        DuckDbExport(str(path))
    with pytest.raises(CostExportError, match="no cost export at"):
        DuckDbExport(str(tmp_path / "missing"))


# ---- Athena ---------------------------------------------------------------------------------------------------


def _athena_columns() -> list[dict]:
    """Glue's column list for the FOCUS table as the hub defines it (names lower-cased by Glue)."""
    types = {"billedcost": "double", "effectivecost": "double", "listcost": "double", "chargeperiodstart": "timestamp",
             "tags": "map<string,string>", "consumedquantity": "double"}  # fmt: skip
    names = ["billedcost", "effectivecost", "listcost", "resourceid", "subaccountid", "regionid", "servicename",
             "chargecategory", "chargeperiodstart", "pricingcategory", "consumedquantity", "consumedunit", "tags",
             "x_usagetype"]  # fmt: skip
    return [{"Name": name, "Type": types.get(name, "string")} for name in names]


def _stub_table(stubber: Stubber) -> None:
    stubber.add_response(
        "get_table_metadata",
        {"TableMetadata": {"Name": "focus", "Columns": _athena_columns()}},
        {"CatalogName": "AwsDataCatalog", "DatabaseName": "mlgov_costs", "TableName": "focus"},
    )


def _result_page(header: list[str], rows: list[tuple], types: list[str], token: str | None = None) -> dict:
    def cells(values):
        return {"Data": [{} if v is None else {"VarCharValue": str(v)} for v in values]}

    page = {
        "UpdateCount": 0,
        "ResultSet": {
            "Rows": ([cells(header)] if header else []) + [cells(row) for row in rows],
            "ResultSetMetadata": {
                "ColumnInfo": [{"Name": name, "Type": kind} for name, kind in zip(header or types, types, strict=False)]
            },
        },
    }
    return page | ({"NextToken": token} if token else {})


def _stub_query(stubber: Stubber, sql: str, execution: str, pages: list[dict]) -> None:
    stubber.add_response(
        "start_query_execution",
        {"QueryExecutionId": execution},
        {
            "QueryString": sql,
            "QueryExecutionContext": {"Database": "mlgov_costs", "Catalog": "AwsDataCatalog"},
            "WorkGroup": "mlgov",
        },
    )
    for state in ("RUNNING", "SUCCEEDED"):
        stubber.add_response(
            "get_query_execution",
            {"QueryExecution": {"QueryExecutionId": execution, "Status": {"State": state}}},
            {"QueryExecutionId": execution},
        )
    for index, page in enumerate(pages):
        params = {"QueryExecutionId": execution} | ({"NextToken": f"t{index}"} if index else {})
        stubber.add_response("get_query_results", page, params)


def test_athena_runs_the_athena_dialect_and_reports_what_duckdb_reports(export, real_schema):
    """The same questions through Athena: the hub's Glue table, results read back as Athena returns them (strings,
    a header row, pages). Fed the rows DuckDB computed, the report is identical."""
    from mlgov.domain.cost_export import compliance_query, cost_query, last_full_month, month_to_date

    duck = billed_costs(export, "team", NOW, real_schema)
    dialect = Dialect(ATHENA, MAP, quantities=True)  # the hub's Glue table has ConsumedQuantity/ConsumedUnit
    source = '"mlgov_costs"."focus"'
    month, current = last_full_month(NOW), month_to_date(NOW)
    cost_sql = cost_query(source, "team", month, current, dialect)
    raw = export.rows(cost_query(export.source, "team", month, current, export.dialect))
    compliance = export.rows(compliance_query(export.source, EVERYWHERE, month, export.dialect))
    header = ["dimension", "billed", "effective", "list", "billed_mtd", "effective_mtd", "list_mtd"]
    types = ["varchar"] + ["double"] * 6
    client = boto3.client("athena", region_name="us-east-1")
    with Stubber(client) as stubber:
        _stub_table(stubber)
        _stub_query(
            stubber,
            cost_sql,
            "q-1",
            [_result_page(header, raw[:2], types, token="t1"), _result_page([], raw[2:], types)],
        )
        _stub_query(
            stubber,
            compliance_query(source, EVERYWHERE, month, dialect),
            "q-2",
            [
                _result_page(
                    ["tagged", "total", "committed", "on_demand_equivalent", "committed_hours", "hours"],
                    compliance,
                    ["double"] * 6,
                )
            ],
        )
        athena = AthenaExport(client, "mlgov_costs", "focus", "mlgov", sleep=lambda _: None)
        report = billed_costs(athena, "team", NOW, real_schema)
        stubber.assert_no_pending_responses()

    assert "element_at(Tags, 'ml:team')" in cost_sql and "Tags['ml:team']" not in cost_sql
    assert "billing_period IN ('2026-11', '2026-12')" in cost_sql  # partition projection reads two months
    assert tuple(rule.key for rule in real_schema.rules if rule.applies_to is None) == EVERYWHERE
    assert {k: v for k, v in report.items() if k != "source"} == {k: v for k, v in duck.items() if k != "source"}
    assert report["source"] == "athena://mlgov/mlgov_costs.focus"


def test_a_failed_athena_query_is_one_line_with_athenas_reason():
    client = boto3.client("athena", region_name="us-east-1")
    with Stubber(client) as stubber:
        _stub_table(stubber)
        stubber.add_response("start_query_execution", {"QueryExecutionId": "q-9"})
        stubber.add_response(
            "get_query_execution",
            {
                "QueryExecution": {
                    "QueryExecutionId": "q-9",
                    "Status": {"State": "FAILED", "StateChangeReason": "HIVE_BAD_DATA: malformed Parquet"},
                }
            },
        )
        athena = AthenaExport(client, "mlgov_costs", "focus", "mlgov", sleep=lambda _: None)
        with pytest.raises(CostExportError, match="^Athena query q-9 FAILED: HIVE_BAD_DATA: malformed Parquet$"):
            athena.rows("SELECT 1")


def test_the_report_is_json_serializable(export, real_schema):
    assert json.loads(json.dumps(billed_costs(export, "environment", NOW, real_schema)))["by"] == "environment"


# ---- the CLI -----------------------------------------------------------------------------------------------------


def test_mlgov_costs_prints_every_format_from_the_same_report(tmp_path, capsys, instant):
    from mlgov.cli import main

    path = write_focus_parquet(tmp_path / "focus.parquet", CHARGES)
    outputs = {fmt: tmp_path / f"costs.{fmt}" for fmt in ("json", "csv", "html")}
    for fmt, output in outputs.items():
        argv = ["costs", "--cost-export", str(path), "--by", "team", "--month", "2026-11", "--format", fmt]
        assert main([*argv, "--output", str(output)]) == 0
    assert main(["costs", "--cost-export", str(path), "--by", "account", "--month", "2026-11"]) == 0

    document = json.loads(outputs["json"].read_text())
    assert {row["key"]: row["billed_cost_usd"] for row in document["rows"]} == {
        "fraud": 95.0,
        "(none)": 20.6,
        "risk": 12.35,
    }
    # the month columns (the month-to-date ones follow the test clock)
    assert outputs["csv"].read_text().splitlines()[1].startswith("fraud,95.0,125.0,150.0,")
    assert "<td>fraud</td><td>$95.00</td>" in outputs["html"].read_text()
    table = capsys.readouterr().out
    assert "111111111111" in table and "$127.95" in table and "tag compliance" in table
    assert "Savings Plans coverage in hours: 25.0% — 1.0 covered, 3.0 not covered" in table
    assert "25.0% of hours: 1.0 covered, 3.0 not covered" in outputs["html"].read_text()


def test_mlgov_costs_explains_a_bad_month_and_a_missing_export_in_one_line(tmp_path, capsys):
    from mlgov.cli import main

    path = write_focus_parquet(tmp_path / "focus.parquet", CHARGES)

    assert main(["costs", "--cost-export", str(path), "--month", "November"]) == 2
    assert main(["costs", "--cost-export", str(tmp_path / "nope.parquet")]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert errors == [
        "mlgov: error: --month must be YYYY-MM, got 'November'",
        f"mlgov: error: no cost export at {tmp_path / 'nope.parquet'}",
    ]


def test_scan_with_a_cost_export_shows_billed_next_to_the_estimate(tmp_path, monkeypatch, instant):
    from moto import mock_aws

    from mlgov.cli import main
    from tests.aws.test_live_prices import _fleet

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        _fleet(instant)
        arn = boto3.client("sagemaker", region_name="us-east-1").describe_endpoint(EndpointName="c5")["EndpointArn"]
        month = datetime(instant.year, instant.month, 1, tzinfo=UTC)
        last_month = datetime(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 3, tzinfo=UTC)
        export = write_focus_parquet(
            tmp_path / "focus.parquet",
            [
                Charge(73.44, 60.00, 73.44, last_month, account="123456789012", resource=arn.upper(), tags=FRAUD),
                Charge(-3.44, -3.44, 0.0, last_month, account="123456789012", resource=arn, category="Credit"),
            ],
        )
        output = tmp_path / "scan.json"
        argv = ["scan", "--regions", "us-east-1", "--types", "endpoint", "--offline", "--format", "json"]
        assert main([*argv, "--cost-export", str(export), "--output", str(output)]) == 0

    document = json.loads(output.read_text())
    (finding,) = document["findings"]
    assert (finding["billed_cost_usd"], finding["effective_cost_usd"]) == (70.0, 56.56)
    assert document["billed"]["matched_findings"] == 1 and document["billed"]["billed_cost_usd"] == 70.0
    assert document["billed"]["month"] == last_month.strftime("%Y-%m")
    assert document["billed"]["tag_compliance_usd_pct"] == 100.0  # the endpoint carries every required tag
    import jsonschema

    from tests.aws.test_scan import REPORT_SCHEMA

    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(document)


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Los_Angeles"])
def test_month_boundaries_are_utc_whatever_the_laptops_time_zone(tmp_path, zone):
    """AWS's Parquet timestamps read as TIMESTAMP WITH TIME ZONE: a charge at 22:00 UTC on November 30th is
    November's in Tokyo and in Los Angeles too (DuckDB takes the zone from the process: a fresh interpreter)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    charges = [
        Charge(10.00, 10.00, 10.00, datetime(2026, 11, 1, 2, tzinfo=UTC), resource=ENDPOINT, tags=FRAUD),
        Charge(20.00, 20.00, 20.00, datetime(2026, 11, 30, 22, tzinfo=UTC), resource=ENDPOINT, tags=FRAUD),
        Charge(40.00, 40.00, 40.00, datetime(2026, 12, 1, 0, 30, tzinfo=UTC), resource=ENDPOINT, tags=FRAUD),
    ]
    path = write_focus_parquet(tmp_path / "zoned.parquet", charges, zoned=True)
    repo = Path(__file__).resolve().parents[2]
    code = (
        "import json; from datetime import datetime, UTC\n"
        "from mlgov.aws.cost_export import DuckDbExport\n"
        "from mlgov.packaged_schema import load_packaged_schema\n"
        "from mlgov.services.costs import billed_costs\n"
        f"export = DuckDbExport({str(path)!r})\n"
        "report = billed_costs(export, 'team', datetime(2026, 12, 2, 12, tzinfo=UTC), load_packaged_schema())\n"
        "print(json.dumps([export.dialect.zoned, report['totals']]))\n"
    )
    environment = {**os.environ, "TZ": zone, "PYTHONPATH": f"{repo}{os.pathsep}{repo / 'lambdas'}"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True)

    zoned, totals = json.loads(done.stdout.strip().splitlines()[-1])
    assert zoned is True
    assert totals["billed_cost_usd"] == 30.0 and totals["month_to_date_billed_usd"] == 40.0
