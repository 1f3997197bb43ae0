"""Studio idle shutdown, pure: which domains get the native IdleSettings and the exact UpdateDomain request (the
domain's whole current member with only IdleSettings changed, valid for botocore's model), what is left alone and
why (ENABLED, a recorded exemption, switched off again by a person, not InService, unread), the user profiles that
switch it off for themselves, the audit record and the notice."""

from __future__ import annotations

import json

import botocore.session
import pytest
from botocore.validate import ParamValidator

from mlgov.domain.discovery import RESOURCE_KINDS, Observed
from mlgov.domain.studio_idle import (
    ALREADY_ON,
    APPLIED_BY,
    DEFAULT_IDLE_MINUTES,
    DISABLED,
    ENABLED,
    IDLE_TIMEOUT_MAX_MINUTES,
    IDLE_TIMEOUT_MIN_MINUTES,
    KEPT,
    LEFT_OFF,
    MISSING,
    SWITCH_ON,
    UNREAD,
    WAIT,
    DomainFacts,
    IdleHistory,
    audit_entry,
    check_minutes,
    chunks,
    pending_confirmed,
    plan_domain,
    profile_overrides,
    switched_on_text,
    update_request,
)

pytestmark = pytest.mark.unit

ACCOUNT, REGION = "111122223333", "eu-west-1"
ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:domain/d-research01"
MODEL = botocore.session.get_session().get_service_model("sagemaker")
# A JupyterLab member as DescribeDomain returns it for a domain a platform team configured (no idle shutdown).
JUPYTERLAB = {
    "DefaultResourceSpec": {
        "InstanceType": "ml.t3.medium",
        "SageMakerImageArn": "arn:aws:sagemaker:eu-west-1:470317259841:image/sagemaker-distribution-cpu",
        "LifecycleConfigArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:studio-lifecycle-config/proxy",
    },
    "CustomImages": [{"ImageName": "team-image", "AppImageConfigName": "team-config", "ImageVersionNumber": 3}],
    "LifecycleConfigArns": [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:studio-lifecycle-config/proxy"],
    "CodeRepositories": [{"RepositoryUrl": "https://github.com/example/ml.git"}],
    "EmrSettings": {"AssumableRoleArns": [f"arn:aws:iam::{ACCOUNT}:role/emr-access"]},
}


def idle(state: str, minutes: int | None = None, **bounds: int) -> dict:
    return {"AppLifecycleManagement": {"IdleSettings": {"LifecycleManagement": state,
                                                        **({"IdleTimeoutInMinutes": minutes} if minutes else {}),
                                                        **bounds}}}  # fmt: skip


def facts(settings: dict | None = None, status: str = "InService", **extra) -> DomainFacts:
    settings = settings if settings is not None else {"JupyterLabAppSettings": JUPYTERLAB}
    return DomainFacts(ARN, ACCOUNT, REGION, "d-research01", "research", status, settings, **extra)


def finding(settings: dict | None, tags: dict | None = None, **evidence) -> dict:
    return {"arn": ARN, "account": ACCOUNT, "region": REGION, "resource_type": "domain", "name": "research",
            "status": "active", "tags": tags or {}, "evidence": {"service_status": "InService",
            "detail.domain_id": "d-research01", **({"detail.default_app_settings": settings} if settings else {}),
            **evidence}}  # fmt: skip


def test_the_limits_are_the_installed_models_idle_timeout_range():
    shape = MODEL.shape_for("IdleTimeoutInMinutes")
    assert (shape.metadata["min"], shape.metadata["max"]) == (IDLE_TIMEOUT_MIN_MINUTES, IDLE_TIMEOUT_MAX_MINUTES)
    assert IDLE_TIMEOUT_MIN_MINUTES <= DEFAULT_IDLE_MINUTES <= IDLE_TIMEOUT_MAX_MINUTES
    for wrong in (59, 525_601, True, 60.0):
        with pytest.raises(ValueError):
            check_minutes(wrong)


def test_a_domain_without_idle_shutdown_gets_its_whole_current_member_back_with_only_idle_settings_added():
    plan = plan_domain(facts(), 90)

    assert plan.action == SWITCH_ON and plan.switch_on == ("JupyterLab", "CodeEditor")
    assert plan.apps == {"JupyterLab": MISSING, "CodeEditor": MISSING}
    sent = plan.request["DefaultUserSettings"]
    assert set(plan.request) == {"DomainId", "DefaultUserSettings"}  # no network, space or domain settings
    assert set(sent) == {"JupyterLabAppSettings", "CodeEditorAppSettings"}  # no other app type
    lab = dict(sent["JupyterLabAppSettings"])
    assert lab.pop("AppLifecycleManagement") == {
        "IdleSettings": {"LifecycleManagement": "ENABLED", "IdleTimeoutInMinutes": 90}
    }
    assert lab == JUPYTERLAB  # DefaultResourceSpec, CustomImages, LifecycleConfigArns, CodeRepositories... kept
    assert sent["CodeEditorAppSettings"] == idle("ENABLED", 90)  # absent before: only the setting
    errors = ParamValidator().validate(plan.request, MODEL.operation_model("UpdateDomain").input_shape)
    assert not errors.has_errors(), errors.generate_report()
    assert (
        "JupyterLab has no idle shutdown" in plan.reason and "only AppLifecycleManagement.IdleSettings" in plan.reason
    )


def test_the_request_never_changes_what_it_was_built_from():
    settings = {"JupyterLabAppSettings": {**JUPYTERLAB, **idle("DISABLED", 120, MinIdleTimeoutInMinutes=60)}}
    before = json.dumps(settings, sort_keys=True)

    update_request("d-research01", settings, ["JupyterLab"], 60)

    assert json.dumps(settings, sort_keys=True) == before


def test_enabled_is_left_alone_whatever_its_timeout_and_only_the_missing_app_type_is_sent():
    settings = {"JupyterLabAppSettings": {**JUPYTERLAB, **idle("ENABLED", 10080)}}

    plan = plan_domain(facts(settings), 60)

    assert plan.switch_on == ("CodeEditor",) and plan.apps["JupyterLab"] == ENABLED
    assert set(plan.request["DefaultUserSettings"]) == {"CodeEditorAppSettings"}
    both = {**settings, "CodeEditorAppSettings": idle("ENABLED", 60)}
    assert plan_domain(facts(both), 60).action == ALREADY_ON and plan_domain(facts(both), 60).request is None


def test_disabled_that_mlgov_never_touched_is_switched_on_within_the_domains_own_bounds():
    settings = {
        "JupyterLabAppSettings": idle("DISABLED", 30000, MinIdleTimeoutInMinutes=120, MaxIdleTimeoutInMinutes=480),
        "CodeEditorAppSettings": idle("ENABLED", 60),
    }

    plan = plan_domain(facts(settings), 60)

    assert plan.apps["JupyterLab"] == DISABLED and plan.switch_on == ("JupyterLab",)
    assert plan.request["DefaultUserSettings"]["JupyterLabAppSettings"]["AppLifecycleManagement"]["IdleSettings"] == {
        "LifecycleManagement": "ENABLED", "IdleTimeoutInMinutes": 120,
        "MinIdleTimeoutInMinutes": 120, "MaxIdleTimeoutInMinutes": 480,
    }  # fmt: skip
    assert "JupyterLab idle shutdown is DISABLED" in plan.reason and "JupyterLab 120 min" in plan.reason


def test_a_recorded_exemption_keeps_the_domain_and_a_tag_alone_keeps_nothing():
    tags = {"mlgov:exempt": "exempted by platform on 2026-06-01: GPU workshop"}

    kept = plan_domain(DomainFacts.from_finding(finding({}, tags), {ARN}), 60)
    tag_only = plan_domain(DomainFacts.from_finding(finding({}, tags), set()), 60)

    assert kept.action == KEPT and kept.request is None and "GPU workshop" in kept.reason
    assert tag_only.action == SWITCH_ON and "was not recorded by mlgov and keeps nothing" in tag_only.reason


def test_an_app_type_switched_off_again_after_mlgov_switched_it_on_is_left_off():
    history = IdleHistory.from_row({"idle_shutdown_audit": [{"at": "2026-05-02T06:01:00Z", "apps": ["JupyterLab"]}]})
    settings = {
        "JupyterLabAppSettings": {**JUPYTERLAB, **idle("DISABLED", 60)},
        "CodeEditorAppSettings": idle("ENABLED"),
    }

    plan = plan_domain(facts(settings), 60, history)

    assert plan.action == LEFT_OFF and plan.request is None
    assert "switched off again after mlgov switched it on (2026-05-02T06:01:00Z)" in plan.reason
    still_due = plan_domain(facts({"JupyterLabAppSettings": idle("DISABLED")}), 60, history)
    assert still_due.switch_on == ("CodeEditor",)  # the other app type is still mlgov's to switch on


def test_a_domain_that_is_not_in_service_or_was_not_read_gets_no_request():
    waiting = plan_domain(facts(status="Updating"), 60)
    assert waiting.action == WAIT and waiting.request is None and "is Updating" in waiting.reason
    unread = DomainFacts.from_finding(finding(None, **{"detail.incomplete": "DescribeDomain failed: AccessDenied"}), ())
    assert plan_domain(unread, 60).action == UNREAD
    assert plan_domain(DomainFacts.from_finding(finding(None), ()), 60).action == SWITCH_ON  # read: no members at all


def test_the_finding_and_a_fresh_describe_give_the_same_facts():
    from_scan = DomainFacts.from_finding(finding({"JupyterLabAppSettings": JUPYTERLAB}), ())
    described = {"DomainId": "d-research01", "Status": "InService", "DefaultUserSettings": {
        "ExecutionRole": f"arn:aws:iam::{ACCOUNT}:role/studio", "JupyterLabAppSettings": JUPYTERLAB,
        "KernelGatewayAppSettings": {"DefaultResourceSpec": {"InstanceType": "ml.t3.medium"}}}}  # fmt: skip

    assert from_scan.refreshed(described) == from_scan
    assert plan_domain(from_scan, 60).request == plan_domain(from_scan.refreshed(described), 60).request


def test_profiles_that_switch_it_off_for_themselves_are_reported_with_the_fix():
    def profile(name: str, settings: dict) -> dict:
        return {"arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:user-profile/d-research01/{name}", "account": ACCOUNT,
                "region": REGION, "resource_type": "user-profile", "name": name,
                "evidence": {"detail.domain_id": "d-research01", "detail.idle_settings": settings}}  # fmt: skip

    found = profile_overrides([
        profile("alice", {"JupyterLab": {"LifecycleManagement": "DISABLED"},
                          "CodeEditor": {"LifecycleManagement": "ENABLED"}}),
        profile("bob", {"JupyterLab": {"LifecycleManagement": "ENABLED", "IdleTimeoutInMinutes": 240}}),
        finding(None),
    ])  # fmt: skip

    assert [(o.name, o.apps) for o in found] == [("alice", ("JupyterLab",))]
    assert "UpdateUserProfile UserSettings.JupyterLabAppSettings.AppLifecycleManagement.IdleSettings" in found[0].reason
    assert "not changed by mlgov" in found[0].reason


def test_discovery_keeps_the_domains_members_and_a_profiles_own_idle_settings():
    described = {
        "DomainId": "d-research01",
        "DomainArn": ARN,
        "DefaultUserSettings": {"JupyterLabAppSettings": JUPYTERLAB},
    }
    domain = RESOURCE_KINDS["domain"].resource("domain", Observed(
        ACCOUNT, REGION, "aws", summary={"DomainId": "d-research01", "DomainArn": ARN, "DomainName": "research",
                                         "Status": "InService"}, described=described))  # fmt: skip
    assert domain.details["default_app_settings"] == {"JupyterLabAppSettings": JUPYTERLAB}
    summary = {"DomainId": "d-research01", "UserProfileName": "alice", "Status": "InService"}
    overriding = {**summary, "UserSettings": {"CodeEditorAppSettings": idle("DISABLED")}}
    kind = RESOURCE_KINDS["user-profile"]
    profile = kind.resource("user-profile", Observed(ACCOUNT, REGION, "aws", summary=summary, described=overriding))
    assert profile.details == {
        "domain_id": "d-research01", "idle_settings": {"CodeEditor": {"LifecycleManagement": "DISABLED"}}}  # fmt: skip
    assert (
        "idle_settings" not in kind.resource("user-profile", Observed(ACCOUNT, REGION, "aws", summary=summary)).details
    )


def test_the_audit_says_who_what_when_why_and_what_was_there_before():
    settings = {"JupyterLabAppSettings": {**JUPYTERLAB, **idle("DISABLED", 120)}}
    plan = plan_domain(facts(settings), 60)

    entry = audit_entry(plan, "2026-06-15T06:00:00Z")

    assert entry["at"] == "2026-06-15T06:00:00Z" and entry["by"] == APPLIED_BY == "mlgov-scanner"
    assert entry["what"] == "UpdateDomain" and entry["request"] == plan.request and entry["why"] == plan.reason
    assert entry["previous_idle_settings"] == {
        "JupyterLab": {"LifecycleManagement": "DISABLED", "IdleTimeoutInMinutes": 120},
        "CodeEditor": None,
    }
    with pytest.raises(ValueError):
        audit_entry(plan_domain(facts(status="Deleting"), 60), "2026-06-15T06:00:00Z")


def test_an_unconfirmed_attempt_is_confirmed_only_when_every_app_type_it_was_about_is_on():
    attempt = {"at": "2026-06-15T06:00:00Z", "apps": ["JupyterLab", "CodeEditor"]}
    history = IdleHistory.from_row({"idle_shutdown_pending": attempt})
    on = facts({"JupyterLabAppSettings": idle("ENABLED", 60), "CodeEditorAppSettings": idle("ENABLED", 60)})

    assert history.pending == attempt and history.switched_on == {}
    assert pending_confirmed(on, attempt)
    assert not pending_confirmed(facts({"JupyterLabAppSettings": idle("ENABLED", 60)}), attempt)
    assert not pending_confirmed(on, {"apps": []})


def test_the_notice_names_each_domain_changed_and_the_profiles_that_opt_out_there():
    plans = [plan_domain(facts(), 60)]
    overrides = profile_overrides([{
        "arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:user-profile/d-research01/alice", "account": ACCOUNT,
        "region": REGION, "resource_type": "user-profile", "name": "alice",
        "evidence": {"detail.domain_id": "d-research01",
                     "detail.idle_settings": {"JupyterLab": {"LifecycleManagement": "DISABLED"}}}}])  # fmt: skip

    text = switched_on_text(plans, 60, overrides)

    assert text.startswith("Idle shutdown switched on in 1 SageMaker Studio domain (studio_idle_shutdown: apply)")
    assert f"• research (d-research01, {ACCOUNT}/{REGION}): JupyterLab, CodeEditor" in text
    assert "after 60 idle minutes" in text and "alice (d-research01: JupyterLab)" in text
    assert [len(c) for c in chunks(plans * 45)] == [20, 20, 5]
