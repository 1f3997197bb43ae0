"""`mlgov doctor`'s pure checks: hub bus and policy, secrets, spoke access, event probe, organization policies."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import botocore.session
import pytest
from botocore.validate import ParamValidator

from mlgov.domain.preflight import (
    AccountAccess,
    BusFacts,
    InstallationSettings,
    ProbeOutcome,
    access_result,
    access_task,
    admitted_organizations,
    check_bus_policy,
    check_hub_bus,
    check_probe,
    check_scanner_failure,
    check_secret,
    check_spoke_access,
    check_target_policies,
    classify_probe_message,
    expected_scps,
    parse_access_task,
    probe_entry,
    secret_facts,
)
from mlgov.domain.scan_run import BadTask

ORG = "o-mlgovdemo01"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ORG_MODE = InstallationSettings(source="cdk.json", mode="org", organization_id=ORG, hub_region="eu-west-1")
SINGLE = InstallationSettings(source="cdk.json", mode="single-account", hub_region="eu-west-1")
# The statement CDK synthesizes for the hub bus (AWS::Events::EventBusPolicy), as DescribeEventBus returns it.
ORG_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "cdk-AdmitGovernedAccounts",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "events:PutEvents",
                "Resource": "arn:aws:events:eu-west-1:222222222222:event-bus/mlgov-hub",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}},
            }
        ],
    }
)


def rule(name: str, source: str, state: str = "ENABLED") -> dict:
    """A ListRules Rules[] entry."""
    return {
        "Name": name,
        "Arn": f"arn:aws:events:eu-west-1:222222222222:rule/mlgov-hub/{name}",
        "EventPattern": json.dumps({"source": [source]}),
        "State": state,
        "EventBusName": "mlgov-hub",
    }


HUB_RULES = [rule("MlgovHub-CreateCallsRule", "aws.sagemaker"), rule("MlgovHub-DoctorProbeRule", "mlgov.doctor")]


# ---- settings -----------------------------------------------------------------------------------------------------


def test_settings_from_an_org_mode_context_name_both_slack_secrets():
    settings = InstallationSettings.from_context(
        {
            "hub_account": "222222222222",
            "hub_region": "eu-west-1",
            "management_account": "111111111111",
            "organization_id": ORG,
            "target_ous": ["ou-ab12-mlworkld"],
            "slack": {"signing_secret_name": "mlgov/slack/signing-secret", "bot_token_secret_name": "mlgov/slack/bot"},
        },
        source="cdk.json",
    )
    assert settings.mode == "org" and settings.target_ous == ("ou-ab12-mlworkld",)
    assert settings.slack_secrets == (
        ("slack.signing_secret_name", "mlgov/slack/signing-secret"),
        ("slack.bot_token_secret_name", "mlgov/slack/bot"),
    )


def test_settings_without_management_account_are_single_account_mode():
    settings = InstallationSettings.from_context({"hub_account": "222222222222", "hub_region": "eu-west-1"}, "x")
    assert settings.mode == "single-account" and settings.slack_secrets == ()


def test_settings_with_a_wrongly_typed_value_name_the_key():
    with pytest.raises(ValueError, match="target_ous must be a list of strings"):
        InstallationSettings.from_context({"target_ous": "ou-ab12-mlworkld"}, "cdk.json")


# ---- hub bus ------------------------------------------------------------------------------------------------------


def test_hub_bus_with_enabled_sagemaker_and_probe_rules_passes():
    check = check_hub_bus(BusFacts("mlgov-hub", policy=ORG_POLICY, rules=HUB_RULES))
    assert check.ok and "2 enabled rule(s)" in check.detail


def test_missing_hub_bus_fails_with_the_deploy_command():
    check = check_hub_bus(BusFacts("mlgov-hub", error="ResourceNotFoundException: Event bus mlgov-hub does not exist."))
    assert not check.ok and "cdk deploy MlgovHub" in check.fix


def test_a_disabled_rule_is_named_with_the_command_that_enables_it():
    rules = [HUB_RULES[0], {**HUB_RULES[1], "State": "DISABLED"}]
    check = check_hub_bus(BusFacts("mlgov-hub", rules=rules))
    assert not check.ok and "MlgovHub-DoctorProbeRule" in check.detail
    assert check.fix == "aws events enable-rule --event-bus-name mlgov-hub --name MlgovHub-DoctorProbeRule"


def test_a_hub_deployed_before_doctor_probes_fails_until_redeployed():
    check = check_hub_bus(BusFacts("mlgov-hub", rules=HUB_RULES[:1]))
    assert not check.ok and "mlgov.doctor" in check.detail and "mlgov-doctor-probe" in check.fix


def test_a_rule_enabled_for_all_cloudtrail_management_events_counts_as_enabled():
    rules = [rule("create", "aws.sagemaker", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"), HUB_RULES[1]]
    assert check_hub_bus(BusFacts("mlgov-hub", rules=rules)).ok


# ---- bus policy ---------------------------------------------------------------------------------------------------


def test_the_cdk_statement_admits_the_configured_organization():
    assert admitted_organizations(ORG_POLICY) == [ORG]
    check = check_bus_policy(BusFacts("mlgov-hub", policy=ORG_POLICY, rules=HUB_RULES), ORG_MODE)
    assert check.ok and ORG in check.detail


def test_a_policy_for_another_organization_fails_with_the_put_permission_fix():
    policy = ORG_POLICY.replace(ORG, "o-otherorg999")
    check = check_bus_policy(BusFacts("mlgov-hub", policy=policy), ORG_MODE)
    assert not check.ok and "o-otherorg999, not o-mlgovdemo01" in check.detail
    assert f"Key=aws:PrincipalOrgID,Value={ORG}" in check.fix


def test_org_mode_without_a_policy_fails():
    check = check_bus_policy(BusFacts("mlgov-hub", policy=None), ORG_MODE)
    assert not check.ok and "no resource policy" in check.detail


@pytest.mark.parametrize(
    "change",
    [
        {"Effect": "Deny"},
        {"Action": "events:DescribeRule"},
        {"Principal": {"AWS": "arn:aws:iam::333333333333:root"}},
        {"Condition": {"StringNotEquals": {"aws:PrincipalOrgID": ORG}}},
    ],
)
def test_statements_that_do_not_admit_the_organization_are_not_counted(change):
    document = json.loads(ORG_POLICY)
    document["Statement"][0].update(change)
    assert admitted_organizations(json.dumps(document)) == []


def test_condition_keys_are_case_insensitive_and_wildcard_actions_count():
    document = json.loads(ORG_POLICY)
    document["Statement"][0].update(
        {"Action": ["events:*"], "Principal": "*", "Condition": {"StringEquals": {"aws:principalorgid": [ORG]}}}
    )
    assert admitted_organizations(json.dumps(document)) == [ORG]


def test_single_account_mode_needs_no_bus_policy():
    check = check_bus_policy(BusFacts("mlgov-hub", policy=None), SINGLE)
    assert check.ok and not check.skipped and "no policy is needed" in check.detail


def test_without_config_the_policy_check_is_skipped_unless_an_organization_is_admitted():
    unknown = InstallationSettings(source="flags")
    assert check_bus_policy(BusFacts("mlgov-hub", policy=None), unknown).skipped
    assert check_bus_policy(BusFacts("mlgov-hub", policy=ORG_POLICY), unknown).ok


def test_bus_policy_is_skipped_when_the_bus_is_missing():
    assert check_bus_policy(BusFacts("mlgov-hub", error="ResourceNotFoundException"), ORG_MODE).skipped


# ---- Slack secrets ------------------------------------------------------------------------------------------------


def describe_secret(**overrides) -> dict:
    """A DescribeSecret response (never the value)."""
    return {
        "ARN": "arn:aws:secretsmanager:eu-west-1:222222222222:secret:mlgov/slack/bot-token-AbCdEf",
        "Name": "mlgov/slack/bot-token",
        "VersionIdsToStages": {"EXAMPLE1-90ab-cdef-fedc-ba987SECRET1": ["AWSCURRENT"]},
        "CreatedDate": NOW,
        **overrides,
    }


def test_a_secret_with_a_current_version_passes():
    facts = secret_facts("slack.bot_token_secret_name", "mlgov/slack/bot-token", describe_secret())
    check = check_secret(facts, "eu-west-1")
    assert check.ok and "mlgov/slack/bot-token (slack.bot_token_secret_name)" in check.detail


def test_a_secret_without_a_value_fails_with_put_secret_value():
    facts = secret_facts("k", "mlgov/slack/bot-token", describe_secret(VersionIdsToStages={"v1": ["AWSPREVIOUS"]}))
    check = check_secret(facts, "eu-west-1")
    assert not check.ok and "no current value" in check.detail
    assert "put-secret-value --region eu-west-1 --secret-id mlgov/slack/bot-token" in check.fix


def test_a_secret_scheduled_for_deletion_fails_with_restore_secret():
    facts = secret_facts("k", "mlgov/slack/bot-token", describe_secret(DeletedDate=NOW))
    check = check_secret(facts, "eu-west-1")
    assert not check.ok and "restore-secret" in check.fix


def test_a_missing_secret_fails_with_create_secret():
    from mlgov.domain.preflight import SecretFacts

    check = check_secret(SecretFacts("k", "mlgov/x", error="ResourceNotFoundException: not found"), "eu-west-1")
    assert not check.ok and "create-secret --region eu-west-1 --name mlgov/x" in check.fix


# ---- spoke access (the scanner's access task) ---------------------------------------------------------------------


def test_access_task_omits_what_the_scanner_configures_itself():
    assert access_task() == {"task": "access"}
    assert access_task(["333333333333"], ["eu-west-1"]) == {
        "task": "access",
        "accounts": ["333333333333"],
        "regions": ["eu-west-1"],
    }
    assert parse_access_task({"task": "access"}) == (None, None)
    assert parse_access_task({"accounts": ["333333333333", "333333333333"]}) == (["333333333333"], None)


@pytest.mark.parametrize(
    "event", [{"accounts": "333333333333"}, {"accounts": ["33"]}, {"regions": ["Europe"]}, {"regions": "eu-west-1"}]
)
def test_a_malformed_access_task_is_a_bad_task(event):
    with pytest.raises(BadTask):
        parse_access_task(event)


def test_every_account_reached_is_one_ok_line():
    result = access_result(
        "mlgov-spoke",
        ["eu-west-1", "us-east-1"],
        [
            AccountAccess("222222222222", "hub credentials", region_errors={"eu-west-1": None, "us-east-1": None}),
            AccountAccess("333333333333", "role mlgov-spoke", region_errors={"eu-west-1": None, "us-east-1": None}),
        ],
    )
    assert result["ok"] == 2 and result["failed"] == 0
    [check] = check_spoke_access(result, "eu-west-1")
    assert check.ok and check.detail == (
        "scanner assumed mlgov-spoke in 2 account(s) and read SageMaker in eu-west-1, us-east-1"
    )


def test_an_account_that_refuses_assume_role_fails_with_the_spoke_deployment_fix():
    denied = "An error occurred (AccessDenied) when calling the AssumeRole operation: not authorized"
    result = access_result(
        "mlgov-spoke",
        ["eu-west-1"],
        [
            AccountAccess("333333333333", "role mlgov-spoke", region_errors={"eu-west-1": None}),
            AccountAccess("444444444444", "role mlgov-spoke", error=denied),
        ],
    )
    assert result["accounts"][1] == {
        "account": "444444444444",
        "ok": False,
        "via": "role mlgov-spoke",
        "error": denied,
        "regions": [],
    }
    [check] = check_spoke_access(result, "eu-west-1")
    assert not check.ok and check.detail == f"444444444444: {denied}"
    assert "deploy the spoke in 444444444444 in eu-west-1" in check.fix and "mlgov-hub-scanner" in check.fix


def test_a_region_the_role_cannot_read_names_the_region_and_the_likely_causes():
    error = "An error occurred (UnrecognizedClientException) when calling the ListEndpoints operation: invalid token"
    result = access_result(
        "mlgov-spoke",
        ["eu-west-1", "me-south-1"],
        [AccountAccess("333333333333", "role mlgov-spoke", region_errors={"eu-west-1": None, "me-south-1": error})],
    )
    [check] = check_spoke_access(result, "eu-west-1")
    assert not check.ok and check.detail == f"333333333333 me-south-1: {error}"
    assert "enable me-south-1 in 333333333333" in check.fix


def test_many_failing_accounts_are_capped_with_a_count_of_the_rest():
    accounts = [AccountAccess(f"{n:012d}", "role mlgov-spoke", error="AccessDenied") for n in range(25)]
    checks = check_spoke_access(access_result("mlgov-spoke", ["eu-west-1"], accounts), "eu-west-1", max_lines=20)
    assert len(checks) == 21 and checks[-1].detail == "... and 5 more account(s) failing"


def test_no_account_to_check_fails():
    [check] = check_spoke_access(access_result("mlgov-spoke", ["eu-west-1"], []), "eu-west-1")
    assert not check.ok and "delegated administrator" in check.fix


def test_a_missing_scanner_function_points_at_the_hub_deployment():
    check = check_scanner_failure("mlgov-scanner", "ResourceNotFoundException: Function not found", missing=True)
    assert not check.ok and check.name == "spoke-access" and "deploy MlgovHub" in check.fix


# ---- event probe --------------------------------------------------------------------------------------------------


def test_probe_entry_is_a_valid_put_events_request_for_the_default_bus():
    entry = probe_entry("abc123", NOW)
    model = botocore.session.get_session().get_service_model("events").operation_model("PutEvents")
    report = ParamValidator().validate({"Entries": [entry]}, model.input_shape)
    assert not report.has_errors(), report.generate_report()
    assert entry["Source"] == "mlgov.doctor" and entry["DetailType"] == "mlgov doctor probe"
    assert json.loads(entry["Detail"]) == {"probe_id": "abc123", "sent_at": "2026-03-02T09:00:00+00:00"}


def delivered(probe_id: str, sent_at: datetime) -> str:
    """The SQS message body EventBridge delivers: the whole event."""
    return json.dumps(
        {
            "version": "0",
            "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": "mlgov doctor probe",
            "source": "mlgov.doctor",
            "account": "333333333333",
            "time": "2026-03-02T09:00:01Z",
            "region": "eu-west-1",
            "resources": [],
            "detail": {"probe_id": probe_id, "sent_at": sent_at.isoformat()},
        }
    )


def test_probe_messages_are_mine_another_runs_or_stale():
    stale_after = timedelta(minutes=10)
    assert classify_probe_message(delivered("mine", NOW), "mine", NOW, stale_after) == "mine"
    assert classify_probe_message(delivered("theirs", NOW), "mine", NOW, stale_after) == "other"
    old = NOW - timedelta(minutes=11)
    assert classify_probe_message(delivered("theirs", old), "mine", NOW, stale_after) == "stale"
    assert classify_probe_message("not json", "mine", NOW, stale_after) == "stale"


PROBE = {"account": "333333333333", "region": "eu-west-1", "hub_region": "eu-west-1", "timeout_seconds": 30.0}


def test_a_received_probe_reports_its_latency():
    check = check_probe(ProbeOutcome(**PROBE, latency_seconds=1.234))
    assert check.ok and check.detail == "probe from 333333333333/eu-west-1 reached the hub queue in 1.2 s"


def test_a_lost_probe_without_a_local_forwarding_rule_says_deploy_the_spoke_here():
    check = check_probe(ProbeOutcome(**PROBE))
    assert not check.ok and "no mlgov.doctor forwarding rule" in check.detail
    assert "deploy MlgovSpoke (this version) in 333333333333/eu-west-1" in check.fix


def test_a_lost_probe_with_a_disabled_local_rule_says_enable_it():
    check = check_probe(
        ProbeOutcome(**PROBE, local_rule_name="MlgovSpoke-ForwardDoctorProbes", local_rule_state="DISABLED")
    )
    assert not check.ok and "disabled" in check.detail
    assert check.fix == "aws events enable-rule --region eu-west-1 --name MlgovSpoke-ForwardDoctorProbes"


def test_a_lost_probe_despite_the_spoke_rule_points_at_the_hub_bus_policy_and_rules():
    check = check_probe(
        ProbeOutcome(**PROBE, local_rule_name="MlgovSpoke-ForwardDoctorProbes", local_rule_state="ENABLED")
    )
    assert not check.ok and "bus-policy" in check.fix and "hub-bus" in check.fix


def test_a_missing_probe_queue_fails_with_the_hub_redeploy():
    check = check_probe(ProbeOutcome(**PROBE, queue_error="AWS.SimpleQueueService.NonExistentQueue: no queue"))
    assert not check.ok and check.fix == "redeploy MlgovHub (this version adds queue mlgov-doctor-probe)"


def test_an_unreadable_probe_queue_asks_for_hub_credentials():
    check = check_probe(ProbeOutcome(**PROBE, queue_error="AccessDenied: not authorized to sqs:receivemessage"))
    assert not check.ok and check.fix.startswith("pass --hub-profile") and "sqs:ReceiveMessage" in check.fix


def test_a_refused_put_events_fails_with_its_error():
    check = check_probe(ProbeOutcome(**PROBE, put_error="AccessDeniedException: not authorized"))
    assert not check.ok and "PutEvents on the default bus of 333333333333/eu-west-1" in check.detail


# ---- SCPs and the tag policy --------------------------------------------------------------------------------------


def test_expected_scps_are_the_checked_in_ones_and_any_other_mlgov_scp_of_the_organization():
    names = expected_scps(
        ["mlgov-tag-enforcement-1", "mlgov-tag-enforcement-2"],
        ["FullAWSAccess", "mlgov-tag-enforcement-1", "mlgov-tag-enforcement-3"],
    )
    assert names == ["mlgov-tag-enforcement-1", "mlgov-tag-enforcement-2", "mlgov-tag-enforcement-3"]


def test_a_target_with_every_policy_attached_passes():
    expected = ["mlgov-tag-enforcement-1", "mlgov-tag-enforcement-2"]
    check = check_target_policies("ou-ab12-mlworkld", ["FullAWSAccess", *expected], ["mlgov-tag-policy"], expected)
    assert check.ok and check.name == "org-policies"


def test_a_target_missing_an_scp_and_the_tag_policy_names_both():
    check = check_target_policies(
        "ou-ab12-mlworkld",
        ["FullAWSAccess", "mlgov-tag-enforcement-1"],
        [],
        ["mlgov-tag-enforcement-1", "mlgov-tag-enforcement-2"],
    )
    assert not check.ok
    assert check.detail == "ou-ab12-mlworkld: not attached: mlgov-tag-enforcement-2, mlgov-tag-policy"
    assert "cdk deploy MlgovOrg" in check.fix and "enable-policy-type" in check.fix


def test_an_unknown_target_fails_pointing_at_target_ous():
    check = check_target_policies(
        "ou-zz99-nothere1", [], [], ["mlgov-tag-enforcement-1"], error="TargetNotFoundException"
    )
    assert not check.ok and "target_ous" in check.fix
