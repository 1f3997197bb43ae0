"""OrgStack (management account): the tag SCPs, the tag policy and the spoke StackSet, aimed at the target OUs."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from functools import cache

import aws_cdk as cdk
from aws_cdk import aws_organizations as organizations
from aws_cdk import cx_api
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

from mlgov.deployment_context import BOOTSTRAP_QUALIFIER_KEY, policy_principals
from mlgov.domain.principals import PolicyPrincipals
from mlgov.domain.scp_compiler import Compilation, compile_policies
from mlgov.repo_files import DEFAULT_POLICIES_DIR, load_schema
from mlgov.service_catalog import load_service_catalog
from stacks.config import MlgovConfig
from stacks.spoke_stack import SpokeStack

# Organizations is a global service whose CloudFormation resources are deployed from one region per partition.
ORG_POLICY_REGIONS = {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1", "aws-cn": "cn-northwest-1"}

SPOKE_STACK_SET_NAME = "mlgov-spoke"
SPOKE_STACK_ID = "MlgovSpoke"
SPOKE_DESCRIPTION = "mlgov spoke: event forwarding and the mlgov-spoke role"
# AWS::CloudFormation::StackSet TemplateBody: "a maximum length of 51,200 bytes" (the resource schema's maxLength).
TEMPLATE_BODY_MAX_BYTES = 51_200
STACK_SET_TYPE = "AWS::CloudFormation::StackSet"


class SpokeTemplateTooLargeError(ValueError):
    """The synthesized spoke template does not fit in the StackSet's TemplateBody; str() is one line."""


@dataclass(frozen=True)
class SpokeSynthesis:
    """The SpokeStack template as the StackSet embeds it, and what cdk-nag and CDK said about it."""

    body: str  # compact JSON, exactly the StackSet's TemplateBody
    errors: tuple[str, ...]  # "<message> [<construct path>]": unsuppressed cdk-nag errors, other synth errors
    warnings: tuple[str, ...]

    @property
    def size_bytes(self) -> int:
        return len(self.body.encode("utf-8"))


def compile_org_policies(config: MlgovConfig, cdk_qualifier: str | None = None) -> Compilation:
    """The SCPs for this deployment — the same compilation `mlgov policies build` checks in from cdk.json."""
    return _compile(policy_principals(config.model_dump(mode="json"), cdk_qualifier))


@cache
def _compile(principals: PolicyPrincipals) -> Compilation:
    schema = load_schema(DEFAULT_POLICIES_DIR / "tag_schema.json")
    return compile_policies(schema, load_service_catalog(), principals)


def spoke_template_body(config: MlgovConfig) -> dict:
    """The spoke template exactly as the OrgStack's StackSet embeds it (parsed TemplateBody)."""
    return json.loads(synthesize_spoke(config).body)


def spoke_template_from_org_template(org_template: dict) -> dict:
    """The spoke template read back from a synthesized MlgovOrg template (its mlgov-spoke StackSet's TemplateBody)."""
    stack_sets = [
        resource["Properties"]
        for resource in org_template.get("Resources", {}).values()
        if resource["Type"] == STACK_SET_TYPE and resource["Properties"].get("StackSetName") == SPOKE_STACK_SET_NAME
    ]
    if len(stack_sets) != 1:
        raise ValueError(f"expected one {STACK_SET_TYPE} named {SPOKE_STACK_SET_NAME}, found {len(stack_sets)}")
    return json.loads(stack_sets[0]["TemplateBody"])


@cache
def synthesize_spoke(config: MlgovConfig, nag: bool = True) -> SpokeSynthesis:
    """Synthesize the real SpokeStack for `config` in a private app (cdk-nag applied unless `nag` is False).

    A private app, not a stack of the deployed app: `cdk deploy --all` from the management account must not
    deploy the spoke there. Path metadata and version reporting are off: member accounts gain nothing from them
    and the TemplateBody is size-limited, so the body is the same under the CLI and in tests. (The CLI's context,
    CDK_CONTEXT_JSON, still reaches this app: feature flags added to cdk.json apply to the spoke too.)
    """
    with tempfile.TemporaryDirectory(prefix="mlgov-spoke-") as outdir:
        app = cdk.App(
            outdir=outdir,
            auto_synth=False,  # under the CLI (CDK_OUTDIR set) an app would otherwise synthesize again at exit
            analytics_reporting=False,
            tree_metadata=False,
            post_cli_context={"aws:cdk:enable-path-metadata": False},
        )
        stack = SpokeStack(app, SPOKE_STACK_ID, config=config, description=SPOKE_DESCRIPTION)
        if nag:
            cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True, reports=False))
        artifact = app.synth().get_stack_artifact(stack.artifact_id)
        template = artifact.template
        messages = [(message.level, f"{message.entry.data} [{message.id}]") for message in artifact.messages]
    return SpokeSynthesis(
        body=json.dumps(template, separators=(",", ":")),
        errors=tuple(text for level, text in messages if level == cx_api.SynthesisMessageLevel.ERROR),
        warnings=tuple(text for level, text in messages if level == cx_api.SynthesisMessageLevel.WARNING),
    )


class OrgStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: MlgovConfig, nag: bool = True, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        compilation = compile_org_policies(config, self.node.try_get_context(BOOTSTRAP_QUALIFIER_KEY))
        targets = list(config.target_ous)
        for scp in compilation.scps:
            organizations.CfnPolicy(
                self,
                _construct_id(scp.name),
                name=scp.name,
                type="SERVICE_CONTROL_POLICY",
                description=scp.description,
                content=scp.document,
                target_ids=targets,
            )
        organizations.CfnPolicy(
            self,
            "TagPolicy",
            name="mlgov-tag-policy",
            type="TAG_POLICY",
            description="mlgov: capitalisation and allowed values of the required SageMaker tags",
            content=compilation.tag_policy,
            target_ids=targets,
        )
        self._spoke_stack_set(config, nag)
        cdk.CfnOutput(self, "ScpNames", value=",".join(scp.name for scp in compilation.scps))

    def _spoke_stack_set(self, config: MlgovConfig, nag: bool) -> None:
        """Service-managed StackSet: the spoke in every account of the target OUs (new ones too), every member
        region. Never in the management account itself: service-managed StackSets do not deploy there."""
        spoke = synthesize_spoke(config, nag)
        if spoke.size_bytes > TEMPLATE_BODY_MAX_BYTES:
            raise SpokeTemplateTooLargeError(
                f"the spoke template is {spoke.size_bytes} bytes, over the {TEMPLATE_BODY_MAX_BYTES}-byte limit of "
                f"the {SPOKE_STACK_SET_NAME} StackSet's TemplateBody: shrink stacks/spoke_stack.py"
            )
        stack_set = cdk.CfnStackSet(
            self,
            "SpokeStackSet",
            stack_set_name=SPOKE_STACK_SET_NAME,
            description=SPOKE_DESCRIPTION,
            permission_model="SERVICE_MANAGED",
            call_as="SELF",  # deployed from the management account, not from a delegated administrator
            auto_deployment=cdk.CfnStackSet.AutoDeploymentProperty(
                enabled=True, retain_stacks_on_account_removal=False
            ),
            capabilities=["CAPABILITY_NAMED_IAM"],  # the spoke's roles have fixed names the hub assumes
            managed_execution={"Active": True},
            operation_preferences=cdk.CfnStackSet.OperationPreferencesProperty(
                region_concurrency_type="PARALLEL",
                # Up to a quarter of the accounts at once per region; an operation stops in a region once more
                # than a tenth of its accounts failed (a systematic error shows early, a flaky account does not
                # block the rest). Does not apply to automatic deployments to new accounts.
                concurrency_mode="SOFT_FAILURE_TOLERANCE",
                max_concurrent_percentage=25,
                failure_tolerance_percentage=10,
            ),
            stack_instances_group=[
                cdk.CfnStackSet.StackInstancesProperty(
                    deployment_targets=cdk.CfnStackSet.DeploymentTargetsProperty(
                        organizational_unit_ids=list(config.target_ous)
                    ),
                    regions=list(config.member_regions),
                )
            ],
            template_body=spoke.body,
        )
        # What cdk-nag (and CDK) reported on the private spoke synthesis fails or warns this synth like any stack's.
        for error in spoke.errors:
            cdk.Annotations.of(stack_set).add_error(error)
        for index, warning in enumerate(spoke.warnings):
            cdk.Annotations.of(stack_set).add_warning_v2(f"mlgov:spoke-template-{index}", warning)


def _construct_id(policy_name: str) -> str:
    return "".join(part.capitalize() for part in policy_name.split("-"))
