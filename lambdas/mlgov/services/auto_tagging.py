"""The auto-tagger's work for one create: read the resource's tags, inherit Studio tags, add only what is missing."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from botocore.exceptions import ClientError

from mlgov.aws.sagemaker_tags import ResourceNotVisible, SageMakerTags
from mlgov.aws.sessions import AccountSessions
from mlgov.domain.create_event import CreateCall
from mlgov.domain.tagging import TagDefaults, tagging_plan

_SQS_BODY_LIMIT = 256 * 1024 - 2048  # leave room for the message attributes


@dataclass(frozen=True)
class TagResult:
    resource_arn: str
    added: Mapping[str, str]
    kept: tuple[str, ...]  # keys already present, left untouched

    def as_dict(self) -> dict:
        return {"resource_arn": self.resource_arn, "added": dict(self.added), "kept": list(self.kept)}


def studio_parent_arns(call: CreateCall) -> list[str]:
    """Closest first: the space or user profile an app/space lives in, then its domain."""
    if call.resource_type not in ("app", "space"):
        return []
    request = call.request_parameters
    domain_id = request.get("domainId")
    if not isinstance(domain_id, str):
        return []
    prefix = f"arn:{call.partition}:sagemaker:{call.region}:{call.account}"
    parents = []
    if call.resource_type == "app" and isinstance(request.get("spaceName"), str):
        parents.append(f"{prefix}:space/{domain_id}/{request['spaceName']}")
    if isinstance(request.get("userProfileName"), str):
        parents.append(f"{prefix}:user-profile/{domain_id}/{request['userProfileName']}")
    parents.append(f"{prefix}:domain/{domain_id}")
    return parents


def tag_new_resource(
    call: CreateCall,
    sessions: AccountSessions,
    defaults: TagDefaults,
    sleep: Callable[[float], None] | None = None,
    log: Callable[..., None] = lambda *args, **kwargs: None,
) -> TagResult:
    client = sessions.client("sagemaker", call.account, call.region, call.partition)
    tags = SageMakerTags(client, **({"sleep": sleep} if sleep else {}))
    existing = tags.list_tags(call.resource_arn)
    inherited: dict[str, str] = {}
    for parent in reversed(studio_parent_arns(call)):  # closest parent wins
        try:
            inherited.update(SageMakerTags(client, attempts=1).list_tags(parent))
        except (ClientError, ResourceNotVisible) as err:
            log("studio parent tags unavailable", parent=parent, error=str(err))
    plan = tagging_plan(call, existing, defaults, inherited)
    tags.add_tags(call.resource_arn, plan)
    return TagResult(call.resource_arn, plan, tuple(sorted(set(existing) | set(call.request_tags))))


def park_in_dead_letter_queue(sqs_client, queue_url: str, event: object, reason: str) -> None:
    """A bad event is kept, with the reason, for a human; it is never retried."""
    body = json.dumps(event, default=str)
    if len(body.encode()) > _SQS_BODY_LIMIT:
        detail = event.get("detail") if isinstance(event, Mapping) and isinstance(event.get("detail"), Mapping) else {}
        body = json.dumps(
            {
                "truncated": True,
                "id": event.get("id") if isinstance(event, Mapping) else None,
                "detail": {key: detail.get(key) for key in ("eventID", "eventName", "recipientAccountId", "awsRegion")},
            }
        )
    sqs_client.send_message(
        QueueUrl=queue_url,
        MessageBody=body,
        MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:1024]}},
    )
