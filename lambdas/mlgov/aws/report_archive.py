"""JSON documents in the archive bucket (scan parts, reports); encryption comes from the bucket's default (KMS)."""

from __future__ import annotations

import json


class ReportArchive:
    def __init__(self, client, bucket: str) -> None:
        self._client = client  # a boto3 S3 client, created by the caller's wiring
        self.bucket = bucket

    def put_json(self, key: str, document: object) -> None:
        self._client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=json.dumps(document, separators=(",", ":")).encode(),
            ContentType="application/json",
        )

    def get_json(self, key: str) -> object:
        return json.loads(self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def keys(self, prefix: str) -> list[str]:
        """Every key under `prefix`, sorted."""
        keys: list[str] = []
        for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return sorted(keys)
