"""Idle notebook instances stopped after a warning: what each idle notebook is due now — a warning, a stop once the
warning is older than the grace period, nothing while it waits, nothing when an exemption recorded by mlgov keeps
it. StopNotebookInstance keeps the notebook's volume: its owner starts it again as it was. Pure: findings, warnings
and exemptions in, the steps out."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

NOTEBOOK = "notebook-instance"
WARN, STOP, WAIT, KEPT = "warn", "stop", "wait", "kept"


@dataclass(frozen=True)
class NotebookStep:
    arn: str
    name: str
    account: str
    region: str
    owner: str | None
    action: str  # WARN | STOP | WAIT | KEPT
    reason: str
    monthly_cost_usd: float | None = None

    def as_json(self) -> dict:
        return {"arn": self.arn, "action": self.action, "reason": self.reason}


def notebook_steps(
    findings: Sequence[Mapping],
    warned_at: Mapping[str, datetime | None],
    recorded_exemptions: Collection[str],
    now: datetime,
    grace_hours: int,
) -> list[NotebookStep]:
    """One step per idle notebook instance (`warned_at`: ARN -> when its current idle episode was warned, None or
    absent when not yet; `recorded_exemptions`: ARNs whose mlgov:exempt mlgov recorded)."""
    steps = []
    for finding in findings:
        if finding.get("resource_type") != NOTEBOOK or finding.get("status") != "idle":
            continue
        arn = finding["arn"]
        evidence = finding.get("evidence") or {}
        warned = warned_at.get(arn)

        def step(action: str, reason: str, f=finding) -> NotebookStep:
            return NotebookStep(f["arn"], f["name"], f["account"], f["region"], f.get("owner"), action, reason,
                                f.get("monthly_cost_usd"))  # fmt: skip

        if evidence.get("exempt") and arn in recorded_exemptions:
            steps.append(step(KEPT, f"kept: {evidence['exempt']}"))
        elif warned is None:
            steps.append(step(WARN, f"idle ({finding.get('reason', '')}); stopped in {grace_hours} h unless kept"))
        elif now - warned >= timedelta(hours=grace_hours):
            steps.append(step(STOP, f"warned {warned:%Y-%m-%d %H:%M} UTC and still idle"))
        else:
            left = warned + timedelta(hours=grace_hours) - now
            steps.append(
                step(WAIT, f"warned {warned:%Y-%m-%d %H:%M} UTC; stopped in {left.total_seconds() / 3600:.0f} h")
            )
    return steps


def warning_text(steps: Sequence[NotebookStep], grace_hours: int, will_stop: bool) -> str:
    verb = "will be stopped" if will_stop else "would be stopped (notebook_stops is report-only)"
    lines = [
        f"{len(steps)} idle notebook instance{'s' if len(steps) != 1 else ''} {verb} in {grace_hours} h; the volume is "
        "kept. To keep one running, ask the platform: `mlgov exempt <ARN> --reason ... --until YYYY-MM-DD`."
    ]
    lines += [f"• {s.name} ({s.account}/{s.region}, {s.owner or 'owner unknown'}): {s.arn}" for s in steps]
    return "\n".join(lines)


def stopped_text(steps: Sequence[NotebookStep]) -> str:
    lines = [f"Stopped {len(steps)} idle notebook instance{'s' if len(steps) != 1 else ''} (volumes kept; start "
             "them again from the console):"]  # fmt: skip
    lines += [f"• {s.name} ({s.account}/{s.region}, {s.owner or 'owner unknown'})" for s in steps]
    return "\n".join(lines)
