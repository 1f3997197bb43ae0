"""Issue acceptance: SageMaker calls against the checked-in SCPs (policies/scp/*.json, what gets deployed)."""

from __future__ import annotations

import pytest

from mlgov.domain.iam_eval import RequestContext, evaluate
from mlgov.domain.policy_simulation import simulate_call

DATA_SCIENTIST = "arn:aws:sts::111122223333:assumed-role/DataScientist/alice"
DATA_SCIENTIST_ROLE = "arn:aws:iam::111122223333:role/DataScientist"
MLGOV_SPOKE = "arn:aws:iam::111122223333:role/mlgov-spoke"


def denying_sids(simulation) -> set[str]:
    return {m.sid for a in simulation.authorizations for m in a.decision.denied_by}


def without(tags: dict[str, str], *keys: str) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k not in keys}


def test_create_endpoint_without_team_is_denied_by_the_team_statement(checked_in_scps, valid_tags):
    result = simulate_call(checked_in_scps, "sagemaker:CreateEndpoint", without(valid_tags, "ml:team"))
    assert result.verdict == "DENY"
    assert denying_sids(result) == {"DenyMissingMlTeam"}
    create = result.authorizations[0]
    assert create.label == "sagemaker:CreateEndpoint"
    assert "DenyMissingMlTeam" in create.decision.reason


def test_create_endpoint_with_all_five_valid_tags_is_allowed_on_create_and_on_tagging(checked_in_scps, valid_tags):
    result = simulate_call(checked_in_scps, "sagemaker:CreateEndpoint", valid_tags, DATA_SCIENTIST)
    assert result.verdict == "ALLOW"
    assert [a.label for a in result.authorizations] == [
        "sagemaker:CreateEndpoint",
        "sagemaker:AddTags (TaggingAction=CreateEndpoint)",
    ]
    assert all(a.decision.allowed for a in result.authorizations)


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_every_allowed_environment_passes(checked_in_scps, valid_tags, environment):
    tags = {**valid_tags, "ml:environment": environment}
    assert simulate_call(checked_in_scps, "CreateEndpoint", tags).verdict == "ALLOW"


def test_environment_qa_is_denied_on_the_tagging_check(checked_in_scps, valid_tags):
    result = simulate_call(checked_in_scps, "sagemaker:CreateEndpoint", {**valid_tags, "ml:environment": "qa"})
    assert result.verdict == "DENY"
    create, tagging = result.authorizations
    assert create.decision.allowed
    assert [m.sid for m in tagging.decision.denied_by] == ["DenyInvalidMlEnvironment"]


def test_lifetime_tag_not_shaped_like_a_date_is_denied(checked_in_scps, valid_tags):
    result = simulate_call(checked_in_scps, "CreateEndpoint", {**valid_tags, "auto-delete-after": "never"})
    assert denying_sids(result) == {"DenyInvalidAutoDeleteAfter"}


def test_every_governed_create_without_tags_is_denied(checked_in_scps, compilation):
    assert len(compilation.governed) > 50
    for row in compilation.governed:
        result = simulate_call(checked_in_scps, row.action, {})
        assert result.verdict == "DENY", row.operation
        assert "DenyMissingMlTeam" in denying_sids(result), row.operation


def test_every_governed_create_with_all_valid_tags_is_allowed(checked_in_scps, compilation, valid_tags):
    for row in compilation.governed:
        assert simulate_call(checked_in_scps, row.action, valid_tags).verdict == "ALLOW", row.operation


@pytest.mark.parametrize(
    "operation",
    [
        "CreatePresignedDomainUrl",
        "CreatePresignedNotebookInstanceUrl",
        "CreatePresignedMlflowTrackingServerUrl",
        "CreateModelCardExportJob",
        "CreateImageVersion",
        "CreateEdgeDeploymentStage",
    ],
)
def test_creates_that_take_no_tags_are_allowed_without_tags(checked_in_scps, operation):
    result = simulate_call(checked_in_scps, operation, {}, DATA_SCIENTIST)
    assert result.verdict == "ALLOW"


def test_mlgov_roles_create_nothing_untagged_either(checked_in_scps):
    assert simulate_call(checked_in_scps, "sagemaker:CreateEndpoint", {}, MLGOV_SPOKE).verdict == "DENY"


def test_deleting_a_required_tag_is_denied(checked_in_scps):
    result = simulate_call(checked_in_scps, "sagemaker:DeleteTags", {}, DATA_SCIENTIST, tag_keys=["ml:team"])
    assert result.verdict == "DENY"
    assert denying_sids(result) == {"DenyRemovingRequiredTags"}


def test_deleting_another_key_is_allowed(checked_in_scps):
    result = simulate_call(checked_in_scps, "sagemaker:DeleteTags", {}, DATA_SCIENTIST, tag_keys=["owner"])
    assert result.verdict == "ALLOW"


def test_deleting_a_required_tag_among_others_is_denied(checked_in_scps):
    result = simulate_call(checked_in_scps, "DeleteTags", {}, tag_keys=["owner", "auto-delete-after"])
    assert result.verdict == "DENY"


def test_exempt_principal_may_delete_a_required_tag(checked_in_scps):
    result = simulate_call(checked_in_scps, "sagemaker:DeleteTags", {}, MLGOV_SPOKE, tag_keys=["ml:team"])
    assert result.verdict == "ALLOW"


def test_auto_tagger_adds_its_own_creator_tag(checked_in_scps):
    tags = {"mlgov:created-by": "alice"}
    assert simulate_call(checked_in_scps, "sagemaker:AddTags", tags, MLGOV_SPOKE).verdict == "ALLOW"


@pytest.mark.parametrize("principal", [DATA_SCIENTIST, DATA_SCIENTIST_ROLE])
def test_data_scientist_cannot_write_the_creator_tag(checked_in_scps, principal):
    result = simulate_call(checked_in_scps, "sagemaker:AddTags", {"mlgov:created-by": "bob"}, principal)
    assert result.verdict == "DENY"
    assert denying_sids(result) == {"DenyMlgovTagWritesByOthers"}


def test_data_scientist_cannot_forge_a_zombie_tag_at_create(checked_in_scps, valid_tags):
    result = simulate_call(checked_in_scps, "CreateEndpoint", {**valid_tags, "mlgov:zombie": "false"})
    assert result.verdict == "DENY"
    assert denying_sids(result) == {"DenyMlgovTagWritesByOthers"}


def test_data_scientist_cannot_remove_the_zombie_tag(checked_in_scps):
    result = simulate_call(checked_in_scps, "DeleteTags", {}, tag_keys=["mlgov:zombie-date"])
    assert denying_sids(result) == {"DenyMlgovTagWritesByOthers"}


def test_training_job_needs_no_lifetime_tag(checked_in_scps, valid_tags):
    tags = without(valid_tags, "auto-delete-after")
    assert simulate_call(checked_in_scps, "sagemaker:CreateTrainingJob", tags, DATA_SCIENTIST).verdict == "ALLOW"


def test_endpoint_needs_the_lifetime_tag(checked_in_scps, valid_tags):
    result = simulate_call(checked_in_scps, "CreateEndpoint", without(valid_tags, "auto-delete-after"))
    assert denying_sids(result) == {"DenyMissingAutoDeleteAfter"}


@pytest.mark.parametrize("operation", ["CreateApp", "CreateSpace"])
def test_studio_creates_without_tags_are_allowed(checked_in_scps, operation):
    assert simulate_call(checked_in_scps, operation, {}, DATA_SCIENTIST).verdict == "ALLOW"


def test_tagging_check_with_valid_tags_is_never_denied_for_any_governed_create(
    checked_in_scps, compilation, valid_tags
):
    assert "CreateEndpoint" in {row.operation for row in compilation.governed}
    for row in compilation.governed:
        request = RequestContext.for_tags(
            "sagemaker:AddTags",
            valid_tags,
            principal_arn=DATA_SCIENTIST,
            context={"sagemaker:TaggingAction": row.operation},
        )
        decision = evaluate(checked_in_scps, request)
        assert decision.allowed, (row.operation, decision.reason)


def test_registering_a_versioned_model_package_without_tags_is_allowed(checked_in_scps):
    """Pipelines RegisterModel / model.register(): CreateModelPackage with ModelPackageGroupName may not carry Tags."""
    result = simulate_call(checked_in_scps, "sagemaker:CreateModelPackage", {}, DATA_SCIENTIST)
    assert result.verdict == "ALLOW" and denying_sids(result) == set()


def test_creating_a_model_package_group_without_tags_is_denied(checked_in_scps):
    result = simulate_call(checked_in_scps, "sagemaker:CreateModelPackageGroup", {}, DATA_SCIENTIST)
    assert result.verdict == "DENY"
    assert {"DenyMissingMlTeam", "DenyMissingMlModel", "DenyMissingMlExperiment"} <= denying_sids(result)
