"""Costs around the endpoints, through the real wiring on moto: DescribeModel for each model the running endpoints
serve, one batched GetMetricData read (log ingestion, loaded models, bucket size), the report's `around` blocks
checked against hand computations; the cost export's lines for log groups and buckets replacing the estimates."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import jsonschema
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from mlgov.aws.cost_export import DuckDbExport
from mlgov.domain.around_costs import BYTES_PER_GB
from mlgov.domain.cost_export import CostExportError, resource_cost_query
from mlgov.price_files import load_price_table
from mlgov.services.around_costs import measure_around
from mlgov.services.costs import add_billed_costs
from mlgov.services.scan import ScanRequest, discover, report, scan_sessions
from tests.samples.focus_export import Charge, write_focus_parquet

pytestmark = pytest.mark.aws

ACCOUNT, REGION = "123456789012", "us-east-1"
NOW = datetime(2026, 11, 20, tzinfo=UTC)  # a midnight: the 30-day window is exactly 30 days
BUCKET = "ml-artifacts-123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sagemaker"
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "lambdas/mlgov/data/scan_report.schema.json").read_text())


def _model(sagemaker, name: str, url: str, mode: str = "SingleModel") -> None:
    container = {"Image": "123.dkr.ecr.us-east-1.amazonaws.com/x:1", "ModelDataUrl": url, "Mode": mode}
    sagemaker.create_model(ModelName=name, PrimaryContainer=container, ExecutionRoleArn=ROLE)


def _endpoint(sagemaker, name: str, model: str) -> None:
    variant = {"VariantName": "AllTraffic", "ModelName": model, "InstanceType": "ml.m5.xlarge",
               "InitialInstanceCount": 1}  # fmt: skip
    sagemaker.create_endpoint_config(EndpointConfigName=f"{name}-config", ProductionVariants=[variant])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")


def _daily(cloudwatch, namespace: str, metric: str, dimensions: dict, values: list[float]) -> None:
    """One datapoint a day, the last one yesterday noon."""
    data = [
        {
            "MetricName": metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            "Timestamp": NOW - timedelta(days=len(values) - i, hours=-12),
            "Value": value,
        }
        for i, value in enumerate(values)
    ]
    cloudwatch.put_metric_data(Namespace=namespace, MetricData=data)


@pytest.fixture
def fleet():
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        sagemaker, cloudwatch = session.client("sagemaker"), session.client("cloudwatch")
        _model(sagemaker, "churn-model", f"s3://{BUCKET}/churn/model.tar.gz")
        _model(sagemaker, "many-models", f"s3://{BUCKET}/mme/", mode="MultiModel")
        _model(sagemaker, "gone-model", "s3://elsewhere/x.tar.gz")
        _endpoint(sagemaker, "churn", "churn-model")
        _endpoint(sagemaker, "mme", "many-models")
        _endpoint(sagemaker, "orphan", "gone-model")
        sagemaker.delete_model(ModelName="gone-model")  # the endpoint keeps running the deleted model
        from moto.sagemaker.models import sagemaker_backends

        for stored in sagemaker_backends[ACCOUNT][REGION].endpoints.values():  # older than the 30-day window
            stored.creation_time = stored.last_modified_time = (NOW - timedelta(days=90)).replace(tzinfo=None)
        _daily(cloudwatch, "AWS/Logs", "IncomingBytes", {"LogGroupName": "/aws/sagemaker/Endpoints/churn"},
               [float(BYTES_PER_GB)] * 30)  # fmt: skip
        _daily(cloudwatch, "AWS/S3", "BucketSizeBytes", {"BucketName": BUCKET, "StorageType": "StandardStorage"},
               [50.0 * BYTES_PER_GB, 100.0 * BYTES_PER_GB])  # fmt: skip
        _daily(cloudwatch, "AWS/SageMaker", "LoadedModelCount", {"EndpointName": "mme", "VariantName": "AllTraffic"},
               [3.0, 12.0, 7.0])  # fmt: skip
        yield session


def _scan(session, real_schema):
    request = ScanRequest(regions=[REGION], resource_types=["endpoint"])
    result = discover(session, request, NOW)
    measured, errors = measure_around(scan_sessions(session, request, ACCOUNT), result.resources, NOW)
    result.errors.extend(errors)
    document, _ = report(result, request, load_price_table(), real_schema, NOW, around=measured)
    return document, measured


def test_logs_and_artifact_bucket_are_estimated_from_cloudwatch_and_the_bucket_counted_once(fleet, real_schema):
    calls: list[str] = []
    fleet.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))
    document, _ = _scan(fleet, real_schema)
    # the reads around 3 endpoints: one DescribeModel per model, one GetMetricData for every metric
    assert calls.count("DescribeModel") == 3 and calls.count("GetMetricData") == 1
    jsonschema.validate(document, SCHEMA)
    findings = {f["name"]: f for f in document["findings"]}
    logs = findings["churn"]["around"]["logs"]
    # 30 GiB in 30 days, scaled to a 730-hour month (30.4167 days) × $0.50/GB.
    assert logs["gb_month"] == pytest.approx(30.417, abs=0.001)
    assert logs["usd_month"] == 15.21
    assert logs["source"] == "estimated"
    (artifacts,) = findings["churn"]["around"]["artifacts"]
    # The latest daily size, 100 GiB × $0.023; the bucket also holds the multi-model endpoint's models.
    assert (artifacts["bucket"], artifacts["gb"], artifacts["usd_month"]) == (BUCKET, 100.0, 2.3)
    assert artifacts["shared_by_endpoints"] == 2
    assert document["around"]["artifact_buckets_usd_month"] == {"billed": 0.0, "estimated": 2.3}
    assert document["around"]["logs_usd_month"] == {"billed": 0.0, "estimated": 15.21}
    assert document["summary"]["monthly_cost_usd"] == round(3 * 0.23 * 730, 2)  # around costs are not instance costs


def test_an_endpoint_without_log_datapoints_ingests_nothing_and_a_deleted_model_leaves_artifacts_unknown(
    fleet, real_schema
):
    findings = {f["name"]: f for f in _scan(fleet, real_schema)[0]["findings"]}
    assert findings["mme"]["around"]["logs"]["usd_month"] == 0.0
    orphan = findings["orphan"]["around"]
    assert orphan["artifacts"] == []
    assert orphan["artifacts_unknown"] == "model gone-model was deleted: its artifact location is unknown"


def test_a_multi_model_endpoint_is_shared_by_the_most_models_it_loaded(fleet, real_schema):
    findings = {f["name"]: f for f in _scan(fleet, real_schema)[0]["findings"]}
    shared = findings["mme"]["shared"]
    assert (shared["kind"], shared["members"], shared["allocated_usd_month"]) == ("multi-model", 12, None)
    assert "shared" not in findings["churn"]


def test_the_cost_exports_lines_replace_the_estimates_as_billed(fleet, real_schema, tmp_path):
    document, measured = _scan(fleet, real_schema)
    log_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/sagemaker/Endpoints/churn"
    november = datetime(2026, 10, 15, tzinfo=UTC)  # the last full month before NOW is October
    charges = [
        Charge(3.0, 2.5, 3.0, november, service="Amazon Simple Storage Service", resource=BUCKET),
        Charge(1.25, 1.25, 1.25, november, service="Amazon Simple Storage Service", resource=BUCKET),
        Charge(9.99, 9.99, 9.99, november, service="AmazonCloudWatch", resource=log_group),
        Charge(500.0, 500.0, 500.0, november, service="Amazon Simple Storage Service", resource="other-bucket"),
    ]
    export = DuckDbExport(str(write_focus_parquet(tmp_path / "focus.parquet", charges)))
    billed = add_billed_costs(document, export, NOW, real_schema, measured)
    jsonschema.validate(billed, SCHEMA)
    churn = next(f for f in billed["findings"] if f["name"] == "churn")["around"]
    assert (churn["logs"]["usd_month"], churn["logs"]["source"]) == (9.99, "billed")
    assert (churn["artifacts"][0]["usd_month"], churn["artifacts"][0]["source"]) == (4.25, "billed")
    assert billed["around"]["artifact_buckets_usd_month"] == {"billed": 4.25, "estimated": 0.0}
    assert billed["around"]["logs_usd_month"] == {"billed": 9.99, "estimated": 0.0}


def test_a_resource_id_that_is_not_a_plain_name_never_reaches_the_sql():
    from mlgov.domain.cost_export import DUCKDB, MAP, Dialect, month_of

    dialect = Dialect(DUCKDB, MAP)
    with pytest.raises(CostExportError, match="no resource id"):
        resource_cost_query("t", ["bucket'); DROP TABLE x; --"], month_of("2026-10"), dialect)
    ids = ["My-Bucket", "evil'bucket", "arn:aws:logs:us-east-1:1:log-group:/a/b:*", "bucket\n"]
    sql = resource_cost_query("t", ids, month_of("2026-10"), dialect)
    assert "IN ('arn:aws:logs:us-east-1:1:log-group:/a/b:*', 'my-bucket')" in sql  # the unsafe ones left out


def test_a_cloudwatch_that_refuses_leaves_the_figures_unknown_and_says_why(real_schema):
    from mlgov.aws.sessions import AccountSessions
    from mlgov.domain.inventory import Resource, Variant

    endpoint = Resource(
        arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/e",
        account=ACCOUNT,
        region=REGION,
        resource_type="endpoint",
        name="e",
        status="InService",
        created=NOW - timedelta(days=90),
        running=True,
        instance_type="ml.m5.xlarge",
        instance_count=1,
        variants=(Variant("AllTraffic", "ml.m5.xlarge", 1),),
        details={"model_names": ["m"]},
    )
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)

    class Sessions(AccountSessions):
        def __init__(self):
            pass

        def client(self, service, account, region):
            return {"sagemaker": sagemaker, "cloudwatch": cloudwatch}[service]

    with Stubber(sagemaker) as sm, Stubber(cloudwatch) as cw:
        sm.add_response(
            "describe_model",
            {
                "ModelName": "m",
                "ModelArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/m",
                "CreationTime": NOW,
                "PrimaryContainer": {"ModelDataUrl": f"s3://{BUCKET}/m.tar.gz"},
            },  # fmt: skip
            {"ModelName": "m"},
        )
        cw.add_client_error("get_metric_data", "AccessDenied", "not authorized to perform cloudwatch:GetMetricData")
        measured, errors = measure_around(Sessions(), [endpoint], NOW)
    assert [e.operation for e in errors] == ["GetMetricData"]
    assert "AccessDenied" in errors[0].message
    assert measured.log_bytes == {endpoint.arn: None}
    assert measured.artifacts == {endpoint.arn: (BUCKET,)}
    assert measured.bucket_bytes == {}


def test_mlgov_scan_around_reports_them_from_the_command_line(fleet, tmp_path, capsys, monkeypatch):
    from mlgov.cli import main

    monkeypatch.setattr("mlgov.cli.datetime", _FrozenDatetime)
    output = tmp_path / "scan.json"
    argv = ["scan", "--regions", REGION, "--types", "endpoint", "--around", "--offline", "--no-cache"]
    assert main([*argv, "--format", "json", "--output", str(output)]) == 0
    document = json.loads(output.read_text())
    jsonschema.validate(document, SCHEMA)
    assert document["around"]["logs_usd_month"]["estimated"] == 15.21
    assert main([*argv]) == 0
    assert (
        "around the endpoints (not in the totals): logs $0.00 billed + $15.21 estimated/month"
        in capsys.readouterr().out
    )


class _FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        return NOW
