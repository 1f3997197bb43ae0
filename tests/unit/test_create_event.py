"""Create-event parsing: EventBridge envelopes of SageMaker CloudTrail records become a CreateCall or a BadEvent."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from mlgov.domain.create_event import (
    BadEvent,
    CreateCall,
    ResourceInAnotherAccount,
    parse_create_event,
    request_tags,
)
from mlgov.domain.creator_identity import ASSUMED_ROLE, AWS_SERVICE, SSO_USER

ACCOUNT = "111122223333"
REGION = "eu-west-1"
SSO_ROLE = "AWSReservedSSO_DataScientist_0123456789abcdef"
ENDPOINT_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/churn-xgb"
EVENT_ID = "0f4c9a7e-5d2b-4e1a-9c3f-7b8d6e5a4c21"
ENVELOPE_ID = "6f4c1a3e-2b7d-4c9e-8a51-0d3e9b2f7c10"

# A CreateEndpoint call by an IAM Identity Center user, as EventBridge delivers it (ids sanitised).
CREATE_ENDPOINT = {
    "version": "0",
    "id": ENVELOPE_ID,
    "detail-type": "AWS API Call via CloudTrail",
    "source": "aws.sagemaker",
    "account": ACCOUNT,
    "time": "2026-11-24T10:00:03Z",
    "region": REGION,
    "resources": [],
    "detail": {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLEID123456789:alice@example.com",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{SSO_ROLE}/alice@example.com",
            "accountId": ACCOUNT,
            "accessKeyId": "ASIAEXAMPLEKEY1234567",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLEID123456789",
                    "arn": f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/{REGION}/{SSO_ROLE}",
                    "accountId": ACCOUNT,
                    "userName": SSO_ROLE,
                },
                "webIdFederationData": {},
                "attributes": {"creationDate": "2026-11-24T09:12:40Z", "mfaAuthenticated": "false"},
            },
        },
        "eventTime": "2026-11-24T10:00:00Z",
        "eventSource": "sagemaker.amazonaws.com",
        "eventName": "CreateEndpoint",
        "awsRegion": REGION,
        "sourceIPAddress": "203.0.113.10",
        "userAgent": "Boto3/1.44.5 md/Botocore#1.44.5 ua/2.1 os/linux#6.1 md/arch#x86_64 lang/python#3.12.7 "
        "md/pyimpl#CPython cfg/retry-mode#standard Botocore/1.44.5",
        "requestParameters": {
            "endpointName": "churn-xgb",
            "endpointConfigName": "churn-xgb-config",
            "tags": [
                {"key": "ml:team", "value": "fraud-detection"},
                {"key": "ml:environment", "value": "dev"},
            ],
        },
        "responseElements": {"endpointArn": ENDPOINT_ARN},
        "requestID": "2c7e4b1d-8f3a-4d6e-b5c9-1a2b3c4d5e6f",
        "eventID": EVENT_ID,
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": f"api.sagemaker.{REGION}.amazonaws.com",
        },
    },
}

# A training job a tuning job launched: SageMaker made the call itself (eventType AwsServiceEvent).
TUNING_CHILD_TRAINING_JOB = {
    "version": "0",
    "id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
    "detail-type": "AWS Service Event via CloudTrail",
    "source": "aws.sagemaker",
    "account": ACCOUNT,
    "time": "2026-11-24T11:30:02Z",
    "region": REGION,
    "resources": [],
    "detail": {
        "eventVersion": "1.09",
        "userIdentity": {"accountId": ACCOUNT, "invokedBy": "sagemaker.amazonaws.com"},
        "eventTime": "2026-11-24T11:30:00Z",
        "eventSource": "sagemaker.amazonaws.com",
        "eventName": "CreateTrainingJob",
        "awsRegion": REGION,
        "sourceIPAddress": "sagemaker.amazonaws.com",
        "userAgent": "sagemaker.amazonaws.com",
        "requestParameters": {"trainingJobName": "xgb-tuner-001-1a2b3c4d"},
        "responseElements": {
            "trainingJobArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/xgb-tuner-001-1a2b3c4d"
        },
        "requestID": "3d8f5c2e-9a4b-4e7f-a6d1-2b3c4d5e6f70",
        "eventID": "4e9a6d3f-0b5c-4f8a-b7e2-3c4d5e6f7081",
        "readOnly": False,
        "eventType": "AwsServiceEvent",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    },
}


def endpoint_event(**detail_changes: object) -> dict:
    """CREATE_ENDPOINT with detail fields replaced; a value of None removes the field."""
    event = copy.deepcopy(CREATE_ENDPOINT)
    for name, value in detail_changes.items():
        if value is None:
            event["detail"].pop(name, None)
        else:
            event["detail"][name] = value
    return event


def parse_error(event: object) -> str:
    with pytest.raises(BadEvent) as raised:
        parse_create_event(event)
    return str(raised.value)


# --- events that parse ------------------------------------------------------------------------


def test_create_endpoint_becomes_a_create_call() -> None:
    call = parse_create_event(copy.deepcopy(CREATE_ENDPOINT))

    assert isinstance(call, CreateCall)
    assert call.event_id == EVENT_ID
    assert call.event_name == "CreateEndpoint"
    assert (call.account, call.region, call.partition) == (ACCOUNT, REGION, "aws")
    assert call.resource_arn == ENDPOINT_ARN
    assert call.resource_type == "endpoint"
    assert call.event_time == datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)
    assert call.creator.display == "alice@example.com"
    assert call.creator.kind == SSO_USER
    assert call.creator.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/{SSO_ROLE}/alice@example.com"
    assert call.request_tags == {"ml:team": "fraud-detection", "ml:environment": "dev"}
    assert call.request_parameters["endpointConfigName"] == "churn-xgb-config"


def test_the_arn_sagemaker_returned_wins_over_one_built_from_the_request() -> None:
    """SageMaker keeps the case it returned; a built ARN would lowercase the name."""
    returned = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/Churn-XGB"
    event = endpoint_event(
        requestParameters={"endpointName": "Churn-XGB", "endpointConfigName": "c"},
        responseElements={"endpointArn": returned},
    )

    assert parse_create_event(event).resource_arn == returned


def test_arn_is_built_from_the_request_when_the_response_has_none() -> None:
    event = endpoint_event(responseElements={})

    assert parse_create_event(event).resource_arn == ENDPOINT_ARN


def test_request_tags_spelled_key_value_or_Key_Value_are_both_read() -> None:
    event = endpoint_event(
        requestParameters={
            "endpointName": "churn-xgb",
            "endpointConfigName": "churn-xgb-config",
            "tags": [{"Key": "ml:team", "Value": "fraud-detection"}, {"key": "ml:model", "value": "churn-xgb"}],
        }
    )

    assert parse_create_event(event).request_tags == {"ml:team": "fraud-detection", "ml:model": "churn-xgb"}


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"tags": [{"Key": "ml:team", "Value": "risk"}]}, {"ml:team": "risk"}),
        ({"Tags": [{"key": "ml:team", "value": "risk"}]}, {"ml:team": "risk"}),
        ({"tags": [{"key": "ml:team"}]}, {"ml:team": ""}),  # TagValue is optional in the API
        ({"tags": [{"value": "orphan"}, "not-a-tag", {"key": 7, "value": "x"}]}, {}),
        ({"tags": "ml:team=risk"}, {}),
        ({}, {}),
    ],
)
def test_request_tags_keep_only_well_formed_entries(parameters, expected) -> None:
    assert request_tags(parameters) == expected


def test_a_service_event_of_a_tuning_job_child_is_accepted() -> None:
    call = parse_create_event(copy.deepcopy(TUNING_CHILD_TRAINING_JOB))

    assert call.event_name == "CreateTrainingJob"
    assert call.resource_type == "training-job"
    assert call.resource_arn.endswith(":training-job/xgb-tuner-001-1a2b3c4d")
    assert call.creator.kind == AWS_SERVICE
    assert call.creator.display == "sagemaker.amazonaws.com via tuning-job/xgb-tuner"
    assert call.request_tags == {}


@pytest.mark.parametrize("event_time", [1795514400000, "1795514400000"])
def test_epoch_millisecond_event_time_is_accepted(event_time) -> None:
    call = parse_create_event(endpoint_event(eventTime=event_time))

    assert call.event_time == datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)


def test_iso_event_time_without_zone_is_utc_and_fractions_are_kept() -> None:
    call = parse_create_event(endpoint_event(eventTime="2026-11-24T10:00:00.250"))

    assert call.event_time == datetime(2026, 11, 24, 10, 0, 0, 250000, tzinfo=UTC)


def test_missing_event_time_falls_back_to_the_envelope_time() -> None:
    call = parse_create_event(endpoint_event(eventTime=None))

    assert call.event_time == datetime(2026, 11, 24, 10, 0, 3, tzinfo=UTC)


def test_missing_event_id_falls_back_to_the_envelope_id() -> None:
    assert parse_create_event(endpoint_event(eventID=None)).event_id == ENVELOPE_ID


def test_missing_recipient_account_falls_back_to_the_envelope_account() -> None:
    call = parse_create_event(endpoint_event(recipientAccountId=None))

    assert call.account == ACCOUNT


def test_govcloud_region_gives_the_govcloud_partition_in_a_built_arn() -> None:
    event = endpoint_event(awsRegion="us-gov-west-1", responseElements=None)
    event["region"] = "us-gov-west-1"

    call = parse_create_event(event)

    assert call.partition == "aws-us-gov"
    assert call.resource_arn == f"arn:aws-us-gov:sagemaker:us-gov-west-1:{ACCOUNT}:endpoint/churn-xgb"


# --- events refused, each with its own reason -------------------------------------------------


def test_a_resource_created_in_another_account_is_left_to_that_accounts_record() -> None:
    other = "999988887777"
    event = endpoint_event(responseElements={"endpointArn": ENDPOINT_ARN.replace(ACCOUNT, other)})
    with pytest.raises(ResourceInAnotherAccount) as raised:
        parse_create_event(event)
    assert str(raised.value) == (
        f"the created resource 'arn:aws:sagemaker:{REGION}:{other}:endpoint/churn-xgb' is in account {other}, "
        f"not {ACCOUNT} where the call was recorded"
    )


def test_an_envelope_from_another_account_than_the_record_is_refused() -> None:
    event = endpoint_event()
    event["account"] = "999988887777"
    assert parse_error(event) == f"account '999988887777' does not match detail.recipientAccountId '{ACCOUNT}'"


def test_an_event_without_envelope_account_and_region_is_checked_against_the_record_alone() -> None:
    event = endpoint_event()
    del event["account"], event["region"]
    assert parse_create_event(event).resource_arn == ENDPOINT_ARN


def test_a_record_from_another_region_than_the_resource_is_refused() -> None:
    event = endpoint_event(responseElements={"endpointArn": ENDPOINT_ARN.replace(REGION, "us-east-1")})
    assert parse_error(event).startswith(f"detail.awsRegion '{REGION}' does not match the region of the created")


@pytest.mark.parametrize(("event", "kind"), [([CREATE_ENDPOINT], "list"), ("{}", "str"), (None, "NoneType")])
def test_an_event_that_is_not_an_object_is_refused(event, kind) -> None:
    assert parse_error(event) == f"event is a {kind}, not an object"


def test_another_source_is_refused_and_named() -> None:
    event = copy.deepcopy(CREATE_ENDPOINT)
    event["source"] = "aws.s3"

    assert "source='aws.s3'" in parse_error(event)


def test_another_detail_type_is_refused_and_named() -> None:
    event = copy.deepcopy(CREATE_ENDPOINT)
    event["detail-type"] = "SageMaker Endpoint State Change"

    message = parse_error(event)

    assert "not a SageMaker CloudTrail API call" in message
    assert "detail-type='SageMaker Endpoint State Change'" in message


@pytest.mark.parametrize("detail", [None, "CreateEndpoint", []])
def test_an_event_without_a_detail_object_is_refused(detail) -> None:
    event = copy.deepcopy(CREATE_ENDPOINT)
    if detail is None:
        del event["detail"]
    else:
        event["detail"] = detail

    assert parse_error(event) == "event has no 'detail' object"


@pytest.mark.parametrize("event_name", [None, ""])
def test_missing_event_name_is_refused(event_name) -> None:
    event = endpoint_event(eventName=None)
    if event_name is not None:
        event["detail"]["eventName"] = event_name

    assert parse_error(event) == "detail.eventName is missing"


def test_a_failed_call_is_refused_naming_its_error_code() -> None:
    event = endpoint_event(
        errorCode="ResourceLimitExceeded",
        errorMessage="The account-level service limit 'ml.g5.12xlarge for endpoint usage' is 0 Instances",
    )
    event["detail"]["responseElements"] = None

    assert parse_error(event) == "CreateEndpoint failed (ResourceLimitExceeded): nothing was created"


def test_an_event_name_that_is_not_a_create_is_refused() -> None:
    event = endpoint_event(eventName="DescribeEndpoint", readOnly=True, requestParameters={"endpointName": "churn-xgb"})
    event["detail"]["responseElements"] = None

    assert parse_error(event) == "DescribeEndpoint is not a SageMaker create mlgov knows how to tag"


def test_missing_recipient_account_and_envelope_account_is_refused() -> None:
    event = endpoint_event(recipientAccountId=None)
    del event["account"]

    assert parse_error(event) == "detail.recipientAccountId is missing"


def test_missing_event_id_and_envelope_id_is_refused() -> None:
    event = endpoint_event(eventID=None)
    del event["id"]

    assert parse_error(event) == "detail.eventID is missing"


@pytest.mark.parametrize("event_time", ["yesterday", "2026-13-45T10:00:00Z", 10**20, [2026, 11, 24]])
def test_an_event_time_that_is_not_a_timestamp_is_refused(event_time) -> None:
    assert parse_error(endpoint_event(eventTime=event_time)) == f"eventTime {event_time!r} is not a timestamp"


def test_request_parameters_that_are_not_an_object_are_refused() -> None:
    event = endpoint_event(requestParameters=["endpointName", "churn-xgb"])

    assert parse_error(event) == "requestParameters is not an object"


def test_no_arn_and_no_name_in_the_request_names_what_is_missing_once() -> None:
    event = endpoint_event(requestParameters={"endpointConfigName": "churn-xgb-config"})
    event["detail"]["responseElements"] = None

    message = parse_error(event)

    assert message == (
        "CreateEndpoint: responseElements has no endpointArn and requestParameters lacks endpointName to build it"
    )
    assert message.count("CreateEndpoint") == 1


def test_a_create_that_returns_no_arn_names_the_missing_request_field_once() -> None:
    event = endpoint_event(eventName="CreateEdgePackagingJob", requestParameters={"compilationJobName": "c"})
    event["detail"]["responseElements"] = None

    message = parse_error(event)

    assert message == (
        "CreateEdgePackagingJob returns no ARN and requestParameters lacks edgePackagingJobName to build it"
    )
    assert message.count("CreateEdgePackagingJob") == 1


def test_a_create_whose_arn_holds_a_generated_id_needs_the_response() -> None:
    event = endpoint_event(eventName="CreateCluster", requestParameters={"clusterName": "llm-training"})
    event["detail"]["responseElements"] = None

    message = parse_error(event)

    assert message.startswith("CreateCluster: responseElements has no clusterArn")
    assert message.count("CreateCluster") == 1


def test_bad_event_is_a_value_error() -> None:
    assert issubclass(BadEvent, ValueError)


def test_parsing_does_not_change_the_event() -> None:
    event = copy.deepcopy(CREATE_ENDPOINT)

    parse_create_event(event)

    assert event == CREATE_ENDPOINT


def test_assumed_role_creator_without_a_person_is_named_by_role_and_session() -> None:
    event = endpoint_event(
        userIdentity={
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLEID2:botocore-session-1764000000",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/MLPipelineRole/botocore-session-1764000000",
            "accountId": ACCOUNT,
            "accessKeyId": "ASIAEXAMPLEKEY2",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLEID2",
                    "arn": f"arn:aws:iam::{ACCOUNT}:role/MLPipelineRole",
                    "accountId": ACCOUNT,
                    "userName": "MLPipelineRole",
                },
                "attributes": {"creationDate": "2026-11-24T09:00:00Z", "mfaAuthenticated": "false"},
            },
        }
    )

    creator = parse_create_event(event).creator

    assert creator.kind == ASSUMED_ROLE
    assert creator.display == "role/MLPipelineRole/botocore-session-1764000000"
