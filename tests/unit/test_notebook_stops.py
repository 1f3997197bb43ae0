"""Idle notebook stops, pure: warned once per idle episode, stopped after the grace period, kept by an exemption
mlgov recorded (a tag alone keeps nothing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mlgov.domain.notebook_stops import KEPT, STOP, WAIT, WARN, notebook_steps, stopped_text, warning_text

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 20, 6, tzinfo=UTC)


def notebook(name: str, status: str = "idle", exempt: str | None = None) -> dict:
    evidence = {"exempt": exempt} if exempt else {}
    return {"arn": f"arn:aws:sagemaker:us-east-1:111111111111:notebook-instance/{name}", "name": name,
            "resource_type": "notebook-instance", "account": "111111111111", "region": "us-east-1",
            "status": status, "owner": "alice@example.com", "reason": "running 40 h", "evidence": evidence,
            "monthly_cost_usd": 36.5}  # fmt: skip


def test_each_idle_notebook_gets_its_step():
    findings = [
        notebook("new"),
        notebook("warned-long-ago"),
        notebook("warned-just-now"),
        notebook("kept", exempt="exempted by alice: demo"),
        notebook("tag-only", exempt="exempted by nobody"),  # a tag mlgov did not record keeps nothing
        notebook("busy", status="active"),
        {**notebook("endpoint"), "resource_type": "endpoint"},
    ]
    warned = {f["arn"]: NOW - timedelta(hours=25) for f in findings if f["name"] == "warned-long-ago"}
    warned |= {f["arn"]: NOW - timedelta(hours=2) for f in findings if f["name"] == "warned-just-now"}
    recorded = {f["arn"] for f in findings if f["name"] == "kept"}
    steps = {s.name: s.action for s in notebook_steps(findings, warned, recorded, NOW, grace_hours=24)}
    assert steps == {"new": WARN, "warned-long-ago": STOP, "warned-just-now": WAIT, "kept": KEPT, "tag-only": WARN}


def test_the_messages_say_what_happens_and_how_to_keep_one():
    steps = notebook_steps([notebook("lab")], {}, set(), NOW, grace_hours=24)
    text = warning_text(steps, 24, will_stop=True)
    assert text.startswith("1 idle notebook instance will be stopped in 24 h; the volume is kept.")
    assert "`mlgov exempt <ARN> --reason ... --until YYYY-MM-DD`" in text and "alice@example.com" in text
    assert "report-only" in warning_text(steps, 24, will_stop=False)
    assert stopped_text(steps).startswith("Stopped 1 idle notebook instance (volumes kept")
