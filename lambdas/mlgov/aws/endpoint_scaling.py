"""The SageMaker and Application Auto Scaling calls of endpoint and inference-component schedules: read tags, describe,
read scalable targets, write the saved-counts tag, set a scalable target's MinCapacity, scale."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlgov.aws.hyperpod import UpdateResult, all_tags, attempt
from mlgov.domain.endpoint_schedules import (
    ENDPOINT,
    SAGEMAKER_NAMESPACE,
    ScalableTarget,
    scalable_targets,
)
from mlgov.domain.hyperpod_plan import SAVED_TAG


class ScheduledEndpoints:
    """One account-region's endpoints and inference components through boto3 clients made by the caller's wiring."""

    def __init__(self, sagemaker, autoscaling) -> None:
        self._sagemaker = sagemaker
        self._autoscaling = autoscaling

    def tags(self, arn: str) -> dict[str, str]:
        return all_tags(self._sagemaker, arn)

    def describe(self, kind: str, name: str) -> dict[str, Any]:
        if kind == ENDPOINT:
            response = self._sagemaker.describe_endpoint(EndpointName=name)
        else:
            response = self._sagemaker.describe_inference_component(InferenceComponentName=name)
        response.pop("ResponseMetadata", None)
        return response

    def hosts_components(self, endpoint_name: str) -> bool:
        listed = self._sagemaker.list_inference_components(EndpointNameEquals=endpoint_name, MaxResults=1)
        return bool(listed.get("InferenceComponents"))

    def scalable_targets(self, resource_ids: list[str]) -> dict[str, ScalableTarget]:
        found = []
        paginator = self._autoscaling.get_paginator("describe_scalable_targets")
        for page in paginator.paginate(ServiceNamespace=SAGEMAKER_NAMESPACE, ResourceIds=resource_ids):
            found += page.get("ScalableTargets", [])
        return scalable_targets(found)

    def write_saved_tag(self, arn: str, value: str) -> None:
        self._sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": SAVED_TAG, "Value": value}])

    def set_minimum(self, request: Mapping[str, Any]) -> UpdateResult:
        """RegisterScalableTarget on an existing target (only MinCapacity given: the rest is kept)."""
        return attempt(self._autoscaling.register_scalable_target, request)

    def scale(self, operation: str, request: Mapping[str, Any]) -> UpdateResult:
        return attempt(getattr(self._sagemaker, operation), request)
