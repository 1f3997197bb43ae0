"""Real-shaped EventBridge envelopes of SageMaker CloudTrail records (ids sanitised), for tests and the demo."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

HUB_ACCOUNT = "123456789012"  # moto's default account
MEMBER_ACCOUNT = "333333333333"


def sso_user(account: str, email: str = "alice@example.com") -> dict:
    role = "AWSReservedSSO_DataScientist_0123456789abcdef"
    return {
        "type": "AssumedRole",
        "principalId": f"AROAEXAMPLEID:{email}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{email}",
        "accountId": account,
        "accessKeyId": "ASIAEXAMPLEKEY",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLEID",
                "arn": f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/eu-west-1/{role}",
                "accountId": account,
                "userName": role,
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": "2026-11-24T09:58:00Z", "mfaAuthenticated": "false"},
        },
    }


def iam_user(account: str, name: str = "bob") -> dict:
    return {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLEID",
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "accessKeyId": "AKIAEXAMPLEKEY",
        "userName": name,
    }


def assumed_role(account: str, role: str = "MLPipelineRole", session: str = "botocore-session-1764000000") -> dict:
    return {
        "type": "AssumedRole",
        "principalId": f"AROAEXAMPLEID2:{session}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "accessKeyId": "ASIAEXAMPLEKEY2",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLEID2",
                "arn": f"arn:aws:iam::{account}:role/{role}",
                "accountId": account,
                "userName": role,
            },
            "attributes": {"creationDate": "2026-11-24T09:00:00Z", "mfaAuthenticated": "false"},
        },
    }


def federated_user(account: str, name: str = "carol") -> dict:
    return {
        "type": "FederatedUser",
        "principalId": f"{account}:{name}",
        "arn": f"arn:aws:sts::{account}:federated-user/{name}",
        "accountId": account,
        "accessKeyId": "ASIAEXAMPLEKEY3",
        "sessionContext": {"sessionIssuer": {"type": "IAMUser", "userName": "broker"}},
    }


def create_event(
    event_name: str,
    request_parameters: dict,
    response_elements: dict | None,
    *,
    account: str = HUB_ACCOUNT,
    region: str = "eu-west-1",
    user_identity: dict | None = None,
    event_time: datetime | None = None,
    error_code: str | None = None,
    service_event: bool = False,
    event_id: str | None = None,
) -> dict:
    """The event as EventBridge delivers it to a rule target."""
    when = (event_time or datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    detail: dict = {
        "eventVersion": "1.09",
        "userIdentity": user_identity or sso_user(account),
        "eventTime": when,
        "eventSource": "sagemaker.amazonaws.com",
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "Boto3/1.44.5 md/Botocore#1.44.5 ua/2.1 os/linux lang/python#3.12.1 sagemaker-python-sdk/2.250",
        "requestParameters": request_parameters,
        "responseElements": None if error_code else response_elements,
        "requestID": str(uuid.uuid4()),
        "eventID": event_id or str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsServiceEvent" if service_event else "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if error_code:
        detail["errorCode"] = error_code
        detail["errorMessage"] = "Could not find endpoint configuration"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS Service Event via CloudTrail" if service_event else "AWS API Call via CloudTrail",
        "source": "aws.sagemaker",
        "account": account,
        "time": when,
        "region": region,
        "resources": [],
        "detail": detail,
    }


def request_tags(tags: dict[str, str]) -> list[dict]:
    """requestParameters.tags as CloudTrail records them (lower-case key/value)."""
    return [{"key": key, "value": value} for key, value in tags.items()]
