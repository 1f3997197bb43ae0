"""Which SageMaker create operations the SCPs govern, which they leave alone, and why (one table)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SERVICE_PREFIX = "sagemaker"
# Creates whose API refuses Tags in a documented mode: a deny on a missing aws:RequestTag would block that mode for
# every caller, so the SCPs leave them alone (the auto-tagger still tags what it can). Each reason quotes the botocore
# model's documentation, and a test re-reads it there.
TAGS_REFUSED_IN_A_MODE = {
    "CreateModelPackage": (
        "a versioned model package (ModelPackageGroupName set: Pipelines RegisterModel, model.register()) "
        "'uses the tags associated with the model group ... you cannot supply a tag argument': "
        "governed through CreateModelPackageGroup"
    ),
}


@dataclass(frozen=True)
class ServiceCatalog:
    """What the installed botocore model and IAM's service authorization data say about SageMaker."""

    api_operations: frozenset[str]  # every operation in the botocore model
    tag_accepting_creates: frozenset[str]  # Create* operations whose input has a Tags member
    iam_actions: frozenset[str]  # every SageMaker action IAM knows
    request_tag_actions: frozenset[str]  # IAM actions that support aws:RequestTag/${TagKey}
    resource_types: Mapping[str, str]  # IAM action -> resource type it creates
    sources: Mapping[str, str]  # data source -> version, for the report

    @property
    def known_actions(self) -> frozenset[str]:
        """Every action name either source knows; wildcards are proven safe against this set."""
        return self.api_operations | self.iam_actions


@dataclass(frozen=True)
class ActionRow:
    operation: str
    resource_type: str
    accepts_tags: bool
    iam_request_tag: bool
    governed: bool
    reason: str

    @property
    def action(self) -> str:
        return f"{SERVICE_PREFIX}:{self.operation}"

    def as_json(self) -> dict:
        return {
            "operation": self.operation,
            "resource_type": self.resource_type,
            "accepts_tags": self.accepts_tags,
            "iam_request_tag": self.iam_request_tag,
            "governed": self.governed,
            "reason": self.reason,
        }


def classify_creates(
    catalog: ServiceCatalog,
    studio_ui_actions: Iterable[str] = (),
    studio_ui_enforced: bool = True,
    studio_ui_reason: str = "",
) -> tuple[ActionRow, ...]:
    """One row per Create* operation known to either source, sorted by name."""
    studio = set(studio_ui_actions)
    creates = {name for name in catalog.api_operations | catalog.iam_actions if name.startswith("Create")}
    rows = []
    for operation in sorted(creates):
        accepts_tags = operation in catalog.tag_accepting_creates
        iam_request_tag = operation in catalog.request_tag_actions
        governed = accepts_tags and iam_request_tag
        reason = _reason(operation, accepts_tags, iam_request_tag, catalog)
        if governed and operation in TAGS_REFUSED_IN_A_MODE:
            governed, reason = False, f"refuses Tags in one mode, never denied: {TAGS_REFUSED_IN_A_MODE[operation]}"
        if governed and operation in studio and not studio_ui_enforced:
            governed, reason = False, f"Studio UI create, not enforced: {studio_ui_reason}"
        resource_type = catalog.resource_types.get(operation) or default_resource_type(operation)
        rows.append(ActionRow(operation, resource_type, accepts_tags, iam_request_tag, governed, reason))
    return tuple(rows)


def _reason(operation: str, accepts_tags: bool, iam_request_tag: bool, catalog: ServiceCatalog) -> str:
    if accepts_tags and iam_request_tag:
        return "accepts Tags and IAM supports aws:RequestTag for it"
    if accepts_tags and operation not in catalog.iam_actions:
        return "accepts Tags but IAM's authorization data does not know the action yet"
    if accepts_tags:
        return "accepts Tags but IAM lists no aws:RequestTag key for it: a deny would fire on every call"
    if iam_request_tag:
        return "IAM lists aws:RequestTag but the API takes no Tags: a deny would fire on every call"
    if operation not in catalog.api_operations:
        return "IAM-only action with no API operation and no aws:RequestTag key"
    return "takes no Tags (presigned URL, export or version): never denied"


_CAMEL_WORD = re.compile(r"[A-Z][a-z0-9]+|[A-Z]+(?![a-z])[0-9]*")


def camel_words(name: str) -> list[str]:
    """CreateAutoMLJobV2 -> [Create, Auto, ML, Job, V2]: acronyms and version suffixes stay whole, as
    botocore's xform_name splits SageMaker operations (create_auto_ml_job_v2)."""
    return _CAMEL_WORD.findall(name)


def default_resource_type(operation: str) -> str:
    """CreateHyperParameterTuningJob -> hyper-parameter-tuning-job (used when IAM data has no row)."""
    noun = operation.removeprefix("Create")
    noun = noun.replace("AutoML", "Automl").replace("AI", "Ai").replace("V2", "")
    return re.sub(r"(?<!^)(?=[A-Z])", "-", noun).lower()
