"""The organization topology from a cdk.json with two target OUs and three member regions, through the real app builder:
the spoke StackSet reaches both OUs in every region, the SCPs and the tag policy reach both OUs, the hub bus admits
exactly the organization, and no spoke stack is deployed from the management account."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template

from tests.infra.conftest import REPO
from tests.infra.template_helpers import as_list, only, render

TARGET_OUS = ["ou-ab12-mlworkld", "ou-ab12-mlsandbx"]
MEMBER_REGIONS = ["eu-west-1", "us-east-1", "us-west-2"]
ORG_ONLY_KEYS = ("management_account", "organization_id", "target_ous")


def _synthesize(cdk_json: dict, tmp_path_factory, name: str):
    """(stacks by key, cloud assembly) for a cdk.json written to a tmp dir, as conftest.synthesized does it."""
    import aws_cdk as cdk

    from stacks.app_builder import build_app

    directory = tmp_path_factory.mktemp(name)
    (directory / "cdk.json").write_text(json.dumps(cdk_json, indent=2))
    context = json.loads((directory / "cdk.json").read_text())["context"]
    app = cdk.App(context=context, outdir=str(directory / "cdk.out"))
    stacks = build_app(app)
    return stacks, app.synth()


def _variant(**mlgov_changes) -> dict:
    cdk_json = json.loads((REPO / "cdk.json").read_text())
    cdk_json["context"]["mlgov"].update(mlgov_changes)
    return cdk_json


@pytest.fixture(scope="module")
def org(tmp_path_factory):
    return _synthesize(_variant(target_ous=TARGET_OUS, member_regions=MEMBER_REGIONS), tmp_path_factory, "org")


@pytest.fixture(scope="module")
def mlgov(org) -> dict:
    return _variant(target_ous=TARGET_OUS, member_regions=MEMBER_REGIONS)["context"]["mlgov"]


@pytest.fixture(scope="module")
def org_template(org) -> Template:
    stacks, _ = org
    return Template.from_stack(stacks["org"])


@pytest.fixture(scope="module")
def stack_set(org_template) -> dict:
    _, resource = only(org_template, "AWS::CloudFormation::StackSet")
    return resource["Properties"]


@pytest.fixture(scope="module")
def spoke_body(stack_set) -> dict:
    return json.loads(stack_set["TemplateBody"])


# ---------------------------------------------------------------- the spoke StackSet


def test_stack_set_is_service_managed_and_follows_accounts_in_and_out_of_the_ous(stack_set):
    assert stack_set["StackSetName"] == "mlgov-spoke"
    assert stack_set["PermissionModel"] == "SERVICE_MANAGED"
    assert stack_set["CallAs"] == "SELF"
    assert stack_set["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert stack_set["Capabilities"] == ["CAPABILITY_NAMED_IAM"]
    assert stack_set["ManagedExecution"] == {"Active": True}
    preferences = stack_set["OperationPreferences"]
    assert preferences["RegionConcurrencyType"] == "PARALLEL"
    assert 0 <= preferences["FailureTolerancePercentage"] < preferences["MaxConcurrentPercentage"] <= 100


def test_stack_set_targets_both_ous_in_the_three_member_regions(stack_set):
    (group,) = stack_set["StackInstancesGroup"]
    assert group["DeploymentTargets"] == {"OrganizationalUnitIds": TARGET_OUS}
    assert group["Regions"] == MEMBER_REGIONS


def test_stack_set_template_forwards_create_calls_and_job_changes_to_the_hub_bus(spoke_body, mlgov):
    hub_bus = f"arn:${{AWS::Partition}}:events:{mlgov['hub_region']}:{mlgov['hub_account']}:event-bus/mlgov-hub"
    rules = [r["Properties"] for r in spoke_body["Resources"].values() if r["Type"] == "AWS::Events::Rule"]
    detail_types = {detail_type for rule in rules for detail_type in rule["EventPattern"]["detail-type"]}
    assert "AWS API Call via CloudTrail" in detail_types
    assert "SageMaker Training Job State Change" in detail_types
    for rule in rules:
        assert rule.get("EventBusName", "default") == "default"
        assert [render(target["Arn"]) for target in rule["Targets"]] == [hub_bus]


def test_stack_set_template_creates_both_roles_only_in_the_hub_region(spoke_body, mlgov):
    roles = {
        r["Properties"].get("RoleName"): r for r in spoke_body["Resources"].values() if r["Type"] == "AWS::IAM::Role"
    }
    for name in ("mlgov-spoke", "mlgov-spoke-approval"):
        assert roles[name]["Condition"] == "IsRoleRegion", name
    assert spoke_body["Conditions"]["IsRoleRegion"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, mlgov["hub_region"]]}


# ---------------------------------------------------------------- SCPs and the tag policy


def test_every_scp_and_the_tag_policy_are_attached_to_both_ous(org_template):
    policies = org_template.find_resources("AWS::Organizations::Policy")
    checked_in = {path.stem for path in (REPO / "policies/scp").glob("*.json")}
    scps = {p["Properties"]["Name"] for p in policies.values() if p["Properties"]["Type"] == "SERVICE_CONTROL_POLICY"}
    assert scps == checked_in
    assert sorted(p["Properties"]["Type"] for p in policies.values()).count("TAG_POLICY") == 1
    for policy in policies.values():
        assert policy["Properties"]["TargetIds"] == TARGET_OUS, policy["Properties"]["Name"]


# ---------------------------------------------------------------- the hub bus


def test_hub_bus_admits_exactly_the_configured_organization(org, mlgov):
    stacks, _ = org
    hub = Template.from_stack(stacks["hub"])
    bus_id, _ = only(hub, "AWS::Events::EventBus", {"Name": "mlgov-hub"})
    policies = hub.find_resources("AWS::Events::EventBusPolicy", {"Properties": {"EventBusName": {"Ref": bus_id}}})
    statements = [s for policy in policies.values() for s in as_list(policy["Properties"]["Statement"])]
    assert statements
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": mlgov["organization_id"]}}


# ---------------------------------------------------------------- which stacks exist in each mode


def test_org_mode_deploys_no_spoke_stack_from_the_app(org):
    stacks, assembly = org
    assert sorted(stacks) == ["hub", "org"]
    assert sorted(artifact.stack_name for artifact in assembly.stacks) == ["MlgovHub", "MlgovOrg"]


def test_single_account_mode_still_deploys_one_spoke_stack_per_member_region(tmp_path_factory):
    cdk_json = _variant(member_regions=MEMBER_REGIONS)
    for key in ORG_ONLY_KEYS:
        cdk_json["context"]["mlgov"].pop(key)
    stacks, assembly = _synthesize(cdk_json, tmp_path_factory, "single")
    names = sorted(artifact.stack_name for artifact in assembly.stacks)
    assert names == sorted(["MlgovHub", *(f"MlgovSpoke-{region}" for region in MEMBER_REGIONS)])
    for region in MEMBER_REGIONS:
        assert stacks[f"spoke-{region}"].region == region
    for artifact in assembly.stacks:
        assert "AWS::CloudFormation::StackSet" not in {r["Type"] for r in artifact.template["Resources"].values()}


def test_deploy_summary_names_the_stack_set_targets(org):
    from pathlib import Path

    from stacks.deploy_summary import summarize

    _, assembly = org
    (line,) = [line for line in summarize(Path(assembly.directory)) if "STACK_SET" in line]
    assert "mlgov-spoke" in line
    assert line.endswith(f"-> {', '.join(TARGET_OUS)} in {', '.join(MEMBER_REGIONS)}")


def test_deploy_all_deploys_the_hub_before_the_org_stack_and_its_stack_set(synthesized):
    """`cdk deploy --all` from the management account: the hub bus exists before any spoke forwards to it."""
    stacks, assembly = synthesized
    org = assembly.get_stack_by_name("MlgovOrg")
    assert [d.id for d in org.dependencies if not d.id.endswith(".assets")] == ["MlgovHub"]
    assert not [d for d in assembly.get_stack_by_name("MlgovHub").dependencies if not d.id.endswith(".assets")]
