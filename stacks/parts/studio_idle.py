"""What switching on Studio idle shutdown (config studio_idle_shutdown: apply) grants: UpdateDomain on one account's
domains in the governed regions — the spoke role in members, the hub scanner's own role in the hub account."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam


def studio_domain_arns(partition: str, account: str, regions: Sequence[str]) -> list[str]:
    """UpdateDomain's only resource type is `domain`, `arn:${Partition}:sagemaker:${Region}:${Account}:domain/${Id}`
    (Service Authorization Reference); domain ids are generated, so the id is the only wildcard."""
    return [f"arn:{partition}:sagemaker:{region}:{account}:domain/*" for region in regions]


def studio_idle_statement(sid: str, partition: str, account: str, regions: Sequence[str]) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid=sid, actions=["sagemaker:UpdateDomain"], resources=studio_domain_arns(partition, account, regions)
    )


def nag_applies_to(regions: Sequence[str]) -> list[str]:
    """cdk-nag's IAM5 finding names for the domain ARNs above, as the spoke template renders them."""
    return [f"Resource::arn:<AWS::Partition>:sagemaker:{region}:<AWS::AccountId>:domain/*" for region in regions]
