"""`mlgov doctor` against moto: each missing prerequisite fails with its fix; a complete setup passes."""

import json

import boto3
import pytest
from moto import mock_aws

from mlgov.cli import main

REGION = "eu-west-1"


@pytest.fixture
def account(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


def _trail(logging: bool = True) -> None:
    boto3.client("s3", region_name=REGION).create_bucket(
        Bucket="org-trail-logs", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    cloudtrail = boto3.client("cloudtrail", region_name=REGION)
    cloudtrail.create_trail(Name="org-trail", S3BucketName="org-trail-logs", IsMultiRegionTrail=True)
    if logging:
        cloudtrail.start_logging(Name="org-trail")


def _hub_and_spoke() -> None:
    boto3.client("iam", region_name=REGION).create_role(
        RoleName="mlgov-spoke", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )
    events = boto3.client("events", region_name=REGION)
    events.create_event_bus(Name="mlgov-hub")
    events.put_rule(
        Name="create-calls", EventBusName="mlgov-hub", EventPattern=json.dumps({"source": ["aws.sagemaker"]})
    )


def test_complete_installation_passes(account, capsys):
    _trail()
    _hub_and_spoke()

    code = main(["doctor", "--region", REGION])

    out = capsys.readouterr().out
    assert code == 0, out
    assert out.count("OK  ") == 3


def test_stopped_trail_and_missing_stacks_fail_with_fixes(account, capsys):
    _trail(logging=False)

    code = main(["doctor", "--region", REGION])

    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL cloudtrail" in out and "not logging" in out and "start-logging" in out
    assert "FAIL spoke-role" in out and "FAIL hub-bus" in out


def test_member_account_can_skip_the_hub_check(account, capsys):
    _trail()
    _hub_and_spoke()

    code = main(["doctor", "--region", REGION, "--skip-hub"])

    assert code == 0 and "hub-bus" not in capsys.readouterr().out
