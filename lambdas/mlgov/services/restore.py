"""Recreate a deleted endpoint from its snapshot: read the manifest, plan, create models → config → endpoint."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mlgov.aws.snapshot_store import manifest_key_of, read_manifest, read_sealed_manifest, seal_problems
from mlgov.domain.snapshot import (
    ENDPOINT_CONFIG_FIELDS,
    MODEL_FIELDS,
    RestorePlan,
    SnapshotError,
    changed_fields,
    drifted_sources,
    restore_plan,
)


class RestoreError(ValueError):
    """The restore cannot go on; one readable line (what failed, what was already created)."""


@dataclass(frozen=True)
class LoadedSnapshot:
    manifest: dict[str, Any]
    plan: RestorePlan
    seal: Mapping[str, Any] | None = None  # the hub's record of the manifest it wrote

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
    seals: Callable[[str], Mapping[str, Any] | None] | None = None,
    artifacts_bucket: str | None = None,
) -> LoadedSnapshot:
    """The manifest and the restore plan. With `seals` (manifest key -> the hub's seal), only a snapshot the hub
    sealed is accepted, and only while the manifest and every archived object are still what it sealed."""
    try:
        if seals is None:
            document = read_manifest(archive_client, archive_bucket, account, region, endpoint, snapshot)
            return LoadedSnapshot(document, restore_plan(document, artifacts_bucket or archive_bucket, new_name))
        key = manifest_key_of(archive_client, archive_bucket, account, region, endpoint, snapshot)
        seal = seals(key)
        if seal is None:
            read_manifest(archive_client, archive_bucket, account, region, endpoint, snapshot)  # "no snapshot" first
            raise RestoreError(
                f"refusing to restore: s3://{archive_bucket}/{key} carries no seal from the hub (the approval "
                "flow seals every manifest it writes)"
            )
        document = read_sealed_manifest(archive_client, archive_bucket, seal)  # exactly the bytes the hub sealed
        if document is None:
            problems = [f"the manifest s3://{archive_bucket}/{key} is not the one the hub sealed"]
        else:
            problems = seal_problems(archive_client, archive_bucket, seal, document)
        if problems:
            raise RestoreError("refusing to restore: " + "; ".join(problems[:5]))
        plan = restore_plan(document, artifacts_bucket or archive_bucket, new_name)  # where the models will read
        return LoadedSnapshot(document, plan, seal)
    except SnapshotError as err:
        raise RestoreError(str(err)) from None
    except (ClientError, BotoCoreError) as err:
        raise RestoreError(f"cannot read the snapshot from s3://{archive_bucket}: {err}") from None


def apply_plan(
    sagemaker_client,
    plan: RestorePlan,
    log: Callable[[str], None] = lambda _: None,
    snapshot: Mapping[str, Any] | None = None,
    source_s3=None,
) -> list[str]:
    """CreateModel(s) → CreateEndpointConfig → CreateEndpoint; returns the ARNs created. Stops at the first failure
    with a RestoreError naming the failed call and what already exists (rerun after deleting those, or use --name).

    With `snapshot` (the manifest; a restore under the original names), a model or endpoint config that still exists
    is reused when it is unchanged since the snapshot — the approval flow deletes only the endpoint — and refused
    when it changed. A reused model serves its original artifacts, so they are checked too (`source_s3`, HeadObject
    against the sizes, ETags and versions the snapshot recorded): any drift refuses the reuse."""
    created: list[str] = []
    originals = (snapshot or {}).get("describe_models") or {}
    sources_checked = False
    for request in plan.models:
        if snapshot is not None and _reused(
            "model",
            lambda r=request: sagemaker_client.describe_model(ModelName=r["ModelName"]),
            originals.get(request["ModelName"]) or {},
            MODEL_FIELDS,
            "ModelArn",
            log,
        ):
            if not sources_checked:
                _check_sources(snapshot, source_s3)
                sources_checked = True
            continue
        created.append(_create("CreateModel", sagemaker_client.create_model, request, "ModelArn", created, log))
    config = plan.endpoint_config
    if snapshot is None or not _reused(
        "endpoint config",
        lambda: sagemaker_client.describe_endpoint_config(EndpointConfigName=config["EndpointConfigName"]),
        snapshot.get("describe_endpoint_config") or {},
        ENDPOINT_CONFIG_FIELDS,
        "EndpointConfigArn",
        log,
    ):
        created.append(
            _create(
                "CreateEndpointConfig",
                sagemaker_client.create_endpoint_config,
                config,
                "EndpointConfigArn",
                created,
                log,
            )
        )
    created.append(
        _create("CreateEndpoint", sagemaker_client.create_endpoint, plan.endpoint, "EndpointArn", created, log)
    )
    return created


def _create(
    operation: str,
    call: Callable[..., dict],
    request: Mapping[str, Any],
    arn_field: str,
    created: list[str],
    log: Callable[[str], None],
) -> str:
    try:
        arn = call(**request)[arn_field]
    except (ClientError, BotoCoreError) as err:
        done = f"; already created: {', '.join(created)}" if created else ""
        raise RestoreError(f"{operation} failed: {err}{done}") from None
    log(f"{operation}: {arn}")
    return arn


def _check_sources(snapshot: Mapping[str, Any], source_s3) -> None:
    """Refuses the reuse of the original models when their artifacts changed since the snapshot."""
    if source_s3 is None:
        raise RestoreError("cannot check the original model artifacts (no S3 client): restore with --name")
    heads: dict[str, Mapping[str, Any] | None] = {}
    for obj in snapshot.get("objects") or []:
        bucket, _, key = obj["source_uri"].removeprefix("s3://").partition("/")
        try:
            heads[obj["source_uri"]] = source_s3.head_object(Bucket=bucket, Key=key)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise RestoreError(f"cannot read {obj['source_uri']}: {err}") from None
            heads[obj["source_uri"]] = None
        except BotoCoreError as err:
            raise RestoreError(f"cannot read {obj['source_uri']}: {err}") from None
    drift = drifted_sources(snapshot.get("objects") or [], heads)
    if drift:
        raise RestoreError(
            f"the original models' artifacts changed since the snapshot ({'; '.join(drift[:3])}"
            f"{'; …' if len(drift) > 3 else ''}): restore with --name to recreate them from the archived copies"
        )


def _reused(
    kind: str,
    describe: Callable[[], dict],
    snapshotted: Mapping[str, Any],
    fields: Sequence[str],
    arn_field: str,
    log: Callable[[str], None],
) -> bool:
    """True when the resource exists and is unchanged since the snapshot; False when it does not exist."""
    try:
        current = describe()
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "ValidationException":  # SageMaker's "Could not find ..."
            return False
        raise RestoreError(f"cannot check whether the {kind} exists: {err}") from None
    except BotoCoreError as err:
        raise RestoreError(f"cannot check whether the {kind} exists: {err}") from None
    changed = changed_fields(current, snapshotted, fields)
    if changed:
        raise RestoreError(
            f"the {kind} {current.get(arn_field)} still exists and differs from the snapshot ({', '.join(changed)}): "
            "restore under another name with --name"
        )
    log(f"reused {current[arn_field]} (unchanged since the snapshot)")
    return True
