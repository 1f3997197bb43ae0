"""SpokeStack (org mode: the MlgovOrg StackSet's TemplateBody from the real cdk.json; and a single-account config):
forwarding, the scoped role, cdk-nag."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
from aws_cdk.assertions import Annotations, Match, Template

from tests.infra.template_helpers import as_list, only, render, role_statements

SPOKE_ROLE_NAME = "mlgov-spoke"
AUTO_TAGGER_ROLE_NAME = "mlgov-hub-auto-tagger"
# What the auto-tagger writes (design: "Tags"), and nothing else: mlgov:zombie* belongs to the approval role.
AUTO_TAGGER_TAG_KEYS = [
    "mlgov:created-by",
    "mlgov:created-at",
    "mlgov:creator-arn",
    "last-invoked",
    "auto-delete-after",
    "ml:*",
]


# ---------------------------------------------------------------- fixtures and template helpers


@pytest.fixture(scope="module")
def mlgov(cdk_context) -> dict:
    return cdk_context["mlgov"]


@pytest.fixture(scope="module")
def spoke(spoke_template) -> Template:
    return spoke_template  # org mode deploys the spoke only through the MlgovOrg StackSet


@pytest.fixture(scope="module")
def hub(synthesized) -> Template:
    stacks, _ = synthesized
    return Template.from_stack(stacks["hub"])


def spoke_role(template: Template) -> tuple[str, dict]:
    return only(template, "AWS::IAM::Role", {"RoleName": SPOKE_ROLE_NAME})


CREATE_CALLS = "AWS API Call via CloudTrail"  # the job-ledger rules are tested in test_job_ledger_stack.py


def hub_rule_pattern(hub: Template) -> dict:
    bus_id, _ = only(hub, "AWS::Events::EventBus", {"Name": "mlgov-hub"})
    rules = [
        rule
        for rule in hub.find_resources("AWS::Events::Rule", {"Properties": {"EventBusName": {"Ref": bus_id}}}).values()
        if CREATE_CALLS in rule["Properties"]["EventPattern"].get("detail-type", [])
    ]
    assert len(rules) == 1, rules
    return rules[0]["Properties"]["EventPattern"]


def default_bus_rule(template: Template) -> dict:
    rules = [
        rule
        for rule in template.find_resources("AWS::Events::Rule").values()
        if rule["Properties"].get("EventBusName", "default") == "default"
        and CREATE_CALLS in rule["Properties"]["EventPattern"].get("detail-type", [])
    ]
    assert len(rules) == 1, rules
    return rules[0]


def asset_manifests_of(assembly, stack_name: str) -> list[dict]:
    directory = Path(assembly.directory)
    artifacts = json.loads((directory / "manifest.json").read_text())["artifacts"]
    return [
        json.loads((directory / artifacts[dep]["properties"]["file"]).read_text())
        for dep in artifacts[stack_name].get("dependencies", [])
        if artifacts[dep]["type"] == "cdk:asset-manifest"
    ]


def allows(statement: dict, action: str) -> bool:
    return statement["Effect"] == "Allow" and any(
        fnmatchcase(action.lower(), pattern.lower()) for pattern in as_list(statement["Action"])
    )


# ---------------------------------------------------------------- deployable by a StackSet, without bootstrap


def test_spoke_template_has_no_code(spoke):
    types = {resource["Type"] for resource in spoke.to_json()["Resources"].values()}
    assert types, "empty spoke template"
    assert not {t for t in types if t.startswith("AWS::Lambda::")}
    assert not {t for t in types if t.startswith("Custom::") or t == "AWS::CloudFormation::CustomResource"}


def assert_needs_no_cdk_bootstrap(template: dict) -> None:
    assert "BootstrapVersion" not in template.get("Parameters", {})
    assert "CheckBootstrapVersion" not in template.get("Rules", {})
    text = json.dumps(template)
    assert "cdk-bootstrap" not in text and "cdk-hnb659fds" not in text
    assert "AssetParameters" not in text and "aws:asset:" not in text


def test_spoke_needs_no_assets_and_no_cdk_bootstrap(spoke):
    template = spoke.to_json()
    assert not template.get("Parameters"), "a StackSet instance gets no parameter values from mlgov"
    assert_needs_no_cdk_bootstrap(template)


def test_single_account_spokes_need_no_assets_and_no_cdk_bootstrap(single_account):
    stacks, assembly = single_account
    spokes = [stack for key, stack in stacks.items() if key.startswith("spoke")]
    assert spokes
    for stack in spokes:
        for manifest in asset_manifests_of(assembly, stack.artifact_id):
            assert not manifest.get("files"), manifest
            assert not manifest.get("dockerImages"), manifest
        assert_needs_no_cdk_bootstrap(Template.from_stack(stack).to_json())


# ---------------------------------------------------------------- forwarding to the hub bus


def test_spoke_forwards_the_hub_rules_exact_pattern_from_the_default_bus(spoke, hub):
    rule = default_bus_rule(spoke)
    assert rule["Properties"]["EventPattern"] == hub_rule_pattern(hub)


def test_spoke_rule_targets_the_hub_bus_through_a_role_that_may_put_events_there(spoke, mlgov):
    hub_bus = f"arn:${{AWS::Partition}}:events:{mlgov['hub_region']}:{mlgov['hub_account']}:event-bus/mlgov-hub"
    (target,) = default_bus_rule(spoke)["Properties"]["Targets"]
    assert render(target["Arn"]) == hub_bus
    # Cross-region and organization-admitted cross-account bus targets need a role (EventBridge rejects them without).
    role_id, attribute = target["RoleArn"]["Fn::GetAtt"]
    assert attribute == "Arn"
    statements = [s for s in role_statements(spoke, role_id) if allows(s, "events:PutEvents")]
    assert [render(as_list(s["Resource"])) for s in statements] == [[hub_bus]]


# ---------------------------------------------------------------- the mlgov-spoke role


def test_spoke_role_is_created_only_in_the_hub_region(spoke, mlgov):
    _, role = spoke_role(spoke)
    condition = role["Condition"]
    expression = spoke.to_json()["Conditions"][condition]
    assert expression == {"Fn::Equals": [{"Ref": "AWS::Region"}, mlgov["hub_region"]]}


def test_spoke_role_trusts_only_the_hub_function_roles(spoke, mlgov):
    _, role = spoke_role(spoke)
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
    assert render(statement["Principal"]["AWS"]) == f"arn:${{AWS::Partition}}:iam::{mlgov['hub_account']}:root"
    (patterns,) = statement["Condition"]["ArnEquals"].values()
    assert list(statement["Condition"]["ArnEquals"]) == ["aws:PrincipalArn"]
    patterns = as_list(patterns)
    hub = mlgov["hub_account"]

    def trusted(arn: str) -> bool:  # ArnEquals matches each ARN component with IAM wildcards.
        return any(fnmatchcase(arn, pattern) for pattern in patterns)

    assert trusted(f"arn:aws:iam::{hub}:role/{AUTO_TAGGER_ROLE_NAME}")
    assert trusted(f"arn:aws:iam::{hub}:role/mlgov-hub-job-ledger")
    assert trusted(f"arn:aws:iam::{hub}:role/mlgov-hub-scanner")
    for other in (
        f"arn:aws:iam::{hub}:role/mlgov-hub-approval",
        f"arn:aws:iam::{hub}:role/{AUTO_TAGGER_ROLE_NAME}-copy",
        f"arn:aws:iam::{hub}:user/{AUTO_TAGGER_ROLE_NAME}",
        f"arn:aws:iam::999999999999:role/{AUTO_TAGGER_ROLE_NAME}",
    ):
        assert not trusted(other), other


def test_spoke_role_adds_only_the_auto_tagger_keys_and_the_hyperpod_saved_counts_and_schedules(spoke):
    role_id, _ = spoke_role(spoke)
    statements = role_statements(spoke, role_id)
    add_tags = {s["Sid"]: s for s in statements if allows(s, "sagemaker:AddTags")}
    assert set(add_tags) == {"AddAutoTaggerKeysOnly", "WriteSavedCountsAndSchedules"}
    assert add_tags["AddAutoTaggerKeysOnly"]["Condition"] == {
        "ForAllValues:StringLike": {"aws:TagKeys": AUTO_TAGGER_TAG_KEYS}
    }
    hyperpod = add_tags["WriteSavedCountsAndSchedules"]
    assert hyperpod["Condition"] == {
        "ForAllValues:StringEquals": {"aws:TagKeys": ["mlgov:hyperpod-saved", "mlgov:schedule"]}
    }
    scheduled = [
        f"arn:${{AWS::Partition}}:sagemaker:*:${{AWS::AccountId}}:{kind}/*"
        for kind in ("cluster", "endpoint", "inference-component")
    ]
    assert render(hyperpod["Resource"]) == scheduled
    (untag,) = [s for s in statements if allows(s, "sagemaker:DeleteTags")]
    assert untag["Condition"] == {"ForAllValues:StringEquals": {"aws:TagKeys": ["mlgov:schedule"]}}
    assert render(untag["Resource"]) == scheduled
    for key in ("mlgov:zombie", "mlgov:zombie-by", "mlgov:zombie-date"):
        assert not any(fnmatchcase(key, allowed) for allowed in AUTO_TAGGER_TAG_KEYS), key


def test_spoke_role_scales_only_clusters_that_carry_a_schedule(spoke):
    role_id, _ = spoke_role(spoke)
    (update,) = [s for s in role_statements(spoke, role_id) if allows(s, "sagemaker:UpdateCluster")]
    assert update["Condition"] == {"Null": {"aws:ResourceTag/mlgov:schedule": "false"}}
    (pass_role,) = [s for s in role_statements(spoke, role_id) if allows(s, "iam:PassRole")]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_the_spoke_role_never_passes_a_role_that_administers_the_account(spoke):
    """PassRole is allowed on the account's roles (a cluster's execution role can be any), to SageMaker only, and
    denied for mlgov's, the deployers', the Organizations admin and SSO roles — evaluated, not string-matched."""
    from mlgov.domain.iam_eval import RequestContext, evaluate

    role_id, _ = spoke_role(spoke)
    account = "333333333333"
    statements = [{**s, "Resource": render(s["Resource"])} for s in role_statements(spoke, role_id)]
    text = json.dumps({"Version": "2012-10-17", "Statement": statements})
    policy = json.loads(text.replace("${AWS::AccountId}", account).replace("${AWS::Partition}", "aws"))

    def may_pass(role: str, service: str = "sagemaker.amazonaws.com") -> bool:
        request = RequestContext(
            "iam:PassRole",
            resource=f"arn:aws:iam::{account}:role/{role}",
            context={"iam:PassedToService": service},
        )
        return evaluate({"mlgov-spoke": policy}, request, full_aws_access=False).allowed

    assert may_pass("team-fraud-hyperpod-exec") and may_pass("service-role/AmazonSageMaker-ExecutionRole-1")
    assert not may_pass("team-fraud-hyperpod-exec", "ec2.amazonaws.com")
    for role in (
        "mlgov-spoke",
        "x/mlgov-spoke-approval",
        "stacksets-exec-0123456789abcdef",
        "cdk-hnb659fds-cfn-exec-role-333333333333-us-east-1",
        "OrganizationAccountAccessRole",
        "aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_0123",
    ):
        assert not may_pass(role), role


def test_the_spoke_role_scales_only_scheduled_endpoints_and_components_and_only_sagemaker_minimums(spoke):
    """Evaluated: the scheduler may scale an endpoint or component that carries mlgov:schedule (a key the SCPs keep
    from member accounts), never an unscheduled one, and may set the minimum of SageMaker's scalable targets only."""
    from mlgov.domain.iam_eval import RequestContext, evaluate

    role_id, _ = spoke_role(spoke)
    account = "333333333333"
    statements = [{**s, "Resource": render(s["Resource"])} for s in role_statements(spoke, role_id)]
    text = json.dumps({"Version": "2012-10-17", "Statement": statements})
    policy = json.loads(text.replace("${AWS::AccountId}", account).replace("${AWS::Partition}", "aws"))

    def allowed(action: str, resource: str, context: dict) -> bool:
        request = RequestContext(action, resource=resource, context=context)
        return evaluate({"mlgov-spoke": policy}, request, full_aws_access=False).allowed

    scheduled = {"aws:ResourceTag/mlgov:schedule": "mon-fri 08:00-20:00 UTC"}
    component = f"arn:aws:sagemaker:eu-west-1:{account}:inference-component/chat"
    endpoint = f"arn:aws:sagemaker:eu-west-1:{account}:endpoint/churn"
    assert allowed("sagemaker:UpdateInferenceComponentRuntimeConfig", component, scheduled)
    assert allowed("sagemaker:UpdateEndpointWeightsAndCapacities", endpoint, scheduled)
    assert not allowed("sagemaker:UpdateInferenceComponentRuntimeConfig", component, {})
    assert not allowed("sagemaker:UpdateEndpointWeightsAndCapacities", endpoint, {"aws:ResourceTag/ml:team": "x"})
    assert not allowed("sagemaker:UpdateEndpoint", endpoint, scheduled)  # never a new config
    target = f"arn:aws:application-autoscaling:eu-west-1:{account}:scalable-target/0a1b2c3d"
    for dimension in ("sagemaker:inference-component:DesiredCopyCount", "sagemaker:variant:DesiredInstanceCount"):
        context = {"application-autoscaling:service-namespace": "sagemaker",
                   "application-autoscaling:scalable-dimension": dimension}  # fmt: skip
        assert allowed("application-autoscaling:RegisterScalableTarget", target, context), dimension
    ecs = {"application-autoscaling:service-namespace": "ecs",
           "application-autoscaling:scalable-dimension": "ecs:service:DesiredCount"}  # fmt: skip
    assert not allowed("application-autoscaling:RegisterScalableTarget", target, ecs)
    assert not allowed("application-autoscaling:DeleteScalableTarget", target, {})
    assert not allowed("application-autoscaling:PutScalingPolicy", target, {})


def test_the_spoke_role_stops_notebooks_only_when_the_platform_chose_stop_and_only_its_accounts(spoke, cdk_context):
    """Evaluated: with the default notebook_stops=report no hub function may stop a notebook; with `stop`, only the
    notebooks of the spoke's own account, and nothing else about them. The spoke synthesized for `stop` passes
    cdk-nag."""
    from stacks.config import load_config
    from stacks.org_stack import synthesize_spoke

    account = "333333333333"
    notebook = f"arn:aws:sagemaker:eu-west-1:{account}:notebook-instance/lab"

    assert not _allowed(
        _spoke_policy(spoke, account), "sagemaker:StopNotebookInstance", notebook
    )  # report: the default
    stopping = synthesize_spoke(load_config({**cdk_context["mlgov"], "notebook_stops": "stop"}))
    assert stopping.errors == ()
    policy = _spoke_policy(Template.from_json(json.loads(stopping.body)), account)
    assert _allowed(policy, "sagemaker:StopNotebookInstance", notebook)
    assert not _allowed(policy, "sagemaker:StopNotebookInstance", notebook.replace(account, "999999999999"))
    for action in ("sagemaker:DeleteNotebookInstance", "sagemaker:UpdateNotebookInstance", "sagemaker:StopTrainingJob"):
        assert not _allowed(policy, action, notebook), action


def test_the_spoke_role_deletes_studio_apps_only_when_the_platform_chose_delete_and_only_its_accounts(
    spoke, cdk_context
):
    """Evaluated: with the default studio_app_stops=report no hub function may delete a Studio app; with `delete`,
    only the apps of the spoke's own account — never their spaces, user profiles or domains. The spoke synthesized
    for `delete` passes cdk-nag."""
    from stacks.config import load_config
    from stacks.org_stack import synthesize_spoke

    account = "333333333333"
    app = f"arn:aws:sagemaker:eu-west-1:{account}:app/d-abc123/alice-space/jupyterlab/default"

    assert not _allowed(_spoke_policy(spoke, account), "sagemaker:DeleteApp", app)  # report: the default
    deleting = synthesize_spoke(load_config({**cdk_context["mlgov"], "studio_app_stops": "delete"}))
    assert deleting.errors == ()
    policy = _spoke_policy(Template.from_json(json.loads(deleting.body)), account)
    assert _allowed(policy, "sagemaker:DeleteApp", app)
    assert not _allowed(policy, "sagemaker:DeleteApp", app.replace(account, "999999999999"))
    space = f"arn:aws:sagemaker:eu-west-1:{account}:space/d-abc123/alice-space"
    for action, resource in (("sagemaker:DeleteSpace", space), ("sagemaker:DeleteDomain", space),
                             ("sagemaker:DeleteUserProfile", space), ("sagemaker:CreateApp", app)):  # fmt: skip
        assert not _allowed(policy, action, resource), action


def _spoke_policy(template: Template, account: str) -> dict:
    """The spoke role's identity policy as the member `account` sees it (its pseudo parameters resolved)."""
    role_id, _ = spoke_role(template)
    statements = [{**s, "Resource": render(s["Resource"])} for s in role_statements(template, role_id)]
    text = json.dumps({"Version": "2012-10-17", "Statement": statements})
    return json.loads(text.replace("${AWS::AccountId}", account).replace("${AWS::Partition}", "aws"))


def _allowed(policy: dict, action: str, resource: str) -> bool:
    from mlgov.domain.iam_eval import RequestContext, evaluate

    return evaluate({"spoke": policy}, RequestContext(action, resource=resource), full_aws_access=False).allowed


def test_spoke_role_can_never_delete_a_resource(spoke):
    role_id, _ = spoke_role(spoke)
    statements = role_statements(spoke, role_id)
    assert statements
    for statement in statements:
        for action in ("sagemaker:DeleteEndpoint", "sagemaker:DeleteModel", "sagemaker:DeleteCluster"):
            assert not allows(statement, action), statement
        deletes = [a for a in as_list(statement["Action"]) if a.lower().startswith("sagemaker:delete")]
        # only the schedule tag, as `mlgov hyperpod schedule --clear` asks the hub
        assert deletes in ([], ["sagemaker:DeleteTags"]), statement
        if deletes:
            assert statement["Condition"] == {"ForAllValues:StringEquals": {"aws:TagKeys": ["mlgov:schedule"]}}


# ---------------------------------------------------------------- single-account mode


def test_the_slack_endpoint_cap_is_opt_in(single_account, hub):
    stacks, _ = single_account
    slack = {"Handler": "mlgov.handlers.slack_interactions.handler"}
    _, capped = only(Template.from_stack(stacks["hub"]), "AWS::Lambda::Function", slack)
    assert capped["Properties"]["ReservedConcurrentExecutions"] == 20
    _, default = only(hub, "AWS::Lambda::Function", slack)
    assert "ReservedConcurrentExecutions" not in default["Properties"]


def test_single_account_mode_has_no_org_stack(single_account):
    stacks, assembly = single_account
    assert "org" not in stacks
    for artifact in assembly.stacks:
        types = {resource["Type"] for resource in artifact.template["Resources"].values()}
        assert not {t for t in types if t.startswith("AWS::Organizations::")}, artifact.stack_name


def test_single_account_mode_deploys_one_spoke_per_member_region_into_the_hub_account(single_account, mlgov):
    stacks, _ = single_account
    spokes = {key: stack for key, stack in stacks.items() if key.startswith("spoke")}
    assert sorted(stack.region for stack in spokes.values()) == sorted(mlgov["member_regions"])
    for stack in spokes.values():
        assert stack.account == mlgov["hub_account"]
        default_bus_rule(Template.from_stack(stack))  # each forwards to the hub bus


def test_single_account_hub_bus_admits_only_the_hub_account(single_account, mlgov):
    stacks, _ = single_account
    hub = Template.from_stack(stacks["hub"])
    bus_id, _ = only(hub, "AWS::Events::EventBus", {"Name": "mlgov-hub"})
    policies = hub.find_resources("AWS::Events::EventBusPolicy", {"Properties": {"EventBusName": {"Ref": bus_id}}})
    statements = [s for policy in policies.values() for s in as_list(policy["Properties"]["Statement"])]
    assert statements
    for statement in statements:
        assert render(statement["Principal"]["AWS"]) == f"arn:${{AWS::Partition}}:iam::{mlgov['hub_account']}:root"
        assert "aws:PrincipalOrgID" not in json.dumps(statement)


# ---------------------------------------------------------------- cdk-nag, in both modes


@pytest.fixture(scope="module", params=["organization", "single-account"])
def every_stack(request, synthesized, single_account) -> list:
    stacks, _ = synthesized if request.param == "organization" else single_account
    return list(stacks.values())


def test_cdk_nag_reports_no_unsuppressed_errors_in_any_stack(every_stack):
    for stack in every_stack:
        errors = Annotations.from_stack(stack).find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
        assert errors == [], [error.entry.data for error in errors]


def test_every_cdk_nag_suppression_gives_a_real_reason(every_stack):
    suppressions = []
    for stack in every_stack:
        template = Template.from_stack(stack).to_json()
        metadata = [template.get("Metadata", {})] + [r.get("Metadata", {}) for r in template["Resources"].values()]
        for entry in metadata:
            suppressions.extend(entry.get("cdk_nag", {}).get("rules_to_suppress", []))
    assert suppressions, "no suppressions found: is the metadata key still cdk_nag.rules_to_suppress?"
    for suppression in suppressions:
        assert len(suppression.get("reason", "").strip()) >= 20, suppression
