"""Tests for the validated mlgov config read from cdk.json context."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from stacks.config import (
    DEFAULT_SCAN_SCHEDULE,
    ConfigError,
    MlgovConfig,
    SlackConfig,
    load_config,
    load_config_from_cdk_json,
)

PREFIX = "invalid mlgov config (cdk.json context 'mlgov'): "

SLACK: dict[str, Any] = {
    "channel_id": "C0123ABCD",
    "signing_secret_name": "mlgov/slack/signing-secret",
    "bot_token_secret_name": "mlgov/slack/bot-token",
    "approvers": ["U0123ABCD", "W9876ZYXW"],
}
SINGLE_ACCOUNT: dict[str, Any] = {"hub_account": "111111111111", "hub_region": "eu-west-1", "slack": SLACK}
ORG: dict[str, Any] = {
    **SINGLE_ACCOUNT,
    "management_account": "222222222222",
    "organization_id": "o-a1b2c3d4e5",
    "target_ous": ["ou-ab12-cdef3456", "r-ab12"],
    "member_regions": ["eu-west-1", "us-east-1", "us-gov-west-1"],
    "scan_schedule": "rate(6 hours)",
    "zombie_idle_days": 455,
    "zombie_min_age_days": 1,
    "hyperpod_schedule_minutes": 1440,
    "approval_timeout_hours": 8760,
    "archive_retention_days": 1,
    "exempt_principals": ["arn:aws:iam::111111111111:role/Admin", "arn:aws:iam::111111111111:role/ops/Pipeline"],
}


def org_config(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(ORG)
    raw.update(changes)
    return raw


def without(raw: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in raw.items() if key not in keys}


def config_error(raw: object) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(raw)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_org_config_loads_with_values_given() -> None:
    config = load_config(org_config())

    assert config.org_mode and not config.single_account
    assert config.management_account == "222222222222"
    assert config.target_ous == ("ou-ab12-cdef3456", "r-ab12")
    assert config.member_regions == ("eu-west-1", "us-east-1", "us-gov-west-1")
    assert config.scan_schedule == "rate(6 hours)"
    assert config.zombie_idle_days == 455
    assert config.exempt_principals == tuple(ORG["exempt_principals"])
    assert config.slack == SlackConfig(**{**SLACK, "approvers": tuple(SLACK["approvers"])})


def test_single_account_config_gets_defaults() -> None:
    config = load_config(copy.deepcopy(SINGLE_ACCOUNT))

    assert config.single_account and not config.org_mode
    assert config.management_account is None
    assert config.target_ous == ()
    assert config.member_regions == ("eu-west-1",)
    assert config.scan_schedule == DEFAULT_SCAN_SCHEDULE == "cron(0 6 * * ? *)"
    assert (
        config.zombie_idle_days,
        config.zombie_min_age_days,
        config.hyperpod_schedule_minutes,
        config.approval_timeout_hours,
        config.archive_retention_days,
    ) == (30, 7, 15, 72, 365)
    assert config.exempt_principals == ()
    assert config.slack.approvers == ("U0123ABCD", "W9876ZYXW")


def test_member_regions_default_follows_hub_region() -> None:
    config = load_config({**SINGLE_ACCOUNT, "hub_region": "us-gov-west-1"})

    assert config.member_regions == ("us-gov-west-1",)


def test_hub_region_need_not_be_a_member_region() -> None:
    config = load_config({**SINGLE_ACCOUNT, "member_regions": ["us-east-1"]})

    assert config.hub_region == "eu-west-1"
    assert config.member_regions == ("us-east-1",)


def test_config_is_frozen() -> None:
    config = load_config(copy.deepcopy(SINGLE_ACCOUNT))

    with pytest.raises(ValidationError):
        config.zombie_idle_days = 1  # type: ignore[misc]
    with pytest.raises(ValidationError):
        config.slack.channel_id = "C9999999"  # type: ignore[misc]


def test_loading_does_not_mutate_the_context_value() -> None:
    raw = org_config()
    load_config(raw)

    assert raw == ORG


@pytest.mark.parametrize(
    "schedule",
    [
        "cron(0 6 * * ? *)",
        "cron(0/15 * ? * MON-FRI *)",
        "cron(0 12 L * ? 2030)",
        "rate(1 minute)",
        "rate(5 days)",
    ],
)
def test_accepted_schedules(schedule: str) -> None:
    assert load_config(org_config(scan_schedule=schedule)).scan_schedule == schedule


def test_unknown_top_level_key_is_named_with_suggestion() -> None:
    message = config_error(org_config(zombie_idle_dys=30))

    assert message == PREFIX + "zombie_idle_dys: unknown key (did you mean 'zombie_idle_days'?)"


def test_unknown_nested_key_is_reported_before_the_missing_field_it_causes() -> None:
    slack = without(SLACK, "channel_id") | {"chanel": "C0123ABCD"}
    message = config_error(org_config(slack=slack))

    assert message == PREFIX + "slack.chanel: unknown key (did you mean 'channel_id'?) (+1 more)"


def test_unknown_key_without_close_match_has_no_suggestion() -> None:
    message = config_error(org_config(colour="blue"))

    assert message == PREFIX + "colour: unknown key"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"zombie_idle_days": "30"}, "zombie_idle_days: expected an integer, got '30'"),
        ({"approval_timeout_hours": True}, "approval_timeout_hours: expected an integer, got True"),
        ({"hyperpod_schedule_minutes": 15.0}, "hyperpod_schedule_minutes: expected an integer, got 15.0"),
        ({"hub_account": 111111111111}, "hub_account: expected a string, got 111111111111"),
        ({"scan_schedule": 6}, "scan_schedule: expected a string, got 6"),
        ({"member_regions": "eu-west-1"}, "member_regions: expected a list, got 'eu-west-1'"),
        ({"slack": "C0123ABCD"}, "slack: expected an object, got 'C0123ABCD'"),
        ({"slack": SLACK | {"approvers": [7]}}, "slack.approvers[0]: expected a string, got 7"),
    ],
)
def test_wrong_types_are_not_coerced(changes: dict[str, Any], expected: str) -> None:
    assert config_error(org_config(**changes)) == PREFIX + expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (without(SINGLE_ACCOUNT, "hub_account"), "hub_account: field required"),
        (without(SINGLE_ACCOUNT, "slack"), "slack: field required"),
        (SINGLE_ACCOUNT | {"slack": without(SLACK, "approvers")}, "slack.approvers: field required"),
        ({}, "hub_account: field required (+2 more)"),
    ],
)
def test_missing_required_fields_are_named(raw: dict[str, Any], expected: str) -> None:
    assert config_error(raw) == PREFIX + expected


def test_empty_approvers_rejected() -> None:
    message = config_error(org_config(slack=SLACK | {"approvers": []}))

    assert message == PREFIX + "slack.approvers: must not be empty"


def test_empty_member_regions_rejected() -> None:
    assert config_error(org_config(member_regions=[])) == PREFIX + "member_regions: must not be empty"


@pytest.mark.parametrize(
    ("changes", "key", "description", "shown_value"),
    [
        ({"hub_account": "11111111111"}, "hub_account", "12-digit AWS account id", "'11111111111'"),
        ({"management_account": "22222222222a"}, "management_account", "12-digit", "'22222222222a'"),
        ({"hub_region": "eu_west_1"}, "hub_region", "AWS region", "'eu_west_1'"),
        ({"hub_region": "EU-WEST-1"}, "hub_region", "AWS region", "'EU-WEST-1'"),
        ({"member_regions": ["eu-west-1", "europe"]}, "member_regions[1]", "AWS region", "'europe'"),
        ({"target_ous": ["ou-ab12-cdef3456", "ou-12"]}, "target_ous[1]", "OU id", "'ou-12'"),
        ({"slack": SLACK | {"channel_id": "#mlgov"}}, "slack.channel_id", "Slack channel id", "'#mlgov'"),
        ({"slack": SLACK | {"approvers": ["u123"]}}, "slack.approvers[0]", "Slack user id", "'u123'"),
        (
            {"slack": SLACK | {"bot_token_secret_name": ""}},
            "slack.bot_token_secret_name",
            "secret name",
            "''",
        ),
        ({"exempt_principals": ["role/Admin"]}, "exempt_principals[0]", "exact IAM role ARN", "'role/Admin'"),
        (
            {"trusted_federation_roles": ["arn:aws:iam::*:role/ADFS-*"]},
            "trusted_federation_roles[0]",
            "exact IAM role ARN",
            "'arn:aws:iam::*:role/ADFS-*'",
        ),
    ],
)
def test_pattern_mismatches_name_key_and_expectation(
    changes: dict[str, Any], key: str, description: str, shown_value: str
) -> None:
    message = config_error(org_config(**changes))

    assert message.startswith(PREFIX + f"{key}: must be ")
    assert description in message
    assert "(pattern ^" in message
    assert message.endswith(f"got {shown_value}")


def test_secret_name_longer_than_512_characters_rejected() -> None:
    message = config_error(org_config(slack=SLACK | {"signing_secret_name": "s" * 513}))

    assert message.startswith(PREFIX + "slack.signing_secret_name: must be a Secrets Manager secret name")
    assert message.endswith("...")


@pytest.mark.parametrize(
    ("schedule", "problem"),
    [
        ("cron(0 6 * * *)", "cron needs 6 single-space-separated fields, got 'cron(0 6 * * *)'"),
        ("0 6 * * ? *", "must be 'cron(minutes hours day-of-month month day-of-week year)'"),
        ("cron(0 6 * * MON *)", "cron day-of-month or day-of-week must be '?'"),
        ("rate(0 minutes)", "must be 'cron("),
        ("rate(5 weeks)", "must be 'cron("),
        ("rate(1 hours)", "rate(1 ...) takes a singular unit"),
        ("rate(2 day)", "rate(1 ...) takes a singular unit"),
    ],
)
def test_bad_schedules_rejected(schedule: str, problem: str) -> None:
    message = config_error(org_config(scan_schedule=schedule))

    assert message.startswith(PREFIX + "scan_schedule: " + problem)


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("zombie_idle_days", 0, "must be at least 1, got 0"),
        ("zombie_idle_days", 456, "must be at most 455, got 456"),
        ("zombie_min_age_days", -1, "must be at least 1, got -1"),
        ("hyperpod_schedule_minutes", 0, "must be at least 1, got 0"),
        ("hyperpod_schedule_minutes", 1441, "must be at most 1440, got 1441"),
        ("approval_timeout_hours", 8761, "must be at most 8760, got 8761"),
        ("archive_retention_days", 0, "must be at least 1, got 0"),
    ],
)
def test_out_of_range_integers_rejected(key: str, value: int, problem: str) -> None:
    assert config_error(org_config(**{key: value})) == PREFIX + f"{key}: {problem}"


def test_duplicate_member_regions_rejected() -> None:
    message = config_error(org_config(member_regions=["eu-west-1", "us-east-1", "eu-west-1"]))

    assert message == PREFIX + "member_regions: duplicate region 'eu-west-1'"


def test_target_ous_require_management_account() -> None:
    message = config_error(without(org_config(), "management_account"))

    assert message.startswith(PREFIX + "management_account: field required when target_ous is set")


def test_management_account_requires_target_ous() -> None:
    for raw in (without(org_config(), "target_ous"), org_config(target_ous=[])):
        message = config_error(raw)

        assert message.startswith(PREFIX + "target_ous: must not be empty when management_account is set")


def test_several_errors_report_the_first_and_count_the_rest() -> None:
    message = config_error(org_config(hub_account="1", zombie_idle_days="30", archive_retention_days=0))

    assert message.startswith(PREFIX + "hub_account: must be a 12-digit AWS account id")
    assert message.endswith(" (+2 more)")


def test_error_lists_every_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(org_config(hub_account="1", zombie_idle_days="30"))

    assert [problem.split(":")[0] for problem in caught.value.problems] == ["hub_account", "zombie_idle_days"]


def test_multiline_values_are_shown_on_one_line() -> None:
    message = config_error(org_config(hub_region="eu-west-1\nus-east-1"))

    assert message.endswith(r"got 'eu-west-1\nus-east-1'")


def test_missing_context_value() -> None:
    assert config_error(None) == "invalid mlgov config: context 'mlgov' is missing from cdk.json"


@pytest.mark.parametrize(("raw", "shown"), [(["eu-west-1"], "['eu-west-1']"), ("mlgov", "'mlgov'"), (3, "3")])
def test_non_object_context_value(raw: object, shown: str) -> None:
    assert config_error(raw) == PREFIX + f"expected an object, got {shown}"


def test_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


WriteCdkJson = Callable[[str], Path]


@pytest.fixture
def write_cdk_json(tmp_path: Path) -> WriteCdkJson:
    def write(text: str) -> Path:
        path = tmp_path / "cdk.json"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def cdk_json_error(path: str | Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config_from_cdk_json(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_loads_from_cdk_json(write_cdk_json: WriteCdkJson) -> None:
    path = write_cdk_json(json.dumps({"app": "python3 app.py", "context": {"mlgov": ORG, "other": 1}}))

    assert load_config_from_cdk_json(path) == load_config(ORG)
    assert isinstance(load_config_from_cdk_json(str(path)), MlgovConfig)


@pytest.mark.parametrize(
    "document",
    [{"app": "python3 app.py"}, {"context": {}}, {"context": {"mlgov": None}}, {"context": None}],
)
def test_cdk_json_without_mlgov_context(write_cdk_json: WriteCdkJson, document: dict[str, Any]) -> None:
    message = cdk_json_error(write_cdk_json(json.dumps(document)))

    assert message == "invalid mlgov config: context 'mlgov' is missing from cdk.json"


def test_cdk_json_with_invalid_mlgov_context(write_cdk_json: WriteCdkJson) -> None:
    path = write_cdk_json(json.dumps({"context": {"mlgov": org_config(zombie_idle_days="30")}}))

    assert cdk_json_error(path) == PREFIX + "zombie_idle_days: expected an integer, got '30'"


def test_malformed_cdk_json_reports_line_and_column(write_cdk_json: WriteCdkJson) -> None:
    path = write_cdk_json('{\n  "context": {\n    "mlgov": {"hub_account": "111111111111",}\n  }\n}\n')

    message = cdk_json_error(path)

    assert message.startswith(f"invalid mlgov config: {path} is not valid JSON: ")
    assert message.endswith("(line 3, column 45)")


def test_cdk_json_must_be_an_object(write_cdk_json: WriteCdkJson) -> None:
    path = write_cdk_json("[]")

    assert cdk_json_error(path) == f"invalid mlgov config: {path} must hold a JSON object, got []"


def test_cdk_json_context_must_be_an_object(write_cdk_json: WriteCdkJson) -> None:
    path = write_cdk_json('{"context": ["mlgov"]}')

    assert cdk_json_error(path) == f"invalid mlgov config: {path}: 'context' must be an object, got ['mlgov']"


def test_unreadable_cdk_json(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "cdk.json"

    assert cdk_json_error(path) == f"invalid mlgov config: cannot read {path}: No such file or directory"


def test_non_utf8_cdk_json(tmp_path: Path) -> None:
    path = tmp_path / "cdk.json"
    path.write_bytes(b'{"context": {"mlgov": "\xff"}}')

    assert cdk_json_error(path).startswith(f"invalid mlgov config: {path} is not UTF-8 text: ")


def test_org_mode_requires_the_organization_id() -> None:
    message = config_error(without(org_config(), "organization_id"))

    assert message.startswith(PREFIX + "organization_id: field required in org mode")


def test_organization_id_must_look_like_one() -> None:
    message = config_error(org_config(organization_id="org-123"))

    assert "organization_id" in message and "o-a1b2c3d4e5" in message


def test_member_regions_must_include_the_hub_region() -> None:
    message = config_error(org_config(member_regions=["us-east-1", "us-gov-west-1"]))
    assert message.startswith(PREFIX + "member_regions: must include hub_region eu-west-1")


@pytest.mark.parametrize(
    "pattern",
    [
        "*",
        "arn:aws:iam::*:role/*",
        "arn:*:iam::123456789012:role/*",
        "arn:aws:iam::444455556666:role/Admin*",
        "arn:aws:iam::*:role/platform-pipeline",
        "arn:aws:sts::123456789012:assumed-role/Ops/*",
    ],
)
def test_an_exemption_that_is_not_one_exact_role_is_refused_in_one_line_naming_the_key(pattern: str) -> None:
    message = config_error(org_config(exempt_principals=["arn:aws:iam::111111111111:role/Pipeline", pattern]))

    assert message.startswith(PREFIX + "exempt_principals[1]: must be an exact IAM role ARN")
    assert "\n" not in message


def test_an_exact_exemption_is_kept() -> None:
    arn = "arn:aws:iam::111111111111:role/platform/Pipeline"
    assert load_config(org_config(exempt_principals=[arn])).exempt_principals == (arn,)


def test_the_archive_bucket_suffix_names_a_new_archive_for_a_reinstall() -> None:
    from stacks.parts.scan_workflow import archive_bucket_name

    config = load_config(org_config())
    assert archive_bucket_name(config) == f"mlgov-archive-{config.hub_account}-{config.hub_region}"
    suffixed = load_config(org_config(archive_bucket_suffix="v2"))
    assert archive_bucket_name(suffixed) == f"mlgov-archive-{config.hub_account}-{config.hub_region}-v2"
    assert config_error(org_config(archive_bucket_suffix="V2!")).startswith(PREFIX + "archive_bucket_suffix: must ")


def test_budgets_are_a_json_object_of_team_to_positive_usd() -> None:
    config = load_config({**SINGLE_ACCOUNT, "budgets": {"fraud": 5000, "search-team": 1250.5}})
    assert dict(config.budgets) == {"fraud": 5000, "search-team": 1250.5}
    assert hash(config)  # the frozen config stays hashable
    assert "budgets" in config_error({**SINGLE_ACCOUNT, "budgets": {"fraud": -5}})
    assert "budgets" in config_error({**SINGLE_ACCOUNT, "budgets": {"fraud": "5000"}})
    assert "budgets" in config_error({**SINGLE_ACCOUNT, "budgets": {"bad,team": 5}})
    assert "budgets: must be a json object of team -> monthly usd" in config_error(
        {**SINGLE_ACCOUNT, "budgets": "lots"}
    )
