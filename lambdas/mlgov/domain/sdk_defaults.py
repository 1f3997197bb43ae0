"""Builds the SageMaker Python SDK's intelligent-defaults config so every SDK create carries the required tags."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from mlgov.domain.tag_schema import TagSchema

SDK_SCHEMA_VERSION = "1.0"

# SDK config key (sagemaker/config/config_schema.py, keys with a Tags property) -> SageMaker resource type.
# AutoMLJobV2 is left out: SDK releases before its addition reject unknown keys and fail to load the file.
SDK_TAGGED_RESOURCES: Mapping[str, str] = {
    "AutoMLJob": "automl-job",
    "CompilationJob": "compilation-job",
    "EdgePackagingJob": "edge-packaging-job",
    "Endpoint": "endpoint",
    "EndpointConfig": "endpoint-config",
    "FeatureGroup": "feature-group",
    "Model": "model",
    "MonitoringSchedule": "monitoring-schedule",
    "Pipeline": "pipeline",
    "ProcessingJob": "processing-job",
    "TrainingJob": "training-job",
    "TransformJob": "transform-job",
}


def sdk_tag_defaults(schema: TagSchema, values: Mapping[str, str], today: date, lifetime_days: int | None) -> dict:
    """The per-resource `Tags` defaults; `values` maps required keys to the user's values (lifetime computed)."""
    lifetime_rule = schema.lifetime_rule()
    sections: dict = {}
    for sdk_key, resource_type in SDK_TAGGED_RESOURCES.items():
        tags = []
        for rule in schema.rules_for(resource_type):
            if rule is lifetime_rule:
                days = lifetime_days or rule.default_lifetime_days or 30
                value = date.fromordinal(today.toordinal() + days).isoformat()
            else:
                value = values[rule.key]
            tags.append({"Key": rule.key, "Value": value})
        sections[sdk_key] = {"Tags": tags}
    return sections


def merge_into_config(existing: Mapping | None, sections: Mapping[str, Mapping]) -> dict:
    """Replace only the governed tags in each section of an existing config; keep every other setting and tag."""
    config = dict(existing or {})
    config["SchemaVersion"] = SDK_SCHEMA_VERSION
    sagemaker = dict(config.get("SageMaker") or {})
    for sdk_key, section in sections.items():
        current = dict(sagemaker.get(sdk_key) or {})
        ours = {tag["Key"] for tag in section["Tags"]}
        kept = [tag for tag in current.get("Tags") or [] if tag.get("Key") not in ours]
        current["Tags"] = [*section["Tags"], *kept]
        sagemaker[sdk_key] = current
    config["SageMaker"] = sagemaker
    return config
