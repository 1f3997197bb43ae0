"""HubStack as synthesized from the real cdk.json: the org bus, the create-call rule, the auto-tagger and its state."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from importlib import metadata
from pathlib import Path

import pytest
from aws_cdk.assertions import Match, Template

from mlgov.domain.tagging import TagDefaults
from tests.infra.template_helpers import as_list, matching, only, render, role_statements

AUTO_TAGGER_ROLE_NAME = "mlgov-hub-auto-tagger"
SPOKE_ROLE_NAME = "mlgov-spoke"


# ---------------------------------------------------------------- helpers (template reading, no logical ids)


@pytest.fixture(scope="module")
def hub(synthesized) -> Template:
    stacks, _ = synthesized
    return Template.from_stack(stacks["hub"])


@pytest.fixture(scope="module")
def mlgov(cdk_context) -> dict:
    return cdk_context["mlgov"]


def tag_accepting_creates_from_botocore() -> list[str]:
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    return sorted(
        name
        for name in model.operation_names
        if name.startswith("Create")
        and model.operation_model(name).input_shape is not None
        and "Tags" in model.operation_model(name).input_shape.members
    )


def bus_id(template: Template) -> str:
    bus_id, _ = only(template, "AWS::Events::EventBus", {"Name": "mlgov-hub"})
    return bus_id


def queue_id(template: Template) -> str:
    """The auto-tagger's DLQ, found through the stack output that publishes it (the job ledger has its own)."""
    return template.to_json()["Outputs"]["AutoTaggerDlqUrl"]["Value"]["Ref"]


def create_calls_rule(template: Template) -> tuple[str, dict]:
    """The hub-bus rule for CloudTrail create calls (the job ledger's rule on the same bus is tested on its own)."""
    rules = [
        (rule_id, rule)
        for rule_id, rule in template.find_resources(
            "AWS::Events::Rule", {"Properties": {"EventBusName": {"Ref": bus_id(template)}}}
        ).items()
        if "AWS API Call via CloudTrail" in rule["Properties"]["EventPattern"].get("detail-type", [])
    ]
    assert len(rules) == 1, [rule_id for rule_id, _ in rules]
    return rules[0]


def auto_tagger(template: Template) -> tuple[str, dict]:
    return only(template, "AWS::Lambda::Function", {"Handler": "mlgov.handlers.auto_tagger.handler"})


def idempotency_table(template: Template) -> tuple[str, dict]:
    tables = {
        logical_id: table
        for logical_id, table in {
            **template.find_resources("AWS::DynamoDB::Table"),
            **template.find_resources("AWS::DynamoDB::GlobalTable"),
        }.items()
        # the idempotency table is keyed on `id`; the ledger (pk) and findings (arn) tables are tested elsewhere
        if table["Properties"]["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    }
    assert len(tables) == 1, sorted(tables)
    return next(iter(tables.items()))


def bus_policy_statements(template: Template, bus: str) -> list[dict]:
    """Statements of the bus's resource policy, whichever way CDK renders it."""
    statements = []
    for policy in template.find_resources("AWS::Events::EventBusPolicy").values():
        props = policy["Properties"]
        if props.get("EventBusName") == {"Ref": bus}:
            statements.extend(as_list(props.get("Statement") or props.get("Policy", {}).get("Statement", [])))
    inline = template.to_json()["Resources"][bus]["Properties"].get("Policy")
    if inline:
        statements.extend(as_list(inline["Statement"]))
    return statements


# ---------------------------------------------------------------- event bus and rule


def test_hub_bus_admits_put_events_only_from_the_configured_organization(hub, mlgov):
    statements = bus_policy_statements(hub, bus_id(hub))
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert allows, "the hub bus has no resource policy: member accounts cannot send to it"
    for statement in allows:
        assert as_list(statement["Action"]) == ["events:PutEvents"]
        assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": mlgov["organization_id"]}}


def test_hub_rule_matches_exactly_the_successful_tag_accepting_sagemaker_creates(hub):
    _, rule = create_calls_rule(hub)
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.sagemaker"]
    assert sorted(pattern["detail-type"]) == ["AWS API Call via CloudTrail", "AWS Service Event via CloudTrail"]
    detail = pattern["detail"]
    assert detail["eventSource"] == ["sagemaker.amazonaws.com"]
    assert detail["errorCode"] == [{"exists": False}]
    names = detail["eventName"]
    assert len(names) == len(set(names)), "duplicate event names"
    assert sorted(names) == tag_accepting_creates_from_botocore()


def test_hub_rule_pattern_fits_eventbridges_default_pattern_size_quota(hub):
    """EventBridge limits a pattern to 2048 characters (quota, adjustable); the create list grows with botocore."""
    _, rule = create_calls_rule(hub)
    assert len(json.dumps(rule["Properties"]["EventPattern"])) <= 2048


def test_hub_rule_delivers_to_the_auto_tagger_with_retries_and_a_dead_letter_queue(hub):
    function_id, _ = auto_tagger(hub)
    _, rule = create_calls_rule(hub)
    targets = rule["Properties"]["Targets"]
    assert len(targets) == 1
    (target,) = targets
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id(hub), "Arn"]}}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] > 0


def test_rule_may_invoke_the_auto_tagger_and_send_to_the_dead_letter_queue(hub):
    function_id, _ = auto_tagger(hub)
    rule_id, _ = create_calls_rule(hub)
    found = matching(
        hub,
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [function_id, "Arn"]},
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]},
        },
    )
    assert len(found) == 1, found
    found = matching(
        hub,
        "AWS::SQS::QueuePolicy",
        {
            "Queues": [{"Ref": queue_id(hub)}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Action": "sqs:SendMessage",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Condition": {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}},
                            }
                        )
                    ]
                )
            },
        },
    )
    assert len(found) == 1, found


# ---------------------------------------------------------------- the auto-tagger function


def test_auto_tagger_runs_python312_on_arm64_with_the_pinned_powertools_layer(hub):
    _, function = auto_tagger(hub)
    props = function["Properties"]
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    (layer,) = props["Layers"]
    parameter = hub.to_json()["Parameters"][layer["Ref"]]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    version = metadata.version("aws-lambda-powertools")
    assert parameter["Default"] == f"/aws/service/powertools/python/arm64/python3.12/{version}"


def test_auto_tagger_parks_failed_async_invocations_in_the_dead_letter_queue(hub):
    _, function = auto_tagger(hub)
    assert function["Properties"]["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [queue_id(hub), "Arn"]}}


def test_auto_tagger_environment_names_the_hub_table_queue_and_tag_defaults(hub, mlgov, real_schema):
    table_id = idempotency_table(hub)[0]
    _, function = auto_tagger(hub)
    env = function["Properties"]["Environment"]["Variables"]
    assert env["MLGOV_HUB_ACCOUNT"] == mlgov["hub_account"]
    assert env["MLGOV_IDEMPOTENCY_TABLE"] == {"Ref": table_id}
    assert env["MLGOV_DLQ_URL"] == {"Ref": queue_id(hub)}  # Ref of an SQS queue is its URL
    defaults = TagDefaults.from_json(env["MLGOV_TAG_DEFAULTS"])
    assert defaults.lifetime_key == "auto-delete-after"
    assert defaults == TagDefaults.from_schema(real_schema)
    assert "endpoint" in defaults.lifetime_types
    assert json.loads(env["MLGOV_TRUSTED_FEDERATION_ROLES"]) == mlgov.get("trusted_federation_roles", [])


# ---------------------------------------------------------------- dead-letter queue, alarm, idempotency table


def test_dead_letter_queue_is_encrypted_and_refuses_plain_http(hub):
    queue = queue_id(hub)
    assert hub.to_json()["Resources"][queue]["Properties"]["SqsManagedSseEnabled"] is True
    hub.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "Queues": [{"Ref": queue}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Principal": {"AWS": "*"},
                                "Action": "sqs:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                "Resource": {"Fn::GetAtt": [queue, "Arn"]},
                            }
                        )
                    ]
                )
            },
        },
    )


def test_an_alarm_fires_on_the_first_message_in_the_dead_letter_queue(hub):
    found = matching(
        hub,
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id(hub), "QueueName"]}}],
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        },
    )
    assert len(found) == 1, found


def test_idempotency_table_is_keyed_on_id_expires_records_and_has_point_in_time_recovery(hub, mlgov):
    _, table = idempotency_table(hub)
    props = table["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    if table["Type"] == "AWS::DynamoDB::GlobalTable":
        pitr = [replica.get("PointInTimeRecoverySpecification") for replica in props["Replicas"]]
        assert [replica["Region"] for replica in props["Replicas"]] == [mlgov["hub_region"]]
    else:
        pitr = [props.get("PointInTimeRecoverySpecification")]
    assert pitr == [{"PointInTimeRecoveryEnabled": True}]


# ---------------------------------------------------------------- the auto-tagger role


def test_auto_tagger_runs_as_the_fixed_name_role_the_spokes_trust(hub):
    role_id, _ = only(hub, "AWS::IAM::Role", {"RoleName": AUTO_TAGGER_ROLE_NAME})
    _, function = auto_tagger(hub)
    assert function["Properties"]["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}


def test_auto_tagger_may_assume_only_the_spoke_role(hub):
    role_id, _ = only(hub, "AWS::IAM::Role", {"RoleName": AUTO_TAGGER_ROLE_NAME})
    assume = [
        statement
        for statement in role_statements(hub, role_id)
        if any(fnmatchcase("sts:assumerole", action.lower()) for action in as_list(statement["Action"]))
    ]
    assert assume, "the auto-tagger cannot reach member accounts"
    for statement in assume:
        assert statement["Effect"] == "Allow"
        assert render(as_list(statement["Resource"])) == [f"arn:${{AWS::Partition}}:iam::*:role/{SPOKE_ROLE_NAME}"]


def grants_sagemaker(action: str) -> bool:
    """True for sagemaker:X and for any wildcard (`*`, `sage*`) that reaches SageMaker actions."""
    return action.lower().startswith("sagemaker:") or fnmatchcase("sagemaker:anyaction", action.lower())


def test_auto_tagger_sagemaker_permissions_are_list_and_add_tags_in_the_hub_account(hub, mlgov):
    role_id, _ = only(hub, "AWS::IAM::Role", {"RoleName": AUTO_TAGGER_ROLE_NAME})
    sagemaker = [
        statement
        for statement in role_statements(hub, role_id)
        if statement["Effect"] == "Allow" and any(grants_sagemaker(a) for a in as_list(statement["Action"]))
    ]
    assert sagemaker, "the auto-tagger cannot tag in the hub account"
    granted = sorted(action for statement in sagemaker for action in as_list(statement["Action"]))
    assert granted == ["sagemaker:AddTags", "sagemaker:ListTags"]
    for statement in sagemaker:
        assert render(as_list(statement["Resource"])) == [
            f"arn:${{AWS::Partition}}:sagemaker:*:{mlgov['hub_account']}:*"
        ]
        if "sagemaker:AddTags" in as_list(statement["Action"]):
            keys = statement["Condition"]["ForAllValues:StringLike"]["aws:TagKeys"]
            assert "mlgov:created-by" in keys and not any(key.startswith("mlgov:zombie") for key in keys)


# ---------------------------------------------------------------- every function ships the one code asset


def test_every_lambda_in_every_stack_ships_the_same_code_asset(synthesized):
    stacks, assembly = synthesized
    keys = set()
    for stack in stacks.values():
        for function in Template.from_stack(stack).find_resources("AWS::Lambda::Function").values():
            code = function["Properties"]["Code"]
            assert "S3Key" in code, f"inline or image code: {code}"
            keys.add(code["S3Key"])
    assert len(keys) == 1, keys
    manifest = json.loads((Path(assembly.directory) / "manifest.json").read_text())
    zips = set()
    for artifact in manifest["artifacts"].values():
        if artifact["type"] == "cdk:asset-manifest":
            assets = json.loads((Path(assembly.directory) / artifact["properties"]["file"]).read_text())
            zips.update(h for h, a in assets.get("files", {}).items() if a["source"].get("packaging") == "zip")
            assert not assets.get("dockerImages"), "no function is shipped as an image"
    layer_keys = set()
    for stack in stacks.values():
        for layer in Template.from_stack(stack).find_resources("AWS::Lambda::LayerVersion").values():
            layer_keys.add(layer["Properties"]["Content"]["S3Key"])
    # one function code asset; the only other zip is the slack-sdk layer
    assert len(zips) == 1 + len(layer_keys), zips
    assert keys | layer_keys == {f"{h}.zip" for h in zips}
    assert not keys & layer_keys


def test_create_call_patterns_split_over_rules_when_the_list_outgrows_the_size_limit(monkeypatch):
    import json as _json

    from stacks.parts import events as event_parts

    many = tuple(f"CreateSomethingQuiteLongNumber{index:03d}" for index in range(120))
    monkeypatch.setattr(event_parts, "tag_accepting_creates", lambda: many)

    patterns = event_parts.create_call_patterns()

    assert len(patterns) > 1
    assert all(len(_json.dumps(p)) <= event_parts.PATTERN_MAX_CHARS for p in patterns)
    assert [n for p in patterns for n in p["detail"]["eventName"]] == list(many)


def test_the_notifications_topic_is_encrypted_tls_only_and_published_to_by_the_posting_functions_alone(hub):
    """Evaluated: the scanner, approval and scheduler roles may publish (identity policies); no other role of the hub,
    and no principal of a member account (the topic policy grants nobody anything and denies plain HTTP)."""
    from mlgov.domain.iam_eval import RequestContext, evaluate, resource_policy_allows
    from tests.infra.template_helpers import concrete, rendered

    topic_id, topic = only(hub, "AWS::SNS::Topic")
    assert topic["Properties"]["TopicName"] == "mlgov-notifications"
    assert render(topic["Properties"]["KmsMasterKeyId"]).endswith("alias/aws/sns")
    (_, policy) = only(hub, "AWS::SNS::TopicPolicy")
    document = concrete(rendered(policy["Properties"]["PolicyDocument"]))
    topic_arn = concrete(f"${{Ref:{topic_id}}}")
    member = RequestContext(
        "sns:Publish",
        principal_arn="arn:aws:iam::333333333333:role/data-scientist",
        resource=topic_arn,
        context={"aws:SecureTransport": "true"},
    )
    assert not resource_policy_allows(document, member)
    plain_http = RequestContext("sns:Publish", resource=topic_arn, context={"aws:SecureTransport": "false"})
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
               for s in document["Statement"])  # fmt: skip
    assert not resource_policy_allows(document, plain_http)

    roles = hub.find_resources("AWS::IAM::Role")
    publishers = set()
    for role_id, role in roles.items():
        statements = concrete([{**s, "Resource": rendered(s["Resource"])} for s in role_statements(hub, role_id)])
        allowed = evaluate(
            {"identity": {"Version": "2012-10-17", "Statement": statements}},
            RequestContext("sns:Publish", resource=topic_arn),
            full_aws_access=False,
        )
        if allowed.allowed:
            publishers.add(role["Properties"].get("RoleName") or role_id)
    assert publishers == {"mlgov-hub-scanner", "mlgov-hub-approval", "mlgov-hub-hyperpod"}


def test_only_the_scanner_and_scheduler_start_approvals_and_only_the_scheduler_and_slack_invoke_the_function(hub):
    """Evaluated on the synthesized identity policies: starting the approval state machine (a zombie, an expired
    endpoint, a park) and invoking the approval function (a restore, a Slack button) are each granted to the roles
    that need them and no other; the approval function and state machine have no resource policy, so no member
    account's principal — a data scientist with iam:CreateRole included — reaches either."""
    from mlgov.domain.iam_eval import RequestContext, evaluate
    from tests.infra.template_helpers import concrete, rendered

    (machine_id,) = [k for k, m in hub.find_resources("AWS::StepFunctions::StateMachine").items()
                     if m["Properties"].get("StateMachineName") == "mlgov-approval"]  # fmt: skip
    (function_id,) = [k for k, f in hub.find_resources("AWS::Lambda::Function").items()
                      if f["Properties"]["Handler"] == "mlgov.handlers.approval.handler"]  # fmt: skip
    requests = {
        "start": RequestContext("states:StartExecution", resource=concrete(f"${{Ref:{machine_id}}}")),
        "invoke": RequestContext("lambda:InvokeFunction", resource=concrete(f"${{GetAtt:{function_id}.Arn}}")),
    }
    granted: dict[str, set[str]] = {"start": set(), "invoke": set()}
    for role_id, role in hub.find_resources("AWS::IAM::Role").items():
        statements = concrete([{**s, "Resource": rendered(s["Resource"])} for s in role_statements(hub, role_id)])
        policies = {"identity": {"Version": "2012-10-17", "Statement": statements}}
        for what, request in requests.items():
            if evaluate(policies, request, full_aws_access=False).allowed:
                granted[what].add(role["Properties"].get("RoleName") or role_id)
    own = {name for name in granted["start"] if name.startswith("ApprovalStateMachineRole")}  # its Distributed Map
    assert len(own) == 1 and granted["start"] - own == {"mlgov-hub-scanner", "mlgov-hub-hyperpod"}
    machines = {name for name in granted["invoke"] if name.startswith("ApprovalStateMachineRole")}  # its tasks
    assert granted["invoke"] - machines == {"mlgov-hub-hyperpod", "mlgov-hub-slack-interactions"}, granted["invoke"]
    assert not [p for p in hub.find_resources("AWS::Lambda::Permission").values()
                if function_id in json.dumps(p["Properties"]["FunctionName"])]  # fmt: skip
