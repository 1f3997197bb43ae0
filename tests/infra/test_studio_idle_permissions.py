"""Studio idle shutdown's permissions, evaluated on the synthesized roles (mlgov.domain.iam_eval): UpdateDomain exists
only with studio_idle_shutdown=apply — on the spoke role for its own account's domains in the governed regions, on
the hub scanner's own role for the hub account's — never for another account, another region or any other Studio
write; only the hub's function roles may assume the spoke role (an attacker role, in the hub account or a member,
cannot); the scanner gets the mode and minutes; the spokes synthesized for apply pass cdk-nag."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Template

from mlgov.domain.iam_eval import RequestContext, evaluate, resource_policy_allows
from tests.infra.template_helpers import concrete, only, render, rendered, role_statements

MEMBER = "333333333333"


@pytest.fixture(scope="module")
def mlgov(cdk_context) -> dict:
    return cdk_context["mlgov"]


@pytest.fixture(scope="module")
def applying_spoke(mlgov) -> Template:
    from stacks.config import load_config
    from stacks.org_stack import synthesize_spoke

    synthesized = synthesize_spoke(load_config({**mlgov, "studio_idle_shutdown": "apply", "studio_idle_minutes": 120}))
    assert synthesized.errors == ()  # cdk-nag: the domain wildcards are suppressed with appliesTo entries
    return Template.from_json(json.loads(synthesized.body))


@pytest.fixture(scope="module")
def applying_single_account_hub(cdk_context, tmp_path_factory) -> Template:
    import aws_cdk as cdk

    from stacks.app_builder import build_app
    from tests.infra.conftest import ORG_ONLY_KEYS

    context = json.loads(json.dumps(cdk_context))
    for key in ORG_ONLY_KEYS:
        context["mlgov"].pop(key, None)
    context["mlgov"].update(studio_idle_shutdown="apply", studio_idle_minutes=120)
    app = cdk.App(context=context, outdir=str(tmp_path_factory.mktemp("cdk.out")))
    return Template.from_stack(build_app(app)["hub"])


def spoke_policy(template: Template, account: str = MEMBER) -> dict:
    role_id, _ = only(template, "AWS::IAM::Role", {"RoleName": "mlgov-spoke"})
    statements = [{**s, "Resource": render(s["Resource"])} for s in role_statements(template, role_id)]
    text = json.dumps({"Version": "2012-10-17", "Statement": statements})
    return json.loads(text.replace("${AWS::AccountId}", account).replace("${AWS::Partition}", "aws"))


def scanner_policy(template: Template) -> dict:
    role_id, _ = only(template, "AWS::IAM::Role", {"RoleName": "mlgov-hub-scanner"})
    statements = [{**s, "Resource": rendered(s["Resource"])} for s in role_statements(template, role_id)]
    text = json.dumps({"Version": "2012-10-17", "Statement": statements}).replace("${AWS::Partition}", "aws")
    return concrete(json.loads(text))


def allowed(policy: dict, action: str, resource: str) -> bool:
    return evaluate({"role": policy}, RequestContext(action, resource=resource), full_aws_access=False).allowed


def domain(account: str, region: str = "eu-west-1") -> str:
    return f"arn:aws:sagemaker:{region}:{account}:domain/d-research01"


@pytest.fixture(scope="module")
def spoke(spoke_template) -> Template:
    return spoke_template  # org mode, the real cdk.json: studio_idle_shutdown absent, so report


def test_report_mode_grants_no_studio_write_to_any_role(spoke, synthesized, mlgov):
    stacks, _ = synthesized
    policy, scanner = spoke_policy(spoke), scanner_policy(Template.from_stack(stacks["hub"]))
    hub = mlgov["hub_account"]
    assert allowed(policy, "sagemaker:DescribeDomain", domain(MEMBER))  # the dry run reads, as the scan does
    assert allowed(scanner, "sagemaker:DescribeDomain", domain(hub))
    for action in ("sagemaker:UpdateDomain", "sagemaker:UpdateUserProfile", "sagemaker:UpdateSpace"):
        assert not allowed(policy, action, domain(MEMBER)), action
        assert not allowed(scanner, action, domain(hub)), action


def test_apply_lets_the_spoke_role_update_its_own_accounts_domains_in_the_governed_regions_only(applying_spoke, mlgov):
    policy = spoke_policy(applying_spoke)

    for region in mlgov["member_regions"]:
        assert allowed(policy, "sagemaker:UpdateDomain", domain(MEMBER, region)), region
    assert not allowed(policy, "sagemaker:UpdateDomain", domain("999999999999"))  # another account's domain
    assert not allowed(policy, "sagemaker:UpdateDomain", domain(MEMBER, "ap-south-1"))  # a region not governed
    user_profile = f"arn:aws:sagemaker:eu-west-1:{MEMBER}:user-profile/d-research01/alice"
    assert not allowed(policy, "sagemaker:UpdateUserProfile", user_profile)  # overrides are reported, not changed
    for action in ("sagemaker:DeleteDomain", "sagemaker:UpdateSpace", "sagemaker:CreatePresignedDomainUrl"):
        assert not allowed(policy, action, domain(MEMBER)), action


def test_only_the_hub_functions_assume_the_spoke_role_an_attacker_role_cannot(applying_spoke, mlgov):
    _, role = only(applying_spoke, "AWS::IAM::Role", {"RoleName": "mlgov-spoke"})
    trust = json.loads(json.dumps(rendered(role["Properties"]["AssumeRolePolicyDocument"])).replace(
        "${AWS::Partition}", "aws"))  # fmt: skip
    hub = mlgov["hub_account"]

    def may_assume(principal: str) -> bool:
        return resource_policy_allows(trust, RequestContext("sts:AssumeRole", principal_arn=principal))

    assert may_assume(f"arn:aws:iam::{hub}:role/mlgov-hub-scanner")
    assert may_assume(f"arn:aws:sts::{hub}:assumed-role/mlgov-hub-scanner/mlgov-scanner")
    for attacker in (
        "arn:aws:iam::222222222222:role/attacker",  # in the hub account of this cdk.json, not a hub function
        f"arn:aws:sts::{hub}:assumed-role/attacker/mlgov-scanner",  # the scanner's session name proves nothing
        f"arn:aws:iam::{MEMBER}:role/attacker",  # a member account's role
        f"arn:aws:iam::{MEMBER}:role/mlgov-hub-scanner",  # the scanner's name in a member account
    ):
        assert not may_assume(attacker), attacker


def test_apply_lets_the_hub_scanner_update_only_the_hub_accounts_domains(applying_single_account_hub, mlgov):
    scanner = scanner_policy(applying_single_account_hub)
    hub = mlgov["hub_account"]

    assert allowed(scanner, "sagemaker:UpdateDomain", domain(hub))
    assert allowed(scanner, "sagemaker:UpdateDomain", domain(hub, "us-east-1"))
    assert not allowed(scanner, "sagemaker:UpdateDomain", domain(MEMBER))  # members: through their spoke role only
    assert not allowed(scanner, "sagemaker:UpdateDomain", domain(hub, "ap-south-1"))
    assert not allowed(scanner, "sagemaker:UpdateUserProfile", f"arn:aws:sagemaker:eu-west-1:{hub}:user-profile/d-x/a")


def test_the_scanner_gets_the_mode_and_the_minutes(applying_single_account_hub, synthesized):
    handler = {"Handler": "mlgov.handlers.scanner.handler"}
    _, applying = only(applying_single_account_hub, "AWS::Lambda::Function", handler)
    variables = applying["Properties"]["Environment"]["Variables"]
    assert (variables["MLGOV_STUDIO_IDLE_SHUTDOWN"], variables["MLGOV_STUDIO_IDLE_MINUTES"]) == ("apply", "120")
    stacks, _ = synthesized
    _, default = only(Template.from_stack(stacks["hub"]), "AWS::Lambda::Function", handler)
    variables = default["Properties"]["Environment"]["Variables"]
    assert (variables["MLGOV_STUDIO_IDLE_SHUTDOWN"], variables["MLGOV_STUDIO_IDLE_MINUTES"]) == ("report", "60")
