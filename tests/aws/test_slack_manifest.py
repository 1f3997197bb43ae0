"""`mlgov slack manifest`: the Slack app manifest with the deployed hub's interactivity URL (moto CloudFormation),
one readable line when the stack or its output is missing."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from mlgov.cli import main
from mlgov.domain.slack_manifest import ManifestError, app_manifest

pytestmark = pytest.mark.aws

URL = "https://abc123.lambda-url.eu-west-1.on.aws/"


def _hub(outputs: dict) -> None:
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation", region_name="eu-west-1").create_stack(
        StackName="MlgovHub", TemplateBody=json.dumps(template)
    )


def test_the_manifest_carries_the_hubs_request_url_and_only_the_bot_scopes_mlgov_uses(capsys):
    with mock_aws():
        _hub({"SlackInteractionsUrl": URL, "ArchiveBucketName": "b"})
        assert main(["slack", "manifest", "--region", "eu-west-1"]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["settings"]["interactivity"] == {"is_enabled": True, "request_url": URL}
    assert manifest["oauth_config"]["scopes"] == {"bot": ["chat:write", "users:read", "users:read.email"]}
    assert manifest["features"]["bot_user"]["display_name"] == "mlgov"
    assert manifest["settings"]["socket_mode_enabled"] is False


def test_a_stack_without_the_output_or_no_stack_is_one_line(capsys):
    with mock_aws():
        assert main(["slack", "manifest", "--region", "eu-west-1"]) == 2
        assert "cannot read stack MlgovHub in eu-west-1" in capsys.readouterr().err
        _hub({"ArchiveBucketName": "b"})
        assert main(["slack", "manifest", "--region", "eu-west-1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlgov: error: stack MlgovHub has no SlackInteractionsUrl output") and err.count("\n") == 1


def test_only_an_https_url_is_accepted():
    assert app_manifest(URL, "acme-mlgov")["display_information"]["name"] == "acme-mlgov"
    with pytest.raises(ManifestError, match="must be an https URL"):
        app_manifest("http://example.com/")
