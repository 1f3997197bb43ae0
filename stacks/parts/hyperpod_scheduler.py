"""HyperPod on/off scheduling: a Lambda on its own EventBridge Scheduler rate, and the table of saved counts."""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from cdk_nag import NagSuppressions
from constructs import Construct

from mlgov.domain.preflight import HYPERPOD_FUNCTION_NAME
from mlgov.domain.principals import HUB_HYPERPOD_ROLE, SPOKE_ROLE
from mlgov.domain.schedules import SCHEDULE_TAG, SCHEDULER_PASS_KEY
from stacks.config import MlgovConfig
from stacks.parts.functions import MlgovFunction
from stacks.parts.tables import state_table

HYPERPOD_ROLE_NAME = HUB_HYPERPOD_ROLE
SPOKE_ROLE_NAME = SPOKE_ROLE
# Roles no HyperPod cluster should run as (best effort: the well-known administrative names): mlgov's own, StackSet,
# CDK and AFT deployers, the Organizations / Control Tower admin roles, IAM Identity Center (SSO) and service-linked.
NEVER_PASSED_ROLES = (
    "mlgov-*",
    "*/mlgov-*",
    "stacksets-exec-*",
    "cdk-*",
    "OrganizationAccountAccessRole",
    "AWSControlTowerExecution",
    "AWSCloudFormationStackSetExecutionRole",
    "AWSAFTExecution",
    "AWSAFTService",
    "aws-reserved/*",
    "aws-service-role/*",
)


class HyperPodScheduler(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: MlgovConfig) -> None:
        super().__init__(scope, construct_id)
        self.state_table = state_table(self, "StateTable", key="pk")  # saved counts a scale-up restores
        # Single account: the hub's. Org mode: every account below the target OUs, listed at each pass.
        targets = {"regions": list(config.member_regions)}
        if config.single_account:
            targets["accounts"] = [config.hub_account]
        organization = (
            {
                "MLGOV_TARGET_OUS": json.dumps(list(config.target_ous)),
                "MLGOV_MANAGEMENT_ACCOUNT": str(config.management_account),
            }
            if config.org_mode
            else {}
        )
        scheduler_function = MlgovFunction(
            self,
            "Scheduler",
            name="hyperpod_scheduler",
            role_name=HYPERPOD_ROLE_NAME,
            function_name=HYPERPOD_FUNCTION_NAME,  # `mlgov hyperpod schedule` invokes it by this name
            description="mlgov scheduler: scales HyperPod clusters, endpoints and inference components down off-hours "
            "and back to their saved counts",
            environment={
                "MLGOV_HUB_ACCOUNT": config.hub_account,
                "MLGOV_SPOKE_ROLE": SPOKE_ROLE_NAME,
                "MLGOV_HYPERPOD_STATE_TABLE": self.state_table.table_name,
                "MLGOV_TARGETS": json.dumps(targets),
                "MLGOV_HYPERPOD_APPLY": "false",  # dry run until the platform team opts in (see README)
                **organization,
            },
            timeout=cdk.Duration.minutes(5),
        )
        self.function = scheduler_function.function
        # Two overlapping passes could both scale down before either records its action: a pass holds the state
        # table's pass item instead of a reserved concurrency of 1 (any reservation fails the deploy in an account
        # whose concurrency quota is under 101, as new accounts' often is).
        role = scheduler_function.role
        # Scan: the endpoints and components to schedule are the table's records (set through the hub)
        self.state_table.grant(role, "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Scan")
        role.add_to_policy(
            iam.PolicyStatement(
                sid="TakeAndReleaseThePassItemOnly",  # Put/Delete never touch a cluster's saved counts
                actions=["dynamodb:PutItem", "dynamodb:DeleteItem"],
                resources=[self.state_table.table_arn],
                conditions={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [SCHEDULER_PASS_KEY]}},
            )
        )
        partition, account = cdk.Aws.PARTITION, config.hub_account
        for statement in hyperpod_statements(partition, account):
            role.add_to_policy(statement)
        if config.org_mode:
            role.add_to_policy(
                iam.PolicyStatement(
                    sid="ListGovernedAccounts",  # no resource types: Resource must be *
                    actions=["organizations:ListAccountsForParent", "organizations:ListOrganizationalUnitsForParent"],
                    resources=["*"],
                )
            )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="AssumeSpokeRoles",
                actions=["sts:AssumeRole"],
                resources=[f"arn:{partition}:iam::*:role/{SPOKE_ROLE_NAME}"],
            )
        )
        NagSuppressions.add_resource_suppressions(
            role,
            [
                {
                    "id": "AwsSolutions-IAM5",
                    "reason": "ListClusters has no resource-level permission; clusters and their execution roles "
                    "are not known at synth (UpdateCluster and the endpoint and inference-component updates are "
                    "limited to resources tagged mlgov:schedule; RegisterScalableTarget to SageMaker's scalable "
                    "dimensions, whose target ARNs carry a generated id); the "
                    "spoke role has the same name in every member account; parking invokes the approval function "
                    "and its versions (<arn>:*, CDK grant_invoke) only.",
                }
            ],
            apply_to_children=True,
        )
        self._schedule(config)

    def admit_parking(self, state_machine, approval_function) -> None:
        """`park` schedules: the scheduler starts the approval state machine (snapshot, verify, delete) and invokes
        the approval function's `unpark` task; it never deletes or creates an endpoint itself."""
        self.function.add_environment("MLGOV_APPROVAL_STATE_MACHINE_ARN", state_machine.state_machine_arn)
        self.function.add_environment("MLGOV_APPROVAL_FUNCTION", approval_function.function_name)
        state_machine.grant_start_execution(self.function.role)
        approval_function.grant_invoke(self.function.role)

    def _schedule(self, config: MlgovConfig) -> None:
        role = iam.Role(
            self,
            "ScheduleRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}}
            ),
            description="EventBridge Scheduler runs the mlgov HyperPod scheduler",
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[self.function.function_arn])
        )
        minutes = config.hyperpod_schedule_minutes
        scheduler.CfnSchedule(
            self,
            "Schedule",
            name="mlgov-hyperpod",
            description="mlgov: evaluate HyperPod cluster schedules",
            schedule_expression=f"rate({minutes} minute{'s' if minutes != 1 else ''})",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.function.function_arn,
                role_arn=role.role_arn,
                input="{}",
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(maximum_retry_attempts=0),
            ),
        )


def hyperpod_statements(partition: str, account: str) -> list[iam.PolicyStatement]:
    """What scaling HyperPod clusters, endpoints and inference components needs in one account (the hub's own role,
    and the spoke role in members)."""
    scheduled = [
        f"arn:{partition}:sagemaker:*:{account}:{kind}/*" for kind in ("cluster", "endpoint", "inference-component")
    ]
    return [
        iam.PolicyStatement(sid="ListClusters", actions=["sagemaker:ListClusters"], resources=["*"]),
        iam.PolicyStatement(
            sid="ReadClusters",
            actions=["sagemaker:DescribeCluster", "sagemaker:ListTags"],
            resources=[f"arn:{partition}:sagemaker:*:{account}:cluster/*"],
        ),
        iam.PolicyStatement(
            sid="ScaleScheduledClustersOnly",
            actions=["sagemaker:UpdateCluster"],
            resources=[f"arn:{partition}:sagemaker:*:{account}:cluster/*"],
            conditions={"Null": {"aws:ResourceTag/mlgov:schedule": "false"}},
        ),
        iam.PolicyStatement(
            sid="WriteSavedCountsAndSchedules",  # schedules only as `mlgov schedules set` asks the hub
            actions=["sagemaker:AddTags"],
            resources=scheduled,
            conditions={"ForAllValues:StringEquals": {"aws:TagKeys": ["mlgov:hyperpod-saved", SCHEDULE_TAG]}},
        ),
        iam.PolicyStatement(
            sid="ClearSchedules",
            actions=["sagemaker:DeleteTags"],
            resources=scheduled,
            conditions={"ForAllValues:StringEquals": {"aws:TagKeys": [SCHEDULE_TAG]}},
        ),
        iam.PolicyStatement(
            sid="ReadEndpointsAndComponents",
            actions=["sagemaker:DescribeEndpoint", "sagemaker:DescribeInferenceComponent", "sagemaker:ListTags"],
            resources=scheduled[1:],
        ),
        iam.PolicyStatement(
            sid="ListComponentsAndScalableTargets",  # no resource types: Resource must be *
            actions=["sagemaker:ListInferenceComponents", "application-autoscaling:DescribeScalableTargets"],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="ScaleScheduledEndpointsAndComponentsOnly",
            actions=["sagemaker:UpdateEndpointWeightsAndCapacities", "sagemaker:UpdateInferenceComponentRuntimeConfig"],
            resources=scheduled[1:],
            conditions={"Null": {"aws:ResourceTag/mlgov:schedule": "false"}},
        ),
        iam.PolicyStatement(
            # the minimum of SageMaker's own scalable targets only (their ARNs carry a generated id)
            sid="LowerAndRestoreSageMakerScalingMinimums",
            actions=["application-autoscaling:RegisterScalableTarget"],
            resources=["*"],
            conditions={
                "StringEquals": {
                    "application-autoscaling:service-namespace": "sagemaker",
                    "application-autoscaling:scalable-dimension": [
                        "sagemaker:variant:DesiredInstanceCount",
                        "sagemaker:inference-component:DesiredCopyCount",
                    ],
                }
            },
        ),
        iam.PolicyStatement(
            # UpdateCluster re-sends each instance group's ExecutionRole exactly as DescribeCluster returned it; a
            # cluster's role is any role of the account, so the allow cannot name it...
            sid="PassClusterExecutionRoles",
            actions=["iam:PassRole"],
            resources=[f"arn:{partition}:iam::{account}:role/*"],
            conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        ),
        iam.PolicyStatement(
            # ...but never one of the roles that administer the account or deploy mlgov.
            sid="NeverPassAdministrativeRoles",
            effect=iam.Effect.DENY,
            actions=["iam:PassRole"],
            resources=[f"arn:{partition}:iam::{account}:role/{pattern}" for pattern in NEVER_PASSED_ROLES],
        ),
    ]
