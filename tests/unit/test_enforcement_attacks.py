"""Issue 13 acceptance: what a data scientist with iam:CreateRole in a member account can and cannot do against the
checked-in SCPs (policies/scp/*.json, compiled from cdk.json: hub account 222222222222, region eu-west-1)."""

from __future__ import annotations

import botocore.session
import pytest

from mlgov.domain.governed_actions import TAGS_REFUSED_IN_A_MODE
from mlgov.domain.policy_simulation import simulate_call

MEMBER = "444455556666"
HUB = "222222222222"
DATA_SCIENTIST = f"arn:aws:sts::{MEMBER}:assumed-role/DataScientist/alice"
STACKSET_EXECUTION = f"arn:aws:iam::{MEMBER}:role/stacksets-exec-0123456789abcdef0123456789abcdef"
HUB_DEPLOYER = f"arn:aws:iam::{HUB}:role/cdk-hnb659fds-cfn-exec-role-{HUB}-eu-west-1"
SPOKE_APPROVAL = f"arn:aws:iam::{MEMBER}:role/mlgov-spoke-approval"


def role(name: str, account: str = MEMBER) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


def denying_sids(simulation) -> set[str]:
    return {m.sid for a in simulation.authorizations for m in a.decision.denied_by}


# --- the mlgov roles cannot be created, re-trusted or re-permissioned by anyone but the deployers ------------------

ROLE_ATTACKS = [
    ("iam:CreateRole", "mlgov-x"),
    ("iam:CreateRole", "team/mlgov-x"),
    ("iam:CreateRole", "mlgov-spoke"),
    ("iam:CreateRole", "stacksets-exec-x"),
    ("iam:CreateRole", "team/stacksets-exec-x"),
    ("iam:UpdateAssumeRolePolicy", "mlgov-spoke-approval"),
    ("iam:AttachRolePolicy", "mlgov-spoke-approval"),
    ("iam:PutRolePolicy", "mlgov-spoke-approval"),
    ("iam:DeleteRolePolicy", "mlgov-spoke"),
    ("iam:PutRolePermissionsBoundary", "mlgov-spoke"),
    ("iam:DeleteRole", "mlgov-spoke"),
    ("iam:TagRole", "mlgov-spoke"),
    ("iam:UpdateAssumeRolePolicy", "stacksets-exec-0123456789abcdef0123456789abcdef"),
]


@pytest.mark.parametrize(("action", "name"), ROLE_ATTACKS)
def test_a_data_scientist_cannot_create_or_change_a_protected_role(checked_in_scps, action, name):
    result = simulate_call(checked_in_scps, action, {}, DATA_SCIENTIST, resource=role(name))
    assert result.verdict == "DENY"
    assert denying_sids(result) == {"ProtectMlgovRoles"}


@pytest.mark.parametrize(("action", "name"), ROLE_ATTACKS)
def test_the_stackset_execution_role_deploys_the_protected_roles(checked_in_scps, action, name):
    assert simulate_call(checked_in_scps, action, {}, STACKSET_EXECUTION, resource=role(name)).verdict == "ALLOW"


def test_the_hub_deployer_creates_hub_roles_only_in_the_hub_account(checked_in_scps):
    hub_role = role("mlgov-hub-scanner", HUB)
    assert simulate_call(checked_in_scps, "iam:CreateRole", {}, HUB_DEPLOYER, resource=hub_role).verdict == "ALLOW"
    lookalike = f"arn:aws:iam::{MEMBER}:role/cdk-hnb659fds-cfn-exec-role-{HUB}-eu-west-1"
    result = simulate_call(checked_in_scps, "iam:CreateRole", {}, lookalike, resource=role("mlgov-x"))
    assert result.verdict == "DENY"


def test_a_data_scientist_still_manages_their_own_roles(checked_in_scps):
    for action in ("iam:CreateRole", "iam:UpdateAssumeRolePolicy", "iam:AttachRolePolicy"):
        result = simulate_call(checked_in_scps, action, {}, DATA_SCIENTIST, resource=role("team/my-training-role"))
        assert result.verdict == "ALLOW", action


# --- exemptions name exact roles -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "principal",
    [
        role("mlgov-x"),
        role("mlgov-x/anything"),
        role("team/mlgov-spoke"),
        role("Mlgov-spoke"),
        role("mlgov-hub-approval"),  # a hub role's name in a member account
        f"arn:aws:sts::{MEMBER}:assumed-role/mlgov-x/session",
    ],
)
def test_a_role_named_like_mlgov_creates_nothing_untagged(checked_in_scps, principal):
    result = simulate_call(checked_in_scps, "sagemaker:CreateEndpoint", {}, principal)
    assert result.verdict == "DENY"
    assert "DenyMissingMlTeam" in denying_sids(result)


@pytest.mark.parametrize(
    "principal", [role("mlgov-spoke"), role("mlgov-spoke-approval"), role("mlgov-hub-approval", HUB)]
)
def test_mlgov_roles_write_mlgov_keys_where_they_live(checked_in_scps, principal):
    tags = {"mlgov:zombie": "candidate", "mlgov:created-by": "alice@example.com"}
    assert simulate_call(checked_in_scps, "sagemaker:AddTags", tags, principal).verdict == "ALLOW"


@pytest.mark.parametrize("principal", [role("mlgov-spoke"), role("team/mlgov-spoke-approval"), role("mlgov-hub-x")])
def test_mlgov_keys_are_refused_to_lookalikes_of_mlgov_roles(checked_in_scps, principal):
    result = simulate_call(checked_in_scps, "sagemaker:AddTags", {"mlgov:zombie": "confirmed"}, principal)
    expected = "ALLOW" if principal == role("mlgov-spoke") else "DENY"
    assert result.verdict == expected


# --- protected keys ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["mlgov:exempt", "mlgov:schedule", "MLGOV:EXEMPT", "Mlgov:Schedule", "mlgov:zombie", "mlgov:created-by"]
)
def test_a_data_scientist_cannot_write_keys_that_drive_actions(checked_in_scps, key):
    result = simulate_call(checked_in_scps, "sagemaker:AddTags", {key: "x"}, DATA_SCIENTIST)
    assert result.verdict == "DENY"
    assert denying_sids(result) == {"DenyMlgovTagWritesByOthers"}
    removal = simulate_call(checked_in_scps, "sagemaker:DeleteTags", {}, DATA_SCIENTIST, tag_keys=[key])
    assert denying_sids(removal) == {"DenyMlgovTagWritesByOthers"}


def test_the_approval_role_writes_the_exemption(checked_in_scps):
    result = simulate_call(
        checked_in_scps, "sagemaker:AddTags", {"mlgov:exempt": "kept by U0PLATFORM1"}, SPOKE_APPROVAL
    )
    assert result.verdict == "ALLOW"


# --- tag keys in other capitals and values that break the schema ---------------------------------------------------


def test_a_required_key_in_other_capitals_does_not_count(checked_in_scps, valid_tags):
    tags = {("ML:TEAM" if key == "ml:team" else key): value for key, value in valid_tags.items()}
    result = simulate_call(checked_in_scps, "sagemaker:CreateEndpoint", tags, DATA_SCIENTIST)
    assert result.verdict == "DENY"
    assert denying_sids(result) == {"DenyMissingMlTeam"}


def test_a_required_key_in_other_capitals_can_be_removed_but_not_the_key_itself(checked_in_scps):
    """SageMaker keys are case-sensitive: removing ML:Team (the scan flags it) never removes ml:team."""
    variant = simulate_call(checked_in_scps, "sagemaker:DeleteTags", {}, DATA_SCIENTIST, tag_keys=["ML:Team"])
    assert variant.verdict == "ALLOW"
    exact = simulate_call(checked_in_scps, "sagemaker:DeleteTags", {}, DATA_SCIENTIST, tag_keys=["ml:team"])
    assert denying_sids(exact) == {"DenyRemovingRequiredTags"}


@pytest.mark.parametrize("value", ["", "=HYPERLINK(1)", "+1", "-x", "@SUM(1)"])
@pytest.mark.parametrize("key", ["ml:team", "ml:model", "ml:experiment"])
def test_empty_and_formula_like_values_are_denied(checked_in_scps, valid_tags, key, value):
    result = simulate_call(checked_in_scps, "sagemaker:CreateEndpoint", {**valid_tags, key: value}, DATA_SCIENTIST)
    assert result.verdict == "DENY"
    assert {m.sid for m in result.authorizations[1].decision.denied_by} == {
        "DenyBadValue" + "".join(p.capitalize() for p in key.replace(":", "-").split("-"))
    }


@pytest.mark.parametrize("value", ["2027-1-011", "9999-99-99", "2027-41-01", "2027-01-41", "27-01-01xx"])
def test_lifetime_values_that_are_not_dates_are_denied(checked_in_scps, valid_tags, value):
    tags = {**valid_tags, "auto-delete-after": value}
    assert denying_sids(simulate_call(checked_in_scps, "CreateEndpoint", tags)) == {"DenyInvalidAutoDeleteAfter"}


@pytest.mark.parametrize("value", ["2027-01-31", "2026-12-01", "2099-12-31"])
def test_real_dates_pass_the_lifetime_check(checked_in_scps, valid_tags, value):
    tags = {**valid_tags, "auto-delete-after": value}
    assert simulate_call(checked_in_scps, "CreateEndpoint", tags, DATA_SCIENTIST).verdict == "ALLOW"


# --- every botocore create, with the tags it can carry -------------------------------------------------------------


def test_every_botocore_create_with_the_tags_it_can_carry_is_allowed(checked_in_scps, valid_tags):
    """A create that accepts Tags is allowed with the five valid tags; one that takes none, or refuses them in a
    documented mode, is allowed without any."""
    model = botocore.session.get_session().get_service_model("sagemaker")
    creates = [name for name in model.operation_names if name.startswith("Create")]
    assert len(creates) > 70
    refused = []
    for operation in creates:
        accepts = "Tags" in model.operation_model(operation).input_shape.members
        modes = [valid_tags] if accepts else [{}]
        if operation in TAGS_REFUSED_IN_A_MODE:
            modes.append({})
        for tags in modes:
            result = simulate_call(checked_in_scps, f"sagemaker:{operation}", tags, DATA_SCIENTIST)
            if not result.allowed:
                refused.append((operation, sorted(tags), sorted(denying_sids(result))))
    assert refused == []
