"""Endpoint snapshots in the archive bucket: copy model artifacts, verify the copies, write and read manifests.

Which credentials do what. S3 authorizes a server-side copy (CopyObject / UploadPartCopy) as the caller of the copy,
who needs read on the source and write (+ kms:GenerateDataKey) on the archive. Across accounts that caller is the
spoke role (`source_client`): it reads its own account's buckets, and the hub's archive bucket and key policies grant
it PutObject / GenerateDataKey. The hub's own client (`archive_client`) heads the copies, writes and reads manifests.
In a single-account install both are the same client.

Copies are server-side (CopyObject up to 5 GiB, UploadPartCopy above, never streamed through the Lambda) and follow
the copy plan of `mlgov.domain.artifact_copy`: the archive gets checksums comparable with the source's (same
algorithm, and for composite sources the same parts), so verification heads objects and reads no artifact. Only a
source S3 holds no usable checksum of is streamed, once, in byte ranges whose SHA-256 is recorded in the manifest;
ranges beyond what one task may hash are left to the approval state machine's Distributed Map (`hash_range`). What
"verified" means is spelled out in `mlgov.domain.snapshot`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from mlgov.domain.artifact_copy import (
    COMPOSITE,
    COPY_OBJECT_MAX,
    FULL_OBJECT,
    HASH_IN_TASK_MAX,
    PART_SIZE,
    CopyPlan,
    composite_checksum,
    full_object_checksum,
    part_problems,
    plan_copy,
)
from mlgov.domain.snapshot import (
    MANIFEST_NAME,
    S3_PREFIX,
    TIMESTAMP_PATTERN,
    ArtifactSource,
    CopiedObject,
    SnapshotError,
    archive_key,
    artifact_sources,
    endpoint_model_names,
    endpoint_prefix,
    manifest,
    snapshot_prefix,
    snapshot_timestamp,
    verify,
)

MANIFEST_CHECKSUM = "SHA256"  # manifests are written with a full-object SHA-256, sealed by its value
RESTORE_TRANSFER = TransferConfig(multipart_chunksize=512 * 1024**2)
TAGGING = "REPLACE"  # no tags copied: COPY would need s3:GetObjectTagging on every source and PutObjectTagging here
COPY_THREADS = 8
_STREAM_CHUNK = 8 * 1024**2


@dataclass(frozen=True)
class CopyLimits:
    """Size thresholds of `copy_artifacts` (S3's real limits by default; tests shrink them)."""

    copy_object_max: int = COPY_OBJECT_MAX
    part_size: int = PART_SIZE
    hash_in_task_max: int = HASH_IN_TASK_MAX
    copy_threads: int = COPY_THREADS  # UploadPartCopy calls in flight for one object


def source_keys(client, source: ArtifactSource) -> list[str]:
    """The keys a source stands for: itself, or every key under an S3Prefix (all pages)."""
    if source.data_type != S3_PREFIX:
        return [source.key]
    keys: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=source.bucket, Prefix=source.key):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    if not keys:
        raise SnapshotError(f"{source.uri} ({source.model_name} {source.location}) lists no objects")
    return keys


def _head(client, bucket: str, key: str, version_id: str | None = None) -> dict[str, Any] | None:
    try:
        return client.head_object(
            Bucket=bucket, Key=key, ChecksumMode="ENABLED", **({"VersionId": version_id} if version_id else {})
        )
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NoSuchVersion", "NotFound"):
            return None
        raise


def source_parts(client, bucket: str, key: str, version_id: str | None = None) -> list[dict[str, Any]] | None:
    """Every part of a multipart object with its checksums (GetObjectAttributes ObjectParts, all pages), or None when
    S3 lists none (objects uploaded without checksums) or refuses the call."""
    parts: list[dict[str, Any]] = []
    marker = 0
    while True:
        try:
            page = (
                client.get_object_attributes(
                    Bucket=bucket,
                    Key=key,
                    ObjectAttributes=["ObjectParts"],
                    MaxParts=1000,
                    PartNumberMarker=marker,
                    **({"VersionId": version_id} if version_id else {}),
                ).get("ObjectParts")
                or {}
            )
        except ClientError as err:
            if _code(err) in ("SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "InternalError"):
                raise  # a transient refusal must not turn a composite source into one hashed byte by byte
            return None
        parts.extend(page.get("Parts") or [])
        if not page.get("IsTruncated"):
            return parts or None
        marker = int(page["NextPartNumberMarker"])


def _code(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "")


def _multipart_copy(
    client,
    copy_source: Mapping[str, str],
    bucket: str,
    key: str,
    plan: CopyPlan,
    if_match: dict,
    label: str,
    threads: int = COPY_THREADS,
) -> tuple[list[str], str | None]:
    """UploadPartCopy of every range of `plan`, `threads` at a time; returns S3's checksum of each archived part.
    A part whose checksum differs from the source part of the same number (rule 2) or any failure aborts the upload:
    nothing is left behind. Returns (S3's checksum of each part, the version the upload wrote)."""
    upload = client.create_multipart_upload(
        Bucket=bucket, Key=key, ChecksumAlgorithm=plan.algorithm, ChecksumType=plan.checksum_type
    )
    upload_id, field = upload["UploadId"], f"Checksum{plan.algorithm}"

    def copy_part(number: int, span: tuple[int, int]) -> dict[str, Any]:
        result = client.upload_part_copy(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            CopySource=dict(copy_source),
            CopySourceRange=f"bytes={span[0]}-{span[1]}",
            **if_match,
        )["CopyPartResult"]
        return {"PartNumber": number, "ETag": result["ETag"]} | ({field: result[field]} if result.get(field) else {})

    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            parts = list(pool.map(copy_part, range(1, len(plan.ranges) + 1), plan.ranges))
        archived = [part.get(field) or "" for part in parts]
        if plan.source_parts and (problems := part_problems(plan.source_parts, archived, label)):
            raise SnapshotError(problems[0])
        completed = client.complete_multipart_upload(
            Bucket=bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
            ChecksumType=plan.checksum_type,
        )
    except BaseException:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        raise
    return archived, completed.get("VersionId")


def sha256_of_range(
    client, bucket: str, key: str, span: tuple[int, int], *, version_id: str | None = None, etag: str | None = None
) -> str:
    """Base64 SHA-256 (S3's ChecksumSHA256 encoding) of bytes `span` (inclusive) of one object version, streamed."""
    digest = hashlib.sha256()
    if span[1] >= span[0]:  # an empty object has no range to read
        pin = {"VersionId": version_id} if version_id else ({"IfMatch": etag} if etag else {})
        body = client.get_object(Bucket=bucket, Key=key, Range=f"bytes={span[0]}-{span[1]}", **pin)["Body"]
        for chunk in body.iter_chunks(_STREAM_CHUNK):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode()


def copy_artifacts(
    source_client,
    archive_client,
    sources: Iterable[ArtifactSource],
    archive_bucket: str,
    prefix: str,
    *,
    limits: CopyLimits | None = None,
) -> list[CopiedObject]:
    """Copy every object of `sources` to `archive_bucket` under `prefix` (see `archive_key`) as its copy plan says
    (`mlgov.domain.artifact_copy`), server-side and pinned to the source version (or ETag) it headed. Sources S3
    holds no usable checksum of are hashed here up to `limits.hash_in_task_max` bytes in all; the rest of their
    ranges are left for the Distributed Map (`source_hashes` None). Raises ClientError / SnapshotError on the first
    failure: a partial snapshot is never reported as complete."""
    limits = limits or CopyLimits()
    copied: list[CopiedObject] = []
    done: set[str] = set()
    hash_budget = limits.hash_in_task_max
    for source in sources:
        for key in source_keys(source_client, source):
            source_uri = f"s3://{source.bucket}/{key}"
            if source_uri in done:
                continue
            head = _head(source_client, source.bucket, key)
            if head is None:
                raise SnapshotError(f"{source_uri} ({source.model_name} {source.location}) does not exist")
            version = head["VersionId"] if head.get("VersionId") and head["VersionId"] != "null" else None
            copy_source = {"Bucket": source.bucket, "Key": key} | ({"VersionId": version} if version else {})
            # unversioned: an object overwritten since HeadObject fails the copy (412) and the hashing
            if_match = {} if version or not head.get("ETag") else {"CopySourceIfMatch": head["ETag"]}
            parts = source_parts(source_client, source.bucket, key, version) if composite_checksum(head)[0] else None
            plan = plan_copy(head, parts, copy_object_max=limits.copy_object_max, part_size=limits.part_size)
            target = archive_key(prefix, source.bucket, key)
            archived_parts = None
            if plan.multipart:
                archived_parts, written = _multipart_copy(
                    source_client, copy_source, archive_bucket, target, plan, if_match, source_uri, limits.copy_threads
                )
            else:
                written = source_client.copy_object(
                    CopySource=copy_source,
                    Bucket=archive_bucket,
                    Key=target,
                    ChecksumAlgorithm=plan.algorithm,
                    TaggingDirective=TAGGING,
                    **if_match,
                ).get("VersionId")
            archived = _head(archive_client, archive_bucket, target)
            if archived is None:
                raise SnapshotError(f"copy of {source_uri} to s3://{archive_bucket}/{target} is not visible")
            if written and archived.get("VersionId") != written:  # the manifest records only what this copy wrote
                raise SnapshotError(f"s3://{archive_bucket}/{target} was overwritten right after the copy")
            size = archived["ContentLength"]
            ranges = plan.hash_ranges(size)
            hashes: list[str | None] = []
            for span in ranges:
                length = span[1] - span[0] + 1
                if length > hash_budget:
                    hashes.append(None)
                    continue
                hash_budget -= length
                hashes.append(
                    sha256_of_range(source_client, source.bucket, key, span, version_id=version, etag=head.get("ETag"))
                )
            copied.append(
                CopiedObject(
                    source_uri=source_uri,
                    archive_key=target,
                    size=size,
                    checksum=_recorded_checksum(archived),
                    version_id=archived.get("VersionId"),
                    source_version_id=version,
                    source_etag=head.get("ETag"),
                    rule=plan.rule,
                    parts=archived_parts if plan.checksum_type == COMPOSITE else None,
                    hash_ranges=[list(span) for span in ranges] or None,
                    source_hashes=hashes or None,
                )
            )
            done.add(source_uri)
    return copied


def _recorded_checksum(archived: Mapping[str, Any]) -> dict[str, str]:
    algorithm, value = full_object_checksum(archived)
    if algorithm:
        return {"algorithm": algorithm, "value": value, "type": FULL_OBJECT}
    algorithm, value, _ = composite_checksum(archived)
    if algorithm:
        return {"algorithm": algorithm, "value": value, "type": COMPOSITE}
    return {"algorithm": "ETag", "value": (archived.get("ETag") or "").strip('"'), "type": "ETAG"}


def _split_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def verify_copies(
    source_client,
    archive_client,
    archive_bucket: str,
    copied: Iterable[CopiedObject],
    range_hashes: Mapping[str, Mapping[int, str]] | None = None,
) -> list[str]:
    """Head both sides of every copy and apply `mlgov.domain.snapshot.verify`; [] means verified. Reads no artifact:
    the source is headed at the version that was copied, the archive at its *current* version (what a restored
    model reads); source ranges hashed earlier come from the manifest and `range_hashes`."""
    objects = list(copied)
    source_heads: dict[str, dict[str, Any] | None] = {}
    archive_heads: dict[str, dict[str, Any] | None] = {}
    for obj in objects:
        bucket, key = _split_uri(obj.source_uri)
        source_heads[obj.source_uri] = _head(source_client, bucket, key, obj.source_version_id)
        archive_heads[obj.archive_key] = _head(archive_client, archive_bucket, obj.archive_key)
    return verify(objects, source_heads, archive_heads, range_hashes)


def pending_ranges(objects: Iterable[CopiedObject]) -> list[dict[str, Any]]:
    """The source ranges the snapshot task left unhashed: one Distributed Map item each."""
    return [
        {
            "archive_key": obj.archive_key,
            "index": index,
            "source_uri": obj.source_uri,
            "version_id": obj.source_version_id,
            "etag": obj.source_etag,
            "range": span,
        }
        for obj in objects
        for index, (span, value) in enumerate(zip(obj.hash_ranges or [], obj.source_hashes or [], strict=False))
        if value is None
    ]


# --- manifests ----------------------------------------------------------------------------------------------------


def manifest_bytes(document: Mapping[str, Any]) -> bytes:
    """The manifest exactly as it is stored (and sealed)."""
    return json.dumps(document, indent=1, sort_keys=True).encode()


def write_manifest(archive_client, bucket: str, document: Mapping[str, Any]) -> str:
    """Store `document` as `<prefix>manifest.json`; returns the key."""
    key = f"{document['prefix']}{MANIFEST_NAME}"
    archive_client.put_object(
        Bucket=bucket,
        Key=key,
        Body=manifest_bytes(document),
        ContentType="application/json",
        ChecksumAlgorithm=MANIFEST_CHECKSUM,
    )
    return key


def manifest_seal(archive_client, bucket: str, key: str, written: Mapping[str, Any] | None = None) -> dict[str, str]:
    """What the hub records right after writing a manifest: its key, version id and S3's SHA-256 of its bytes. With
    `written` (the document just written), SnapshotError unless the current version holds exactly those bytes: a
    manifest overwritten before it could be sealed is never sealed."""
    head = _head(archive_client, bucket, key)
    if head is None or not head.get("VersionId") or not head.get(f"Checksum{MANIFEST_CHECKSUM}"):
        raise SnapshotError(f"s3://{bucket}/{key}: no version id or SHA-256 to seal (is the archive versioned?)")
    sha256 = head[f"Checksum{MANIFEST_CHECKSUM}"]
    if written is not None and sha256 != base64.b64encode(hashlib.sha256(manifest_bytes(written)).digest()).decode():
        raise SnapshotError(f"s3://{bucket}/{key} changed between its write and its seal: not sealed")
    return {"manifest_key": key, "version_id": head["VersionId"], "sha256": sha256}


def read_sealed_manifest(archive_client, bucket: str, seal: Mapping[str, str]) -> dict[str, Any] | None:
    """The manifest at the sealed version, when its bytes still hash to the sealed SHA-256; else None."""
    try:
        body = archive_client.get_object(Bucket=bucket, Key=seal["manifest_key"], VersionId=seal["version_id"])[
            "Body"
        ].read()
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "NoSuchVersion", "404", "InvalidArgument"):
            return None
        raise
    if base64.b64encode(hashlib.sha256(body).digest()).decode() != seal["sha256"]:
        return None
    return json.loads(body)


def seal_problems(archive_client, bucket: str, seal: Mapping[str, str], document: Mapping[str, Any]) -> list[str]:
    """Why the archived snapshot is not the one the hub sealed: the manifest's current version or SHA-256 differs
    from the seal, or an archived object's current version or checksum differs from what the manifest records
    (a restored model reads the current version)."""
    problems: list[str] = []
    key = seal["manifest_key"]
    head = _head(archive_client, bucket, key)
    if head is None:
        return [f"the manifest s3://{bucket}/{key} is gone"]
    if head.get("VersionId") != seal["version_id"] or head.get(f"Checksum{MANIFEST_CHECKSUM}") != seal["sha256"]:
        problems.append(f"the manifest s3://{bucket}/{key} changed after the hub sealed it")
    for item in document.get("objects") or []:
        obj = CopiedObject.from_dict(item)
        current = _head(archive_client, bucket, obj.archive_key)
        if current is None:
            problems.append(f"archived artifact {obj.archive_key} is gone")
        elif current.get("VersionId") != obj.version_id or _recorded_checksum(current) != obj.checksum:
            problems.append(f"archived artifact {obj.archive_key} changed after the snapshot")
    return problems


class _Hashing:
    """A readable stream that hashes what passes through it (for an upload whose bytes must match a checksum)."""

    def __init__(self, body) -> None:
        self._body, self.digest = body, hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        chunk = self._body.read(size)
        self.digest.update(chunk)
        return chunk


def copy_back(
    archive_client, archive_bucket: str, target_client, target_bucket: str, document: Mapping[str, Any]
) -> list[str]:
    """Copy every archived artifact of a snapshot into `target_bucket` (the endpoint's own account and region: a
    model reads its artifacts from its region) under the same keys, streaming the archived version through this
    process (the hub reads, the member writes; no principal holds both). Returns the keys; SnapshotError when the
    bytes do not hash to the SHA-256 the snapshot recorded."""
    keys = []
    for item in document.get("objects") or []:
        obj = CopiedObject.from_dict(item)
        body = archive_client.get_object(
            Bucket=archive_bucket, Key=obj.archive_key, **({"VersionId": obj.version_id} if obj.version_id else {})
        )["Body"]
        stream = _Hashing(body)
        target_client.upload_fileobj(stream, target_bucket, obj.archive_key, Config=RESTORE_TRANSFER)
        recorded = obj.checksum or {}
        if recorded.get("algorithm") == MANIFEST_CHECKSUM and recorded.get("type") == "FULL_OBJECT":
            streamed = base64.b64encode(stream.digest.digest()).decode()
            if streamed != recorded.get("value"):
                raise SnapshotError(f"s3://{archive_bucket}/{obj.archive_key} does not hash to the snapshot's SHA-256")
        keys.append(obj.archive_key)
    return keys


def list_snapshots(archive_client, bucket: str, account: str, region: str, endpoint: str) -> list[str]:
    """Timestamps (YYYYMMDDTHHMMSSZ) of the endpoint's snapshots that have a manifest, oldest first."""
    base = endpoint_prefix(account, region, endpoint)
    stamps: list[str] = []
    paginator = archive_client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=base, Delimiter="/"):
        for common in page.get("CommonPrefixes", []):
            stamp = common["Prefix"][len(base) :].rstrip("/")
            if TIMESTAMP_PATTERN.match(stamp):
                stamps.append(stamp)
    return [s for s in sorted(stamps) if _head(archive_client, bucket, f"{base}{s}/{MANIFEST_NAME}") is not None]


def manifest_key_of(
    archive_client, bucket: str, account: str, region: str, endpoint: str, taken_at: datetime | str | None = None
) -> str:
    """The key of the manifest of the snapshot taken at `taken_at` (datetime or YYYYMMDDTHHMMSSZ), or the latest."""
    if taken_at is None:
        stamps = list_snapshots(archive_client, bucket, account, region, endpoint)
        if not stamps:
            raise SnapshotError(f"no snapshot of {endpoint} ({account}, {region}) in s3://{bucket}")
        stamp = stamps[-1]
    elif isinstance(taken_at, datetime):
        stamp = snapshot_timestamp(taken_at)
    else:
        stamp = taken_at
        if not TIMESTAMP_PATTERN.match(stamp):
            raise SnapshotError(f"snapshot {stamp!r} is not a timestamp like 20260301T120000Z")
    return f"{endpoint_prefix(account, region, endpoint)}{stamp}/{MANIFEST_NAME}"


def read_manifest(
    archive_client, bucket: str, account: str, region: str, endpoint: str, taken_at: datetime | str | None = None
) -> dict[str, Any]:
    """The manifest of the snapshot taken at `taken_at` (datetime or YYYYMMDDTHHMMSSZ), or of the latest one."""
    key = manifest_key_of(archive_client, bucket, account, region, endpoint, taken_at)
    try:
        body = archive_client.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise SnapshotError(f"no snapshot of {endpoint}: s3://{bucket}/{key} does not exist") from None
        raise
    return json.loads(body)


# --- one snapshot, end to end ------------------------------------------------------------------------------------


def _tags(sagemaker_client, arn: str) -> list[dict[str, str]]:
    tags: list[dict[str, str]] = []
    for page in sagemaker_client.get_paginator("list_tags").paginate(ResourceArn=arn):
        tags.extend(page.get("Tags", []))
    return tags


def take_snapshot(
    sagemaker_client,
    source_client,
    archive_client,
    archive_bucket: str,
    *,
    account: str,
    region: str,
    endpoint: str,
    taken_at: datetime,
    limits: CopyLimits | None = None,
) -> dict[str, Any]:
    """Describe the endpoint, its config and models; copy their artifacts; verify; write the manifest (with the
    verification result) and return it. The caller deletes only when `manifest["verification"]["verified"]`."""
    described_endpoint = sagemaker_client.describe_endpoint(EndpointName=endpoint)
    config = sagemaker_client.describe_endpoint_config(EndpointConfigName=described_endpoint["EndpointConfigName"])
    models = {name: sagemaker_client.describe_model(ModelName=name) for name in endpoint_model_names(config)}
    sources = artifact_sources(config, models)
    prefix = snapshot_prefix(account, region, endpoint, taken_at)
    copied = copy_artifacts(source_client, archive_client, sources, archive_bucket, prefix, limits=limits)
    problems = verify_copies(source_client, archive_client, archive_bucket, copied)
    tags = {
        "endpoint": _tags(sagemaker_client, described_endpoint["EndpointArn"]),
        "endpoint_config": _tags(sagemaker_client, config["EndpointConfigArn"]),
        "models": {name: _tags(sagemaker_client, model["ModelArn"]) for name, model in models.items()},
    }
    document = manifest(
        account=account,
        region=region,
        taken_at=taken_at,
        archive_bucket=archive_bucket,
        describe_endpoint=described_endpoint,
        describe_endpoint_config=config,
        describe_models=models,
        tags=tags,
        sources=sources,
        copied=copied,
        problems=problems,
    )
    write_manifest(archive_client, archive_bucket, document)
    return document
