"""Idle notebook instances (with `notebook_stops: stop`) and idle Studio apps (with `studio_app_stops: delete`) after
each scheduled scan (the scanner Lambda; report mode leaves them to the report): warn once per running session — a
claim with a lease, then the warning on record only once its message was posted — and stop (an app: delete), at the
scan after the due time, the ones still idle. The stopper re-checks the live resource first (still InService, the
same session, no new exemption tag). Every step is tried on its own: one failure is an error entry, never the loss
of the others."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from botocore.exceptions import BotoCoreError, ClientError

from mlgov.domain.notebook_stops import (
    KEPT,
    NOTEBOOK,
    STOP,
    WARN,
    NotebookStep,
    Warned,
    chunks,
    notebook_steps,
    stopped_text,
    warning_text,
)
from mlgov.domain.resource_buttons import keep_running_button
from mlgov.services.budgets import NotifyError

CLAIM_LEASE = timedelta(hours=1)  # a run that crashed between claim and post frees the claim after this
# the step -> None when stopped (an app: deleted), else why it was left alone
Stopper = Callable[[NotebookStep], str | None]


class StopRecords(Protocol):
    def claim_stop_warning(self, arn: str, episode: str, now: datetime, lease: timedelta) -> bool: ...

    def confirm_stop_warning(self, arn: str, episode: str, now: datetime, due: datetime) -> None: ...

    def release_stop_warning(self, arn: str) -> None: ...

    def mark_stopped(self, arn: str, now: datetime) -> None: ...


def act_on_idle_notebooks(
    report: Mapping,
    warnings: Mapping[str, Warned],
    recorded_exemptions: Collection[str],
    now: datetime,
    *,
    grace_hours: int,
    records: StopRecords,
    stopper: Stopper,
    notify: Callable[..., None],
    kind: str = NOTEBOOK,
) -> dict:
    """{"steps": every idle notebook's step, "warned": [ARN], "stopped": [ARN], "errors": [...]}. `notify(text,
    buttons)` posts a warning with a Keep running button per notebook; `notify(text)` the stop notice."""
    steps = notebook_steps(report.get("findings") or [], warnings, recorded_exemptions, now, kind)
    result: dict = {"steps": [s.as_json() for s in steps], "warned": [], "stopped": [], "errors": []}
    for kept in [s for s in steps if s.action == KEPT and s.warned]:
        attempt(result, kept.arn, lambda k=kept: records.release_stop_warning(k.arn))  # warned again if released
    claimed = []
    for step in [s for s in steps if s.action == WARN]:
        if attempt(result, step.arn, lambda s=step: records.claim_stop_warning(s.arn, s.episode, now, CLAIM_LEASE)):
            claimed.append(step)
    due = now + timedelta(hours=grace_hours)
    for message in chunks(claimed):
        try:
            notify(
                warning_text(message, grace_hours),
                [keep_running_button(step.arn, step.label, index) for index, step in enumerate(message)],
            )
        except NotifyError as err:
            result["errors"].append(f"warning not posted: {err}")
            for step in message:
                attempt(result, step.arn, lambda s=step: records.release_stop_warning(s.arn))
            continue
        for step in message:
            confirmed = attempt(
                result, step.arn, lambda s=step: records.confirm_stop_warning(s.arn, s.episode, now, due) or True
            )
            if confirmed:
                result["warned"].append(step.arn)
    stopped = []
    for step in [s for s in steps if s.action == STOP]:
        left_alone = attempt(result, step.arn, lambda s=step: stopper(s) or "")
        if left_alone is None:
            continue  # the error is in the result
        if left_alone:
            result["errors"].append(f"{step.arn}: not stopped: {left_alone}")
            attempt(result, step.arn, lambda s=step: records.release_stop_warning(s.arn))
            continue
        stopped.append(step)
        attempt(result, step.arn, lambda s=step: records.mark_stopped(s.arn, now))
    result["stopped"] = [s.arn for s in stopped]
    for message in chunks(stopped):
        try:
            notify(stopped_text(message))
        except NotifyError as err:
            result["errors"].append(f"stop notice not posted: {err}")
    return result


def warnings_of(rows: Sequence) -> dict[str, Warned]:
    """ARN -> its posted stop warning, from the findings table's recorded rows."""
    found = {}
    for row in rows:
        warning = getattr(row, "stop_warning", None)
        if warning:
            found[row.arn] = Warned(_time(warning["at"]), _time(warning["due"]), str(warning["episode"]))
    return found


def attempt(result: dict, arn: str, call: Callable[[], object]) -> object | None:
    """The call's value; None, with an error entry, when AWS refused it."""
    try:
        return call()
    except (ClientError, BotoCoreError) as err:
        result["errors"].append(f"{arn}: {type(err).__name__}: {err}")
        return None


def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
