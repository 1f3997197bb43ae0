"""Costs around an endpoint's instances: the CloudWatch Logs its containers write and the S3 bucket holding its
model artifacts, each labelled billed (the cost export's line for that log group or bucket) or estimated (CloudWatch
metrics × a list price), never added to the instance figures.

- Logs: SageMaker writes an endpoint's container logs to `/aws/sagemaker/Endpoints/<name>`; its `IncomingBytes`
  (AWS/Logs) over the last WINDOW_DAYS, scaled to a month, × the region's ingestion price.
- Artifacts: the buckets of the endpoint's models (`ModelDataUrl`, `ModelDataSource`, an inference component's
  `ArtifactUrl`); the bucket's `BucketSizeBytes` (AWS/S3, StandardStorage, daily) × the Standard storage price. A
  bucket usually holds more than one model's artifacts, so the figure is the whole bucket's and names how many
  endpoints share it; it is counted once in the report's totals.
- Multi-model endpoints: a model in `MultiModel` mode makes the endpoint shared; `LoadedModelCount` (AWS/SageMaker,
  Maximum) says by how many models.

Prices: the checked-in list prices below (us-east-1, us-east-2, us-west-2); in any other region the size is shown
and the dollars are unpriced (null), never a guess. Pure: data in, data out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mlgov.domain.costing import HOURS_PER_MONTH
from mlgov.domain.inventory import Resource
from mlgov.domain.zombies import MetricQuery

WINDOW_DAYS = 30
BYTES_PER_GB = 1024**3  # AWS bills storage and log ingestion per GB of 2^30 bytes
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
LOG_GROUP_PREFIX = "/aws/sagemaker/Endpoints/"
PRICES_AS_OF = "2026-11-24"
# Amazon S3 Standard, first 50 TB, $/GB-month; CloudWatch Logs standard ingestion, $/GB (AWS pricing pages).
S3_STANDARD_USD_PER_GB_MONTH = {"us-east-1": 0.023, "us-east-2": 0.023, "us-west-2": 0.023}
LOG_INGESTION_USD_PER_GB = {"us-east-1": 0.50, "us-east-2": 0.50, "us-west-2": 0.50}
_LOGS_KEY, _MODELS_KEY, _BUCKET_KEY = "logs", "models", "bucket"
MULTI_MODEL_MODE = "MultiModel"


@dataclass(frozen=True)
class ModelFacts:
    """What a model's description says about its artifacts and hosting mode."""

    buckets: tuple[str, ...]
    multi_model: bool


@dataclass
class Measured:
    """What one account-region's reads found (see `measurement_queries` and `measured_from_series`)."""

    log_bytes: dict[str, float | None] = field(default_factory=dict)  # endpoint ARN -> bytes/month (None: unread)
    log_problems: dict[str, str] = field(default_factory=dict)  # endpoint ARN -> why its logs are not measured
    loaded_models: dict[str, int | None] = field(default_factory=dict)  # multi-model endpoint ARN -> most loaded
    artifacts: dict[str, tuple[str, ...]] = field(default_factory=dict)  # endpoint ARN -> artifact buckets
    artifact_problems: dict[str, str] = field(default_factory=dict)  # endpoint ARN -> why its buckets are unknown
    bucket_bytes: dict[str, float | None] = field(default_factory=dict)  # "account/region/bucket" -> bytes

    def merge(self, other: Measured) -> None:
        for mine, theirs in (
            (self.log_bytes, other.log_bytes),
            (self.log_problems, other.log_problems),
            (self.loaded_models, other.loaded_models),
            (self.artifacts, other.artifacts),
            (self.artifact_problems, other.artifact_problems),
            (self.bucket_bytes, other.bucket_bytes),
        ):
            mine.update(theirs)


def model_facts(described: Mapping[str, Any]) -> ModelFacts:
    """A DescribeModel response's artifact buckets and whether it serves many models from one container."""
    containers = [c for c in [described.get("PrimaryContainer"), *(described.get("Containers") or [])] if c]
    uris = []
    for container in containers:
        uris.append(container.get("ModelDataUrl"))
        sources = [container.get("ModelDataSource") or {}, *(container.get("AdditionalModelDataSources") or [])]
        uris += [(source.get("S3DataSource") or {}).get("S3Uri") for source in sources]
    multi = any(container.get("Mode") == MULTI_MODEL_MODE for container in containers)
    return ModelFacts(_buckets(uris), multi)


def component_buckets(component: Resource) -> tuple[str, ...]:
    """The bucket of an inference component's own artifact (`Specification.Container.ArtifactUrl`)."""
    return _buckets([component.details.get("artifact_url")])


def bucket_of(uri: object) -> str | None:
    """`s3://bucket/key` -> bucket; None for anything else."""
    if not isinstance(uri, str) or not uri.startswith("s3://"):
        return None
    bucket = uri[len("s3://") :].split("/", 1)[0]
    return bucket or None


def log_group(endpoint: Resource) -> str:
    return f"{LOG_GROUP_PREFIX}{endpoint.name}"


def bucket_key(account: str, region: str, bucket: str) -> str:
    return f"{account}/{region}/{bucket}"


def measurement_queries(endpoints: Sequence[Resource], buckets: Iterable[str]) -> list[MetricQuery]:
    """Per endpoint its log group's IncomingBytes (Sum) and every variant's LoadedModelCount (Maximum); per bucket
    its Standard storage size (Average of the daily BucketSizeBytes)."""
    queries = []
    for endpoint in endpoints:
        queries.append(
            MetricQuery(
                f"{_LOGS_KEY}|{endpoint.arn}", "AWS/Logs", "IncomingBytes", (("LogGroupName", log_group(endpoint)),)
            )
        )
        for variant in endpoint.variants:
            dimensions = (("EndpointName", endpoint.name), ("VariantName", variant.name))
            key = f"{_MODELS_KEY}|{endpoint.arn}|{variant.name}"
            queries.append(MetricQuery(key, "AWS/SageMaker", "LoadedModelCount", dimensions, "Maximum"))
    for bucket in sorted(set(buckets)):
        dimensions = (("BucketName", bucket), ("StorageType", "StandardStorage"))
        queries.append(MetricQuery(f"{_BUCKET_KEY}|{bucket}", "AWS/S3", "BucketSizeBytes", dimensions, "Average"))
    return queries


def measured_from_series(
    account: str,
    region: str,
    endpoints: Sequence[Resource],
    series: Mapping[str, Sequence[tuple[Any, float]]],
    window_days: float,
    multi_model: Iterable[str] = (),
    ages_days: Mapping[str, float] | None = None,
) -> Measured:
    """The series of `measurement_queries` (a key missing from `series`: the read failed) as monthly figures:
    log bytes summed over the window (or the endpoint's life, if shorter: `ages_days`) and scaled to a month, a
    bucket's latest daily size, the most models a multi-model endpoint (`multi_model`: ARNs whose model is in
    MultiModel mode) loaded."""
    measured = Measured()
    multi = set(multi_model)
    for endpoint in endpoints:
        logs = series.get(f"{_LOGS_KEY}|{endpoint.arn}")
        age = (ages_days or {}).get(endpoint.arn)
        days = min(window_days, age) if age and age > 0 else window_days  # a clock-skewed age counts the window
        measured.log_bytes[endpoint.arn] = (
            None if logs is None else sum(v for _, v in logs) / max(days, 1) * DAYS_PER_MONTH
        )
        counts = [
            value
            for variant in endpoint.variants
            for _, value in series.get(f"{_MODELS_KEY}|{endpoint.arn}|{variant.name}", [])
        ]
        if counts or endpoint.arn in multi:
            measured.loaded_models[endpoint.arn] = int(max(counts)) if counts else None
    for key, points in series.items():
        if key.startswith(f"{_BUCKET_KEY}|"):
            bucket = key.split("|", 1)[1]
            # No datapoint: a bucket of another account or region (CloudWatch publishes it there), or a new one.
            measured.bucket_bytes[bucket_key(account, region, bucket)] = points[-1][1] if points else None
    return measured


@dataclass(frozen=True)
class Billed:
    """The cost export's figures for the month, by lower-cased ResourceId: (billed, effective)."""

    month: str
    by_resource: Mapping[str, tuple[float, float]]


def with_around_costs(report: dict, measured: Measured, billed: Billed | None = None) -> dict:
    """The report with an `around` block on each measured endpoint finding and the report's `around` totals."""
    sharing: dict[str, list[str]] = defaultdict(list)
    for arn, buckets in measured.artifacts.items():
        for bucket in buckets:
            sharing[bucket].append(arn)
    findings = []
    for finding in report["findings"]:
        arn = finding["arn"]
        if finding["resource_type"] != "endpoint" or (arn not in measured.log_bytes and arn not in measured.artifacts):
            findings.append(finding)
            continue
        around = {"logs": _logs(finding, measured, billed), "artifacts": _artifacts(finding, measured, billed, sharing)}
        if arn in measured.artifact_problems:
            around["artifacts_unknown"] = measured.artifact_problems[arn]
        findings.append({**finding, "around": around})
    document = {**report, "findings": findings}
    document["around"] = around_totals(findings)
    return document


def around_totals(findings: Sequence[Mapping]) -> dict:
    """Monthly logs and artifact-bucket dollars over the findings (a bucket counted once by its name, which is global,
    however many endpoints and accounts use it), billed and estimated apart; how many figures were measured but have
    no price (unpriced) and how many could not be measured (unread): neither is in the dollars."""
    totals = {"billed": 0.0, "estimated": 0.0}
    logs = dict(totals)
    buckets: dict[str, tuple[str, float]] = {}
    unpriced_buckets: set[str] = set()
    unpriced = unread = 0
    for finding in findings:
        around = finding.get("around")
        if not around:
            continue
        entry = around["logs"]
        if entry["usd_month"] is None:
            unpriced += entry.get("gb_month") is not None
            unread += entry.get("gb_month") is None
        else:
            logs[entry["source"]] += entry["usd_month"]
        for artifact in around["artifacts"]:
            if artifact["usd_month"] is not None:
                buckets[artifact["bucket"]] = (artifact["source"], artifact["usd_month"])
            elif artifact.get("gb") is not None:
                unpriced_buckets.add(artifact["bucket"])
            else:
                unread += 1
    unpriced += len(unpriced_buckets - set(buckets))
    storage = dict(totals)
    for source, usd in buckets.values():
        storage[source] += usd
    return {
        "logs_usd_month": {source: round(value, 2) for source, value in logs.items()},
        "artifact_buckets_usd_month": {source: round(value, 2) for source, value in storage.items()},
        "artifact_buckets": len(buckets),
        "unpriced": unpriced,
        "unread": unread,
        "prices": f"list prices {PRICES_AS_OF} (S3 Standard, CloudWatch Logs ingestion) in "
        f"{', '.join(sorted(S3_STANDARD_USD_PER_GB_MONTH))}; elsewhere unpriced",
    }


def _logs(finding: Mapping, measured: Measured, billed: Billed | None) -> dict:
    group = f"{LOG_GROUP_PREFIX}{finding['name']}"
    if finding["arn"] in measured.log_problems:
        return {"log_group": group, "gb_month": None, "usd_month": None, "source": "estimated",
                "basis": measured.log_problems[finding["arn"]]}  # fmt: skip
    arn = _finding_log_group_arn(finding)
    charged = _billed(billed, arn, f"{arn}:*")
    if charged is not None:
        return {"log_group": group, "gb_month": None, "usd_month": charged, "source": "billed",
                "basis": f"billed {billed.month} (cost export, log group)"}  # fmt: skip
    size = measured.log_bytes.get(finding["arn"])
    if size is None:
        return {"log_group": group, "gb_month": None, "usd_month": None, "source": "estimated",
                "basis": "IncomingBytes not read"}  # fmt: skip
    gb = size / BYTES_PER_GB
    price = LOG_INGESTION_USD_PER_GB.get(finding["region"])
    priced = f"${price:.2f}/GB ingestion" if price is not None else f"no checked-in price for {finding['region']}"
    return {
        "log_group": group,
        "gb_month": round(gb, 3),
        "usd_month": None if price is None else round(gb * price, 2),
        "source": "estimated",
        "basis": f"CloudWatch IncomingBytes over {WINDOW_DAYS} days scaled to a month × {priced}",
    }


def _artifacts(finding: Mapping, measured: Measured, billed: Billed | None, sharing: Mapping) -> list[dict]:
    entries = []
    for bucket in measured.artifacts.get(finding["arn"], ()):
        shared_by = len(sharing.get(bucket, ())) or 1
        charged = _billed(billed, bucket)
        if charged is not None:
            entries.append({"bucket": bucket, "gb": None, "usd_month": charged, "source": "billed",
                            "shared_by_endpoints": shared_by,
                            "basis": f"billed {billed.month} (cost export, the whole bucket)"})  # fmt: skip
            continue
        size = measured.bucket_bytes.get(bucket_key(finding["account"], finding["region"], bucket))
        price = S3_STANDARD_USD_PER_GB_MONTH.get(finding["region"])
        gb = None if size is None else size / BYTES_PER_GB
        if size is None:
            basis = (
                "no BucketSizeBytes datapoint: a bucket of another account or region (published there), no Standard "
                "storage, or the read failed (see errors)"
            )
        elif price is None:
            basis = f"no checked-in S3 price for {finding['region']}"
        else:
            basis = f"the whole bucket: CloudWatch BucketSizeBytes (StandardStorage) × ${price}/GB-month"
        entries.append(
            {
                "bucket": bucket,
                "gb": None if gb is None else round(gb, 3),
                "usd_month": None if gb is None or price is None else round(gb * price, 2),
                "source": "estimated",
                "shared_by_endpoints": shared_by,
                "basis": basis,
            }
        )
    return entries


def billable_ids(report: Mapping, measured: Measured) -> list[str]:
    """The cost export ResourceIds to look up: each measured endpoint's log group ARN (with and without the `:*`
    CloudWatch appends) and each artifact bucket name."""
    ids = set()
    for finding in report["findings"]:
        if finding["resource_type"] == "endpoint" and finding["arn"] in measured.log_bytes:
            arn = _finding_log_group_arn(finding)
            ids |= {arn, f"{arn}:*"}
    ids |= {bucket for buckets in measured.artifacts.values() for bucket in buckets}
    return sorted(ids)


def _finding_log_group_arn(finding: Mapping) -> str:
    partition, region, account = str(finding["arn"]).split(":")[1], finding["region"], finding["account"]
    return f"arn:{partition}:logs:{region}:{account}:log-group:{LOG_GROUP_PREFIX}{finding['name']}"


def _billed(billed: Billed | None, *ids: str) -> float | None:
    if billed is None:
        return None
    found = [billed.by_resource[i.lower()][0] for i in ids if i.lower() in billed.by_resource]
    return round(sum(found), 2) if found else None


def _buckets(uris: Iterable[object]) -> tuple[str, ...]:
    return tuple(sorted({bucket for uri in uris if (bucket := bucket_of(uri))}))
