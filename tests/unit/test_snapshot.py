"""Snapshot domain: artifact sources, archive layout, manifest, verification and restore requests (botocore-valid)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import botocore.session
import pytest
from botocore.validate import ParamValidator, validate_parameters

from mlgov.domain.snapshot import (
    ENDPOINT_CONFIG_FIELDS,
    MANIFEST_SCHEMA,
    MODEL_FIELDS,
    CopiedObject,
    SnapshotError,
    artifact_sources,
    manifest,
    restore_plan,
    snapshot_prefix,
    verify,
)

ACCOUNT, REGION = "111122223333", "eu-west-1"
TAKEN_AT = datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)
PREFIX = f"snapshots/{ACCOUNT}/{REGION}/churn-ep/20260301T123005Z/"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/sm-exec"
CREATED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sagemaker_model():
    return botocore.session.get_session().get_service_model("sagemaker")


def describe_endpoint():
    return {
        "EndpointName": "churn-ep",
        "EndpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/churn-ep",
        "EndpointConfigName": "churn-ep-config",
        "ProductionVariants": [
            {"VariantName": "main", "CurrentInstanceCount": 2, "DesiredInstanceCount": 2, "CurrentWeight": 1.0},
            {"VariantName": "llm", "CurrentInstanceCount": 1, "DesiredInstanceCount": 1, "CurrentWeight": 1.0},
        ],
        "EndpointStatus": "InService",
        "CreationTime": CREATED,
        "LastModifiedTime": CREATED,
    }


def describe_config():
    return {
        "EndpointConfigName": "churn-ep-config",
        "EndpointConfigArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint-config/churn-ep-config",
        "ProductionVariants": [
            {
                "VariantName": "main",
                "ModelName": "churn-pipeline",
                "InitialInstanceCount": 2,
                "InstanceType": "ml.m5.xlarge",
                "InitialVariantWeight": 1.0,
            },
            {
                "VariantName": "llm",
                "ModelName": "churn-llm",
                "InitialInstanceCount": 1,
                "InstanceType": "ml.g5.xlarge",
                "InitialVariantWeight": 1.0,
            },
        ],  # fmt: skip
        "DataCaptureConfig": {},
        "CreationTime": CREATED,
    }


def describe_models():
    return {
        "churn-pipeline": {
            "ModelName": "churn-pipeline",
            "ModelArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/churn-pipeline",
            "Containers": [
                {"Image": "ecr/preprocess:1", "ModelDataUrl": "s3://ml-artifacts/churn/pre/model.tar.gz"},
                {
                    "Image": "ecr/xgb:1",
                    "ModelDataUrl": "s3://ml-artifacts/churn/xgb/model.tar.gz",
                    "Environment": {"SAGEMAKER_PROGRAM": "inference.py"},
                },
            ],  # fmt: skip
            "InferenceExecutionConfig": {"Mode": "Serial"},
            "ExecutionRoleArn": ROLE,
            "VpcConfig": {},
            "EnableNetworkIsolation": False,
            "CreationTime": CREATED,
            "DeploymentRecommendation": {"RecommendationStatus": "NOT_APPLICABLE"},
        },
        "churn-llm": {
            "ModelName": "churn-llm",
            "ModelArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/churn-llm",
            "PrimaryContainer": {
                "Image": "ecr/tgi:2",
                "ModelDataSource": {
                    "S3DataSource": {
                        "S3Uri": "s3://llm-weights/churn-llm/v3/",
                        "S3DataType": "S3Prefix",
                        "CompressionType": "None",
                        "ETag": "abc",
                    }
                },
            },
            "ExecutionRoleArn": ROLE,
            "CreationTime": CREATED,
        },
    }


ORIGINAL_TAGS = [
    {"Key": "ml:team", "Value": "fraud"},
    {"Key": "ml:model", "Value": "churn"},
    {"Key": "mlgov:created-by", "Value": "alice@example.com"},
    {"Key": "mlgov:zombie", "Value": "confirmed"},
    {"Key": "mlgov:zombie-by", "Value": "U123"},
    {"Key": "mlgov:zombie-date", "Value": "2026-03-01"},
    {"Key": "aws:cloudformation:stack-name", "Value": "ml-stack"},
]
KEPT_TAGS = ORIGINAL_TAGS[:2]  # mlgov's own keys come back from the auto-tagger, never from the snapshot


def copied_objects() -> list[CopiedObject]:
    uris = [
        "s3://ml-artifacts/churn/pre/model.tar.gz",
        "s3://ml-artifacts/churn/xgb/model.tar.gz",
        "s3://llm-weights/churn-llm/v3/config.json",
        "s3://llm-weights/churn-llm/v3/model.safetensors",
    ]
    return [
        CopiedObject(
            source_uri=uri,
            archive_key=f"{PREFIX}artifacts/{uri[5:]}",
            size=100 + i,
            checksum={"algorithm": "SHA256", "value": f"sum{i}=", "type": "FULL_OBJECT"},
            version_id=f"v{i}",
        )
        for i, uri in enumerate(uris)
    ]


def full_manifest(problems=()):
    return json.loads(
        json.dumps(
            manifest(
                account=ACCOUNT,
                region=REGION,
                taken_at=TAKEN_AT,
                archive_bucket="mlgov-archive",
                describe_endpoint=describe_endpoint(),
                describe_endpoint_config=describe_config(),
                describe_models=describe_models(),
                tags={
                    "endpoint": ORIGINAL_TAGS,
                    "endpoint_config": ORIGINAL_TAGS[:2],
                    "models": {"churn-pipeline": ORIGINAL_TAGS, "churn-llm": []},
                },
                sources=artifact_sources(describe_config(), describe_models()),
                copied=copied_objects(),
                problems=problems,
            )
        )
    )


# --- layout and sources -------------------------------------------------------------------------------------------


def test_snapshot_prefix_uses_utc_compact_timestamp():
    paris = timezone(timedelta(hours=1))
    assert snapshot_prefix(ACCOUNT, REGION, "churn-ep", datetime(2026, 3, 1, 13, 30, 5, tzinfo=paris)) == PREFIX


def test_naive_snapshot_time_is_refused():
    with pytest.raises(SnapshotError, match="timezone"):
        snapshot_prefix(ACCOUNT, REGION, "churn-ep", datetime(2026, 3, 1))


def test_sources_cover_every_container_of_every_model_behind_the_config():
    sources = artifact_sources(describe_config(), describe_models())
    found = [(s.model_name, s.location, s.bucket, s.key, s.data_type, s.compression) for s in sources]
    assert found == [
        ("churn-pipeline", "Containers[0].ModelDataUrl", "ml-artifacts", "churn/pre/model.tar.gz", "S3Object", None),
        ("churn-pipeline", "Containers[1].ModelDataUrl", "ml-artifacts", "churn/xgb/model.tar.gz", "S3Object", None),
        ("churn-llm", "PrimaryContainer.ModelDataSource", "llm-weights", "churn-llm/v3/", "S3Prefix", "None"),
    ]


def test_single_object_model_data_source_and_shared_model_are_listed_once():
    config = describe_config()
    config["ProductionVariants"].append({"VariantName": "canary", "ModelName": "churn-llm", "InitialInstanceCount": 1})
    models = describe_models()
    models["churn-llm"]["PrimaryContainer"]["ModelDataSource"]["S3DataSource"].update(
        S3Uri="s3://llm-weights/churn-llm/v3/model.tar.gz", S3DataType="S3Object", CompressionType="Gzip"
    )
    sources = artifact_sources(config, models)
    llm = [s for s in sources if s.model_name == "churn-llm"]
    assert [(s.key, s.data_type, s.compression) for s in llm] == [("churn-llm/v3/model.tar.gz", "S3Object", "Gzip")]


def test_inference_component_endpoint_is_refused_with_a_reason():
    config = {"EndpointConfigName": "ic", "ProductionVariants": [{"VariantName": "AllTraffic"}]}
    with pytest.raises(SnapshotError, match="inference components"):
        artifact_sources(config, {})


def test_malformed_model_data_url_is_refused():
    models = describe_models()
    models["churn-pipeline"]["Containers"][0]["ModelDataUrl"] = "https://example.com/model.tar.gz"
    with pytest.raises(SnapshotError, match="not an s3:// URI"):
        artifact_sources(describe_config(), models)


# --- manifest ----------------------------------------------------------------------------------------------------


def test_manifest_holds_full_describes_tags_and_objects_as_json():
    document = full_manifest()
    assert document["schema"] == MANIFEST_SCHEMA
    assert document["prefix"] == PREFIX
    assert document["taken_at"] == "2026-03-01T12:30:05+00:00"
    assert document["describe_endpoint"]["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    assert document["describe_endpoint_config"]["ProductionVariants"][1]["InstanceType"] == "ml.g5.xlarge"
    assert document["describe_models"]["churn-pipeline"]["CreationTime"] == "2026-01-05T09:00:00+00:00"
    assert document["tags"]["endpoint"] == ORIGINAL_TAGS
    assert [o["source_uri"] for o in document["objects"]] == [o.source_uri for o in copied_objects()]
    assert set(document["objects"][0]) >= {"source_uri", "archive_key", "size", "checksum", "version_id"}
    assert document["verification"] == {"verified": True, "problems": []}


# --- verification ------------------------------------------------------------------------------------------------


def heads(sha="sum=", size=100, version="v1", **extra):
    return {"ContentLength": size, "ChecksumSHA256": sha, "VersionId": version, **extra}


ONE = CopiedObject("s3://b/k", f"{PREFIX}artifacts/b/k", 100, {"algorithm": "SHA256", "value": "sum="}, "v1")


def test_matching_size_and_checksum_is_verified():
    assert verify([ONE], {ONE.source_uri: heads()}, {ONE.archive_key: heads()}) == []


def test_size_mismatch_is_a_problem():
    problems = verify([ONE], {ONE.source_uri: heads()}, {ONE.archive_key: heads(size=99)})
    assert problems == [f"{ONE.archive_key}: size mismatch, 99 bytes archived, 100 at the source"]


def test_checksum_mismatch_is_a_problem():
    (problem,) = verify([ONE], {ONE.source_uri: heads()}, {ONE.archive_key: heads(sha="other=")})
    assert "checksum mismatch" in problem and "other=" in problem


def test_missing_archive_object_and_missing_source_are_problems():
    assert verify([ONE], {ONE.source_uri: heads()}, {ONE.archive_key: None}) == [
        f"{ONE.archive_key}: missing from the archive"
    ]
    assert verify([ONE], {}, {ONE.archive_key: heads()}) == ["s3://b/k: source object missing, cannot compare"]


def test_replaced_archive_version_is_a_problem():
    (problem,) = verify([ONE], {ONE.source_uri: heads()}, {ONE.archive_key: heads(version="v2")})
    assert "current version v2 is not the copied v1" in problem


def test_no_comparable_checksum_is_not_verified():
    source = {"ContentLength": 100, "ChecksumCRC32": "yIt4KA==", "ETag": '"abc"'}
    archive = heads(ServerSideEncryption="aws:kms", ETag='"def"')
    (problem,) = verify([ONE], {ONE.source_uri: source}, {ONE.archive_key: archive})
    assert "cannot verify content" in problem


def test_plain_md5_etags_verify_unencrypted_single_part_copies():
    source = {"ContentLength": 100, "ETag": '"abc"'}
    archive = {"ContentLength": 100, "ETag": '"abc"', "VersionId": "v1", "ServerSideEncryption": "AES256"}
    assert verify([ONE], {ONE.source_uri: source}, {ONE.archive_key: archive}) == []


def test_multipart_composite_checksum_cannot_be_verified():
    archive = {"ContentLength": 100, "ChecksumSHA256": "abc=-3", "ChecksumType": "COMPOSITE", "VersionId": "v1",
               "ETag": '"x-3"', "ServerSideEncryption": "aws:kms"}  # fmt: skip
    (problem,) = verify([ONE], {ONE.source_uri: {"ContentLength": 100}}, {ONE.archive_key: archive})
    assert "multipart archive copy" in problem


def test_nothing_copied_is_not_verified():
    assert verify([], {}, {}) != []


# --- restore -----------------------------------------------------------------------------------------------------


def validate(sagemaker_model, operation: str, request: dict) -> None:
    validate_parameters(request, sagemaker_model.operation_model(operation).input_shape)


def invalid(sagemaker_model, operation: str, request: dict) -> str:
    """botocore's validation report for `request` against the operation's input shape ("" when valid)."""
    return ParamValidator().validate(request, sagemaker_model.operation_model(operation).input_shape).generate_report()


def test_restore_requests_are_valid_botocore_inputs(sagemaker_model):
    plan = restore_plan(full_manifest(), "mlgov-archive")
    assert [invalid(sagemaker_model, "CreateModel", request) for request in plan.models] == [""] * len(plan.models)
    assert invalid(sagemaker_model, "CreateEndpointConfig", plan.endpoint_config) == ""
    assert invalid(sagemaker_model, "CreateEndpoint", plan.endpoint) == ""
    assert invalid(sagemaker_model, "CreateEndpoint", {"EndpointName": "x"}) != ""  # the check can fail


def test_restore_points_every_artifact_at_the_archive():
    plan = restore_plan(full_manifest(), "mlgov-archive")
    pipeline, llm = plan.models
    assert [c["ModelDataUrl"] for c in pipeline["Containers"]] == [
        f"s3://mlgov-archive/{PREFIX}artifacts/ml-artifacts/churn/pre/model.tar.gz",
        f"s3://mlgov-archive/{PREFIX}artifacts/ml-artifacts/churn/xgb/model.tar.gz",
    ]
    assert llm["PrimaryContainer"]["ModelDataSource"]["S3DataSource"] == {
        "S3Uri": f"s3://mlgov-archive/{PREFIX}artifacts/llm-weights/churn-llm/v3/",
        "S3DataType": "S3Prefix",
        "CompressionType": "None",
    }


def test_restore_keeps_names_and_capacity_and_drops_output_only_fields():
    plan = restore_plan(full_manifest(), "mlgov-archive")
    assert [m["ModelName"] for m in plan.models] == ["churn-pipeline", "churn-llm"]
    assert "ModelArn" not in plan.models[0] and "CreationTime" not in plan.models[0]
    assert "VpcConfig" not in plan.models[0]  # empty in the describe output
    assert plan.models[0]["InferenceExecutionConfig"] == {"Mode": "Serial"}
    variants = plan.endpoint_config["ProductionVariants"]
    assert [(v["ModelName"], v["InstanceType"], v["InitialInstanceCount"]) for v in variants] == [
        ("churn-pipeline", "ml.m5.xlarge", 2),
        ("churn-llm", "ml.g5.xlarge", 1),
    ]
    assert "DataCaptureConfig" not in plan.endpoint_config
    assert plan.endpoint == {"EndpointName": "churn-ep", "EndpointConfigName": "churn-ep-config", "Tags": KEPT_TAGS}


def test_restore_drops_mlgov_and_aws_tags_only():
    plan = restore_plan(full_manifest(), "mlgov-archive")
    assert plan.models[0]["Tags"] == KEPT_TAGS
    assert "Tags" not in plan.models[1]
    assert plan.endpoint_config["Tags"] == ORIGINAL_TAGS[:2]


def test_restore_under_a_new_name_renames_config_and_models(sagemaker_model):
    plan = restore_plan(full_manifest(), "mlgov-archive", new_name="churn-ep-restored")
    assert plan.endpoint["EndpointName"] == plan.endpoint_config["EndpointConfigName"] == "churn-ep-restored"
    assert [m["ModelName"] for m in plan.models] == ["churn-ep-restored-churn-pipeline", "churn-ep-restored-churn-llm"]
    assert [v["ModelName"] for v in plan.endpoint_config["ProductionVariants"]] == [m["ModelName"] for m in plan.models]
    for request in plan.models:
        validate(sagemaker_model, "CreateModel", request)


def test_unknown_manifest_schema_is_refused():
    with pytest.raises(SnapshotError, match="schema"):
        restore_plan({"schema": "mlgov.snapshot/99"}, "mlgov-archive")


def test_copied_request_fields_are_the_botocore_input_members(sagemaker_model):
    """If botocore adds a CreateModel/CreateEndpointConfig member, decide whether restore copies it."""
    model_input = set(sagemaker_model.operation_model("CreateModel").input_shape.members)
    config_input = set(sagemaker_model.operation_model("CreateEndpointConfig").input_shape.members)
    assert set(MODEL_FIELDS) == model_input - {"ModelName", "Tags"}
    assert set(ENDPOINT_CONFIG_FIELDS) == config_input - {"EndpointConfigName", "Tags"}


def test_changed_fields_ignores_empty_values_and_names_real_differences():
    from mlgov.domain.snapshot import changed_fields

    then = {"PrimaryContainer": {"Image": "ecr/xgb:1", "Environment": {}}, "VpcConfig": {}, "ExecutionRoleArn": "r"}
    assert (
        changed_fields(
            {"PrimaryContainer": {"Image": "ecr/xgb:1"}, "ExecutionRoleArn": "r"},
            then,
            ("PrimaryContainer", "VpcConfig", "ExecutionRoleArn"),
        )
        == []
    )
    now = {"PrimaryContainer": {"Image": "ecr/xgb:2"}, "ExecutionRoleArn": "other"}
    assert changed_fields(now, then, ("PrimaryContainer", "VpcConfig", "ExecutionRoleArn")) == [
        "PrimaryContainer",
        "ExecutionRoleArn",
    ]


def test_drifted_sources_names_gone_resized_rewritten_and_replaced_artifacts():
    from mlgov.domain.snapshot import drifted_sources

    objects = [
        {"source_uri": f"s3://b/{name}", "size": 10, "source_etag": '"abc"', "source_version_id": "v1"}
        for name in ("same", "gone", "resized", "rewritten", "replaced")
    ]
    heads = {
        "s3://b/same": {"ContentLength": 10, "ETag": '"abc"', "VersionId": "v1"},
        "s3://b/gone": None,
        "s3://b/resized": {"ContentLength": 11, "ETag": '"abc"'},
        "s3://b/rewritten": {"ContentLength": 10, "ETag": '"def"'},
        "s3://b/replaced": {"ContentLength": 10, "ETag": '"abc"', "VersionId": "v2"},
    }
    assert drifted_sources(objects, heads) == [
        "s3://b/gone is gone",
        "s3://b/resized is 11 bytes, was 10",
        "s3://b/rewritten has another ETag",
        "s3://b/replaced is another version",
    ]


def test_identity_drift_names_each_changed_field_and_ignores_the_time_format():
    from datetime import UTC, datetime

    from mlgov.domain.snapshot import endpoint_identity, identity_drift

    created = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    live = {
        "EndpointArn": "arn:aws:sagemaker:us-east-1:333333333333:endpoint/churn",
        "CreationTime": created,
        "EndpointConfigName": "churn-config",
        "LastModifiedTime": created,
    }
    snapped = endpoint_identity(live)
    assert identity_drift(live, snapped) == []
    assert identity_drift(live, {**snapped, "CreationTime": "2026-09-01T08:00:00Z"}) == []
    moved = {**live, "LastModifiedTime": datetime(2026, 11, 24, tzinfo=UTC), "EndpointConfigName": "churn-v2"}
    assert identity_drift(moved, snapped) == [
        "EndpointConfigName was churn-config, now churn-v2",
        "LastModifiedTime was 2026-09-01T08:00:00+00:00, now 2026-11-24T00:00:00+00:00",
    ]
    assert identity_drift(live, {}) == [f"{field} was None, now {snapped[field]}" for field in snapped]
