"""Recreate a deleted endpoint from its snapshot: read the manifest, plan, create models → config → endpoint."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mlgov.aws.snapshot_store import read_manifest
from mlgov.domain.snapshot import RestorePlan, SnapshotError, restore_plan


class RestoreError(ValueError):
    """The restore cannot go on; one readable line (what failed, what was already created)."""


@dataclass(frozen=True)
class LoadedSnapshot:
    manifest: dict[str, Any]
    plan: RestorePlan

    @property
    def taken_at(self) -> str:
        return self.manifest.get("taken_at", "?")

    @property
    def verified(self) -> bool:
        return bool((self.manifest.get("verification") or {}).get("verified"))


def load_snapshot(
    archive_client,
    archive_bucket: str,
    *,
    account: str,
    region: str,
    endpoint: str,
    snapshot: datetime | str | None = None,
    new_name: str | None = None,
) -> LoadedSnapshot:
    try:
        document = read_manifest(archive_client, archive_bucket, account, region, endpoint, snapshot)
        return LoadedSnapshot(document, restore_plan(document, archive_bucket, new_name))
    except SnapshotError as err:
        raise RestoreError(str(err)) from None
    except (ClientError, BotoCoreError) as err:
        raise RestoreError(f"cannot read the snapshot from s3://{archive_bucket}: {err}") from None


def apply_plan(sagemaker_client, plan: RestorePlan, log: Callable[[str], None] = lambda _: None) -> list[str]:
    """CreateModel(s) → CreateEndpointConfig → CreateEndpoint; returns the ARNs created. Stops at the first failure
    with a RestoreError naming the failed call and what already exists (rerun after deleting those, or use --name)."""
    created: list[str] = []
    steps: list[tuple[str, Callable[..., dict], dict[str, Any], str]] = [
        ("CreateModel", sagemaker_client.create_model, request, "ModelArn") for request in plan.models
    ]
    steps.append(
        ("CreateEndpointConfig", sagemaker_client.create_endpoint_config, plan.endpoint_config, "EndpointConfigArn")
    )
    steps.append(("CreateEndpoint", sagemaker_client.create_endpoint, plan.endpoint, "EndpointArn"))
    for operation, call, request, arn_field in steps:
        try:
            arn = call(**request)[arn_field]
        except (ClientError, BotoCoreError) as err:
            done = f"; already created: {', '.join(created)}" if created else ""
            raise RestoreError(f"{operation} failed: {err}{done}") from None
        created.append(arn)
        log(f"{operation}: {arn}")
    return created
