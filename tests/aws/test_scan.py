"""`mlgov scan` on moto across accounts and regions: a denied account is an error entry, the rest is complete."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import boto3
import jsonschema
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from mlgov.cli import main
from mlgov.price_files import load_price_table
from mlgov.services.scan import ScanRequest, ScanSetupError, discover, report
from tests.samples.tags import required_tags

CALLER = "123456789012"  # moto's default account
MEMBER = "333333333333"
DENIED = "444444444444"
REGIONS = ["us-east-1", "eu-west-1"]
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # the ledger rows' scan (pure data); moto's resources use `instant`
REPORT_SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "lambdas/mlgov/data/scan_report.schema.json").read_text()
)


def tags_at(now: datetime) -> list[dict[str, str]]:
    """Every required tag, with a lifetime that ends 60 days after `now`, as a Tags list."""
    tags = required_tags(now, keep_days=60, created_by="alice@example.com")
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def _session_in(account: str, region: str) -> boto3.Session:
    if account == CALLER:
        return boto3.Session(region_name=region)
    credentials = boto3.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/setup", RoleSessionName="setup"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def _endpoint(account: str, region: str, name: str, count: int, tags: list[dict[str, str]]) -> None:
    sm = _session_in(account, region).client("sagemaker")
    image = f"{account}.dkr.ecr.{region}.amazonaws.com/xgboost:1"
    role = f"arn:aws:iam::{account}:role/SageMakerExecution"
    sm.create_model(ModelName=f"{name}-model", ExecutionRoleArn=role, PrimaryContainer={"Image": image}, Tags=tags)
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{name}-model",
                "InitialInstanceCount": count,
                "InstanceType": "ml.m5.xlarge",
            }
        ],
        Tags=tags,
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config", Tags=tags)


@pytest.fixture
def organization(instant):
    """Endpoints in three accounts, created at the test instant (the process clock is there for the test)."""
    tags = tags_at(instant)
    with mock_aws():
        _endpoint(CALLER, "us-east-1", "hub-churn", 1, tags)
        _endpoint(MEMBER, "us-east-1", "member-churn", 2, tags)
        _endpoint(MEMBER, "us-east-1", "member-untagged", 1, tags=[{"Key": "owner", "Value": "nobody"}])
        _endpoint(MEMBER, "eu-west-1", "member-eu", 1, tags)  # the checked-in price table has no eu-west-1 prices
        _endpoint(DENIED, "us-east-1", "hidden", 4, tags)
        session = boto3.Session(region_name="us-east-1")

        def deny_assuming_into_the_denied_account(params, **_):
            if f":{DENIED}:" in params.get("RoleArn", ""):
                raise ClientError(
                    {"Error": {"Code": "AccessDenied", "Message": f"not authorized to assume a role in {DENIED}"}},
                    "AssumeRole",
                )

        session.events.register("provide-client-params.sts.AssumeRole", deny_assuming_into_the_denied_account)
        yield session


def _scan(session, accounts, real_schema, now: datetime) -> dict:
    request = ScanRequest(regions=REGIONS, accounts=accounts, assume_role="mlgov-spoke", resource_types=["endpoint"])
    return report(discover(session, request, now), request, load_price_table(), real_schema, now)[0]


def test_denied_account_is_an_error_entry_and_the_rest_is_complete(organization, real_schema, instant):
    full = _scan(organization, [CALLER, MEMBER, DENIED], real_schema, instant)
    allowed_only = _scan(organization, [CALLER, MEMBER], real_schema, instant)

    assert {(e["account"], e["region"]) for e in full["errors"]} == {(DENIED, r) for r in REGIONS}
    assert all("AccessDenied" in e["message"] for e in full["errors"])
    assert {f["name"] for f in full["findings"]} == {"hub-churn", "member-churn", "member-untagged", "member-eu"}
    assert full["summary"] == allowed_only["summary"]
    by_name = {f["name"]: f for f in full["findings"]}
    assert by_name["member-eu"]["monthly_cost_usd"] is None and "eu-west-1" in by_name["member-eu"]["evidence"]["cost"]
    priced = [f["monthly_cost_usd"] for f in full["findings"] if f["name"] != "member-eu"]
    assert None not in priced
    assert full["summary"]["monthly_cost_usd"] == pytest.approx(sum(priced), abs=0.02)
    assert full["attribution"]["unpriced_resources"] == 1


def test_costs_attribution_and_statuses_follow_the_tags(organization, real_schema, instant):
    document = _scan(organization, [CALLER, MEMBER], real_schema, instant)

    by_name = {f["name"]: f for f in document["findings"]}
    assert by_name["member-churn"]["instance_count"] == 2 and by_name["member-churn"]["instance_type"] == "ml.m5.xlarge"
    assert by_name["member-churn"]["monthly_cost_usd"] == pytest.approx(2 * by_name["hub-churn"]["monthly_cost_usd"])
    assert by_name["member-untagged"]["status"] == "untagged"
    assert by_name["hub-churn"]["status"] == "active" and by_name["hub-churn"]["owner"] == "alice@example.com"
    teams = document["attribution"]["by_tag"]["ml:team"]
    assert teams["fraud"] == pytest.approx(
        by_name["hub-churn"]["monthly_cost_usd"] + by_name["member-churn"]["monthly_cost_usd"], abs=0.02
    )
    assert teams["(untagged)"] == pytest.approx(by_name["member-untagged"]["monthly_cost_usd"], abs=0.02)
    assert document["summary"]["tag_compliance_pct"] == pytest.approx(75.0, abs=0.1)


def test_report_validates_against_the_checked_in_json_schema(organization, real_schema, instant):
    document = _scan(organization, [CALLER, MEMBER, DENIED], real_schema, instant)

    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(document)


def test_foreign_accounts_without_a_role_to_assume_are_refused(organization):
    request = ScanRequest(regions=REGIONS, accounts=[MEMBER])

    with pytest.raises(ScanSetupError, match="--assume-role"):
        discover(organization, request, NOW)


def test_cli_scan_writes_json_csv_and_table(organization, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    json_path, csv_path = tmp_path / "scan.json", tmp_path / "scan.csv"

    assert (
        main(["scan", "--regions", "us-east-1", "--types", "endpoint", "--format", "json", "--output", str(json_path)])
        == 0
    )
    assert (
        main(["scan", "--regions", "us-east-1", "--types", "endpoint", "--format", "csv", "--output", str(csv_path)])
        == 0
    )
    assert main(["scan", "--regions", "us-east-1", "--types", "endpoint"]) == 0

    document = json.loads(json_path.read_text())
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(document)
    assert [f["name"] for f in document["findings"]] == ["hub-churn"]
    assert csv_path.read_text().splitlines()[1].startswith("active,endpoint,hub-churn,")
    table = capsys.readouterr().out
    assert "hub-churn" in table and "tag compliance" in table

    html_path = tmp_path / "scan.html"
    argv = ["scan", "--regions", "us-east-1", "--types", "endpoint", "--format", "html", "--output", str(html_path)]
    assert main(argv) == 0
    page = html_path.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and document["scope"]["accounts"][0] in page


def test_cli_scan_without_credentials_exits_with_one_line(monkeypatch, tmp_path, capsys):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")

    code = main(["scan", "--regions", "us-east-1"])

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("mlgov: error:") and "Traceback" not in err[0]


def test_cli_scan_rejects_bad_arguments_with_one_line(capsys):
    code = main(["scan", "--regions", "us-east-1", "--workers", "0"])

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err == ["mlgov: error: --workers must be at least 1"]


def _ledger_row(name: str, account: str = CALLER, region: str = "us-east-1"):
    from mlgov.domain.costing import cost_of
    from mlgov.domain.inventory import Resource
    from mlgov.domain.ledger import ledger_item

    job = Resource(
        arn=f"arn:aws:sagemaker:{region}:{account}:training-job/{name}",
        account=account,
        region=region,
        resource_type="training-job",
        name=name,
        status="Completed",
        created=datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        tags={t["Key"]: t["Value"] for t in tags_at(NOW)},
        instance_type="ml.m5.xlarge",
        instance_count=2,
        started=datetime(2026, 11, 20, 9, 5, tzinfo=UTC),
        ended=datetime(2026, 11, 20, 10, 5, tzinfo=UTC),
        billable_seconds=3600,
        training_seconds=3600,
    )
    return ledger_item(job, cost_of(job, load_price_table(), NOW), price_as_of="2026-11-24", recorded_at=NOW)


def test_ledger_adds_finished_jobs_the_list_apis_forgot_without_duplicates(organization, real_schema):
    from mlgov.aws.ledger_table import LedgerTable

    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(
        TableName="ledger",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ledger = LedgerTable(dynamodb, "ledger")
    ledger.put_job_row(_ledger_row("forgotten-job"))
    ledger.put_job_row(_ledger_row("other-account-job", account="999999999999"))
    request = ScanRequest(
        regions=["us-east-1"], accounts=[CALLER], ledger_table="ledger", resource_types=["endpoint", "training-job"]
    )

    document, _ = report(discover(organization, request, NOW), request, load_price_table(), real_schema, NOW)

    jobs = [f for f in document["findings"] if f["resource_type"] == "training-job"]
    assert [j["name"] for j in jobs] == ["forgotten-job"]
    # 2 instances × 3600 s × $/h ÷ 3600
    hourly = load_price_table().hourly("ml.m5.xlarge", "us-east-1", "training").hourly_usd
    assert jobs[0]["evidence"]["run_cost_usd"] == pytest.approx(2 * hourly, abs=0.01)


def test_live_inventory_wins_over_a_ledger_row_for_the_same_job():
    from dataclasses import replace

    from mlgov.domain.ledger import resource_from_ledger_item
    from mlgov.services.scan import merge_ledger

    ledger_job = resource_from_ledger_item(_ledger_row("Same-Job"))
    live_job = replace(ledger_job, arn=ledger_job.arn.lower(), details={})

    merged = merge_ledger([ledger_job, live_job, ledger_job])

    assert merged == [live_job]


def test_cli_scan_with_zombies_marks_an_endpoint_without_any_metrics_unknown_never_zombie(
    organization, tmp_path, monkeypatch
):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    output = tmp_path / "zombies.json"

    code = main(
        [
            "scan",
            "--regions",
            "us-east-1",
            "--types",
            "endpoint",
            "--zombies",
            "--idle-days",
            "30",
            "--min-age-days",
            "0",
            "--format",
            "json",
            "--output",
            str(output),
        ]
    )

    assert code == 0
    (finding,) = json.loads(output.read_text())["findings"]
    assert finding["status"] == "unknown" and "AllTraffic" in finding["reason"]


def test_cli_scan_rejects_an_idle_window_beyond_cloudwatch_retention(organization, capsys):
    code = main(["scan", "--regions", "us-east-1", "--zombies", "--idle-days", "999"])

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "idle_days" in err[0]
