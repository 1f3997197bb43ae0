"""Idle notebook stops, pure: warned once per running session, stopped once the warning's due time has come (with a
tolerance for a daily scan that runs a little earlier), warned again after a restart, kept only by an exemption mlgov
recorded (a tag alone keeps nothing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlgov.domain.notebook_stops import KEPT, STOP, WAIT, WARN, Warned, chunks, notebook_steps, warning_text

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 20, 6, tzinfo=UTC)
SESSION = "2026-11-17T08:00:00+00:00"


def notebook(name: str, status: str = "idle", exempt: str | None = None, since: str = SESSION) -> dict:
    evidence = {"running_since": since, **({"exempt": exempt} if exempt else {})}
    return {"arn": f"arn:aws:sagemaker:us-east-1:111111111111:notebook-instance/{name}", "name": name,
            "resource_type": "notebook-instance", "account": "111111111111", "region": "us-east-1",
            "status": status, "owner": "alice@example.com", "reason": "running 70 h", "evidence": evidence}  # fmt: skip


def warned(hours_ago: float, due_in: float, episode: str = SESSION) -> Warned:
    return Warned(NOW - timedelta(hours=hours_ago), NOW + timedelta(hours=due_in), episode)


def test_each_idle_notebook_gets_its_step():
    findings = [
        notebook("new"),
        notebook("due"),
        notebook("due-a-bit-early"),  # today's scan runs 20 minutes earlier than yesterday's
        notebook("waiting"),
        notebook("restarted", since="2026-11-19T09:00:00+00:00"),
        notebook("kept", exempt="exempted by alice: demo"),
        notebook("tag-only", exempt="exempted by nobody"),
        notebook("busy", status="active"),
        notebook("no-session", since=""),
    ]
    arn = {f["name"]: f["arn"] for f in findings}
    warnings = {
        arn["due"]: warned(25, -1),
        arn["due-a-bit-early"]: warned(24, 0.3),
        arn["waiting"]: warned(2, 22),
        arn["restarted"]: warned(30, -6),  # about the session before the restart
        arn["kept"]: warned(30, -6),
    }
    steps = {s.name: s for s in notebook_steps(findings, warnings, {arn["kept"]}, NOW)}
    assert {name: s.action for name, s in steps.items()} == {
        "new": WARN, "due": STOP, "due-a-bit-early": STOP, "waiting": WAIT, "restarted": WARN, "kept": KEPT,
        "tag-only": WARN,
    }  # fmt: skip
    assert steps["kept"].warned and not steps["new"].warned  # a kept notebook's warning is released


def test_the_warning_says_when_and_what_is_lost_and_every_notebook_is_in_a_posted_message():
    steps = notebook_steps([notebook(f"lab-{i}") for i in range(45)], {}, set(), NOW)
    text = warning_text(steps[:1], 24)
    assert "will be stopped by the daily scan in 24 h or later" in text
    assert "running kernels and anything outside it are not" in text and "`mlgov exempt <ARN>" in text
    assert [len(c) for c in chunks(steps)] == [20, 20, 5]


def studio_app(name: str, space: str = "alice-space") -> dict:
    arn = f"arn:aws:sagemaker:us-east-1:111111111111:app/d-abc123/{space}/jupyterlab/{name}"
    evidence = {"running_since": SESSION, "detail.domain_id": "d-abc123", "detail.app_type": "JupyterLab",
                "detail.space_name": space}  # fmt: skip
    return {"arn": arn, "name": name, "resource_type": "app", "account": "111111111111", "region": "us-east-1",
            "status": "idle", "owner": "alice@example.com", "reason": "running 70 h", "evidence": evidence}  # fmt: skip


def test_idle_studio_apps_are_their_own_kind_warned_that_the_space_and_its_volume_stay():
    from mlgov.domain.notebook_stops import APP, stopped_text

    findings = [notebook("lab"), studio_app("default")]
    (step,) = notebook_steps(findings, {}, set(), NOW, APP)
    assert (step.action, step.resource_type, step.evidence["detail.domain_id"]) == (WARN, "app", "d-abc123")
    assert [s.name for s in notebook_steps(findings, {}, set(), NOW)] == ["lab"]  # notebooks stay notebooks
    text = warning_text([step], 24)
    assert "1 Studio app running in a domain without idle shutdown will be deleted" in text
    assert "space and its storage volume (the home directory) are kept" in text
    assert "JupyterLab default in alice-space" in text and "Keep running" in text
    assert stopped_text([step]).startswith("Deleted 1 idle Studio app after the warning")
