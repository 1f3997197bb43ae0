"""Idle Studio apps deleted after a warning, on moto DynamoDB (the findings table) with SageMaker's Studio calls
through botocore's Stubber (moto has no DescribeApp/DeleteApp): the scanner's deleter takes a fresh look first —
still InService, the same run as the warning, no exemption written since — and deletes with the space it names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import boto3
import pytest
from botocore.stub import Stubber

from mlgov.domain.notebook_stops import APP
from mlgov.handlers.scanner_runtime import ScannerRuntime
from mlgov.services.notebook_stops import act_on_idle_notebooks, warnings_of
from tests.samples.notices import Notices

pytestmark = pytest.mark.aws

REGION, ACCOUNT = "us-east-1", "123456789012"
STARTED = datetime(2026, 11, 17, 8, tzinfo=UTC)
ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:app/d-abc123/alice-space/jupyterlab/default"
IDENT = {"DomainId": "d-abc123", "AppType": "JupyterLab", "AppName": "default", "SpaceName": "alice-space"}


def _report() -> dict:
    evidence = {"running_since": STARTED.isoformat(), "detail.domain_id": "d-abc123", "detail.app_type": "JupyterLab",
                "detail.space_name": "alice-space"}  # fmt: skip
    return {"findings": [{"arn": ARN, "name": "default", "resource_type": "app", "account": ACCOUNT, "region": REGION,
                          "status": "idle", "owner": "alice@example.com", "reason": "running 70 h", "tags": {},
                          "evidence": evidence, "monthly_cost_usd": 120.0, "waste_usd_month": 120.0}]}  # fmt: skip


def _live(created: datetime = STARTED, status: str = "InService") -> dict:
    return {"AppArn": ARN, "AppType": "JupyterLab", "AppName": "default", "DomainId": "d-abc123",
            "SpaceName": "alice-space", "Status": status, "CreationTime": created}  # fmt: skip


def _run(findings_table, now, stubbed):
    report = _report()
    recorded = findings_table.record_all(report["findings"], now, "run")
    deleter = SimpleNamespace(sessions=SimpleNamespace(client=lambda service, account, region: stubbed))
    sent = Notices()
    result = act_on_idle_notebooks(
        report, warnings_of(recorded), set(), now, grace_hours=24, records=findings_table,
        stopper=lambda step: ScannerRuntime._delete_app(deleter, step), notify=sent, kind=APP,
    )  # fmt: skip
    return result, sent


def test_an_idle_app_is_warned_then_deleted_with_its_space_named_and_a_later_run_changes_nothing(findings_table):
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    with Stubber(sagemaker) as stub:
        first, sent = _run(findings_table, STARTED + timedelta(hours=30), sagemaker)
        assert first["warned"] == [ARN] and "will be deleted" in sent[0]
        [button] = sent.buttons[0]  # Keep running, for the owner, named after the space
        assert (button["value"], button["text"]["text"]) == (ARN, "Keep alice-space JupyterLab running")
        stub.add_response("describe_app", _live(), IDENT)
        stub.add_response("list_tags", {"Tags": []}, {"ResourceArn": ARN})
        stub.add_response("delete_app", {}, IDENT)
        due, sent = _run(findings_table, STARTED + timedelta(hours=54), sagemaker)
        stub.assert_no_pending_responses()
    assert due["stopped"] == [ARN] and sent[0].startswith("Deleted 1 idle Studio app after the warning")
    assert findings_table.get(ARN)["stopped_by_mlgov_at"]


@pytest.mark.parametrize(
    ("live", "tags", "why"),
    [
        (_live(status="Deleting"), None, "it is Deleting now"),
        (_live(created=STARTED + timedelta(hours=40)), None, "started again since the warning"),
        (_live(), [{"Key": "mlgov:exempt", "Value": "kept"}], "an exemption was written since the scan"),
    ],
)
def test_an_app_changed_since_its_warning_is_left_alone_and_warned_again(findings_table, live, tags, why):
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    with Stubber(sagemaker) as stub:
        _run(findings_table, STARTED + timedelta(hours=30), sagemaker)
        stub.add_response("describe_app", live, IDENT)
        if tags is not None:
            stub.add_response("list_tags", {"Tags": tags}, {"ResourceArn": ARN})
        result, _ = _run(findings_table, STARTED + timedelta(hours=54), sagemaker)
        stub.assert_no_pending_responses()  # DeleteApp never called
    assert result["stopped"] == [] and why in result["errors"][0]
    assert "stop_warning" not in findings_table.get(ARN)  # released: warned again before any delete
