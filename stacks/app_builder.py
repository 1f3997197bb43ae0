"""Builds every mlgov stack on a CDK app from the validated config (shared by app.py and the tests)."""

from __future__ import annotations

import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from mlgov.deployment_context import BOOTSTRAP_QUALIFIER_KEY
from stacks.config import MlgovConfig, load_config
from stacks.hub_stack import HubStack
from stacks.org_stack import ORG_POLICY_REGIONS, SPOKE_DESCRIPTION, OrgStack, compile_org_policies
from stacks.spoke_stack import SpokeStack


def build_app(app: cdk.App, config: MlgovConfig | None = None, nag: bool = True) -> dict[str, cdk.Stack]:
    """Instantiate the stacks for `config` (default: cdk.json context 'mlgov'); raises ConfigError."""
    config = config or load_config(app.node.try_get_context("mlgov"))
    stacks: dict[str, cdk.Stack] = {}
    if config.org_mode:
        region = ORG_POLICY_REGIONS.get(_partition(config.hub_region), "us-east-1")
        stacks["org"] = OrgStack(
            app,
            "MlgovOrg",
            config=config,
            nag=nag,
            env=cdk.Environment(account=config.management_account, region=region),
            description="mlgov: SageMaker tag SCPs, tag policy and the spoke StackSet for the target OUs",
        )
    else:
        compilation = compile_org_policies(config, app.node.try_get_context(BOOTSTRAP_QUALIFIER_KEY))
        print(
            f"mlgov: single-account mode: {len(compilation.scps)} SCPs are not attached; "
            "see policies/scp/*.json and `mlgov policies build`",
            file=sys.stderr,
        )
    stacks["hub"] = HubStack(
        app,
        "MlgovHub",
        config=config,
        env=cdk.Environment(account=config.hub_account, region=config.hub_region),
        description="mlgov hub: org event bus, auto-tagger",
    )
    # Org mode: no spoke stack in this app (`cdk deploy --all` would put it into the management account); the
    # OrgStack's StackSet embeds it (stacks.org_stack.spoke_template_body).
    if not config.org_mode:
        for region in config.member_regions:
            stacks[f"spoke-{region}"] = SpokeStack(
                app,
                f"MlgovSpoke-{region}",
                config=config,
                env=cdk.Environment(account=config.hub_account, region=region),
                description=SPOKE_DESCRIPTION,
            )
    if "org" in stacks:
        # `cdk deploy --all`: the hub bus exists before the StackSet's spokes forward events to it.
        stacks["org"].add_stack_dependency(stacks["hub"], "the spokes forward events to the hub bus")
    if nag:
        cdk.Aspects.of(app).add(AwsSolutionsChecks(verbose=True))
    return stacks


def _partition(region: str) -> str:
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws"
