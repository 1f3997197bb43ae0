"""Studio idle shutdown after the scan, against Stubber-validated SageMaker calls (moto has no UpdateDomain) and the
findings table on moto: the dry run plans the exact requests and calls nothing; apply describes fresh, sends the
domain's whole member with only IdleSettings changed, audits it and posts one notice; a retry sends nothing; a
domain fixed since the scan, one a person switched off after mlgov, a refused call that loses no other domain, a run
that died after UpdateDomain confirmed by the next one; and the scanner runtime's wiring."""

from __future__ import annotations

import copy
import json
from datetime import timedelta

import boto3
import pytest
from botocore.stub import Stubber

from mlgov.aws.studio_domains import StudioDomains
from mlgov.domain.studio_idle import DomainFacts, audit_entry, plan_domain
from mlgov.services.budgets import NotifyError
from mlgov.services.studio_idle import inline_result, studio_idle_shutdown

pytestmark = pytest.mark.aws

RESEARCH, VISION = "111122223333", "444455556666"
REGION = "eu-west-1"
RESEARCH_ARN = f"arn:aws:sagemaker:{REGION}:{RESEARCH}:domain/d-research01"
VISION_ARN = f"arn:aws:sagemaker:{REGION}:{VISION}:domain/d-vision0001"
DISTRIBUTION = "arn:aws:sagemaker:eu-west-1:470317259841:image/sagemaker-distribution-cpu"
LAB = {  # the research domain's JupyterLab defaults, as a platform team set them (no idle shutdown)
    "DefaultResourceSpec": {"InstanceType": "ml.t3.medium", "SageMakerImageArn": DISTRIBUTION},
    "CustomImages": [{"ImageName": "team-image", "AppImageConfigName": "team-config"}],
    "LifecycleConfigArns": [f"arn:aws:sagemaker:{REGION}:{RESEARCH}:studio-lifecycle-config/proxy"],
    "CodeRepositories": [{"RepositoryUrl": "https://github.com/example/ml.git"}],
}  # fmt: skip
ON = {"AppLifecycleManagement": {"IdleSettings": {"LifecycleManagement": "ENABLED", "IdleTimeoutInMinutes": 60}}}
OFF = {"AppLifecycleManagement": {"IdleSettings": {"LifecycleManagement": "DISABLED"}}}
SCANNED = {
    RESEARCH_ARN: {"JupyterLabAppSettings": LAB},
    VISION_ARN: {"JupyterLabAppSettings": OFF, "CodeEditorAppSettings": ON},
}


def _finding(arn: str, settings: dict) -> dict:
    account, domain_id = arn.split(":")[4], arn.rsplit("/", 1)[1]
    return {"arn": arn, "account": account, "region": REGION, "resource_type": "domain", "name": domain_id[2:-2],
            "status": "active", "reason": "running and tagged", "tags": {}, "owner": None,
            "monthly_cost_usd": None, "waste_usd_month": None,
            "evidence": {"service_status": "InService", "detail.domain_id": domain_id,
                         "detail.default_app_settings": settings}}  # fmt: skip


def _report() -> dict:
    profile = {"arn": f"arn:aws:sagemaker:{REGION}:{RESEARCH}:user-profile/d-research01/alice", "account": RESEARCH,
               "region": REGION, "resource_type": "user-profile", "name": "alice", "status": "active",
               "reason": "running and tagged", "tags": {}, "owner": None, "monthly_cost_usd": None,
               "waste_usd_month": None, "evidence": {"detail.domain_id": "d-research01",
               "detail.idle_settings": {"CodeEditor": {"LifecycleManagement": "DISABLED"}}}}  # fmt: skip
    return {"findings": [_finding(arn, settings) for arn, settings in SCANNED.items()] + [profile]}


@pytest.fixture
def sagemaker(findings_table):
    """One Stubber per account; StudioDomains over them, as the scanner builds it over its sessions."""
    clients = {account: boto3.client("sagemaker", region_name=REGION) for account in (RESEARCH, VISION)}
    stubbers = {account: Stubber(client) for account, client in clients.items()}
    for stubber in stubbers.values():
        stubber.activate()
    yield StudioDomains(lambda account, region: clients[account]), stubbers
    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()
        stubber.deactivate()


def _described(stubber, arn: str, settings: dict, status: str = "InService") -> None:
    domain_id = arn.rsplit("/", 1)[1]
    stubber.add_response(
        "describe_domain",
        {"DomainArn": arn, "DomainId": domain_id, "DomainName": domain_id[2:-2], "Status": status,
         "AuthMode": "IAM", "DefaultUserSettings": {"ExecutionRole": f"arn:aws:iam::{arn.split(':')[4]}:role/studio",
                                                    **copy.deepcopy(settings)}},
        {"DomainId": domain_id},
    )  # fmt: skip


def _updated(stubber, arn: str, request: dict) -> None:
    stubber.add_response("update_domain", {"DomainArn": arn}, request)


def _expected(arn: str, settings: dict) -> dict:
    facts = DomainFacts(arn, arn.split(":")[4], REGION, arn.rsplit("/", 1)[1], "", "InService", settings)
    return plan_domain(facts, 60).request


def _run(findings_table, now, *, mode="apply", domains=None, notify=None):
    report = _report()
    findings_table.record_all(report["findings"], now, "run")  # the aggregate records the findings first
    return studio_idle_shutdown(report, mode=mode, minutes=60, recorded_exemptions=set(), now=now,
                                records=findings_table, domains=domains, notify=notify)  # fmt: skip


def test_the_dry_run_plans_the_exact_requests_and_calls_nothing(findings_table, sagemaker, instant):
    domains, _ = sagemaker  # no response queued: any SageMaker call would fail the test

    result = _run(findings_table, instant, mode="report", domains=domains)

    assert result["mode"] == "report" and result["switched_on"] == [] and result["errors"] == []
    planned = {p["arn"]: p for p in result["planned"]}
    research = planned[RESEARCH_ARN]["request"]["DefaultUserSettings"]
    assert research["JupyterLabAppSettings"] == {**LAB, **ON}  # the whole member, only IdleSettings added
    assert research["CodeEditorAppSettings"] == ON
    assert planned[VISION_ARN]["request"] == {
        "DomainId": "d-vision0001", "DefaultUserSettings": {"JupyterLabAppSettings": ON}}  # fmt: skip
    assert [p["name"] for p in result["profiles"]] == ["alice"]
    assert "idle_shutdown_audit" not in findings_table.get(RESEARCH_ARN)


def test_apply_describes_fresh_sends_audits_notifies_and_a_retry_sends_nothing(findings_table, sagemaker, instant):
    domains, stub = sagemaker
    for account, arn in ((RESEARCH, RESEARCH_ARN), (VISION, VISION_ARN)):
        _described(stub[account], arn, SCANNED[arn])
        _updated(stub[account], arn, _expected(arn, SCANNED[arn]))
    sent: list[str] = []

    result = _run(findings_table, instant, domains=domains, notify=sent.append)

    assert result["errors"] == []
    assert [(s["arn"], s["apps"]) for s in result["switched_on"]] == [
        (RESEARCH_ARN, ["JupyterLab", "CodeEditor"]), (VISION_ARN, ["JupyterLab"])]  # fmt: skip
    (notice,) = sent
    assert (
        "switched on in 2 SageMaker Studio domains" in notice and "d-research01" in notice and "d-vision0001" in notice
    )
    assert "alice (d-research01: CodeEditor)" in notice  # the profile that opts out, in a domain changed
    row = findings_table.get(RESEARCH_ARN)
    (audit,) = row["idle_shutdown_audit"]
    assert audit["by"] == "mlgov-scanner" and audit["at"] == instant.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert audit["request"] == _expected(RESEARCH_ARN, SCANNED[RESEARCH_ARN]) and audit["apps"] == [
        "JupyterLab",
        "CodeEditor",
    ]
    assert (
        audit["previous_idle_settings"] == {"JupyterLab": None, "CodeEditor": None}
        and "no idle shutdown" in audit["why"]
    )
    assert "idle_shutdown_pending" not in row

    # A retried run (same scan findings): the fresh describe shows it on, nothing is sent or posted again.
    _described(stub[RESEARCH], RESEARCH_ARN, {"JupyterLabAppSettings": {**LAB, **ON}, "CodeEditorAppSettings": ON})
    _described(stub[VISION], VISION_ARN, {"JupyterLabAppSettings": ON, "CodeEditorAppSettings": ON})
    sent.clear()
    again = _run(findings_table, instant + timedelta(minutes=5), domains=domains, notify=sent.append)
    assert again["switched_on"] == [] and again["errors"] == [] and sent == []
    assert again["planned"] == [] and again["left_alone"] == []  # as the domains are now, not as the scan saw them
    assert len(findings_table.get(RESEARCH_ARN)["idle_shutdown_audit"]) == 1


def test_a_domain_fixed_since_the_scan_or_switched_off_again_by_a_person_is_left_alone(
    findings_table, sagemaker, instant
):
    domains, stub = sagemaker
    _described(stub[RESEARCH], RESEARCH_ARN, {"JupyterLabAppSettings": {**LAB, **ON}, "CodeEditorAppSettings": ON})
    _described(stub[VISION], VISION_ARN, SCANNED[VISION_ARN])  # switched off still, as the scan saw it
    findings_table.record_all(_report()["findings"], instant, "run")
    findings_table.record_idle_shutdown(VISION_ARN, {"at": "2026-05-02T06:00:00Z", "apps": ["JupyterLab"]})

    result = _run(findings_table, instant, domains=domains, notify=lambda text: pytest.fail(text))

    assert result["switched_on"] == [] and result["errors"] == []
    (left,) = result["left_alone"]
    assert left["arn"] == VISION_ARN and left["action"] == "left-off" and "switched off again" in left["reason"]


def test_a_refused_update_loses_no_other_domain_and_leaves_no_attempt(findings_table, sagemaker, instant):
    domains, stub = sagemaker
    _described(stub[RESEARCH], RESEARCH_ARN, SCANNED[RESEARCH_ARN])
    stub[RESEARCH].add_client_error(
        "update_domain", "ValidationException", "SageMakerImageVersionAlias cannot be used with an image version ARN",
        expected_params=_expected(RESEARCH_ARN, SCANNED[RESEARCH_ARN]),
    )  # fmt: skip
    _described(stub[VISION], VISION_ARN, SCANNED[VISION_ARN])
    _updated(stub[VISION], VISION_ARN, _expected(VISION_ARN, SCANNED[VISION_ARN]))
    sent: list[str] = []

    result = _run(findings_table, instant, domains=domains, notify=sent.append)

    assert [s["arn"] for s in result["switched_on"]] == [VISION_ARN]
    assert (
        len(result["errors"]) == 1
        and "ValidationException" in result["errors"][0]
        and RESEARCH_ARN in result["errors"][0]
    )
    research = findings_table.get(RESEARCH_ARN)
    assert "idle_shutdown_pending" not in research and "idle_shutdown_audit" not in research
    assert len(sent) == 1 and "d-research01" not in sent[0]


def test_a_run_that_died_after_update_domain_is_confirmed_and_told_by_the_next(findings_table, sagemaker, instant):
    domains, stub = sagemaker
    findings_table.record_all(_report()["findings"], instant, "run")
    facts = DomainFacts(RESEARCH_ARN, RESEARCH, REGION, "d-research01", "research", "InService", SCANNED[RESEARCH_ARN])
    findings_table.begin_idle_shutdown(RESEARCH_ARN, audit_entry(plan_domain(facts, 60), "2026-06-15T06:00:00Z"))
    # the next day's scan still saw the old settings (the update was on its way); the fresh look shows them on
    _described(stub[RESEARCH], RESEARCH_ARN, {"JupyterLabAppSettings": {**LAB, **ON}, "CodeEditorAppSettings": ON},
               status="Updating")  # fmt: skip
    _described(stub[VISION], VISION_ARN, {"JupyterLabAppSettings": ON, "CodeEditorAppSettings": ON})
    sent: list[str] = []

    result = _run(findings_table, instant + timedelta(days=1), domains=domains, notify=sent.append)

    assert [(s["arn"], s["apps"]) for s in result["switched_on"]] == [(RESEARCH_ARN, ["JupyterLab", "CodeEditor"])]
    row = findings_table.get(RESEARCH_ARN)
    (audit,) = row["idle_shutdown_audit"]
    assert audit["at"] == "2026-06-15T06:00:00Z" and "DescribeDomain showed it on" in audit["confirmed"]
    assert "idle_shutdown_pending" not in row and "d-research01" in sent[0]


def test_a_notice_slack_refuses_is_an_error_and_the_change_stays_audited(findings_table, sagemaker, instant):
    domains, stub = sagemaker
    for account, arn in ((RESEARCH, RESEARCH_ARN), (VISION, VISION_ARN)):
        _described(stub[account], arn, SCANNED[arn])
        _updated(stub[account], arn, _expected(arn, SCANNED[arn]))

    def refused(text: str) -> None:
        raise NotifyError("Slack: not_in_channel")

    result = _run(findings_table, instant, domains=domains, notify=refused)

    assert len(result["switched_on"]) == 2 and result["errors"] == [
        "idle shutdown notice not posted: Slack: not_in_channel"
    ]
    assert findings_table.get(VISION_ARN)["idle_shutdown_audit"][0]["apps"] == ["JupyterLab"]


def test_the_scanner_runtime_applies_through_its_sessions_and_publishes_the_notice(findings_table, sagemaker, instant):
    """The aggregate's wiring: settings choose the mode and minutes, the scanner's sessions reach each account, the
    notifier (here the notifications topic, no Slack) carries the notice."""
    import logging

    from moto.sns.models import sns_backends

    from mlgov.handlers.scanner_runtime import ScannerRuntime
    from mlgov.settings import ScannerSettings

    _, stub = sagemaker
    for account, arn in ((RESEARCH, RESEARCH_ARN), (VISION, VISION_ARN)):
        _described(stub[account], arn, SCANNED[arn])
        _updated(stub[account], arn, _expected(arn, SCANNED[arn]))
    topic = boto3.client("sns", region_name="us-east-1").create_topic(Name="mlgov-notifications")["TopicArn"]

    class Sessions:
        def client(self, service, account, region):
            assert (service, region) == ("sagemaker", REGION)
            return stub[account].client

    settings = ScannerSettings(hub_account=RESEARCH, spoke_role_name="mlgov-spoke", archive_bucket="archive",
                               findings_table="findings", regions=(REGION,), accounts=(RESEARCH, VISION),
                               notify_topic=topic, studio_idle_shutdown="apply", studio_idle_minutes=60)  # fmt: skip
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="archive")
    runtime = ScannerRuntime(settings, Sessions(), logging.getLogger("test"))
    report = _report()
    findings_table.record_all(report["findings"], instant, "run")

    result = runtime._studio_idle_shutdown(report, instant, "run-7")

    assert result["errors"] == [] and len(result["switched_on"]) == 2
    assert result["counts"]["switched_on"] == 2 and result["archived"] == "runs/run-7/studio-idle-shutdown.json"
    archived = boto3.client("s3", region_name="us-east-1").get_object(Bucket="archive", Key=result["archived"])
    assert json.loads(archived["Body"].read())["planned"] == result["planned"]  # the requests sent, in full
    notices = sns_backends["123456789012"]["us-east-1"].topics[topic].sent_notifications
    assert len(notices) == 1 and "switched on in 2 SageMaker Studio domains" in notices[0][1]


def test_the_workflow_output_keeps_the_first_entries_and_the_counts():
    result = {"mode": "report", "planned": [{"arn": str(i)} for i in range(45)], "left_alone": [], "errors": ["x"]}

    inline = inline_result(result, "runs/r/studio-idle-shutdown.json")

    assert [p["arn"] for p in inline["planned"]] == [str(i) for i in range(20)] and inline["errors"] == ["x"]
    assert inline["counts"] == {"planned": 45, "left_alone": 0, "switched_on": 0, "profiles": 0, "errors": 1}
    assert inline["archived"] == "runs/r/studio-idle-shutdown.json" and len(result["planned"]) == 45
