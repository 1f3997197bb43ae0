"""Wiring for the hyperpod_scheduler Lambda: its settings, spoke-role sessions, the state table, one pass per target.

Environment (read once, on first use):
    MLGOV_HUB_ACCOUNT, MLGOV_SPOKE_ROLE, MLGOV_ENDPOINT_URL   shared with the other functions (mlgov.settings)
    MLGOV_HYPERPOD_STATE_TABLE   required: the DynamoDB table (partition key `pk`, string)
    MLGOV_HYPERPOD_APPLY         `true` to scale; anything else (or unset) is a dry run that changes nothing
    MLGOV_TARGETS                JSON {"accounts": ["111122223333", ...], "regions": ["eu-west-1", ...]}: every
                                 account × region is scheduled; accounts default to the hub's, regions to AWS_REGION
An invocation event may narrow a run: {"accounts": [...], "regions": [...], "dry_run": true}. It can force a dry
run but never turn one into a real run. {"task": "set_schedule", "cluster_arn", "schedule" (None clears it), "by"}
sets a cluster's `mlgov:schedule` (`mlgov hyperpod schedule`): the key is protected by the SCPs, so schedules come
only from the platform, through the hub.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from mlgov.aws.endpoint_scaling import ScheduledEndpoints
from mlgov.aws.hyperpod import HyperPodClusters
from mlgov.aws.hyperpod_state import DynamoDbStateStore, StateStore
from mlgov.aws.inventory import not_found
from mlgov.aws.sessions import RETRY_CONFIG, AccountSessions
from mlgov.domain.endpoint_schedules import ENDPOINT
from mlgov.domain.resource_identity import partition_for_region, split_arn
from mlgov.domain.schedules import SCHEDULE_TAG, ScheduleError, parse_schedule
from mlgov.services.endpoint_schedules import endpoint_schedule_pass, scheduled_resource
from mlgov.services.hyperpod import ClusterOutcome, PassError, schedule_pass, summarize
from mlgov.settings import SchedulerSettings, parse_targets, scheduler_settings

# One attempt, time to finish: a retried restore would race the first one into an "already exists" refusal.
UNPARK_INVOKE = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=5, read_timeout=120)
PASS_HOLD = timedelta(minutes=6)  # longer than the function's 5-minute timeout: a crashed pass frees it then
SESSION_NAME = "mlgov-hyperpod-scheduler"  # how the scheduler's calls show in member accounts' CloudTrail


def _parked(sagemaker, kind: str, name: str) -> bool:
    """An endpoint that does not exist (parked, or deleted): its schedule record can still be cleared."""
    if kind != ENDPOINT:
        return False
    try:
        sagemaker.describe_endpoint(EndpointName=name)
    except ClientError as err:
        if not_found(err):
            return True
        raise
    return False


class ScheduleRefused(ValueError):
    """A set_schedule request the hub will not carry out; the invocation fails with this one-line reason."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class HyperPodSchedulerRuntime:
    config: SchedulerSettings
    sessions: AccountSessions
    store: StateStore
    clock: Callable[[], datetime] = _utcnow

    @classmethod
    def from_settings(cls, config: SchedulerSettings | None = None) -> HyperPodSchedulerRuntime:
        config = config or scheduler_settings()
        sessions = AccountSessions(
            config.hub_account, config.spoke_role_name, endpoint_url=config.endpoint_url, session_name=SESSION_NAME
        )
        dynamodb = boto3.client("dynamodb", config=RETRY_CONFIG, endpoint_url=config.endpoint_url)
        return cls(config, sessions, DynamoDbStateStore(dynamodb, config.state_table))

    def scheduled_accounts(self) -> list[str]:
        """The configured accounts, or in org mode every ACTIVE account below the target OUs (the StackSet gives each
        of them the spoke role), never the management account."""
        if not self.config.target_ous:
            return list(self.config.accounts)
        from mlgov.aws.organization import organization_accounts

        organizations = boto3.client("organizations", config=RETRY_CONFIG, endpoint_url=self.config.endpoint_url)
        return organization_accounts(
            organizations,
            self.config.hub_account,
            target_ous=self.config.target_ous,
            management_account=self.config.management_account,
        )

    def set_schedule(self, cluster_arn: str, schedule: str | None, by: str) -> dict:
        """Tag (or, with None, untag) the schedule of a HyperPod cluster, an endpoint or an inference component
        through the spoke role; ScheduleRefused when the ARN is none of them in a scheduled account, the resource
        does not exist, or the schedule does not parse."""
        parts = split_arn(cluster_arn)
        resource = scheduled_resource(cluster_arn)
        if parts is None or parts.service != "sagemaker" or not (parts.resource.startswith("cluster/") or resource):
            raise ScheduleRefused(
                f"{cluster_arn!r} is not the ARN of a HyperPod cluster, an endpoint or an inference component "
                "(arn:aws:sagemaker:<region>:<account>:cluster/..., endpoint/..., inference-component/...)"
            )
        accounts = self.scheduled_accounts()
        if parts.account not in accounts or parts.region not in self.config.regions:
            raise ScheduleRefused(
                f"{parts.account}/{parts.region} is not scheduled by this hub "
                f"(accounts {', '.join(accounts)}; regions {', '.join(self.config.regions)})"
            )
        if schedule is not None:
            try:
                parks = parse_schedule(schedule).park
            except ScheduleError as err:
                raise ScheduleRefused(str(err)) from None
            if parks and (resource is None or resource[0] != ENDPOINT):
                raise ScheduleRefused(f"{schedule!r}: park applies to endpoints only (a parked endpoint is deleted "
                                      "and recreated; clusters and inference components are scaled)")  # fmt: skip
        sagemaker = self.sessions.client("sagemaker", parts.account, parts.region, parts.partition)
        now = self.clock()
        name = ""  # a cluster ARN holds the cluster id, not its name
        if resource is not None:  # endpoints and components are described: their ARN lower-cases the name
            kind, _, _, arn_name = resource
            recorded = self.store.get(cluster_arn) if schedule is None else None
            if recorded is not None and _parked(sagemaker, kind, arn_name):  # clearing the schedule of a parked
                self.store.record_schedule(cluster_arn, recorded.name, None, by, now)  # endpoint: nothing to untag
                return {"cluster_arn": cluster_arn, "schedule": None, "by": by, "at": now.isoformat(),
                        "note": "the endpoint is parked (deleted): restore it with `mlgov restore`"}  # fmt: skip
            name, cluster_arn = self._exact_name(sagemaker, kind, arn_name)
        # Recorded first: a tag without its record is never followed, a record without its tag schedules nothing.
        self.store.record_schedule(cluster_arn, name, schedule, by, now)
        if schedule is None:
            sagemaker.delete_tags(ResourceArn=cluster_arn, TagKeys=[SCHEDULE_TAG])
        else:
            sagemaker.add_tags(ResourceArn=cluster_arn, Tags=[{"Key": SCHEDULE_TAG, "Value": schedule}])
        return {"cluster_arn": cluster_arn, "schedule": schedule, "by": by, "at": now.isoformat()}

    @staticmethod
    def _exact_name(sagemaker, kind: str, name: str) -> tuple[str, str]:
        """(name, ARN) as SageMaker describes the endpoint or component; ScheduleRefused when it does not exist."""
        try:
            if kind == ENDPOINT:
                described = sagemaker.describe_endpoint(EndpointName=name)
                return described["EndpointName"], described["EndpointArn"]
            described = sagemaker.describe_inference_component(InferenceComponentName=name)
            return described["InferenceComponentName"], described["InferenceComponentArn"]
        except ClientError as err:
            if not_found(err):
                raise ScheduleRefused(f"{kind} {name} does not exist") from None
            raise

    def _parking(self):
        """The hub's approval flow, which parks (`park` schedules) and restores endpoints; None when not wired."""
        config = self.config
        if not (config.approval_state_machine_arn and config.approval_function):
            return None
        from mlgov.aws.parking import HubParking

        def client(service: str, settings: Config = RETRY_CONFIG):
            return boto3.client(service, config=settings, endpoint_url=config.endpoint_url)

        return HubParking(
            client("stepfunctions"),  # StartExecution under a fixed name: a retry cannot start a second park
            client("lambda", UNPARK_INVOKE),
            config.approval_state_machine_arn,
            config.approval_function,
        )

    def publish_problems(self, summary: Mapping, log=None) -> int:
        """A real pass's rejected actions and not-restored minimums on the notifications topic (someone must look:
        a resource may stay scaled down); how many were published. A failed publish is logged, never raised."""
        if not self.config.notify_topic or summary.get("dry_run"):
            return 0
        problems = [
            f"{o['outcome']}: {o['cluster']} ({o['arn']}): {o['reason']}"
            + (f" — {o['message']}" if o["message"] else "")
            for o in summary.get("clusters", [])
            if o["outcome"] == "rejected" or "not restored" in o["reason"]
        ]
        if not problems:
            return 0
        from mlgov.aws.notify_topic import publish_notice

        sns = boto3.client("sns", config=RETRY_CONFIG, endpoint_url=self.config.endpoint_url)
        try:
            publish_notice(sns, self.config.notify_topic, "mlgov schedule problem", "\n".join(problems))
        except (ClientError, BotoCoreError) as err:
            (log or (lambda *a, **k: None))("schedule problems not published", error=str(err))
            return 0
        return len(problems)

    def run(self, event: Mapping | None = None, log=None, holder: str | None = None) -> dict:
        """One pass over every target account × region; the summary of what was decided and done. A real pass
        holds the state table's pass item (`holder`: this invocation's id): while another one runs, it skips."""
        event = event if isinstance(event, Mapping) else {}
        holder = holder or uuid.uuid4().hex
        now = self.clock()
        if not self.store.acquire_pass(holder, now, PASS_HOLD):
            return {**summarize([], [], dry_run=True, now=now), "skipped": "another scheduler pass is running"}
        try:
            return self._run(event, log)
        finally:
            self.store.release_pass(holder)

    def _run(self, event: Mapping, log) -> dict:
        narrowed = {key: event[key] for key in ("accounts", "regions") if key in event}
        accounts, regions = parse_targets(narrowed, self.scheduled_accounts(), list(self.config.regions))
        dry_run = not self.config.apply or bool(event.get("dry_run"))
        now = self.clock()
        errors: list[PassError] = []
        try:  # endpoints and components are scheduled from the records; HyperPod clusters go on without them
            scheduled = [r for r in self.store.records() if r.schedule and scheduled_resource(r.arn)]
        except (ClientError, BotoCoreError) as err:
            scheduled = []
            errors.append(PassError(self.config.hub_account, "-", "Scan", f"state table not read: {err}"))
        outcomes: list[ClusterOutcome] = []
        for account in accounts:
            for region in regions:
                try:
                    sagemaker = self.sessions.client("sagemaker", account, region, partition_for_region(region))
                except (ClientError, BotoCoreError) as err:  # e.g. the spoke role is missing in that account
                    errors.append(PassError(account, region, "AssumeRole", str(err)))
                    continue
                found, failed = schedule_pass(
                    HyperPodClusters(sagemaker),
                    self.store,
                    account=account,
                    region=region,
                    now=now,
                    apply=not dry_run,
                    log=log,
                )
                outcomes.extend(found)
                errors.extend(failed)
                if scheduled:
                    resources = ScheduledEndpoints(
                        sagemaker,
                        self.sessions.client("application-autoscaling", account, region, partition_for_region(region)),
                    )
                    outcomes += endpoint_schedule_pass(
                        resources, self.store, scheduled, account=account, region=region, now=now,
                        apply=not dry_run, log=log, parking=self._parking(),
                    )  # fmt: skip
        return summarize(outcomes, errors, dry_run=dry_run, now=now)
