"""The approval message as Slack Block Kit: the request with Approve / Reject / Snooze, and its final update — for a
zombie endpoint (its idle evidence) or an expired one (its `auto-delete-after` date and the traffic it still serves).

The buttons carry a short approval id (`REFERENCE`), never the Step Functions task token: a token is opaque, can
exceed 1 KB and is a bearer credential for the execution, while a button `value` is limited to 2000 characters and
is echoed back to anyone who clicks. The token lives in the approvals table (mlgov.aws.approvals_table) under
`approval#<id>`; the Slack endpoint looks it up from the id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from mlgov.domain.report import usd
from mlgov.domain.slack_digest import FIELD_TEXT_MAX, HEADER_MAX, MAX_BLOCKS, SECTION_TEXT_MAX, _cut, _escape

ACTIONS = ("approve", "reject", "snooze")  # button action_ids, in display order
ACTIONS_BLOCK_ID = "mlgov_approval"
BUTTON_VALUE_MAX = 2000  # Block Kit: a button's value
BUTTON_TEXT_MAX = 75  # Block Kit: a button's text
CONFIRM_TEXT_MAX = 300  # Block Kit: a confirmation dialog's text
REFERENCE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")  # an approval id: what the buttons carry
OUTCOMES = ("approved", "rejected", "snoozed", "timed_out", "aborted", "failed")
LIFETIME_TAG = "auto-delete-after"  # the schema's date rule, named in an expired endpoint's request
_REASON_MAX = 1500


def approval_blocks(
    finding: Mapping,
    task_token_ref: str,
    snooze_days: int,
    *,
    expired_on: str | None = None,
    lifetime_tag: str = LIFETIME_TAG,
) -> list[dict]:
    """The approval request for one zombie endpoint finding (the scan report's finding shape), or with `expired_on`
    for an endpoint past its `lifetime_tag` date: then the date is the why, and the traffic it still had is shown.

    `task_token_ref` is the approval id from ApprovalsTable.put_pending; a value that does not look like one (e.g. a
    raw task token) raises ValueError rather than leaking the token into the channel.
    """
    if not isinstance(task_token_ref, str) or not REFERENCE.fullmatch(task_token_ref):
        raise ValueError("task_token_ref must be a short approval id (8-64 of A-Z a-z 0-9 _ -), not a task token")
    if not isinstance(snooze_days, int) or isinstance(snooze_days, bool) or not 1 <= snooze_days <= 365:
        raise ValueError(f"snooze_days must be a whole number of days in 1..365 (got {snooze_days!r})")
    name = _name(finding)
    if expired_on is None:
        kind, why = "Zombie", _escape(_cut(str(finding.get("reason") or "no reason recorded"), _REASON_MAX))
        recheck = "re-checks usage"
    else:
        kind, why = "Expired", _expiry_why(finding, expired_on, lifetime_tag)
        recheck = f"re-checks that {_escape(lifetime_tag)} is still past (traffic does not stop it)"
    blocks = [
        _header(f"{kind} endpoint: {name}"),
        {"type": "section", "fields": _facts(finding, expired_on, lifetime_tag)},
        _section(f"*Why:* {why}"),
        _context(
            f"`{_escape(_cut(str(finding.get('arn', '')), 300))}` · *Approve* {recheck}, snapshots the "
            f"artifacts and deletes the endpoint (restorable with `mlgov restore`); *Reject* exempts it; "
            f"*Snooze* asks again in {snooze_days} days."
        ),
        {
            "type": "actions",
            "block_id": ACTIONS_BLOCK_ID,
            "elements": [
                _button(
                    "approve",
                    "Approve deletion",
                    task_token_ref,
                    style="primary",
                    confirm={
                        "title": _plain("Delete this endpoint?"),
                        "text": _mrkdwn(
                            _cut(
                                f"*{_escape(_cut(name, 120))}* in {_escape(finding.get('account', ''))} "
                                f"{_escape(finding.get('region', ''))} is snapshotted, verified, then deleted.",
                                CONFIRM_TEXT_MAX,
                            )
                        ),
                        "confirm": _plain("Snapshot and delete"),
                        "deny": _plain("Cancel"),
                        "style": "danger",
                    },
                ),
                _button("reject", "Reject (keep, exempt)", task_token_ref),
                _button("snooze", f"Snooze {snooze_days} days", task_token_ref),
            ],
        },
    ]
    return blocks[:MAX_BLOCKS]


def _per_month(amount: float | None) -> str:
    """$336.24/month, or an honest unknown: never "$0.00" and never "unpriced/month"."""
    return f"{usd(amount)}/month" if amount is not None else "an unknown amount (unpriced)"


def approval_text(finding: Mapping, *, expired_on: str | None = None, lifetime_tag: str = LIFETIME_TAG) -> str:
    """The notification fallback (`text`) of the approval request."""
    if expired_on is not None:
        return _cut(
            f"mlgov: endpoint {_name(finding)} ({finding.get('account', '')} {finding.get('region', '')}) "
            f"{_expired_phrase(expired_on, lifetime_tag)} and costs {_per_month(finding.get('waste_usd_month'))}: "
            "approve, reject or snooze its deletion",
            SECTION_TEXT_MAX,
        )
    return _cut(
        f"mlgov: zombie endpoint {_name(finding)} ({finding.get('account', '')} {finding.get('region', '')}) "
        f"wastes {_per_month(finding.get('waste_usd_month'))}: approve, reject or snooze its deletion",
        SECTION_TEXT_MAX,
    )


def result_blocks(finding: Mapping, outcome: str, detail: Mapping | None = None) -> list[dict]:
    """The message after the flow ended (replaces the request: no buttons are left to click).

    outcome and the `detail` members it reads:
    - approved  — by, archive_bucket, snapshot (timestamp, optional): deleted; shows the restore command
    - rejected  — by, reason (optional): kept and tagged mlgov:exempt
    - snoozed   — by, until (YYYY-MM-DD): kept, asked again after that day
    - timed_out — hours (optional): nobody answered in time; treated as a reject (kept)
    - aborted   — reason: traffic was seen again before deletion (an expired endpoint, `expired_on` in detail: its
                  re-check found it extended, exempted or gone); kept, zombie tag cleared
    - failed    — reason, step (optional): nothing was deleted unless `deleted` is true in detail
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}: expected one of {', '.join(OUTCOMES)}")
    detail = detail or {}
    name = _name(finding)
    title, text = _outcome(finding, outcome, detail)
    blocks = [
        _header(f"{title}: {name}"),
        {"type": "section", "fields": _facts(finding)},
        _section(text),
    ]
    if outcome == "approved":
        blocks.append(_section(f"*Restore:*\n```{_escape(restore_command(finding, detail))}```"))
    blocks.append(_context(f"`{_escape(_cut(str(finding.get('arn', '')), 300))}`"))
    return blocks[:MAX_BLOCKS]


def result_text(finding: Mapping, outcome: str, detail: Mapping | None = None) -> str:
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}: expected one of {', '.join(OUTCOMES)}")
    title, _ = _outcome(finding, outcome, detail or {})
    return _cut(f"mlgov: {title.lower()}: {_name(finding)}", SECTION_TEXT_MAX)


def restore_command(finding: Mapping, detail: Mapping) -> str:
    parts = [
        "mlgov restore",
        _shell(_name(finding)),
        f"--archive-bucket {_shell(str(detail.get('archive_bucket') or '<archive-bucket>'))}",
        f"--approvals-table {_shell(str(detail.get('approvals_table') or '<approvals-table>'))}",
        f"--account {_shell(str(finding.get('account', '')))}",
        f"--region {_shell(str(finding.get('region', '')))}",
    ]
    if detail.get("snapshot"):
        parts.append(f"--snapshot {_shell(str(detail['snapshot']))}")
    return " ".join(parts)


def _outcome(finding: Mapping, outcome: str, detail: Mapping) -> tuple[str, str]:
    by = _user(detail.get("by"))
    reason = _escape(_cut(str(detail.get("reason") or ""), _REASON_MAX))
    if outcome == "approved":
        snapshot = detail.get("snapshot")
        where = f" (snapshot `{_escape(str(snapshot))}`)" if snapshot else ""
        return "Deleted", (
            f":white_check_mark: Approved by {by}. The artifacts and configuration were snapshotted and verified"
            f"{where}, then the endpoint was deleted: it no longer costs "
            f"{usd(finding.get('monthly_cost_usd'))}/month."
        )
    if outcome == "rejected":
        why = f" Reason: {reason}" if reason else ""
        return "Kept", f":no_entry_sign: Rejected by {by}: the endpoint is kept and tagged `mlgov:exempt`.{why}"
    if outcome == "snoozed":
        until = _escape(str(detail.get("until") or "later"))
        return "Snoozed", f":zzz: Snoozed by {by} until {until}: the endpoint is kept and mlgov asks again after that."
    if outcome == "timed_out":
        hours = detail.get("hours")
        within = f" within {hours} hours" if hours else ""
        return "Kept (no answer)", f":hourglass: Nobody answered{within}: treated as a reject, the endpoint is kept."
    if outcome == "aborted" and detail.get("expired_on"):
        return "Kept (re-checked)", (
            f":warning: Not deleted: the re-check before deletion found that "
            f"{reason or 'it is no longer expired'}. The zombie tag was cleared."
        )
    if outcome == "aborted":
        return "Kept (traffic seen)", (
            f":warning: Not deleted: the endpoint received traffic after it was reported. "
            f"{reason or 'Traffic was seen again.'} The zombie tag was cleared."
        )
    deleted = "The endpoint was deleted; the snapshot is kept." if detail.get("deleted") else "Nothing was deleted."
    step = f" at {_escape(str(detail['step']))}" if detail.get("step") else ""
    return "Approval failed", f":x: The approval flow failed{step}: {reason or 'no reason given'}. {deleted}"


def _facts(finding: Mapping, expired_on: str | None = None, lifetime_tag: str = LIFETIME_TAG) -> list[dict]:
    tags = finding.get("tags") or {}
    evidence = finding.get("evidence") or {}
    count, instance_type = finding.get("instance_count"), finding.get("instance_type")
    instances = f"{count} × {instance_type}" if count and instance_type else instance_type or "unknown"
    idle = evidence.get("usage_window_days")
    idle_text = f"{idle:g} days" if isinstance(idle, int | float) else "unknown"
    last = evidence.get("last_invoked")
    idle_text += f" (last invoked {last})" if last else " (no invocation seen)"
    usage = ("Idle", idle_text) if expired_on is None else ("Traffic", traffic_phrase(evidence))
    pairs = [
        ("Endpoint", _name(finding)),
        ("Account / region", f"{finding.get('account', '')} / {finding.get('region', '')}"),
        ("Owner", finding.get("owner") or "unknown"),
        ("Team / model", f"{tags.get('ml:team') or 'untagged'} / {tags.get('ml:model') or 'untagged'}"),
        ("Instances", instances),
        *([] if expired_on is None else [("Lifetime", _expired_phrase(expired_on, lifetime_tag))]),
        usage,
        ("Waste", _per_month(finding.get("waste_usd_month"))),
    ]
    return [_mrkdwn(_cut(f"*{label}*\n{_escape(_cut(str(value), 300))}", FIELD_TEXT_MAX)) for label, value in pairs]


def traffic_phrase(evidence: Mapping) -> str:
    """What the scan saw an endpoint serve (the usage evidence of its finding): "812 invocations in the last 30 days
    (last invoked 2026-06-14)", "no invocation in the last 30 days", or unknown when no series was read."""
    total = _invocations(evidence)
    days = evidence.get("usage_window_days")
    window = f"the last {days:g} days" if isinstance(days, int | float) else "its usage window"
    if total is None:
        return "unknown (no Invocations series read)"
    if not total:
        return f"no invocation in {window}"
    last = evidence.get("last_invoked")
    return f"{total:g} invocation{'s' if total != 1 else ''} in {window}" + (f" (last invoked {last})" if last else "")


def _invocations(evidence: Mapping) -> float | None:
    """The invocations over the usage window on every variant (and component) the scan read; None: none read."""
    known = [
        value
        for key in ("invocations", "component_invocations")
        if isinstance(totals := evidence.get(key), Mapping)
        for value in totals.values()
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]
    return sum(known) if known else None


def _expired_phrase(expired_on: str, lifetime_tag: str) -> str:
    return f"expired on {expired_on} ({lifetime_tag})"


def _expiry_why(finding: Mapping, expired_on: str, lifetime_tag: str) -> str:
    """The request's reason for an expired endpoint: the date, that it still bills, and the traffic it still serves
    (an approver deletes a used endpoint knowingly)."""
    evidence = finding.get("evidence") or {}
    traffic = traffic_phrase(evidence)
    used = f" It still serves traffic: {traffic}." if _invocations(evidence) else f" Traffic: {traffic}."
    return _escape(_cut(f"{_expired_phrase(expired_on, lifetime_tag)} and still billed.{used}", _REASON_MAX))


def _name(finding: Mapping) -> str:
    return str(finding.get("name") or str(finding.get("arn", "")).rsplit("/", 1)[-1] or "unknown")


def _user(user: object) -> str:
    """A Slack user id as a mention; anything else escaped (no pinging through a crafted value)."""
    text = str(user or "")
    if re.fullmatch(r"[UW][A-Z0-9]{2,20}", text):
        return f"<@{text}>"
    return _escape(text) or "someone"


def _shell(text: str) -> str:
    return text if re.fullmatch(r"[A-Za-z0-9._:/@+=-]+", text) else "'" + text.replace("'", "'\\''") + "'"


def _button(action: str, label: str, value: str, **extra) -> dict:
    if len(value) > BUTTON_VALUE_MAX:
        raise ValueError(f"a button value is limited to {BUTTON_VALUE_MAX} characters")
    return {"type": "button", "action_id": action, "text": _plain(_cut(label, BUTTON_TEXT_MAX)), "value": value} | {
        key: item for key, item in extra.items() if item is not None
    }


def _header(text: str) -> dict:
    return {"type": "header", "text": _plain(_cut(text, HEADER_MAX))}


def _section(text: str) -> dict:
    return {"type": "section", "text": _mrkdwn(_cut(text, SECTION_TEXT_MAX))}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [_mrkdwn(_cut(text, SECTION_TEXT_MAX))]}


def _plain(text: str) -> dict:
    return {"type": "plain_text", "text": text, "emoji": True}


def _mrkdwn(text: str) -> dict:
    return {"type": "mrkdwn", "text": text}
