"""`mlgov restore` on moto: snapshot an endpoint, delete it, print the plan, recreate it from the archive."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from mlgov import cli
from mlgov.aws.approvals_table import ApprovalsTable
from mlgov.aws.snapshot_store import manifest_seal, take_snapshot
from mlgov.domain.snapshot import RestorePlan
from mlgov.services.restore import RestoreError, apply_plan

REGION, ACCOUNT = "eu-west-1", "123456789012"  # moto's default account
ARCHIVE, SOURCE, TABLE = "mlgov-archive", "ml-artifacts", "mlgov-approvals"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sm-exec"
TAKEN_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PREFIX = f"snapshots/{ACCOUNT}/{REGION}/churn-ep/20260301T120000Z/"
ENDPOINT_TAGS = [
    {"Key": "ml:team", "Value": "fraud"},
    {"Key": "mlgov:created-by", "Value": "alice@example.com"},
    {"Key": "mlgov:zombie", "Value": "confirmed"},
    {"Key": "mlgov:zombie-by", "Value": "U0APPROVER"},
    {"Key": "mlgov:zombie-date", "Value": "2026-03-01"},
]


@pytest.fixture
def deleted_endpoint(request):
    """A snapshotted, then deleted endpoint: two models (single tar.gz; S3Prefix), one config, one endpoint. With the
    parameter "endpoint-only", the config and models stay, as after the approval flow."""
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        for bucket in (ARCHIVE, SOURCE):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=ARCHIVE, VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket=SOURCE, Key="xgb/model.tar.gz", Body=b"tarball" * 100)
        s3.put_object(Bucket=SOURCE, Key="weights/v3/a.safetensors", Body=b"a" * 100)
        s3.put_object(Bucket=SOURCE, Key="weights/v3/b.safetensors", Body=b"b" * 100)
        sagemaker.create_model(
            ModelName="churn-xgb",
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": "ecr/xgb:1", "ModelDataUrl": f"s3://{SOURCE}/xgb/model.tar.gz"},
            Tags=[{"Key": "ml:team", "Value": "fraud"}, {"Key": "mlgov:zombie", "Value": "candidate"}],
        )
        sagemaker.create_model(
            ModelName="churn-llm",
            ExecutionRoleArn=ROLE,
            PrimaryContainer={
                "Image": "ecr/tgi:2",
                "ModelDataSource": {
                    "S3DataSource": {
                        "S3Uri": f"s3://{SOURCE}/weights/v3/",
                        "S3DataType": "S3Prefix",
                        "CompressionType": "None",
                    }
                },
            },
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName="churn-ep-config",
            ProductionVariants=[
                {
                    "VariantName": "xgb",
                    "ModelName": "churn-xgb",
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 2,
                },
                {
                    "VariantName": "llm",
                    "ModelName": "churn-llm",
                    "InstanceType": "ml.g4dn.xlarge",
                    "InitialInstanceCount": 1,
                },
            ],
            Tags=[{"Key": "ml:team", "Value": "fraud"}],
        )
        sagemaker.create_endpoint(EndpointName="churn-ep", EndpointConfigName="churn-ep-config", Tags=ENDPOINT_TAGS)
        document = take_snapshot(
            sagemaker, s3, s3, ARCHIVE, account=ACCOUNT, region=REGION, endpoint="churn-ep", taken_at=TAKEN_AT
        )
        assert document["verification"]["verified"]
        seal_as_the_hub_does(f"{PREFIX}manifest.json")
        sagemaker.delete_endpoint(EndpointName="churn-ep")
        if getattr(request, "param", "everything") != "endpoint-only":
            sagemaker.delete_endpoint_config(EndpointConfigName="churn-ep-config")
            sagemaker.delete_model(ModelName="churn-xgb")
            sagemaker.delete_model(ModelName="churn-llm")
        yield sagemaker


def seal_as_the_hub_does(manifest_key: str) -> None:
    """What the approval flow's Snapshot task records after writing the manifest."""
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    if TABLE not in dynamodb.list_tables()["TableNames"]:
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    seal = manifest_seal(boto3.client("s3", region_name=REGION), ARCHIVE, manifest_key)
    ApprovalsTable(dynamodb, TABLE).seal_manifest(seal, TAKEN_AT)


def restore(*extra: str) -> int:
    return cli.main(
        ["restore", "churn-ep", "--archive-bucket", ARCHIVE, "--approvals-table", TABLE, "--region", REGION, *extra]
    )


def tags_of(sagemaker, arn: str) -> list[dict[str, str]]:
    return sagemaker.list_tags(ResourceArn=arn)["Tags"]


def test_dry_run_prints_the_three_requests_and_creates_nothing(deleted_endpoint, capsys):
    sagemaker = deleted_endpoint
    assert restore("--dry-run") == 0
    out = capsys.readouterr().out
    header, _, body = out.partition("\n")
    assert "dry run" in header and "2026-03-01T12:00:00+00:00" in header
    requests = json.loads(body)
    assert [m["ModelName"] for m in requests["CreateModel"]] == ["churn-xgb", "churn-llm"]
    assert requests["CreateModel"][0]["PrimaryContainer"]["ModelDataUrl"] == (
        f"s3://{ARCHIVE}/{PREFIX}artifacts/{SOURCE}/xgb/model.tar.gz"
    )
    assert requests["CreateEndpointConfig"]["EndpointConfigName"] == "churn-ep-config"
    assert requests["CreateEndpoint"]["EndpointName"] == "churn-ep"
    assert sagemaker.list_endpoints()["Endpoints"] == [] and sagemaker.list_models()["Models"] == []


def test_restore_recreates_models_config_and_endpoint_from_the_archive(deleted_endpoint, capsys):
    sagemaker = deleted_endpoint
    assert restore("--account", ACCOUNT) == 0
    assert "restored churn-ep" in capsys.readouterr().out

    endpoint = sagemaker.describe_endpoint(EndpointName="churn-ep")
    assert endpoint["EndpointConfigName"] == "churn-ep-config"
    config = sagemaker.describe_endpoint_config(EndpointConfigName="churn-ep-config")
    assert [(v["VariantName"], v["ModelName"], v["InstanceType"], v["InitialInstanceCount"])
            for v in config["ProductionVariants"]] == [
        ("xgb", "churn-xgb", "ml.m5.large", 2),
        ("llm", "churn-llm", "ml.g4dn.xlarge", 1),
    ]  # fmt: skip
    xgb = sagemaker.describe_model(ModelName="churn-xgb")
    llm = sagemaker.describe_model(ModelName="churn-llm")
    assert xgb["PrimaryContainer"]["ModelDataUrl"] == f"s3://{ARCHIVE}/{PREFIX}artifacts/{SOURCE}/xgb/model.tar.gz"
    assert llm["PrimaryContainer"]["ModelDataSource"]["S3DataSource"]["S3Uri"] == (
        f"s3://{ARCHIVE}/{PREFIX}artifacts/{SOURCE}/weights/v3/"
    )
    assert xgb["ExecutionRoleArn"] == ROLE

    # mlgov's own keys (the SCPs refuse them to the restorer) come back from the auto-tagger
    assert tags_of(sagemaker, endpoint["EndpointArn"]) == [{"Key": "ml:team", "Value": "fraud"}]
    assert tags_of(sagemaker, xgb["ModelArn"]) == [{"Key": "ml:team", "Value": "fraud"}]
    assert tags_of(sagemaker, config["EndpointConfigArn"]) == [{"Key": "ml:team", "Value": "fraud"}]
    s3 = boto3.client("s3", region_name=REGION)
    archived = s3.list_objects_v2(Bucket=ARCHIVE, Prefix=f"{PREFIX}artifacts/{SOURCE}/weights/v3/")["Contents"]
    assert len(archived) == 2  # the archived S3Prefix holds both shards


@pytest.mark.parametrize("deleted_endpoint", ["endpoint-only"], indirect=True)
def test_restore_under_the_original_name_reuses_the_config_and_models_the_flow_left(deleted_endpoint, capsys):
    sagemaker = deleted_endpoint
    assert restore() == 0
    out = capsys.readouterr().out
    assert out.count("(unchanged since the snapshot)") == 3  # two models and the endpoint config
    assert "CreateModel" not in out and "CreateEndpointConfig" not in out and "CreateEndpoint:" in out
    endpoint = sagemaker.describe_endpoint(EndpointName="churn-ep")
    assert endpoint["EndpointConfigName"] == "churn-ep-config"
    xgb = sagemaker.describe_model(ModelName="churn-xgb")  # untouched: still the original artifacts
    assert xgb["PrimaryContainer"]["ModelDataUrl"] == f"s3://{SOURCE}/xgb/model.tar.gz"


@pytest.mark.parametrize("deleted_endpoint", ["endpoint-only"], indirect=True)
def test_restore_under_the_original_name_refuses_a_model_changed_since_the_snapshot(deleted_endpoint, capsys):
    sagemaker = deleted_endpoint
    sagemaker.delete_model(ModelName="churn-llm")
    sagemaker.create_model(ModelName="churn-llm", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "ecr/tgi:3"})

    assert restore() == 2

    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "churn-llm still exists and differs from the snapshot (PrimaryContainer)" in error
    assert "--name" in error
    assert sagemaker.list_endpoints()["Endpoints"] == []


@pytest.mark.parametrize("deleted_endpoint", ["endpoint-only"], indirect=True)
def test_restore_under_the_original_name_refuses_models_whose_artifacts_changed(deleted_endpoint, capsys):
    sagemaker = deleted_endpoint
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=SOURCE, Key="xgb/model.tar.gz", Body=b"tarbalL" * 100)  # same size, other bytes

    assert restore() == 2

    error = capsys.readouterr().err.strip()
    assert f"s3://{SOURCE}/xgb/model.tar.gz has another ETag" in error and "--name" in error
    assert sagemaker.list_endpoints()["Endpoints"] == []
    assert restore("--name", "churn-ep-restored") == 0  # the archived copies are still the snapshot's


def test_restore_under_a_new_name_leaves_the_originals_alone(deleted_endpoint):
    sagemaker = deleted_endpoint
    assert restore("--name", "churn-ep-restored") == 0
    endpoint = sagemaker.describe_endpoint(EndpointName="churn-ep-restored")
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    assert [v["ModelName"] for v in config["ProductionVariants"]] == [
        "churn-ep-restored-churn-xgb",
        "churn-ep-restored-churn-llm",
    ]


def test_create_failure_names_the_call_and_what_exists_already():
    """moto accepts duplicate names; SageMaker answers ValidationException "Cannot create already existing model"."""
    plan = RestorePlan(
        models=[
            {"ModelName": "churn-xgb", "ExecutionRoleArn": ROLE, "PrimaryContainer": {"Image": "ecr/xgb:1"}},
            {"ModelName": "churn-llm", "ExecutionRoleArn": ROLE, "PrimaryContainer": {"Image": "ecr/tgi:2"}},
        ],
        endpoint_config={"EndpointConfigName": "c", "ProductionVariants": [{"VariantName": "v", "ModelName": "m"}]},
        endpoint={"EndpointName": "churn-ep", "EndpointConfigName": "c"},
    )
    client = boto3.client("sagemaker", region_name=REGION)
    xgb_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/churn-xgb"
    with Stubber(client) as stubber:
        stubber.add_response("create_model", {"ModelArn": xgb_arn}, plan.models[0])
        stubber.add_client_error(
            "create_model",
            service_error_code="ValidationException",
            service_message=f'Cannot create already existing model "{xgb_arn[:-3]}llm".',
            expected_params=plan.models[1],
        )
        with pytest.raises(RestoreError) as raised:
            apply_plan(client, plan)
    message = str(raised.value)
    assert isinstance(raised.value, ValueError) and "\n" not in message
    assert message.startswith("CreateModel failed") and "already existing model" in message
    assert message.endswith(f"already created: {xgb_arn}")


def test_unknown_snapshot_and_missing_bucket_are_one_line_errors(deleted_endpoint, capsys, monkeypatch):
    assert restore("--snapshot", "20250101T000000Z") == 2
    err = capsys.readouterr().err
    assert "no snapshot of churn-ep" in err and "20250101T000000Z/manifest.json does not exist" in err
    assert restore("--snapshot", "yesterday") == 2
    assert "is not a timestamp" in capsys.readouterr().err
    monkeypatch.delenv("MLGOV_ARCHIVE_BUCKET", raising=False)
    assert cli.main(["restore", "churn-ep", "--region", REGION]) == 2
    assert "no archive bucket" in capsys.readouterr().err


@pytest.mark.parametrize(
    "tamper",
    ["manifest", "artifact", "unsealed"],
)
def test_a_tampered_or_unsealed_snapshot_is_refused_before_anything_is_created(deleted_endpoint, capsys, tamper):
    s3 = boto3.client("s3", region_name=REGION)
    if tamper == "manifest":  # e.g. another image, planted in the manifest
        document = json.loads(s3.get_object(Bucket=ARCHIVE, Key=f"{PREFIX}manifest.json")["Body"].read())
        document["describe_models"]["churn-xgb"]["PrimaryContainer"]["Image"] = "attacker/ecr:latest"
        s3.put_object(Bucket=ARCHIVE, Key=f"{PREFIX}manifest.json", Body=json.dumps(document).encode())
        expected = "the manifest s3://mlgov-archive/" + PREFIX + "manifest.json changed after the hub sealed it"
    elif tamper == "artifact":
        key = next(k["Key"] for k in s3.list_objects_v2(Bucket=ARCHIVE, Prefix=PREFIX)["Contents"] if "xgb" in k["Key"])
        s3.put_object(Bucket=ARCHIVE, Key=key, Body=b"another model")
        expected = f"archived artifact {key} changed after the snapshot"
    else:
        boto3.client("dynamodb", region_name=REGION).delete_item(
            TableName=TABLE, Key={"pk": {"S": f"seal#{PREFIX}manifest.json"}}
        )
        expected = "carries no seal from the hub"

    code = restore()

    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "refusing to restore" in err and expected in err
    assert deleted_endpoint.list_models()["Models"] == [] and deleted_endpoint.list_endpoints()["Endpoints"] == []
