"""OrgStack (management account): the tag SCPs and the tag policy, attached to the target OUs."""

from __future__ import annotations

from functools import cache

import aws_cdk as cdk
from aws_cdk import aws_organizations as organizations
from constructs import Construct

from mlgov.aws.service_catalog import load_service_catalog
from mlgov.domain.scp_compiler import Compilation, compile_policies
from mlgov.repo_files import DEFAULT_POLICIES_DIR, load_schema
from stacks.config import MlgovConfig

# Organizations is a global service whose CloudFormation resources are deployed from one region per partition.
ORG_POLICY_REGIONS = {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1", "aws-cn": "cn-northwest-1"}


def compile_org_policies(config: MlgovConfig) -> Compilation:
    """The SCPs for this deployment: the schema's exempt principals plus the config's own."""
    return _compile(tuple(config.exempt_principals))


@cache
def _compile(extra_exempt: tuple[str, ...]) -> Compilation:
    schema = load_schema(DEFAULT_POLICIES_DIR / "tag_schema.json")
    return compile_policies(schema, load_service_catalog(), extra_exempt)


class OrgStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: MlgovConfig, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        compilation = compile_org_policies(config)
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
        cdk.CfnOutput(self, "ScpNames", value=",".join(scp.name for scp in compilation.scps))


def _construct_id(policy_name: str) -> str:
    return "".join(part.capitalize() for part in policy_name.split("-"))
