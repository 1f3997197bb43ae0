"""Attribution: monthly spend by ml:* tag and by creator; tag compliance by count and by dollars (real schema)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mlgov.domain.attribution import UNKNOWN_OWNER, UNTAGGED, attribute, tag_problems
from mlgov.domain.costing import Cost
from mlgov.domain.inventory import Resource
from mlgov.domain.tag_schema import TagProblem

TODAY = date(2026, 11, 24)
GOOD_TAGS = {
    "ml:team": "fraud-detection",
    "ml:model": "churn-xgb",
    "ml:experiment": "baseline-2026q4",
    "ml:environment": "dev",
    "auto-delete-after": "2026-12-24",
}


def resource(name: str, tags: dict[str, str], resource_type: str = "endpoint", owner: str | None = None) -> Resource:
    if owner is not None:
        tags = {**tags, "mlgov:created-by": owner}
    return Resource(
        arn=f"arn:aws:sagemaker:us-east-1:111122223333:{resource_type}/{name}",
        account="111122223333",
        region="us-east-1",
        resource_type=resource_type,
        name=name,
        status="InService",
        created=datetime(2026, 11, 1, tzinfo=UTC),
        tags=tags,
    )


def monthly(usd: float | None) -> Cost:
    return Cost(None, usd, usd, None, None, "test")


def without(tags: dict[str, str], key: str) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k != key}


# --- tag_problems -----------------------------------------------------------------------------------------------


def test_a_fully_tagged_resource_has_no_problems(real_schema):
    assert tag_problems(resource("ep", GOOD_TAGS), real_schema, TODAY) == []


def test_a_lifetime_date_in_the_past_is_expiry_not_a_tag_problem(real_schema):
    expired = {**GOOD_TAGS, "auto-delete-after": "2026-11-01"}
    assert tag_problems(resource("ep", expired), real_schema, TODAY) == []


def test_a_malformed_or_too_distant_lifetime_date_is_still_a_problem(real_schema):
    slashes = tag_problems(resource("ep", {**GOOD_TAGS, "auto-delete-after": "2026/12/01"}), real_schema, TODAY)
    assert slashes == [TagProblem("auto-delete-after", "'2026/12/01' is not a date in YYYY-MM-DD form")]
    # TODAY + 365 days = 2027-11-24 is the latest allowed
    distant = tag_problems(resource("ep", {**GOOD_TAGS, "auto-delete-after": "2028-01-01"}), real_schema, TODAY)
    assert [problem.key for problem in distant] == ["auto-delete-after"]
    assert "latest allowed: 2027-11-24" in distant[0].message


def test_mlgov_written_keys_on_an_existing_resource_are_not_problems(real_schema):
    tagged = resource("ep", {**GOOD_TAGS, "mlgov:created-at": "2026-11-01T00:00:00Z"}, owner="alice@example.com")
    assert tag_problems(tagged, real_schema, TODAY) == []


def test_missing_and_invalid_tags_are_problems(real_schema):
    tags = {**without(GOOD_TAGS, "ml:team"), "ml:environment": "production"}
    problems = tag_problems(resource("ep", tags), real_schema, TODAY)
    assert problems == [
        TagProblem("ml:team", "missing (e.g. ml:team=fraud-detection)"),
        TagProblem("ml:environment", "'production' is not one of dev, staging, prod"),
    ]


def test_a_required_key_in_other_capitals_is_named_and_the_key_still_missing(real_schema):
    tags = {**without(GOOD_TAGS, "ml:team"), "ML:Team": "fraud-detection"}
    assert tag_problems(resource("ep", tags), real_schema, TODAY) == [
        TagProblem("ml:team", "missing (e.g. ml:team=fraud-detection)"),
        TagProblem("ML:Team", "spells ml:team with other capitals; tag keys are case-sensitive"),
    ]


@pytest.mark.parametrize("value", ["", "=HYPERLINK(1)", "-x", "Fraud Team"])
def test_a_team_value_the_schema_pattern_refuses_is_a_problem(real_schema, value):
    problems = tag_problems(resource("ep", {**GOOD_TAGS, "ml:team": value}), real_schema, TODAY)
    assert [problem.key for problem in problems] == ["ml:team"]


def test_a_training_job_needs_no_lifetime_tag(real_schema):
    job = resource("job", without(GOOD_TAGS, "auto-delete-after"), resource_type="training-job")
    assert tag_problems(job, real_schema, TODAY) == []


# --- attribute --------------------------------------------------------------------------------------------------


def test_spend_is_split_by_tag_and_owner_with_compliance_by_count_and_dollars(real_schema):
    items = [
        # A: compliant, $100
        (resource("a", GOOD_TAGS, owner="alice@example.com"), monthly(100.0)),
        # B: missing ml:team (untagged), no creator, $50
        (resource("b", without(GOOD_TAGS, "ml:team")), monthly(50.0)),
        # C: training job, compliant without auto-delete-after, $30
        (resource("c", without(GOOD_TAGS, "auto-delete-after"), "training-job", "bob"), monthly(30.0)),
        # D: invalid ml:environment (a problem, but no tag missing), team risk, $20
        (
            resource("d", {**GOOD_TAGS, "ml:team": "risk", "ml:environment": "production"}, owner="alice@example.com"),
            monthly(20.0),
        ),
        # E: compliant but unpriced
        (resource("e", {**GOOD_TAGS, "ml:team": "risk"}, owner="carol"), monthly(None)),
        # F: compliant though expired (expiry is not a tag problem), $0 (stopped)
        (resource("f", {**GOOD_TAGS, "ml:team": "risk", "auto-delete-after": "2026-11-01"}, owner="bob"), monthly(0.0)),
    ]
    result = attribute(items, real_schema, TODAY)

    assert set(result.by_tag) == {"ml:team", "ml:model", "ml:experiment", "ml:environment"}
    # team: fraud-detection A 100 + C 30 = 130; (untagged) B 50; risk D 20 + F 0 = 20 (E unpriced, left out)
    assert result.by_tag["ml:team"] == {"fraud-detection": pytest.approx(130.0), UNTAGGED: 50.0, "risk": 20.0}
    # environment: dev A 100 + B 50 + C 30 + F 0 = 180; production D 20
    assert result.by_tag["ml:environment"] == {"dev": pytest.approx(180.0), "production": 20.0}
    # owners: alice A 100 + D 20 = 120; (unknown) B 50; bob C 30 + F 0 = 30
    assert result.by_owner == {"alice@example.com": pytest.approx(120.0), UNKNOWN_OWNER: 50.0, "bob": 30.0}
    # only B misses a required tag
    assert result.untagged_usd_month == pytest.approx(50.0)
    # compliant A, C, E, F = 4 of 6 resources → 66.67 %
    assert result.tag_compliance_pct == pytest.approx(400 / 6)
    # priced spend 100 + 50 + 30 + 20 + 0 = 200; compliant A 100 + C 30 + F 0 = 130 → 65 %
    assert result.tag_compliance_usd_pct == pytest.approx(65.0)
    assert result.unpriced_resources == 1


def test_every_tag_split_sums_to_the_priced_total(real_schema):
    items = [
        (resource("a", GOOD_TAGS), monthly(12.5)),
        (resource("b", {"ml:team": "risk"}), monthly(7.5)),
        (resource("c", {}), monthly(None)),
    ]
    result = attribute(items, real_schema, TODAY)
    # 12.5 + 7.5 = 20 in every split; b and the unpriced c miss tags, only b's 7.5 is priced
    for values in result.by_tag.values():
        assert sum(values.values()) == pytest.approx(20.0)
    assert result.by_tag["ml:model"] == {"churn-xgb": 12.5, UNTAGGED: 7.5}
    assert result.untagged_usd_month == pytest.approx(7.5)
    # compliant a 12.5 of 20 → 62.5 %; 1 of 3 resources compliant → 33.3 %
    assert result.tag_compliance_usd_pct == pytest.approx(62.5)
    assert result.tag_compliance_pct == pytest.approx(100 / 3)


def test_no_resources_is_fully_compliant(real_schema):
    result = attribute([], real_schema, TODAY)
    assert result.by_tag == {"ml:team": {}, "ml:model": {}, "ml:experiment": {}, "ml:environment": {}}
    assert result.by_owner == {}
    assert (result.untagged_usd_month, result.unpriced_resources) == (0.0, 0)
    assert (result.tag_compliance_pct, result.tag_compliance_usd_pct) == (100.0, 100.0)


def test_zero_spend_is_fully_compliant_by_dollars_even_when_resources_are_not(real_schema):
    result = attribute([(resource("b", {}), monthly(0.0))], real_schema, TODAY)
    assert result.tag_compliance_pct == 0.0
    assert result.tag_compliance_usd_pct == 100.0
    assert result.by_owner == {UNKNOWN_OWNER: 0.0}
