"""OrgStack as synthesized from the real cdk.json: the deployed SCPs are the checked-in ones; the spoke StackSet."""

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


# ---------------------------------------------------------------- the spoke StackSet


def _stack_set(org_template) -> dict:
    (resource,) = org_template.find_resources("AWS::CloudFormation::StackSet").values()
    return resource["Properties"]


def test_stack_set_embeds_exactly_the_spoke_template_of_spoke_template_body(org_template, cdk_context, tmp_path):
    """The embedded body is what SpokeStack synthesizes on its own (an independent app, not the cached helper)."""
    import aws_cdk as cdk

    from stacks.config import load_config
    from stacks.org_stack import spoke_template_from_org_template
    from stacks.spoke_stack import SpokeStack

    embedded = spoke_template_from_org_template(org_template.to_json())
    assert embedded == json.loads(_stack_set(org_template)["TemplateBody"])
    app = cdk.App(outdir=str(tmp_path))
    SpokeStack(app, "MlgovSpoke", config=load_config(cdk_context["mlgov"]))
    alone = app.synth().get_stack_by_name("MlgovSpoke").template

    def resources(template: dict) -> dict:
        return {k: {f: v for f, v in r.items() if f != "Metadata"} for k, r in template["Resources"].items()
                if r["Type"] != "AWS::CDK::Metadata"}  # fmt: skip

    assert resources(embedded) == resources(alone)
    assert {k: v for k, v in embedded.get("Conditions", {}).items() if k != "CDKMetadataAvailable"} == {
        k: v for k, v in alone.get("Conditions", {}).items() if k != "CDKMetadataAvailable"
    }


def test_spoke_template_body_fits_the_stack_set_limit(org_template):
    from stacks.org_stack import TEMPLATE_BODY_MAX_BYTES

    size = len(_stack_set(org_template)["TemplateBody"].encode("utf-8"))
    assert TEMPLATE_BODY_MAX_BYTES == 51_200
    assert 0 < size < TEMPLATE_BODY_MAX_BYTES, size


def test_spoke_template_over_the_limit_fails_synth_with_one_line(cdk_context, tmp_path, monkeypatch, capsys):
    from types import SimpleNamespace

    import aws_cdk as cdk

    import app
    from stacks import org_stack

    monkeypatch.setattr(org_stack, "TEMPLATE_BODY_MAX_BYTES", 1_000)
    # app.py as the CLI runs it, with the context and output directory the CLI would pass.
    monkeypatch.setattr(app, "cdk", SimpleNamespace(App=lambda: cdk.App(context=cdk_context, outdir=str(tmp_path))))
    assert app.main() == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "1000-byte limit" in lines[0] and "mlgov-spoke" in lines[0]


def test_a_cdk_nag_error_in_the_spoke_fails_the_org_stack(cdk_context, monkeypatch):
    import aws_cdk as cdk
    from aws_cdk import aws_sqs as sqs

    from stacks import org_stack
    from stacks.config import load_config

    class SpokeWithAnInsecureQueue(org_stack.SpokeStack):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            sqs.Queue(self, "NoDlqNoSsl")  # AwsSolutions-SQS3 / SQS4

    monkeypatch.setattr(org_stack, "SpokeStack", SpokeWithAnInsecureQueue)
    org_stack.synthesize_spoke.cache_clear()
    try:
        app = cdk.App(context=cdk_context)
        stack = org_stack.OrgStack(app, "MlgovOrg", config=load_config(cdk_context["mlgov"]))
        errors = Annotations.from_stack(stack).find_error("*", Match.string_like_regexp("AwsSolutions-SQS4"))
        assert errors, "the spoke's nag error did not reach the OrgStack"
        assert "NoDlqNoSsl" in errors[0].entry.data
    finally:
        org_stack.synthesize_spoke.cache_clear()  # drop the patched spoke for later tests


def test_cfn_lint_finds_no_errors_in_the_spoke_template_in_any_member_region(org_template, cdk_context):
    from cfnlint.api import ManualArgs, lint

    body = _stack_set(org_template)["TemplateBody"]
    matches = lint(body, config=ManualArgs(regions=list(cdk_context["mlgov"]["member_regions"])))
    assert [str(match) for match in matches if match.rule.severity == "error"] == []
