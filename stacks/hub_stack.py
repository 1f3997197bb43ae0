"""HubStack (hub account, one region): the org event bus, the auto-tagger, the job cost ledger, their state, DLQs."""

from __future__ import annotations

import json
from decimal import Decimal

import aws_cdk as cdk
from aws_cdk import aws_ce as ce
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagSuppressions
from constructs import Construct

from mlgov.domain.preflight import PROBE_QUEUE_NAME
from mlgov.domain.principals import HUB_AUTO_TAGGER_ROLE, HUB_JOB_LEDGER_ROLE, SPOKE_ROLE
from mlgov.domain.tagging import TagDefaults
from mlgov.repo_files import DEFAULT_POLICIES_DIR, load_schema
from stacks.config import CostAnomalyAlertsConfig, MlgovConfig
from stacks.parts.approval_flow import ApprovalFlow
from stacks.parts.cost_export import CostExportQueries
from stacks.parts.events import HUB_BUS_NAME, create_call_patterns, doctor_probe_pattern, job_state_change_pattern
from stacks.parts.functions import MlgovFunction
from stacks.parts.hyperpod_scheduler import HYPERPOD_ROLE_NAME, HyperPodScheduler
from stacks.parts.scan_workflow import SCANNER_ROLE_NAME, ArchiveBucket, ScanWorkflow, archive_bucket_name
from stacks.parts.tables import state_table
from stacks.parts.tag_keys import auto_tagger_writable_keys

AUTO_TAGGER_ROLE_NAME = HUB_AUTO_TAGGER_ROLE
JOB_LEDGER_ROLE_NAME = HUB_JOB_LEDGER_ROLE
SPOKE_ROLE_NAME = SPOKE_ROLE


def hub_function_role_arns(config: MlgovConfig, partition: str = "*") -> list[str]:
    """The hub roles a spoke role trusts (fixed names, so spokes can be deployed before the hub)."""
    return [
        f"arn:{partition}:iam::{config.hub_account}:role/{name}"
        for name in (AUTO_TAGGER_ROLE_NAME, JOB_LEDGER_ROLE_NAME, SCANNER_ROLE_NAME, HYPERPOD_ROLE_NAME)
    ]


NOTIFICATIONS_TOPIC_NAME = "mlgov-notifications"
COST_ALERTS_SERVICE = "costalerts.amazonaws.com"  # AWS Cost Anomaly Detection, as it publishes to SNS
ANOMALY_MONITOR_NAME = "mlgov-services"
ANOMALY_SUBSCRIPTION_NAME = "mlgov-cost-anomalies"


def anomaly_threshold_expression(threshold_usd: float) -> dict:
    """The subscription's ThresholdExpression: alert when an anomaly's total impact reaches `threshold_usd`."""
    amount = format(Decimal(repr(threshold_usd)).normalize(), "f")  # 100.0 -> "100", 1e-05 -> "0.00001"
    return {
        "Dimensions": {
            "Key": "ANOMALY_TOTAL_IMPACT_ABSOLUTE",
            "MatchOptions": ["GREATER_THAN_OR_EQUAL"],
            "Values": [amount],
        }
    }


class HubStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: MlgovConfig, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.bus = events.EventBus(self, "HubBus", event_bus_name=HUB_BUS_NAME)
        self._admit_senders(config)

        self.dead_letter_queue = self._dead_letter_queue(
            "AutoTagger", "mlgov-auto-tagger-dlq-not-empty", "Events the auto-tagger could not handle"
        )
        self.idempotency_table = state_table(
            self, "IdempotencyTable", key="id", ttl_attribute="expiration", retain=False
        )
        self.auto_tagger = self._auto_tagger(config)
        for index, pattern in enumerate(create_call_patterns()):
            self._route(
                f"CreateCallsRule{index + 1 if index else ''}",
                pattern,
                self.auto_tagger,
                self.dead_letter_queue,
                "mlgov: successful SageMaker create calls from every governed account and region",
            )
        self._job_ledger(config)
        self.archive = ArchiveBucket(
            self, "Archive", retention_days=config.archive_retention_days, bucket_name=archive_bucket_name(config)
        )
        self.approval = ApprovalFlow(self, "Approval", config=config, archive=self.archive)
        self.scan = ScanWorkflow(
            self,
            "Scan",
            config=config,
            archive=self.archive,
            approval_state_machine_arn=self.approval.state_machine.state_machine_arn,
            approvals_table=self.approval.table,
        )
        self.hyperpod = HyperPodScheduler(self, "HyperPod", config=config)
        self.hyperpod.admit_parking(self.approval.state_machine, self.approval.approval_function)
        self.notifications = self._notifications(
            [self.scan.scanner, self.approval.approval_function, self.hyperpod.function], config
        )
        self.cost_export = (
            CostExportQueries(self, "CostExport", config=config.cost_export, logs=self.archive.access_logs)
            if config.cost_export
            else None
        )
        self.probe_queue = self._doctor_probe_queue()
        cdk.CfnOutput(self, "ArchiveBucketName", value=self.archive.bucket.bucket_name)
        cdk.CfnOutput(self, "ScanStateMachineArn", value=self.scan.state_machine.state_machine_arn)
        cdk.CfnOutput(self, "HubBusArn", value=self.bus.event_bus_arn)
        cdk.CfnOutput(self, "AutoTaggerDlqUrl", value=self.dead_letter_queue.queue_url)

    def _notifications(self, publishers: list[lambda_.Function], config: MlgovConfig) -> sns.Topic:
        """`mlgov-notifications`: every Slack post (digests, approval requests and their outcome, budget alerts, expiry
        reminders) and the scheduler's rejected or stuck actions are published here, for email, a pager or a queue to
        subscribe; with `cost_anomaly_alerts`, also AWS Cost Anomaly Detection's alerts on the hub account. TLS only;
        only the functions that post may publish (identity policies of this account: the topic policy grants no other
        account anything, and Cost Anomaly Detection only for the hub account). Encrypted with the AWS-managed SNS
        key, whose policy admits no AWS service; with the alerts, with a customer-managed key that does."""
        alerts = config.cost_anomaly_alerts
        key = self._notifications_key(config.hub_account) if alerts else None
        topic = sns.Topic(
            self,
            "Notifications",
            topic_name=NOTIFICATIONS_TOPIC_NAME,
            display_name="mlgov",
            master_key=key or kms.Alias.from_alias_name(self, "SnsManagedKey", "alias/aws/sns"),
            enforce_ssl=True,
        )
        for function in publishers:
            function.add_to_role_policy(
                iam.PolicyStatement(sid="PublishNotifications", actions=["sns:Publish"], resources=[topic.topic_arn])
            )
            if key:  # a publisher to a topic with a customer-managed key needs these two on the key
                function.add_to_role_policy(
                    iam.PolicyStatement(
                        sid="EncryptNotifications",
                        actions=["kms:GenerateDataKey", "kms:Decrypt"],
                        resources=[key.key_arn],
                    )
                )
            function.add_environment("MLGOV_NOTIFY_TOPIC", topic.topic_arn)
        if alerts:
            self._cost_anomaly_alerts(topic, alerts, config.hub_account)
        cdk.CfnOutput(self, "NotificationsTopicArn", value=topic.topic_arn, description="subscribe to mlgov's posts")
        return topic

    def _notifications_key(self, hub_account: str) -> kms.Key:
        """The topic's customer-managed key: IAM policies of the hub account grant its use (the default key policy),
        and Cost Anomaly Detection may encrypt with it when it publishes for the hub account."""
        key = kms.Key(
            self,
            "NotificationsKey",
            description=f"mlgov: encrypts {NOTIFICATIONS_TOPIC_NAME}, which Cost Anomaly Detection publishes to",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.DESTROY,  # protects messages in transit only; none outlive the topic
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CostAnomalyDetectionEncryptsForTheHubAccount",
                principals=[iam.ServicePrincipal(COST_ALERTS_SERVICE)],
                actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": hub_account}},
            )
        )
        return key

    def _cost_anomaly_alerts(self, topic: sns.Topic, alerts: CostAnomalyAlertsConfig, hub_account: str) -> None:
        """Cost Anomaly Detection on the hub account's spend, each anomaly at or above the threshold published to
        `topic` as it is detected. An AWS services monitor: the only kind a member account may create, one per account
        (`monitor_arn` reuses the one it has); it sees this account's costs alone."""
        publish = topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CostAnomalyDetectionPublishesForTheHubAccount",
                principals=[iam.ServicePrincipal(COST_ALERTS_SERVICE)],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": hub_account}},
            )
        )
        monitor_arn = alerts.monitor_arn or (
            ce.CfnAnomalyMonitor(
                self,
                "CostAnomalyMonitor",
                monitor_name=ANOMALY_MONITOR_NAME,
                monitor_type="DIMENSIONAL",
                monitor_dimension="SERVICE",
            ).attr_monitor_arn
        )
        subscription = ce.CfnAnomalySubscription(
            self,
            "CostAnomalySubscription",
            subscription_name=ANOMALY_SUBSCRIPTION_NAME,
            frequency="IMMEDIATE",  # the only frequency that delivers to SNS (DAILY and WEEKLY are email digests)
            monitor_arn_list=[monitor_arn],
            subscribers=[ce.CfnAnomalySubscription.SubscriberProperty(type="SNS", address=topic.topic_arn)],
            threshold_expression=json.dumps(anomaly_threshold_expression(alerts.threshold_usd)),
        )
        if publish.policy_dependable is not None:  # the first alert must find the topic open to the service
            subscription.node.add_dependency(publish.policy_dependable)

    def _dead_letter_queue(self, name: str, alarm_name: str, what: str) -> sqs.Queue:
        """An encrypted, TLS-only DLQ with an alarm as soon as anything lands in it."""
        queue = sqs.Queue(
            self,
            f"{name}Dlq",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        cloudwatch.Alarm(
            self,
            f"{name}DlqAlarm",
            alarm_name=alarm_name,
            alarm_description=f"{what} are waiting in its DLQ (each has a reason)",
            metric=queue.metric_approximate_number_of_messages_visible(
                period=cdk.Duration.minutes(5), statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        NagSuppressions.add_resource_suppressions(
            queue,
            [{"id": "AwsSolutions-SQS3", "reason": "This queue is a dead-letter queue; it needs none of its own."}],
        )
        return queue

    def _route(self, rule_id: str, pattern: dict, function: lambda_.IFunction, dlq: sqs.IQueue, description: str):
        """A hub-bus rule delivering `pattern` to `function`, retrying for 6 hours, then into `dlq`."""
        events.Rule(
            self,
            rule_id,
            event_bus=self.bus,
            description=description,
            event_pattern=events.EventPattern(**_cdk_pattern(pattern)),
            targets=[
                targets.LambdaFunction(
                    function, dead_letter_queue=dlq, retry_attempts=8, max_event_age=cdk.Duration.hours(6)
                )
            ],
        )

    def _doctor_probe_queue(self) -> sqs.Queue:
        """`mlgov doctor` puts a probe on a member's default bus; the spoke forwards it here; doctor reads it back."""
        queue = sqs.Queue(
            self,
            "DoctorProbeQueue",
            queue_name=PROBE_QUEUE_NAME,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.hours(1),
        )
        pattern = doctor_probe_pattern()
        events.Rule(
            self,
            "DoctorProbeRule",
            event_bus=self.bus,
            description="mlgov: doctor's probe events from any governed account, queued for doctor to read back",
            event_pattern=events.EventPattern(source=pattern["source"], detail_type=pattern["detail-type"]),
            targets=[targets.SqsQueue(queue)],
        )
        NagSuppressions.add_resource_suppressions(
            queue,
            [
                {
                    "id": "AwsSolutions-SQS3",
                    "reason": "Only mlgov doctor reads this queue, and it deletes what it reads; an unread probe is "
                    "worthless after the run that sent it and expires with the one-hour retention. A DLQ would "
                    "only keep such probes longer.",
                }
            ],
        )
        cdk.CfnOutput(self, "DoctorProbeQueueUrl", value=queue.queue_url)
        return queue

    def _admit_senders(self, config: MlgovConfig) -> None:
        if config.org_mode:
            principal: iam.IPrincipal = iam.AnyPrincipal()
            conditions = {"StringEquals": {"aws:PrincipalOrgID": config.organization_id}}
        else:
            principal, conditions = iam.AccountPrincipal(config.hub_account), None
        self.bus.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AdmitGovernedAccounts",
                principals=[principal],
                actions=["events:PutEvents"],
                resources=[self.bus.event_bus_arn],
                conditions=conditions,
            )
        )

    def _auto_tagger(self, config: MlgovConfig) -> lambda_.Function:
        defaults = TagDefaults.from_schema(load_schema(DEFAULT_POLICIES_DIR / "tag_schema.json"))
        built = MlgovFunction(
            self,
            "AutoTagger",
            name="auto_tagger",
            role_name=AUTO_TAGGER_ROLE_NAME,
            description="mlgov: tags each new SageMaker resource with its creator and lifetime defaults",
            environment={
                "MLGOV_HUB_ACCOUNT": config.hub_account,
                "MLGOV_SPOKE_ROLE": SPOKE_ROLE_NAME,
                "MLGOV_IDEMPOTENCY_TABLE": self.idempotency_table.table_name,
                "MLGOV_DLQ_URL": self.dead_letter_queue.queue_url,
                "MLGOV_TAG_DEFAULTS": defaults.to_json(),
                "MLGOV_TRUSTED_FEDERATION_ROLES": json.dumps(list(config.trusted_federation_roles)),
            },
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=2,
        )
        function, role = built.function, built.role
        self.idempotency_table.grant_read_write_data(role)
        self.dead_letter_queue.grant_send_messages(role)
        role.add_to_policy(
            iam.PolicyStatement(
                sid="AssumeSpokeRoles",
                actions=["sts:AssumeRole"],
                resources=[f"arn:{cdk.Aws.PARTITION}:iam::*:role/{SPOKE_ROLE_NAME}"],
            )
        )
        hub_resources = [f"arn:{cdk.Aws.PARTITION}:sagemaker:*:{config.hub_account}:*"]
        role.add_to_policy(
            iam.PolicyStatement(sid="ReadTagsInTheHubAccount", actions=["sagemaker:ListTags"], resources=hub_resources)
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="AddAutoTaggerKeysInTheHubAccount",
                actions=["sagemaker:AddTags"],
                resources=hub_resources,
                conditions={"ForAllValues:StringLike": {"aws:TagKeys": list(auto_tagger_writable_keys())}},
            )
        )
        NagSuppressions.add_resource_suppressions(
            role,
            [
                {
                    "id": "AwsSolutions-IAM5",
                    "reason": "The spoke role has the same name in every member account (account unknown at synth); "
                    "SageMaker resources in the hub account are tagged in every governed region, any type.",
                    "appliesTo": [
                        f"Resource::arn:<AWS::Partition>:iam::*:role/{SPOKE_ROLE_NAME}",
                        f"Resource::arn:<AWS::Partition>:sagemaker:*:{config.hub_account}:*",
                    ],
                }
            ],
            apply_to_children=True,
        )
        return function

    def _job_ledger(self, config: MlgovConfig) -> None:
        """Ended training, processing and transform jobs -> one cost row each, in a table that outlives List*."""
        self.job_ledger_dlq = self._dead_letter_queue(
            "JobLedger", "mlgov-job-ledger-dlq-not-empty", "Job events the ledger could not record"
        )
        self.ledger_table = state_table(self, "JobLedgerTable", key="pk")  # the only record of finished jobs
        built = MlgovFunction(
            self,
            "JobLedger",
            name="job_ledger",
            role_name=JOB_LEDGER_ROLE_NAME,
            description="mlgov: records each ended SageMaker job and its cost in the job ledger",
            environment={
                "MLGOV_HUB_ACCOUNT": config.hub_account,
                "MLGOV_SPOKE_ROLE": SPOKE_ROLE_NAME,
                "MLGOV_LEDGER_TABLE": self.ledger_table.table_name,
                "MLGOV_DLQ_URL": self.job_ledger_dlq.queue_url,
            },
            dead_letter_queue=self.job_ledger_dlq,
            retry_attempts=2,
        )
        self.job_ledger, role = built.function, built.role
        self.job_ledger_dlq.grant_send_messages(role)
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteLedgerRows",
                actions=["dynamodb:PutItem"],
                resources=[self.ledger_table.table_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="AssumeSpokeRoles",
                actions=["sts:AssumeRole"],
                resources=[f"arn:{cdk.Aws.PARTITION}:iam::*:role/{SPOKE_ROLE_NAME}"],
            )
        )
        hub_training_jobs = f"arn:{cdk.Aws.PARTITION}:sagemaker:*:{config.hub_account}:training-job/*"
        role.add_to_policy(
            iam.PolicyStatement(
                sid="DescribeTrainingJobsInTheHubAccount",
                actions=["sagemaker:DescribeTrainingJob"],
                resources=[hub_training_jobs],
            )
        )
        pattern = job_state_change_pattern()
        self._route(
            "JobStateChangesRule",
            pattern,
            self.job_ledger,
            self.job_ledger_dlq,
            "mlgov: training, processing and transform job state changes from every governed account",
        )
        cdk.CfnOutput(self, "JobLedgerTableName", value=self.ledger_table.table_name)
        cdk.CfnOutput(self, "JobLedgerDlqUrl", value=self.job_ledger_dlq.queue_url)
        NagSuppressions.add_resource_suppressions(
            self.job_ledger_dlq,
            [{"id": "AwsSolutions-SQS3", "reason": "This queue is the job ledger's dead-letter queue; it needs none."}],
        )
        NagSuppressions.add_resource_suppressions(
            role,
            [
                {
                    "id": "AwsSolutions-IAM5",
                    "reason": "The spoke role has the same name in every member account (account unknown at synth); "
                    "the ledger describes any training job of the hub account in any governed region.",
                    "appliesTo": [
                        f"Resource::arn:<AWS::Partition>:iam::*:role/{SPOKE_ROLE_NAME}",
                        f"Resource::arn:<AWS::Partition>:sagemaker:*:{config.hub_account}:training-job/*",
                    ],
                }
            ],
            apply_to_children=True,
        )
        NagSuppressions.add_resource_suppressions(
            self.job_ledger,
            [
                {
                    "id": "AwsSolutions-L1",
                    "reason": "Python 3.12 is the runtime the pinned Powertools layer and the "
                    "test suite target; moving runtimes is a deliberate, tested change.",
                }
            ],
        )


def _cdk_pattern(pattern: dict) -> dict:
    """EventPattern keyword arguments from a raw EventBridge pattern."""
    return {"source": pattern["source"], "detail_type": pattern["detail-type"], "detail": pattern.get("detail")}
