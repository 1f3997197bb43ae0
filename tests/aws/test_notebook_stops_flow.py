"""Idle notebook stops on moto (SageMaker notebooks, the findings table): warned once per session, stopped at the
scan after the due time after a fresh look at the live notebook, a kept one left running, a warning that cannot be
posted released, a restarted notebook warned again, a crashed run's claim lapsing."""

from __future__ import annotations

from datetime import UTC, timedelta

import boto3
import pytest

from mlgov.services.budgets import NotifyError
from mlgov.services.notebook_stops import CLAIM_LEASE, act_on_idle_notebooks, warnings_of
from tests.samples.notices import Notices

pytestmark = pytest.mark.aws

REGION = "us-east-1"


@pytest.fixture
def notebooks(findings_table):
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    arns = {}
    for name in ("lab", "kept"):
        arns[name] = sagemaker.create_notebook_instance(
            NotebookInstanceName=name, InstanceType="ml.t3.medium", RoleArn="arn:aws:iam::123456789012:role/sm"
        )["NotebookInstanceArn"]
    return sagemaker, arns


def _session(sagemaker, name: str) -> str:
    modified = sagemaker.describe_notebook_instance(NotebookInstanceName=name)["LastModifiedTime"]
    return modified.astimezone(UTC).isoformat()


def _report(sagemaker, arns: dict, status: str = "idle") -> dict:
    return {"findings": [
        {"arn": arn, "name": name, "resource_type": "notebook-instance", "account": "123456789012", "region": REGION,
         "status": status, "owner": "alice@example.com", "reason": "running 40 h", "tags": {},
         "evidence": {"running_since": _session(sagemaker, name),
                      **({"exempt": "exempted by alice: thesis"} if name == "kept" else {})},
         "monthly_cost_usd": 36.5, "waste_usd_month": 36.5}
        for name, arn in arns.items()
    ]}  # fmt: skip


def _stopper(sagemaker):
    def stop(step):
        live = sagemaker.describe_notebook_instance(NotebookInstanceName=step.name)
        if live["NotebookInstanceStatus"] != "InService":
            return f"it is {live['NotebookInstanceStatus']} now"
        if live["LastModifiedTime"].astimezone(UTC).isoformat() != step.episode:
            return "restarted since the warning"
        sagemaker.stop_notebook_instance(NotebookInstanceName=step.name)
        return None

    return stop


def _run(findings_table, sagemaker, arns, now, *, notify=None, status="idle"):
    report = _report(sagemaker, arns, status)
    recorded = findings_table.record_all(report["findings"], now, "run")
    sent = Notices()
    result = act_on_idle_notebooks(
        report, warnings_of(recorded), {arns["kept"]}, now, grace_hours=24, records=findings_table,
        stopper=_stopper(sagemaker), notify=notify or sent,
    )  # fmt: skip
    return result, sent


def _status(sagemaker, name: str) -> str:
    return sagemaker.describe_notebook_instance(NotebookInstanceName=name)["NotebookInstanceStatus"]


def test_warned_once_then_stopped_after_the_due_time_and_a_kept_one_runs_on(findings_table, notebooks, instant):
    sagemaker, arns = notebooks
    first, sent = _run(findings_table, sagemaker, arns, instant)
    assert first["warned"] == [arns["lab"]] and first["stopped"] == [] and len(sent) == 1
    assert [(b["action_id"], b["value"]) for b in sent.buttons[0]] == [("keep_running#0", arns["lab"])]
    again, sent = _run(findings_table, sagemaker, arns, instant + timedelta(hours=3))  # a retried or later run
    assert again["warned"] == [] and again["stopped"] == [] and sent == []
    next_day, sent = _run(findings_table, sagemaker, arns, instant + timedelta(hours=23, minutes=40))
    assert next_day["stopped"] == [arns["lab"]] and sent[0].startswith("Stopped 1 notebook instance after the warning")
    assert _status(sagemaker, "lab") == "Stopped" and _status(sagemaker, "kept") == "InService"
    row = findings_table.get(arns["lab"])
    assert row["stopped_by_mlgov_at"] and "stop_warning" not in row  # audited; the warning is spent


def test_a_warning_not_posted_is_released_and_a_claim_of_a_crashed_run_lapses(findings_table, notebooks, instant):
    sagemaker, arns = notebooks

    def broken(text: str, buttons=()) -> None:
        raise NotifyError("Slack: not_in_channel")

    failed, _ = _run(findings_table, sagemaker, arns, instant, notify=broken)
    assert failed["warned"] == [] and "not_in_channel" in failed["errors"][0]
    assert "stop_warning" not in findings_table.get(arns["lab"])  # no warning on record: no stop can follow
    # a run that crashed between its claim and its post holds the claim until the lease lapses
    session = _session(sagemaker, "lab")
    assert findings_table.claim_stop_warning(arns["lab"], session, instant, CLAIM_LEASE)
    held, _ = _run(findings_table, sagemaker, arns, instant + timedelta(minutes=30))
    assert held["warned"] == []
    lapsed, _ = _run(findings_table, sagemaker, arns, instant + CLAIM_LEASE + timedelta(minutes=1))
    assert lapsed["warned"] == [arns["lab"]]


def test_a_notebook_restarted_after_its_warning_is_warned_again_not_stopped(findings_table, notebooks, instant):
    sagemaker, arns = notebooks
    _run(findings_table, sagemaker, arns, instant)
    from moto.sagemaker.models import sagemaker_backends

    sagemaker.stop_notebook_instance(NotebookInstanceName="lab")  # its owner stops and starts it: a new session
    sagemaker.start_notebook_instance(NotebookInstanceName="lab")
    stored = sagemaker_backends["123456789012"][REGION].notebook_instances["lab"]
    stored.last_modified_time = (instant + timedelta(hours=29)).replace(tzinfo=None)  # SageMaker stamps a start
    later, sent = _run(findings_table, sagemaker, arns, instant + timedelta(hours=30))
    assert later["stopped"] == [] and later["warned"] == [arns["lab"]] and _status(sagemaker, "lab") == "InService"
