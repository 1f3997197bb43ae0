"""The one code asset every mlgov function ships, and the AWS-managed Powertools layer it runs with."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

LAMBDA_SOURCE = Path(__file__).resolve().parents[2] / "lambdas"
SLACK_LAYER_SOURCE = Path(__file__).resolve().parents[2] / "build" / "layers" / "slack"
PYTHON_RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
_EXCLUDE = ["**/__pycache__", "**/*.pyc", "*.egg-info", "**/*.egg-info"]


def mlgov_code() -> lambda_.Code:
    return lambda_.Code.from_asset(str(LAMBDA_SOURCE), exclude=_EXCLUDE)


def powertools_layer(scope: Construct) -> lambda_.ILayerVersion:
    """Resolved at deploy time from the public SSM parameter Powertools publishes per version and region,
    pinned to the version the tests run (requirements.txt)."""
    version = metadata.version("aws-lambda-powertools")
    arn = ssm.StringParameter.value_for_string_parameter(
        scope, f"/aws/service/powertools/python/arm64/python3.12/{version}"
    )
    return lambda_.LayerVersion.from_layer_version_arn(scope, "PowertoolsLayer", arn)


def slack_layer(scope: Construct) -> lambda_.ILayerVersion:
    """slack-sdk (pure Python, pinned in requirements.txt), pip-installed by `make` into build/layers/slack."""
    existing = scope.node.try_find_child("SlackSdkLayer")
    if existing is not None:
        return existing
    if not (SLACK_LAYER_SOURCE / "python" / "slack_sdk").is_dir():
        raise FileNotFoundError(f"{SLACK_LAYER_SOURCE} is missing: run `make layers` (make test and make synth do)")
    return lambda_.LayerVersion(
        scope,
        "SlackSdkLayer",
        code=lambda_.Code.from_asset(str(SLACK_LAYER_SOURCE), exclude=[".installed", "**/__pycache__"]),
        compatible_runtimes=[PYTHON_RUNTIME],
        compatible_architectures=[ARCHITECTURE],
        description="slack-sdk for mlgov (Slack Web API and request signing)",
    )
