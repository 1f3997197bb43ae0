"""Reads and adds SageMaker tags, waiting out the moments after a create when the resource is not yet visible."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from botocore.exceptions import ClientError

_NOT_YET_VISIBLE = ("ResourceNotFound", "ResourceNotFoundException")
# SageMaker reports a missing resource as a ValidationException in several phrasings.
_NOT_FOUND_PHRASES = ("not found", "does not exist", "could not find")


class ResourceNotVisible(RuntimeError):
    """The resource still cannot be found after every retry (the Lambda retry, then the DLQ, take over)."""


class SageMakerTags:
    def __init__(
        self, client, sleep: Callable[[float], None] = time.sleep, attempts: int = 6, base_delay: float = 0.5
    ) -> None:
        self._client = client
        self._sleep = sleep
        self._attempts = attempts
        self._base_delay = base_delay

    def list_tags(self, arn: str) -> dict[str, str]:
        for attempt in range(self._attempts):
            try:
                return self._list_all(arn)
            except ClientError as err:
                if not _not_yet_visible(err) or attempt == self._attempts - 1:
                    if _not_yet_visible(err):
                        raise ResourceNotVisible(f"{arn} not visible after {self._attempts} attempts") from err
                    raise
                self._sleep(self._base_delay * 2**attempt)
        raise AssertionError("unreachable")

    def _list_all(self, arn: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        for page in self._client.get_paginator("list_tags").paginate(ResourceArn=arn):
            tags.update({tag["Key"]: tag.get("Value", "") for tag in page.get("Tags", [])})
        return tags

    def add_tags(self, arn: str, tags: Mapping[str, str]) -> None:
        if tags:
            self._client.add_tags(ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def _not_yet_visible(err: ClientError) -> bool:
    error = err.response.get("Error", {})
    message = str(error.get("Message", "")).lower()
    return error.get("Code") in _NOT_YET_VISIBLE or (
        error.get("Code") == "ValidationException" and any(phrase in message for phrase in _NOT_FOUND_PHRASES)
    )
