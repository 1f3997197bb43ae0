"""What discovery knows about one SageMaker resource: the shared data model of inventory, costing and reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

# resource_type values are SageMaker's ARN resource names (DESIGN.md, "Scan report").
PERSISTENT_TYPES = frozenset(
    {
        "endpoint",
        "notebook-instance",
        "app",
        "space",
        "cluster",
        "inference-component",
        "feature-group",
        "mlflow-tracking-server",
        "mlflow-app",
    }
)
JOB_TYPES = frozenset(
    {
        "training-job",
        "processing-job",
        "transform-job",
        "hyper-parameter-tuning-job",
        "automl-job",
        "labeling-job",
        "compilation-job",
    }
)


@dataclass(frozen=True)
class Variant:
    """One production variant of an endpoint: type from the endpoint config, current count from the endpoint."""

    name: str
    instance_type: str | None  # None for serverless variants
    current_count: int
    serverless_memory_mb: int | None = None
    serverless_max_concurrency: int | None = None

    @property
    def serverless(self) -> bool:
        return self.instance_type is None and self.serverless_memory_mb is not None


@dataclass(frozen=True)
class InstanceGroup:
    """One HyperPod instance group."""

    name: str
    instance_type: str
    current_count: int
    target_count: int


@dataclass(frozen=True)
class Resource:
    arn: str
    account: str
    region: str
    resource_type: str
    name: str
    status: str  # the service's own status: InService, Completed, Running, Stopped, ...
    created: datetime | None
    tags: Mapping[str, str] = field(default_factory=dict)
    # Billed by the hour while `running` (persistent resources): instance type and count, or the parts below.
    running: bool = False
    instance_type: str | None = None
    instance_count: int = 0
    variants: tuple[Variant, ...] = ()
    instance_groups: tuple[InstanceGroup, ...] = ()
    # Jobs: billed for their run.
    started: datetime | None = None
    ended: datetime | None = None
    billable_seconds: int | None = None
    training_seconds: int | None = None
    managed_spot: bool = False
    # Type-specific facts kept as evidence in the report (endpoint config name, app type, parent domain...).
    details: Mapping[str, object] = field(default_factory=dict)

    @property
    def is_job(self) -> bool:
        return self.resource_type in JOB_TYPES

    @property
    def owner(self) -> str | None:
        return self.tags.get("mlgov:created-by")


@dataclass(frozen=True)
class ScanError:
    account: str
    region: str
    operation: str
    message: str
