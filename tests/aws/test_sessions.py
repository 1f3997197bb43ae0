"""AccountSessions on moto: the hub's own credentials at home, the mlgov-spoke role elsewhere, cached and refreshed.

moto maps the credentials AssumeRole returns to the role's account, so the account a client acts in is read back
with GetCallerIdentity; the key a client signs with is read from its Authorization header.
"""

from __future__ import annotations

import gc
import re
from datetime import timedelta

import boto3
import pytest
from moto import mock_aws

from mlgov.aws.sessions import AccountSessions

REGION = "eu-west-1"
HUB = "123456789012"  # moto's default account: the base session's own
SPOKE = "444455556666"
OTHER_SPOKE = "777788889999"
SPOKE_ROLE = "mlgov-spoke"


class AssumeRoleCalls:
    """Every AssumeRole made through a session's clients: the request's parameters and the credentials returned."""

    def __init__(self, session: boto3.Session) -> None:
        self.requests: list[dict] = []
        self.credentials: list[dict] = []
        session.events.register("before-parameter-build.sts.AssumeRole", self._request)
        session.events.register("after-call.sts.AssumeRole", self._response)

    def _request(self, params: dict, **_: object) -> None:
        self.requests.append(dict(params))

    def _response(self, parsed: dict, **_: object) -> None:
        self.credentials.append(parsed["Credentials"])

    @property
    def role_arns(self) -> list[str]:
        return [request["RoleArn"] for request in self.requests]


@pytest.fixture
def hub():
    """(AccountSessions on a moto hub, the AssumeRole calls it makes, the hub's own session)."""
    with mock_aws():
        base = boto3.Session(region_name=REGION)
        calls = AssumeRoleCalls(base)
        yield AccountSessions(hub_account=HUB, role_name=SPOKE_ROLE, base_session=base), calls, base


def signing_key(sts) -> str:
    """The access key id an STS client signs with, read from the Authorization header of a (moto) request."""
    seen: list[str] = []

    def capture(request, **_: object) -> None:
        seen.append(re.search(r"Credential=([^/]+)/", request.headers["Authorization"].decode()).group(1))

    sts.meta.events.register("before-send", capture)
    try:
        sts.get_caller_identity()
    finally:
        sts.meta.events.unregister("before-send", capture)
    return seen[-1]


def test_the_hub_account_uses_the_hubs_own_credentials(hub) -> None:
    sessions, calls, base = hub

    sts = sessions.client("sts", HUB, REGION)

    assert sts.get_caller_identity()["Account"] == HUB
    assert signing_key(sts) == base.get_credentials().access_key
    assert calls.requests == []


def test_another_account_is_reached_through_the_spoke_role(hub) -> None:
    sessions, calls, _ = hub

    identity = sessions.client("sts", SPOKE, REGION).get_caller_identity()

    assert identity["Account"] == SPOKE
    assert identity["Arn"] == f"arn:aws:sts::{SPOKE}:assumed-role/{SPOKE_ROLE}/mlgov-hub"
    assert calls.role_arns == [f"arn:aws:iam::{SPOKE}:role/{SPOKE_ROLE}"]
    assert calls.requests[0]["RoleSessionName"] == "mlgov-hub"


def test_resources_created_through_a_spoke_client_belong_to_the_spoke_account(hub) -> None:
    sessions, _, _ = hub
    sagemaker = sessions.client("sagemaker", SPOKE, REGION)

    arn = sagemaker.create_model(
        ModelName="churn-xgb",
        ExecutionRoleArn=f"arn:aws:iam::{SPOKE}:role/service-role/AmazonSageMaker-ExecutionRole",
        PrimaryContainer={"Image": "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"},
    )["ModelArn"]

    assert arn == f"arn:aws:sagemaker:{REGION}:{SPOKE}:model/churn-xgb"
    assert sessions.client("sagemaker", HUB, REGION).list_models()["Models"] == []


def test_the_role_arn_uses_the_accounts_partition(hub) -> None:
    sessions, calls, _ = hub

    sessions.client("sagemaker", SPOKE, "us-gov-west-1", partition="aws-us-gov")

    assert calls.role_arns == [f"arn:aws-us-gov:iam::{SPOKE}:role/{SPOKE_ROLE}"]


def test_clients_are_cached_per_service_account_and_region(hub) -> None:
    sessions, calls, _ = hub

    first = sessions.client("sagemaker", SPOKE, REGION)

    assert sessions.client("sagemaker", SPOKE, REGION) is first
    assert sessions.client("sagemaker", SPOKE, "us-east-1") is not first
    assert sessions.client("sagemaker", SPOKE, "us-east-1").meta.region_name == "us-east-1"
    assert sessions.client("sts", SPOKE, REGION) is not first
    assert sessions.client("sagemaker", OTHER_SPOKE, REGION) is not first
    assert sessions.client("sagemaker", HUB, REGION) is not first
    # One AssumeRole per spoke account, shared by all its services and regions.
    assert calls.role_arns == [
        f"arn:aws:iam::{SPOKE}:role/{SPOKE_ROLE}",
        f"arn:aws:iam::{OTHER_SPOKE}:role/{SPOKE_ROLE}",
    ]


def test_expired_credentials_are_refreshed_with_a_new_assume_role(hub, monkeypatch, instant) -> None:
    sessions, calls, _ = hub
    first = sessions.client("sts", SPOKE, REGION)
    assert signing_key(first) == calls.credentials[0]["AccessKeyId"]
    monkeypatch.setattr(sessions._assumed[SPOKE], "expires", instant - timedelta(minutes=1))

    refreshed = sessions.client("sts", SPOKE, REGION)

    assert len(calls.credentials) == 2
    assert calls.credentials[1]["AccessKeyId"] != calls.credentials[0]["AccessKeyId"]
    assert refreshed is not first
    assert signing_key(refreshed) == calls.credentials[1]["AccessKeyId"]
    assert refreshed.get_caller_identity()["Account"] == SPOKE


def test_credentials_about_to_expire_are_refreshed_too(hub, monkeypatch, instant) -> None:
    sessions, calls, _ = hub
    sessions.client("sts", SPOKE, REGION)
    monkeypatch.setattr(sessions._assumed[SPOKE], "expires", instant + timedelta(minutes=2))

    refreshed = sessions.client("sts", SPOKE, REGION)

    assert len(calls.credentials) == 2
    assert signing_key(refreshed) == calls.credentials[1]["AccessKeyId"]


def test_every_refresh_hands_out_a_client_with_the_newest_credentials(hub, instant) -> None:
    """A cache keyed on id(session) kept every old client and could hand one back once a freed session's id was
    reused by the refreshed one."""
    sessions, calls, _ = hub
    stale = []
    for round_ in range(4):
        client = sessions.client("sts", SPOKE, REGION)
        if signing_key(client) != calls.credentials[-1]["AccessKeyId"]:
            stale.append(round_)
        sessions._assumed[SPOKE].expires = instant - timedelta(minutes=1)
        gc.collect()

    assert stale == []
    assert len(calls.credentials) == 4
    assert len(sessions._clients) == 1
