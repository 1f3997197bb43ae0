"""The job cost ledger in DynamoDB: one row per job, never replaced by an older or equal end, read back by end time."""

from __future__ import annotations

from datetime import datetime

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from mlgov.domain.ledger import ledger_time

# A row is written when the job has none yet, or when the new one ended later. A re-delivered event (same end)
# and any out-of-order older event leave the stored row exactly as it was.
_NEWER_ONLY = "attribute_not_exists(pk) OR #ended < :ended"


class LedgerTable:
    def __init__(self, client, table_name: str) -> None:
        self._client = client  # a boto3 DynamoDB client (low-level), created by the caller's wiring
        self._table = table_name
        self._serializer = TypeSerializer()
        self._deserializer = TypeDeserializer()

    def put_job_row(self, item: dict) -> bool:
        """True when the row was written; False when an equal or newer row for the job was already there."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={key: self._serializer.serialize(value) for key, value in item.items()},
                ConditionExpression=_NEWER_ONLY,
                ExpressionAttributeNames={"#ended": "ended"},
                ExpressionAttributeValues={":ended": {"S": item["ended"]}},
            )
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def read_rows(self, since: datetime, page_size: int | None = None) -> list[dict]:
        """Every row of a job that ended at or after `since` (a full, paginated Scan with a filter)."""
        paginator = self._client.get_paginator("scan")
        rows: list[dict] = []
        for page in paginator.paginate(
            TableName=self._table,
            FilterExpression="#ended >= :since",
            ExpressionAttributeNames={"#ended": "ended"},
            ExpressionAttributeValues={":since": {"S": ledger_time(since)}},
            PaginationConfig={"PageSize": page_size} if page_size else {},
        ):
            rows.extend(
                {key: self._deserializer.deserialize(value) for key, value in item.items()}
                for item in page.get("Items", [])
            )
        return rows
