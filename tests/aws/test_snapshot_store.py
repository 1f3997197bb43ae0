"""Snapshot store on moto S3 + SageMaker: copies into a versioned SSE-KMS archive, verification, manifests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from mlgov.aws.snapshot_store import (
    copy_artifacts,
    list_snapshots,
    read_manifest,
    source_keys,
    take_snapshot,
    verify_copies,
    write_manifest,
)
from mlgov.domain.snapshot import ArtifactSource, SnapshotError, artifact_sources, snapshot_prefix

REGION, ACCOUNT = "eu-west-1", "123456789012"  # moto's default account
ARCHIVE, SOURCE = "mlgov-archive", "ml-artifacts"
TAKEN_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sm-exec"
TARBALL = b"\x1f\x8b" + b"xgboost-model" * 1000
SHARDS = {"weights/v3/config.json": b'{"layers": 2}', "weights/v3/model.safetensors": b"\x00\x01" * 5000}


@pytest.fixture
def aws():
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        location = {"LocationConstraint": REGION}
        key_arn = boto3.client("kms", region_name=REGION).create_key(Description="mlgov archive")["KeyMetadata"]["Arn"]
        s3.create_bucket(Bucket=ARCHIVE, CreateBucketConfiguration=location)
        s3.put_bucket_versioning(Bucket=ARCHIVE, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_encryption(
            Bucket=ARCHIVE,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}}
                ]
            },
        )
        s3.create_bucket(Bucket=SOURCE, CreateBucketConfiguration=location)
        s3.put_object(Bucket=SOURCE, Key="xgb/model.tar.gz", Body=TARBALL)
        for key, body in SHARDS.items():
            s3.put_object(Bucket=SOURCE, Key=key, Body=body)
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        create_endpoint(sagemaker)
        yield s3, sagemaker, key_arn


def create_endpoint(sagemaker, name: str = "churn-ep") -> None:
    sagemaker.create_model(
        ModelName="churn-xgb",
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": "ecr/xgb:1", "ModelDataUrl": f"s3://{SOURCE}/xgb/model.tar.gz"},
        Tags=[{"Key": "ml:team", "Value": "fraud"}],
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
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {"VariantName": "xgb", "ModelName": "churn-xgb", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1},
            {
                "VariantName": "llm",
                "ModelName": "churn-llm",
                "InstanceType": "ml.g4dn.2xlarge",
                "InitialInstanceCount": 2,
            },
        ],
        Tags=[{"Key": "ml:team", "Value": "fraud"}],
    )
    sagemaker.create_endpoint(
        EndpointName=name,
        EndpointConfigName=f"{name}-config",
        Tags=[{"Key": "ml:team", "Value": "fraud"}, {"Key": "mlgov:zombie", "Value": "confirmed"}],
    )


def sources(sagemaker):
    config = sagemaker.describe_endpoint_config(EndpointConfigName="churn-ep-config")
    models = {name: sagemaker.describe_model(ModelName=name) for name in ("churn-xgb", "churn-llm")}
    return artifact_sources(config, models)


def copy_all(s3, sagemaker):
    prefix = snapshot_prefix(ACCOUNT, REGION, "churn-ep", TAKEN_AT)
    return prefix, copy_artifacts(s3, s3, sources(sagemaker), ARCHIVE, prefix)


def test_prefix_listing_and_single_object_are_copied_encrypted_and_versioned(aws):
    s3, sagemaker, key_arn = aws
    prefix, copied = copy_all(s3, sagemaker)
    assert sorted(obj.source_uri for obj in copied) == sorted(
        [f"s3://{SOURCE}/xgb/model.tar.gz"] + [f"s3://{SOURCE}/{key}" for key in SHARDS]
    )
    for obj in copied:
        body = s3.get_object(Bucket=ARCHIVE, Key=obj.archive_key)
        _, _, key = obj.source_uri[5:].partition("/")
        assert body["Body"].read() == (TARBALL if key == "xgb/model.tar.gz" else SHARDS[key])
        assert body["ServerSideEncryption"] == "aws:kms" and body["SSEKMSKeyId"] == key_arn
        assert obj.version_id == body["VersionId"]
        assert obj.checksum["algorithm"] == "SHA256" and obj.checksum["type"] == "FULL_OBJECT"
        assert obj.archive_key.startswith(f"{prefix}artifacts/{SOURCE}/")


def test_prefix_listing_follows_every_page():
    client = boto3.client("s3", region_name=REGION)
    source = ArtifactSource(
        "churn-llm", "PrimaryContainer.ModelDataSource", f"s3://{SOURCE}/w/", SOURCE, "w/", "S3Prefix"
    )
    with Stubber(client) as stubber:
        stubber.add_response(
            "list_objects_v2",
            {"Contents": [{"Key": "w/a"}, {"Key": "w/b"}], "IsTruncated": True, "NextContinuationToken": "t1"},
            {"Bucket": SOURCE, "Prefix": "w/"},
        )
        stubber.add_response(
            "list_objects_v2",
            {"Contents": [{"Key": "w/c"}], "IsTruncated": False},
            {"Bucket": SOURCE, "Prefix": "w/", "ContinuationToken": "t1"},
        )
        assert source_keys(client, source) == ["w/a", "w/b", "w/c"]


def test_faithful_copies_verify(aws):
    s3, sagemaker, _ = aws
    _, copied = copy_all(s3, sagemaker)
    assert verify_copies(s3, s3, ARCHIVE, copied) == []


def test_corrupted_archive_copy_fails_verification(aws):
    s3, sagemaker, _ = aws
    _, copied = copy_all(s3, sagemaker)
    victim = next(obj for obj in copied if obj.source_uri.endswith("model.tar.gz"))
    s3.put_object(Bucket=ARCHIVE, Key=victim.archive_key, Body=TARBALL[:-1] + b"!")  # same size, other bytes
    problems = verify_copies(s3, s3, ARCHIVE, copied)
    assert len(problems) == 2 and all(p.startswith(victim.archive_key) for p in problems)
    assert any("checksum mismatch" in p for p in problems)
    assert any("is not the copied" in p for p in problems)


def test_short_or_missing_archive_copy_fails_verification(aws):
    s3, sagemaker, _ = aws
    _, copied = copy_all(s3, sagemaker)
    short, gone = copied[0], copied[1]
    s3.put_object(Bucket=ARCHIVE, Key=short.archive_key, Body=b"short")
    s3.delete_object(Bucket=ARCHIVE, Key=gone.archive_key)  # a delete marker: no current version
    problems = verify_copies(s3, s3, ARCHIVE, copied)
    assert any(p.startswith(short.archive_key) and "size mismatch" in p for p in problems)
    assert f"{gone.archive_key}: missing from the archive" in problems


def test_missing_source_object_stops_the_copy(aws):
    s3, sagemaker, _ = aws
    s3.delete_object(Bucket=SOURCE, Key="xgb/model.tar.gz")
    with pytest.raises(SnapshotError, match="does not exist"):
        copy_all(s3, sagemaker)


def test_empty_prefix_stops_the_copy(aws):
    s3, sagemaker, _ = aws
    for key in SHARDS:
        s3.delete_object(Bucket=SOURCE, Key=key)
    with pytest.raises(SnapshotError, match="lists no objects"):
        copy_all(s3, sagemaker)


def test_snapshot_manifest_round_trips_and_latest_is_selected(aws):
    s3, sagemaker, _ = aws
    first = take_snapshot(
        sagemaker, s3, s3, ARCHIVE, account=ACCOUNT, region=REGION, endpoint="churn-ep", taken_at=TAKEN_AT
    )
    later = datetime(2026, 3, 2, 8, 15, tzinfo=UTC)
    second = take_snapshot(
        sagemaker, s3, s3, ARCHIVE, account=ACCOUNT, region=REGION, endpoint="churn-ep", taken_at=later
    )
    assert first["verification"] == {"verified": True, "problems": []}
    assert len(first["objects"]) == 3
    assert first["tags"]["endpoint"] == [
        {"Key": "ml:team", "Value": "fraud"},
        {"Key": "mlgov:zombie", "Value": "confirmed"},
    ]
    assert first["describe_endpoint_config"]["ProductionVariants"][1]["InstanceType"] == "ml.g4dn.2xlarge"
    assert read_manifest(s3, ARCHIVE, ACCOUNT, REGION, "churn-ep", TAKEN_AT) == first
    assert read_manifest(s3, ARCHIVE, ACCOUNT, REGION, "churn-ep", "20260301T120000Z") == first
    assert read_manifest(s3, ARCHIVE, ACCOUNT, REGION, "churn-ep") == second
    assert list_snapshots(s3, ARCHIVE, ACCOUNT, REGION, "churn-ep") == ["20260301T120000Z", "20260302T081500Z"]


def test_snapshot_without_manifest_is_not_the_latest(aws):
    s3, sagemaker, _ = aws
    first = take_snapshot(
        sagemaker, s3, s3, ARCHIVE, account=ACCOUNT, region=REGION, endpoint="churn-ep", taken_at=TAKEN_AT
    )
    # an interrupted later snapshot: artifacts copied, no manifest written
    later = snapshot_prefix(ACCOUNT, REGION, "churn-ep", TAKEN_AT + timedelta(days=1))
    copy_artifacts(s3, s3, sources(sagemaker), ARCHIVE, later)
    assert read_manifest(s3, ARCHIVE, ACCOUNT, REGION, "churn-ep") == first


def test_write_manifest_then_read_exactly(aws):
    s3, _, _ = aws
    document = {"schema": "mlgov.snapshot/1", "prefix": snapshot_prefix(ACCOUNT, REGION, "ep", TAKEN_AT), "x": [1]}
    key = write_manifest(s3, ARCHIVE, document)
    assert key == f"snapshots/{ACCOUNT}/{REGION}/ep/20260301T120000Z/manifest.json"
    assert read_manifest(s3, ARCHIVE, ACCOUNT, REGION, "ep") == document


def test_no_snapshot_is_a_readable_error(aws):
    s3, _, _ = aws
    with pytest.raises(SnapshotError, match="no snapshot of other-ep"):
        read_manifest(s3, ARCHIVE, ACCOUNT, REGION, "other-ep")
    with pytest.raises(SnapshotError, match="does not exist"):
        read_manifest(s3, ARCHIVE, ACCOUNT, REGION, "other-ep", "20260101T000000Z")


def test_an_unversioned_source_is_copied_only_if_it_still_has_the_etag_the_manifest_records(aws):
    """An object overwritten between HeadObject and the copy must not be archived under the old ETag: the copy of an
    unversioned source is conditional (S3 answers 412 PreconditionFailed; moto does not check the condition, so this
    test checks the request S3 receives). A versioned source is pinned by VersionId instead."""
    s3, sagemaker, _ = aws
    sent: list[dict] = []
    s3.meta.events.register("before-parameter-build.s3.CopyObject", lambda params, **_: sent.append(dict(params)))

    copied = copy_artifacts(s3, s3, sources(sagemaker), ARCHIVE, "snapshots/x/")

    tarball = next(c for c in copied if c.source_uri.endswith("xgb/model.tar.gz"))
    (request,) = [r for r in sent if "xgb/model.tar.gz" in str(r["CopySource"])]
    assert request["CopySourceIfMatch"] == tarball.source_etag and tarball.source_version_id is None


def test_a_manifest_overwritten_before_its_seal_is_never_sealed(aws):
    from mlgov.aws.snapshot_store import manifest_seal

    s3, _, _ = aws
    document = {"prefix": "snapshots/x/", "objects": []}
    key = write_manifest(s3, ARCHIVE, document)
    assert manifest_seal(s3, ARCHIVE, key, written=document)["manifest_key"] == key
    planted = b'{"prefix": "snapshots/x/", "objects": ["planted"]}'
    s3.put_object(Bucket=ARCHIVE, Key=key, Body=planted, ChecksumAlgorithm="SHA256")
    with pytest.raises(SnapshotError, match="changed between its write and its seal"):
        manifest_seal(s3, ARCHIVE, key, written=document)
    s3.put_object(Bucket=ARCHIVE, Key=key, Body=planted)  # without a checksum: nothing to seal either
    with pytest.raises(SnapshotError, match="no version id or SHA-256 to seal"):
        manifest_seal(s3, ARCHIVE, key, written=document)
