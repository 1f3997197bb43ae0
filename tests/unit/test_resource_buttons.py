"""The Keep running / Extend buttons: what their values may be, who may click, what an extension writes."""

from __future__ import annotations

from datetime import date

import pytest

from mlgov.domain.interaction import BadInteraction, parse_interaction
from mlgov.domain.resource_buttons import (
    EXTEND_LIFETIME,
    KEEP_RUNNING,
    BadButtonValue,
    button_blocks,
    click_refusal,
    extend_button,
    keep_running_button,
    parse_button,
    plan_extension,
    resource_action,
)
from tests.unit.test_interaction import form, slack_payload

pytestmark = pytest.mark.unit

NOTEBOOK = "arn:aws:sagemaker:us-east-1:111111111111:notebook-instance/lab"
ENDPOINT = "arn:aws:sagemaker:us-east-1:111111111111:endpoint/churn"
TODAY = date(2026, 11, 20)


def test_a_button_names_its_resource_and_a_click_on_it_parses_back():
    keep = keep_running_button(NOTEBOOK, "lab", 3)
    extend = extend_button(ENDPOINT, "churn", date(2026, 11, 25), 0)
    assert (keep["action_id"], keep["value"]) == ("keep_running#3", NOTEBOOK)
    assert extend["value"] == f"{ENDPOINT}|2026-11-25" and extend["text"]["text"] == "Extend churn 30 days"
    assert parse_button(KEEP_RUNNING, keep["value"]).name == "lab"
    target = parse_button(EXTEND_LIFETIME, extend["value"])
    assert (target.account, target.region, target.reminded_for) == ("111111111111", "us-east-1", date(2026, 11, 25))
    click = parse_interaction(form(slack_payload(keep["action_id"], keep["value"], user="U0OWNER")))
    assert (click.action, click.reference, click.user_id) == (KEEP_RUNNING, NOTEBOOK, "U0OWNER")


def test_long_names_keep_slack_limits():
    button = keep_running_button(NOTEBOOK, "n" * 100, 0)
    assert len(button["text"]["text"]) == 75
    blocks = button_blocks([keep_running_button(NOTEBOOK, "lab", i) for i in range(30)])
    assert [len(b["elements"]) for b in blocks] == [25, 5]


@pytest.mark.parametrize(
    ("action", "value", "reason"),
    [
        (KEEP_RUNNING, ENDPOINT, "notebook-instance, app only"),  # keeping an endpoint is an approval's Reject
        (KEEP_RUNNING, f"{NOTEBOOK}|2026-11-25", "no date"),
        (EXTEND_LIFETIME, ENDPOINT, "reminded date"),
        (EXTEND_LIFETIME, f"{ENDPOINT}|tomorrow", "reminded date"),
        (EXTEND_LIFETIME, "arn:aws:iam::111111111111:role/admin|2026-11-25", "SageMaker resource ARN"),
        (KEEP_RUNNING, "arn:aws:sagemaker:us-east-1:1111:notebook-instance/lab", "SageMaker resource ARN"),
        ("delete", NOTEBOOK, "not a resource button"),
    ],
)
def test_values_mlgov_would_not_post_are_refused(action, value, reason):
    with pytest.raises(BadButtonValue, match=reason):
        parse_button(action, value)


def test_a_click_with_a_forged_value_is_a_bad_interaction():
    with pytest.raises(BadInteraction, match="notebook-instance, app only"):
        parse_interaction(form(slack_payload("keep_running#0", ENDPOINT)))
    assert resource_action("keep_running") is None and resource_action("extend_lifetime#x") is None


@pytest.mark.parametrize(
    ("user", "email", "owner", "allowed"),
    [
        ("U0APPROVER", None, None, True),  # approvers act for anyone
        ("U0OWNER", "Dana@Example.com ", "dana@example.com", True),  # the owner, by profile e-mail
        ("U0OTHER", "eve@example.com", "dana@example.com", False),
        ("U0OTHER", None, "dana@example.com", False),  # no e-mail on the profile
        ("U0OTHER", "dana", "dana", False),  # an owner that is not an e-mail matches nobody
        ("U0OTHER", "eve@example.com", None, False),  # no owner tag
    ],
)
def test_only_an_approver_or_the_owner_by_email_may_click(user, email, owner, allowed):
    refusal = click_refusal(user, {"U0APPROVER"}, email, owner)
    assert (refusal is None) is allowed
    if refusal:
        assert "nothing was changed" in refusal and f"<@{user}>" in refusal


def test_an_extension_moves_the_reminded_date_once_within_the_maximum_lifetime():
    reminded = date(2026, 11, 25)
    first = plan_extension("2026-11-25", reminded, TODAY, max_lifetime_days=365)
    assert first.write == date(2026, 12, 25)
    assert plan_extension("2026-12-25", reminded, TODAY, max_lifetime_days=365).write is None  # a second click
    changed = plan_extension("2027-01-10", reminded, TODAY, max_lifetime_days=365)
    assert changed.write is None and "changed since the reminder" in changed.answer
    capped = plan_extension("2026-11-25", reminded, TODAY, max_lifetime_days=10)
    assert capped.write == date(2026, 11, 30)  # today + 10, not reminded + 30
    at_cap = plan_extension("2026-11-25", reminded, TODAY, max_lifetime_days=5)
    assert at_cap.write is None and "latest the tag schema allows" in at_cap.answer
    assert "no auto-delete-after tag" in plan_extension(None, reminded, TODAY, max_lifetime_days=365).answer
