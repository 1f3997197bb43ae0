"""Idle notebook instances after each scheduled scan (the scanner Lambda): warn the owners once per idle episode (the
warning claimed on the notebook's findings row first, released when it cannot be posted), then stop the ones still
idle once the grace period has passed — only with `notebook_stops: stop`; report-only otherwise. A failed stop is
reported and tried again on the next run."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

from botocore.exceptions import BotoCoreError, ClientError

from mlgov.domain.notebook_stops import STOP, WARN, notebook_steps, stopped_text, warning_text
from mlgov.services.budgets import NotifyError

Stopper = Callable[[str, str, str], None]  # (account, region, notebook name) -> StopNotebookInstance


class StopRecords(Protocol):
    def mark_stop_warned(self, arn: str, now: datetime) -> bool: ...

    def release_stop_warning(self, arn: str) -> None: ...

    def mark_stopped(self, arn: str, now: datetime) -> None: ...


def act_on_idle_notebooks(
    report: Mapping,
    warned_at: Mapping[str, datetime | None],
    recorded_exemptions: Collection[str],
    now: datetime,
    *,
    grace_hours: int,
    stop: bool,
    records: StopRecords,
    stopper: Stopper,
    notify: Callable[[str], None],
) -> dict:
    """{"steps": every idle notebook's step, "warned": [ARN], "stopped": [ARN], "errors": [...]}."""
    steps = notebook_steps(report.get("findings") or [], warned_at, recorded_exemptions, now, grace_hours)
    result: dict = {"steps": [s.as_json() for s in steps], "warned": [], "stopped": [], "errors": []}
    warn = [s for s in steps if s.action == WARN and records.mark_stop_warned(s.arn, now)]
    if warn:
        try:
            notify(warning_text(warn, grace_hours, stop))
            result["warned"] = [s.arn for s in warn]
        except NotifyError as err:
            for s in warn:
                records.release_stop_warning(s.arn)
            result["errors"].append(f"warning not posted: {err}")
    if not stop:
        return result
    stopped = []
    for s in [s for s in steps if s.action == STOP]:
        try:
            stopper(s.account, s.region, s.name)
        except (ClientError, BotoCoreError) as err:
            result["errors"].append(f"{s.arn}: StopNotebookInstance failed: {err}")
            continue
        records.mark_stopped(s.arn, now)
        stopped.append(s)
    result["stopped"] = [s.arn for s in stopped]
    if stopped:
        try:
            notify(stopped_text(stopped))
        except NotifyError as err:
            result["errors"].append(f"stop notice not posted: {err}")
    return result


def warned_times(rows: Sequence) -> dict[str, datetime | None]:
    """ARN -> when its idle episode was warned, from the findings table's recorded rows."""
    return {
        row.arn: datetime.strptime(row.stop_warned_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        for row in rows
        if getattr(row, "stop_warned_at", None)
    }
