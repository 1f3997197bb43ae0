"""`mlgov scan --zombies` judge on moto: inventory → usage evidence → report, and a CloudWatch that refuses."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import boto3
import jsonschema
import pytest
import time_machine
from botocore.stub import Stubber
from moto import mock_aws

from mlgov.aws.inventory import SageMakerInventory
from mlgov.aws.sessions import AccountSessions
from mlgov.domain.costing import Cost
from mlgov.domain.inventory import Resource, Variant
from mlgov.domain.zombies import ZombiePolicy
from mlgov.price_files import load_price_table
from mlgov.services.scan import ScanRequest, ScanResult, UsageJudge, cloudwatch_clients, report
from tests.samples.tags import required_tags

CALLER, REGION = "123456789012", "us-east-1"
ROLE = f"arn:aws:iam::{CALLER}:role/SageMakerExecution"
IMAGE = f"{CALLER}.dkr.ecr.{REGION}.amazonaws.com/xgboost:1"
POLICY = ZombiePolicy(idle_days=30, min_age_days=7, idle_hours=24)
REPORT_SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "lambdas/mlgov/data/scan_report.schema.json").read_text()
)


@pytest.fixture
def now(instant) -> datetime:
    """The judge's "now": the test instant (the resources are made 40 days before it, old enough to judge)."""
    return instant


def tags_at(now: datetime) -> dict[str, str]:
    return required_tags(now, keep_days=60, created_by="alice@example.com")


def _tags(now: datetime, extra=None, drop=()) -> list[dict[str, str]]:
    tags = {k: v for k, v in {**tags_at(now), **(extra or {})}.items() if k not in drop}
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _endpoint(sm, name: str, variants: tuple[str, ...], tags) -> None:
    sm.create_model(ModelName=f"{name}-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {"VariantName": v, "ModelName": f"{name}-model", "InitialInstanceCount": 1, "InstanceType": "ml.m5.xlarge"}
            for v in variants
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config", Tags=tags)


def _put(
    cloudwatch, now: datetime, namespace: str, metric: str, endpoint: str, variant: str, days_ago: int, value: float
):
    stats = {"Sum": value, "SampleCount": 1440.0, "Minimum": 0.0, "Maximum": value}
    cloudwatch.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [{"Name": "EndpointName", "Value": endpoint}, {"Name": "VariantName", "Value": variant}],
                "Timestamp": now - timedelta(days=days_ago, hours=3),
                "StatisticValues": stats,
            }
        ],
    )


@pytest.fixture
def account(now):
    with mock_aws():
        sm = boto3.client("sagemaker", region_name=REGION)
        cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        with time_machine.travel(now - timedelta(days=40), tick=True):  # moto stamps CreationTime from the clock
            _endpoint(sm, "quiet-bg", ("blue", "green"), _tags(now))
            _endpoint(sm, "busy-ab", ("blue", "green"), _tags(now))
            _endpoint(sm, "dark", ("AllTraffic",), _tags(now))
            _endpoint(sm, "busy-untagged", ("AllTraffic",), _tags(now, drop=("ml:team",)))
            _endpoint(sm, "quiet-exempt", ("AllTraffic",), _tags(now, {"mlgov:exempt": "quarterly batch"}))
            sm.create_notebook_instance(
                NotebookInstanceName="forgotten", InstanceType="ml.t3.medium", RoleArn=ROLE, Tags=_tags(now)
            )
        for variant in ("blue", "green"):
            _put(cloudwatch, now, "/aws/sagemaker/Endpoints", "CPUUtilization", "quiet-bg", variant, 5, 300.0)
        _put(cloudwatch, now, "AWS/SageMaker", "Invocations", "busy-ab", "green", 2, 812.0)
        _put(cloudwatch, now, "AWS/SageMaker", "Invocations", "busy-untagged", "AllTraffic", 9, 3.0)
        _put(cloudwatch, now, "AWS/SageMaker", "Invocations", "quiet-exempt", "AllTraffic", 4, 0.0)
        resources, errors = SageMakerInventory(
            sm, CALLER, REGION, resource_types=["endpoint", "notebook-instance"], now=now
        ).collect()
        assert not errors
        yield resources


def test_scan_with_the_zombie_judge_reports_usage_verdicts_and_keeps_tag_findings(account, real_schema, now):
    sessions = AccountSessions(hub_account=CALLER, role_name="", base_session=boto3.Session(region_name=REGION))
    judge = UsageJudge(cloudwatch_clients(sessions), POLICY, now, real_schema)
    request = ScanRequest(regions=[REGION])
    result = ScanResult(resources=account, accounts=[CALLER])

    document, judgement = report(result, request, load_price_table(), real_schema, now, judge=judge)

    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(document)
    by_name = {f["name"]: f for f in document["findings"]}
    assert by_name["quiet-bg"]["status"] == "zombie"
    assert by_name["quiet-bg"]["reason"].startswith("0 invocations on all 2 variants (blue, green) for 30 days")
    assert by_name["quiet-bg"]["waste_usd_month"] > 0
    assert by_name["busy-ab"]["status"] == "active" and "green: 812" in by_name["busy-ab"]["reason"]
    assert by_name["dark"]["status"] == "unknown" and "variant AllTraffic" in by_name["dark"]["reason"]
    assert by_name["busy-untagged"]["status"] == "untagged"
    assert by_name["busy-untagged"]["evidence"]["last_invoked"] == (now - timedelta(days=9, hours=3)).date().isoformat()
    assert by_name["quiet-exempt"]["status"] == "zombie"
    assert by_name["quiet-exempt"]["evidence"]["exempt"] == "quarterly batch"
    assert by_name["forgotten"]["status"] == "idle" and "lifecycle configuration" in by_name["forgotten"]["reason"]
    assert document["summary"]["by_status"]["zombie"] == 2
    # Phase one reads every variant in one call; the evidence for the silent ones follows in a second.
    assert judgement.calls == 2 and not judgement.errors
    assert judgement.last_invoked == {
        by_name["busy-ab"]["arn"]: (now - timedelta(days=2, hours=3)).date().isoformat(),
        by_name["busy-untagged"]["arn"]: (now - timedelta(days=9, hours=3)).date().isoformat(),
    }


def test_a_region_whose_cloudwatch_refuses_leaves_its_endpoints_unknown_and_reports_the_error(real_schema, now):
    refusing = boto3.client("cloudwatch", region_name="eu-west-1")
    stub = Stubber(refusing)
    stub.add_client_error("get_metric_data", "AccessDenied", "not authorized to perform cloudwatch:GetMetricData")
    stub.activate()
    endpoint = Resource(
        arn=f"arn:aws:sagemaker:eu-west-1:{CALLER}:endpoint/far",
        account=CALLER,
        region="eu-west-1",
        resource_type="endpoint",
        name="far",
        status="InService",
        created=now - timedelta(days=90),
        tags=tags_at(now),
        running=True,
        variants=(Variant("blue", "ml.m5.xlarge", 1),),
    )
    judge = UsageJudge(lambda account, region: refusing, POLICY, now, real_schema)
    judgement = judge([(endpoint, Cost(0.23, 10.0, 170.0, None, None, "test"))])

    (verdict,) = judgement.verdicts
    assert verdict.status == "unknown" and "AccessDenied" in verdict.reason
    assert [(e.account, e.region, e.operation) for e in judgement.errors] == [(CALLER, "eu-west-1", "GetMetricData")]
