"""SageMaker HyperPod calls of the scheduler: list, describe, read tags, write the saved-counts tag, UpdateCluster."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, ParamValidationError

from mlgov.domain.hyperpod_plan import SAVED_TAG

# Worth another try on the next run rather than a rejection to remember for the rest of the window: the cluster
# changed under us, or the service pushed back after botocore's own retries.
TRANSIENT_ERRORS = frozenset(
    {
        "ConflictException",
        "ThrottlingException",
        "ServiceUnavailable",
        "InternalFailure",
        "ConcurrentUpdateException",  # Application Auto Scaling, right after a scaling change
        "InternalServiceException",
    }
)


@dataclass(frozen=True)
class UpdateResult:
    applied: bool
    code: str = ""
    message: str = ""

    @property
    def transient(self) -> bool:
        return not self.applied and self.code in TRANSIENT_ERRORS


class HyperPodClusters:
    """One account-region's HyperPod clusters through a boto3 SageMaker client made by the caller's wiring."""

    def __init__(self, sagemaker) -> None:
        self._sagemaker = sagemaker

    def summaries(self) -> Iterator[dict[str, Any]]:
        """ClusterSummaries of every page of ListClusters."""
        for page in self._sagemaker.get_paginator("list_clusters").paginate(PaginationConfig={"PageSize": 100}):
            yield from page.get("ClusterSummaries", [])

    def describe(self, name_or_arn: str) -> dict[str, Any]:
        response = self._sagemaker.describe_cluster(ClusterName=name_or_arn)
        response.pop("ResponseMetadata", None)
        return response

    def tags(self, arn: str) -> dict[str, str]:
        return all_tags(self._sagemaker, arn)

    def write_saved_tag(self, arn: str, value: str) -> None:
        """AddTags `mlgov:hyperpod-saved` (replaces the previous value of that key only)."""
        self._sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": SAVED_TAG, "Value": value}])

    def update(self, request: dict[str, Any]) -> UpdateResult:
        """UpdateCluster; a rejection comes back with the service's code and message instead of raising."""
        return attempt(self._sagemaker.update_cluster, request)


def all_tags(sagemaker, arn: str) -> dict[str, str]:
    """Every tag of a SageMaker resource (ListTags, 50 a page)."""
    tags: dict[str, str] = {}
    for page in sagemaker.get_paginator("list_tags").paginate(ResourceArn=arn, PaginationConfig={"PageSize": 50}):
        tags.update({tag["Key"]: tag["Value"] for tag in page.get("Tags", [])})
    return tags


def attempt(call, request: Mapping[str, Any]) -> UpdateResult:
    """One write call whose rejection comes back with the service's code and message instead of raising."""
    try:
        call(**request)
    except ClientError as err:
        error = err.response.get("Error", {})
        return UpdateResult(False, str(error.get("Code") or "ClientError"), str(error.get("Message") or err))
    except ParamValidationError as err:  # botocore refused the request before sending it: nothing changed
        return UpdateResult(False, "ParamValidationError", str(err).replace("\n", " "))
    return UpdateResult(True)
