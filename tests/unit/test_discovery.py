"""The discovery table against botocore's SageMaker model, and the billing rules on real response shapes."""

from __future__ import annotations

from datetime import UTC, datetime

import botocore.session
import pytest

from mlgov.domain.discovery import (
    ENDPOINT_CONFIG,
    RESOURCE_KINDS,
    SUPPORTED_TYPES,
    Observed,
    live_endpoint,
)
from mlgov.domain.inventory import Variant
from mlgov.domain.resource_identity import RESOURCE_ARNS

MODEL = botocore.session.get_session().get_service_model("sagemaker")
ACCOUNT, REGION = "111122223333", "eu-west-1"
CREATED = datetime(2026, 3, 1, tzinfo=UTC)


def _members(shape) -> set[str]:
    return set(shape.members)


def _summary_shape(operation: str, result_key: str):
    return MODEL.operation_model(operation).output_shape.members[result_key].member


@pytest.mark.parametrize("resource_type", SUPPORTED_TYPES)
def test_every_member_the_table_names_exists_in_the_model(resource_type):
    kind = RESOURCE_KINDS[resource_type]
    listing = MODEL.operation_model(kind.list_operation)
    summary = _members(_summary_shape(kind.list_operation, kind.result_key))

    assert kind.result_key in listing.output_shape.members
    assert {kind.status_member, "CreationTime", *kind.name_members[:1]} <= summary
    assert kind.arn_member is None or kind.arn_member in summary
    assert set(kind.create_request.values()) <= summary
    if kind.recent_only:
        assert "CreationTimeAfter" in listing.input_shape.members
    if kind.describe_operation:
        describe = MODEL.operation_model(kind.describe_operation).input_shape
        assert set(describe.required_members) <= set(kind.describe_keys) <= _members(describe) & summary


@pytest.mark.parametrize("resource_type", [t for t in SUPPORTED_TYPES if RESOURCE_KINDS[t].search_resource])
def test_searched_types_return_the_describe_shape_with_tags(resource_type):
    kind = RESOURCE_KINDS[resource_type]
    record = MODEL.shape_for("SearchRecord").members[kind.search_resource]
    described = MODEL.operation_model(kind.describe_operation).output_shape

    assert kind.search_resource in MODEL.operation_model("Search").input_shape.members["Resource"].enum
    assert "Tags" in record.members and f"{kind.search_resource}Arn" in record.members
    # What the billing rule reads from DescribeEndpoint is in the Search record too, except AsyncInferenceConfig,
    # which the rule also reads from the endpoint's config (where CreateEndpointConfig put it).
    assert {"EndpointConfigName", "ProductionVariants", "ShadowProductionVariants", "FailureReason"} <= (
        _members(record) & _members(described)
    )
    assert "AsyncInferenceConfig" not in record.members
    assert "AsyncInferenceConfig" in MODEL.operation_model(ENDPOINT_CONFIG).output_shape.members


def test_types_without_an_arn_in_their_summary_build_it_with_a_known_create():
    built = {t: k for t, k in RESOURCE_KINDS.items() if k.arn_member is None}

    assert set(built) == {"user-profile", "space", "app"}
    for resource_type, kind in built.items():
        assert RESOURCE_ARNS[kind.create_operation].resource_type == resource_type


def test_every_type_is_an_arn_resource_type_sagemaker_creates():
    assert set(SUPPORTED_TYPES) <= {rule.resource_type for rule in RESOURCE_ARNS.values()}


def _app(status: str, owner: dict) -> dict:
    return {
        "DomainId": "d-abc",
        "AppType": "JupyterLab",
        "AppName": "default",
        "Status": status,
        "CreationTime": CREATED,
        "ResourceSpec": {"InstanceType": "ml.t3.medium"},
        **owner,
    }


def test_a_space_app_gets_the_arn_its_create_would_have_returned():
    kind = RESOURCE_KINDS["app"]
    summary = _app("InService", {"SpaceName": "lab"})

    app = kind.resource("app", Observed(ACCOUNT, REGION, "aws", summary=summary))

    assert app.arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:app/d-abc/lab/jupyterlab/default"
    assert (app.running, app.instance_type, app.instance_count) == (True, "ml.t3.medium", 1)


def test_a_deleted_app_that_list_apps_still_shows_does_not_exist():
    kind = RESOURCE_KINDS["app"]

    assert not kind.exists(_app("Deleted", {"UserProfileName": "ana"}))
    assert kind.exists(_app("Pending", {"UserProfileName": "ana"}))


def test_an_endpoint_takes_instance_types_from_its_config_and_counts_from_itself():
    endpoint = {
        "EndpointName": "churn",
        "EndpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/churn",
        "EndpointConfigName": "churn-v2",
        "EndpointStatus": "Updating",
        "CreationTime": CREATED,
        "ProductionVariants": [{"VariantName": "a", "CurrentInstanceCount": 3}],
        "ShadowProductionVariants": [{"VariantName": "s", "CurrentInstanceCount": 1}],
    }
    config = {
        "ProductionVariants": [{"VariantName": "a", "InstanceType": "ml.g5.2xlarge"}],
        "ShadowProductionVariants": [{"VariantName": "s", "InstanceType": "ml.g5.2xlarge"}],
    }
    observed = Observed(
        ACCOUNT,
        REGION,
        "aws",
        summary=endpoint,
        described=endpoint,
        related={ENDPOINT_CONFIG: config},
        incomplete=("ListTags failed: ThrottlingException",),
    )

    found = RESOURCE_KINDS["endpoint"].resource("endpoint", observed)

    assert found.running and found.instance_type == "ml.g5.2xlarge" and found.instance_count == 4
    assert found.details["shadow_variant_names"] == ["s"]
    assert found.details["incomplete"] == "ListTags failed: ThrottlingException"


def test_a_config_deleted_under_a_live_endpoint_is_evidence_not_an_error():
    endpoint = {
        "EndpointName": "e",
        "EndpointArn": "arn:aws:sagemaker:us-east-1:111122223333:endpoint/e",
        "EndpointConfigName": "gone",
        "EndpointStatus": "InService",
        "ProductionVariants": [{"VariantName": "a", "CurrentInstanceCount": 1}],
    }
    observed = Observed(
        ACCOUNT, REGION, None, summary=endpoint, described=endpoint, related={ENDPOINT_CONFIG: {}},
        related_gone=frozenset({ENDPOINT_CONFIG}),
    )  # fmt: skip

    found = RESOURCE_KINDS["endpoint"].resource("endpoint", observed)

    assert found.details["endpoint_config_missing"] is True
    assert found.instance_type is None and found.variants == (Variant("a", None, 1),)


def test_the_approval_recheck_reads_an_endpoint_from_describe_endpoint_alone():
    described = {
        "EndpointName": "e",
        "EndpointArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/e",
        "EndpointConfigName": "c",
        "EndpointStatus": "InService",
        "CreationTime": CREATED,
        "LastModifiedTime": CREATED,
        "ProductionVariants": [{"VariantName": "a", "CurrentInstanceCount": 2}],
        "AsyncInferenceConfig": {"OutputConfig": {"S3OutputPath": "s3://b/o"}},
    }

    endpoint = live_endpoint(ACCOUNT, REGION, described)

    assert (endpoint.account, endpoint.region, endpoint.name, endpoint.status) == (ACCOUNT, REGION, "e", "InService")
    assert endpoint.variants == (Variant("a", None, 2),)
    assert endpoint.details["async_inference"] is True


def test_a_training_job_on_a_heterogeneous_cluster_has_groups_and_no_single_type():
    summary = {
        "TrainingJobName": "t",
        "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/t",
        "TrainingJobStatus": "Completed",
        "CreationTime": CREATED,
    }
    described = {
        "ResourceConfig": {
            "VolumeSizeInGB": 30,
            "InstanceGroups": [
                {"InstanceGroupName": "g1", "InstanceType": "ml.p4d.24xlarge", "InstanceCount": 2},
                {"InstanceGroupName": "g2", "InstanceType": "ml.c5.xlarge", "InstanceCount": 1},
            ],
        },
        "WarmPoolStatus": {"Status": "Available", "ResourceRetainedBillableTimeInSeconds": 60},
        "BillableTimeInSeconds": 600,
    }

    job = RESOURCE_KINDS["training-job"].resource(
        "training-job", Observed(ACCOUNT, REGION, None, summary=summary, described=described)
    )

    assert job.instance_type is None and job.instance_count == 3 and len(job.instance_groups) == 2
    assert job.running  # the warm pool keeps billed instances after the job completed
    assert job.billable_seconds == 600
