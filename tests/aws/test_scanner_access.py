"""The scanner's read-only `access` task (what `mlgov doctor` invokes) on moto: the hub's own credentials at home,
a fresh AssumeRole of mlgov-spoke elsewhere, one ListEndpoints per region; refusals become per-account errors."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from mlgov.domain.scan_run import BadTask
from tests.aws.wire import FakeLambdaContext, refuse_assume_role, sagemaker_rejects_region

HUB = "123456789012"  # moto's default account: the scanner's own credentials
MEMBER = "333333333333"
DENIED = "444444444444"
REGIONS = ["eu-west-1", "us-east-1"]
BUCKET = "mlgov-archive"


@pytest.fixture
def scanner(monkeypatch):
    """The scanner handler with its settings from the environment; AssumeRole into DENIED is refused."""
    from mlgov.handlers import scanner
    from mlgov.handlers.scanner_runtime import scanner_settings

    for name, value in {
        "AWS_REGION": "eu-west-1",
        "MLGOV_HUB_ACCOUNT": HUB,
        "MLGOV_ARCHIVE_BUCKET": BUCKET,
        "MLGOV_FINDINGS_TABLE": "mlgov-findings",
        "MLGOV_ACCOUNTS": json.dumps([HUB, MEMBER, DENIED]),
        "MLGOV_REGIONS": json.dumps(REGIONS),
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        boto3.client("s3", region_name="eu-west-1").create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        scanner._runtime.cache_clear()
        scanner_settings.cache_clear()
        runtime = scanner._runtime()
        runtime.session_factory = lambda: _base_session(runtime)
        runtime.rejected_regions = []
        yield lambda event: scanner.handler(event, FakeLambdaContext())
        scanner._runtime.cache_clear()
        scanner_settings.cache_clear()


def _base_session(runtime) -> boto3.Session:
    session = boto3.Session()
    refuse_assume_role(session, DENIED)
    for region in runtime.rejected_regions:
        sagemaker_rejects_region(session, region)
    return session


def test_access_reaches_the_hub_and_the_member_and_reports_the_refusing_account(scanner):
    result = scanner({"task": "access"})

    assert result["task"] == "access" and result["role"] == "mlgov-spoke" and result["regions"] == REGIONS
    assert (result["ok"], result["failed"]) == (2, 1)
    hub, member, denied = result["accounts"]
    assert hub == {
        "account": HUB,
        "ok": True,
        "via": "hub credentials",
        "error": None,
        "regions": [{"region": r, "ok": True, "error": None} for r in REGIONS],
    }
    assert member["ok"] and member["via"] == "role mlgov-spoke"
    assert denied["account"] == DENIED and not denied["ok"] and denied["regions"] == []
    assert "(AccessDenied) when calling the AssumeRole operation" in denied["error"]
    assert f"arn:aws:iam::{DENIED}:role/mlgov-spoke" in denied["error"]


def test_access_checks_only_the_accounts_and_regions_asked_for(scanner):
    result = scanner({"task": "access", "accounts": [MEMBER], "regions": ["eu-west-1"]})

    assert [a["account"] for a in result["accounts"]] == [MEMBER] and result["regions"] == ["eu-west-1"]
    assert result["failed"] == 0


def test_a_region_the_account_cannot_use_fails_that_region_only(scanner):
    from mlgov.handlers import scanner as module

    module._runtime().rejected_regions = ["me-south-1"]

    result = scanner({"task": "access", "accounts": [HUB], "regions": ["eu-west-1", "me-south-1"]})

    [hub] = result["accounts"]
    assert not hub["ok"] and hub["error"] is None
    assert hub["regions"][0] == {"region": "eu-west-1", "ok": True, "error": None}
    assert hub["regions"][1]["region"] == "me-south-1" and not hub["regions"][1]["ok"]
    assert "UnrecognizedClientException" in hub["regions"][1]["error"]


def test_access_writes_nothing(scanner):
    scanner({"task": "access"})

    assert boto3.client("s3", region_name="eu-west-1").list_objects_v2(Bucket=BUCKET)["KeyCount"] == 0


def test_without_configured_accounts_the_organizations_accounts_are_checked(scanner, monkeypatch):
    from mlgov.handlers import scanner as module
    from mlgov.handlers.scanner_runtime import scanner_settings

    organizations = boto3.client("organizations", region_name="us-east-1")
    organizations.create_organization(FeatureSet="ALL")
    created = organizations.create_account(AccountName="ml-dev", Email="ml-dev@example.com")["CreateAccountStatus"]
    monkeypatch.delenv("MLGOV_ACCOUNTS")
    module._runtime.cache_clear()
    scanner_settings.cache_clear()
    module._runtime().session_factory = boto3.Session

    result = scanner({"task": "access", "regions": ["eu-west-1"]})

    assert [a["account"] for a in result["accounts"]] == sorted([HUB, created["AccountId"]])
    assert result["failed"] == 0


@pytest.mark.parametrize(
    "event", [{"task": "access", "accounts": ["not-an-account"]}, {"task": "access", "regions": 5}]
)
def test_a_malformed_access_task_fails_the_invocation(scanner, event):
    with pytest.raises(BadTask):
        scanner(event)
