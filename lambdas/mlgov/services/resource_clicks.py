"""A click on a notice's resource button, carried out by the hub's approval function (task `resource_click`, invoked
by the Slack interactions function): who clicked (their Slack profile e-mail), whose resource it is (its live
`mlgov:created-by` tag), then "Keep running" writes a recorded `mlgov:exempt` with an end date (the same path as
`mlgov exempt`), "Extend" moves `auto-delete-after` and records who did it. Writes go through the approval spoke
role, whose policy admits exactly these keys."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import timedelta

from mlgov.domain.resource_buttons import (
    EXTEND_DAYS,
    KEEP_RUNNING,
    KEEP_RUNNING_DAYS,
    ButtonTarget,
    click_refusal,
    plan_extension,
)
from mlgov.domain.tagging import CREATED_BY
from mlgov.domain.zombies import EXEMPT_TAG, lapsed_until
from mlgov.services.approvals import ApprovalRefused, ApprovalTasks


def answer_resource_click(
    tasks: ApprovalTasks,
    target: ButtonTarget,
    user_id: str,
    *,
    approvers: Collection[str],
    email_of: Callable[[str], str | None],
    lifetime_key: str,
    max_lifetime_days: int | None,
) -> dict:
    """{"text": the answer for the clicking user, "changed": whether anything was written}."""
    if tasks.approvals is None:
        raise ApprovalRefused("a resource click needs the approvals table (the audit record)")
    client = tasks.sessions.client("sagemaker", target.account, target.region)
    tags = {t["Key"]: t["Value"] for t in client.list_tags(ResourceArn=target.arn).get("Tags", [])}
    owner = tags.get(CREATED_BY)
    email = None if user_id in approvers else email_of(user_id)
    if refusal := click_refusal(user_id, approvers, email, owner):
        return {"text": refusal, "changed": False}
    by = f"slack:{user_id}" + (f" {email}" if email else "")
    today = tasks.clock().date()
    if target.action == KEEP_RUNNING:
        exempt = tags.get(EXEMPT_TAG)
        recorded = tasks.approvals.recorded_exemptions([target.arn]).get(target.arn) if exempt else None
        if exempt and recorded == exempt and lapsed_until(exempt, today) is None:
            return {"text": f"`{target.name}` is already kept ({exempt}); nothing changed.", "changed": False}
        until = (today + timedelta(days=KEEP_RUNNING_DAYS)).isoformat()
        tasks.exempt_manually({"finding": {"arn": target.arn}}, "keep running (Slack)", by, until)
        return {"text": f"`{target.name}` keeps running until {until}; then it is warned again.", "changed": True}
    assert target.reminded_for is not None  # parse_button gives an extension its date
    plan = plan_extension(
        tags.get(lifetime_key), target.reminded_for, today, max_lifetime_days=max_lifetime_days, days=EXTEND_DAYS
    )
    if plan.write is None:
        return {"text": f"`{target.name}`: {plan.answer}.", "changed": False}
    tasks.approvals.record_extension(  # the audit record first: a tag without its record would never get one
        target.arn, old=target.reminded_for.isoformat(), new=plan.write.isoformat(), by=by, now=tasks.clock()
    )
    client.add_tags(ResourceArn=target.arn, Tags=[{"Key": lifetime_key, "Value": plan.write.isoformat()}])
    return {"text": f"`{target.name}`: {plan.answer}.", "changed": True}
