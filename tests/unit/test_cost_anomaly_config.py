"""Config `cost_anomaly_alerts`: off unless set, a positive USD threshold, an optional monitor of the hub account, and
only in a hub region where CloudFormation has the Cost Explorer anomaly resource types."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from stacks.config import COST_ANOMALY_REGIONS, REGION_PATTERN, load_config
from tests.unit.test_config import PREFIX, SINGLE_ACCOUNT, config_error

MONITOR = "arn:aws:ce::111111111111:anomalymonitor/0f0e0d0c-0b0a-0908-0706-050403020100"  # of SINGLE_ACCOUNT's hub
ANOMALY_TYPES = ("AWS::CE::AnomalyMonitor", "AWS::CE::AnomalySubscription")


def with_alerts(alerts: object, **changes: object) -> dict:
    return {**SINGLE_ACCOUNT, "cost_anomaly_alerts": alerts, **changes}


def test_alerts_are_off_unless_configured():
    assert load_config(dict(SINGLE_ACCOUNT)).cost_anomaly_alerts is None


def test_a_threshold_alone_turns_the_alerts_on_with_a_monitor_of_their_own():
    alerts = load_config(with_alerts({"threshold_usd": 100})).cost_anomaly_alerts

    assert alerts is not None
    assert (alerts.threshold_usd, alerts.monitor_arn) == (100, None)


def test_an_existing_monitor_of_the_hub_account_is_kept():
    alerts = load_config(with_alerts({"threshold_usd": 12.5, "monitor_arn": MONITOR})).cost_anomaly_alerts

    assert alerts is not None and alerts.monitor_arn == MONITOR


@pytest.mark.parametrize(
    ("alerts", "problem"),
    [
        ({"threshold_usd": 0}, "cost_anomaly_alerts.threshold_usd: must be greater than 0"),
        ({"threshold_usd": -5}, "cost_anomaly_alerts.threshold_usd: must be greater than 0"),
        ({"threshold_usd": "100"}, "cost_anomaly_alerts.threshold_usd: input should be a valid number, got '100'"),
        ({"threshold_usd": True}, "cost_anomaly_alerts.threshold_usd: input should be a valid number, got True"),
        ({"threshold_usd": 2e10}, "cost_anomaly_alerts.threshold_usd: must be at most 10000000000"),
        ({}, "cost_anomaly_alerts.threshold_usd: field required"),
        ({"threshold": 100}, "cost_anomaly_alerts.threshold: unknown key (did you mean 'threshold_usd'?)"),
        ({"threshold_usd": 100, "frequency": "DAILY"}, "cost_anomaly_alerts.frequency: unknown key"),
        (100, "cost_anomaly_alerts: expected an object, got 100"),
        (
            {"threshold_usd": 100, "monitor_arn": "arn:aws:ce::111111111111:anomalysubscription/x"},
            "cost_anomaly_alerts.monitor_arn: must be a Cost Anomaly Detection monitor ARN",
        ),
    ],
)
def test_a_wrong_value_fails_in_one_line_naming_the_key(alerts, problem):
    assert config_error(with_alerts(alerts)).startswith(PREFIX + problem)


def test_a_monitor_of_another_account_is_refused():
    other = MONITOR.replace("111111111111", "999999999999")

    assert config_error(with_alerts({"threshold_usd": 100, "monitor_arn": other})) == (
        PREFIX + "cost_anomaly_alerts.monitor_arn: must be a monitor of hub_account 111111111111: "
        "a subscription can only use monitors of its own account"
    )


@pytest.mark.parametrize("region", ["ap-southeast-5", "mx-central-1", "us-gov-west-1"])
def test_a_hub_region_without_the_anomaly_resource_types_is_refused_naming_the_key(region):
    message = config_error(with_alerts({"threshold_usd": 100}, hub_region=region, member_regions=[region]))

    assert message.startswith(PREFIX + "cost_anomaly_alerts: CloudFormation offers no AWS::CE::AnomalyMonitor")
    assert region in message


def _cfn_lint_providers() -> dict[str, str]:
    """cfn-lint's resource types per region (from each region's CloudFormation registry): region -> file text."""
    files = {
        item.name.removesuffix(".json"): item for item in resources.files("cfnlint.data.schemas.providers").iterdir()
    }
    return {name: item.read_text() for name, item in files.items() if re.fullmatch(REGION_PATTERN, name)}


def test_the_regions_with_the_anomaly_resource_types_match_cfn_lints_data():
    """Regions cfn-lint has no registry for get a copy of us-east-1's file: those prove nothing either way."""
    providers = _cfn_lint_providers()
    measured = {region for region, text in providers.items() if region == "us-east-1" or text != providers["us-east-1"]}
    offering = {region for region in measured if all(t in json.loads(providers[region]) for t in ANOMALY_TYPES)}

    assert offering == COST_ANOMALY_REGIONS
