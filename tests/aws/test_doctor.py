"""`mlgov doctor` against moto: a working installation passes every check, each missing piece fails with its fix.

Accounts are moto accounts (the hub is moto's default one, the others are reached by AssumeRole); the CLI's profiles
map to their sessions. The scanner's access task runs in process behind Lambda's Invoke (tests/aws/wire.py); the
probe really travels default bus → forwarding rule → hub bus → rule → probe queue inside moto.
"""

from __future__ import annotations

import json
import sys

import boto3
import pytest
from moto import mock_aws

from mlgov.cli import doctor as cli_doctor
from mlgov.cli import main
from mlgov.repo_files import DEFAULT_POLICIES_DIR
from tests.aws.wire import InProcessFunction

REGION = "eu-west-1"
HUB = "123456789012"  # moto's default account
MEMBER = "333333333333"
MANAGEMENT = "111111111111"
SIGNING, TOKEN = "mlgov/slack/signing-secret", "mlgov/slack/bot-token"
HUB_BUS_ARN = f"arn:aws:events:{REGION}:{HUB}:event-bus/mlgov-hub"


@pytest.fixture
def aws(monkeypatch, tmp_path):
    """moto, a scratch working directory (no ./cdk.json unless a test writes one) and the scanner's environment."""
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "AWS_REGION": REGION,
        "MLGOV_HUB_ACCOUNT": HUB,
        "MLGOV_ARCHIVE_BUCKET": "mlgov-archive",
        "MLGOV_FINDINGS_TABLE": "mlgov-findings",
        "MLGOV_ACCOUNTS": json.dumps([HUB]),
        "MLGOV_REGIONS": json.dumps([REGION]),
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        _reset_scanner()
        yield Profiles(monkeypatch)
        _reset_scanner()


def _reset_scanner() -> None:
    from mlgov.handlers import scanner
    from mlgov.handlers.scanner_runtime import scanner_settings

    scanner._runtime.cache_clear()
    scanner_settings.cache_clear()


def session_in(account: str, region: str = REGION) -> boto3.Session:
    if account == HUB:
        return boto3.Session(region_name=region)
    credentials = boto3.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="setup"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


class Profiles:
    """The CLI's --profile / --hub-profile / --management-profile names, mapped to moto accounts."""

    def __init__(self, monkeypatch) -> None:
        from mlgov.handlers import scanner

        self.accounts = {None: HUB, "hub": HUB, "member": MEMBER, "management": MANAGEMENT}
        self.scanner = InProcessFunction("mlgov-scanner", scanner.handler)
        self.scanner_deployed = True
        self.hooks = []  # (event name, handler) registered on every session the CLI creates
        monkeypatch.setattr(cli_doctor, "_session", self._session)

    def _session(self, profile, region):
        session = session_in(self.accounts[profile], region or REGION)
        for event, handler in self.hooks:
            session.events.register(event, handler)
        return self.scanner.attach(session) if self.scanner_deployed else session


def write_config(path="cdk.json", **overrides) -> None:
    context = {
        "hub_account": HUB,
        "hub_region": REGION,
        "slack": {
            "channel_id": "C0MLGOV01",
            "signing_secret_name": SIGNING,
            "bot_token_secret_name": TOKEN,
            "approvers": ["U0PLATFORM1"],
        },
        **overrides,
    }
    with open(path, "w") as file:
        json.dump({"app": "python app.py", "context": {"mlgov": context}}, file)


# ---- what the stacks deploy, made in moto ------------------------------------------------------------------------


def trail(session: boto3.Session, logging: bool = True) -> None:
    bucket = f"trail-logs-{session.client('sts').get_caller_identity()['Account']}"
    session.client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    cloudtrail = session.client("cloudtrail")
    cloudtrail.create_trail(Name="org-trail", S3BucketName=bucket, IsMultiRegionTrail=True)
    if logging:
        cloudtrail.start_logging(Name="org-trail")


def spoke(session: boto3.Session, probe_rule: bool = True) -> None:
    """MlgovSpoke: the role and the default-bus rules forwarding to the hub bus."""
    session.client("iam").create_role(
        RoleName="mlgov-spoke", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )
    events = session.client("events")
    rules = {"ForwardCreateCalls": {"source": ["aws.sagemaker"], "detail-type": ["AWS API Call via CloudTrail"]}}
    if probe_rule:
        rules["ForwardDoctorProbes"] = {"source": ["mlgov.doctor"], "detail-type": ["mlgov doctor probe"]}
    for name, pattern in rules.items():
        events.put_rule(Name=name, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=name, Targets=[{"Id": "Target0", "Arn": HUB_BUS_ARN}])


def hub(organization_id: str | None = None, secrets: bool = True) -> None:
    """MlgovHub's pieces doctor looks at: the bus (with the CDK policy statement in org mode), its rules, the probe
    queue, and the Slack secrets (created by the platform team)."""
    events = boto3.client("events", region_name=REGION)
    events.create_event_bus(Name="mlgov-hub")
    if organization_id:
        statement = {
            "Sid": "cdk-AdmitGovernedAccounts",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": "events:PutEvents",
            "Resource": HUB_BUS_ARN,
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": organization_id}},
        }
        events.put_permission(
            EventBusName="mlgov-hub", Policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        )
    events.put_rule(
        Name="MlgovHub-CreateCallsRule",
        EventBusName="mlgov-hub",
        EventPattern=json.dumps({"source": ["aws.sagemaker"], "detail-type": ["AWS API Call via CloudTrail"]}),
    )
    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName="mlgov-doctor-probe", Attributes={"MessageRetentionPeriod": "3600"})[
        "QueueUrl"
    ]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="MlgovHub-DoctorProbeRule",
        EventBusName="mlgov-hub",
        EventPattern=json.dumps({"source": ["mlgov.doctor"], "detail-type": ["mlgov doctor probe"]}),
    )
    events.put_targets(
        Rule="MlgovHub-DoctorProbeRule", EventBusName="mlgov-hub", Targets=[{"Id": "Target0", "Arn": queue_arn}]
    )
    if secrets:
        secretsmanager = boto3.client("secretsmanager", region_name=REGION)
        secretsmanager.create_secret(Name=SIGNING, SecretString="signing-secret-never-printed")
        secretsmanager.create_secret(Name=TOKEN, SecretString="xoxb-never-printed")


# The SCPs the checked-in compilation (and so MlgovOrg) deploys.
SCP_NAMES = sorted(path.stem for path in (DEFAULT_POLICIES_DIR / "scp").glob("*.json"))


def organization(target_attached: bool = True) -> tuple[str, str]:
    """An organization managed from MANAGEMENT with one target OU: (organization id, OU id)."""
    organizations = session_in(MANAGEMENT).client("organizations", region_name="us-east-1")
    organization_id = organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    root = organizations.list_roots()["Roots"][0]["Id"]
    ou = organizations.create_organizational_unit(ParentId=root, Name="ml-workloads")["OrganizationalUnit"]["Id"]
    for name, policy_type, content in [
        *((name, "SERVICE_CONTROL_POLICY", {"Version": "2012-10-17", "Statement": []}) for name in SCP_NAMES),
        ("mlgov-tag-policy", "TAG_POLICY", {"tags": {}}),
    ]:
        policy = organizations.create_policy(
            Name=name, Type=policy_type, Description="mlgov", Content=json.dumps(content)
        )["Policy"]["PolicySummary"]["Id"]
        if target_attached or name == "mlgov-tag-enforcement-1":
            organizations.attach_policy(PolicyId=policy, TargetId=ou)
    return organization_id, ou


def lines(out: str) -> list[str]:
    return out.rstrip("\n").split("\n")


# ---- a working installation ---------------------------------------------------------------------------------------


def test_single_account_installation_passes_every_check(aws, capsys):
    write_config()
    trail(session_in(HUB))
    spoke(session_in(HUB))
    hub()

    code = main(["doctor", "--region", REGION])

    out = capsys.readouterr().out
    print(out, file=sys.stderr)  # the example run for the README (pytest -s)
    assert code == 0, out
    assert [line[:18] for line in lines(out)] == [
        "OK   cloudtrail   ",
        "OK   spoke-role   ",
        "OK   hub-bus      ",
        "OK   bus-policy   ",
        "OK   slack-secret ",
        "OK   slack-secret ",
        "OK   spoke-access ",
        "OK   event-probe  ",
        "SKIP org-policies ",
    ]
    assert "OK   spoke-access  scanner assumed mlgov-spoke in 1 account(s) and read SageMaker in eu-west-1" in out
    assert "SKIP org-policies  single-account mode: SCPs are not attached" in out
    assert "never-printed" not in out
    assert aws.scanner.events == [{"task": "access"}]
    assert (
        not boto3.client("sqs", region_name=REGION)
        .receive_message(
            QueueUrl=boto3.client("sqs", region_name=REGION).get_queue_url(QueueName="mlgov-doctor-probe")["QueueUrl"]
        )
        .get("Messages")
    ), "doctor deletes its probe"


def test_org_installation_checked_from_a_member_account_with_hub_and_management_profiles(aws, capsys, monkeypatch):
    monkeypatch.setenv("MLGOV_ACCOUNTS", json.dumps([HUB, MEMBER]))
    organization_id, ou = organization()
    write_config(management_account=MANAGEMENT, organization_id=organization_id, target_ous=[ou])
    member = session_in(MEMBER)
    trail(member)
    spoke(member)
    hub(organization_id)

    code = main(
        ["doctor", "--profile", "member", "--hub-profile", "hub", "--management-profile", "management"]
        + ["--accounts", HUB, MEMBER]
    )

    out = capsys.readouterr().out
    assert code == 0, out
    assert f"OK   bus-policy    mlgov-hub admits PutEvents from organization {organization_id}" in out
    assert "scanner assumed mlgov-spoke in 2 account(s)" in out
    assert f"OK   event-probe   probe from {MEMBER}/{REGION} reached the hub queue in" in out
    assert f"OK   org-policies  {ou}: {', '.join(SCP_NAMES)} and mlgov-tag-policy attached" in out
    assert aws.scanner.events == [{"task": "access", "accounts": [HUB, MEMBER]}]


# ---- what fails, and the fix it prints ----------------------------------------------------------------------------


def test_nothing_deployed_fails_each_check_with_its_fix_and_no_traceback(aws, capsys):
    write_config()
    trail(session_in(HUB), logging=False)
    aws.scanner_deployed = False  # moto's Lambda answers: the function does not exist

    code = main(["doctor", "--region", REGION, "--probe-timeout", "1"])

    captured = capsys.readouterr()
    out = lines(captured.out)
    assert code == 1
    assert "Traceback" not in captured.out + captured.err
    statuses = [(line[:4], line[5:18].strip()) for line in out if not line.startswith("     fix:")]
    assert statuses == [
        ("FAIL", "cloudtrail"),
        ("FAIL", "spoke-role"),
        ("FAIL", "hub-bus"),
        ("SKIP", "bus-policy"),
        ("FAIL", "slack-secret"),
        ("FAIL", "slack-secret"),
        ("FAIL", "spoke-access"),
        ("FAIL", "event-probe"),
        ("SKIP", "org-policies"),
    ]
    fixes = [line for line in out if line.startswith("     fix:")]
    assert len(fixes) == 7
    assert any("start-logging" in fix for fix in fixes)
    assert any(f"create-secret --region {REGION} --name {SIGNING}" in fix for fix in fixes)
    assert any("this version names the scanner function mlgov-scanner" in fix for fix in fixes)
    assert any("this version adds queue mlgov-doctor-probe" in fix for fix in fixes)


def test_a_probe_that_never_arrives_names_the_missing_forwarding_rule(aws, capsys):
    write_config()
    trail(session_in(HUB))
    spoke(session_in(HUB), probe_rule=False)  # a spoke deployed before doctor probes existed
    hub()

    code = main(["doctor", "--region", REGION, "--probe-timeout", "1"])

    out = capsys.readouterr().out
    assert code == 1
    assert (
        f"FAIL event-probe   probe from {HUB}/{REGION} did not reach the hub queue within 1 s; "
        "no mlgov.doctor forwarding rule on the default bus here" in out
    )
    assert f"     fix: deploy MlgovSpoke (this version) in {HUB}/{REGION}" in out


def test_a_refused_assume_role_fails_that_account_with_the_spoke_fix(aws, capsys, monkeypatch):
    from tests.aws.wire import refuse_assume_role

    write_config()
    trail(session_in(HUB))
    spoke(session_in(HUB))
    hub()
    from mlgov.handlers import scanner

    def refusing_session():
        session = boto3.Session()
        refuse_assume_role(session, MEMBER)
        return session

    scanner._runtime().session_factory = refusing_session

    code = main(["doctor", "--region", REGION, "--accounts", HUB, MEMBER])

    out = capsys.readouterr().out
    assert code == 1
    assert f"FAIL spoke-access  {MEMBER}: An error occurred (AccessDenied) when calling the AssumeRole operation" in out
    assert f"     fix: deploy the spoke in {MEMBER} in {REGION}: move the account into a target OU" in out


def test_unattached_policies_fail_per_target_ou(aws, capsys):
    organization_id, ou = organization(target_attached=False)
    write_config(management_account=MANAGEMENT, organization_id=organization_id, target_ous=[ou, "ou-zz99-nothere1"])

    code = main(["doctor", "--region", REGION, "--skip-hub", "--management-profile", "management"])

    out = capsys.readouterr().out
    assert code == 1
    assert f"FAIL org-policies  {ou}: not attached: {', '.join(SCP_NAMES[1:])}, mlgov-tag-policy" in out
    assert "FAIL org-policies  ou-zz99-nothere1: " in out and "check target_ous in cdk.json" in out


def test_org_mode_without_management_credentials_skips_the_policies(aws, capsys):
    organization_id, ou = organization()
    write_config(management_account=MANAGEMENT, organization_id=organization_id, target_ous=[ou])

    main(["doctor", "--region", REGION, "--skip-hub"])

    assert "SKIP org-policies  pass --management-profile" in capsys.readouterr().out


def test_hub_checks_with_credentials_of_another_account_fail_once_with_the_hub_profile_fix(aws, capsys):
    write_config(hub_account="222222222222")
    trail(session_in(HUB))
    spoke(session_in(HUB))

    code = main(["doctor", "--region", REGION])

    out = capsys.readouterr().out
    assert code == 1
    assert f"FAIL hub-account   hub checks would run in account {HUB}, but the hub is 222222222222 (cdk.json)" in out
    assert "--hub-profile" in out and "hub-bus" not in out


def test_member_account_can_skip_the_hub_checks(aws, capsys):
    trail(session_in(HUB))
    spoke(session_in(HUB))

    code = main(["doctor", "--region", REGION, "--skip-hub"])

    out = capsys.readouterr().out
    assert code == 0, out
    assert "hub-bus" not in out and "event-probe" not in out
    assert "SKIP org-policies" in out  # no config: the mode is unknown


def test_skip_leaves_a_skip_line(aws, capsys):
    write_config()
    trail(session_in(HUB))
    spoke(session_in(HUB))
    hub()

    code = main(["doctor", "--region", REGION, "--skip", "event-probe", "spoke-access"])

    out = capsys.readouterr().out
    assert code == 0, out
    assert "SKIP event-probe   skipped (--skip)" in out and "SKIP spoke-access  skipped (--skip)" in out
    assert aws.scanner.events == []


# ---- config and credentials: one line, exit 2 ---------------------------------------------------------------------


def test_an_invalid_config_is_one_line_naming_the_key(aws, capsys):
    write_config(zombie_idle_dys=3)

    code = main(["doctor", "--region", REGION])

    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.count("\n") == 1 and "zombie_idle_dys: unknown key" in captured.err


def test_a_config_elsewhere_is_read_with_config(aws, capsys, tmp_path):
    write_config(path=str(tmp_path / "other.json"), hub_account="222222222222")

    code = main(["doctor", "--region", REGION, "--config", str(tmp_path / "other.json")])

    assert code == 1 and "but the hub is 222222222222" in capsys.readouterr().out


def test_without_a_checkout_the_config_is_read_unvalidated_with_a_note(aws, capsys, monkeypatch):
    from mlgov import deployment_context

    monkeypatch.setattr(deployment_context, "validating_checkout", lambda path: None)  # an installed CLI, no checkout
    write_config(hub_account="222222222222")

    code = main(["doctor", "--region", REGION, "--skip-hub"])

    captured = capsys.readouterr()
    assert code == 1  # the trail is missing; the config still read
    assert "cdk.json read without validation (no mlgov checkout with stacks/config.py)" in captured.err


def test_an_unknown_profile_is_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)

    code = main(["doctor", "--profile", "no-such-profile", "--region", REGION])

    captured = capsys.readouterr()
    assert code == 2 and captured.err == "mlgov: error: The config profile (no-such-profile) could not be found\n"


def test_a_check_the_caller_may_not_read_fails_with_the_permission_it_needs(aws, capsys):
    from tests.aws.wire import raw_response

    write_config()
    trail(session_in(HUB))
    spoke(session_in(HUB))
    hub()

    def access_denied(request, **_):
        body = {
            "__type": "AccessDeniedException",
            "message": "User: arn:aws:sts::123456789012:assumed-role/Dev/x "
            "is not authorized to perform: events:DescribeEventBus",
        }
        return raw_response(request.url, 400, json.dumps(body).encode(), {"Content-Type": "application/x-amz-json-1.1"})

    aws.hooks.append(("before-send.events.DescribeEventBus", access_denied))

    code = main(["doctor", "--region", REGION])

    out = lines(capsys.readouterr().out)
    assert code == 1
    assert out[2].startswith("FAIL hub-bus       cannot check: An error occurred (AccessDeniedException) when calling")
    assert out[3].startswith("     fix: run with credentials allowed to call DescribeEventBus")
    assert out[4].startswith("FAIL bus-policy    cannot check:")
    assert any(line.startswith("OK   event-probe") for line in out)  # the other checks still ran


def test_a_failing_scanner_reports_its_error(aws, capsys, monkeypatch):
    write_config()
    trail(session_in(HUB))
    spoke(session_in(HUB))
    hub()
    monkeypatch.delenv("MLGOV_ARCHIVE_BUCKET")  # the function's environment is broken

    code = main(["doctor", "--region", REGION, "--skip", "event-probe"])

    out = capsys.readouterr().out
    assert code == 1
    assert (
        "FAIL spoke-access  scanner mlgov-scanner: SettingsError: environment variable MLGOV_ARCHIVE_BUCKET is not set"
        in out
    )
    assert "lambda:InvokeFunction on mlgov-scanner" in out
