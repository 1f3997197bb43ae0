"""The job cost ledger row: one DynamoDB-ready item per ended job from Resource + Cost, and back to a Resource."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal

from mlgov.domain.costing import Cost
from mlgov.domain.inventory import InstanceGroup, Resource

KEY_PREFIX = "job#"
COST_PLACES = Decimal("0.000001")  # a millionth of a dollar: per-second jobs on cheap instances stay visible
PERCENT_PLACES = Decimal("0.01")


class NotALedgerItem(ValueError):
    """The item lacks what a ledger row always has; the message names the field."""


def ledger_key(arn: str) -> str:
    return f"{KEY_PREFIX}{arn}"


def ledger_time(moment: datetime) -> str:
    """UTC, always with milliseconds ("2026-11-24T10:00:00.000Z"): one fixed width, so text order is time order."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ledger_item(resource: Resource, cost: Cost, *, price_as_of: str | None, recorded_at: datetime) -> dict:
    """The row for an ended job. Numbers are int or Decimal (never float), times are `ledger_time` text."""
    if not resource.is_job or resource.ended is None:
        raise ValueError(f"{resource.arn} is not an ended job: the ledger keeps ended jobs only")
    details = resource.details
    return {
        "pk": ledger_key(resource.arn),
        "arn": resource.arn,
        "account": resource.account,
        "region": resource.region,
        "job_type": resource.resource_type,
        "name": resource.name,
        "status": resource.status,
        "instance_type": resource.instance_type,
        "instance_count": resource.instance_count,
        "instance_groups": [
            {"name": group.name, "instance_type": group.instance_type, "instance_count": group.current_count}
            for group in resource.instance_groups
        ],
        "created": _time_or_none(resource.created),
        "started": _time_or_none(resource.started),
        "ended": ledger_time(resource.ended),
        "billable_seconds": resource.billable_seconds,
        "training_seconds": resource.training_seconds,
        "managed_spot": resource.managed_spot,
        "spot_savings_pct": _decimal(cost.spot_savings_pct, PERCENT_PLACES),
        "cost_usd": _decimal(cost.run_cost_usd, COST_PLACES),
        "cost_reason": cost.reason,
        "price_as_of": price_as_of,
        "tags": dict(resource.tags),
        "failure_reason": details.get("failure_reason"),
        "event_id": details.get("event_id"),
        "recorded_at": ledger_time(recorded_at),
    }


def resource_from_ledger_item(item: Mapping) -> Resource:
    """The Resource a row describes (for `mlgov scan --ledger`); the recorded cost travels in `details`."""
    for required in ("arn", "account", "region", "job_type", "name", "status", "ended"):
        if not item.get(required):
            raise NotALedgerItem(f"ledger item {item.get('pk')!r} has no {required}")
    cost = item.get("cost_usd")
    details = {
        "source": "ledger",
        "cost_usd": float(cost) if cost is not None else None,
        "cost_reason": item.get("cost_reason"),
        "spot_savings_pct": _float_or_none(item.get("spot_savings_pct")),
        "price_as_of": item.get("price_as_of"),
        "recorded_at": item.get("recorded_at"),
        "event_id": item.get("event_id"),
    }
    if item.get("failure_reason"):
        details["failure_reason"] = item["failure_reason"]
    return Resource(
        arn=item["arn"],
        account=item["account"],
        region=item["region"],
        resource_type=item["job_type"],
        name=item["name"],
        status=item["status"],
        created=_datetime_or_none(item.get("created")),
        tags={str(key): str(value) for key, value in (item.get("tags") or {}).items()},
        instance_type=item.get("instance_type") or None,
        instance_count=_int_or_none(item.get("instance_count")) or 0,
        instance_groups=tuple(
            InstanceGroup(
                name=group.get("name", ""),
                instance_type=group["instance_type"],
                current_count=_int_or_none(group.get("instance_count")) or 0,
                target_count=_int_or_none(group.get("instance_count")) or 0,
            )
            for group in item.get("instance_groups") or []
        ),
        started=_datetime_or_none(item.get("started")),
        ended=_datetime_or_none(item["ended"]),
        billable_seconds=_int_or_none(item.get("billable_seconds")),
        training_seconds=_int_or_none(item.get("training_seconds")),
        managed_spot=item.get("managed_spot") is True,
        details=details,
    )


def _decimal(value: float | None, places: Decimal) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(places)


def _time_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else ledger_time(moment)


def _datetime_or_none(text: object) -> datetime | None:
    if not text:
        return None
    parsed = datetime.fromisoformat(str(text))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _int_or_none(value: object) -> int | None:
    return None if value is None else int(value)  # DynamoDB numbers come back as Decimal


def _float_or_none(value: object) -> float | None:
    return None if value is None else float(value)
