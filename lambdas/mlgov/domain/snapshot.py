"""Endpoint snapshots as data: where artifacts live, the archive layout, the manifest, verification, restore requests.

Pure: no boto3, no environment, no clock. The S3 adapter (`mlgov.aws.snapshot_store`) copies and heads objects; this
module decides what to copy, where to, whether the copy is verified and how to recreate the endpoint from it.

Scope: real-time endpoints whose endpoint config names models in `ProductionVariants[].ModelName` (and
`ShadowProductionVariants[].ModelName`). Inference components (endpoints whose variants carry no ModelName) and
models built from a model package (`ModelPackageName`) are out of scope: `artifact_sources` refuses them with
`SnapshotError` rather than producing a snapshot that cannot be restored.

Archive layout: `snapshots/<account>/<region>/<endpoint>/<YYYYMMDDTHHMMSSZ>/manifest.json` and, per source object
`s3://<bucket>/<key>`, the copy `.../artifacts/<bucket>/<key>`. The mapping is a pure function of the source URI, so
an `S3Prefix` source `s3://b/p` maps to the archived prefix `s3://<archive>/.../artifacts/b/p` and keeps its meaning
(every key starting with it).

Verified means, for every copied object (see `verify`): the archive key's current version is the version recorded
at copy time, its size equals the source's, and its content matches the source as its copy plan
(`mlgov.domain.artifact_copy`) arranged:
  1. a full-object checksum of the same algorithm on both sides, equal values;
  2. a composite checksum (`<base64>-<parts>`) of the same algorithm and part count on both sides (the copy mirrored
     the source's parts, each compared at copy time), equal values;
  3. for a source S3 holds no usable checksum of: the SHA-256 mlgov computed of each source range equals the
     SHA-256 S3 computed of the archived part (whose recorded checksums compose to the archive's current value);
  4. failing all of these, equal plain-MD5 ETags (single-part objects, neither side SSE-KMS/DSSE/SSE-C).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from mlgov.domain.artifact_copy import composite_checksum, hashed_problems

MANIFEST_SCHEMA = "mlgov.snapshot/1"
MANIFEST_NAME = "manifest.json"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"
TIMESTAMP_PATTERN = re.compile(r"^\d{8}T\d{6}Z$")
S3_OBJECT, S3_PREFIX = "S3Object", "S3Prefix"
CHECKSUM_ALGORITHMS = ("SHA256", "SHA1", "CRC64NVME", "CRC32C", "CRC32")  # strongest first
# Not restored: mlgov's own keys (the SCPs let only mlgov write them; the auto-tagger re-tags the new resources) and
# `aws:` keys (reserved). The `ml:*` keys and every other tag come back.
DROPPED_TAG_PREFIXES = ("mlgov:", "aws:")

# Request members of CreateModel / CreateEndpointConfig copied from the describe outputs; everything else in those
# outputs (ARNs, CreationTime, DeploymentRecommendation, ...) is output-only. A test pins these to the botocore model.
MODEL_FIELDS = ("PrimaryContainer", "Containers", "InferenceExecutionConfig", "ExecutionRoleArn", "VpcConfig",
                "EnableNetworkIsolation")  # fmt: skip
ENDPOINT_CONFIG_FIELDS = ("ProductionVariants", "DataCaptureConfig", "KmsKeyId", "AsyncInferenceConfig",
                          "ExplainerConfig", "ShadowProductionVariants", "ExecutionRoleArn", "VpcConfig",
                          "EnableNetworkIsolation", "MetricsConfig", "CrossRegionTrafficConfig")  # fmt: skip
_NAME_MAX = 63


class SnapshotError(ValueError):
    """The endpoint cannot be snapshotted or restored as described; the message says why."""


@dataclass(frozen=True)
class ArtifactSource:
    """One model data location: a single object (`S3Object`) or every key under a prefix (`S3Prefix`)."""

    model_name: str
    location: str  # e.g. "PrimaryContainer.ModelDataUrl", "Containers[1].ModelDataSource"
    uri: str
    bucket: str
    key: str  # the object key, or the key prefix for S3Prefix
    data_type: str  # S3Object | S3Prefix
    compression: str | None = None  # CompressionType of a ModelDataSource; None for ModelDataUrl


@dataclass(frozen=True)
class CopiedObject:
    """One archived object as recorded in the manifest."""

    source_uri: str
    archive_key: str
    size: int
    checksum: Mapping[str, str]  # {"algorithm": "SHA256", "value": base64, "origin": "s3" | "computed"}
    version_id: str | None  # the archive version written by the copy
    source_version_id: str | None = None
    source_etag: str | None = None
    rule: str | None = None  # the copy plan's rule (mlgov.domain.artifact_copy)
    parts: list[str] | None = None  # multipart copy: S3's checksum of each archived part, in order
    hash_ranges: list[list[int]] | None = None  # rule 3: the source byte ranges mlgov hashes, one per part
    source_hashes: list[str | None] | None = None  # rule 3: their SHA-256 (None: not hashed yet)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "checksum": dict(self.checksum)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CopiedObject:
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class RestorePlan:
    models: list[dict[str, Any]]  # CreateModel requests, in endpoint-config order
    endpoint_config: dict[str, Any]  # CreateEndpointConfig request
    endpoint: dict[str, Any]  # CreateEndpoint request
    notes: list[str] = field(default_factory=list)


# --- layout -------------------------------------------------------------------------------------------------------


def snapshot_timestamp(taken_at: datetime) -> str:
    if taken_at.tzinfo is None:
        raise SnapshotError("snapshot time must be timezone-aware")
    return taken_at.astimezone(UTC).strftime(TIMESTAMP_FORMAT)


def endpoint_prefix(account: str, region: str, endpoint: str) -> str:
    return f"snapshots/{account}/{region}/{endpoint}/"


def snapshot_prefix(account: str, region: str, endpoint: str, taken_at: datetime) -> str:
    return f"{endpoint_prefix(account, region, endpoint)}{snapshot_timestamp(taken_at)}/"


def archive_key(prefix: str, bucket: str, key: str) -> str:
    """Where `s3://bucket/key` (an object key or a key prefix) is archived under the snapshot `prefix`."""
    return f"{prefix}artifacts/{bucket}/{key}"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    match = re.match(r"^s3://([^/]+)/(.*)$", uri or "")
    if not match:
        raise SnapshotError(f"not an s3:// URI: {uri!r}")
    return match.group(1), match.group(2)


# --- sources ------------------------------------------------------------------------------------------------------


def endpoint_model_names(describe_endpoint_config: Mapping[str, Any]) -> list[str]:
    """Model names behind an endpoint config, in variant order, without duplicates (shadow variants included)."""
    names: list[str] = []
    variants = [*describe_endpoint_config.get("ProductionVariants", []),
                *describe_endpoint_config.get("ShadowProductionVariants", [])]  # fmt: skip
    config = describe_endpoint_config.get("EndpointConfigName", "?")
    for variant in variants:
        name = variant.get("ModelName")
        if not name:
            raise SnapshotError(
                f"endpoint config {config} variant {variant.get('VariantName')} names no model "
                "(inference components are not supported by snapshots)"
            )
        if name not in names:
            names.append(name)
    return names


def artifact_sources(
    describe_endpoint_config: Mapping[str, Any], describe_models: Mapping[str, Mapping[str, Any]]
) -> list[ArtifactSource]:
    """Every S3 location holding model data for the endpoint's models (ModelDataUrl, ModelDataSource,
    AdditionalModelDataSources), deduplicated by (uri, data type)."""
    sources: list[ArtifactSource] = []
    seen: set[tuple[str, str]] = set()
    for name in endpoint_model_names(describe_endpoint_config):
        if name not in describe_models:
            raise SnapshotError(f"model {name} is not described (is it deleted?)")
        for source in _model_sources(name, describe_models[name]):
            if (source.uri, source.data_type) not in seen:
                seen.add((source.uri, source.data_type))
                sources.append(source)
    return sources


def _containers(model: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    found = [("PrimaryContainer", model["PrimaryContainer"])] if model.get("PrimaryContainer") else []
    found += [(f"Containers[{i}]", c) for i, c in enumerate(model.get("Containers") or [])]
    return found


def _model_sources(name: str, model: Mapping[str, Any]) -> Iterable[ArtifactSource]:
    for where, container in _containers(model):
        if container.get("ModelPackageName"):
            raise SnapshotError(f"model {name} {where} uses model package {container['ModelPackageName']}: unsupported")
        if container.get("ModelDataUrl"):
            uri = container["ModelDataUrl"]
            bucket, key = parse_s3_uri(uri)
            # A ModelDataUrl is one object (a .tar.gz) unless it ends with "/" (uncompressed data under a prefix).
            data_type = S3_PREFIX if key.endswith("/") else S3_OBJECT
            yield ArtifactSource(name, f"{where}.ModelDataUrl", uri, bucket, key, data_type)
        data_sources = []
        if (container.get("ModelDataSource") or {}).get("S3DataSource"):
            data_sources.append((f"{where}.ModelDataSource", container["ModelDataSource"]["S3DataSource"]))
        for i, extra in enumerate(container.get("AdditionalModelDataSources") or []):
            data_sources.append((f"{where}.AdditionalModelDataSources[{i}]", extra["S3DataSource"]))
        for location, s3 in data_sources:
            if s3.get("S3DataType") not in (S3_OBJECT, S3_PREFIX):
                raise SnapshotError(f"model {name} {location}: unknown S3DataType {s3.get('S3DataType')!r}")
            bucket, key = parse_s3_uri(s3["S3Uri"])
            yield ArtifactSource(name, location, s3["S3Uri"], bucket, key, s3["S3DataType"], s3.get("CompressionType"))
            if s3.get("ManifestS3Uri"):
                bucket, key = parse_s3_uri(s3["ManifestS3Uri"])
                yield ArtifactSource(name, f"{location}.ManifestS3Uri", s3["ManifestS3Uri"], bucket, key, S3_OBJECT)


# --- manifest -----------------------------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """A describe output as JSON data: datetimes as ISO strings, ResponseMetadata dropped."""
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def manifest(
    *,
    account: str,
    region: str,
    taken_at: datetime,
    archive_bucket: str,
    describe_endpoint: Mapping[str, Any],
    describe_endpoint_config: Mapping[str, Any],
    describe_models: Mapping[str, Mapping[str, Any]],
    tags: Mapping[str, Any],  # {"endpoint": [...], "endpoint_config": [...], "models": {name: [...]}} (Key/Value)
    sources: Iterable[ArtifactSource],
    copied: Iterable[CopiedObject],
    problems: Iterable[str] | None = None,  # verify()'s result; None when not verified yet
) -> dict[str, Any]:
    endpoint = describe_endpoint["EndpointName"]
    problems = None if problems is None else list(problems)
    return {
        "schema": MANIFEST_SCHEMA,
        "account": account,
        "region": region,
        "endpoint_name": endpoint,
        "taken_at": taken_at.astimezone(UTC).isoformat(),
        "archive_bucket": archive_bucket,
        "prefix": snapshot_prefix(account, region, endpoint, taken_at),
        "describe_endpoint": jsonable(describe_endpoint),
        "describe_endpoint_config": jsonable(describe_endpoint_config),
        "describe_models": {name: jsonable(model) for name, model in describe_models.items()},
        "tags": {
            "endpoint": jsonable(tags.get("endpoint", [])),
            "endpoint_config": jsonable(tags.get("endpoint_config", [])),
            "models": {name: jsonable(value) for name, value in (tags.get("models") or {}).items()},
        },
        "sources": [asdict(source) for source in sources],
        "objects": [obj.as_dict() for obj in copied],
        "verification": None if problems is None else {"verified": not problems, "problems": problems},
    }


# --- verification -------------------------------------------------------------------------------------------------


def full_object_checksums(head: Mapping[str, Any]) -> dict[str, str]:
    """Algorithm -> value of the full-object checksums a HeadObject (ChecksumMode=ENABLED) response carries."""
    if head.get("ChecksumType") == "COMPOSITE":
        return {}
    found = {}
    for algorithm in CHECKSUM_ALGORITHMS:
        value = head.get(f"Checksum{algorithm}")
        if value and not re.search(r"-\d+$", value):
            found[algorithm] = value
    return found


def _plain_md5_etag(head: Mapping[str, Any]) -> str | None:
    etag = (head.get("ETag") or "").strip('"')
    encrypted = head.get("ServerSideEncryption") in ("aws:kms", "aws:kms:dsse") or head.get("SSECustomerAlgorithm")
    if not etag or "-" in etag or encrypted:
        return None
    return etag


def content_match(source_head: Mapping[str, Any], archive_head: Mapping[str, Any]) -> tuple[bool | None, str]:
    """(True/False, how) when a rule could compare the contents; (None, why not) when none could."""
    source_sums, archive_sums = full_object_checksums(source_head), full_object_checksums(archive_head)
    for algorithm in CHECKSUM_ALGORITHMS:
        if algorithm in source_sums and algorithm in archive_sums:
            equal = source_sums[algorithm] == archive_sums[algorithm]
            return equal, f"{algorithm} {archive_sums[algorithm]} vs source {source_sums[algorithm]}"
    source_composite, archive_composite = composite_checksum(source_head), composite_checksum(archive_head)
    if source_composite[0] and source_composite[0] == archive_composite[0]:
        equal = source_composite[1] == archive_composite[1]
        return equal, f"composite {archive_composite[0]} {archive_composite[1]} vs source {source_composite[1]}"
    source_etag, archive_etag = _plain_md5_etag(source_head), _plain_md5_etag(archive_head)
    if source_etag and archive_etag:
        return source_etag == archive_etag, f"MD5 ETag {archive_etag} vs source {source_etag}"
    if archive_composite[0]:
        return None, "multipart archive copy: its composite checksum has no counterpart at the source"
    return None, "no checksum of the same algorithm on both sides and no plain MD5 ETag"


def verify(
    copied: Iterable[CopiedObject],
    source_heads: Mapping[str, Mapping[str, Any] | None],
    archive_heads: Mapping[str, Mapping[str, Any] | None],
    range_hashes: Mapping[str, Mapping[int, str]] | None = None,
) -> list[str]:
    """Problems with the archived copies; an empty list means every object is verified (module docstring).

    `source_heads` maps source URI and `archive_heads` archive key to a HeadObject response (ChecksumMode=ENABLED)
    of the copied source version and the archive's current version, or None when the object is missing.
    `range_hashes` adds source-range SHA-256s computed after the manifest was written (archive key -> {range index:
    value}, from the approval state machine's Distributed Map).
    """
    problems: list[str] = []
    objects = list(copied)
    if not objects:
        return ["no objects were copied: a snapshot without artifacts cannot be verified"]
    for obj in objects:
        source, archived = source_heads.get(obj.source_uri), archive_heads.get(obj.archive_key)
        if archived is None:
            problems.append(f"{obj.archive_key}: missing from the archive")
            continue
        if source is None:
            problems.append(f"{obj.source_uri}: source object missing, cannot compare")
            continue
        if obj.version_id and archived.get("VersionId") != obj.version_id:
            problems.append(
                f"{obj.archive_key}: current version {archived.get('VersionId')} is not the copied {obj.version_id}"
            )
        if archived.get("ContentLength") != source.get("ContentLength"):
            problems.append(
                f"{obj.archive_key}: size mismatch, {archived.get('ContentLength')} bytes archived, "
                f"{source.get('ContentLength')} at the source"
            )
        if obj.source_etag and not obj.source_version_id and source.get("ETag") != obj.source_etag:
            problems.append(f"{obj.source_uri}: rewritten since the copy (ETag {source.get('ETag')})")
            continue
        if obj.hash_ranges:
            hashes = list(obj.source_hashes or [None] * len(obj.hash_ranges))
            for index, value in ((range_hashes or {}).get(obj.archive_key) or {}).items():
                if 0 <= int(index) < len(hashes) and not hashes[int(index)]:
                    hashes[int(index)] = value
            problems += hashed_problems(obj.archive_key, archived, obj.parts, hashes)
            continue
        equal, how = content_match(source, archived)
        if equal is None:
            problems.append(f"{obj.archive_key}: cannot verify content ({how})")
        elif not equal:
            problems.append(f"{obj.archive_key}: checksum mismatch ({how})")
    return problems


# --- restore ------------------------------------------------------------------------------------------------------


def restorable_tags(tags: Iterable[Mapping[str, str]] | None) -> list[dict[str, str]]:
    """Original tags minus mlgov's own keys (re-written by the auto-tagger) and `aws:` keys (reserved)."""
    return [
        {"Key": tag["Key"], "Value": tag.get("Value", "")}
        for tag in tags or []
        if not tag["Key"].startswith(DROPPED_TAG_PREFIXES)
    ]


def _archived_uri(uri: str, archive_bucket: str, prefix: str) -> str:
    bucket, key = parse_s3_uri(uri)
    return f"s3://{archive_bucket}/{archive_key(prefix, bucket, key)}"


def _restored_container(container: Mapping[str, Any], archive_bucket: str, prefix: str) -> dict[str, Any]:
    restored = _pruned(dict(container))
    if restored.get("ModelDataUrl"):
        restored["ModelDataUrl"] = _archived_uri(restored["ModelDataUrl"], archive_bucket, prefix)

    def rewrite(s3: Mapping[str, Any]) -> dict[str, Any]:
        # ETag/ManifestEtag describe the source objects; the archived copies' ETags differ (KMS, multipart).
        new = {k: v for k, v in s3.items() if k not in ("ETag", "ManifestEtag")}
        new["S3Uri"] = _archived_uri(s3["S3Uri"], archive_bucket, prefix)
        if s3.get("ManifestS3Uri"):
            new["ManifestS3Uri"] = _archived_uri(s3["ManifestS3Uri"], archive_bucket, prefix)
        return new

    if (restored.get("ModelDataSource") or {}).get("S3DataSource"):
        restored["ModelDataSource"] = {"S3DataSource": rewrite(restored["ModelDataSource"]["S3DataSource"])}
    if restored.get("AdditionalModelDataSources"):
        restored["AdditionalModelDataSources"] = [
            {**extra, "S3DataSource": rewrite(extra["S3DataSource"])}
            for extra in restored["AdditionalModelDataSources"]
        ]
    return restored


def drifted_sources(objects: Sequence[Mapping[str, Any]], heads: Mapping[str, Mapping[str, Any] | None]) -> list[str]:
    """Why the source artifacts no longer are what the snapshot copied (one line each): gone, other size, other
    ETag or other version. `heads` maps each object's source URI to its HeadObject output (None: not found)."""
    problems = []
    for obj in objects:
        uri, head = obj["source_uri"], heads.get(obj["source_uri"])
        if head is None:
            problems.append(f"{uri} is gone")
        elif int(head.get("ContentLength", -1)) != int(obj["size"]):
            problems.append(f"{uri} is {head.get('ContentLength')} bytes, was {obj['size']}")
        elif obj.get("source_etag") and (head.get("ETag") or "").strip('"') != str(obj["source_etag"]).strip('"'):
            problems.append(f"{uri} has another ETag")
        elif obj.get("source_version_id") and head.get("VersionId") not in (None, obj["source_version_id"]):
            problems.append(f"{uri} is another version")
    return problems


# What makes the live endpoint "the one that was snapshotted": same ARN, never recreated, never updated since.
ENDPOINT_IDENTITY_FIELDS = ("EndpointArn", "CreationTime", "EndpointConfigName", "LastModifiedTime")


def endpoint_identity(describe_endpoint: Mapping[str, Any]) -> dict[str, Any]:
    """The identity fields of a DescribeEndpoint response, JSON-ready (times as ISO text)."""
    return {field: jsonable(describe_endpoint.get(field)) for field in ENDPOINT_IDENTITY_FIELDS}


def identity_drift(live: Mapping[str, Any], snapshotted: Mapping[str, Any]) -> list[str]:
    """'<field> was <snapshotted>, now <live>' for each identity field that differs (a missing one differs)."""
    now = endpoint_identity(live)
    return [
        f"{field} was {snapshotted.get(field)}, now {now[field]}"
        for field in ENDPOINT_IDENTITY_FIELDS
        if snapshotted.get(field) is None
        or _same_instant_or_text(snapshotted.get(field)) != _same_instant_or_text(now[field])
    ]


def _same_instant_or_text(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    return value


def changed_fields(current: Mapping[str, Any], snapshotted: Mapping[str, Any], fields: Sequence[str]) -> list[str]:
    """The `fields` whose value differs between a Describe output now and the one in the snapshot (empty values
    count as absent, as in the restore requests)."""

    def normal(value: Any) -> Any:
        pruned = _pruned(value)
        return None if pruned in ({}, []) else pruned

    return [name for name in fields if normal(current.get(name)) != normal(snapshotted.get(name))]


def _pruned(value: Any) -> Any:
    """Drop empty dicts/lists and None (describe outputs carry `VpcConfig: {}`; requests reject them)."""
    if isinstance(value, Mapping):
        kept = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def _derived_name(new_name: str, original: str) -> str:
    name = f"{new_name}-{original}"[:_NAME_MAX].rstrip("-")
    return name


def restore_plan(manifest: Mapping[str, Any], archive_bucket: str, new_name: str | None = None) -> RestorePlan:
    """CreateModel / CreateEndpointConfig / CreateEndpoint requests recreating the snapshotted endpoint from the
    archived artifacts. With `new_name`, the endpoint and its config take that name and each model `<new>-<model>`;
    otherwise the original names are reused (they must not exist any more)."""
    if manifest.get("schema") != MANIFEST_SCHEMA:
        raise SnapshotError(f"unsupported manifest schema {manifest.get('schema')!r} (expected {MANIFEST_SCHEMA})")
    prefix = manifest["prefix"]
    config = manifest["describe_endpoint_config"]
    endpoint = manifest["describe_endpoint"]
    tags = manifest.get("tags") or {}
    model_names = endpoint_model_names(config)
    renamed = {name: _derived_name(new_name, name) if new_name else name for name in model_names}
    if len(set(renamed.values())) != len(renamed):
        raise SnapshotError(f"--name {new_name} makes model names collide; choose a shorter name")
    notes: list[str] = []
    models = []
    for name in model_names:
        described = manifest["describe_models"][name]
        request: dict[str, Any] = {"ModelName": renamed[name]}
        for member in MODEL_FIELDS:
            if member == "PrimaryContainer" and described.get(member):
                request[member] = _restored_container(described[member], archive_bucket, prefix)
            elif member == "Containers" and described.get(member):
                request[member] = [_restored_container(c, archive_bucket, prefix) for c in described[member]]
            elif member in described:
                request[member] = _pruned(described[member])
        model_tags = restorable_tags((tags.get("models") or {}).get(name))
        if model_tags:
            request["Tags"] = model_tags
        models.append(_pruned(request))

    config_name = new_name or config["EndpointConfigName"]
    config_request: dict[str, Any] = {"EndpointConfigName": config_name}
    for member in ENDPOINT_CONFIG_FIELDS:
        if member in config:
            config_request[member] = _pruned(config[member])
    for group in ("ProductionVariants", "ShadowProductionVariants"):
        if config_request.get(group):
            config_request[group] = [{**v, "ModelName": renamed[v["ModelName"]]} for v in config_request[group]]
    config_tags = restorable_tags(tags.get("endpoint_config"))
    if config_tags:
        config_request["Tags"] = config_tags
    if config_request.get("DataCaptureConfig"):
        notes.append("DataCaptureConfig kept: captured data goes to the original DestinationS3Uri")

    endpoint_request: dict[str, Any] = {
        "EndpointName": new_name or endpoint["EndpointName"],
        "EndpointConfigName": config_name,
    }
    endpoint_tags = restorable_tags(tags.get("endpoint"))
    if endpoint_tags:
        endpoint_request["Tags"] = endpoint_tags
    return RestorePlan(models=models, endpoint_config=_pruned(config_request), endpoint=endpoint_request, notes=notes)
