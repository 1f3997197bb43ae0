"""AccessDenied messages as SageMaker prints them -> which tags are missing or wrong, and copy-paste fixes."""

from __future__ import annotations

import json
from datetime import date, timedelta

import botocore
import pytest

from mlgov.domain.denial import NotAnAccessDenied, explain_denial, parse_access_denied, render_fixes
from mlgov.domain.governed_actions import ActionRow
from mlgov.repo_files import DEFAULT_POLICIES_DIR

TODAY = date(2026, 3, 15)
PRINCIPAL = "arn:aws:sts::123456789012:assumed-role/DataScientist/alice"
ENDPOINT_ARN = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn"
SCP_ARN = "arn:aws:organizations::111122223333:policy/o-abc123/service_control_policy/p-abc123"


def denied(operation: str, action: str, resource: str, tail: str) -> str:
    return (
        f"An error occurred (AccessDeniedException) when calling the {operation} operation: "
        f"User: {PRINCIPAL} is not authorized to perform: {action} on resource: {resource} {tail}"
    )


CLASSIC = denied(
    "CreateEndpoint",
    "sagemaker:CreateEndpoint",
    ENDPOINT_ARN,
    "with an explicit deny in a service control policy",
)
WITH_POLICY_ARN = denied(
    "CreateEndpoint",
    "sagemaker:CreateEndpoint",
    ENDPOINT_ARN,
    f"with an explicit deny in a service control policy: {SCP_ARN}",
)
TRAINING = denied(
    "CreateTrainingJob",
    "sagemaker:CreateTrainingJob",
    "arn:aws:sagemaker:us-east-1:123456789012:training-job/churn-2026-03-15",
    "with an explicit deny in a service control policy",
)
STUDIO_APP_TAGGING = denied(
    "CreateApp",
    "sagemaker:AddTags",
    "arn:aws:sagemaker:us-east-1:123456789012:app/d-abc123/alice/jupyterlab/default",
    "with an explicit deny in a service control policy",
)
IDENTITY_POLICY = denied(
    "CreateEndpoint",
    "sagemaker:CreateEndpoint",
    ENDPOINT_ARN,
    "because no identity-based policy allows the sagemaker:CreateEndpoint action",
)


@pytest.fixture(scope="module")
def actions(compilation):
    return compilation.actions


def explain(message, real_schema, actions, sent_tags=None):
    return explain_denial(parse_access_denied(message), real_schema, actions, TODAY, sent_tags)


# --- parsing ---------------------------------------------------------------------------------------


def test_parses_the_classic_scp_denial():
    denial = parse_access_denied(CLASSIC)
    assert denial.action == "sagemaker:CreateEndpoint"
    assert denial.operation == "CreateEndpoint"
    assert denial.principal == PRINCIPAL
    assert denial.resource == ENDPOINT_ARN
    assert denial.by_scp
    assert denial.policy_arn is None


def test_parses_the_policy_arn_of_the_newer_format():
    denial = parse_access_denied(WITH_POLICY_ARN)
    assert denial.by_scp
    assert denial.policy_arn == SCP_ARN
    assert denial.resource == ENDPOINT_ARN


def test_trailing_full_stop_is_not_part_of_the_policy_arn():
    denial = parse_access_denied(f"botocore.exceptions.ClientError: {WITH_POLICY_ARN}.")
    assert denial.policy_arn == SCP_ARN


def test_tagging_denial_keeps_the_attempted_create():
    denial = parse_access_denied(STUDIO_APP_TAGGING)
    assert denial.action == "sagemaker:AddTags"
    assert denial.operation == "CreateApp"
    assert denial.created_operation == "CreateApp"


def test_message_wrapped_over_several_lines_parses_like_the_single_line():
    wrapped = (
        CLASSIC.replace(" User:", "\nUser:")
        .replace(" on resource:", "\n    on resource:")
        .replace(" service control", "\nservice control")
    )
    assert "\n" in wrapped
    assert parse_access_denied(wrapped) == parse_access_denied(CLASSIC)


def test_identity_policy_denial_is_not_an_scp_denial():
    denial = parse_access_denied(IDENTITY_POLICY)
    assert denial.action == "sagemaker:CreateEndpoint"
    assert not denial.by_scp


@pytest.mark.parametrize(
    "text",
    ["", "ValidationException: Endpoint churn already exists", "AccessDenied", "not authorized to perform"],
)
def test_text_without_a_denied_action_is_not_an_access_denied(text):
    with pytest.raises(NotAnAccessDenied, match="paste the whole error text"):
        parse_access_denied(text)


# --- explaining ------------------------------------------------------------------------------------


def test_create_endpoint_needs_all_five_tags(real_schema, actions):
    explanation = explain(CLASSIC, real_schema, actions)
    assert [rule.key for rule in explanation.rules] == list(real_schema.required_keys)
    assert explanation.resource_type == "endpoint"
    assert "CreateEndpoint (endpoint)" in explanation.headline
    assert explanation.suggested_tags == {
        "ml:team": "fraud-detection",
        "ml:model": "churn-xgb",
        "ml:experiment": "baseline-2026q4",
        "ml:environment": "dev",
        "auto-delete-after": (TODAY + timedelta(days=30)).isoformat(),
    }


def test_create_training_job_needs_the_four_ml_tags(real_schema, actions):
    explanation = explain(TRAINING, real_schema, actions)
    assert [rule.key for rule in explanation.rules] == [
        "ml:team",
        "ml:model",
        "ml:experiment",
        "ml:environment",
    ]
    assert "auto-delete-after" not in explanation.suggested_tags


def test_sent_tags_pinpoint_the_missing_key_and_keep_the_users_values(real_schema, actions):
    sent = {
        "ml:model": "churn-v2",
        "ml:experiment": "exp-7",
        "ml:environment": "prod",
        "auto-delete-after": "2026-04-01",
    }
    explanation = explain(CLASSIC, real_schema, actions, sent)
    assert [(p.key, p.message) for p in explanation.problems] == [("ml:team", "missing (e.g. ml:team=fraud-detection)")]
    assert "because of: ml:team." in explanation.headline
    assert explanation.suggested_tags["ml:model"] == "churn-v2"
    assert explanation.suggested_tags["auto-delete-after"] == "2026-04-01"


def test_sent_tags_pinpoint_an_invalid_value_and_suggest_a_valid_one(real_schema, actions):
    sent = {
        "ml:team": "fraud",
        "ml:model": "m",
        "ml:experiment": "e",
        "ml:environment": "qa",
        "auto-delete-after": "2026-04-01",
    }
    explanation = explain(CLASSIC, real_schema, actions, sent)
    assert [p.key for p in explanation.problems] == ["ml:environment"]
    assert explanation.suggested_tags["ml:environment"] == "dev"
    assert explanation.suggested_tags["ml:team"] == "fraud"


def test_valid_sent_tags_point_elsewhere(real_schema, actions):
    sent = {
        "ml:team": "fraud",
        "ml:model": "m",
        "ml:experiment": "e",
        "ml:environment": "dev",
        "auto-delete-after": "2026-04-01",
    }
    explanation = explain(CLASSIC, real_schema, actions, sent)
    assert explanation.problems == ()
    assert "another statement or SCP" in explanation.headline


def test_identity_policy_denial_is_not_blamed_on_tags(real_schema, actions):
    explanation = explain(IDENTITY_POLICY, real_schema, actions)
    assert "not by a service control policy" in explanation.headline
    assert explanation.rules == ()
    assert render_fixes(explanation) == {}


def test_scp_denial_of_an_ungoverned_action_points_to_another_scp(real_schema, actions):
    message = denied(
        "CreatePresignedDomainUrl",
        "sagemaker:CreatePresignedDomainUrl",
        "arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-abc123/alice",
        "with an explicit deny in a service control policy",
    )
    explanation = explain(message, real_schema, actions)
    assert "mlgov does not govern CreatePresignedDomainUrl" in explanation.headline
    assert render_fixes(explanation) == {}


def test_removing_a_required_tag_explains_that_tags_are_changed_not_removed(real_schema, actions):
    message = denied(
        "DeleteTags",
        "sagemaker:DeleteTags",
        ENDPOINT_ARN,
        "with an explicit deny in a service control policy",
    )
    explanation = explain(message, real_schema, actions)
    assert "can be changed with AddTags, not removed" in explanation.headline


def test_tagging_denial_on_a_studio_app_blames_the_tag_values_not_another_scp(real_schema, actions):
    explanation = explain(STUDIO_APP_TAGGING, real_schema, actions, {"ml:environment": "qa"})
    assert "another SCP" not in explanation.headline
    assert "CreateApp (sagemaker:AddTags)" in explanation.headline
    assert [(p.key, p.message) for p in explanation.problems] == [
        ("ml:environment", "'qa' is not one of dev, staging, prod")
    ]
    assert {rule.key for rule in explanation.rules} == {"ml:environment", "auto-delete-after"}


def test_tagging_denial_names_a_forged_mlgov_key(real_schema, actions):
    message = denied("AddTags", "sagemaker:AddTags", ENDPOINT_ARN, "with an explicit deny in a service control policy")
    explanation = explain(message, real_schema, actions, {"mlgov:zombie": "false"})
    assert [p.key for p in explanation.problems] == ["mlgov:zombie"]
    assert "mlgov:zombie-date" in explanation.headline


def test_tagging_denial_on_create_endpoint_says_it_was_the_tagging_check(real_schema, actions):
    message = denied(
        "CreateEndpoint",
        "sagemaker:AddTags",
        ENDPOINT_ARN,
        "with an explicit deny in a service control policy",
    )
    explanation = explain(message, real_schema, actions)
    assert "on the tagging check (sagemaker:AddTags)" in explanation.headline
    assert len(explanation.rules) == 5


# --- fixes -----------------------------------------------------------------------------------------


def test_fixes_for_create_endpoint_carry_every_suggested_tag(real_schema, actions):
    explanation = explain(CLASSIC, real_schema, actions)
    fixes = render_fixes(explanation)
    assert set(fixes) == {"boto3", "SageMaker Python SDK", "AWS CLI"}
    assert "sagemaker.create_endpoint(" in fixes["boto3"]
    assert fixes["AWS CLI"].startswith("aws sagemaker create-endpoint ")
    for key, value in explanation.suggested_tags.items():
        assert f'{{"Key": "{key}", "Value": "{value}"}}' in fixes["boto3"]
        assert f'{{"Key": "{key}", "Value": "{value}"}}' in fixes["SageMaker Python SDK"]
        assert f"Key={key},Value={value}" in fixes["AWS CLI"]


def test_fixes_name_the_boto3_method_and_cli_command_of_every_governed_create(real_schema, actions):
    for row in actions:
        if not row.governed:
            continue
        message = denied(
            row.operation,
            row.action,
            "arn:aws:sagemaker:us-east-1:123456789012:x/y",
            "with an explicit deny in a service control policy",
        )
        fixes = render_fixes(explain(message, real_schema, actions))
        assert f"sagemaker.{botocore.xform_name(row.operation)}(" in fixes["boto3"], row.operation
        assert f"aws sagemaker {botocore.xform_name(row.operation, '-')} " in fixes["AWS CLI"], row.operation


IMPLICIT = (
    "An error occurred (AccessDeniedException) when calling the CreateEndpoint operation: User: "
    "arn:aws:sts::123456789012:assumed-role/DataScientist/alice is not authorized to perform: "
    "sagemaker:CreateEndpoint on resource: arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn "
    "because no service control policy allows the sagemaker:CreateEndpoint action"
)


def test_implicit_scp_denial_is_not_blamed_on_tags(real_schema):
    rows = [ActionRow(**r) for r in json.loads((DEFAULT_POLICIES_DIR / "governed_actions.json").read_text())]
    denial = parse_access_denied(IMPLICIT)
    explanation = explain_denial(denial, real_schema, rows, date(2026, 11, 24))

    assert denial.implicit_scp and not denial.by_scp
    assert "no service control policy allows" in explanation.headline and explanation.rules == ()
