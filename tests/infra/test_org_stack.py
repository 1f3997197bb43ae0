"""OrgStack as synthesized from the real cdk.json: the deployed SCPs are the checked-in ones."""

import json
from pathlib import Path

from aws_cdk.assertions import Annotations, Match

from mlgov.domain.scp_compiler import SCP_MAX_CHARS, SCP_MAX_PER_TARGET
from tests.infra.conftest import REPO


def _checked_in_scps() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((REPO / "policies/scp").glob("*.json"))}


def test_every_checked_in_scp_is_deployed_verbatim_to_the_target_ous(org_template, cdk_context):
    targets = cdk_context["mlgov"]["target_ous"]
    for name, document in _checked_in_scps().items():
        org_template.has_resource_properties(
            "AWS::Organizations::Policy",
            {"Name": name, "Type": "SERVICE_CONTROL_POLICY", "Content": document, "TargetIds": targets},
        )


def test_org_stack_attaches_no_more_scps_than_a_target_has_slots_for(org_template):
    scps = org_template.find_resources("AWS::Organizations::Policy", {"Properties": {"Type": "SERVICE_CONTROL_POLICY"}})
    assert 1 <= len(scps) <= SCP_MAX_PER_TARGET
    for resource in scps.values():
        minified = json.dumps(resource["Properties"]["Content"], separators=(",", ":"))
        assert len(minified) <= SCP_MAX_CHARS


def test_tag_policy_is_deployed_from_the_checked_in_file(org_template, cdk_context):
    tag_policy = json.loads((REPO / "policies/tag_policy.json").read_text())
    org_template.has_resource_properties(
        "AWS::Organizations::Policy",
        {"Type": "TAG_POLICY", "Content": tag_policy, "TargetIds": cdk_context["mlgov"]["target_ous"]},
    )


def test_org_stack_targets_the_management_account_in_the_organizations_region(synthesized, cdk_context):
    stacks, _ = synthesized
    assert stacks["org"].account == cdk_context["mlgov"]["management_account"]
    assert stacks["org"].region == "us-east-1"


def test_cdk_nag_reports_no_unsuppressed_errors(synthesized):
    stacks, _ = synthesized
    for stack in stacks.values():
        errors = Annotations.from_stack(stack).find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
        assert errors == [], [e.entry.data for e in errors]


def _cfn_lint_errors(template_text: str) -> list[str]:
    from cfnlint.api import ManualArgs, lint

    matches = lint(template_text, config=ManualArgs(regions=["us-east-1"]))
    return [str(match) for match in matches if match.rule.severity == "error"]


def test_cfn_lint_finds_no_errors_in_any_template(synthesized):
    _, assembly = synthesized
    for stack in assembly.stacks:
        assert _cfn_lint_errors(Path(stack.template_full_path).read_text()) == []


def test_cfn_lint_check_catches_a_broken_policy_type(synthesized):
    _, assembly = synthesized
    template = json.loads(Path(assembly.get_stack_by_name("MlgovOrg").template_full_path).read_text())
    policy = next(r for r in template["Resources"].values() if r["Type"] == "AWS::Organizations::Policy")
    policy["Properties"]["Type"] = "SERVICE_CONTROL_POLICIES"
    assert _cfn_lint_errors(json.dumps(template)) != []
