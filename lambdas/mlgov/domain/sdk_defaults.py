"""Builds the SageMaker Python SDK's intelligent-defaults config so every SDK create carries the required tags."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from mlgov.domain.tag_schema import TagSchema

SDK_SCHEMA_VERSION = "1.0"

# Path under `SageMaker:` (sagemaker/config/config_schema.py, objects with a Tags property) -> resource type.
# AutoMLJobV2 is left out: SDK releases before its addition reject unknown keys and fail to load the file.
# @remote functions run as training jobs and take their tags from PythonSDK.Modules.RemoteFunction.
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
    "PythonSDK.Modules.RemoteFunction": "training-job",
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
    sagemaker = _copy_tree(config.get("SageMaker"))
    for path, section in sections.items():
        current = sagemaker
        for part in path.split("."):
            current[part] = _copy_tree(current.get(part))
            current = current[part]
        ours = {tag["Key"] for tag in section["Tags"]}
        kept = [tag for tag in current.get("Tags") or [] if tag.get("Key") not in ours]
        current["Tags"] = [*section["Tags"], *kept]
    config["SageMaker"] = sagemaker
    return config


def _copy_tree(node: object) -> dict:
    return {key: _copy_tree(value) if isinstance(value, Mapping) else value for key, value in (node or {}).items()}
