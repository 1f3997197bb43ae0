"""The findings table in DynamoDB: one row per resource ARN with first_seen (never changed), last_seen and status.

Key: partition key `arn` (S), no sort key. A zombie's current episode starts on `zombie_since`
(kept while it stays a zombie or its evidence is missing, removed on any other status); `approval_execution` names
the approval execution started last: for that episode, or for an expired endpoint's `auto-delete-after` date (the
expiry episode, whose execution name carries the date: domain.expiry_approval). `expires_at` (epoch seconds) is
refreshed on every sighting, for the table's TTL to drop resources that disappeared. A Studio domain's row keeps
`idle_shutdown_audit`, every idle shutdown mlgov switched on there (who, what, when, why, the settings before).

Budget rows sit beside them under `budget#<team>#<YYYY-MM>`: the thresholds alerted that month (`alerted_pct`, a
number set) and the last alert's audit record; nothing reads the table by scanning, so they never pass for findings.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

KEY = "arn"  # the partition key attribute
ROW_TTL = timedelta(days=90)
# Statuses that neither start nor end a zombie episode: missing evidence is not proof of traffic.
_EPISODE_NEUTRAL = frozenset({"unknown"})


@dataclass(frozen=True)
class RecordedFinding:
    arn: str
    first_seen: str
    previous_status: str | None  # None: the row is new
    zombie_since: str | None  # the current zombie episode's first day, when it is in one
    new_zombie: bool  # a zombie now, and no zombie episode was open before this run
    approval_execution: str | None  # the approval execution recorded for an episode, if any
    stop_warning: dict | None = None  # an idle notebook's posted stop warning: {at, due, episode}


class FindingsTable:
    def __init__(self, client, table_name: str, max_workers: int = 16) -> None:
        self._client = client  # a boto3 DynamoDB client (low-level), created by the caller's wiring
        self._table = table_name
        self._max_workers = max_workers
        self._serializer = TypeSerializer()
        self._deserializer = TypeDeserializer()

    def record_all(self, findings: list[Mapping], now: datetime, run_id: str) -> list[RecordedFinding]:
        """Upsert every finding (bounded concurrency); results in the order of `findings`. A DynamoDB error raises."""
        if not findings:
            return []
        with ThreadPoolExecutor(max_workers=max(1, min(self._max_workers, len(findings)))) as pool:
            return list(pool.map(lambda finding: self.record(finding, now, run_id), findings))

    def record(self, finding: Mapping, now: datetime, run_id: str) -> RecordedFinding:
        """One UpdateItem: first_seen only if absent, everything else overwritten; the old row comes back (ALL_OLD)."""
        seen = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        today = now.strftime("%Y-%m-%d")
        status = finding["status"]
        overwritten = {
            "last_seen": seen,
            "status": status,
            "waste_usd_month": _decimal(finding.get("waste_usd_month")),
            "monthly_cost_usd": _decimal(finding.get("monthly_cost_usd")),
            "account": finding["account"],
            "region": finding["region"],
            "resource_type": finding["resource_type"],
            "name": finding["name"],
            "owner": finding.get("owner"),
            "team": (finding.get("tags") or {}).get("ml:team"),
            "reason": str(finding.get("reason", ""))[:1000],
            "last_run_id": run_id,
            "expires_at": int((now + ROW_TTL).timestamp()),
        }
        set_if_absent = {"first_seen": seen}
        removed: list[str] = []
        if status == "zombie":
            set_if_absent["zombie_since"] = today
        elif status not in _EPISODE_NEUTRAL:
            removed.append("zombie_since")
        if status != "idle":  # the idle episode ended: a later one is warned again
            removed += ["stop_warning", "stop_claim_at"]
        names: dict[str, str] = {}
        values: dict[str, dict] = {}

        def alias(attribute: str) -> str:
            names[f"#a{len(names)}"] = attribute
            return f"#a{len(names) - 1}"

        def placeholder(item: object) -> str:
            values[f":v{len(values)}"] = self._serializer.serialize(item)
            return f":v{len(values) - 1}"

        sets = [f"{alias(a)} = {placeholder(v)}" for a, v in overwritten.items()]
        sets += [f"{(n := alias(a))} = if_not_exists({n}, {placeholder(v)})" for a, v in set_if_absent.items()]
        expression = "SET " + ", ".join(sets)
        if removed:
            expression += " REMOVE " + ", ".join(alias(a) for a in removed)
        response = self._client.update_item(
            TableName=self._table,
            Key={KEY: {"S": finding["arn"]}},
            UpdateExpression=expression,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_OLD",
        )
        old = {key: self._deserializer.deserialize(value) for key, value in response.get("Attributes", {}).items()}
        old_since = old.get("zombie_since")
        since = (old_since or today) if status == "zombie" else old_since if status in _EPISODE_NEUTRAL else None
        return RecordedFinding(
            arn=finding["arn"],
            first_seen=old.get("first_seen", seen),
            previous_status=old.get("status"),
            zombie_since=since,
            new_zombie=status == "zombie" and old_since is None,
            approval_execution=old.get("approval_execution"),
            stop_warning=old.get("stop_warning") if status == "idle" else None,
        )

    def mark_approval(self, arn: str, execution_name: str, now: datetime) -> None:
        """Remember that the approval for the current episode was handed over (started, or already running)."""
        self._client.update_item(
            TableName=self._table,
            Key={KEY: {"S": arn}},
            UpdateExpression="SET approval_execution = :name, approval_started_at = :at",
            ConditionExpression=f"attribute_exists({KEY})",
            ExpressionAttributeValues={
                ":name": {"S": execution_name},
                ":at": {"S": now.strftime("%Y-%m-%dT%H:%M:%SZ")},
            },
        )

    def claim_budget_thresholds(self, team: str, month: str, thresholds: list[int], now: datetime) -> list[int]:
        """Record that `thresholds` (percent) of `team`'s budget are alerted in `month`, in the team's budget row
        (key `budget#<team>#<YYYY-MM>`, beside the findings, with the same TTL); the thresholds recorded before this
        call come back, so a retried run alerts nothing twice."""
        response = self._client.update_item(
            TableName=self._table,
            Key={KEY: {"S": budget_key(team, month)}},
            UpdateExpression="ADD alerted_pct :new SET expires_at = :ttl",
            ExpressionAttributeValues={
                ":new": {"NS": [str(t) for t in thresholds]},
                ":ttl": {"N": str(int((now + ROW_TTL).timestamp()))},
            },
            ReturnValues="ALL_OLD",
        )
        before = response.get("Attributes", {}).get("alerted_pct", {}).get("NS", [])
        return sorted(int(value) for value in before)

    def record_budget_alert(self, team: str, month: str, now: datetime, audit: Mapping[str, object]) -> None:
        """The audit record of an alert that was posted: when, and what was forecast."""
        self._client.update_item(
            TableName=self._table,
            Key={KEY: {"S": budget_key(team, month)}},
            UpdateExpression="SET last_alert_at = :at, last_alert = :audit",
            ExpressionAttributeValues={
                ":at": {"S": now.strftime("%Y-%m-%dT%H:%M:%SZ")},
                ":audit": self._serializer.serialize({k: _plain(v) for k, v in audit.items()}),
            },
        )

    def release_budget_thresholds(self, team: str, month: str, thresholds: list[int]) -> None:
        """Forget thresholds whose alert could not be posted: the next run tries again."""
        self._client.update_item(
            TableName=self._table,
            Key={KEY: {"S": budget_key(team, month)}},
            UpdateExpression="DELETE alerted_pct :gone",
            ExpressionAttributeValues={":gone": {"NS": [str(t) for t in thresholds]}},
        )

    def claim_stop_warning(self, arn: str, episode: str, now: datetime, lease: timedelta) -> bool:
        """Take the right to warn of the stop of the idle notebook `arn` for its session `episode`: False when that
        session's warning is posted already or another run holds an unexpired claim (a crashed run's claim lapses
        after `lease`)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": arn}},
                UpdateExpression="SET stop_claim_at = :at",
                ConditionExpression=f"attribute_exists({KEY}) AND "
                "(attribute_not_exists(stop_warning) OR stop_warning.episode <> :episode) AND "
                "(attribute_not_exists(stop_claim_at) OR stop_claim_at < :lapsed)",
                ExpressionAttributeValues={
                    ":at": {"S": _stamp(now)},
                    ":episode": {"S": episode},
                    ":lapsed": {"S": _stamp(now - lease)},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def confirm_stop_warning(self, arn: str, episode: str, now: datetime, due: datetime) -> None:
        """The warning was posted: the stop is due at `due` for session `episode`."""
        self._client.update_item(
            TableName=self._table,
            Key={KEY: {"S": arn}},
            UpdateExpression="SET stop_warning = :warning REMOVE stop_claim_at",
            ExpressionAttributeValues={
                ":warning": {"M": {"at": {"S": _stamp(now)}, "due": {"S": _stamp(due)}, "episode": {"S": episode}}}
            },
        )

    def release_stop_warning(self, arn: str) -> None:
        """No warning on record (a claim whose post failed, or a notebook now kept): the next one is warned again."""
        self._client.update_item(
            TableName=self._table, Key={KEY: {"S": arn}}, UpdateExpression="REMOVE stop_claim_at, stop_warning"
        )

    def mark_stopped(self, arn: str, now: datetime) -> None:
        """The audit record of a stop mlgov made; the warning is spent."""
        self._client.update_item(
            TableName=self._table,
            Key={KEY: {"S": arn}},
            UpdateExpression="SET stopped_by_mlgov_at = :at REMOVE stop_warning",
            ExpressionAttributeValues={":at": {"S": _stamp(now)}},
        )

    def claim_reminder(self, arn: str, expires_on: str, now: datetime) -> bool:
        """Record that the owner of `arn` was reminded of its `auto-delete-after` date `expires_on`; False when that
        reminder was already recorded (a retried run, or the next day's run before the date changes)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": arn}},
                UpdateExpression="SET reminded_for = :date, reminded_at = :at",
                ConditionExpression=f"attribute_exists({KEY}) AND (attribute_not_exists(reminded_for) OR "
                "reminded_for <> :date)",
                ExpressionAttributeValues={
                    ":date": {"S": expires_on},
                    ":at": {"S": now.strftime("%Y-%m-%dT%H:%M:%SZ")},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release_reminder(self, arn: str, expires_on: str) -> None:
        """Forget a reminder that could not be posted: the next run tries again."""
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.update_item(
                TableName=self._table,
                Key={KEY: {"S": arn}},
                UpdateExpression="REMOVE reminded_for, reminded_at",
                ConditionExpression="reminded_for = :date",
                ExpressionAttributeValues={":date": {"S": expires_on}},
            )

    def begin_idle_shutdown(self, arn: str, attempt: Mapping[str, object]) -> None:
        """A Studio domain's idle-shutdown switch-on is about to be sent (`idle_shutdown_pending`): a run that dies
        before record_idle_shutdown leaves it for the next run to confirm."""
        self._client.update_item(
            TableName=self._table,
            Key={KEY: {"S": arn}},
            UpdateExpression="SET idle_shutdown_pending = :attempt",
            ExpressionAttributeValues={":attempt": self._serializer.serialize(dict(attempt))},
        )

    def record_idle_shutdown(self, arn: str, audit: Mapping[str, object]) -> None:
        """The audit record of a switch-on mlgov made (who, what, when, why, the settings before), appended to the
        domain's `idle_shutdown_audit`; the pending attempt is spent."""
        self._client.update_item(
            TableName=self._table,
            Key={KEY: {"S": arn}},
            UpdateExpression="SET idle_shutdown_audit = list_append(if_not_exists(idle_shutdown_audit, :none), "
            ":entry) REMOVE idle_shutdown_pending",
            ExpressionAttributeValues={
                ":none": {"L": []},
                ":entry": {"L": [self._serializer.serialize(dict(audit))]},
            },
        )

    def release_idle_shutdown(self, arn: str) -> None:
        """The switch-on was refused: no attempt on record."""
        self._client.update_item(
            TableName=self._table, Key={KEY: {"S": arn}}, UpdateExpression="REMOVE idle_shutdown_pending"
        )

    def get(self, arn: str) -> dict | None:
        item = self._client.get_item(TableName=self._table, Key={KEY: {"S": arn}}, ConsistentRead=True).get("Item")
        return None if item is None else {key: self._deserializer.deserialize(value) for key, value in item.items()}


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def budget_key(team: str, month: str) -> str:
    return f"budget#{team}#{month}"


def _plain(value: object) -> object:
    return _decimal(value) if isinstance(value, float) else value


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(round(value, 2)))
