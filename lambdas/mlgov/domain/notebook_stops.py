"""Idle notebook instances stopped (and idle Studio JupyterLab / Code Editor apps deleted) after a warning: what each
is due now — a warning, a stop once the warning's due time has come, nothing while it waits, nothing when an
exemption recorded by mlgov keeps it.

Studio apps: the report calls one idle when it has run longer than the idle hours in a domain without idle shutdown
(zombies.judge_idle). DeleteApp ends the app; its space (and the space's EBS volume, the home directory) stays, so
opening the space starts a fresh app with the files in place. A warning belongs to the app's run (its CreationTime).

"Idle" is the report's verdict: InService for longer than the idle hours since its last start, with no lifecycle
configuration (mlgov cannot see kernel activity). A warning belongs to one running session (`running_since`, the
notebook's LastModifiedTime): a notebook restarted since, or kept and then released, is warned again before any stop.
StopNotebookInstance keeps the notebook's ML storage volume; running kernels and anything outside it are lost.
Pure: findings, warnings and exemptions in, the steps out.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mlgov.domain.resource_buttons import KEEP_RUNNING_DAYS

NOTEBOOK = "notebook-instance"
APP = "app"  # a Studio app (only JupyterLab and Code Editor apps are ever judged idle)
WARN, STOP, WAIT, KEPT = "warn", "stop", "wait", "kept"
# A daily scan that runs a few minutes earlier than the one that warned still stops on the day the warning said.
DUE_TOLERANCE = timedelta(hours=1)
NOTEBOOKS_PER_MESSAGE = 20


@dataclass(frozen=True)
class Warned:
    """A posted warning: when, when the stop is due, and the session (`running_since`) it was about."""

    at: datetime
    due: datetime
    episode: str


@dataclass(frozen=True)
class NotebookStep:
    arn: str
    name: str
    account: str
    region: str
    owner: str | None
    action: str  # WARN | STOP | WAIT | KEPT
    reason: str
    episode: str  # the session's running_since
    warned: bool = False  # a warning is on record (KEPT clears it, so a lapsed exemption is warned again)
    resource_type: str = NOTEBOOK
    evidence: Mapping = field(default_factory=dict, compare=False)  # the finding's (a Studio app: its domain, space)

    @property
    def label(self) -> str:
        """How people know it: a notebook by its name, an app by its space (a JupyterLab app is named `default`)."""
        if self.resource_type != APP:
            return self.name
        where = self.evidence.get("detail.space_name") or self.evidence.get("detail.user_profile_name") or self.name
        return f"{where} {self.evidence.get('detail.app_type') or 'app'}"

    def as_json(self) -> dict:
        return {"arn": self.arn, "action": self.action, "reason": self.reason}


def notebook_steps(
    findings: Sequence[Mapping],
    warnings: Mapping[str, Warned],
    recorded_exemptions: Collection[str],
    now: datetime,
    kind: str = NOTEBOOK,
) -> list[NotebookStep]:
    """One step per idle resource of `kind` (NOTEBOOK or APP; `warnings`: ARN -> its posted warning;
    `recorded_exemptions`: ARNs whose mlgov:exempt mlgov recorded)."""
    steps = []
    for finding in findings:
        if finding.get("resource_type") != kind or finding.get("status") != "idle":
            continue
        arn = finding["arn"]
        evidence = finding.get("evidence") or {}
        episode = str(evidence.get("running_since") or "")
        warning = warnings.get(arn)

        def step(action: str, reason: str, f=finding, e=episode, w=warning is not None) -> NotebookStep:
            return NotebookStep(f["arn"], f["name"], f["account"], f["region"], f.get("owner"), action, reason, e, w,
                                kind, f.get("evidence") or {})  # fmt: skip

        if evidence.get("exempt") and arn in recorded_exemptions:
            steps.append(step(KEPT, f"kept: {evidence['exempt']}"))
        elif not episode:
            continue  # no session start known: nothing to tie a warning to
        elif warning is None or warning.episode != episode:
            steps.append(step(WARN, f"idle since {episode} ({finding.get('reason', '')})"))
        elif now >= warning.due - DUE_TOLERANCE:
            steps.append(step(STOP, f"warned {warning.at:%Y-%m-%d %H:%M} UTC, due {warning.due:%H:%M}, still idle"))
        else:
            steps.append(step(WAIT, f"warned {warning.at:%Y-%m-%d %H:%M} UTC; stop due {warning.due:%Y-%m-%d %H:%M}"))
    return steps


def warning_text(steps: Sequence[NotebookStep], grace_hours: int) -> str:
    if steps and steps[0].resource_type == APP:
        return _app_warning_text(steps, grace_hours)
    lines = [
        f"{len(steps)} notebook instance{'s' if len(steps) != 1 else ''} running without an idle-stop lifecycle "
        f"configuration will be stopped by the daily scan in {grace_hours} h or later. The ML storage volume is kept; "
        f"running kernels and anything outside it are not. To keep one running for {KEEP_RUNNING_DAYS} days, its "
        "owner or an approver clicks its Keep running button; or the platform runs "
        "`mlgov exempt <ARN> --reason ... --until YYYY-MM-DD`."
    ]
    lines += [f"• {s.name} ({s.account}/{s.region}, owner tag {s.owner or 'none'}): {s.arn}" for s in steps]
    return "\n".join(lines)


def _app_warning_text(steps: Sequence[NotebookStep], grace_hours: int) -> str:
    lines = [
        f"{len(steps)} Studio app{'s' if len(steps) != 1 else ''} running in a domain without idle shutdown will be "
        f"deleted by the daily scan in {grace_hours} h or later. The space and its storage volume (the home "
        "directory) are kept; running kernels, terminals and unsaved work are not. To keep one running for "
        f"{KEEP_RUNNING_DAYS} days, its owner or an approver clicks its Keep running button."
    ]
    lines += [f"• {_app_label(s)} ({s.account}/{s.region}, owner tag {s.owner or 'none'}): {s.arn}" for s in steps]
    return "\n".join(lines)


def _app_label(step: NotebookStep) -> str:
    evidence = step.evidence
    where = evidence.get("detail.space_name") or evidence.get("detail.user_profile_name") or "?"
    return f"{evidence.get('detail.app_type') or 'app'} {step.name} in {where}"


def stopped_text(steps: Sequence[NotebookStep]) -> str:
    if steps and steps[0].resource_type == APP:
        lines = [f"Deleted {len(steps)} idle Studio app{'s' if len(steps) != 1 else ''} after the warning (their "
                 "spaces and volumes kept; open the space in Studio to start it again):"]  # fmt: skip
        lines += [f"• {_app_label(s)} ({s.account}/{s.region}, owner tag {s.owner or 'none'})" for s in steps]
        return "\n".join(lines)
    lines = [f"Stopped {len(steps)} notebook instance{'s' if len(steps) != 1 else ''} after the warning (volumes "
             "kept; start them again from the console):"]  # fmt: skip
    lines += [f"• {s.name} ({s.account}/{s.region}, owner tag {s.owner or 'none'})" for s in steps]
    return "\n".join(lines)


def chunks(steps: Sequence[NotebookStep], size: int = NOTEBOOKS_PER_MESSAGE) -> list[list[NotebookStep]]:
    """Steps in messages of `size`: every warned notebook is named in a message that was posted."""
    return [list(steps[i : i + size]) for i in range(0, len(steps), size)]
