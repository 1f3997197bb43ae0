"""What `mlgov doctor` relies on in the templates: the hub's probe queue and rule, the spoke's probe forwarding rule,
and the scanner's fixed function name; the two rules' patterns carry doctor's own probe through moto."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match, Template

from mlgov.domain.preflight import PROBE_QUEUE_NAME, SCANNER_FUNCTION_NAME, probe_entry
from tests.infra.template_helpers import as_list, only, render, role_statements

PROBE_PATTERN = {"source": ["mlgov.doctor"], "detail-type": ["mlgov doctor probe"]}


@pytest.fixture(scope="module")
def hub(synthesized) -> Template:
    stacks, _ = synthesized
    return Template.from_stack(stacks["hub"])


@pytest.fixture(scope="module")
def spoke(cdk_context, tmp_path_factory) -> Template:
    """The SpokeStack for the real cdk.json (what the StackSet rolls out), synthesized on its own."""
    import aws_cdk as cdk

    from stacks.config import load_config
    from stacks.spoke_stack import SpokeStack

    app = cdk.App(outdir=str(tmp_path_factory.mktemp("cdk.out.spoke")))
    return Template.from_stack(SpokeStack(app, "MlgovSpoke", config=load_config(cdk_context["mlgov"])))


@pytest.fixture(scope="module")
def mlgov(cdk_context) -> dict:
    return cdk_context["mlgov"]


def probe_queue(hub: Template) -> tuple[str, dict]:
    return only(hub, "AWS::SQS::Queue", {"QueueName": PROBE_QUEUE_NAME})


def hub_probe_rule(hub: Template) -> dict:
    bus_id, _ = only(hub, "AWS::Events::EventBus", {"Name": "mlgov-hub"})
    _, rule = only(hub, "AWS::Events::Rule", {"EventBusName": {"Ref": bus_id}, "EventPattern": PROBE_PATTERN})
    return rule


def spoke_probe_rule(spoke: Template) -> dict:
    rules = [
        rule
        for rule in spoke.find_resources("AWS::Events::Rule", {"Properties": {"EventPattern": PROBE_PATTERN}}).values()
        if rule["Properties"].get("EventBusName", "default") == "default"
    ]
    assert len(rules) == 1, rules
    return rules[0]


# ---------------------------------------------------------------- hub: queue and rule


def test_probe_queue_is_encrypted_short_lived_and_tls_only(hub):
    queue_id, queue = probe_queue(hub)
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["Properties"]["MessageRetentionPeriod"] == 3600
    hub.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "Queues": [{"Ref": queue_id}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "sqs:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
        },
    )


def test_hub_rule_queues_doctor_probes_from_the_hub_bus(hub):
    queue_id, _ = probe_queue(hub)
    rule = hub_probe_rule(hub)
    assert rule["Properties"]["State"] == "ENABLED"
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}


def test_only_that_rule_may_send_to_the_probe_queue(hub):
    queue_id, _ = probe_queue(hub)
    bus_id, _ = only(hub, "AWS::Events::EventBus", {"Name": "mlgov-hub"})
    [(rule_id, _)] = [
        item
        for item in hub.find_resources("AWS::Events::Rule", {"Properties": {"EventPattern": PROBE_PATTERN}}).items()
        if item[1]["Properties"]["EventBusName"] == {"Ref": bus_id}
    ]
    _, policy = only(hub, "AWS::SQS::QueuePolicy", {"Queues": [{"Ref": queue_id}]})
    allows = [
        {**s, "Action": sorted(as_list(s["Action"]))}
        for s in as_list(policy["Properties"]["PolicyDocument"]["Statement"])
        if s["Effect"] == "Allow"
    ]
    assert allows == [
        {
            "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
            "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}},
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
        }
    ]


def test_probe_queue_url_is_a_stack_output(hub):
    queue_id, _ = probe_queue(hub)
    assert hub.to_json()["Outputs"]["DoctorProbeQueueUrl"]["Value"] == {"Ref": queue_id}


def test_probe_queue_has_no_dlq_for_a_stated_reason(hub):
    _, queue = probe_queue(hub)
    [suppression] = [s for s in queue["Metadata"]["cdk_nag"]["rules_to_suppress"] if s["id"] == "AwsSolutions-SQS3"]
    assert "expires" in suppression["reason"] and "doctor" in suppression["reason"]


def test_scanner_function_has_the_fixed_name_doctor_invokes(hub):
    _, scanner = only(hub, "AWS::Lambda::Function", {"Handler": "mlgov.handlers.scanner.handler"})
    assert scanner["Properties"]["FunctionName"] == SCANNER_FUNCTION_NAME == "mlgov-scanner"


# ---------------------------------------------------------------- spoke: forwarding rule


def test_spoke_forwards_probes_from_the_default_bus_to_the_hub_bus(spoke, mlgov):
    hub_bus = f"arn:${{AWS::Partition}}:events:{mlgov['hub_region']}:{mlgov['hub_account']}:event-bus/mlgov-hub"
    rule = spoke_probe_rule(spoke)
    assert rule["Properties"]["State"] == "ENABLED"
    (target,) = rule["Properties"]["Targets"]
    assert render(target["Arn"]) == hub_bus
    role_id, _ = target["RoleArn"]["Fn::GetAtt"]
    statements = [s for s in role_statements(spoke, role_id) if "events:PutEvents" in as_list(s["Action"])]
    assert [render(as_list(s["Resource"])) for s in statements] == [[hub_bus]]


# ---------------------------------------------------------------- the two patterns carry doctor's probe (moto)


def test_the_templates_rules_carry_doctors_probe_from_a_member_to_the_probe_queue(hub, spoke, monkeypatch, instant):
    import boto3
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    region, hub_account = "eu-west-1", "123456789012"  # moto's default account plays the hub
    with mock_aws():
        sqs = boto3.client("sqs", region_name=region)
        queue_url = sqs.create_queue(QueueName=PROBE_QUEUE_NAME)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        hub_events = boto3.client("events", region_name=region)
        hub_bus_arn = hub_events.create_event_bus(Name="mlgov-hub")["EventBusArn"]
        hub_pattern = hub_probe_rule(hub)["Properties"]["EventPattern"]
        hub_events.put_rule(Name="probe", EventBusName="mlgov-hub", EventPattern=json.dumps(hub_pattern))
        hub_events.put_targets(Rule="probe", EventBusName="mlgov-hub", Targets=[{"Id": "q", "Arn": queue_arn}])
        credentials = boto3.client("sts", region_name=region).assume_role(
            RoleArn="arn:aws:iam::333333333333:role/setup", RoleSessionName="setup"
        )["Credentials"]
        member = boto3.client(
            "events",
            region_name=region,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        spoke_pattern = spoke_probe_rule(spoke)["Properties"]["EventPattern"]
        member.put_rule(Name="forward", EventPattern=json.dumps(spoke_pattern))
        member.put_targets(Rule="forward", Targets=[{"Id": "hub", "Arn": hub_bus_arn}])

        member.put_events(Entries=[probe_entry("probe-1", instant)])

        [message] = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
        assert json.loads(message["Body"])["detail"]["probe_id"] == "probe-1"
        assert hub_account in hub_bus_arn
