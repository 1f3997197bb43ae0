"""Idle notebook stops on moto (SageMaker notebooks, the findings table): warned once, stopped after the grace period
with notebook_stops=stop and only then, a kept one left running, a warning that cannot be posted released, a new idle
episode warned again."""

from __future__ import annotations

from datetime import timedelta

import boto3
import pytest

from mlgov.services.budgets import NotifyError
from mlgov.services.notebook_stops import act_on_idle_notebooks, warned_times

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


def _report(arns: dict, status: str = "idle") -> dict:
    return {"findings": [
        {"arn": arn, "name": name, "resource_type": "notebook-instance", "account": "123456789012", "region": REGION,
         "status": status, "owner": "alice@example.com", "reason": "running 40 h", "tags": {},
         "evidence": {"exempt": "exempted by alice: thesis"} if name == "kept" else {}, "monthly_cost_usd": 36.5,
         "waste_usd_month": 36.5}
        for name, arn in arns.items()
    ]}  # fmt: skip


def _run(findings_table, sagemaker, arns, now, *, stop=True, notify=None, status="idle"):
    report = _report(arns, status)
    recorded = findings_table.record_all(report["findings"], now, "run")
    sent: list[str] = []
    result = act_on_idle_notebooks(
        report,
        warned_times(recorded),
        {arns["kept"]},
        now,
        grace_hours=24,
        stop=stop,
        records=findings_table,
        stopper=lambda account, region, name: sagemaker.stop_notebook_instance(NotebookInstanceName=name),
        notify=notify or sent.append,
    )
    return result, sent


def _status(sagemaker, name: str) -> str:
    return sagemaker.describe_notebook_instance(NotebookInstanceName=name)["NotebookInstanceStatus"]


def test_warned_once_then_stopped_after_the_grace_period_and_a_kept_one_runs_on(findings_table, notebooks, instant):
    sagemaker, arns = notebooks
    first, sent = _run(findings_table, sagemaker, arns, instant)
    assert first["warned"] == [arns["lab"]] and first["stopped"] == [] and len(sent) == 1
    again, sent = _run(findings_table, sagemaker, arns, instant + timedelta(hours=3))  # a retried or later run
    assert again["warned"] == [] and again["stopped"] == [] and sent == []
    day_after, sent = _run(findings_table, sagemaker, arns, instant + timedelta(hours=25))
    assert day_after["stopped"] == [arns["lab"]] and sent[0].startswith("Stopped 1 idle notebook instance")
    assert _status(sagemaker, "lab") == "Stopped" and _status(sagemaker, "kept") == "InService"
    assert findings_table.get(arns["lab"])["stopped_by_mlgov_at"]  # the audit record
    assert {s["action"] for s in day_after["steps"] if s["arn"] == arns["kept"]} == {"kept"}


def test_report_only_warns_but_never_stops(findings_table, notebooks, instant):
    sagemaker, arns = notebooks
    _, sent = _run(findings_table, sagemaker, arns, instant, stop=False)
    assert "report-only" in sent[0]
    later, _ = _run(findings_table, sagemaker, arns, instant + timedelta(hours=30), stop=False)
    assert later["stopped"] == [] and _status(sagemaker, "lab") == "InService"


def test_a_warning_not_posted_is_released_and_a_new_idle_episode_is_warned_again(findings_table, notebooks, instant):
    sagemaker, arns = notebooks

    def broken(text: str) -> None:
        raise NotifyError("Slack: not_in_channel")

    failed, _ = _run(findings_table, sagemaker, arns, instant, notify=broken)
    assert failed["warned"] == [] and "not_in_channel" in failed["errors"][0]
    warned, _ = _run(findings_table, sagemaker, arns, instant + timedelta(hours=1))
    assert warned["warned"] == [arns["lab"]]
    _run(findings_table, sagemaker, arns, instant + timedelta(hours=2), status="active")  # somebody used it
    rewarned, _ = _run(findings_table, sagemaker, arns, instant + timedelta(hours=30))
    assert rewarned["warned"] == [arns["lab"]] and rewarned["stopped"] == []  # a new episode: warned, not stopped
