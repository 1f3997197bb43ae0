"""Tagging plan: which tags the auto-tagger adds to a new resource — only missing keys, in priority order, tag-safe."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest

from mlgov.domain.create_event import CreateCall
from mlgov.domain.creator_identity import SSO_USER, Creator
from mlgov.domain.resource_identity import RESOURCE_ARNS
from mlgov.domain.tag_schema import tag_value_problem
from mlgov.domain.tagging import (
    CREATED_AT,
    CREATED_BY,
    CREATOR_ARN,
    LAST_INVOKED,
    MAX_TAGS_PER_RESOURCE,
    TagDefaults,
    tagging_plan,
)

ACCOUNT = "111122223333"
REGION = "eu-west-1"
CREATED = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)
ALICE = Creator(
    display="alice@example.com",
    arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_DataScientist_0123456789abcdef/alice@example.com",
    kind=SSO_USER,
)
DEFAULTS = TagDefaults(
    lifetime_key="auto-delete-after", lifetime_days=30, lifetime_types=frozenset({"endpoint", "notebook-instance"})
)


def create_call(
    event_name: str = "CreateEndpoint",
    name: str = "churn-xgb",
    creator: Creator = ALICE,
    request_tags: dict[str, str] | None = None,
    event_time: datetime = CREATED,
) -> CreateCall:
    rule = RESOURCE_ARNS[event_name]
    return CreateCall(
        event_id="0f4c9a7e-5d2b-4e1a-9c3f-7b8d6e5a4c21",
        event_name=event_name,
        account=ACCOUNT,
        region=REGION,
        partition="aws",
        resource_arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{rule.resource_type}/{name}",
        resource_type=rule.resource_type,
        event_time=event_time,
        creator=creator,
        request_parameters={rule.name_fields[0]: name},
        request_tags=dict(request_tags or {}),
    )


def test_new_endpoint_gets_creator_time_last_invoked_and_lifetime_in_priority_order() -> None:
    plan = tagging_plan(create_call(), existing={}, defaults=DEFAULTS)

    assert list(plan.items()) == [
        (CREATED_BY, "alice@example.com"),
        (CREATOR_ARN, ALICE.arn),
        (CREATED_AT, "2026-11-24T10:00:00Z"),
        (LAST_INVOKED, "never"),
        ("auto-delete-after", "2026-12-24"),
    ]


def test_training_job_gets_no_last_invoked_and_no_lifetime() -> None:
    plan = tagging_plan(create_call("CreateTrainingJob"), existing={}, defaults=DEFAULTS)

    assert plan == {CREATED_BY: "alice@example.com", CREATOR_ARN: ALICE.arn, CREATED_AT: "2026-11-24T10:00:00Z"}


def test_lifetime_applies_to_each_listed_type_not_only_endpoints() -> None:
    plan = tagging_plan(create_call("CreateNotebookInstance"), existing={}, defaults=DEFAULTS)

    assert plan["auto-delete-after"] == "2026-12-24"
    assert LAST_INVOKED not in plan


def test_lifetime_counts_from_the_event_date_not_today() -> None:
    late_evening = datetime(2026, 2, 27, 23, 59, 59, tzinfo=UTC)

    plan = tagging_plan(create_call(event_time=late_evening), existing={}, defaults=DEFAULTS)

    assert plan["auto-delete-after"] == "2026-03-29"
    assert plan[CREATED_AT] == "2026-02-27T23:59:59Z"


def test_no_lifetime_key_means_no_lifetime_tag() -> None:
    plan = tagging_plan(create_call(), existing={}, defaults=TagDefaults())

    assert "auto-delete-after" not in plan
    assert plan[LAST_INVOKED] == "never"


def test_existing_tags_are_never_overwritten() -> None:
    existing = {CREATED_BY: "bob", "auto-delete-after": "2027-01-31", LAST_INVOKED: "2026-11-20"}

    plan = tagging_plan(create_call(), existing=existing, defaults=DEFAULTS)

    assert plan == {CREATOR_ARN: ALICE.arn, CREATED_AT: "2026-11-24T10:00:00Z"}


def test_a_key_passed_on_the_create_call_is_never_overwritten() -> None:
    """ListTags may not show the create's tags yet; the request's own tags still win."""
    call = create_call(request_tags={"auto-delete-after": "2027-03-01", "ml:team": "fraud-detection"})

    plan = tagging_plan(call, existing={}, defaults=DEFAULTS, inherited={"ml:team": "risk"})

    assert "auto-delete-after" not in plan
    assert "ml:team" not in plan


def test_inherited_ml_tags_are_added_only_when_absent() -> None:
    inherited = {"ml:team": "risk", "ml:model": "churn-xgb", "ml:environment": "prod"}
    existing = {"ml:environment": "dev"}

    plan = tagging_plan(create_call("CreateSpace"), existing=existing, defaults=DEFAULTS, inherited=inherited)

    assert plan["ml:team"] == "risk"
    assert plan["ml:model"] == "churn-xgb"
    assert "ml:environment" not in plan


def test_non_ml_keys_are_never_inherited() -> None:
    inherited = {
        "ml:team": "risk",
        "cost-center": "1234",
        "auto-delete-after": "2020-01-01",
        CREATED_BY: "domain-admin",
        "mlflow:run": "x",
    }

    plan = tagging_plan(create_call(), existing={}, defaults=DEFAULTS, inherited=inherited)

    assert plan["ml:team"] == "risk"
    assert "cost-center" not in plan
    assert "mlflow:run" not in plan
    assert plan["auto-delete-after"] == "2026-12-24"  # the resource's own default, not the parent's value
    assert plan[CREATED_BY] == "alice@example.com"


@pytest.mark.parametrize(
    ("display", "expected"),
    [("Doe, Jane", "Doe_ Jane"), ("team#ml alice", "team_ml alice"), ("bob!", "bob_")],
)
def test_values_are_made_tag_safe(display, expected) -> None:
    creator = Creator(display=display, arn=ALICE.arn, kind=SSO_USER)

    plan = tagging_plan(create_call(creator=creator), existing={}, defaults=DEFAULTS, inherited={"ml:team": "a,b#c"})

    assert plan[CREATED_BY] == expected
    assert plan["ml:team"] == "a_b_c"
    assert all(tag_value_problem(value) is None for value in plan.values())


def test_long_inherited_value_is_shortened_to_the_tag_value_limit() -> None:
    plan = tagging_plan(create_call(), existing={}, defaults=DEFAULTS, inherited={"ml:experiment": "x" * 300})

    assert len(plan["ml:experiment"]) == 256
    assert tag_value_problem(plan["ml:experiment"]) is None


def test_empty_creator_arn_is_not_written() -> None:
    creator = Creator(display="unknown", arn="", kind="unknown")

    plan = tagging_plan(create_call(creator=creator), existing={}, defaults=DEFAULTS)

    assert CREATOR_ARN not in plan
    assert plan[CREATED_BY] == "unknown"


def test_resource_with_48_tags_gets_the_two_most_important() -> None:
    existing = {f"team:label-{n:02d}": "x" for n in range(48)}

    plan = tagging_plan(create_call(), existing=existing, defaults=DEFAULTS, inherited={"ml:team": "risk"})

    assert list(plan) == [CREATED_BY, CREATOR_ARN]
    assert len(existing) + len(plan) == MAX_TAGS_PER_RESOURCE


def test_limit_counts_request_tags_not_yet_visible_in_list_tags() -> None:
    call = create_call(request_tags={f"req-{n}": "x" for n in range(3)})
    existing = {f"team:label-{n:02d}": "x" for n in range(46)}

    plan = tagging_plan(call, existing=existing, defaults=DEFAULTS)

    assert list(plan) == [CREATED_BY]


def test_a_full_resource_gets_nothing() -> None:
    existing = {f"team:label-{n:02d}": "x" for n in range(MAX_TAGS_PER_RESOURCE)}

    assert tagging_plan(create_call(), existing=existing, defaults=DEFAULTS) == {}


def test_the_priority_order_skips_keys_already_present() -> None:
    existing = {CREATED_BY: "bob", **{f"team:label-{n:02d}": "x" for n in range(47)}}

    plan = tagging_plan(create_call(), existing=existing, defaults=DEFAULTS)

    assert list(plan) == [CREATOR_ARN, CREATED_AT]


# --- TagDefaults ------------------------------------------------------------------------------


def test_tag_defaults_survive_a_json_round_trip() -> None:
    assert TagDefaults.from_json(DEFAULTS.to_json()) == DEFAULTS


def test_tag_defaults_json_is_compact_and_sorted() -> None:
    assert json.loads(DEFAULTS.to_json()) == {
        "lifetime_key": "auto-delete-after",
        "lifetime_days": 30,
        "lifetime_types": ["endpoint", "notebook-instance"],
    }
    assert " " not in DEFAULTS.to_json()


def test_empty_tag_defaults_survive_a_json_round_trip() -> None:
    assert TagDefaults.from_json(TagDefaults().to_json()) == TagDefaults()


def test_tag_defaults_from_the_real_schema(real_schema) -> None:
    defaults = TagDefaults.from_schema(real_schema)
    rule = real_schema.lifetime_rule()

    assert defaults.lifetime_key == "auto-delete-after" == rule.key
    assert defaults.lifetime_days == rule.default_lifetime_days
    assert defaults.lifetime_types == rule.applies_to
    assert {"endpoint", "notebook-instance", "space", "app"} <= defaults.lifetime_types
    assert "training-job" not in defaults.lifetime_types
    assert TagDefaults.from_json(defaults.to_json()) == defaults


def test_real_schema_defaults_fit_a_lambda_environment_variable(real_schema) -> None:
    assert len(TagDefaults.from_schema(real_schema).to_json()) < 1024


def test_lifetime_rule_without_applies_to_covers_every_resource_type(real_schema) -> None:
    """TagRule.applies_to None means every governed type; it must not become "no type"."""
    rules = tuple(dataclasses.replace(rule, applies_to=None) if rule.is_date else rule for rule in real_schema.rules)
    schema = dataclasses.replace(real_schema, rules=rules)

    defaults = TagDefaults.from_schema(schema)

    assert {"endpoint", "training-job", "processing-job"} <= defaults.lifetime_types
    plan = tagging_plan(create_call("CreateTrainingJob"), existing={}, defaults=defaults)
    assert plan["auto-delete-after"] == "2026-12-24"


def test_schema_without_a_lifetime_rule_gives_no_lifetime(real_schema) -> None:
    schema = dataclasses.replace(real_schema, rules=tuple(rule for rule in real_schema.rules if not rule.is_date))

    assert TagDefaults.from_schema(schema) == TagDefaults()
