"""The zombie approval flow (issue 7): approvals table, the approval Lambda, the Slack interactions endpoint and the
STANDARD state machine `mlgov-approval`.

MarkCandidate → Notify (waitForTaskToken, timeout approval_timeout_hours; Timeout → MarkTimedOut) → Decision?
  approve → Recheck → StillIdle? (no → ClearCandidate → Aborted) → Snapshot → HashesPending?
            (yes → HashSourceRanges: Distributed Map over hash-jobs/…/ranges.json, one HashRange per item)
            → Verify → Verified? (no → NotVerified, never Delete) → Confirm → Delete → Deleted
  reject  → Exempt → Rejected          snooze → Snooze → Snoozed
every branch and every caught error → UpdateMessage (chat.update of the request) → Done | ApprovalFailed.
The scan starts it for zombies and for expired endpoints (input "reason": "expired"); for those Recheck reads the live
`auto-delete-after` instead of traffic and answers in the same `still_idle` member StillIdle? reads.

The Slack endpoint is a Lambda Function URL with AuthType NONE: Slack cannot sign requests with SigV4, so the
function itself authenticates every request with the Slack signing secret (HMAC-SHA256, 5-minute replay window,
slack-sdk SignatureVerifier) and checks the clicking user against `slack.approvers` before anything changes.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from cdk_nag import NagSuppressions
from constructs import Construct

from mlgov.domain.preflight import APPROVAL_FUNCTION_NAME, APPROVAL_STATE_MACHINE_NAME
from mlgov.domain.principals import HUB_APPROVAL_ROLE, HUB_SLACK_ROLE, SPOKE_APPROVAL_ROLE
from mlgov.domain.schedules import SCHEDULE_TAG
from stacks.config import MlgovConfig
from stacks.parts.functions import MlgovFunction
from stacks.parts.scan_workflow import ArchiveBucket, archive_bucket_name
from stacks.parts.state_machines import lambda_task, logged_state_machine, throttle_retried
from stacks.parts.tables import state_table
from stacks.parts.tag_keys import lifetime_keys

APPROVAL_ROLE_NAME = HUB_APPROVAL_ROLE
SLACK_ROLE_NAME = HUB_SLACK_ROLE
APPROVAL_SPOKE_ROLE_NAME = SPOKE_APPROVAL_ROLE
STATE_MACHINE_NAME = APPROVAL_STATE_MACHINE_NAME
# A restore carries a park schedule and none of the approval flow's own keys: a created endpoint can never arrive
# already confirmed for deletion or exempt.
RESTORE_CONDITIONS = {
    "StringLike": {f"aws:RequestTag/{SCHEDULE_TAG}": "* park"},
    "ForAllValues:StringNotLike": {"aws:TagKeys": ["mlgov:zombie*", "mlgov:exempt"]},
}
ZOMBIE_TAG_KEYS = ["mlgov:zombie", "mlgov:zombie-by", "mlgov:zombie-date", "mlgov:exempt"]
SNOOZE_DAYS = 30
HASH_MAP_CONCURRENCY = 10  # source ranges hashed at once (each <= 5 GiB, one Lambda each)


def target_org_paths(config: MlgovConfig) -> list[str]:
    """aws:PrincipalOrgPaths patterns of the accounts below the target OUs (or the root)."""
    org = config.organization_id
    return [f"{org}/{target}/*" if target.startswith("r-") else f"{org}/*/{target}/*" for target in config.target_ous]


def approval_spoke_role_statements(
    partition: str, account: str, *, archive_bucket_arn: str | None = None, archive_key_arn: str | None = None
) -> list[iam.PolicyStatement]:
    """The permissions of `mlgov-spoke-approval` in `account` (also granted to the hub's approval role for the hub
    account itself, where no role is assumed). DeleteEndpoint only on endpoints tagged mlgov:zombie=confirmed;
    tag writes only of the approval keys. Pair with a suppression: S3 artifact reads and the SageMaker reads are
    Resource * (model artifacts live in any bucket the account's models name).

    Cross-account snapshots: S3 authorizes the server-side copy as the spoke role, so in a member account it also
    needs write on the hub archive's `snapshots/` prefix and use of its KMS key: pass `archive_bucket_arn` and
    `archive_key_arn` (the hub's ApprovalFlow adds the matching bucket and key policy statements in org mode)."""
    endpoints = f"arn:{partition}:sagemaker:*:{account}:endpoint/*"
    statements = [
        iam.PolicyStatement(
            sid="DeleteOnlyConfirmedZombies",
            actions=["sagemaker:DeleteEndpoint"],
            resources=[endpoints],
            conditions={"StringEquals": {"aws:ResourceTag/mlgov:zombie": "confirmed"}},
        ),
        iam.PolicyStatement(
            sid="WriteOnlyApprovalTags",
            actions=["sagemaker:AddTags", "sagemaker:DeleteTags"],
            resources=[endpoints],
            conditions={"ForAllValues:StringEquals": {"aws:TagKeys": ZOMBIE_TAG_KEYS}},
        ),
        iam.PolicyStatement(
            sid="ExemptNotebooksOnly",  # `mlgov exempt` / Keep running keep an idle notebook or Studio app: one key
            actions=["sagemaker:AddTags"],
            resources=[
                f"arn:{partition}:sagemaker:*:{account}:notebook-instance/*",
                f"arn:{partition}:sagemaker:*:{account}:app/*",
                f"arn:{partition}:sagemaker:*:{account}:domain/*",  # studio_idle_shutdown=apply leaves it as it is
            ],
            conditions={"ForAllValues:StringEquals": {"aws:TagKeys": ["mlgov:exempt"]}},
        ),
        *(
            [
                iam.PolicyStatement(
                    sid="ExtendLifetimeOnly",  # an "Extend 30 days" click (the owner's or an approver's): that key
                    actions=["sagemaker:AddTags"],
                    resources=[f"arn:{partition}:sagemaker:*:{account}:*"],
                    conditions={"ForAllValues:StringEquals": {"aws:TagKeys": list(lifetime_keys())}},
                )
            ]
            if lifetime_keys()
            else []
        ),
        iam.PolicyStatement(
            # A parked endpoint restored when its schedule's window opens: only a create that carries mlgov:schedule
            # (a parked endpoint comes back scheduled), reusing the endpoint config the park left in place.
            sid="RestoreParkedEndpoints",
            actions=["sagemaker:CreateEndpoint"],
            resources=[endpoints, f"arn:{partition}:sagemaker:*:{account}:endpoint-config/*"],
            conditions=RESTORE_CONDITIONS,
        ),
        iam.PolicyStatement(
            sid="TagRestoredEndpointsOnCreate",  # tag-on-create is authorized as AddTags: only within that create
            actions=["sagemaker:AddTags"],
            resources=[endpoints],
            conditions={"StringEquals": {"sagemaker:TaggingAction": "CreateEndpoint"}, **RESTORE_CONDITIONS},
        ),
        iam.PolicyStatement(
            sid="DescribeForSnapshotAndRecheck",
            actions=[
                "sagemaker:DescribeEndpoint",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DescribeModel",
                "sagemaker:ListTags",
                "sagemaker:ListInferenceComponents",
                "cloudwatch:GetMetricData",
            ],
            resources=["*"],
        ),
        iam.PolicyStatement(
            # Artifacts in SSE-KMS buckets: HeadObject with checksums, GetObject and the copy's read need Decrypt on
            # the source key, only through S3 and only on keys of this account (their key policy must let IAM
            # policies grant use, as the default key policy does).
            sid="DecryptKmsEncryptedArtifactsThroughS3",
            actions=["kms:Decrypt"],
            resources=[f"arn:{partition}:kms:*:{account}:key/*"],
            conditions={"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}},
        ),
        iam.PolicyStatement(
            sid="ReadModelArtifacts",
            actions=[
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:GetObjectAttributes",  # a multipart source's parts and their checksums
                "s3:GetObjectVersionAttributes",
                "s3:ListBucket",
            ],
            resources=["*"],
        ),
    ]
    if archive_bucket_arn:
        statements.append(
            iam.PolicyStatement(
                sid="WriteSnapshotsToTheHubArchive",
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],  # write-only: the hub reads and verifies
                resources=[f"{archive_bucket_arn}/snapshots/{account}/*"],
            )
        )
    if archive_key_arn:
        statements.append(
            iam.PolicyStatement(
                sid="EncryptSnapshotsWithTheArchiveKey",
                # S3 asks for a data key to encrypt the copy and Decrypt to complete a multipart one; never Encrypt.
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[archive_key_arn],
                conditions={
                    "StringLike": {"kms:EncryptionContext:aws:s3:arn": f"{archive_bucket_arn}/snapshots/{account}/*"}
                }
                if archive_bucket_arn
                else None,
            )
        )
    return statements


class ApprovalFlow(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: MlgovConfig, archive: ArchiveBucket) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.archive = archive
        self.table = state_table(self, "ApprovalsTable", key="pk", ttl_attribute="purge_at")
        approval = MlgovFunction(
            self,
            "Approval",
            name="approval",
            role_name=APPROVAL_ROLE_NAME,
            function_name=APPROVAL_FUNCTION_NAME,  # `mlgov exempt` invokes it by this name
            description="mlgov approval flow tasks: notify, re-check, tag, snapshot, verify, guarded delete, update",
            environment={
                "MLGOV_HUB_ACCOUNT": config.hub_account,
                "MLGOV_APPROVAL_ROLE": APPROVAL_SPOKE_ROLE_NAME,
                "MLGOV_ARCHIVE_BUCKET": archive.bucket.bucket_name,
                "MLGOV_APPROVALS_TABLE": self.table.table_name,
                "MLGOV_SLACK_CHANNEL": config.slack.channel_id,
                "MLGOV_SLACK_TOKEN_SECRET": config.slack.bot_token_secret_name,
                "MLGOV_APPROVAL_TIMEOUT_HOURS": str(config.approval_timeout_hours),
                "MLGOV_SNOOZE_DAYS": str(SNOOZE_DAYS),
                "MLGOV_ZOMBIE_MIN_AGE_DAYS": str(config.zombie_min_age_days),
                "MLGOV_SLACK_APPROVERS": json.dumps(list(config.slack.approvers)),  # resource buttons: read here
            },
            timeout=cdk.Duration.minutes(15),
            memory_size=1024,
            with_slack=True,
        )
        self.approval_function = approval.function
        self._grant_approval(approval.role, archive)
        slack = MlgovFunction(
            self,
            "SlackInteractions",
            name="slack_interactions",
            role_name=SLACK_ROLE_NAME,
            description="mlgov Slack approval clicks: verify the signature, check the approver, SendTaskSuccess",
            environment={
                "MLGOV_SLACK_SIGNING_SECRET": config.slack.signing_secret_name,
                "MLGOV_APPROVALS_TABLE": self.table.table_name,
                "MLGOV_SLACK_APPROVERS": json.dumps(list(config.slack.approvers)),
                "MLGOV_APPROVAL_FUNCTION": approval.function.function_name,
            },
            timeout=cdk.Duration.seconds(10),
            with_slack=True,
        )
        self.slack_function = slack.function
        if config.slack_max_concurrency is not None:  # opt-in: a reservation can fail a deploy in a low-quota account
            slack.function.node.default_child.add_property_override(
                "ReservedConcurrentExecutions", config.slack_max_concurrency
            )
        self._grant_slack(slack.role)
        approval.function.grant_invoke(slack.role)  # "Keep running" / "Extend" clicks are carried out there
        # AuthType NONE: Slack cannot SigV4-sign; the function verifies Slack's signing secret on every request.
        self.slack_url = slack.function.add_function_url(auth_type=lambda_.FunctionUrlAuthType.NONE)
        url_output = cdk.CfnOutput(
            self, "SlackInteractionsUrl", value=self.slack_url.url, description="Slack app: Interactivity Request URL"
        )
        url_output.override_logical_id("SlackInteractionsUrl")  # a stable name the README points to
        self.state_machine = self._state_machine(approval.function)

    # ---- permissions ---------------------------------------------------------------------------------------------

    def _grant_approval(self, role: iam.Role, archive: ArchiveBucket) -> None:
        partition = cdk.Aws.PARTITION
        self.table.grant_read_write_data(role)
        archive.bucket.grant_read(role)  # reads and writes snapshots; never deletes one
        archive.bucket.grant_put(role)
        role.add_to_policy(
            iam.PolicyStatement(
                sid="AssumeApprovalSpokeRoles",
                actions=["sts:AssumeRole"],
                resources=[f"arn:{partition}:iam::*:role/{APPROVAL_SPOKE_ROLE_NAME}"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="CheckTheCallingExecution",  # Confirm/Delete: the execution that asks must be running
                actions=["states:DescribeExecution"],
                resources=[
                    f"arn:{partition}:states:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:execution:{STATE_MACHINE_NAME}:*"
                ],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadSlackToken",
                actions=["secretsmanager:GetSecretValue"],
                resources=[self._secret_arn(self.config.slack.bot_token_secret_name)],
            )
        )
        for statement in approval_spoke_role_statements(partition, self.config.hub_account):
            role.add_to_policy(statement)  # the hub account's own endpoints: no role is assumed there
        if self.config.org_mode and self.config.organization_id:
            self._admit_member_snapshot_writes(archive)
        NagSuppressions.add_resource_suppressions(
            role,
            [
                {
                    "id": "AwsSolutions-IAM5",
                    "reason": "The approval spoke role has the same name in every member account; SageMaker "
                    "Describe/ListTags and CloudWatch GetMetricData are read-only and GetMetricData has no "
                    "resource-level permissions; model artifacts live in whatever buckets the models name "
                    "(read-only); endpoint tag writes are limited by aws:TagKeys and DeleteEndpoint by "
                    "aws:ResourceTag/mlgov:zombie=confirmed; the Slack secret ARN ends in a random suffix; "
                    "snapshots are written under prefixes of the archive bucket (CDK grant).",
                }
            ],
            apply_to_children=True,
        )

    def _admit_member_snapshot_writes(self, archive: ArchiveBucket) -> None:
        """Cross-account snapshots: S3 authorizes a member's server-side copy as its spoke approval role. Each such
        role may only write (never read) under snapshots/<its own account>/, and only from an account of the target
        OUs; the archive key gives it a data key only for objects of that prefix (no bucket key: the encryption
        context is the object's ARN)."""
        partition = cdk.Aws.PARTITION
        # By name, not the bucket's attribute: the bucket already refers to the key (no cycle).
        bucket_arn = f"arn:{partition}:s3:::{archive_bucket_name(self.config)}"
        own_prefix = f"{bucket_arn}/snapshots/${{aws:PrincipalAccount}}/*"
        conditions = {
            "ArnLike": {"aws:PrincipalArn": f"arn:{partition}:iam::*:role/{APPROVAL_SPOKE_ROLE_NAME}"},
            "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": target_org_paths(self.config)},
        }
        archive.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SpokeApprovalRolesWriteTheirOwnSnapshots",
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[own_prefix],
                conditions=conditions,
            )
        )
        archive.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SpokeApprovalRolesEncryptTheirOwnSnapshots",
                principals=[iam.AnyPrincipal()],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions={**conditions, "StringLike": {"kms:EncryptionContext:aws:s3:arn": own_prefix}},
            )
        )

    def _grant_slack(self, role: iam.Role) -> None:
        self.table.grant_read_write_data(role)
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadSigningSecret",
                actions=["secretsmanager:GetSecretValue"],
                resources=[self._secret_arn(self.config.slack.signing_secret_name)],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="AnswerApprovalTasks",
                actions=["states:SendTaskSuccess", "states:SendTaskFailure"],
                resources=["*"],
            )
        )
        NagSuppressions.add_resource_suppressions(
            role,
            [
                {
                    "id": "AwsSolutions-IAM5",
                    "reason": "states:SendTaskSuccess / SendTaskFailure act on a task token and support no "
                    "resource-level permissions (Resource must be *); the Slack signing secret ARN ends in a "
                    "random suffix; lambda:InvokeFunction is on the approval function's ARN and its versions "
                    "(<arn>:*, CDK grant_invoke) only.",
                }
            ],
            apply_to_children=True,
        )

    @staticmethod
    def _secret_arn(name: str) -> str:
        # Secrets Manager appends "-" and 6 random characters to a secret's name in its ARN.
        return f"arn:{cdk.Aws.PARTITION}:secretsmanager:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:secret:{name}-??????"

    # ---- the state machine ---------------------------------------------------------------------------------------

    def _task(self, function, state_id: str, task: str, result_path: str | None, **extra) -> tasks.LambdaInvoke:
        return lambda_task(
            self,
            state_id,
            function,
            {"task": task, "state": sfn.JsonPath.entire_payload, **extra},
            result_path=result_path if result_path is not None else sfn.JsonPath.DISCARD,
        )

    def _outcome(self, state_id: str, outcome: str, step: str | None = None) -> sfn.Pass:
        result = {"outcome": outcome} | ({"step": step} if step else {})
        return sfn.Pass(self, state_id, result=sfn.Result.from_object(result), result_path="$.result")

    def _state_machine(self, function: lambda_.IFunction) -> sfn.StateMachine:
        execution_id = sfn.JsonPath.string_at("$$.Execution.Id")
        update = self._task(function, "UpdateMessage", "update_message", "$.message", execution_id=execution_id)
        done = sfn.Succeed(self, "Done")
        failed_end = sfn.Fail(self, "ApprovalFailed", error="ApprovalFailed", cause="see the Slack message")
        not_updated = sfn.Fail(
            self, "MessageNotUpdated", error="SlackUpdateFailed", cause="the flow ended; Slack was not updated"
        )
        update.add_catch(not_updated, result_path="$.update_error")
        update.next(
            sfn.Choice(self, "Outcome?")
            .when(sfn.Condition.string_equals("$.result.outcome", "failed"), failed_end)
            .otherwise(done)
        )

        def failure(step: str) -> sfn.Pass:
            return self._outcome(f"{step}Failed", "failed", step).next(update)

        def guarded(task: tasks.LambdaInvoke, step: str) -> tasks.LambdaInvoke:
            task.add_catch(failure(step), result_path="$.error")
            return task

        mark = guarded(self._task(function, "MarkCandidate", "mark_candidate", "$.candidate"), "MarkCandidate")
        notify = throttle_retried(
            tasks.LambdaInvoke(
                self,
                "Notify",
                lambda_function=function,
                integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
                payload=sfn.TaskInput.from_object(
                    {
                        "task": "notify",
                        "state": sfn.JsonPath.entire_payload,
                        "task_token": sfn.JsonPath.task_token,
                        "execution_id": execution_id,
                    }
                ),
                task_timeout=sfn.Timeout.duration(cdk.Duration.hours(self.config.approval_timeout_hours)),
                result_path="$.decision",
            )
        )
        timed_out = self._task(function, "MarkTimedOut", "exempt", "$.exempt", kind="timeout")
        timed_out_outcome = self._outcome("TimedOut", "timed_out").next(update)
        timed_out.add_catch(timed_out_outcome, result_path="$.error")  # kept either way: nothing is deleted
        timed_out.next(timed_out_outcome)
        notify.add_catch(timed_out, errors=["States.Timeout"], result_path="$.error")
        notify.add_catch(failure("Notify"), result_path="$.error")

        # approve
        recheck = guarded(self._task(function, "Recheck", "recheck", "$.recheck"), "Recheck")
        aborted = self._outcome("Aborted", "aborted").next(update)
        clear = self._task(function, "ClearCandidate", "clear_candidate", None)
        clear.add_catch(aborted, result_path="$.error")
        clear.next(aborted)
        snapshot = guarded(self._task(function, "Snapshot", "snapshot", "$.snapshot"), "Snapshot")
        verify = guarded(self._task(function, "Verify", "verify", "$.verification"), "Verify")
        not_verified = self._outcome("NotVerified", "failed", "Verify").next(update)
        # Confirm and Delete name their execution: the function acts only for a running execution of this machine
        confirm = guarded(self._task(function, "Confirm", "confirm", "$.confirm", execution_id=execution_id), "Confirm")
        delete = guarded(self._task(function, "Delete", "delete", "$.deleted", execution_id=execution_id), "Delete")
        deleted = self._outcome("Deleted", "approved").next(update)
        hash_ranges = sfn.DistributedMap(
            self,
            "HashSourceRanges",
            item_reader=sfn.S3JsonItemReader(
                bucket=self.archive.bucket, key=sfn.JsonPath.string_at("$.snapshot.hash_jobs_key")
            ),
            item_selector={
                "finding.$": "$.finding",
                "manifest_key.$": "$.snapshot.manifest_key",
                "job.$": "$$.Map.Item.Value",
            },
            max_concurrency=HASH_MAP_CONCURRENCY,
            result_path=sfn.JsonPath.DISCARD,  # each item records its hash in the approvals table; Verify reads them
        ).item_processor(
            lambda_task(self, "HashRange", function, {"task": "hash_range", "state": sfn.JsonPath.entire_payload})
        )
        hash_ranges.add_catch(failure("HashSourceRanges"), result_path="$.error")
        hash_ranges.next(verify)
        snapshot.next(
            sfn.Choice(self, "HashesPending?")
            .when(sfn.Condition.number_greater_than("$.snapshot.pending_hashes", 0), hash_ranges)
            .otherwise(verify)
        )
        verify.next(
            sfn.Choice(self, "Verified?")
            .when(sfn.Condition.boolean_equals("$.verification.verified", True), confirm)
            .otherwise(not_verified)
        )
        confirm.next(delete).next(deleted)
        still_idle = (
            sfn.Choice(self, "StillIdle?")
            .when(sfn.Condition.boolean_equals("$.recheck.still_idle", True), snapshot)
            .otherwise(clear)
        )
        recheck.next(still_idle)

        # park: the scheduler starts the execution with `park` in its input; the schedule is the approval, checked
        # against the endpoint's live (protected) mlgov:schedule tag, then the same snapshot, verify, guarded delete
        park_check = guarded(self._task(function, "ParkCheck", "park_check", "$.recheck"), "ParkCheck")
        schedule_decides = sfn.Pass(
            self,
            "ScheduleIsTheApproval",
            result=sfn.Result.from_object({"decision": "park", "by": "mlgov:schedule"}),
            result_path="$.decision",
        )
        park_check.next(schedule_decides).next(still_idle)

        # reject / snooze
        exempt = guarded(self._task(function, "Exempt", "exempt", "$.exempt", kind="reject"), "Exempt")
        exempt.next(self._outcome("Rejected", "rejected").next(update))
        snooze = guarded(self._task(function, "Snooze", "exempt", "$.exempt", kind="snooze"), "Snooze")
        snooze.next(self._outcome("Snoozed", "snoozed").next(update))

        decision = (
            sfn.Choice(self, "Decision?")
            .when(sfn.Condition.string_equals("$.decision.decision", "approve"), recheck)
            .when(sfn.Condition.string_equals("$.decision.decision", "reject"), exempt)
            .when(sfn.Condition.string_equals("$.decision.decision", "snooze"), snooze)
            .otherwise(self._outcome("UnknownDecision", "failed", "Decision").next(update))
        )
        mark.next(notify).next(decision)
        definition = sfn.Choice(self, "Park?").when(sfn.Condition.is_present("$.park"), park_check).otherwise(mark)
        state_machine = logged_state_machine(
            self,
            name=STATE_MACHINE_NAME,
            definition=definition,
            timeout=cdk.Duration.hours(self.config.approval_timeout_hours + 6),
            state_machine_type=sfn.StateMachineType.STANDARD,
            iam5_reason="CDK grants lambda:InvokeFunction on the approval function's versions (:*); X-Ray "
            "and CloudWatch Logs delivery need Resource *; the HashSourceRanges Distributed Map starts child "
            "executions of this state machine, and its ItemReader reads hash-jobs/*.json from the archive bucket "
            "(CDK's grant is GetObject on the bucket's objects: the hub's own state machine, no member principal).",
        )
        self.archive.key.grant_decrypt(state_machine.role)  # the ItemReader's GetObject on the KMS-encrypted archive
        return state_machine
