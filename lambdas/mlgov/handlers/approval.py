"""Lambda entry point of the approval state machine (`mlgov-approval`): one function, dispatching on event["task"].

Events carry the execution state under `state` (the scan's approval start input plus what earlier states added):
- {"task": "notify", "state", "task_token", "execution_id"} (waitForTaskToken) → {"approval_id", "channel", "ts"};
  the state machine resumes with the Slack click's output instead ({"decision", "by", "days"?}).
- {"task": "recheck", "state"} → {"still_idle": bool, "reason", "invocations"?}; for an expired endpoint's approval
  (state "reason": "expired", "expired_on", "lifetime_tag") "still_idle" means still past that date on its live tags
  and not exempt, with "expired" and "lifetime_value" beside it
- {"task": "mark_candidate" | "confirm" | "clear_candidate", "state"} → {"tags"} / {"cleared"}
- {"task": "exempt", "state", "kind": "reject" | "snooze" | "timeout"} → {"exempt", "until", "kind"}
- {"task": "exempt_manually", "state": {"finding": {"arn", "account", "region"}}, "reason", "by", "until"?}
  → {"exempt", "until", "kind"}: invoked by `mlgov exempt` (outside the state machine), recorded like a Reject
- {"task": "snapshot", "state"} → {"archive_bucket", "prefix", "manifest_key", "snapshot", "objects", ...}
- {"task": "hash_range", "state": {"finding", "manifest_key", "job"}} → {"archive_key", "index", "bytes"}: one item of
  the HashSourceRanges Distributed Map (source ranges the snapshot task left unhashed)
- {"task": "verify", "state"} → {"verified": bool, "problems", "manifest_key", "objects"}
- {"task": "delete", "state"} → {"deleted": true, "endpoint"}; ApprovalRefused unless verify said verified
- {"task": "update_message", "state", "execution_id"} → {"outcome", "updated" | "posted", "ts"}
- {"task": "park_check", "state": {"finding", "park": {"schedule", "window_id"}}} → {"still_idle", "reason"}: the
  first step of a park (the scheduler starts the state machine with `park` in its input: the schedule is the approval)
- {"task": "unpark", "state": {"finding"}, "schedule", "parked_at"?} → {"restored", "created", "manifest_key"}: the
  scheduler restores a parked endpoint when its window opens
- {"task": "resource_click", "state": {"finding": {"arn"}}, "action", "value", "user_id", "response_url"} → {"text",
  "changed"}: a "Keep running" / "Extend" click, handed over asynchronously by the Slack interactions function; the
  text is also posted privately to the clicker (response_url)
A task that raises fails its state; the state machine catches it and ends in a failed state with Slack updated.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from aws_lambda_powertools import Logger

from mlgov.services.approvals import ApprovalRefused

logger = Logger(service="mlgov-approval")
GUARDED_TASKS = ("confirm", "delete")  # only for a running execution of the approval state machine, for its endpoint
TASKS = ("notify", "recheck", "mark_candidate", "confirm", "clear_candidate", "exempt", "exempt_manually",
         "snapshot", "hash_range", "verify", "delete", "update_message", "resource_click", "park_check",
         "unpark")  # fmt: skip


@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict, context) -> dict:
    if not isinstance(event, dict) or not isinstance(event.get("state"), dict):
        raise ApprovalRefused("the event must be a JSON object with the execution state under 'state'")
    task, state = event.get("task"), event["state"]
    if task not in TASKS:
        raise ApprovalRefused(f"unknown task {task!r}: expected one of {', '.join(TASKS)}")
    logger.append_keys(task=task, endpoint=(state.get("finding") or {}).get("arn"))
    if task in GUARDED_TASKS:  # a caller outside the state machine (another hub function) cannot confirm or delete
        from mlgov.handlers.approval_runtime import running_execution_problem

        if problem := running_execution_problem(event.get("execution_id"), (state.get("finding") or {}).get("arn")):
            raise ApprovalRefused(f"refusing to {task}: {problem}")
    result = dispatch(_tasks(), event)
    logger.info("task done", extra={"result": {k: v for k, v in result.items() if k != "problems"}})
    return result


def dispatch(tasks, event: dict) -> dict:
    task, state = event["task"], event["state"]
    if task == "notify":
        return tasks.notify(state, event.get("task_token") or "", event.get("execution_id") or "")
    if task == "exempt":
        return tasks.exempt(state, event.get("kind") or "reject")
    if task == "exempt_manually":
        return tasks.exempt_manually(
            state, str(event.get("reason") or ""), str(event.get("by") or ""), event.get("until") or None
        )
    if task == "update_message":
        return tasks.update_message(state, event.get("execution_id") or "")
    if task == "resource_click":
        return _resource_click(tasks, event)
    if task in ("park_check", "unpark"):
        from mlgov.services import parking

        if task == "park_check":
            return parking.park_check(tasks, state)
        parked_at = event.get("parked_at")
        when = datetime.fromisoformat(parked_at) if isinstance(parked_at, str) and parked_at else None
        return parking.unpark(tasks, state, str(event.get("schedule") or ""), when)
    return getattr(tasks, task)(state)


def _resource_click(tasks, event: dict) -> dict:
    """Carry the click out and answer the clicker privately (the Slack function handed it over asynchronously, so
    nobody reads this function's result): a refusal is an answer, not an error; an unexpected error is answered
    with one generic line, logged and raised (Lambda retries it; every step is idempotent)."""
    from mlgov.domain.resource_buttons import BadButtonValue, parse_button
    from mlgov.handlers.approval_runtime import approval_settings, lifetime_rule, slack_email_lookup
    from mlgov.services.resource_clicks import answer_resource_click

    user, url = str(event.get("user_id") or ""), str(event.get("response_url") or "")
    try:
        if not user:
            raise ApprovalRefused("a resource click needs the clicking user_id")
        try:
            target = parse_button(str(event.get("action") or ""), str(event.get("value") or ""))
        except BadButtonValue as err:
            raise ApprovalRefused(str(err)) from None
        key, max_days = lifetime_rule()
        answer = answer_resource_click(
            tasks,
            target,
            user,
            approvers=approval_settings().approvers,  # its own configuration, never the caller's word
            email_of=slack_email_lookup(),
            lifetime_key=key,
            max_lifetime_days=max_days,
        )
    except ApprovalRefused as err:
        answer = {"text": f"mlgov could not do this: {err}; nothing was changed.", "changed": False}
    except Exception:
        _tell_clicker(url, "mlgov could not do this just now (the hub logged why); nothing was changed.")
        raise
    _tell_clicker(url, answer["text"])
    return answer


def _tell_clicker(url: str, text: str) -> None:
    from mlgov.aws.slack_post import post_ephemeral

    try:
        post_ephemeral(url, text)
    except Exception as err:  # noqa: BLE001 - the click was carried out; only its private answer is lost
        logger.warning("answer to the clicker not posted", extra={"error": f"{type(err).__name__}: {err}"})


@cache
def _tasks():
    from mlgov.handlers.approval_runtime import build_tasks

    return build_tasks()
