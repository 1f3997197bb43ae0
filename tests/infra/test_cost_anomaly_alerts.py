"""Cost Anomaly Detection alerts to `mlgov-notifications` (config `cost_anomaly_alerts`): the monitor and the
subscription, the topic's customer-managed key, and who the topic and key policies admit — evaluated for Cost Anomaly
Detection on behalf of the hub account, the same service on behalf of another account, and roles of a member account."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk.assertions import Annotations, Match, Template

from mlgov.domain.iam_eval import RequestContext, evaluate, resource_policy_allows, statement_matches
from stacks.hub_stack import anomaly_threshold_expression
from tests.infra.conftest import ORG_ONLY_KEYS
from tests.infra.template_helpers import as_list, concrete, only, render, rendered, role_statements

HUB = "222222222222"  # cdk.json's hub_account
COST_ALERTS = "costalerts.amazonaws.com"
PUBLISHERS = {"mlgov-hub-scanner", "mlgov-hub-approval", "mlgov-hub-hyperpod"}
MEMBER_ROLE = "arn:aws:iam::333333333333:role/attacker"  # e.g. made by a data scientist with iam:CreateRole
OTHER_ACCOUNT = "444455556666"  # an account whose anomaly subscription names our topic: the confused deputy
EXISTING_MONITOR = f"arn:aws:ce::{HUB}:anomalymonitor/0f0e0d0c-0b0a-0908-0706-050403020100"


def _synth(cdk_context: dict, outdir: Path, alerts: dict, nag: bool = True, **changes) -> tuple[dict, object]:
    """(stacks, assembly) for cdk.json in single-account mode with `cost_anomaly_alerts` and other `changes`."""
    import aws_cdk as cdk

    from stacks.app_builder import build_app

    context = json.loads(json.dumps(cdk_context))
    for key in ORG_ONLY_KEYS:
        context["mlgov"].pop(key, None)
    context["mlgov"].update(cost_anomaly_alerts=alerts, **changes)
    app = cdk.App(context=context, outdir=str(outdir))
    stacks = build_app(app, nag=nag)
    return stacks, app.synth()


@pytest.fixture(scope="module")
def alerting(cdk_context, tmp_path_factory):
    """(stacks, assembly) of the single-account app with alerts over $1,250.50 (cdk.json's hub region eu-west-1)."""
    return _synth(cdk_context, tmp_path_factory.mktemp("cdk.out.alerts"), {"threshold_usd": 1250.5})


@pytest.fixture(scope="module")
def hub(alerting) -> Template:
    stacks, _ = alerting
    return Template.from_stack(stacks["hub"])


def _as_deployed(value: object) -> object:
    """A rendered template value as AWS evaluates it: partition `aws`, references as literal names."""
    return concrete(json.loads(json.dumps(rendered(value)).replace("${AWS::Partition}", "aws")))


def _topic(template: Template) -> tuple[str, str]:
    topic_id, _ = only(template, "AWS::SNS::Topic", {"TopicName": "mlgov-notifications"})
    return topic_id, _as_deployed(f"${{Ref:{topic_id}}}")


def _topic_policy(template: Template) -> dict:
    _, policy = only(template, "AWS::SNS::TopicPolicy")
    return _as_deployed(policy["Properties"]["PolicyDocument"])


def _notifications_key(template: Template) -> tuple[str, dict]:
    topic_id, topic = only(template, "AWS::SNS::Topic", {"TopicName": "mlgov-notifications"})
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    return key_id, template.to_json()["Resources"][key_id]


def service_may(document: dict, service: str, request: RequestContext) -> bool:
    """resource_policy_allows for an AWS service principal, which the evaluator does not match (it matches AWS
    principals): an Allow naming `service` or everyone matches the request and no Deny does."""
    allowed = False
    for statement in as_list(document["Statement"]):
        principal = statement.get("Principal")
        named = principal == "*" or (
            isinstance(principal, dict)
            and (service in as_list(principal.get("Service", [])) or "*" in as_list(principal.get("AWS", [])))
        )
        if not named or not statement_matches({k: v for k, v in statement.items() if k != "Principal"}, request):
            continue
        if statement["Effect"] == "Deny":
            return False
        allowed = True
    return allowed


def _on_behalf_of(account: str | None, action: str, resource: str, secure: bool = True) -> RequestContext:
    context = {"aws:SecureTransport": "true" if secure else "false"}
    if account is not None:
        context["aws:SourceAccount"] = account
    return RequestContext(action, principal_arn=COST_ALERTS, resource=resource, context=context)


# ---------------------------------------------------------------- off by default


def test_without_the_key_the_hub_has_no_monitor_no_subscription_and_keeps_the_aws_managed_sns_key(synthesized):
    stacks, _ = synthesized
    hub = Template.from_stack(stacks["hub"])
    _, topic = only(hub, "AWS::SNS::Topic", {"TopicName": "mlgov-notifications"})

    assert hub.find_resources("AWS::CE::AnomalyMonitor") == {}
    assert hub.find_resources("AWS::CE::AnomalySubscription") == {}
    assert render(topic["Properties"]["KmsMasterKeyId"]).endswith("alias/aws/sns")
    assert COST_ALERTS not in json.dumps(hub.to_json())


# ---------------------------------------------------------------- the monitor and the subscription


def test_the_monitor_is_an_aws_services_monitor_of_the_hub_account(hub):
    _, monitor = only(hub, "AWS::CE::AnomalyMonitor")

    assert monitor["Properties"] == {
        "MonitorName": "mlgov-services",
        "MonitorType": "DIMENSIONAL",
        "MonitorDimension": "SERVICE",
    }


def test_the_subscription_publishes_each_anomaly_over_the_threshold_to_the_topic_as_it_is_detected(hub):
    monitor_id, _ = only(hub, "AWS::CE::AnomalyMonitor")
    topic_id, _ = _topic(hub)
    policy_id, _ = only(hub, "AWS::SNS::TopicPolicy")
    _, subscription = only(hub, "AWS::CE::AnomalySubscription")
    props = subscription["Properties"]

    assert props["Subscribers"] == [{"Type": "SNS", "Address": {"Ref": topic_id}}]
    assert props["Frequency"] == "IMMEDIATE"  # the only frequency that reaches an SNS subscriber
    assert props["MonitorArnList"] == [{"Fn::GetAtt": [monitor_id, "MonitorArn"]}]
    assert json.loads(props["ThresholdExpression"]) == {
        "Dimensions": {
            "Key": "ANOMALY_TOTAL_IMPACT_ABSOLUTE",
            "MatchOptions": ["GREATER_THAN_OR_EQUAL"],
            "Values": ["1250.5"],
        }
    }
    assert "Threshold" not in props  # deprecated; CloudFormation refuses both together
    assert policy_id in as_list(subscription["DependsOn"])  # the topic admits the service before the first alert


@pytest.mark.parametrize(
    ("threshold", "value"),
    [(100, "100"), (100.0, "100"), (1250.5, "1250.5"), (0.01, "0.01"), (1e-05, "0.00001"), (1e10, "10000000000")],
)
def test_the_threshold_is_written_as_a_plain_decimal(threshold, value):
    assert anomaly_threshold_expression(threshold)["Dimensions"]["Values"] == [value]


def test_an_existing_monitor_of_the_hub_account_is_subscribed_instead_of_creating_one(cdk_context, tmp_path_factory):
    """An account holds one AWS services monitor; with `monitor_arn` the hub subscribes to it (here in us-east-1)."""
    stacks, _ = _synth(
        cdk_context,
        tmp_path_factory.mktemp("cdk.out.monitor"),
        {"threshold_usd": 100, "monitor_arn": EXISTING_MONITOR},
        hub_region="us-east-1",
        member_regions=["us-east-1"],
        nag=False,
    )
    template = Template.from_stack(stacks["hub"])
    _, subscription = only(template, "AWS::CE::AnomalySubscription")

    assert template.find_resources("AWS::CE::AnomalyMonitor") == {}
    assert subscription["Properties"]["MonitorArnList"] == [EXISTING_MONITOR]
    assert json.loads(subscription["Properties"]["ThresholdExpression"])["Dimensions"]["Values"] == ["100"]


# ---------------------------------------------------------------- the topic and its key


def test_the_topic_is_encrypted_with_a_rotated_customer_managed_key(hub):
    _, key = _notifications_key(hub)

    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True


def test_the_topic_policy_lets_cost_anomaly_detection_publish_for_the_hub_account_only(hub):
    document = _topic_policy(hub)
    _, topic_arn = _topic(hub)

    assert service_may(document, COST_ALERTS, _on_behalf_of(HUB, "sns:Publish", topic_arn))
    assert not service_may(document, COST_ALERTS, _on_behalf_of(OTHER_ACCOUNT, "sns:Publish", topic_arn))
    assert not service_may(document, COST_ALERTS, _on_behalf_of(None, "sns:Publish", topic_arn))
    assert not service_may(document, COST_ALERTS, _on_behalf_of(HUB, "sns:Publish", topic_arn, secure=False))
    assert not service_may(document, "budgets.amazonaws.com", _on_behalf_of(HUB, "sns:Publish", topic_arn))


def test_the_key_policy_lets_cost_anomaly_detection_encrypt_for_the_hub_account_only(hub):
    _, key = _notifications_key(hub)
    document = _as_deployed(key["Properties"]["KeyPolicy"])

    for action in ("kms:GenerateDataKey", "kms:Decrypt"):
        assert service_may(document, COST_ALERTS, _on_behalf_of(HUB, action, "*"))
        assert not service_may(document, COST_ALERTS, _on_behalf_of(OTHER_ACCOUNT, action, "*"))
        assert not service_may(document, COST_ALERTS, _on_behalf_of(None, action, "*"))
    assert not service_may(document, COST_ALERTS, _on_behalf_of(HUB, "kms:PutKeyPolicy", "*"))


def test_a_member_account_role_may_neither_publish_nor_use_the_key_even_naming_the_hub_as_source(hub):
    _, topic_arn = _topic(hub)
    _, key = _notifications_key(hub)
    context = {"aws:SecureTransport": "true", "aws:SourceAccount": HUB}

    assert not resource_policy_allows(
        _topic_policy(hub),
        RequestContext("sns:Publish", principal_arn=MEMBER_ROLE, resource=topic_arn, context=context),
    )
    for action in ("kms:GenerateDataKey", "kms:Decrypt", "kms:PutKeyPolicy"):
        request = RequestContext(action, principal_arn=MEMBER_ROLE, resource="*", context=context)
        assert not resource_policy_allows(_as_deployed(key["Properties"]["KeyPolicy"]), request)


def test_the_posting_functions_alone_may_publish_and_encrypt_with_the_key(hub):
    """Identity policies of the hub's roles, evaluated; the key policy leaves the hub account's IAM policies to decide
    (the default key policy), so the publishers' grants are what makes their publishes succeed."""
    _, topic_arn = _topic(hub)
    key_id, key = _notifications_key(hub)
    key_arn = _as_deployed(f"${{GetAtt:{key_id}.Arn}}")
    may: dict[str, set[str]] = {"sns:Publish": set(), "kms:GenerateDataKey": set(), "kms:Decrypt": set()}
    for role_id, role in hub.find_resources("AWS::IAM::Role").items():
        statements = _as_deployed([{**s, "Resource": rendered(s["Resource"])} for s in role_statements(hub, role_id)])
        identity = {"identity": {"Version": "2012-10-17", "Statement": statements}}
        for action in may:
            resource = topic_arn if action == "sns:Publish" else key_arn
            if evaluate(identity, RequestContext(action, resource=resource), full_aws_access=False).allowed:
                may[action].add(role["Properties"].get("RoleName") or role_id)

    assert may == {action: PUBLISHERS for action in may}
    for name in PUBLISHERS:
        request = RequestContext("kms:GenerateDataKey", principal_arn=f"arn:aws:iam::{HUB}:role/{name}", resource="*")
        assert resource_policy_allows(_as_deployed(key["Properties"]["KeyPolicy"]), request)


# ---------------------------------------------------------------- cdk-nag, cfn-lint, regions


def test_the_alerting_hub_passes_cdk_nag_and_cfn_lint_in_its_region(alerting):
    from cfnlint.api import ManualArgs, lint

    stacks, assembly = alerting
    errors = Annotations.from_stack(stacks["hub"]).find_error("*", Match.string_like_regexp("AwsSolutions-.*"))
    artifact = next(s for s in assembly.stacks if s.stack_name == stacks["hub"].stack_name)
    matches = lint(Path(artifact.template_full_path).read_text(), config=ManualArgs(regions=[stacks["hub"].region]))

    assert errors == [], [e.entry.data for e in errors]
    assert [str(m) for m in matches if m.rule.severity == "error"] == []


def test_cfn_lint_knows_the_anomaly_resources_are_missing_in_some_regions(alerting):
    """Why config refuses a hub_region outside COST_ANOMALY_REGIONS: CloudFormation there has no such types."""
    from cfnlint.api import ManualArgs, lint

    stacks, assembly = alerting
    artifact = next(s for s in assembly.stacks if s.stack_name == stacks["hub"].stack_name)
    matches = lint(Path(artifact.template_full_path).read_text(), config=ManualArgs(regions=["ap-southeast-5"]))
    missing = {str(m) for m in matches if m.rule.id == "E3006" and "AWS::CE::" in str(m)}

    assert len(missing) == 2, missing
