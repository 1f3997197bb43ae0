"""The HyperPod scheduler's memory per cluster (saved counts, last action, hold): a port, DynamoDB and in-memory stores.

DynamoDB item (partition key `pk` = `cluster#<cluster arn>`, no sort key):
    arn, name                          the cluster
    hold (BOOL), hold_by, hold_reason, hold_at
    saved  {counts: {group: N}, min_counts: {group: N}, saved_at, window_id}
    last_action {action, window_id, at, outcome, message, target_counts: {group: N}}
    updated_at
Times are ISO 8601 UTC strings. Every write is an UpdateItem of its own attributes, so a hold set from the CLI and the
scheduler's saved counts never overwrite each other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from mlgov.domain.schedules import SCHEDULER_PASS_KEY, LastAction, SavedCounts

PK_PREFIX = "cluster#"


@dataclass(frozen=True)
class ClusterRecord:
    arn: str
    name: str = ""
    hold: bool = False
    hold_by: str | None = None
    hold_reason: str | None = None
    hold_at: datetime | None = None
    saved: SavedCounts | None = None
    last_action: LastAction | None = None
    schedule: str | None = None  # the mlgov:schedule value set through the hub; only that one is followed
    schedule_by: str | None = None
    schedule_at: datetime | None = None


class StateStore(Protocol):
    def get(self, arn: str) -> ClusterRecord | None: ...

    def records(self) -> list[ClusterRecord]: ...

    def save_counts(self, arn: str, name: str, saved: SavedCounts) -> None: ...

    def record_action(self, arn: str, name: str, action: LastAction) -> None: ...

    def set_hold(
        self, arn: str, name: str, held: bool, at: datetime, by: str | None = None, reason: str | None = None
    ) -> None: ...

    def forget_last_action(self, arn: str) -> None: ...

    def record_schedule(self, arn: str, name: str, schedule: str | None, by: str, at: datetime) -> None: ...

    def acquire_pass(self, holder: str, now: datetime, hold_for: timedelta) -> bool: ...

    def release_pass(self, holder: str) -> None: ...


class InMemoryStateStore:
    """The fake: same contract as DynamoDbStateStore (tests/aws/test_hyperpod_scheduler.py runs both)."""

    def __init__(self) -> None:
        self._records: dict[str, ClusterRecord] = {}
        self._pass: tuple[str, datetime] | None = None  # (holder, until)

    def get(self, arn: str) -> ClusterRecord | None:
        return self._records.get(arn)

    def records(self) -> list[ClusterRecord]:
        return sorted(self._records.values(), key=lambda record: record.arn)

    def save_counts(self, arn: str, name: str, saved: SavedCounts) -> None:
        stored = dataclasses.replace(saved, counts=dict(saved.counts), min_counts=dict(saved.min_counts))
        self._update(arn, name, saved=dataclasses.replace(stored, source="state table"))

    def record_action(self, arn: str, name: str, action: LastAction) -> None:
        self._update(arn, name, last_action=dataclasses.replace(action, target_counts=dict(action.target_counts)))

    def set_hold(
        self, arn: str, name: str, held: bool, at: datetime, by: str | None = None, reason: str | None = None
    ) -> None:
        if held:
            self._update(arn, name, hold=True, hold_by=by, hold_reason=reason, hold_at=at)
        else:
            self._update(arn, name, hold=False, hold_by=None, hold_reason=None, hold_at=None)

    def forget_last_action(self, arn: str) -> None:
        if arn in self._records:
            self._records[arn] = dataclasses.replace(self._records[arn], last_action=None)

    def record_schedule(self, arn: str, name: str, schedule: str | None, by: str, at: datetime) -> None:
        self._update(arn, name, schedule=schedule, schedule_by=by, schedule_at=at)

    def acquire_pass(self, holder: str, now: datetime, hold_for: timedelta) -> bool:
        if self._pass is not None and self._pass[0] != holder and self._pass[1] > now:
            return False
        self._pass = (holder, now + hold_for)
        return True

    def release_pass(self, holder: str) -> None:
        if self._pass is not None and self._pass[0] == holder:
            self._pass = None

    def _update(self, arn: str, name: str, **changes: Any) -> None:
        record = self._records.get(arn) or ClusterRecord(arn)
        self._records[arn] = dataclasses.replace(record, name=name or record.name, **changes)


class DynamoDbStateStore:
    def __init__(self, client, table_name: str) -> None:
        self._client = client  # a low-level boto3 DynamoDB client, created by the caller's wiring
        self._table = table_name
        self._serializer = TypeSerializer()
        self._deserializer = TypeDeserializer()

    def get(self, arn: str) -> ClusterRecord | None:
        item = self._client.get_item(TableName=self._table, Key=_key(arn), ConsistentRead=True).get("Item")
        return _record(self._plain(item)) if item else None

    def records(self) -> list[ClusterRecord]:
        records = []
        for page in self._client.get_paginator("scan").paginate(TableName=self._table):
            records.extend(
                _record(self._plain(item)) for item in page.get("Items", []) if item["pk"]["S"].startswith(PK_PREFIX)
            )
        return sorted(records, key=lambda record: record.arn)

    def save_counts(self, arn: str, name: str, saved: SavedCounts) -> None:
        self._set(
            arn,
            name,
            saved={
                "counts": dict(saved.counts),
                "min_counts": dict(saved.min_counts),
                "saved_at": _time(saved.saved_at),
                "window_id": saved.window_id,
            },
        )

    def record_action(self, arn: str, name: str, action: LastAction) -> None:
        self._set(
            arn,
            name,
            last_action={
                "action": action.action,
                "window_id": action.window_id,
                "at": _time(action.at),
                "outcome": action.outcome,
                "message": action.message,
                "target_counts": dict(action.target_counts),
            },
        )

    def set_hold(
        self, arn: str, name: str, held: bool, at: datetime, by: str | None = None, reason: str | None = None
    ) -> None:
        if held:
            self._set(arn, name, hold=True, hold_by=by, hold_reason=reason, hold_at=_time(at))
        else:
            self._set(arn, name, hold=False, remove=("hold_by", "hold_reason", "hold_at"))

    def forget_last_action(self, arn: str) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(arn),
                UpdateExpression="REMOVE #last",
                ConditionExpression="attribute_exists(pk)",  # never create an item just to remove from it
                ExpressionAttributeNames={"#last": "last_action"},
            )
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def record_schedule(self, arn: str, name: str, schedule: str | None, by: str, at: datetime) -> None:
        if schedule is None:
            self._set(arn, name, schedule_by=by, schedule_at=_time(at), remove=("schedule",))
        else:
            self._set(arn, name, schedule=schedule, schedule_by=by, schedule_at=_time(at))

    def acquire_pass(self, holder: str, now: datetime, hold_for: timedelta) -> bool:
        """One scheduler pass at a time (two could both scale down before either records it): a conditional write
        of the pass item, taken when absent, expired, or already ours. No reserved concurrency needed."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": SCHEDULER_PASS_KEY},
                    "holder": {"S": holder},
                    "until": {"N": str(int((now + hold_for).timestamp()))},
                },
                ConditionExpression="attribute_not_exists(pk) OR #until < :now OR holder = :holder",
                ExpressionAttributeNames={"#until": "until"},
                ExpressionAttributeValues={":now": {"N": str(int(now.timestamp()))}, ":holder": {"S": holder}},
            )
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release_pass(self, holder: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key={"pk": {"S": SCHEDULER_PASS_KEY}},
                ConditionExpression="holder = :holder",
                ExpressionAttributeValues={":holder": {"S": holder}},
            )
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def _set(self, arn: str, name: str, remove: tuple[str, ...] = (), **values: Any) -> None:
        values = {key: value for key, value in values.items() if value is not None}
        values["arn"] = arn
        values["updated_at"] = _time(datetime.now(UTC))
        names = {f"#{key}": key for key in [*values, *remove]}
        expression = "SET " + ", ".join(f"#{key} = :{key}" for key in values)
        if name:
            expression += ", #name = :name"
            names["#name"] = "name"
            values["name"] = name
        if remove:
            expression += " REMOVE " + ", ".join(f"#{key}" for key in remove)
        self._client.update_item(
            TableName=self._table,
            Key=_key(arn),
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":{key}": self._serializer.serialize(value) for key, value in values.items()},
        )

    def _plain(self, item: Mapping[str, Any]) -> dict[str, Any]:
        return {key: self._deserializer.deserialize(value) for key, value in item.items()}


def _key(arn: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"{PK_PREFIX}{arn}"}}


def _time(instant: datetime | None) -> str | None:
    return instant.astimezone(UTC).isoformat() if instant else None


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _counts(values: Mapping[str, Any] | None) -> dict[str, int]:
    return {name: int(count) for name, count in (values or {}).items()}


def _record(item: Mapping[str, Any]) -> ClusterRecord:
    saved = item.get("saved")
    last = item.get("last_action")
    return ClusterRecord(
        arn=item["arn"],
        name=item.get("name", ""),
        hold=bool(item.get("hold", False)),
        hold_by=item.get("hold_by"),
        hold_reason=item.get("hold_reason"),
        hold_at=_parse_time(item.get("hold_at")),
        saved=SavedCounts(
            counts=_counts(saved.get("counts")),
            saved_at=_parse_time(saved.get("saved_at")),
            window_id=saved.get("window_id"),
            min_counts=_counts(saved.get("min_counts")),
        )
        if saved
        else None,
        last_action=LastAction(
            action=last["action"],
            window_id=last["window_id"],
            at=_parse_time(last["at"]),
            outcome=last["outcome"],
            message=last.get("message", ""),
            target_counts=_counts(last.get("target_counts")),
        )
        if last
        else None,
        schedule=item.get("schedule"),
        schedule_by=item.get("schedule_by"),
        schedule_at=_parse_time(item.get("schedule_at")),
    )
