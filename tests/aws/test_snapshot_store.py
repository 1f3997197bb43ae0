"""Snapshot store on moto S3 + SageMaker: copies into a versioned SSE-KMS archive, verification, manifests."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from mlgov.aws.snapshot_store import (
    CopyLimits,
    copy_artifacts,
    list_snapshots,
    pending_ranges,
    read_manifest,
    sha256_of_range,
    source_keys,
    take_snapshot,
    verify_copies,
    write_manifest,
)
from mlgov.domain.artifact_copy import composite_of
from mlgov.domain.snapshot import ArtifactSource, CopiedObject, SnapshotError, artifact_sources, snapshot_prefix

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
        source = s3.head_object(Bucket=SOURCE, Key=key, ChecksumMode="ENABLED")
        # the SDK's default CRC32 on upload: the copy asks S3 for the same algorithm, so the two compare
        assert obj.checksum == {"algorithm": "CRC32", "value": source["ChecksumCRC32"], "type": "FULL_OBJECT"}
        assert obj.rule == "full-object checksum" and obj.source_hashes is None
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


# ---------------------------------------------------------------- copy plans (mlgov.domain.artifact_copy)

MIB = 1024**2
# S3's 5 GiB / 512 MiB, scaled to a moto test; one part copy at a time, the order a Stubber expects its calls in.
SMALL = CopyLimits(copy_object_max=5 * MIB, part_size=5 * MIB, copy_threads=1)


def _legacy_client():
    """A client that uploads without checksums, like SDKs before 2025: S3 then holds no checksum of the object."""
    return boto3.client("s3", region_name=REGION, config=Config(request_checksum_calculation="when_required"))


def _reads(client) -> list[dict]:
    """Every GetObject the client sends (an artifact read through the Lambda)."""
    sent: list[dict] = []
    client.meta.events.register("before-parameter-build.s3.GetObject", lambda params, **_: sent.append(dict(params)))
    return sent


def _object(key: str) -> ArtifactSource:
    return ArtifactSource("m", "PrimaryContainer.ModelDataUrl", f"s3://{SOURCE}/{key}", SOURCE, key, "S3Object")


def test_a_source_with_a_checksum_is_verified_without_reading_a_byte_of_it(aws):
    s3, sagemaker, _ = aws
    reads = _reads(s3)
    _, copied = copy_all(s3, sagemaker)
    assert verify_copies(s3, s3, ARCHIVE, copied) == []
    assert reads == []


def test_a_large_source_with_a_full_object_crc_is_copied_in_parts_server_side_and_compares_whole(aws):
    s3, _, _ = aws
    body = bytes(range(256)) * (11 * MIB // 256)
    s3.put_object(Bucket=SOURCE, Key="big/model.bin", Body=body)  # CRC32, full object
    part_copies, reads = [], _reads(s3)
    s3.meta.events.register("before-parameter-build.s3.UploadPartCopy", lambda params, **_: part_copies.append(params))

    (copied,) = copy_artifacts(s3, s3, [_object("big/model.bin")], ARCHIVE, "snapshots/x/", limits=SMALL)

    assert [p["CopySourceRange"] for p in part_copies] == [
        "bytes=0-5242879",
        "bytes=5242880-10485759",
        f"bytes=10485760-{len(body) - 1}",
    ]
    source_crc = s3.head_object(Bucket=SOURCE, Key="big/model.bin", ChecksumMode="ENABLED")["ChecksumCRC32"]
    assert copied.checksum == {"algorithm": "CRC32", "value": source_crc, "type": "FULL_OBJECT"}
    assert verify_copies(s3, s3, ARCHIVE, [copied]) == [] and reads == []
    assert s3.get_object(Bucket=ARCHIVE, Key=copied.archive_key)["Body"].read() == body


def test_a_source_without_checksums_is_hashed_once_and_verify_reads_nothing(aws):
    s3, _, _ = aws
    _legacy_client().put_object(Bucket=SOURCE, Key="old/model.tar.gz", Body=TARBALL)
    assert not any(k.startswith("Checksum") for k in s3.head_object(Bucket=SOURCE, Key="old/model.tar.gz"))

    (copied,) = copy_artifacts(s3, s3, [_object("old/model.tar.gz")], ARCHIVE, "snapshots/x/")
    assert copied.rule == "hashed by mlgov" and copied.hash_ranges == [[0, len(TARBALL) - 1]]
    assert copied.source_hashes == [base64.b64encode(hashlib.sha256(TARBALL).digest()).decode()]
    assert copied.checksum["algorithm"] == "SHA256"

    reads = _reads(s3)
    assert verify_copies(s3, s3, ARCHIVE, [copied]) == [] and reads == []
    s3.put_object(Bucket=ARCHIVE, Key=copied.archive_key, Body=TARBALL[:-1] + b"!", ChecksumAlgorithm="SHA256")
    (problem,) = verify_copies(s3, s3, ARCHIVE, [CopiedObject.from_dict({**copied.as_dict(), "version_id": None})])
    assert problem.startswith(f"{copied.archive_key}: checksum mismatch (SHA256 ")
    assert problem.endswith(f"vs source {copied.source_hashes[0]})")


def test_ranges_beyond_the_task_budget_wait_for_the_map_and_block_verification_until_hashed(aws):
    s3, _, _ = aws
    _legacy_client().put_object(Bucket=SOURCE, Key="old/model.tar.gz", Body=TARBALL)
    limits = CopyLimits(hash_in_task_max=0)

    (copied,) = copy_artifacts(s3, s3, [_object("old/model.tar.gz")], ARCHIVE, "snapshots/x/", limits=limits)

    assert copied.source_hashes == [None]
    (job,) = pending_ranges([copied])
    assert job == {
        "archive_key": copied.archive_key,
        "index": 0,
        "source_uri": f"s3://{SOURCE}/old/model.tar.gz",
        "version_id": None,
        "etag": copied.source_etag,
        "range": [0, len(TARBALL) - 1],
    }
    assert verify_copies(s3, s3, ARCHIVE, [copied]) == [f"{copied.archive_key}: source range(s) 1 of 1 not hashed yet"]
    digest = sha256_of_range(s3, SOURCE, "old/model.tar.gz", (0, len(TARBALL) - 1), etag=job["etag"])
    assert verify_copies(s3, s3, ARCHIVE, [copied], {copied.archive_key: {0: digest}}) == []
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    (problem,) = verify_copies(s3, s3, ARCHIVE, [copied], {copied.archive_key: {0: wrong}})
    assert "checksum mismatch" in problem


def test_an_empty_artifact_hashes_without_a_range_read(aws):
    s3, _, _ = aws
    _legacy_client().put_object(Bucket=SOURCE, Key="old/empty", Body=b"")
    reads = _reads(s3)
    (copied,) = copy_artifacts(s3, s3, [_object("old/empty")], ARCHIVE, "snapshots/x/")
    assert copied.source_hashes == [base64.b64encode(hashlib.sha256(b"").digest()).decode()] and reads == []
    assert verify_copies(s3, s3, ARCHIVE, [copied]) == []


def _sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _stubbed_multipart(stubber, parts: list[str], archive_parts: list[str], *, fail_part: int | None = None):
    """HeadObject of a composite-SHA-256 source of two 5 MiB parts, its ObjectParts, and the multipart copy S3 would
    answer (each UploadPartCopy returning S3's SHA-256 of the archived part)."""
    key, target = "big/model.bin", "snapshots/x/artifacts/ml-artifacts/big/model.bin"
    composite = composite_of(parts, "SHA256")
    stubber.add_response(
        "head_object",
        {"ContentLength": 10 * MIB, "ETag": '"e-2"', "ChecksumSHA256": composite, "ChecksumType": "COMPOSITE"},
        {"Bucket": SOURCE, "Key": key, "ChecksumMode": "ENABLED"},
    )
    stubber.add_response(
        "get_object_attributes",
        {
            "ObjectParts": {
                "TotalPartsCount": 2,
                "IsTruncated": False,
                "Parts": [{"PartNumber": n, "Size": 5 * MIB, "ChecksumSHA256": v} for n, v in enumerate(parts, 1)],
            }
        },
        {"Bucket": SOURCE, "Key": key, "ObjectAttributes": ["ObjectParts"], "MaxParts": 1000, "PartNumberMarker": 0},
    )
    stubber.add_response(
        "create_multipart_upload",
        {"UploadId": "u1"},
        {"Bucket": ARCHIVE, "Key": target, "ChecksumAlgorithm": "SHA256", "ChecksumType": "COMPOSITE"},
    )
    for number, value in enumerate(archive_parts, 1):
        expected = {
            "Bucket": ARCHIVE,
            "Key": target,
            "UploadId": "u1",
            "PartNumber": number,
            "CopySource": {"Bucket": SOURCE, "Key": key},
            "CopySourceRange": f"bytes={(number - 1) * 5 * MIB}-{number * 5 * MIB - 1}",
            "CopySourceIfMatch": '"e-2"',
        }
        if number == fail_part:
            stubber.add_client_error("upload_part_copy", "PreconditionFailed", http_status_code=412)
            break
        stubber.add_response(
            "upload_part_copy", {"CopyPartResult": {"ETag": f'"p{number}"', "ChecksumSHA256": value}}, expected
        )
    return key, target, composite


def test_a_multipart_source_is_copied_part_for_part_and_each_part_is_compared():
    client = boto3.client("s3", region_name=REGION)
    parts = [_sha(b"a"), _sha(b"b")]
    with Stubber(client) as stubber:
        key, target, composite = _stubbed_multipart(stubber, parts, parts)
        stubber.add_response(
            "complete_multipart_upload",
            {"VersionId": "v1"},
            {
                "Bucket": ARCHIVE,
                "Key": target,
                "UploadId": "u1",
                "ChecksumType": "COMPOSITE",
                "MultipartUpload": {
                    "Parts": [
                        {"PartNumber": 1, "ETag": '"p1"', "ChecksumSHA256": parts[0]},
                        {"PartNumber": 2, "ETag": '"p2"', "ChecksumSHA256": parts[1]},
                    ]
                },
            },
        )
        archived = {
            "ContentLength": 10 * MIB,
            "ChecksumSHA256": composite,
            "ChecksumType": "COMPOSITE",
            "VersionId": "v1",
        }
        stubber.add_response("head_object", archived, {"Bucket": ARCHIVE, "Key": target, "ChecksumMode": "ENABLED"})
        (copied,) = copy_artifacts(client, client, [_object(key)], ARCHIVE, "snapshots/x/", limits=SMALL)
        stubber.assert_no_pending_responses()
    assert copied.rule == "composite checksum, parts mirrored" and copied.parts == parts
    assert copied.checksum == {"algorithm": "SHA256", "value": composite, "type": "COMPOSITE"}
    assert copied.source_hashes is None  # S3's checksums compare: nothing read


def test_an_archived_part_that_differs_from_its_source_part_aborts_the_copy_naming_the_part():
    client = boto3.client("s3", region_name=REGION)
    parts = [_sha(b"a"), _sha(b"b")]
    with Stubber(client) as stubber:
        key, target, _ = _stubbed_multipart(stubber, parts, [parts[0], _sha(b"B")])
        stubber.add_response("abort_multipart_upload", {}, {"Bucket": ARCHIVE, "Key": target, "UploadId": "u1"})
        with pytest.raises(SnapshotError, match="part 2 of 2 differs"):
            copy_artifacts(client, client, [_object(key)], ARCHIVE, "snapshots/x/", limits=SMALL)
        stubber.assert_no_pending_responses()


def test_a_failed_part_copy_aborts_the_upload():
    client = boto3.client("s3", region_name=REGION)
    parts = [_sha(b"a"), _sha(b"b")]
    with Stubber(client) as stubber:
        key, target, _ = _stubbed_multipart(stubber, parts, parts, fail_part=1)
        stubber.add_response("abort_multipart_upload", {}, {"Bucket": ARCHIVE, "Key": target, "UploadId": "u1"})
        with pytest.raises(ClientError, match="PreconditionFailed"):
            copy_artifacts(client, client, [_object(key)], ARCHIVE, "snapshots/x/", limits=SMALL)
        stubber.assert_no_pending_responses()


def test_s3_composes_multipart_checksums_as_the_verifier_does(aws):
    """Contract: the composite SHA-256 S3 (here moto) reports equals `composite_of` the parts' SHA-256s."""
    s3, _, _ = aws
    chunks = [b"x" * (5 * MIB), b"y" * (5 * MIB), b"z" * 100]
    upload = s3.create_multipart_upload(Bucket=ARCHIVE, Key="k", ChecksumAlgorithm="SHA256")
    done = [
        {"PartNumber": n, "ETag": s3.upload_part(Bucket=ARCHIVE, Key="k", UploadId=upload["UploadId"], PartNumber=n,
                                                 Body=chunk, ChecksumAlgorithm="SHA256")["ETag"],
         "ChecksumSHA256": _sha(chunk)}
        for n, chunk in enumerate(chunks, 1)
    ]  # fmt: skip
    s3.complete_multipart_upload(Bucket=ARCHIVE, Key="k", UploadId=upload["UploadId"], MultipartUpload={"Parts": done})
    reported = s3.get_object(Bucket=ARCHIVE, Key="k", ChecksumMode="ENABLED")["ChecksumSHA256"]
    assert reported == composite_of([_sha(c) for c in chunks], "SHA256")


def test_an_archive_copy_overwritten_right_after_the_copy_is_never_recorded(aws):
    """Between the copy and the head that records it, another writer replaces the archived object: the snapshot
    fails instead of recording (and later verifying) bytes this copy did not write."""
    s3, sagemaker, _ = aws
    copied_to: dict = {}

    def another_writer(**_):
        s3.meta.events.unregister("after-call.s3.CopyObject", unique_id="another-writer")
        s3.put_object(Bucket=ARCHIVE, Key=copied_to["Key"], Body=b"planted")

    s3.meta.events.register("provide-client-params.s3.CopyObject", lambda params, **_: copied_to.update(params))
    s3.meta.events.register("after-call.s3.CopyObject", another_writer, unique_id="another-writer")
    with pytest.raises(SnapshotError, match="was overwritten right after the copy"):
        copy_all(s3, sagemaker)
