"""SCP compiler on the installed botocore model and IAM data: coverage, safe wildcards, size, freshness."""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import re
import shutil

import botocore.session
import pytest

from mlgov.domain.governed_actions import camel_words
from mlgov.domain.principals import PolicyPrincipals
from mlgov.domain.scp_compiler import (
    SCP_MAX_CHARS,
    SCP_MAX_PER_TARGET,
    PolicyTooLargeError,
    compile_policies,
    compile_tag_policy,
    minified,
    pack_statements,
    sid_for,
)
from mlgov.repo_files import DEFAULT_POLICIES_DIR, PolicyFiles

# Create* operations that take no Tags (AWS_FACTS "Tags and SCPs"): a deny on them fires on every call.
NEVER_GOVERNED = [
    "CreatePresignedDomainUrl",
    "CreatePresignedNotebookInstanceUrl",
    "CreateModelCardExportJob",
    "CreateImageVersion",
    "CreateEdgeDeploymentStage",
    "CreateHubContentPresignedUrls",
    "CreatePartnerAppPresignedUrl",
    "CreatePresignedMlflowAppUrl",
    "CreatePresignedMlflowTrackingServerUrl",
]
HUB = "222222222222"  # cdk.json's hub_account: the checked-in SCPs are compiled from it
MLGOV_ROLES = [
    f"arn:*:iam::{HUB}:role/mlgov-hub-*",
    "arn:*:iam::*:role/mlgov-spoke",
    "arn:*:iam::*:role/mlgov-spoke-approval",
]


def pattern_matches(pattern: str, action: str) -> bool:
    """IAM Action matching: `*` and `?` globs, case-insensitive, prefix included."""
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def actions_of(statement: dict) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def statements_of(scps) -> list[dict]:
    return [statement for scp in scps for statement in scp.document["Statement"]]


def statement_by_sid(compilation, sid: str) -> dict:
    matches = [s for s in statements_of(compilation.scps) if s["Sid"] == sid]
    assert len(matches) == 1, f"{sid}: {len(matches)} statements"
    return matches[0]


def botocore_tag_accepting_creates() -> set[str]:
    """Derived here straight from the botocore model, independently of mlgov's loader."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    return {
        name
        for name in model.operation_names
        if name.startswith("Create") and "Tags" in model.operation_model(name).input_shape.members
    }


# --- the catalog agrees with the installed data ----------------------------------------------------


def test_catalog_tag_accepting_creates_match_the_botocore_model(catalog):
    assert catalog.tag_accepting_creates == botocore_tag_accepting_creates()
    assert len(catalog.tag_accepting_creates) >= 66


def test_catalog_knows_the_creates_that_take_no_tags(catalog):
    for operation in NEVER_GOVERNED:
        assert operation in catalog.known_actions, operation
        assert operation not in catalog.tag_accepting_creates, operation


def test_iam_lists_request_tags_for_edge_deployment_stage_although_its_api_takes_none(catalog):
    assert "CreateEdgeDeploymentStage" in catalog.request_tag_actions
    assert "CreateEdgeDeploymentStage" not in catalog.tag_accepting_creates


# --- coverage: every create that can carry the tags is governed ------------------------------------


def test_every_tag_accepting_create_with_iam_request_tags_is_governed(real_schema, catalog, compilation):
    from mlgov.domain.governed_actions import TAGS_REFUSED_IN_A_MODE

    studio_exempt = set() if real_schema.studio_ui_enforced else set(real_schema.studio_ui_actions)
    expected = (botocore_tag_accepting_creates() & catalog.request_tag_actions) - studio_exempt
    governed = {row.operation for row in compilation.governed}
    assert governed == expected - set(TAGS_REFUSED_IN_A_MODE)
    assert {"CreateEndpoint", "CreateTrainingJob", "CreateCluster", "CreateModelPackageGroup"} <= governed
    assert "CreateModelPackage" not in governed


def test_every_governed_create_is_covered_by_each_rule_that_applies_to_it(real_schema, compilation):
    for rule in real_schema.rules:
        patterns = actions_of(statement_by_sid(compilation, sid_for("DenyMissing", rule.key)))
        for row in compilation.governed:
            covered = any(pattern_matches(p, row.action) for p in patterns)
            assert covered == rule.applies_to_type(row.resource_type), (rule.key, row.operation)


def test_lifetime_rule_covers_endpoints_but_not_training_jobs(compilation):
    patterns = actions_of(statement_by_sid(compilation, "DenyMissingAutoDeleteAfter"))
    assert any(pattern_matches(p, "sagemaker:CreateEndpoint") for p in patterns)
    assert any(pattern_matches(p, "sagemaker:CreateEndpointConfig") for p in patterns)
    assert not any(pattern_matches(p, "sagemaker:CreateTrainingJob") for p in patterns)
    assert not any(pattern_matches(p, "sagemaker:CreateModel") for p in patterns)


def test_studio_ui_creates_are_governed_when_the_schema_enforces_them(real_schema, catalog, policy_principals):
    enforced = dataclasses.replace(real_schema, studio_ui_enforced=True)
    governed = {row.operation for row in compile_policies(enforced, catalog, policy_principals).governed}
    assert {"CreateApp", "CreateSpace"} <= governed


def test_every_schema_resource_type_is_created_by_some_known_create(real_schema, compilation):
    created_types = {row.resource_type for row in compilation.actions}
    for rule in real_schema.rules:
        assert rule.applies_to is None or rule.applies_to <= created_types, rule.key


# --- exact actions ---------------------------------------------------------------------------------


def test_every_action_is_named_exactly(compilation):
    for statement in statements_of(compilation.scps):
        for action in actions_of(statement):
            assert "*" not in action and "?" not in action, (statement["Sid"], action)


def test_each_missing_tag_statement_lists_exactly_the_governed_creates_its_rule_applies_to(real_schema, compilation):
    for rule in real_schema.rules:
        expected = sorted(row.action for row in compilation.governed if rule.applies_to_type(row.resource_type))
        assert actions_of(statement_by_sid(compilation, sid_for("DenyMissing", rule.key))) == expected


@pytest.mark.parametrize("operation", NEVER_GOVERNED + ["CreateApp", "CreateSpace", "CreateModelPackage"])
def test_no_statement_action_matches_an_ungoverned_create(compilation, operation):
    for statement in statements_of(compilation.scps):
        for pattern in actions_of(statement):
            assert not pattern_matches(pattern, f"sagemaker:{operation}"), (statement["Sid"], pattern)


def test_every_governed_create_supports_the_tag_keys_condition_the_missing_tag_statements_use(compilation):
    from mlgov.service_catalog import _iam_definition

    privileges = _iam_definition()["sagemaker"]["privileges"]
    lacking = [
        row.operation
        for row in compilation.governed
        if not any("aws:TagKeys" in rt["condition_keys"] for rt in privileges[row.operation]["resource_types"].values())
    ]
    assert lacking == []


def test_tag_statements_name_exact_tagging_actions(compilation):
    for statement in statements_of(compilation.scps):
        if not statement["Sid"].startswith(("DenyMissing", "ProtectMlgovRoles")):
            assert set(actions_of(statement)) <= {"sagemaker:AddTags", "sagemaker:DeleteTags"}


# --- size and slots ----------------------------------------------------------------------------------


def test_compiled_scps_fit_the_size_limit_and_the_slots(compilation):
    assert 1 <= len(compilation.scps) <= SCP_MAX_PER_TARGET
    for scp in compilation.scps:
        assert len(scp.text) <= SCP_MAX_CHARS, (scp.name, len(scp.text))
        assert scp.text == minified(json.loads(scp.text))


def test_checked_in_scp_files_fit_the_size_limit_and_the_slots():
    files = sorted((DEFAULT_POLICIES_DIR / "scp").glob("*.json"))
    assert 1 <= len(files) <= SCP_MAX_PER_TARGET
    for path in files:
        assert len(path.read_text().rstrip("\n")) <= SCP_MAX_CHARS, path.name


# --- statement shape ---------------------------------------------------------------------------------


def test_one_deny_per_required_key_on_the_exact_key_among_the_request_keys(real_schema, compilation):
    missing = [s for s in statements_of(compilation.scps) if s["Sid"].startswith("DenyMissing")]
    assert len(missing) == len(real_schema.required_keys)
    for key in real_schema.required_keys:
        statement = statement_by_sid(compilation, sid_for("DenyMissing", key))
        assert statement["Effect"] == "Deny"
        assert statement["Resource"] == "*"
        # not Null on aws:RequestTag/<key>: IAM matches condition key names ignoring case
        assert statement["Condition"]["ForAllValues:StringNotEquals"] == {"aws:TagKeys": [key]}


def test_sids_are_letters_and_digits_and_unique(compilation):
    sids = [s["Sid"] for s in statements_of(compilation.scps)]
    assert len(sids) == len(set(sids))
    assert all(re.fullmatch(r"[A-Za-z0-9]+", sid) for sid in sids)
    assert sid_for("DenyMissing", "auto-delete-after") == "DenyMissingAutoDeleteAfter"


def test_tag_statements_exempt_exactly_the_mlgov_roles_pinned_where_they_live(compilation):
    for statement in statements_of(compilation.scps):
        if statement["Sid"].startswith("DenyMissing"):  # mlgov's roles create nothing: nobody is exempt
            assert "ArnNotLike" not in statement["Condition"], statement["Sid"]
        elif statement["Sid"] != "ProtectMlgovRoles":
            assert statement["Condition"]["ArnNotLike"] == {"aws:PrincipalArn": MLGOV_ROLES}, statement["Sid"]


def test_configured_principals_are_added_once_after_mlgov_roles(real_schema, catalog):
    extra = "arn:aws:iam::111122223333:role/PlatformPipeline"
    writer = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Platform_0123456789abcdef"
    hub_role = f"arn:aws:iam::{HUB}:role/mlgov-hub-approval"
    principals = PolicyPrincipals(HUB, "eu-west-1", exempt=(extra, hub_role), tag_writers=(writer,))
    compiled = compile_policies(real_schema, catalog, principals)
    team = statement_by_sid(compiled, "DenyMissingMlTeam")
    assert team["Condition"]["ArnNotLike"]["aws:PrincipalArn"] == [extra, hub_role]
    environment = statement_by_sid(compiled, "DenyInvalidMlEnvironment")
    assert environment["Condition"]["ArnNotLike"]["aws:PrincipalArn"] == [*MLGOV_ROLES, extra, hub_role]
    protected = statement_by_sid(compiled, "DenyMlgovTagWritesByOthers")
    assert protected["Condition"]["ArnNotLike"]["aws:PrincipalArn"] == [*MLGOV_ROLES, writer]


def test_role_protection_lets_only_the_deployers_change_mlgov_and_stackset_roles(compilation):
    statement = statement_by_sid(compilation, "ProtectMlgovRoles")
    assert statement["Resource"] == [
        "arn:*:iam::*:role/mlgov-*",
        "arn:*:iam::*:role/*/mlgov-*",
        "arn:*:iam::*:role/stacksets-exec-*",
        "arn:*:iam::*:role/*/stacksets-exec-*",
    ]
    assert {"iam:CreateRole", "iam:UpdateAssumeRolePolicy", "iam:AttachRolePolicy", "iam:PutRolePolicy"} <= set(
        statement["Action"]
    )
    assert statement["Condition"] == {
        "ArnNotLike": {
            "aws:PrincipalArn": [
                "arn:*:iam::*:role/stacksets-exec-*",
                f"arn:*:iam::{HUB}:role/cdk-hnb659fds-cfn-exec-role-{HUB}-eu-west-1",
            ]
        }
    }


def test_every_role_changing_iam_action_is_denied(compilation):
    """Every IAM action on a role resource that is not a read: nothing else changes who the role trusts or what
    it may do (PassRole and instance profiles only hand the role to a service its trust policy must admit)."""
    from mlgov.service_catalog import _iam_definition

    privileges = _iam_definition()["iam"]["privileges"]
    writes = {
        f"iam:{name}"
        for name, privilege in privileges.items()
        if "role" in privilege["resource_types"]
        and privilege["access_level"] in ("Write", "Permissions management", "Tagging")
    }
    handing_over = {
        "iam:PassRole",
        "iam:AddRoleToInstanceProfile",
        "iam:RemoveRoleFromInstanceProfile",
        "iam:CreateServiceLinkedRole",
        "iam:DeleteServiceLinkedRole",
    }
    denied = set(statement_by_sid(compilation, "ProtectMlgovRoles")["Action"])
    assert writes - handing_over == denied


def test_value_checks_are_on_add_tags_for_keys_with_scp_value_rules(compilation):
    environment = statement_by_sid(compilation, "DenyInvalidMlEnvironment")
    assert environment["Action"] == "sagemaker:AddTags"
    assert environment["Condition"]["StringNotEquals"] == {"aws:RequestTag/ml:environment": ["dev", "staging", "prod"]}
    assert environment["Condition"]["Null"] == {"aws:RequestTag/ml:environment": "false"}
    lifetime = statement_by_sid(compilation, "DenyInvalidAutoDeleteAfter")
    assert lifetime["Condition"]["StringNotLike"] == {
        "aws:RequestTag/auto-delete-after": [f"20??-{m}?-{d}?" for m in "01" for d in "0123"]
    }
    for key in ("ml:team", "ml:model", "ml:experiment"):
        bad = statement_by_sid(compilation, sid_for("DenyBadValue", key))
        assert bad["Action"] == "sagemaker:AddTags"
        assert bad["Condition"]["StringLike"] == {f"aws:RequestTag/{key}": ["", "=*", "+*", "-*", "@*"]}


def test_removing_required_tags_and_writing_protected_keys_in_any_capitalisation_are_denied(real_schema, compilation):
    removing = statement_by_sid(compilation, "DenyRemovingRequiredTags")
    assert removing["Action"] == "sagemaker:DeleteTags"
    assert removing["Condition"]["ForAnyValue:StringEquals"] == {"aws:TagKeys": list(real_schema.required_keys)}
    protected = statement_by_sid(compilation, "DenyMlgovTagWritesByOthers")
    assert protected["Action"] == ["sagemaker:AddTags", "sagemaker:DeleteTags"]
    assert protected["Condition"]["ForAnyValue:StringEqualsIgnoreCase"] == {
        "aws:TagKeys": list(real_schema.protected_keys)
    }
    assert {"mlgov:exempt", "mlgov:schedule", "mlgov:zombie", "mlgov:created-by"} <= set(real_schema.protected_keys)


# --- CamelCase words -----------------------------------------------------------------------------


def test_camel_words_split_every_known_action_losslessly(catalog):
    for name in catalog.known_actions:
        assert "".join(camel_words(name)) == name, name


# --- pack_statements -------------------------------------------------------------------------------


def filler_statement(sid: str, chars: int) -> dict:
    """A Deny statement padded with action names to roughly `chars` minified characters."""
    statement = {"Sid": sid, "Effect": "Deny", "Action": [], "Resource": "*"}
    index = 0
    while len(minified(statement)) < chars:
        statement["Action"].append(f"sagemaker:CreateThing{index:05d}")
        index += 1
    return statement


def test_pack_shares_policies_first_fit_and_keeps_statement_order():
    statements = [filler_statement(f"S{i}", 2000) for i in range(4)]
    packed = pack_statements(statements)
    assert len(packed) == 2
    assert [[s["Sid"] for s in p.document["Statement"]] for p in packed] == [["S0", "S1"], ["S2", "S3"]]
    assert all(p.size <= SCP_MAX_CHARS for p in packed)
    assert [p.name for p in packed] == ["mlgov-tag-enforcement-1", "mlgov-tag-enforcement-2"]


def test_pack_refuses_more_policies_than_a_target_holds():
    statements = [filler_statement(f"S{i}", 3000) for i in range(SCP_MAX_PER_TARGET + 1)]
    with pytest.raises(PolicyTooLargeError, match=f"{SCP_MAX_PER_TARGET + 1} SCPs needed"):
        pack_statements(statements)


def test_pack_refuses_a_statement_larger_than_one_policy():
    with pytest.raises(PolicyTooLargeError, match="statement Huge alone exceeds 5120 characters"):
        pack_statements([filler_statement("Small", 100), filler_statement("Huge", SCP_MAX_CHARS + 1)])


# --- tag policy ------------------------------------------------------------------------------------


def test_tag_policy_fixes_key_capitalisation_and_lists_allowed_environments(real_schema, compilation):
    policy = compile_tag_policy(real_schema, compilation.actions)
    assert set(policy["tags"]) == set(real_schema.required_keys)
    for key in real_schema.required_keys:
        assert policy["tags"][key]["tag_key"] == {"@@assign": key}
    assert policy["tags"]["ml:environment"]["tag_value"] == {"@@assign": ["dev", "staging", "prod"]}
    assert "tag_value" not in policy["tags"]["ml:team"]
    assert not any("enforced_for" in entry for entry in policy["tags"].values())


def test_tag_policy_requires_each_key_on_the_governed_types_organizations_reports_on(real_schema, compilation):
    policy = compile_tag_policy(real_schema, compilation.actions)
    team = policy["tags"]["ml:team"]["report_required_tag_for"]["@@assign"]
    assert {"sagemaker:endpoint", "sagemaker:model", "sagemaker:notebook-instance", "sagemaker:processing-job"} <= set(
        team
    )
    # ungoverned (Studio UI creates, versioned model packages) or not reportable (training jobs): never listed
    assert not {"sagemaker:app", "sagemaker:space", "sagemaker:model-package", "sagemaker:training-job"} & set(team)
    lifetime = policy["tags"]["auto-delete-after"]["report_required_tag_for"]["@@assign"]
    assert "sagemaker:endpoint" in lifetime and "sagemaker:model" not in lifetime
    assert team == sorted(team)


# --- checked-in files are current ------------------------------------------------------------------


def test_checked_in_policy_files_are_current(compilation):
    assert PolicyFiles(DEFAULT_POLICIES_DIR).stale(compilation) == []


@pytest.fixture
def policies_copy(tmp_path):
    root = tmp_path / "policies"
    shutil.copytree(DEFAULT_POLICIES_DIR, root)
    return PolicyFiles(root)


def test_an_edited_scp_file_is_stale(policies_copy, compilation):
    path = policies_copy.root / "scp" / "mlgov-tag-enforcement-1.json"
    path.write_text(path.read_text().replace("DenyMissingMlTeam", "DenyMissingMlTeamX"))
    assert policies_copy.stale(compilation) == ["scp/mlgov-tag-enforcement-1.json"]


def test_a_leftover_scp_file_and_a_missing_tag_policy_are_stale(policies_copy, compilation):
    (policies_copy.root / "scp" / "mlgov-tag-enforcement-9.json").write_text("{}\n")
    (policies_copy.root / "tag_policy.json").unlink()
    assert sorted(policies_copy.stale(compilation)) == ["scp/mlgov-tag-enforcement-9.json", "tag_policy.json"]


def test_write_makes_a_stale_copy_current_and_removes_leftovers(policies_copy, compilation):
    leftover = policies_copy.root / "scp" / "mlgov-tag-enforcement-9.json"
    leftover.write_text("{}\n")
    (policies_copy.root / "governed_actions.json").write_text("[]\n")
    policies_copy.write(compilation)
    assert policies_copy.stale(compilation) == []
    assert not leftover.exists()


def test_each_create_that_refuses_tags_in_a_mode_says_so_in_the_botocore_model_and_is_never_governed(compilation):
    import botocore.session

    from mlgov.domain.governed_actions import TAGS_REFUSED_IN_A_MODE

    model = botocore.session.get_session().get_service_model("sagemaker")
    rows = {row.operation: row for row in compilation.actions}
    for operation in TAGS_REFUSED_IN_A_MODE:
        documentation = model.operation_model(operation).input_shape.members["Tags"].documentation
        assert "you cannot supply a <code>tag</code> argument" in documentation, operation
        assert rows[operation].accepts_tags and not rows[operation].governed, operation
        assert rows[operation].reason.startswith("refuses Tags in one mode"), operation
