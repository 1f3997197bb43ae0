"""SageMaker Python SDK intelligent defaults: every SDK create carries the required tags."""

from __future__ import annotations

from datetime import date

from mlgov.domain.sdk_defaults import (
    SDK_SCHEMA_VERSION,
    SDK_TAGGED_RESOURCES,
    merge_into_config,
    sdk_tag_defaults,
)

TODAY = date(2026, 3, 15)
VALUES = {
    "ml:team": "fraud-detection",
    "ml:model": "churn-xgb",
    "ml:experiment": "exp-7",
    "ml:environment": "dev",
}
ML_KEYS = list(VALUES)


def tags_of(section: dict) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in section["Tags"]}


def test_every_sdk_section_carries_the_four_ml_tags(real_schema):
    sections = sdk_tag_defaults(real_schema, VALUES, TODAY, None)
    assert set(sections) == set(SDK_TAGGED_RESOURCES)
    for name, section in sections.items():
        tags = tags_of(section)
        assert {key: tags[key] for key in ML_KEYS} == VALUES, name


def test_lifetime_tag_only_on_endpoint_and_endpoint_config(real_schema):
    sections = sdk_tag_defaults(real_schema, VALUES, TODAY, None)
    with_lifetime = {name for name, section in sections.items() if "auto-delete-after" in tags_of(section)}
    assert with_lifetime == {"Endpoint", "EndpointConfig"}
    assert tags_of(sections["Endpoint"])["auto-delete-after"] == "2026-04-14"  # schema default: 30 days


def test_lifetime_days_override_the_schema_default(real_schema):
    sections = sdk_tag_defaults(real_schema, VALUES, TODAY, 7)
    assert tags_of(sections["EndpointConfig"])["auto-delete-after"] == "2026-03-22"


def test_generated_tags_pass_the_schema_for_their_resource_type(real_schema):
    from mlgov.domain.tag_schema import check_tags

    for name, section in sdk_tag_defaults(real_schema, VALUES, TODAY, None).items():
        assert check_tags(real_schema, tags_of(section), SDK_TAGGED_RESOURCES[name], TODAY) == [], name


def test_merge_into_an_empty_config_sets_the_schema_version(real_schema):
    config = merge_into_config(None, sdk_tag_defaults(real_schema, VALUES, TODAY, None))
    assert config["SchemaVersion"] == SDK_SCHEMA_VERSION == "1.0"
    assert set(config["SageMaker"]) == {path.split(".")[0] for path in SDK_TAGGED_RESOURCES}
    assert config["SageMaker"]["PythonSDK"]["Modules"]["RemoteFunction"]["Tags"] == sections_tags(real_schema)


def test_merge_keeps_other_settings_and_tags_and_replaces_ours(real_schema):
    existing = {
        "SchemaVersion": "1.0",
        "CustomParameters": {"team_bucket": "s3://fraud"},
        "SageMaker": {
            "PythonSDK": {"Modules": {"Session": {"DefaultS3Bucket": "fraud-ml"}}},
            "TrainingJob": {
                "EnableNetworkIsolation": True,
                "Tags": [
                    {"Key": "ml:team", "Value": "old-team"},
                    {"Key": "cost-center", "Value": "cc-42"},
                ],
            },
            "Endpoint": {"KmsKeyId": "alias/ml"},
        },
    }
    config = merge_into_config(existing, sdk_tag_defaults(real_schema, VALUES, TODAY, None))
    assert config["CustomParameters"] == {"team_bucket": "s3://fraud"}
    assert config["SageMaker"]["PythonSDK"]["Modules"]["Session"] == {"DefaultS3Bucket": "fraud-ml"}
    training = config["SageMaker"]["TrainingJob"]
    assert training["EnableNetworkIsolation"] is True
    assert tags_of(training) == {**VALUES, "cost-center": "cc-42"}
    assert [tag["Key"] for tag in training["Tags"]].count("ml:team") == 1
    assert config["SageMaker"]["Endpoint"]["KmsKeyId"] == "alias/ml"
    assert existing["SageMaker"]["TrainingJob"]["Tags"][0] == {"Key": "ml:team", "Value": "old-team"}


def test_merging_twice_gives_the_same_config(real_schema):
    sections = sdk_tag_defaults(real_schema, VALUES, TODAY, None)
    once = merge_into_config({"SageMaker": {"Model": {"Tags": [{"Key": "owner", "Value": "a"}]}}}, sections)
    assert merge_into_config(once, sections) == once


def sections_tags(schema) -> list[dict]:
    return sdk_tag_defaults(schema, VALUES, TODAY, None)["PythonSDK.Modules.RemoteFunction"]["Tags"]


def test_remote_functions_get_the_training_job_tags(real_schema):
    sections = sdk_tag_defaults(real_schema, VALUES, TODAY, None)

    assert sections["PythonSDK.Modules.RemoteFunction"] == sections["TrainingJob"]


def test_merge_keeps_other_remote_function_settings(real_schema):
    existing = {"SageMaker": {"PythonSDK": {"Modules": {"RemoteFunction": {"InstanceType": "ml.m5.xlarge"}}}}}

    config = merge_into_config(existing, sdk_tag_defaults(real_schema, VALUES, TODAY, None))

    remote = config["SageMaker"]["PythonSDK"]["Modules"]["RemoteFunction"]
    assert remote["InstanceType"] == "ml.m5.xlarge" and {t["Key"] for t in remote["Tags"]} >= {"ml:team"}
    assert existing["SageMaker"]["PythonSDK"]["Modules"]["RemoteFunction"] == {"InstanceType": "ml.m5.xlarge"}
