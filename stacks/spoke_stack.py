"""SpokeStack (every governed account and region, no code assets): forward create and job events, let the hub act."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from cdk_nag import NagSuppressions
from constructs import Construct

from stacks.config import MlgovConfig
from stacks.hub_stack import SPOKE_ROLE_NAME, hub_function_role_arns
from stacks.parts.approval_flow import APPROVAL_ROLE_NAME, APPROVAL_SPOKE_ROLE_NAME, approval_spoke_role_statements
from stacks.parts.events import HUB_BUS_NAME, create_call_patterns, doctor_probe_pattern, job_state_change_pattern
from stacks.parts.hyperpod_scheduler import hyperpod_statements
from stacks.parts.scan_workflow import archive_bucket_name
from stacks.parts.studio_idle import nag_applies_to, studio_idle_statement
from stacks.parts.tag_keys import auto_tagger_writable_keys


class SpokeStack(cdk.Stack):
    """Deployed per account and region; the IAM role (global) only in the hub region's instance."""

    def __init__(self, scope: Construct, construct_id: str, *, config: MlgovConfig, **kwargs) -> None:
        # A StackSet deploys this template into accounts that were never bootstrapped: no bootstrap-version
        # parameter or rule, and no assets (this synthesizer refuses to add any).
        kwargs.setdefault("synthesizer", cdk.BootstraplessSynthesizer())
        super().__init__(scope, construct_id, **kwargs)
        hub_bus_arn = (
            f"arn:{cdk.Aws.PARTITION}:events:{config.hub_region}:{config.hub_account}:event-bus/{HUB_BUS_NAME}"
        )
        hub_bus = events.EventBus.from_event_bus_arn(self, "HubBus", hub_bus_arn)
        for index, pattern in enumerate(create_call_patterns()):
            events.Rule(
                self,
                "ForwardCreateCalls" if index == 0 else f"ForwardCreateCalls{index + 1}",
                description="mlgov: forward successful SageMaker create calls to the hub bus",
                event_pattern=events.EventPattern(
                    source=pattern["source"], detail_type=pattern["detail-type"], detail=pattern["detail"]
                ),
                targets=[targets.EventBus(hub_bus)],
            )
        for rule_id, description, pattern in (
            (
                "ForwardJobStateChanges",
                "mlgov: forward training, processing and transform job state changes to the hub bus",
                job_state_change_pattern(),
            ),
            (
                "ForwardDoctorProbes",
                "mlgov: forward mlgov doctor's probe events to the hub bus (an end-to-end delivery check)",
                doctor_probe_pattern(),
            ),
        ):
            events.Rule(
                self,
                rule_id,
                description=description,
                event_pattern=events.EventPattern(source=pattern["source"], detail_type=pattern["detail-type"]),
                targets=[targets.EventBus(hub_bus)],
            )
        in_role_region = cdk.CfnCondition(
            self, "IsRoleRegion", expression=cdk.Fn.condition_equals(cdk.Aws.REGION, config.hub_region)
        )
        role = iam.Role(
            self,
            "SpokeRole",
            role_name=SPOKE_ROLE_NAME,
            description="mlgov hub functions: read SageMaker resources and add mlgov's tags (never overwrite)",
            assumed_by=iam.AccountPrincipal(config.hub_account).with_conditions(
                {"ArnEquals": {"aws:PrincipalArn": hub_function_role_arns(config)}}
            ),
            inline_policies={"mlgov-spoke": self._spoke_policy(config)},
            max_session_duration=cdk.Duration.hours(1),
        )
        role.node.default_child.cfn_options.condition = in_role_region
        self._approval_role(config, in_role_region)
        NagSuppressions.add_resource_suppressions(
            role,
            [
                {
                    "id": "AwsSolutions-IAM5",
                    "reason": "Read and tag any SageMaker resource of this account in any governed region (List*, "
                    "Search and GetMetricData have no resource-level permissions; HyperPod clusters and their "
                    "execution roles are "
                    "unknown at synth, UpdateCluster, UpdateEndpointWeightsAndCapacities and "
                    "UpdateInferenceComponentRuntimeConfig only on resources tagged mlgov:schedule, "
                    "RegisterScalableTarget only on SageMaker's scalable dimensions: scalable-target ARNs carry a "
                    "generated id; StopNotebookInstance on the account's notebooks and DeleteApp on its "
                    "Studio apps (unknown at synth), after a warning); UpdateDomain (studio_idle_shutdown=apply) "
                    "on the account's Studio domains in the governed regions, whose ids are generated; AddTags is "
                    "limited by aws:TagKeys to the keys the auto-tagger writes.",
                    "appliesTo": [
                        "Action::sagemaker:Describe*",
                        "Action::sagemaker:List*",
                        "Resource::*",
                        "Resource::arn:<AWS::Partition>:sagemaker:*:<AWS::AccountId>:cluster/*",
                        "Resource::arn:<AWS::Partition>:sagemaker:*:<AWS::AccountId>:endpoint/*",
                        "Resource::arn:<AWS::Partition>:sagemaker:*:<AWS::AccountId>:inference-component/*",
                        "Resource::arn:<AWS::Partition>:sagemaker:*:<AWS::AccountId>:notebook-instance/*",
                        "Resource::arn:<AWS::Partition>:sagemaker:*:<AWS::AccountId>:app/*",
                        "Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/*",
                        "Resource::arn:<AWS::Partition>:sagemaker:*:<AWS::AccountId>:*",
                        *(nag_applies_to(config.member_regions) if config.studio_idle_shutdown == "apply" else []),
                    ],
                }
            ],
        )

    def _approval_role(self, config: MlgovConfig, in_role_region: cdk.CfnCondition) -> None:
        """`mlgov-spoke-approval`: trusted only by the hub's approval flow; the only role that may delete."""
        partition = cdk.Aws.PARTITION
        archive_arn = f"arn:{partition}:s3:::{archive_bucket_name(config)}"
        key_arn = f"arn:{partition}:kms:{config.hub_region}:{config.hub_account}:key/*"
        role = iam.Role(
            self,
            "ApprovalRole",
            role_name=APPROVAL_SPOKE_ROLE_NAME,
            description="mlgov approval flow: snapshot, approval tags, delete endpoints tagged mlgov:zombie=confirmed",
            assumed_by=iam.AccountPrincipal(config.hub_account).with_conditions(
                {"ArnEquals": {"aws:PrincipalArn": [f"arn:*:iam::{config.hub_account}:role/{APPROVAL_ROLE_NAME}"]}}
            ),
            inline_policies={
                "mlgov-spoke-approval": iam.PolicyDocument(
                    statements=approval_spoke_role_statements(
                        partition, cdk.Aws.ACCOUNT_ID, archive_bucket_arn=archive_arn, archive_key_arn=key_arn
                    )
                )
            },
            max_session_duration=cdk.Duration.hours(1),
        )
        role.node.default_child.cfn_options.condition = in_role_region
        NagSuppressions.add_resource_suppressions(
            role,
            [
                {
                    "id": "AwsSolutions-IAM5",
                    "reason": "Model artifacts live in any bucket the account's models name, endpoints are unknown at "
                    "synth (DeleteEndpoint only with mlgov:zombie=confirmed), snapshots go under the archive's "
                    "snapshots/ prefix encrypted with the hub archive key, whose id is generated.",
                }
            ],
        )

    def _spoke_policy(self, config: MlgovConfig) -> iam.PolicyDocument:
        own_resources = f"arn:{cdk.Aws.PARTITION}:sagemaker:*:{cdk.Aws.ACCOUNT_ID}:*"
        return iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="ReadSageMaker",
                    actions=["sagemaker:ListTags", "sagemaker:Describe*"],
                    resources=[own_resources],
                ),
                iam.PolicyStatement(
                    sid="ListSageMakerAndReadUsageMetrics",  # no resource-level permissions exist for these
                    actions=["sagemaker:List*", "sagemaker:Search", "cloudwatch:GetMetricData"],
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="AddAutoTaggerKeysOnly",
                    actions=["sagemaker:AddTags"],
                    resources=[own_resources],
                    conditions={"ForAllValues:StringLike": {"aws:TagKeys": list(auto_tagger_writable_keys())}},
                ),
                *hyperpod_statements(cdk.Aws.PARTITION, cdk.Aws.ACCOUNT_ID),
                *(
                    [
                        iam.PolicyStatement(
                            sid="StopIdleNotebooks",  # the hub stops only after a warning
                            actions=["sagemaker:StopNotebookInstance"],
                            resources=[f"arn:{cdk.Aws.PARTITION}:sagemaker:*:{cdk.Aws.ACCOUNT_ID}:notebook-instance/*"],
                        )
                    ]
                    if config.notebook_stops == "stop"
                    else []
                ),
                *(
                    [
                        iam.PolicyStatement(
                            sid="DeleteIdleStudioApps",  # the hub deletes only after a warning; spaces are kept
                            actions=["sagemaker:DeleteApp"],
                            resources=[f"arn:{cdk.Aws.PARTITION}:sagemaker:*:{cdk.Aws.ACCOUNT_ID}:app/*"],
                        )
                    ]
                    if config.studio_app_stops == "delete"
                    else []
                ),
                *(
                    [
                        studio_idle_statement(  # only IdleSettings: services.studio_idle builds the request
                            "SwitchOnStudioIdleShutdown", cdk.Aws.PARTITION, cdk.Aws.ACCOUNT_ID, config.member_regions
                        )
                    ]
                    if config.studio_idle_shutdown == "apply"
                    else []
                ),
            ]
        )
