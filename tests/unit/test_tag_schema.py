"""Tag schema: the real file parses, a malformed one fails in one line naming the path; checking tag sets."""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta

import pytest

from mlgov.domain.tag_schema import SchemaError, TagSchema, check_tags, parse_schema
from mlgov.repo_files import DEFAULT_POLICIES_DIR, meta_schema

TODAY = date(2026, 3, 15)


@pytest.fixture(scope="module")
def raw_schema() -> dict:
    return json.loads((DEFAULT_POLICIES_DIR / "tag_schema.json").read_text())


def good_tags(overrides: dict[str, str] | None = None) -> dict[str, str]:
    tags = {
        "ml:team": "fraud-detection",
        "ml:model": "churn-xgb",
        "ml:experiment": "baseline-2026q4",
        "ml:environment": "dev",
        "auto-delete-after": (TODAY + timedelta(days=30)).isoformat(),
    }
    return {**tags, **(overrides or {})}


def problems_by_key(schema: TagSchema, tags: dict[str, str], resource_type: str | None = "endpoint") -> dict:
    return {problem.key: problem.message for problem in check_tags(schema, tags, resource_type, TODAY)}


def tag_index(raw: dict, key: str) -> int:
    return next(index for index, tag in enumerate(raw["tags"]) if tag["key"] == key)


# --- the real schema --------------------------------------------------------------------------------


def test_real_schema_parses_with_the_five_required_keys(real_schema):
    assert real_schema.required_keys == (
        "ml:team",
        "ml:model",
        "ml:experiment",
        "ml:environment",
        "auto-delete-after",
    )
    assert real_schema.lifetime_rule().key == "auto-delete-after"
    assert real_schema.rule("ml:environment").allowed_values == ("dev", "staging", "prod")
    assert not real_schema.studio_ui_enforced
    assert set(real_schema.studio_ui_actions) == {"CreateApp", "CreateSpace"}


def test_real_schema_examples_satisfy_their_own_rules(real_schema):
    for rule in real_schema.rules:
        if not rule.is_date:
            assert rule.value_problem(rule.example, TODAY) is None, rule.key


def test_lifetime_rule_suggests_the_default_lifetime(real_schema):
    assert real_schema.rule("auto-delete-after").suggested_value(TODAY) == "2026-04-14"


# --- malformed schemas: SchemaError with one line naming the path --------------------------------


def mutated(raw: dict, change) -> dict:
    copied = copy.deepcopy(raw)
    change(copied)
    return copied


def schema_error(raw: object) -> str:
    with pytest.raises(SchemaError) as caught:
        parse_schema(raw, meta_schema(), source="policies/tag_schema.json")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("policies/tag_schema.json: ")
    return message


def test_missing_tag_description_names_the_tag(raw_schema):
    message = schema_error(mutated(raw_schema, lambda r: r["tags"][1].pop("description")))
    assert "tags[1]" in message
    assert "'description' is a required property" in message


def test_missing_top_level_section_is_reported_at_the_top_level(raw_schema):
    message = schema_error(mutated(raw_schema, lambda r: r.pop("studio_ui_creates")))
    assert "(top level)" in message
    assert "studio_ui_creates" in message


def test_wrong_type_names_the_field(raw_schema):
    index = tag_index(raw_schema, "auto-delete-after")
    message = schema_error(mutated(raw_schema, lambda r: r["tags"][index].update(max_lifetime_days="365")))
    assert f"tags[{index}].max_lifetime_days" in message
    assert "not of type 'integer'" in message


def test_enforce_flag_must_be_boolean(raw_schema):
    message = schema_error(mutated(raw_schema, lambda r: r["studio_ui_creates"].update(enforce="no")))
    assert "studio_ui_creates.enforce" in message


def test_bad_regex_names_the_pattern(raw_schema):
    message = schema_error(mutated(raw_schema, lambda r: r["tags"][0].update(pattern="^[a-z")))
    assert "tags[0].pattern: not a valid regular expression" in message


def test_default_lifetime_beyond_max_lifetime_is_rejected(raw_schema):
    index = tag_index(raw_schema, "auto-delete-after")

    def change(raw):
        raw["tags"][index].update(default_lifetime_days=400, max_lifetime_days=365)

    message = schema_error(mutated(raw_schema, change))
    assert f"tags[{index}].default_lifetime_days: larger than max_lifetime_days" in message


def test_date_tag_without_default_lifetime_is_rejected(raw_schema):
    index = tag_index(raw_schema, "auto-delete-after")
    message = schema_error(mutated(raw_schema, lambda r: r["tags"][index].pop("default_lifetime_days")))
    assert f"tags[{index}].default_lifetime_days" in message


def test_duplicate_key_is_named(raw_schema):
    message = schema_error(mutated(raw_schema, lambda r: r["tags"].append(copy.deepcopy(r["tags"][0]))))
    assert "key 'ml:team' is listed twice" in message


def test_example_violating_its_own_pattern_is_rejected(raw_schema):
    message = schema_error(mutated(raw_schema, lambda r: r["tags"][0].update(example="Fraud_Detection")))
    assert "tags[0].example" in message
    assert "does not match" in message


def test_example_outside_allowed_values_is_rejected(raw_schema):
    index = tag_index(raw_schema, "ml:environment")
    message = schema_error(mutated(raw_schema, lambda r: r["tags"][index].update(example="qa")))
    assert f"tags[{index}].example" in message
    assert "'qa' is not one of dev, staging, prod" in message


def test_unknown_property_in_a_tag_is_named(raw_schema):
    message = schema_error(mutated(raw_schema, lambda r: r["tags"][2].update(colour="blue")))
    assert "tags[2]" in message
    assert "'colour' was unexpected" in message


def test_unknown_top_level_property_is_named(raw_schema):
    message = schema_error(mutated(raw_schema, lambda r: r.update(enforce_everything=True)))
    assert "'enforce_everything' was unexpected" in message


def test_aws_prefixed_key_is_rejected(raw_schema):
    message = schema_error(mutated(raw_schema, lambda r: r["tags"][0].update(key="aws:team")))
    assert "tags[0].key" in message


def test_two_date_tags_are_rejected(raw_schema):
    index = tag_index(raw_schema, "auto-delete-after")

    def change(raw):
        second = copy.deepcopy(raw["tags"][index])
        second["key"] = "review-after"
        raw["tags"].append(second)

    assert "at most one key may have format 'date'" in schema_error(mutated(raw_schema, change))


def test_schema_that_is_not_an_object_is_rejected():
    assert "(top level)" in schema_error(["ml:team"])


# --- check_tags ---------------------------------------------------------------------------------------


def test_complete_valid_tags_have_no_problems(real_schema):
    assert check_tags(real_schema, good_tags(), "endpoint", TODAY) == []


def test_missing_team_is_reported_with_an_example(real_schema):
    tags = good_tags()
    del tags["ml:team"]
    assert problems_by_key(real_schema, tags) == {"ml:team": "missing (e.g. ml:team=fraud-detection)"}


def test_lifetime_tag_is_required_on_an_endpoint(real_schema):
    tags = good_tags()
    del tags["auto-delete-after"]
    problems = problems_by_key(real_schema, tags, "endpoint")
    assert problems == {"auto-delete-after": "missing (e.g. auto-delete-after=2026-04-14)"}


def test_lifetime_tag_is_not_required_on_a_training_job(real_schema):
    tags = good_tags()
    del tags["auto-delete-after"]
    assert check_tags(real_schema, tags, "training-job", TODAY) == []


def test_without_a_resource_type_every_rule_applies(real_schema):
    assert set(problems_by_key(real_schema, {}, None)) == set(real_schema.required_keys)


def test_environment_outside_allowed_values_is_rejected(real_schema):
    problems = problems_by_key(real_schema, good_tags({"ml:environment": "qa"}))
    assert problems == {"ml:environment": "'qa' is not one of dev, staging, prod"}


@pytest.mark.parametrize("value", ["2026/04/01", "2026-4-1", "tomorrow", "2026-02-30", "20260401"])
def test_lifetime_must_be_a_real_yyyy_mm_dd_date(real_schema, value):
    problems = problems_by_key(real_schema, good_tags({"auto-delete-after": value}))
    assert problems == {"auto-delete-after": f"'{value}' is not a date in YYYY-MM-DD form"}


def test_lifetime_in_the_past_is_rejected(real_schema):
    problems = problems_by_key(real_schema, good_tags({"auto-delete-after": "2026-03-14"}))
    assert problems == {"auto-delete-after": "2026-03-14 is in the past"}


def test_lifetime_today_and_at_the_maximum_are_accepted(real_schema):
    for value in (TODAY.isoformat(), (TODAY + timedelta(days=365)).isoformat()):
        assert check_tags(real_schema, good_tags({"auto-delete-after": value}), "endpoint", TODAY) == []


def test_lifetime_beyond_the_maximum_names_the_latest_allowed_date(real_schema):
    too_late = (TODAY + timedelta(days=366)).isoformat()
    problems = problems_by_key(real_schema, good_tags({"auto-delete-after": too_late}))
    assert problems == {"auto-delete-after": f"{too_late} is more than 365 days ahead (latest allowed: 2027-03-15)"}


def test_value_longer_than_256_characters_is_rejected(real_schema):
    problems = problems_by_key(real_schema, good_tags({"ml:experiment": "x" * 257}))
    assert problems == {"ml:experiment": "value is 257 characters long (maximum 256)"}


@pytest.mark.parametrize("bad", ["#", "<", "!"])
def test_characters_sagemaker_rejects_are_named(real_schema, bad):
    problems = problems_by_key(real_schema, good_tags({"ml:experiment": f"run{bad}1"}))
    assert problems == {"ml:experiment": f"value contains characters SageMaker rejects: '{bad}'"}


def test_value_not_matching_the_pattern_is_rejected(real_schema):
    problems = problems_by_key(real_schema, good_tags({"ml:team": "Fraud Team"}))
    assert set(problems) == {"ml:team"}
    assert "does not match" in problems["ml:team"]


def test_protected_key_supplied_by_a_user_is_rejected(real_schema):
    problems = problems_by_key(real_schema, {**good_tags(), "mlgov:zombie": "true"})
    assert problems == {"mlgov:zombie": "is written by mlgov only; remove it from your tags"}


def test_protected_keys_are_matched_in_any_capitalisation_and_only_exactly(real_schema):
    tags = {**good_tags(), "MLGOV:Exempt": "forever", "mlgov:zombie-since": "2026-01-01", "mlgov:owner-note": "x"}
    assert problems_by_key(real_schema, tags) == {"MLGOV:Exempt": "is written by mlgov only; remove it from your tags"}


def test_a_required_key_spelt_with_other_capitals_is_named(real_schema):
    tags = {**good_tags(), "ML:Team": "fraud"}
    assert problems_by_key(real_schema, tags) == {
        "ML:Team": "spells ml:team with other capitals; tag keys are case-sensitive"
    }


def test_unrelated_extra_tags_are_fine(real_schema):
    assert check_tags(real_schema, {**good_tags(), "owner": "alice@example.com"}, "endpoint", TODAY) == []
