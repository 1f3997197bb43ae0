"""Parses an EventBridge "AWS API Call via CloudTrail" SageMaker create event into a CreateCall, or says why not."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from mlgov.domain.creator_identity import Creator, resolve_creator
from mlgov.domain.resource_identity import (
    RESOURCE_ARNS,
    MissingResourceIdentity,
    partition_for_region,
    resource_arn,
    split_arn,
)

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
# Records SageMaker makes itself (training jobs of a tuning job) come as AwsServiceEvent under this detail-type.
SERVICE_EVENT_DETAIL_TYPE = "AWS Service Event via CloudTrail"
CREATE_DETAIL_TYPES = (CLOUDTRAIL_DETAIL_TYPE, SERVICE_EVENT_DETAIL_TYPE)
SAGEMAKER_SOURCE = "aws.sagemaker"


class BadEvent(ValueError):
    """The event cannot be acted on; the message says why (logged and parked in the DLQ, never retried)."""


class ResourceInAnotherAccount(BadEvent):
    """A sound record of a create whose resource lives in another account (a model version registered into a
    central registry's group, say): that account's own record is the one to act on, so this one is skipped, not
    parked."""


@dataclass(frozen=True)
class CreateCall:
    event_id: str  # CloudTrail eventID: the idempotency key
    event_name: str
    account: str
    region: str
    partition: str
    resource_arn: str
    resource_type: str
    event_time: datetime
    creator: Creator
    request_parameters: Mapping
    request_tags: Mapping[str, str]  # tags the creator passed on the call


def parse_create_event(event: object, trusted_federation_roles: Collection[str] = ()) -> CreateCall:
    """The create call in `event`; `trusted_federation_roles`: see creator_identity.resolve_creator."""
    if not isinstance(event, Mapping):
        raise BadEvent(f"event is a {type(event).__name__}, not an object")
    if event.get("source") != SAGEMAKER_SOURCE or event.get("detail-type") not in CREATE_DETAIL_TYPES:
        raise BadEvent(
            f"not a SageMaker CloudTrail API call (source={event.get('source')!r}, "
            f"detail-type={event.get('detail-type')!r})"
        )
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise BadEvent("event has no 'detail' object")
    event_name = _required_text(detail, "eventName")
    if detail.get("errorCode"):
        raise BadEvent(f"{event_name} failed ({detail['errorCode']}): nothing was created")
    if event_name not in RESOURCE_ARNS:
        raise BadEvent(f"{event_name} is not a SageMaker create mlgov knows how to tag")
    account = _required_text(detail, "recipientAccountId", fallback=event.get("account"))
    region = _required_text(detail, "awsRegion", fallback=event.get("region"))
    request = detail.get("requestParameters") or {}
    if not isinstance(request, Mapping):
        raise BadEvent("requestParameters is not an object")
    partition = partition_for_region(region)
    try:
        arn = resource_arn(event_name, request, detail.get("responseElements"), account, region, partition)
    except MissingResourceIdentity as err:
        raise BadEvent(str(err)) from None
    _same_account_and_region(event, arn, account, region)
    return CreateCall(
        event_id=_required_text(detail, "eventID", fallback=event.get("id")),
        event_name=event_name,
        account=account,
        region=region,
        partition=partition,
        resource_arn=arn,
        resource_type=RESOURCE_ARNS[event_name].resource_type,
        event_time=_event_time(detail.get("eventTime") or event.get("time")),
        creator=resolve_creator(detail, trusted_federation_roles),
        request_parameters=request,
        request_tags=request_tags(request),
    )


def _same_account_and_region(event: Mapping, arn: str, account: str, region: str) -> None:
    """The record, its EventBridge envelope and the created resource agree on the account and region, so the
    auto-tagger acts where the call was recorded. A record and envelope that disagree are rejected (BadEvent); a
    resource created in another account (ResourceInAnotherAccount) is left to that account's own record."""
    parts = split_arn(arn)
    if parts is None or not parts.region or not parts.account:
        raise BadEvent(f"resource ARN {arn!r} names no account or region")
    arn_region, arn_account = parts.region, parts.account
    envelope_account = event.get("account")
    if envelope_account is not None and envelope_account != account:
        raise BadEvent(f"account {envelope_account!r} does not match detail.recipientAccountId {account!r}")
    if arn_account != account:
        raise ResourceInAnotherAccount(
            f"the created resource {arn!r} is in account {arn_account}, not {account} where the call was recorded"
        )
    for field, claimed in {"detail.awsRegion": region, "region": event.get("region")}.items():
        if claimed is not None and claimed != arn_region:
            raise BadEvent(f"{field} {claimed!r} does not match the region of the created resource {arn!r}")


def request_tags(request_parameters: Mapping) -> dict[str, str]:
    """Tags from requestParameters.tags; entry casing is unconfirmed by samples, so accept key/Key, value/Value."""
    tags = request_parameters.get("tags") or request_parameters.get("Tags") or []
    found: dict[str, str] = {}
    if not isinstance(tags, list):
        return found
    for entry in tags:
        if isinstance(entry, Mapping):
            key = entry.get("key", entry.get("Key"))
            if isinstance(key, str):
                found[key] = str(entry.get("value", entry.get("Value", "")))
    return found


def _required_text(detail: Mapping, field: str, fallback: object = None) -> str:
    value = detail.get(field) or fallback
    if not isinstance(value, str) or not value:
        raise BadEvent(f"detail.{field} is missing")
    return value


def _event_time(value: object) -> datetime:
    """CloudTrail eventTime is ISO 8601 ("2026-11-24T10:00:00Z"); epoch milliseconds are accepted too."""
    try:
        if isinstance(value, bool):
            raise ValueError("a boolean is not a timestamp")
        if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
            return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise BadEvent(f"eventTime {value!r} is not a timestamp")
