"""Pending approvals in DynamoDB: the Step Functions task token behind each Slack approval message, claimed once.

Key: partition key `pk` (S) = `approval#<id>`, no sort key. The id is derived from the task token (so a retried
notify task writes the same item, not a second one) and is what the Slack buttons carry; the token itself never
leaves this table. Item: approval_id, task_token, status (pending | done), endpoint_arn, endpoint_name, account,
region, snooze_days, created_at, expires_at (epoch seconds: the decision deadline, i.e. the state's timeout),
purge_at (epoch seconds, the table's TTL attribute: keeps decided items for audit), channel and ts (the message,
once posted), and after a click decision, decided_by, decided_at.

Exemptions: `pk` = `exemption#<resource ARN>`, the last `mlgov:exempt` value mlgov wrote on that resource (Reject,
Snooze, timeout, `mlgov exempt`) with who, when, why and until. The scan honours an `mlgov:exempt` tag only when its
value is the one recorded here: a tag written by anyone else never keeps a zombie.

Message pointers: `pk` = `message#<execution ARN>`, the channel and ts of that execution's Slack message.

Range hashes: `pk` = `hash#<manifest key>#<archive key>#<range index>`, the SHA-256 of one source byte range that the
approval state machine's Distributed Map computed after the manifest was written (`mlgov.aws.snapshot_store`).
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

KEY = "pk"
PREFIX = "approval#"
PENDING, DONE = "pending", "done"
KEEP_AFTER_DEADLINE = timedelta(days=90)  # purge_at = deadline + this
EXEMPTION_PREFIX = "exemption#"
MESSAGE_PREFIX = "message#"  # message#<execution ARN>: where that execution's Slack message is
HASH_PREFIX = "hash#"  # hash#<manifest key>#<archive key>#<range index>: a source range's SHA-256
EXTENSION_PREFIX = "extension#"  # extension#<arn>#<new date>: who moved auto-delete-after from a Slack button
SEAL_PREFIX = "seal#"  # seal#<manifest key>: the manifest version and SHA-256 the hub wrote
_BATCH_GET_MAX = 100
_BATCH_ATTEMPTS = 5


def approval_id(task_token: str) -> str:
    """22 URL-safe characters from SHA-256 of the token: stable for one token, reveals nothing of it."""
    digest = hashlib.sha256(task_token.encode("utf-8")).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


class ApprovalsTable:
    def __init__(self, client, table_name: str) -> None:
        self._client = client  # a boto3 DynamoDB client (low-level), created by the caller's wiring
        self._table = table_name
        self.name = table_name  # what `mlgov restore --approvals-table` needs to read this table's seals
        self._serializer = TypeSerializer()
        self._deserializer = TypeDeserializer()

    def put_pending(
        self, task_token: str, finding: Mapping, *, now: datetime, timeout: timedelta, snooze_days: int
    ) -> str:
        """Record a pending approval; its id (for the buttons). Idempotent per token: a retry gets the same id."""
        if not task_token:
            raise ValueError("task_token is empty")
        ident = approval_id(task_token)
        deadline = now + timeout
        item = {
            KEY: PREFIX + ident,
            "approval_id": ident,
            "task_token": task_token,
            "status": PENDING,
            "endpoint_arn": str(finding.get("arn", "")),
            "endpoint_name": str(finding.get("name", "")),
            "account": str(finding.get("account", "")),
            "region": str(finding.get("region", "")),
            "snooze_days": int(snooze_days),
            "created_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "expires_at": int(deadline.timestamp()),
            "purge_at": int((deadline + KEEP_AFTER_DEADLINE).timestamp()),
        }
        try:
            self._client.put_item(
                TableName=self._table,
                Item={key: self._serializer.serialize(value) for key, value in item.items()},
                # Never replace an existing item: a retried notify must keep its message ts and any decision.
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": KEY},
            )
        except ClientError as err:
            if _code(err) != "ConditionalCheckFailedException":
                raise
            existing = self.get(ident)
            if existing is None or existing.get("task_token") != task_token:
                raise RuntimeError(f"approval id {ident} already holds another task token") from None
        return ident

    def get(self, ident: str) -> dict | None:
        response = self._client.get_item(TableName=self._table, Key=_key(ident), ConsistentRead=True)
        return self._item(response.get("Item"))

    def claim(self, ident: str, *, by: str, decision: str, now: datetime) -> dict | None:
        """Atomically move a pending, unexpired approval to done; the item (with task_token), or None when it is
        unknown, already done or past its deadline. Of two concurrent clicks exactly one gets the item."""
        now_epoch = int(now.timestamp())
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=_key(ident),
                UpdateExpression="SET #s = :done, decided_by = :by, decision = :decision, decided_at = :at",
                ConditionExpression="#s = :pending AND expires_at > :now",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":done": {"S": DONE},
                    ":pending": {"S": PENDING},
                    ":by": {"S": by},
                    ":decision": {"S": decision},
                    ":at": {"S": stamp},
                    ":now": {"N": str(now_epoch)},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as err:
            if _code(err) == "ConditionalCheckFailedException":
                return None
            raise
        return self._item(response.get("Attributes"))

    def release(self, ident: str, by: str) -> bool:
        """Undo a claim whose SendTaskSuccess failed for a transient reason, so the approver can click again."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(ident),
                UpdateExpression="SET #s = :pending REMOVE decided_by, decision, decided_at",
                ConditionExpression="#s = :done AND decided_by = :by",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":pending": {"S": PENDING}, ":done": {"S": DONE}, ":by": {"S": by}},
            )
        except ClientError as err:
            if _code(err) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def mark_message(self, ident: str, channel: str, ts: str) -> None:
        """Remember where the approval message was posted (for chat.update when the flow ends)."""
        self._client.update_item(
            TableName=self._table,
            Key=_key(ident),
            UpdateExpression="SET channel = :channel, ts = :ts",
            ConditionExpression=f"attribute_exists({KEY})",
            ExpressionAttributeValues={":channel": {"S": channel}, ":ts": {"S": ts}},
        )

    def record_exemption(
        self,
        arn: str,
        value: str,
        *,
        by: str,
        kind: str,
        now: datetime,
        until: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Remember the `mlgov:exempt` value mlgov wrote on `arn` (replacing any earlier one); a snooze's record
        expires with it (purge_at = until + 90 days), every other exemption is kept."""
        item = {
            KEY: EXEMPTION_PREFIX + arn,
            "arn": arn,
            "value": value,
            "by": by,
            "kind": kind,
            "recorded_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if reason:
            item["reason"] = reason
        if until:
            item["until"] = until
            end = datetime.fromisoformat(f"{until}T00:00:00+00:00")
            item["purge_at"] = int((end + KEEP_AFTER_DEADLINE).timestamp())
        self._client.put_item(
            TableName=self._table, Item={key: self._serializer.serialize(value) for key, value in item.items()}
        )

    def record_extension(self, arn: str, *, old: str, new: str, by: str, now: datetime) -> None:
        """The audit record of an `auto-delete-after` moved from `old` to `new` by `by` (kept like an exemption)."""
        item = {KEY: f"{EXTENSION_PREFIX}{arn}#{new}", "arn": arn, "old": old, "new": new, "by": by,
                "recorded_at": now.strftime("%Y-%m-%dT%H:%M:%SZ")}  # fmt: skip
        self._client.put_item(
            TableName=self._table, Item={key: self._serializer.serialize(value) for key, value in item.items()}
        )

    def remember_message(self, execution_id: str, ident: str, channel: str, ts: str, *, purge_at: datetime) -> None:
        """Where an execution's Slack message is (`message#<execution ARN>`), for the final chat.update."""
        item = {
            KEY: MESSAGE_PREFIX + execution_id,
            "approval_id": ident,
            "channel": channel,
            "ts": ts,
            "purge_at": int(purge_at.timestamp()),
        }
        self._client.put_item(
            TableName=self._table, Item={key: self._serializer.serialize(value) for key, value in item.items()}
        )

    def message_of(self, execution_id: str) -> tuple[str, str] | None:
        """(channel, ts) of an execution's Slack message, or None when none was posted."""
        response = self._client.get_item(
            TableName=self._table, Key={KEY: {"S": MESSAGE_PREFIX + execution_id}}, ConsistentRead=True
        )
        item = self._item(response.get("Item")) or {}
        return (str(item["channel"]), str(item["ts"])) if item.get("ts") and item.get("channel") else None

    def seal_manifest(self, seal: Mapping[str, str], now: datetime) -> None:
        """Record a snapshot manifest as the hub wrote it (key, version id, SHA-256): restore accepts only that."""
        item = {KEY: SEAL_PREFIX + seal["manifest_key"], **seal, "sealed_at": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
        self._client.put_item(
            TableName=self._table, Item={key: self._serializer.serialize(value) for key, value in item.items()}
        )

    def manifest_seal(self, manifest_key: str) -> dict | None:
        response = self._client.get_item(
            TableName=self._table, Key={KEY: {"S": SEAL_PREFIX + manifest_key}}, ConsistentRead=True
        )
        return self._item(response.get("Item"))

    def record_range_hash(
        self, manifest_key: str, archive_key: str, index: int, sha256: str, *, now: datetime, keep: timedelta
    ) -> None:
        item = {
            KEY: f"{HASH_PREFIX}{manifest_key}#{archive_key}#{index}",
            "sha256": sha256,
            "hashed_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "purge_at": int((now + keep).timestamp()),
        }
        self._client.put_item(
            TableName=self._table, Item={key: self._serializer.serialize(value) for key, value in item.items()}
        )

    def range_hashes(self, manifest_key: str, ranges: Sequence[tuple[str, int]]) -> dict[str, dict[int, str]]:
        """archive key -> {range index: SHA-256} recorded for those of `ranges` ((archive key, index)) hashed so far."""
        by_pk = {f"{HASH_PREFIX}{manifest_key}#{key}#{index}": (key, index) for key, index in ranges}
        found: dict[str, dict[int, str]] = {}
        for item in self._batch_get(list(by_pk), f"{KEY}, sha256", {}):
            key, index = by_pk[str(item[KEY])]
            found.setdefault(key, {})[index] = str(item["sha256"])
        return found

    def recorded_exemptions(self, arns: Sequence[str]) -> dict[str, str]:
        """ARN -> the `mlgov:exempt` value mlgov recorded, for those of `arns` that have one."""
        pks = [EXEMPTION_PREFIX + arn for arn in dict.fromkeys(arns)]
        return {str(item["arn"]): str(item["value"]) for item in self._batch_get(pks, "arn, #v", {"#v": "value"})}

    def _batch_get(self, pks: Sequence[str], projection: str, names: Mapping[str, str]) -> list[dict]:
        """The items of `pks` that exist (BatchGetItem, 100 keys a call, unprocessed keys asked again with backoff)."""
        found: list[dict] = []
        for start in range(0, len(pks), _BATCH_GET_MAX):
            keys = [{KEY: {"S": pk}} for pk in pks[start : start + _BATCH_GET_MAX]]
            request = {self._table: {"Keys": keys, "ConsistentRead": True, "ProjectionExpression": projection}}
            for attempt in range(_BATCH_ATTEMPTS):
                if attempt:
                    time.sleep(0.1 * 2**attempt)  # unprocessed keys mean throttling: back off before asking again
                if names:
                    request[self._table]["ExpressionAttributeNames"] = dict(names)
                response = self._client.batch_get_item(RequestItems=request)
                found.extend(self._item(raw) or {} for raw in response.get("Responses", {}).get(self._table, []))
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise RuntimeError(f"{self._table}: items still unprocessed after {_BATCH_ATTEMPTS} tries")
        return found

    def _item(self, raw: Mapping | None) -> dict | None:
        if raw is None:
            return None
        item = {key: self._deserializer.deserialize(value) for key, value in raw.items()}
        for key in ("expires_at", "purge_at", "snooze_days"):  # Decimal → int for callers and JSON
            if key in item:
                item[key] = int(item[key])
        return item


def _key(ident: str) -> dict:
    return {KEY: {"S": PREFIX + ident}}


def _code(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "")
