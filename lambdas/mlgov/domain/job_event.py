"""Parses a SageMaker job state-change event (training, processing, transform) into JobEnded or JobNotEnded."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from mlgov.domain.create_event import SAGEMAKER_SOURCE, BadEvent
from mlgov.domain.inventory import InstanceGroup, Resource
from mlgov.domain.resource_identity import split_arn


@dataclass(frozen=True)
class JobKind:
    """Where one job type keeps its facts in the event detail (the Describe<Job> response shape)."""

    resource_type: str  # SageMaker's ARN resource name
    prefix: str  # TrainingJob -> TrainingJobName / TrainingJobArn / TrainingJobStatus
    resources: tuple[str, ...]  # path to the object holding InstanceType / InstanceCount
    started: str
    ended: str


# One row per detail-type: the table the hub rule, the spoke rule and the parser share.
JOB_KINDS: Mapping[str, JobKind] = {
    "SageMaker Training Job State Change": JobKind(
        "training-job", "TrainingJob", ("ResourceConfig",), "TrainingStartTime", "TrainingEndTime"
    ),
    "SageMaker Processing Job State Change": JobKind(
        "processing-job",
        "ProcessingJob",
        ("ProcessingResources", "ClusterConfig"),
        "ProcessingStartTime",
        "ProcessingEndTime",
    ),
    "SageMaker Transform Job State Change": JobKind(
        "transform-job", "TransformJob", ("TransformResources",), "TransformStartTime", "TransformEndTime"
    ),
}
JOB_STATE_CHANGE_DETAIL_TYPES = tuple(JOB_KINDS)
TERMINAL_STATES = frozenset({"Completed", "Failed", "Stopped"})
# Epoch milliseconds before 2000-01-01 are not SageMaker timestamps (most likely epoch seconds): refuse, never guess.
_EARLIEST_EPOCH_MS = 946_684_800_000


@dataclass(frozen=True)
class JobNotEnded:
    """A state change before the end (InProgress, Stopping, ...): acknowledged, nothing to record."""

    event_id: str
    arn: str
    account: str
    status: str


@dataclass(frozen=True)
class JobEnded:
    """A job that reached Completed, Failed or Stopped, with what the event says about its run."""

    event_id: str
    arn: str
    account: str
    region: str
    partition: str
    resource_type: str
    name: str
    status: str
    created: datetime | None
    started: datetime | None  # None when the job ended before its instances started
    ended: datetime  # the event's end time, or the event's own time when the detail has none
    instance_type: str | None
    instance_count: int
    instance_groups: tuple[InstanceGroup, ...]
    tags: Mapping[str, str]
    billable_seconds: int | None = None
    training_seconds: int | None = None
    managed_spot: bool = False
    failure_reason: str | None = None

    @property
    def needs_training_times(self) -> bool:
        """Training events carry no billable time (the documented example has none): DescribeTrainingJob has it."""
        return self.resource_type == "training-job" and self.billable_seconds is None


def parse_job_event(event: object) -> JobEnded | JobNotEnded:
    if not isinstance(event, Mapping):
        raise BadEvent(f"event is a {type(event).__name__}, not an object")
    kind = JOB_KINDS.get(event.get("detail-type"))  # type: ignore[arg-type]
    if event.get("source") != SAGEMAKER_SOURCE or kind is None:
        raise BadEvent(
            f"not a SageMaker job state change (source={event.get('source')!r}, "
            f"detail-type={event.get('detail-type')!r})"
        )
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise BadEvent("event has no 'detail' object")
    event_id = _text(event, "id", "event")
    status = _text(detail, f"{kind.prefix}Status")
    arn, account, region, partition, name = _identity(event, detail, kind)
    if status not in TERMINAL_STATES:
        return JobNotEnded(event_id=event_id, arn=arn, account=account, status=status)
    ended = _timestamp(detail.get(kind.ended), f"detail.{kind.ended}") if detail.get(kind.ended) else None
    if ended is None:
        ended = _timestamp(event.get("time"), "time")
    started = _timestamp(detail.get(kind.started), f"detail.{kind.started}") if detail.get(kind.started) else None
    created = _timestamp(detail.get("CreationTime"), "detail.CreationTime") if detail.get("CreationTime") else None
    instance_type, instance_count, groups = _instances(detail, kind)
    failure = detail.get("FailureReason")
    return JobEnded(
        event_id=event_id,
        arn=arn,
        account=account,
        region=region,
        partition=partition,
        resource_type=kind.resource_type,
        name=name,
        status=status,
        created=created,
        started=started,
        ended=ended,
        instance_type=instance_type,
        instance_count=instance_count,
        instance_groups=groups,
        tags=event_tags(detail.get("Tags")),
        billable_seconds=_seconds(detail, "BillableTimeInSeconds"),
        training_seconds=_seconds(detail, "TrainingTimeInSeconds"),
        managed_spot=detail.get("EnableManagedSpotTraining") is True,
        failure_reason=failure if isinstance(failure, str) and failure else None,
    )


def with_training_times(job: JobEnded, described: Mapping) -> JobEnded:
    """The job completed with DescribeTrainingJob's billable and training seconds and its managed-spot flag."""
    return replace(
        job,
        billable_seconds=_seconds(described, "BillableTimeInSeconds"),
        training_seconds=_seconds(described, "TrainingTimeInSeconds"),
        managed_spot=described.get("EnableManagedSpotTraining") is True,
    )


def job_resource(job: JobEnded) -> Resource:
    """The ended job as inventory knows resources, ready for costing.cost_of."""
    details: dict[str, object] = {"event_id": job.event_id}
    if job.failure_reason:
        details["failure_reason"] = job.failure_reason
    return Resource(
        arn=job.arn,
        account=job.account,
        region=job.region,
        resource_type=job.resource_type,
        name=job.name,
        status=job.status,
        created=job.created,
        tags=dict(job.tags),
        instance_type=job.instance_type,
        instance_count=job.instance_count,
        instance_groups=job.instance_groups,
        started=job.started,
        ended=job.ended,
        billable_seconds=job.billable_seconds,
        training_seconds=job.training_seconds,
        managed_spot=job.managed_spot,
        details=details,
    )


def event_tags(value: object) -> dict[str, str]:
    """detail.Tags is a {key: value} map; a [{Key, Value}] list is accepted too. Anything else: no tags."""
    if isinstance(value, Mapping):
        return {str(key): str(tag) for key, tag in value.items()}
    found: dict[str, str] = {}
    if isinstance(value, list):
        for entry in value:
            if isinstance(entry, Mapping) and isinstance(entry.get("Key"), str):
                found[entry["Key"]] = str(entry.get("Value", ""))
    return found


def parse_timestamp(value: object) -> datetime:
    """Epoch milliseconds (number or numeric string) or an ISO 8601 string, as an aware UTC datetime."""
    if isinstance(value, bool):
        raise ValueError("a boolean is not a timestamp")
    if isinstance(value, str):
        text = value.strip()
        try:
            value = float(text)
        except ValueError:
            parsed = datetime.fromisoformat(text)
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < _EARLIEST_EPOCH_MS:
            raise ValueError("not epoch milliseconds after 2000-01-01")
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    raise ValueError(f"a {type(value).__name__} is not a timestamp")


def _timestamp(value: object, where: str) -> datetime:
    try:
        return parse_timestamp(value)
    except (ValueError, OverflowError, OSError) as err:
        raise BadEvent(f"{where} {value!r} is not a timestamp ({err})") from None


def _identity(event: Mapping, detail: Mapping, kind: JobKind) -> tuple[str, str, str, str, str]:
    """(arn, account, region, partition, name): the ARN is the truth; the envelope must agree with it."""
    arn = detail.get(f"{kind.prefix}Arn")
    if not isinstance(arn, str) or not arn:
        resources = event.get("resources")
        arn = resources[0] if isinstance(resources, list) and len(resources) == 1 else None
    if not isinstance(arn, str):
        raise BadEvent(f"detail.{kind.prefix}Arn is missing")
    parts = split_arn(arn)
    if parts is None or parts.service != "sagemaker" or not parts.resource.startswith(f"{kind.resource_type}/"):
        raise BadEvent(f"{arn!r} is not a SageMaker {kind.resource_type} ARN")
    partition, _, region, account, resource = parts
    if not (account.isdigit() and len(account) == 12 and region):
        raise BadEvent(f"{arn!r} has no account or region")
    for envelope_key, from_arn in (("account", account), ("region", region)):
        claimed = event.get(envelope_key)
        if claimed is not None and claimed != from_arn:
            raise BadEvent(f"event {envelope_key} {claimed!r} does not match the job ARN {arn!r}")
    # The detail's name keeps the creator's casing (ARNs are lower-cased); the documented example's name and ARN
    # even differ, so the name is taken as reported, not checked against the ARN.
    detail_name = detail.get(f"{kind.prefix}Name")
    name = detail_name if isinstance(detail_name, str) and detail_name else resource.split("/", 1)[1]
    return arn, account, region, partition, name


def _instances(detail: Mapping, kind: JobKind) -> tuple[str | None, int, tuple[InstanceGroup, ...]]:
    """Instance type and count (the selected ones when the job chose from preferences), or its instance groups."""
    config: object = detail
    for key in kind.resources:
        config = config.get(key) if isinstance(config, Mapping) else None
    if not isinstance(config, Mapping):
        return None, 0, ()
    groups = tuple(
        InstanceGroup(
            name=str(group.get("InstanceGroupName", "")),
            instance_type=group["InstanceType"],
            current_count=_count(group.get("InstanceCount")),
            target_count=_count(group.get("InstanceCount")),
        )
        for group in config.get("InstanceGroups") or []
        if isinstance(group, Mapping) and isinstance(group.get("InstanceType"), str)
    )
    if groups:
        return None, sum(group.current_count for group in groups), groups
    instance_type = config.get("SelectedInstanceType") or config.get("InstanceType")
    count = _count(config.get("SelectedInstanceCount") or config.get("InstanceCount"))
    return (instance_type if isinstance(instance_type, str) and instance_type else None), count, ()


def _count(value: object) -> int:
    """Counts come as numbers (the endpoint example even has 1.0); anything else counts as unreported (0)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return 0
    return int(value)


def _seconds(source: Mapping, key: str) -> int | None:
    value = source.get(key)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        return None
    return int(value)


def _text(source: Mapping, key: str, where: str = "detail") -> str:
    value = source.get(key)
    if not isinstance(value, str) or not value:
        raise BadEvent(f"{where}.{key} is missing")
    return value
