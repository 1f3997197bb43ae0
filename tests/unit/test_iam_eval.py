"""Unit tests for the offline SCP evaluator (mlgov.domain.iam_eval)."""

from __future__ import annotations

import pytest

from mlgov.domain.iam_eval import (
    DEFAULT_PRINCIPAL_ARN,
    Decision,
    MatchedStatement,
    RequestContext,
    UnsupportedPolicyError,
    evaluate,
    statement_matches,
)

CREATE_ENDPOINT = "sagemaker:CreateEndpoint"
EXEMPT_ROLE = "arn:aws:iam::111122223333:role/mlgov-deployer"
TEAM_TAG = "aws:RequestTag/ml:team"
OWNER_TAG = "aws:RequestTag/ml:owner"


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def deny(action: str | list[str] = CREATE_ENDPOINT, condition: dict | None = None, **elements) -> dict:
    statement = {"Effect": "Deny", "Action": action, "Resource": "*", **elements}
    if condition is not None:
        statement["Condition"] = condition
    return statement


def holds(operator: str, key: str, value: object, context: dict | None = None) -> bool:
    """Whether a single-condition statement matches a request carrying `context`."""
    statement = deny(action="*", condition={operator: {key: value}})
    return statement_matches(statement, RequestContext("s3:GetObject", context=context or {}))


def action_matches(pattern: str | list[str], action: str) -> bool:
    return statement_matches(deny(action=pattern), RequestContext(action))


def verdict_for_tags(policies: dict, tags: dict[str, str], **extra) -> str:
    return evaluate(policies, RequestContext.for_tags(CREATE_ENDPOINT, tags, **extra)).verdict


def resource_matches(statement_resource: dict, resource: str) -> bool:
    statement = {"Effect": "Deny", "Action": "*", **statement_resource}
    return statement_matches(statement, RequestContext(CREATE_ENDPOINT, resource=resource))


# --- Action / NotAction -------------------------------------------------------------------------


def test_action_exact_name_matches():
    assert action_matches(CREATE_ENDPOINT, CREATE_ENDPOINT)


def test_action_different_name_does_not_match():
    assert not action_matches(CREATE_ENDPOINT, "sagemaker:CreateEndpointConfig")


def test_action_match_is_case_insensitive():
    assert action_matches("SageMaker:createENDPOINT", CREATE_ENDPOINT)
    assert action_matches(CREATE_ENDPOINT, "SAGEMAKER:CREATEENDPOINT")


def test_action_wildcard_match_is_case_insensitive():
    assert action_matches("SAGEMAKER:create*", CREATE_ENDPOINT)


def test_action_star_spans_any_characters_in_the_middle():
    assert action_matches("sagemaker:Create*Job", "sagemaker:CreateTrainingJob")
    assert action_matches("sagemaker:Create*Job", "sagemaker:CreateModelCardExportJob")


def test_action_star_pattern_still_requires_the_suffix():
    assert not action_matches("sagemaker:Create*Job", CREATE_ENDPOINT)
    assert not action_matches("sagemaker:Create*Job", "sagemaker:CreateTrainingJobs")


def test_action_star_matches_empty_string():
    assert action_matches("sagemaker:CreateEndpoint*", CREATE_ENDPOINT)


def test_action_question_mark_matches_exactly_one_character():
    assert action_matches("sagemaker:CreateEndpoint????ig", "sagemaker:CreateEndpointConfig")
    assert not action_matches("sagemaker:CreateEndpoint?", CREATE_ENDPOINT)
    assert not action_matches("sagemaker:CreateEndpoint?", "sagemaker:CreateEndpointConfig")


def test_action_star_alone_matches_every_action():
    assert action_matches("*", "s3:PutObject")


def test_action_list_matches_when_any_entry_matches():
    assert action_matches(["s3:PutObject", "sagemaker:Create*"], CREATE_ENDPOINT)
    assert not action_matches(["s3:PutObject", "ec2:*"], CREATE_ENDPOINT)


def test_action_regex_metacharacters_are_literal():
    assert not action_matches("sagemaker:Create.ndpoint", CREATE_ENDPOINT)
    assert not action_matches("sagemaker:[C]reateEndpoint", CREATE_ENDPOINT)


def test_not_action_matches_actions_outside_the_list():
    statement = {"Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*"}
    assert statement_matches(statement, RequestContext(CREATE_ENDPOINT))


def test_not_action_does_not_match_listed_actions_including_wildcards():
    statement = {"Effect": "Deny", "NotAction": ["iam:*", "sagemaker:Describe*"], "Resource": "*"}
    assert not statement_matches(statement, RequestContext("sagemaker:DescribeEndpoint"))
    assert not statement_matches(statement, RequestContext("IAM:PassRole"))


def test_not_action_accepts_a_single_string():
    statement = {"Effect": "Deny", "NotAction": "sagemaker:*", "Resource": "*"}
    assert statement_matches(statement, RequestContext("s3:GetObject"))
    assert not statement_matches(statement, RequestContext(CREATE_ENDPOINT))


# --- Resource / NotResource ---------------------------------------------------------------------

ENDPOINT_ARN = "arn:aws:sagemaker:eu-west-1:111122223333:endpoint/fraud-scoring"


def test_resource_wildcard_matches():
    assert resource_matches({"Resource": "arn:aws:sagemaker:*:*:endpoint/*"}, ENDPOINT_ARN)


def test_resource_mismatch_does_not_match():
    assert not resource_matches({"Resource": "arn:aws:sagemaker:*:*:model/*"}, ENDPOINT_ARN)


def test_resource_match_is_case_sensitive():
    assert not resource_matches({"Resource": "arn:aws:sagemaker:*:*:endpoint/FRAUD-*"}, ENDPOINT_ARN)


def test_resource_question_mark_matches_one_character():
    assert resource_matches({"Resource": "arn:aws:sagemaker:eu-west-?:*"}, ENDPOINT_ARN)
    assert not resource_matches({"Resource": "arn:aws:sagemaker:eu-west-?:*"}, ENDPOINT_ARN.replace("1", "10", 1))


def test_resource_list_matches_when_any_entry_matches():
    assert resource_matches({"Resource": ["arn:aws:s3:::*", "arn:aws:sagemaker:*"]}, ENDPOINT_ARN)


def test_not_resource_excludes_listed_resources():
    assert not resource_matches({"NotResource": "arn:aws:sagemaker:*:*:endpoint/*"}, ENDPOINT_ARN)
    assert resource_matches({"NotResource": "arn:aws:sagemaker:*:*:model/*"}, ENDPOINT_ARN)


def test_statement_without_resource_element_matches_any_resource():
    assert resource_matches({}, ENDPOINT_ARN)


def test_default_request_resource_is_the_literal_star():
    assert resource_matches({"Resource": "*"}, "*")
    assert not resource_matches({"Resource": "arn:aws:sagemaker:*"}, "*")


# --- String operators ---------------------------------------------------------------------------


def test_string_equals_matches_exact_value():
    assert holds("StringEquals", TEAM_TAG, "fraud", {TEAM_TAG: "fraud"})


def test_string_equals_is_case_sensitive():
    assert not holds("StringEquals", TEAM_TAG, "fraud", {TEAM_TAG: "Fraud"})


def test_string_equals_does_not_treat_star_as_wildcard():
    assert not holds("StringEquals", TEAM_TAG, "fr*", {TEAM_TAG: "fraud"})


def test_string_equals_multiple_values_are_ored():
    assert holds("StringEquals", TEAM_TAG, ["risk", "fraud"], {TEAM_TAG: "fraud"})
    assert not holds("StringEquals", TEAM_TAG, ["risk", "credit"], {TEAM_TAG: "fraud"})


def test_string_equals_is_false_when_key_missing():
    assert not holds("StringEquals", TEAM_TAG, "fraud")


def test_string_not_equals_true_when_value_differs():
    assert holds("StringNotEquals", TEAM_TAG, "risk", {TEAM_TAG: "fraud"})


def test_string_not_equals_false_when_value_equals_any_listed_value():
    assert not holds("StringNotEquals", TEAM_TAG, ["risk", "fraud"], {TEAM_TAG: "fraud"})


def test_string_not_equals_true_only_when_value_matches_none_of_the_list():
    assert holds("StringNotEquals", TEAM_TAG, ["risk", "credit"], {TEAM_TAG: "fraud"})


def test_string_not_equals_is_true_when_key_missing():
    assert holds("StringNotEquals", TEAM_TAG, "fraud")


def test_string_equals_ignore_case_matches_different_case():
    assert holds("StringEqualsIgnoreCase", TEAM_TAG, "FRAUD", {TEAM_TAG: "fraud"})
    assert not holds("StringEqualsIgnoreCase", TEAM_TAG, "risk", {TEAM_TAG: "fraud"})


def test_string_equals_ignore_case_is_false_when_key_missing():
    assert not holds("StringEqualsIgnoreCase", TEAM_TAG, "fraud")


def test_string_not_equals_ignore_case_false_for_listed_value_in_other_case():
    assert not holds("StringNotEqualsIgnoreCase", TEAM_TAG, ["Risk", "FRAUD"], {TEAM_TAG: "fraud"})


def test_string_not_equals_ignore_case_true_for_unlisted_value():
    assert holds("StringNotEqualsIgnoreCase", TEAM_TAG, ["Risk"], {TEAM_TAG: "fraud"})


def test_string_not_equals_ignore_case_is_true_when_key_missing():
    assert holds("StringNotEqualsIgnoreCase", TEAM_TAG, "fraud")


def test_string_like_star_wildcard():
    assert holds("StringLike", TEAM_TAG, "fr*", {TEAM_TAG: "fraud"})
    assert not holds("StringLike", TEAM_TAG, "fr*", {TEAM_TAG: "risk"})


def test_string_like_question_mark_wildcard():
    assert holds("StringLike", TEAM_TAG, "fra?d", {TEAM_TAG: "fraud"})
    assert not holds("StringLike", TEAM_TAG, "fra?d", {TEAM_TAG: "fraaud"})


def test_string_like_is_case_sensitive():
    assert not holds("StringLike", TEAM_TAG, "FR*", {TEAM_TAG: "fraud"})


def test_string_like_is_false_when_key_missing():
    assert not holds("StringLike", TEAM_TAG, "*")


def test_string_not_like_true_only_when_value_matches_none_of_the_patterns():
    assert holds("StringNotLike", TEAM_TAG, ["ri*", "cr*"], {TEAM_TAG: "fraud"})
    assert not holds("StringNotLike", TEAM_TAG, ["ri*", "fr*"], {TEAM_TAG: "fraud"})


def test_string_not_like_is_true_when_key_missing():
    assert holds("StringNotLike", TEAM_TAG, "*")


# --- ARN operators ------------------------------------------------------------------------------

PRINCIPAL = "aws:PrincipalArn"
MLGOV_ROLES = "arn:aws:iam::*:role/mlgov-*"


def test_arn_like_matches_wildcard_pattern():
    assert holds("ArnLike", PRINCIPAL, MLGOV_ROLES, {PRINCIPAL: EXEMPT_ROLE})
    assert not holds("ArnLike", PRINCIPAL, MLGOV_ROLES, {PRINCIPAL: DEFAULT_PRINCIPAL_ARN})


def test_arn_like_is_case_sensitive():
    assert not holds("ArnLike", PRINCIPAL, "arn:aws:iam::*:role/MLGOV-*", {PRINCIPAL: EXEMPT_ROLE})


def test_arn_like_question_mark_matches_one_character():
    assert holds("ArnLike", PRINCIPAL, "arn:aws:iam::11112222333?:role/*", {PRINCIPAL: EXEMPT_ROLE})


def test_arn_like_wildcard_does_not_cross_arn_segment_boundaries():
    odd_arn = "arn:aws:iam::111122223333:extra:role/mlgov-x"
    assert not holds("ArnLike", PRINCIPAL, "arn:aws:iam::*:role/mlgov-*", {PRINCIPAL: odd_arn})


def test_arn_like_resource_segment_may_contain_colons():
    log_arn = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/sagemaker/x:*"
    assert holds("ArnLike", "aws:SourceArn", "arn:aws:logs:*:*:log-group:/aws/sagemaker/*", {"aws:SourceArn": log_arn})


def test_arn_like_is_false_when_key_missing():
    assert not holds("ArnLike", "aws:SourceArn", "arn:*")


def test_arn_equals_matches_identical_arn():
    assert holds("ArnEquals", PRINCIPAL, EXEMPT_ROLE, {PRINCIPAL: EXEMPT_ROLE})
    assert not holds("ArnEquals", PRINCIPAL, EXEMPT_ROLE, {PRINCIPAL: DEFAULT_PRINCIPAL_ARN})


def test_arn_equals_accepts_wildcards_like_arn_like():
    assert holds("ArnEquals", PRINCIPAL, MLGOV_ROLES, {PRINCIPAL: EXEMPT_ROLE})


def test_arn_equals_is_false_when_key_missing():
    assert not holds("ArnEquals", "aws:SourceArn", EXEMPT_ROLE)


def test_arn_not_like_true_only_when_arn_matches_none_of_the_patterns():
    patterns = [MLGOV_ROLES, "arn:aws:iam::*:role/Admin"]
    assert holds("ArnNotLike", PRINCIPAL, patterns, {PRINCIPAL: DEFAULT_PRINCIPAL_ARN})
    assert not holds("ArnNotLike", PRINCIPAL, patterns, {PRINCIPAL: EXEMPT_ROLE})


def test_arn_not_like_is_true_when_key_missing():
    assert holds("ArnNotLike", "aws:SourceArn", "arn:*")


def test_arn_not_equals_true_only_when_arn_matches_none_of_the_values():
    assert holds("ArnNotEquals", PRINCIPAL, [EXEMPT_ROLE], {PRINCIPAL: DEFAULT_PRINCIPAL_ARN})
    assert not holds("ArnNotEquals", PRINCIPAL, [DEFAULT_PRINCIPAL_ARN, EXEMPT_ROLE], {PRINCIPAL: EXEMPT_ROLE})


def test_arn_not_equals_is_true_when_key_missing():
    assert holds("ArnNotEquals", "aws:SourceArn", EXEMPT_ROLE)


def test_arn_like_on_non_arn_value_falls_back_to_whole_string_glob():
    assert holds("ArnLike", "aws:SourceArn", "not-an-arn*", {"aws:SourceArn": "not-an-arn-at-all"})


# --- Null ---------------------------------------------------------------------------------------


def test_null_true_matches_only_when_key_missing():
    assert holds("Null", TEAM_TAG, "true")
    assert not holds("Null", TEAM_TAG, "true", {TEAM_TAG: "fraud"})


def test_null_false_matches_only_when_key_present():
    assert holds("Null", TEAM_TAG, "false", {TEAM_TAG: "fraud"})
    assert not holds("Null", TEAM_TAG, "false")


def test_null_accepts_json_booleans():
    assert holds("Null", TEAM_TAG, True)
    assert holds("Null", TEAM_TAG, False, {TEAM_TAG: "fraud"})


def test_null_treats_empty_list_as_missing_key():
    assert holds("Null", "aws:TagKeys", "true", {"aws:TagKeys": []})


def test_null_with_empty_string_value_counts_as_present():
    assert holds("Null", TEAM_TAG, "false", {TEAM_TAG: ""})


def test_null_rejects_non_boolean_value():
    with pytest.raises(UnsupportedPolicyError, match="true or false"):
        holds("Null", TEAM_TAG, "yes")


# --- Bool ---------------------------------------------------------------------------------------

SECURE = "aws:SecureTransport"


def test_bool_matches_equal_boolean_string():
    assert holds("Bool", SECURE, "true", {SECURE: "true"})
    assert not holds("Bool", SECURE, "true", {SECURE: "false"})


def test_bool_accepts_json_boolean_policy_value():
    assert holds("Bool", SECURE, False, {SECURE: "false"})
    assert not holds("Bool", SECURE, True, {SECURE: "false"})


def test_bool_comparison_ignores_case():
    assert holds("Bool", SECURE, "True", {SECURE: "TRUE"})


def test_bool_accepts_python_bool_in_request_context():
    assert holds("Bool", SECURE, "true", {SECURE: True})


def test_bool_is_false_when_key_missing():
    assert not holds("Bool", SECURE, "false")


def test_bool_rejects_non_boolean_policy_value():
    with pytest.raises(UnsupportedPolicyError, match="Bool"):
        holds("Bool", SECURE, "maybe", {SECURE: "true"})


# --- IfExists -----------------------------------------------------------------------------------

IF_EXISTS_OPERATORS = [
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Bool",
]


@pytest.mark.parametrize("base", IF_EXISTS_OPERATORS)
def test_if_exists_is_true_when_key_missing(base):
    assert holds(f"{base}IfExists", "aws:SomeMissingKey", "true")


@pytest.mark.parametrize(
    ("operator", "policy_value", "request_value", "expected"),
    [
        ("StringEqualsIfExists", "fraud", "fraud", True),
        ("StringEqualsIfExists", "fraud", "risk", False),
        ("StringNotEqualsIfExists", "fraud", "fraud", False),
        ("StringEqualsIgnoreCaseIfExists", "FRAUD", "fraud", True),
        ("StringNotEqualsIgnoreCaseIfExists", "FRAUD", "fraud", False),
        ("StringLikeIfExists", "fr*", "risk", False),
        ("StringNotLikeIfExists", "fr*", "risk", True),
        ("ArnEqualsIfExists", EXEMPT_ROLE, EXEMPT_ROLE, True),
        ("ArnLikeIfExists", MLGOV_ROLES, DEFAULT_PRINCIPAL_ARN, False),
        ("ArnNotEqualsIfExists", EXEMPT_ROLE, EXEMPT_ROLE, False),
        ("ArnNotLikeIfExists", MLGOV_ROLES, DEFAULT_PRINCIPAL_ARN, True),
        ("BoolIfExists", "true", "false", False),
    ],
)
def test_if_exists_behaves_like_base_operator_when_key_present(operator, policy_value, request_value, expected):
    assert holds(operator, "aws:Key", policy_value, {"aws:Key": request_value}) is expected


def test_null_does_not_accept_if_exists_suffix():
    with pytest.raises(UnsupportedPolicyError, match="NullIfExists"):
        holds("NullIfExists", TEAM_TAG, "true")


# --- Condition block combination ---------------------------------------------------------------


def test_keys_within_one_operator_are_anded():
    condition = {"StringEquals": {TEAM_TAG: "fraud", OWNER_TAG: "alice"}}
    statement = deny(action="*", condition=condition)
    both = RequestContext(CREATE_ENDPOINT, context={TEAM_TAG: "fraud", OWNER_TAG: "alice"})
    one = RequestContext(CREATE_ENDPOINT, context={TEAM_TAG: "fraud", OWNER_TAG: "bob"})
    assert statement_matches(statement, both)
    assert not statement_matches(statement, one)


def test_operators_within_one_condition_are_anded():
    condition = {"StringEquals": {TEAM_TAG: "fraud"}, "Bool": {SECURE: "false"}}
    statement = deny(action="*", condition=condition)
    assert statement_matches(statement, RequestContext(CREATE_ENDPOINT, context={TEAM_TAG: "fraud", SECURE: "false"}))
    assert not statement_matches(
        statement, RequestContext(CREATE_ENDPOINT, context={TEAM_TAG: "fraud", SECURE: "true"})
    )


def test_condition_is_checked_only_together_with_action():
    statement = deny(action="s3:*", condition={"Null": {TEAM_TAG: "true"}})
    assert not statement_matches(statement, RequestContext(CREATE_ENDPOINT))


def test_empty_condition_block_always_holds():
    assert statement_matches(deny(condition={}), RequestContext(CREATE_ENDPOINT))


def test_condition_key_names_are_case_insensitive():
    assert holds("StringEquals", "AWS:RequestTag/ML:Team", "fraud", {TEAM_TAG: "fraud"})


def test_principal_arn_key_is_derived_from_principal_arn():
    statement = deny(condition={"ArnLike": {PRINCIPAL: MLGOV_ROLES}})
    assert statement_matches(statement, RequestContext(CREATE_ENDPOINT, principal_arn=EXEMPT_ROLE))
    assert not statement_matches(statement, RequestContext(CREATE_ENDPOINT))


def test_explicit_principal_arn_in_context_wins_over_principal_arn_field():
    statement = deny(condition={"ArnLike": {PRINCIPAL: MLGOV_ROLES}})
    request = RequestContext(CREATE_ENDPOINT, principal_arn=DEFAULT_PRINCIPAL_ARN, context={PRINCIPAL: EXEMPT_ROLE})
    assert statement_matches(request=request, statement=statement)


def test_list_valued_key_without_set_prefix_matches_positive_operator_if_any_value_matches():
    assert holds("StringEquals", "aws:TagKeys", "ml:team", {"aws:TagKeys": ["ml:owner", "ml:team"]})
    assert not holds("StringEquals", "aws:TagKeys", "ml:cost", {"aws:TagKeys": ["ml:owner", "ml:team"]})


def test_list_valued_key_without_set_prefix_matches_negated_operator_only_if_no_value_matches():
    assert not holds("StringNotEquals", "aws:TagKeys", "ml:team", {"aws:TagKeys": ["ml:owner", "ml:team"]})
    assert holds("StringNotEquals", "aws:TagKeys", "ml:cost", {"aws:TagKeys": ["ml:owner", "ml:team"]})


# --- ForAnyValue / ForAllValues ----------------------------------------------------------------

TAG_KEYS = "aws:TagKeys"


def test_for_any_value_true_when_one_request_value_matches():
    assert holds("ForAnyValue:StringEquals", TAG_KEYS, ["ml:team"], {TAG_KEYS: ["ml:owner", "ml:team"]})


def test_for_any_value_false_when_no_request_value_matches():
    assert not holds("ForAnyValue:StringEquals", TAG_KEYS, ["ml:team"], {TAG_KEYS: ["ml:owner", "cost"]})


def test_for_any_value_false_when_key_empty():
    assert not holds("ForAnyValue:StringEquals", TAG_KEYS, ["ml:team"], {TAG_KEYS: []})


def test_for_any_value_false_when_key_missing():
    assert not holds("ForAnyValue:StringLike", TAG_KEYS, ["*"])


def test_for_all_values_true_when_every_request_value_is_allowed():
    allowed = ["ml:team", "ml:owner", "ml:cost-center"]
    assert holds("ForAllValues:StringEquals", TAG_KEYS, allowed, {TAG_KEYS: ["ml:team", "ml:owner"]})


def test_for_all_values_false_when_one_request_value_is_not_allowed():
    allowed = ["ml:team", "ml:owner"]
    assert not holds("ForAllValues:StringEquals", TAG_KEYS, allowed, {TAG_KEYS: ["ml:team", "Name"]})


def test_for_all_values_true_when_key_empty():
    assert holds("ForAllValues:StringEquals", TAG_KEYS, ["ml:team"], {TAG_KEYS: []})


def test_for_all_values_true_when_key_missing():
    assert holds("ForAllValues:StringEquals", TAG_KEYS, ["ml:team"])


def test_for_all_values_string_like_uses_wildcards():
    assert holds("ForAllValues:StringLike", TAG_KEYS, ["ml:*"], {TAG_KEYS: ["ml:team", "ml:owner"]})
    assert not holds("ForAllValues:StringLike", TAG_KEYS, ["ml:*"], {TAG_KEYS: ["ml:team", "Name"]})


def test_for_any_value_string_not_equals_true_when_some_value_is_outside_the_list():
    assert holds("ForAnyValue:StringNotEquals", TAG_KEYS, ["ml:team"], {TAG_KEYS: ["ml:team", "Name"]})
    assert not holds("ForAnyValue:StringNotEquals", TAG_KEYS, ["ml:team"], {TAG_KEYS: ["ml:team"]})


def test_for_all_values_string_not_equals_true_only_when_no_value_is_in_the_list():
    reserved = ["aws:cloudformation:stack-name", "ml:team"]
    assert holds("ForAllValues:StringNotEquals", TAG_KEYS, reserved, {TAG_KEYS: ["Name", "ml:owner"]})
    assert not holds("ForAllValues:StringNotEquals", TAG_KEYS, reserved, {TAG_KEYS: ["Name", "ml:team"]})


def test_for_any_value_if_exists_is_true_when_key_missing():
    assert holds("ForAnyValue:StringEqualsIfExists", TAG_KEYS, ["ml:team"])


def test_set_prefix_treats_single_string_value_as_one_element_set():
    assert holds("ForAnyValue:StringEquals", TAG_KEYS, ["ml:team"], {TAG_KEYS: "ml:team"})
    assert holds("ForAllValues:StringEquals", TAG_KEYS, ["ml:team"], {TAG_KEYS: "ml:team"})


def test_null_does_not_accept_set_prefix():
    with pytest.raises(UnsupportedPolicyError, match="ForAnyValue:Null"):
        holds("ForAnyValue:Null", TAG_KEYS, "true")


# --- Validation: never silently ignore ---------------------------------------------------------


def test_unknown_operator_raises_naming_it():
    with pytest.raises(UnsupportedPolicyError, match="NumericLessThan"):
        holds("NumericLessThan", "aws:MultiFactorAuthAge", "3600", {"aws:MultiFactorAuthAge": "10"})


def test_unknown_operator_raises_even_when_action_does_not_match():
    statement = deny(action="s3:*", condition={"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}})
    with pytest.raises(UnsupportedPolicyError, match="DateGreaterThan"):
        statement_matches(statement, RequestContext(CREATE_ENDPOINT))


def test_unknown_set_prefix_is_reported_as_unknown_operator():
    with pytest.raises(UnsupportedPolicyError, match="ForSomeValues:StringEquals"):
        holds("ForSomeValues:StringEquals", TAG_KEYS, "ml:team")


def test_policy_variable_in_condition_value_raises():
    with pytest.raises(UnsupportedPolicyError, match="policy variables"):
        holds("StringEquals", TEAM_TAG, "${aws:username}", {TEAM_TAG: "alice"})


def test_policy_variable_in_resource_raises():
    statement = deny(Resource="arn:aws:s3:::bucket/${aws:username}/*")
    with pytest.raises(UnsupportedPolicyError, match="policy variables"):
        statement_matches(statement, RequestContext(CREATE_ENDPOINT))


def test_numeric_condition_value_raises():
    with pytest.raises(UnsupportedPolicyError, match="unsupported value"):
        holds("StringEquals", TEAM_TAG, 42, {TEAM_TAG: "42"})


@pytest.mark.parametrize("effect", ["Audit", "deny", None])
def test_effect_other_than_allow_or_deny_raises(effect):
    statement = {"Effect": effect, "Action": "*", "Resource": "*"}
    with pytest.raises(UnsupportedPolicyError, match="Effect"):
        statement_matches(statement, RequestContext(CREATE_ENDPOINT))


def test_statement_with_principal_element_raises():
    statement = deny(Principal={"AWS": "*"})
    with pytest.raises(UnsupportedPolicyError, match="Principal"):
        statement_matches(statement, RequestContext(CREATE_ENDPOINT))


def test_statement_with_both_action_and_not_action_raises():
    statement = deny(NotAction="s3:*")
    with pytest.raises(UnsupportedPolicyError, match="Action"):
        statement_matches(statement, RequestContext(CREATE_ENDPOINT))


def test_statement_without_action_or_not_action_raises():
    with pytest.raises(UnsupportedPolicyError, match="Action"):
        statement_matches({"Effect": "Deny", "Resource": "*"}, RequestContext(CREATE_ENDPOINT))


def test_statement_with_both_resource_and_not_resource_raises():
    statement = deny(NotResource="arn:aws:s3:::*")
    with pytest.raises(UnsupportedPolicyError, match="NotResource"):
        statement_matches(statement, RequestContext(CREATE_ENDPOINT))


def test_condition_that_is_not_an_object_raises():
    with pytest.raises(UnsupportedPolicyError, match="Condition"):
        statement_matches(deny(condition=["Null"]), RequestContext(CREATE_ENDPOINT))


def test_operator_block_that_is_not_an_object_raises():
    with pytest.raises(UnsupportedPolicyError, match="StringEquals"):
        statement_matches(deny(condition={"StringEquals": "fraud"}), RequestContext(CREATE_ENDPOINT))


def test_policy_without_statement_raises():
    with pytest.raises(UnsupportedPolicyError, match="no Statement"):
        evaluate({"empty": {"Version": "2012-10-17"}}, RequestContext(CREATE_ENDPOINT))


def test_policy_with_unknown_top_level_element_raises():
    document = {**policy(deny()), "Extra": 1}
    with pytest.raises(UnsupportedPolicyError, match="Extra"):
        evaluate({"odd": document}, RequestContext(CREATE_ENDPOINT))


def test_statement_that_is_not_an_object_raises():
    with pytest.raises(UnsupportedPolicyError, match="statement must be an object"):
        evaluate({"odd": {"Statement": ["Deny"]}}, RequestContext(CREATE_ENDPOINT))


# --- RequestContext.for_tags --------------------------------------------------------------------


def test_for_tags_builds_request_tags_and_tag_keys():
    request = RequestContext.for_tags(CREATE_ENDPOINT, {"ml:team": "fraud", "ml:owner": "alice"})
    assert request.context == {TEAM_TAG: "fraud", OWNER_TAG: "alice", TAG_KEYS: ["ml:team", "ml:owner"]}
    assert request.principal_arn == DEFAULT_PRINCIPAL_ARN


def test_for_tags_with_no_tags_leaves_tag_keys_effectively_missing():
    request = RequestContext.for_tags(CREATE_ENDPOINT, {})
    assert request.values_of(TAG_KEYS) == ()
    assert statement_matches(deny(condition={"Null": {TAG_KEYS: "true"}}), request)


def test_for_tags_passes_principal_resource_and_extra_context():
    request = RequestContext.for_tags(
        CREATE_ENDPOINT,
        {"ml:team": "fraud"},
        principal_arn=EXEMPT_ROLE,
        resource=ENDPOINT_ARN,
        context={"sagemaker:TaggingAction": "CreateEndpoint"},
    )
    assert request.principal_arn == EXEMPT_ROLE
    assert request.resource == ENDPOINT_ARN
    assert request.values_of("sagemaker:TaggingAction") == ("CreateEndpoint",)
    assert request.values_of(TEAM_TAG) == ("fraud",)


def test_for_tags_explicit_context_overrides_tag_derived_keys():
    request = RequestContext.for_tags(CREATE_ENDPOINT, {"ml:team": "fraud"}, context={TAG_KEYS: []})
    assert request.values_of(TAG_KEYS) == ()


# --- evaluate -----------------------------------------------------------------------------------


def test_no_policies_with_full_aws_access_allows():
    decision = evaluate({}, RequestContext(CREATE_ENDPOINT))
    assert decision == Decision(True, (), "allowed: no deny matched")
    assert decision.verdict == "ALLOW"


def test_no_allow_without_full_aws_access_is_implicit_deny():
    decision = evaluate({}, RequestContext(CREATE_ENDPOINT), full_aws_access=False)
    assert not decision.allowed
    assert decision.denied_by == ()
    assert decision.verdict == "DENY"
    assert "implicit deny" in decision.reason


def test_explicit_allow_statement_allows_without_full_aws_access():
    allow_sagemaker = policy({"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"})
    decision = evaluate({"AllowSageMaker": allow_sagemaker}, RequestContext(CREATE_ENDPOINT), full_aws_access=False)
    assert decision.allowed


def test_allow_for_other_actions_does_not_allow_without_full_aws_access():
    allow_s3 = policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    decision = evaluate({"AllowS3": allow_s3}, RequestContext(CREATE_ENDPOINT), full_aws_access=False)
    assert not decision.allowed
    assert decision.denied_by == ()


def test_explicit_full_aws_access_policy_is_equivalent_to_the_flag():
    full_access = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}
    decision = evaluate({"FullAWSAccess": full_access}, RequestContext(CREATE_ENDPOINT), full_aws_access=False)
    assert decision.allowed


def test_deny_overrides_allow():
    policies = {
        "FullAWSAccess": policy({"Effect": "Allow", "Action": "*", "Resource": "*"}),
        "NoEndpoints": policy(deny(Sid="DenyEndpoints")),
    }
    decision = evaluate(policies, RequestContext(CREATE_ENDPOINT), full_aws_access=False)
    assert not decision.allowed
    assert decision.denied_by == (MatchedStatement("NoEndpoints", "DenyEndpoints", "Deny"),)
    assert decision.reason == "explicit deny by NoEndpoints/DenyEndpoints"


def test_statement_given_as_single_object_is_evaluated():
    decision = evaluate({"p": {"Version": "2012-10-17", "Statement": deny()}}, RequestContext(CREATE_ENDPOINT))
    assert decision.verdict == "DENY"


def test_statement_without_sid_is_reported_with_sid_none_and_its_index():
    decision = evaluate({"p": policy(deny(action="s3:*"), deny())}, RequestContext(CREATE_ENDPOINT))
    assert decision.denied_by == (MatchedStatement("p", None, "Deny"),)
    assert decision.reason == "explicit deny by p/#1"


def test_every_matching_deny_statement_is_reported_in_order():
    policies = {
        "first": policy(deny(Sid="A"), deny(action="s3:*", Sid="NotMe"), deny(action="sagemaker:*", Sid="B")),
        "second": policy(deny(action="sagemaker:Create*", Sid="C")),
    }
    decision = evaluate(policies, RequestContext(CREATE_ENDPOINT))
    assert [(m.policy_name, m.sid) for m in decision.denied_by] == [
        ("first", "A"),
        ("first", "B"),
        ("second", "C"),
    ]
    assert all(m.effect == "Deny" for m in decision.denied_by)
    assert decision.reason == "explicit deny by first/A, first/B, second/C"


def test_non_matching_deny_leaves_request_allowed():
    decision = evaluate({"p": policy(deny(action="s3:*"))}, RequestContext(CREATE_ENDPOINT))
    assert decision.allowed
    assert decision.denied_by == ()


def test_allow_statements_are_not_listed_in_denied_by():
    policies = {"p": policy({"Effect": "Allow", "Action": "*", "Resource": "*", "Sid": "All"}, deny(Sid="D"))}
    decision = evaluate(policies, RequestContext(CREATE_ENDPOINT))
    assert [m.sid for m in decision.denied_by] == ["D"]


# --- SCP-style scenarios ------------------------------------------------------------------------

REQUIRE_TEAM_TAG = {
    "RequireTeamTag": policy(
        deny(
            Sid="DenyCreateEndpointWithoutTeamTag",
            condition={"Null": {TEAM_TAG: "true"}, "ArnNotLike": {PRINCIPAL: [MLGOV_ROLES]}},
        )
    )
}


def test_require_tag_scp_denies_create_without_the_tag():
    decision = evaluate(REQUIRE_TEAM_TAG, RequestContext.for_tags(CREATE_ENDPOINT, {"ml:owner": "alice"}))
    assert decision.verdict == "DENY"
    assert decision.reason == "explicit deny by RequireTeamTag/DenyCreateEndpointWithoutTeamTag"


def test_require_tag_scp_allows_create_with_the_tag():
    assert verdict_for_tags(REQUIRE_TEAM_TAG, {"ml:team": "fraud"}) == "ALLOW"


def test_require_tag_scp_allows_exempt_principal_without_the_tag():
    assert verdict_for_tags(REQUIRE_TEAM_TAG, {}, principal_arn=EXEMPT_ROLE) == "ALLOW"


def test_require_tag_scp_does_not_affect_other_actions():
    assert evaluate(REQUIRE_TEAM_TAG, RequestContext("sagemaker:CreateModel")).verdict == "ALLOW"


def test_require_tag_scp_applies_to_case_variant_action_name():
    assert evaluate(REQUIRE_TEAM_TAG, RequestContext("SageMaker:createendpoint")).verdict == "DENY"


def test_null_block_with_two_keys_denies_only_when_both_are_missing():
    # Keys inside one Null block are ANDed, so this statement fires only if BOTH tags are absent;
    # a request carrying just one of them slips through. Requiring each tag needs one statement per key.
    combined = {"p": policy(deny(condition={"Null": {TEAM_TAG: "true", OWNER_TAG: "true"}}))}
    assert verdict_for_tags(combined, {}) == "DENY"
    assert verdict_for_tags(combined, {"ml:team": "fraud"}) == "ALLOW"
    assert verdict_for_tags(combined, {"ml:owner": "alice"}) == "ALLOW"


def test_one_statement_per_required_tag_denies_when_either_is_missing():
    per_key = {
        "p": policy(
            deny(Sid="RequireTeam", condition={"Null": {TEAM_TAG: "true"}}),
            deny(Sid="RequireOwner", condition={"Null": {OWNER_TAG: "true"}}),
        )
    }
    only_team = evaluate(per_key, RequestContext.for_tags(CREATE_ENDPOINT, {"ml:team": "fraud"}))
    assert [m.sid for m in only_team.denied_by] == ["RequireOwner"]
    neither = evaluate(per_key, RequestContext.for_tags(CREATE_ENDPOINT, {}))
    assert [m.sid for m in neither.denied_by] == ["RequireTeam", "RequireOwner"]
    assert verdict_for_tags(per_key, {"ml:team": "fraud", "ml:owner": "alice"}) == "ALLOW"


def test_protect_governance_tags_scp_blocks_tag_changes_by_non_exempt_principals():
    protect = {
        "ProtectTags": policy(
            deny(
                action=["sagemaker:AddTags", "sagemaker:DeleteTags"],
                Sid="ProtectMlTags",
                condition={
                    "ForAnyValue:StringLike": {TAG_KEYS: ["ml:*"]},
                    "ArnNotLike": {PRINCIPAL: MLGOV_ROLES},
                    "StringNotEqualsIfExists": {"sagemaker:TaggingAction": ["CreateEndpoint"]},
                },
            )
        )
    }
    retag = RequestContext.for_tags("sagemaker:AddTags", {"ml:team": "risk"})
    unrelated_tag = RequestContext.for_tags("sagemaker:AddTags", {"Name": "x"})
    by_mlgov = RequestContext.for_tags("sagemaker:AddTags", {"ml:team": "risk"}, principal_arn=EXEMPT_ROLE)
    on_create = RequestContext.for_tags(
        "sagemaker:AddTags", {"ml:team": "risk"}, context={"sagemaker:TaggingAction": "CreateEndpoint"}
    )
    assert evaluate(protect, retag).verdict == "DENY"
    assert evaluate(protect, unrelated_tag).verdict == "ALLOW"
    assert evaluate(protect, by_mlgov).verdict == "ALLOW"
    assert evaluate(protect, on_create).verdict == "ALLOW"


def test_deny_with_not_action_allow_list_blocks_everything_else():
    allow_list = {"OnlySageMaker": policy({"Effect": "Deny", "NotAction": ["sagemaker:*", "s3:Get*"], "Resource": "*"})}
    assert evaluate(allow_list, RequestContext("ec2:RunInstances")).verdict == "DENY"
    assert evaluate(allow_list, RequestContext(CREATE_ENDPOINT)).verdict == "ALLOW"
    assert evaluate(allow_list, RequestContext("s3:GetObject")).verdict == "ALLOW"


def test_a_role_session_is_evaluated_as_its_role_arn():
    from mlgov.domain.iam_eval import principal_arn_of

    assert principal_arn_of("arn:aws:sts::111122223333:assumed-role/mlgov-spoke/s-1") == (
        "arn:aws:iam::111122223333:role/mlgov-spoke"
    )
    assert principal_arn_of("arn:aws:iam::111122223333:user/alice") == "arn:aws:iam::111122223333:user/alice"
    policy = {
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "sagemaker:AddTags",
                "Resource": "*",
                "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:*:iam::*:role/mlgov-spoke"}},
            }
        ]
    }
    session = RequestContext("sagemaker:AddTags", "arn:aws:sts::111122223333:assumed-role/mlgov-spoke/s-1")
    assert evaluate({"p": policy}, session).allowed
