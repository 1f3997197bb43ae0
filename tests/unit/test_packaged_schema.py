"""The tag schema packaged for the Lambdas: equal to policies/tag_schema.json, parsed alike without jsonschema."""

from __future__ import annotations

import json
import sys

import pytest

from mlgov.domain.tag_schema import SchemaError, parse_schema
from mlgov.packaged_schema import load_packaged_schema, packaged_schema_text, parse_trusted_schema
from mlgov.repo_files import DEFAULT_POLICIES_DIR, meta_schema


def test_packaged_copy_is_identical_to_the_source_of_truth():
    source = DEFAULT_POLICIES_DIR / "tag_schema.json"

    assert packaged_schema_text() == source.read_text(), (
        "lambdas/mlgov/data/tag_schema.json is stale: cp policies/tag_schema.json lambdas/mlgov/data/tag_schema.json"
    )


def test_lambda_parse_without_jsonschema_builds_the_same_schema(real_schema, monkeypatch):
    monkeypatch.setitem(sys.modules, "jsonschema", None)  # `import jsonschema` now raises ImportError, as in a Lambda

    assert load_packaged_schema() == real_schema


def test_validated_parse_is_used_where_jsonschema_is_installed(real_schema):
    assert load_packaged_schema() == real_schema


def test_schema_from_text_overrides_the_packaged_copy():
    raw = json.loads(packaged_schema_text())
    raw["tags"] = [tag for tag in raw["tags"] if tag["key"] != "ml:experiment"]

    schema = load_packaged_schema(json.dumps(raw), source="MLGOV_TAG_SCHEMA")

    assert "ml:experiment" not in schema.required_keys and "ml:team" in schema.required_keys


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda raw: raw.pop("protected_tag_keys"), "malformed"),
        (lambda raw: raw["tags"].append(dict(raw["tags"][0])), "listed twice"),
        (lambda raw: raw["tags"][0].update(pattern="("), "not a valid regular expression"),
    ],
)
def test_trusted_parse_still_rejects_a_broken_schema(mutate, message):
    raw = json.loads(packaged_schema_text())
    mutate(raw)

    with pytest.raises(SchemaError, match=message):
        parse_trusted_schema(raw, "test")


def test_trusted_and_validated_parse_agree_on_a_valid_variant():
    raw = json.loads(packaged_schema_text())
    raw["tags"][3]["allowed_values"] = ["dev", "prod"]

    assert parse_trusted_schema(raw, "x") == parse_schema(raw, meta_schema(), source="x")


def test_invalid_json_text_is_one_line():
    with pytest.raises(SchemaError, match=r"^MLGOV_TAG_SCHEMA: not valid JSON"):
        load_packaged_schema("{", source="MLGOV_TAG_SCHEMA")
