"""The scheduled scan: EventBridge Scheduler → Step Functions (targets → Map of account×region scans → aggregate),
with the versioned, KMS-encrypted archive bucket and the findings table it writes."""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_stepfunctions as sfn
from cdk_nag import NagSuppressions
from constructs import Construct

from mlgov.domain.preflight import SCANNER_FUNCTION_NAME
from mlgov.domain.principals import HUB_SCANNER_ROLE, SPOKE_ROLE
from stacks.config import MlgovConfig
from stacks.parts.functions import MlgovFunction
from stacks.parts.state_machines import lambda_task, logged_state_machine
from stacks.parts.studio_idle import studio_idle_statement
from stacks.parts.tables import state_table

SCANNER_ROLE_NAME = HUB_SCANNER_ROLE
SPOKE_ROLE_NAME = SPOKE_ROLE
# Beyond this many account × region items the scan fans out with a Distributed Map (child executions) instead
# of an inline Map, whose items share one 256 KB execution history.
DISTRIBUTED_MAP_THRESHOLD = 200
INLINE_MAP_CONCURRENCY = 10
DISTRIBUTED_MAP_CONCURRENCY = 40


def archive_bucket_name(config: MlgovConfig) -> str:
    """A known name (member roles are granted its snapshots/ prefix by ARN); the optional suffix lets a reinstall
    after `cdk destroy` (which retains the bucket) start a new archive."""
    suffix = f"-{config.archive_bucket_suffix}" if config.archive_bucket_suffix else ""
    return f"mlgov-archive-{config.hub_account}-{config.hub_region}{suffix}"


class ArchiveBucket(Construct):
    """Reports and (issue 7) endpoint snapshots: versioned, KMS-encrypted, TLS only, retention then Glacier/expiry."""

    def __init__(self, scope: Construct, construct_id: str, *, retention_days: int, bucket_name: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(self, "Key", enable_key_rotation=True, description="mlgov archive bucket")
        self.access_logs = access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=cdk.Duration.days(365))],
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        NagSuppressions.add_resource_suppressions(
            access_logs,
            [
                {
                    "id": "AwsSolutions-S1",
                    "reason": "This bucket receives the archive bucket's access logs; logging "
                    "it into itself would loop.",
                }
            ],
        )
        transition_days = max(30, min(retention_days // 2, retention_days - 1)) if retention_days > 31 else None
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            # A known name: member accounts' approval roles are granted the snapshots/ prefix by ARN.
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            # No S3 Bucket Key: with one, KMS sees the bucket's ARN as encryption context; without, the object's, so
            # the key policy can confine each member account's snapshot writes to its own prefix.
            bucket_key_enabled=False,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="archive/",
            removal_policy=cdk.RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="retention",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.GLACIER, transition_after=cdk.Duration.days(transition_days)
                        )
                    ]
                    if transition_days
                    else None,
                    expiration=cdk.Duration.days(retention_days),
                    noncurrent_version_expiration=cdk.Duration.days(retention_days),
                    # a multipart copy cut off mid-way (Lambda timeout) leaves billed parts no object shows
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                )
            ],
        )


class ScanWorkflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: MlgovConfig,
        archive: ArchiveBucket,
        approval_state_machine_arn: str | None = None,
        approvals_table: dynamodb.ITable | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.findings_table = state_table(self, "FindingsTable", key="arn", ttl_attribute="expires_at")
        environment = {
            "MLGOV_HUB_ACCOUNT": config.hub_account,
            "MLGOV_SPOKE_ROLE": SPOKE_ROLE_NAME,
            "MLGOV_REGIONS": json.dumps(list(config.member_regions)),
            "MLGOV_ARCHIVE_BUCKET": archive.bucket.bucket_name,
            "MLGOV_FINDINGS_TABLE": self.findings_table.table_name,
            "MLGOV_ZOMBIE_IDLE_DAYS": str(config.zombie_idle_days),
            "MLGOV_ZOMBIE_MIN_AGE_DAYS": str(config.zombie_min_age_days),
            "MLGOV_LIVE_PRICES": "true" if config.live_prices else "false",
            "MLGOV_AROUND_COSTS": "true" if config.around_costs else "false",
            "MLGOV_BUDGETS": json.dumps(dict(config.budgets), sort_keys=True),
            "MLGOV_EXPIRY_REMINDER_DAYS": str(config.expiry_reminder_days),
            "MLGOV_NOTEBOOK_STOPS": config.notebook_stops,
            "MLGOV_NOTEBOOK_STOP_GRACE_HOURS": str(config.notebook_stop_grace_hours),
            "MLGOV_STUDIO_APP_STOPS": config.studio_app_stops,
            "MLGOV_STUDIO_IDLE_SHUTDOWN": config.studio_idle_shutdown,
            "MLGOV_STUDIO_IDLE_MINUTES": str(config.studio_idle_minutes),
            "MLGOV_SLACK_CHANNEL": config.slack.channel_id,
            "MLGOV_SLACK_TOKEN_SECRET": config.slack.bot_token_secret_name,
        }
        if config.single_account:
            environment["MLGOV_ACCOUNTS"] = json.dumps([config.hub_account])
        else:  # the accounts the StackSet reaches: below the target OUs, never the management account
            environment["MLGOV_TARGET_OUS"] = json.dumps(list(config.target_ous))
            environment["MLGOV_MANAGEMENT_ACCOUNT"] = str(config.management_account)
        if approval_state_machine_arn:
            environment["MLGOV_APPROVAL_STATE_MACHINE_ARN"] = approval_state_machine_arn
        if approvals_table is not None:  # the exemptions mlgov recorded: only those keep a zombie
            environment["MLGOV_APPROVALS_TABLE"] = approvals_table.table_name
        scanner = MlgovFunction(
            self,
            "Scanner",
            name="scanner",
            role_name=SCANNER_ROLE_NAME,
            function_name=SCANNER_FUNCTION_NAME,  # `mlgov doctor` invokes its access task by this name
            description="mlgov scanner: lists targets, scans one account-region, aggregates the report",
            environment=environment,
            timeout=cdk.Duration.minutes(15),
            memory_size=1024,
            with_slack=True,
        )
        self.scanner = scanner.function
        self._grant_scanner(scanner.role, config, archive, approval_state_machine_arn)
        if approvals_table is not None:
            scanner.role.add_to_policy(
                iam.PolicyStatement(
                    sid="ReadRecordedExemptions",
                    actions=["dynamodb:BatchGetItem"],
                    resources=[approvals_table.table_arn],
                )
            )
        self.state_machine = self._state_machine(scanner, archive)
        self._schedule(config)

    def _grant_scanner(
        self, role: iam.Role, config: MlgovConfig, archive: ArchiveBucket, approval_arn: str | None
    ) -> None:
        archive.bucket.grant_read(role)  # reads and writes; never deletes (snapshots and reports are evidence)
        archive.bucket.grant_put(role)
        self.findings_table.grant_read_write_data(role)
        partition = cdk.Aws.PARTITION
        statements = [
            iam.PolicyStatement(
                sid="AssumeSpokeRoles",
                actions=["sts:AssumeRole"],
                resources=[f"arn:{partition}:iam::*:role/{SPOKE_ROLE_NAME}"],
            ),
            iam.PolicyStatement(
                sid="ReadSageMakerAndMetricsInTheHubAccount",
                actions=["sagemaker:List*", "sagemaker:Search", "sagemaker:Describe*", "cloudwatch:GetMetricData"],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="WriteLastInvokedInTheHubAccount",
                actions=["sagemaker:AddTags"],
                resources=[f"arn:{partition}:sagemaker:*:{config.hub_account}:endpoint/*"],
                conditions={"ForAllValues:StringEquals": {"aws:TagKeys": ["last-invoked"]}},
            ),
            iam.PolicyStatement(
                sid="ReadSlackToken",
                actions=["secretsmanager:GetSecretValue"],
                resources=[
                    f"arn:{partition}:secretsmanager:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:secret:"
                    f"{config.slack.bot_token_secret_name}-??????"
                ],
            ),
        ]
        if config.org_mode:
            statements.append(
                iam.PolicyStatement(
                    sid="ListOrganizationAccounts",
                    actions=[
                        "organizations:ListAccounts",
                        "organizations:ListAccountsForParent",
                        "organizations:ListOrganizationalUnitsForParent",
                    ],
                    resources=["*"],
                )
            )
        if config.live_prices:
            statements.append(
                iam.PolicyStatement(sid="ReadListPrices", actions=["pricing:GetProducts"], resources=["*"])
            )
        if config.notebook_stops == "stop":
            statements.append(
                iam.PolicyStatement(
                    sid="StopIdleNotebooksInTheHubAccount",  # members: the spoke role's StopIdleNotebooks
                    actions=["sagemaker:StopNotebookInstance"],
                    resources=[f"arn:{partition}:sagemaker:*:{config.hub_account}:notebook-instance/*"],
                )
            )
        if config.studio_app_stops == "delete":
            statements.append(
                iam.PolicyStatement(
                    sid="DeleteIdleStudioAppsInTheHubAccount",  # members: the spoke role's DeleteIdleStudioApps
                    actions=["sagemaker:DeleteApp"],
                    resources=[f"arn:{partition}:sagemaker:*:{config.hub_account}:app/*"],
                )
            )
        if config.studio_idle_shutdown == "apply":
            statements.append(
                studio_idle_statement(  # members: the spoke role's SwitchOnStudioIdleShutdown
                    "SwitchOnStudioIdleShutdownInTheHubAccount", partition, config.hub_account, config.member_regions
                )
            )
        if approval_arn:
            statements.append(
                iam.PolicyStatement(sid="StartApprovals", actions=["states:StartExecution"], resources=[approval_arn])
            )
        for statement in statements:
            role.add_to_policy(statement)
        NagSuppressions.add_resource_suppressions(
            role,
            [
                {
                    "id": "AwsSolutions-IAM5",
                    "reason": "SageMaker List*, CloudWatch GetMetricData and Price List GetProducts have no "
                    "resource-level permissions; the "
                    "spoke role name is the same in every member account; the Slack secret ARN ends in a random "
                    "suffix; report and run objects are written under prefixes of the archive bucket.",
                }
            ],
            apply_to_children=True,
        )

    def _state_machine(self, scanner: MlgovFunction, archive: ArchiveBucket) -> sfn.StateMachine:
        function = scanner.function
        # The targets come back in the state only while the inline Map takes them; above that the Distributed Map
        # reads runs/<run_id>/targets.json from the archive (the 256 KB state payload ends near 2,500 targets).
        targets = lambda_task(
            self,
            "ListTargets",
            function,
            {
                "task": "targets",
                "run_id": sfn.JsonPath.string_at("$$.Execution.Name"),
                "inline_max": DISTRIBUTED_MAP_THRESHOLD,
            },
        )
        aggregate = lambda_task(
            self,
            "Aggregate",
            function,
            {
                "task": "aggregate",
                "run_id": sfn.JsonPath.string_at("$.run_id"),
                "parts": sfn.JsonPath.list_at("$.parts"),
            },
        )
        inline = sfn.Map(
            self,
            "ScanEachAccountRegion",
            items_path="$.targets",
            max_concurrency=INLINE_MAP_CONCURRENCY,
            result_path="$.parts",
        ).item_processor(self._scan_one(function, "Inline"))
        # Results of thousands of scans would overflow the 256 KB state payload: drop them; the aggregate lists the
        # parts the scans wrote to the archive bucket instead (parts = null).
        distributed = sfn.DistributedMap(
            self,
            "ScanEachAccountRegionDistributed",
            item_reader=sfn.S3JsonItemReader(bucket=archive.bucket, key=sfn.JsonPath.string_at("$.targets_key")),
            max_concurrency=DISTRIBUTED_MAP_CONCURRENCY,
            result_path=sfn.JsonPath.DISCARD,
        ).item_processor(self._scan_one(function, "Distributed"))
        aggregate_from_archive = lambda_task(
            self,
            "AggregateFromArchive",
            function,
            {"task": "aggregate", "run_id": sfn.JsonPath.string_at("$.run_id"), "parts": None},
        )
        fan_out = (
            sfn.Choice(self, "ManyTargets?")
            .when(sfn.Condition.number_greater_than("$.count", DISTRIBUTED_MAP_THRESHOLD), distributed)
            .otherwise(inline)
        )
        inline.next(aggregate)
        distributed.next(aggregate_from_archive)
        definition = targets.next(fan_out)
        state_machine = logged_state_machine(
            self,
            name="mlgov-scan",
            definition=definition,
            timeout=cdk.Duration.hours(2),
            iam5_reason="CDK grants lambda:InvokeFunction on the scanner's versions (:*), X-Ray and log "
            "delivery need *, the Distributed Map starts child executions of this state machine and reads "
            "runs/*/targets.json from the archive bucket.",
        )
        archive.key.grant_decrypt(state_machine.role)  # the ItemReader's GetObject on the KMS-encrypted archive
        return state_machine

    def _scan_one(self, function, prefix: str) -> sfn.IChainable:
        scan = lambda_task(
            self,
            f"{prefix}ScanAccountRegion",
            function,
            {
                "task": "scan",
                "account": sfn.JsonPath.string_at("$.account"),
                "region": sfn.JsonPath.string_at("$.region"),
                "run_id": sfn.JsonPath.string_at("$.run_id"),
            },
        )
        failed = sfn.Pass(
            self,
            f"{prefix}ScanFailed",
            parameters={
                "account.$": "$.account",
                "region.$": "$.region",
                "failed": True,
                "error.$": "$.error.Error",
                "cause.$": "$.error.Cause",
            },
        )
        scan.add_catch(failed, result_path="$.error")  # a failed account-region is reported, not fatal
        return scan

    def _schedule(self, config: MlgovConfig) -> None:
        role = iam.Role(
            self,
            "ScheduleRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": cdk.Aws.ACCOUNT_ID}}
            ),
            description="EventBridge Scheduler starts the mlgov scan",
        )
        self.state_machine.grant_start_execution(role)
        scheduler.CfnSchedule(
            self,
            "Schedule",
            name="mlgov-scan",
            description="mlgov: scheduled organization scan",
            schedule_expression=config.scan_schedule,
            schedule_expression_timezone="UTC",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=self.state_machine.state_machine_arn, role_arn=role.role_arn, input="{}"
            ),
        )
