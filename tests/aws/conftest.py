"""Every test under tests/aws talks to moto or a Stubber: fake credentials, a default region, no real profile."""

from __future__ import annotations

import pytest

FAKE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(autouse=True)
def fake_aws_credentials(monkeypatch):
    """A stray call that escapes moto or the Stubber fails to authenticate instead of reaching a real account."""
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in FAKE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/mlgov-tests/config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/mlgov-tests/credentials")


def _moto_table(name: str, key: str):
    """A DynamoDB client on moto (inside the caller's mock_aws) holding table `name` with string partition key `key`."""
    import boto3

    client = boto3.client("dynamodb", region_name="us-east-1")
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return client


@pytest.fixture
def findings_table():
    """The hub's findings table (partition key `arn`) on moto DynamoDB, through mlgov's adapter."""
    from moto import mock_aws

    from mlgov.aws.findings_table import FindingsTable

    with mock_aws():
        yield FindingsTable(_moto_table("findings", "arn"), "findings")


@pytest.fixture
def approvals_table():
    """The hub's approvals table (partition key `pk`) on moto DynamoDB, through mlgov's adapter."""
    from moto import mock_aws

    from mlgov.aws.approvals_table import ApprovalsTable

    with mock_aws():
        yield ApprovalsTable(_moto_table("approvals", "pk"), "approvals")
