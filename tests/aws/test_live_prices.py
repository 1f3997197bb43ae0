"""Live list prices in a scan: GetProducts stubbed against botocore's real `pricing` model (PriceList strings of JSON),
three regions and four components, on a moto fleet in regions the checked-in table does not cover."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import partial

import boto3
import jsonschema
import pytest
from botocore.stub import Stubber
from moto import mock_aws

import mlgov.cli
from mlgov.aws.price_list import fetch_instance_products
from mlgov.cli import main
from mlgov.domain.live_prices import PriceCache
from mlgov.price_files import load_price_table
from mlgov.services.pricing import live_price_book, read_price_cache_file
from mlgov.services.scan import ScanRequest, discover, report
from tests.aws.test_scan import REPORT_SCHEMA, tags_at
from tests.unit.test_pricing import sagemaker_product

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
TYPES = ["endpoint", "training-job", "notebook-instance"]
EVERYWHERE = ScanRequest(regions=["us-east-1", "eu-west-1", "ap-northeast-1"], resource_types=TYPES)
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"
# (region, instance type) -> the products GetProducts returns for it: hosting, training, processing, notebook.
ANSWERS = {
    ("eu-west-1", "ml.g4dn.xlarge"): [
        sagemaker_product("ml.g4dn.xlarge", "EU-Host:ml.g4dn.xlarge", "Hosting", "1.5740", region="eu-west-1"),
        sagemaker_product("ml.g4dn.xlarge", "EU-Train:ml.g4dn.xlarge", "Training", "1.5730", region="eu-west-1"),
    ],
    ("eu-west-1", "ml.m5.large"): [
        sagemaker_product("ml.m5.large", "EU-Train:ml.m5.large", "Training", "0.1290", region="eu-west-1"),
        sagemaker_product("ml.m5.large", "EU-Processing:ml.m5.large", "Processing", "0.1280", region="eu-west-1"),
    ],
    ("ap-northeast-1", "ml.t3.medium"): [
        sagemaker_product("ml.t3.medium", "APN1-Notebk:ml.t3.medium", "Notebook", "0.0680", region="ap-northeast-1"),
    ],
    ("us-east-1", "ml.c5.large"): [
        sagemaker_product("ml.c5.large", "USE1-Host:ml.c5.large", "Hosting", "0.1020"),
    ],
}


def _request(region: str, instance_type: str) -> dict:
    return {
        "ServiceCode": "AmazonSageMaker",
        "Filters": [
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
            {"Type": "TERM_MATCH", "Field": "instanceName", "Value": instance_type},
        ],
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
    }


def _stub(stubber: Stubber, keys) -> None:
    for region, instance_type in keys:
        page = {"FormatVersion": "aws_v1", "PriceList": [json.dumps(p) for p in ANSWERS[(region, instance_type)]]}
        stubber.add_response("get_products", page, _request(region, instance_type))


def _fleet(instant) -> None:
    """An endpoint and a training job in eu-west-1, a notebook in ap-northeast-1, an endpoint
    in us-east-1 on a type the checked-in table lacks (ml.c5.large)."""
    tags = tags_at(instant)
    for region, name, instance_type in (
        ("eu-west-1", "eu-churn", "ml.g4dn.xlarge"),
        ("us-east-1", "c5", "ml.c5.large"),
    ):
        sm = boto3.client("sagemaker", region_name=region)
        sm.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
        sm.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {"VariantName": "a", "ModelName": name, "InitialInstanceCount": 2, "InstanceType": instance_type}
            ],
        )
        sm.create_endpoint(EndpointName=name, EndpointConfigName=name, Tags=tags)
    boto3.client("sagemaker", region_name="eu-west-1").create_training_job(
        TrainingJobName="features",
        AlgorithmSpecification={"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        RoleArn=ROLE,
        OutputDataConfig={"S3OutputPath": "s3://models/out/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
        Tags=tags,
    )
    boto3.client("sagemaker", region_name="ap-northeast-1").create_notebook_instance(
        NotebookInstanceName="lab", InstanceType="ml.t3.medium", RoleArn=ROLE, Tags=tags
    )


@pytest.fixture
def fleet(instant):
    with mock_aws():
        _fleet(instant)
        yield boto3.Session(region_name="us-east-1")


def _scan(session, prices, schema, now) -> dict:
    return report(discover(session, EVERYWHERE, now), EVERYWHERE, prices, schema, now)[0]


def test_a_scan_outside_the_checked_in_table_prices_every_resource_from_the_price_list(fleet, real_schema, instant):
    client = boto3.client("pricing", region_name="us-east-1")
    cache = PriceCache()
    with Stubber(client) as stubber:
        _stub(stubber, sorted(ANSWERS))
        resources = discover(fleet, EVERYWHERE, instant)
        live = live_price_book(
            resources.resources,
            load_price_table(),
            cache,
            instant.date(),
            partial(fetch_instance_products, client),
            threads=1,  # the order the stubbed answers are queued in
        )
        stubber.assert_no_pending_responses()
    document = _scan(fleet, live.book, real_schema, instant)

    by_name = {f["name"]: f for f in document["findings"]}
    fetched = f"AWS Price List, fetched {instant.date().isoformat()}"
    assert by_name["eu-churn"]["evidence"]["hourly_usd"] == pytest.approx(2 * 1.574)
    assert by_name["c5"]["evidence"]["hourly_usd"] == pytest.approx(2 * 0.102)
    assert by_name["lab"]["evidence"]["hourly_usd"] == pytest.approx(0.068)  # the notebook price, not hosting
    assert {by_name[n]["evidence"]["price_source"] for n in ("eu-churn", "c5", "lab")} == {fetched}
    assert all(
        f["monthly_cost_usd"] is not None for f in document["findings"] if f["resource_type"] != "processing-job"
    )
    assert document["pricing"]["live"] == fetched and "table" in document["pricing"]["fallback"]
    assert live.fetched == len(ANSWERS) and live.cache_changed
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(document)


def test_a_warm_cache_asks_nothing_and_a_week_later_asks_again(fleet, instant):
    client = boto3.client("pricing", region_name="us-east-1")
    resources = discover(fleet, EVERYWHERE, instant).resources
    cache = PriceCache()
    fetch = partial(fetch_instance_products, client)
    with Stubber(client) as stubber:
        _stub(stubber, sorted(ANSWERS))
        live_price_book(resources, load_price_table(), cache, instant.date(), fetch, threads=1)
        warm = live_price_book(resources, load_price_table(), cache, instant.date() + timedelta(days=6), fetch)
        _stub(stubber, sorted(ANSWERS))
        later = live_price_book(
            resources, load_price_table(), cache, instant.date() + timedelta(days=8), fetch, threads=1
        )
        stubber.assert_no_pending_responses()

    assert (warm.fetched, warm.cache_changed) == (0, False)
    assert later.fetched == len(ANSWERS)


def test_a_price_list_out_of_reach_falls_back_to_the_table_and_says_why(fleet, instant):
    client = boto3.client("pricing", region_name="us-east-1")
    resources = discover(fleet, ScanRequest(regions=["us-east-1"], resource_types=TYPES), instant).resources
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "get_products", "AccessDeniedException", "not authorized to perform: pricing:GetProducts", 400
        )
        live = live_price_book(
            resources, load_price_table(), PriceCache(), instant.date(), partial(fetch_instance_products, client)
        )
        stubber.assert_no_pending_responses()  # one refusal, nothing more tried

    assert live.book.live is None and not live.cache_changed
    assert "AccessDeniedException" in live.book.live_problem and "pricing:GetProducts" in live.book.live_problem
    assert live.book.hourly("ml.c5.large", "us-east-1").hourly_usd is None


def test_cli_scan_prices_live_caches_the_answers_and_offline_asks_nothing(fleet, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = boto3.client("pricing", region_name="us-east-1")
    monkeypatch.setattr(mlgov.cli, "price_fetcher", lambda session: partial(fetch_instance_products, client))
    cache, first, offline = tmp_path / "prices.json", tmp_path / "first.json", tmp_path / "offline.json"
    argv = ["scan", "--regions", "eu-west-1", "--types", "endpoint", "--format", "json", "--price-cache", str(cache)]

    with Stubber(client) as stubber:
        _stub(stubber, [("eu-west-1", "ml.g4dn.xlarge")])
        assert main([*argv, "--output", str(first)]) == 0
        assert main([*argv, "--offline", "--output", str(offline)]) == 0
        stubber.assert_no_pending_responses()

    live, cached = json.loads(first.read_text()), json.loads(offline.read_text())
    assert live["findings"][0]["evidence"]["price_source"].startswith("AWS Price List, fetched")
    assert cached["findings"][0]["monthly_cost_usd"] == live["findings"][0]["monthly_cost_usd"] is not None
    assert cached["pricing"]["live_problem"] == "offline (--offline)"
    assert ("eu-west-1", "ml.g4dn.xlarge") in read_price_cache_file(cache).entries


def test_cli_scan_without_the_price_list_notes_it_and_still_reports(fleet, tmp_path, monkeypatch, capsys):
    """The tests' guard refuses every real Price List call, as a network outage would."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    output = tmp_path / "scan.json"

    code = main(["scan", "--regions", "us-east-1", "--types", "endpoint", "--format", "json", "--output", str(output)])

    document = json.loads(output.read_text())
    assert code == 0 and document["findings"][0]["name"] == "c5"
    assert document["findings"][0]["monthly_cost_usd"] is None  # ml.c5.large: not in the checked-in table
    assert "never reach the AWS Price List" in document["pricing"]["live_problem"]
    assert "live prices:" in capsys.readouterr().err
