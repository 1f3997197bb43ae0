"""Simulates a SageMaker call against the compiled SCPs, including the AddTags check SageMaker makes on create."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mlgov.domain.governed_actions import SERVICE_PREFIX
from mlgov.domain.iam_eval import Decision, RequestContext, evaluate

DEFAULT_PRINCIPAL = "arn:aws:iam::111122223333:role/DataScientist"
ADD_TAGS = f"{SERVICE_PREFIX}:AddTags"
DELETE_TAGS = f"{SERVICE_PREFIX}:DeleteTags"


@dataclass(frozen=True)
class Authorization:
    """One authorization SageMaker performs for the call, and the SCPs' decision on it."""

    label: str  # "sagemaker:CreateEndpoint" or "sagemaker:AddTags (TaggingAction=CreateEndpoint)"
    decision: Decision


@dataclass(frozen=True)
class Simulation:
    authorizations: tuple[Authorization, ...]

    @property
    def allowed(self) -> bool:
        return all(a.decision.allowed for a in self.authorizations)

    @property
    def verdict(self) -> str:
        return "ALLOW" if self.allowed else "DENY"


def normalize_action(action: str) -> str:
    return action if ":" in action else f"{SERVICE_PREFIX}:{action}"


def simulate_call(
    policies: Mapping[str, Mapping],
    action: str,
    tags: Mapping[str, str],
    principal_arn: str = DEFAULT_PRINCIPAL,
    tag_keys: Sequence[str] | None = None,
    resource: str = "*",
) -> Simulation:
    """Evaluate `action` on `resource` with request `tags` the way SageMaker authorizes it.

    A SageMaker create that carries tags is authorized twice: the create itself and sagemaker:AddTags with
    sagemaker:TaggingAction set to the create. DeleteTags carries only keys (`tag_keys`, else the tag names).
    Any other service's action (iam:CreateRole on a role ARN) is one authorization.
    """
    action = normalize_action(action)
    service, operation = action.split(":", 1)
    if action.lower() == DELETE_TAGS.lower():
        keys = list(tag_keys if tag_keys is not None else tags)
        request = RequestContext(
            action=action, principal_arn=principal_arn, resource=resource, context={"aws:TagKeys": keys}
        )
        return Simulation((Authorization(action, evaluate(policies, request)),))
    requests = [(action, RequestContext.for_tags(action, tags, principal_arn=principal_arn, resource=resource))]
    if tags and service.lower() == SERVICE_PREFIX and operation.lower().startswith("create"):
        tagging = RequestContext.for_tags(ADD_TAGS, tags, principal_arn=principal_arn)
        tagging = RequestContext(
            action=ADD_TAGS,
            principal_arn=principal_arn,
            resource=resource,
            context={**tagging.context, "sagemaker:TaggingAction": operation},
        )
        requests.append((f"{ADD_TAGS} (TaggingAction={operation})", tagging))
    return Simulation(tuple(Authorization(label, evaluate(policies, request)) for label, request in requests))
