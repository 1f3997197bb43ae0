"""Auto-tagging of one create: the Studio parents a new app or space inherits from, and the whole read-plan-add pass.

moto has no Studio apps or spaces, so the SageMaker calls go through botocore's Stubber, which checks every
request and response against the real service model.
"""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber

from mlgov.aws.sessions import AccountSessions
from mlgov.domain.create_event import CreateCall, parse_create_event
from mlgov.domain.tagging import TagDefaults
from mlgov.services.auto_tagging import park_in_dead_letter_queue, studio_parent_arns, tag_new_resource

ACCOUNT = "111122223333"
REGION = "eu-west-1"
DOMAIN_ID = "d-abcdef123456"
PREFIX = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
ALICE_ARN = f"arn:aws:iam::{ACCOUNT}:user/alice"
DEFAULTS = TagDefaults("auto-delete-after", 30, frozenset({"endpoint", "space", "app"}))


def cloudtrail_event(
    event_name: str, request: dict, response: dict | None, region: str = REGION, account: str = ACCOUNT
) -> dict:
    """An EventBridge envelope of a SageMaker create made by the IAM user alice."""
    return {
        "version": "0",
        "id": "6f4c1a3e-2b7d-4c9e-8a51-0d3e9b2f7c10",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.sagemaker",
        "account": account,
        "time": "2026-11-24T10:00:03Z",
        "region": region,
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "IAMUser",
                "principalId": "AIDAEXAMPLEID12345678",
                "arn": f"arn:aws:iam::{account}:user/alice",
                "accountId": account,
                "accessKeyId": "AKIAEXAMPLEKEY123456",
                "userName": "alice",
            },
            "eventTime": "2026-11-24T10:00:00Z",
            "eventSource": "sagemaker.amazonaws.com",
            "eventName": event_name,
            "awsRegion": region,
            "sourceIPAddress": "203.0.113.10",
            "userAgent": "Boto3/1.44.5 md/Botocore#1.44.5 ua/2.1 os/linux lang/python#3.12.7",
            "requestParameters": request,
            "responseElements": response,
            "requestID": "2c7e4b1d-8f3a-4d6e-b5c9-1a2b3c4d5e6f",
            "eventID": "0f4c9a7e-5d2b-4e1a-9c3f-7b8d6e5a4c21",
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": account,
            "eventCategory": "Management",
        },
    }


def create_app_in_space(region: str = REGION) -> CreateCall:
    partition = "aws-us-gov" if region.startswith("us-gov-") else "aws"
    return parse_create_event(
        cloudtrail_event(
            "CreateApp",
            {
                "domainId": DOMAIN_ID,
                "spaceName": "churn-lab",
                "appType": "JupyterLab",
                "appName": "default",
                "resourceSpec": {"instanceType": "ml.t3.medium"},
            },
            {"appArn": f"arn:{partition}:sagemaker:{region}:{ACCOUNT}:app/{DOMAIN_ID}/churn-lab/jupyterlab/default"},
            region=region,
        )
    )


def create_app_of_user_profile() -> CreateCall:
    return parse_create_event(
        cloudtrail_event(
            "CreateApp",
            {"domainId": DOMAIN_ID, "userProfileName": "alice", "appType": "JupyterServer", "appName": "default"},
            {"appArn": f"{PREFIX}:app/{DOMAIN_ID}/alice/jupyterserver/default"},
        )
    )


def create_space() -> CreateCall:
    return parse_create_event(
        cloudtrail_event(
            "CreateSpace",
            {
                "domainId": DOMAIN_ID,
                "spaceName": "churn-lab",
                "ownershipSettings": {"ownerUserProfileName": "alice"},
                "spaceSharingSettings": {"sharingType": "Private"},
                "spaceSettings": {"appType": "JupyterLab"},
            },
            {"spaceArn": f"{PREFIX}:space/{DOMAIN_ID}/churn-lab"},
        )
    )


def create_endpoint() -> CreateCall:
    return parse_create_event(
        cloudtrail_event(
            "CreateEndpoint",
            {"endpointName": "churn-xgb", "endpointConfigName": "churn-xgb-config"},
            {"endpointArn": f"{PREFIX}:endpoint/churn-xgb"},
        )
    )


# --- studio_parent_arns -----------------------------------------------------------------------


def test_app_in_a_space_inherits_from_the_space_then_the_domain() -> None:
    assert studio_parent_arns(create_app_in_space()) == [
        f"{PREFIX}:space/{DOMAIN_ID}/churn-lab",
        f"{PREFIX}:domain/{DOMAIN_ID}",
    ]


def test_app_of_a_user_profile_inherits_from_the_profile_then_the_domain() -> None:
    assert studio_parent_arns(create_app_of_user_profile()) == [
        f"{PREFIX}:user-profile/{DOMAIN_ID}/alice",
        f"{PREFIX}:domain/{DOMAIN_ID}",
    ]


def test_space_inherits_from_its_domain_only() -> None:
    assert studio_parent_arns(create_space()) == [f"{PREFIX}:domain/{DOMAIN_ID}"]


def test_a_resource_outside_studio_has_no_parents() -> None:
    assert studio_parent_arns(create_endpoint()) == []


def test_app_whose_record_lacks_the_domain_has_no_parents() -> None:
    call = parse_create_event(
        cloudtrail_event("CreateApp", {"appType": "JupyterLab"}, {"appArn": f"{PREFIX}:app/{DOMAIN_ID}/x/jupyterlab/y"})
    )

    assert studio_parent_arns(call) == []


def test_govcloud_parents_use_the_govcloud_partition() -> None:
    assert studio_parent_arns(create_app_in_space("us-gov-west-1")) == [
        f"arn:aws-us-gov:sagemaker:us-gov-west-1:{ACCOUNT}:space/{DOMAIN_ID}/churn-lab",
        f"arn:aws-us-gov:sagemaker:us-gov-west-1:{ACCOUNT}:domain/{DOMAIN_ID}",
    ]


# --- tag_new_resource -------------------------------------------------------------------------


@pytest.fixture
def stubbed():
    """AccountSessions for the hub's own account (no AssumeRole), its SageMaker client under a Stubber."""
    base = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    sessions = AccountSessions(hub_account=ACCOUNT, role_name="mlgov-spoke", base_session=base)
    client = sessions.client("sagemaker", ACCOUNT, REGION)
    with Stubber(client) as stubber:
        yield sessions, stubber
        stubber.assert_no_pending_responses()


def list_tags(stubber: Stubber, arn: str, tags: dict[str, str]) -> None:
    stubber.add_response("list_tags", {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}, {"ResourceArn": arn})


def test_new_app_gets_creator_lifetime_and_its_closest_parents_ml_tags(stubbed) -> None:
    sessions, stubber = stubbed
    call = create_app_in_space()
    list_tags(stubber, call.resource_arn, {})
    list_tags(stubber, f"{PREFIX}:domain/{DOMAIN_ID}", {"ml:team": "risk", "ml:environment": "dev", "owner": "ops"})
    list_tags(stubber, f"{PREFIX}:space/{DOMAIN_ID}/churn-lab", {"ml:team": "fraud-detection", "ml:model": "churn"})
    expected_tags = [
        {"Key": "mlgov:created-by", "Value": "iam-user/alice"},
        {"Key": "mlgov:creator-arn", "Value": ALICE_ARN},
        {"Key": "mlgov:created-at", "Value": "2026-11-24T10:00:00Z"},
        {"Key": "auto-delete-after", "Value": "2026-12-24"},
        {"Key": "ml:team", "Value": "fraud-detection"},
        {"Key": "ml:environment", "Value": "dev"},
        {"Key": "ml:model", "Value": "churn"},
    ]
    stubber.add_response("add_tags", {"Tags": expected_tags}, {"ResourceArn": call.resource_arn, "Tags": expected_tags})

    result = tag_new_resource(call, sessions, DEFAULTS)

    assert result.resource_arn == call.resource_arn
    assert result.added == {tag["Key"]: tag["Value"] for tag in expected_tags}
    assert result.kept == ()


def test_unreadable_parent_is_logged_and_the_others_still_count(stubbed) -> None:
    sessions, stubber = stubbed
    call = create_app_in_space()
    space_arn = f"{PREFIX}:space/{DOMAIN_ID}/churn-lab"
    list_tags(stubber, call.resource_arn, {"ml:team": "fraud-detection"})
    list_tags(stubber, f"{PREFIX}:domain/{DOMAIN_ID}", {"ml:team": "risk", "ml:environment": "dev"})
    stubber.add_client_error(
        "list_tags",
        "AccessDeniedException",
        f"User is not authorized to perform: sagemaker:ListTags on resource: {space_arn}",
        http_status_code=400,
        expected_params={"ResourceArn": space_arn},
    )
    expected_tags = [
        {"Key": "mlgov:created-by", "Value": "iam-user/alice"},
        {"Key": "mlgov:creator-arn", "Value": ALICE_ARN},
        {"Key": "mlgov:created-at", "Value": "2026-11-24T10:00:00Z"},
        {"Key": "auto-delete-after", "Value": "2026-12-24"},
        {"Key": "ml:environment", "Value": "dev"},
    ]
    stubber.add_response("add_tags", {"Tags": expected_tags}, {"ResourceArn": call.resource_arn, "Tags": expected_tags})
    logged: list[tuple[str, dict]] = []

    result = tag_new_resource(call, sessions, DEFAULTS, log=lambda message, **fields: logged.append((message, fields)))

    assert "ml:team" not in result.added
    assert result.kept == ("ml:team",)
    assert [(message, fields["parent"]) for message, fields in logged] == [
        ("studio parent tags unavailable", space_arn)
    ]
    assert "AccessDeniedException" in logged[0][1]["error"]


def test_fully_tagged_resource_gets_no_add_tags_call(stubbed) -> None:
    sessions, stubber = stubbed
    call = create_endpoint()
    already = {
        "mlgov:created-by": "iam-user/alice",
        "mlgov:creator-arn": ALICE_ARN,
        "mlgov:created-at": "2026-11-24T10:00:00Z",
        "last-invoked": "never",
        "auto-delete-after": "2026-12-24",
    }
    list_tags(stubber, call.resource_arn, already)

    result = tag_new_resource(call, sessions, DEFAULTS)  # a stray AddTags would fail: nothing is stubbed for it

    assert result.added == {}
    assert result.kept == tuple(sorted(already))


# --- park_in_dead_letter_queue ----------------------------------------------------------------


def test_a_bad_event_is_parked_with_its_reason() -> None:
    sqs = boto3.client("sqs", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    queue_url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/mlgov-auto-tagger-dlq"
    event = cloudtrail_event("DescribeEndpoint", {"endpointName": "churn-xgb"}, None)
    reason = "DescribeEndpoint is not a SageMaker create mlgov knows how to tag"
    with Stubber(sqs) as stubber:
        stubber.add_response(
            "send_message",
            {"MessageId": "5fea7756-0ea4-451a-a703-a558b933e274", "MD5OfMessageBody": "0" * 32},
            {
                "QueueUrl": queue_url,
                "MessageBody": json.dumps(event),
                "MessageAttributes": {"reason": {"DataType": "String", "StringValue": reason}},
            },
        )

        park_in_dead_letter_queue(sqs, queue_url, event, reason)

        stubber.assert_no_pending_responses()
