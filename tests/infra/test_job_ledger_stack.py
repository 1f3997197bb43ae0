"""The job cost ledger synthesized from the real cdk.json: table, function, role, hub rule, spoke forwarding, trust."""

from __future__ import annotations

from fnmatch import fnmatchcase

import pytest
from aws_cdk.assertions import Template

from tests.infra.template_helpers import as_list, only, render, role_statements

LEDGER_HANDLER = "mlgov.handlers.job_ledger.handler"
LEDGER_ROLE_NAME = "mlgov-hub-job-ledger"
SPOKE_ROLE_NAME = "mlgov-spoke"
JOB_DETAIL_TYPES = [
    "SageMaker Processing Job State Change",
    "SageMaker Training Job State Change",
    "SageMaker Transform Job State Change",
]


@pytest.fixture(scope="module")
def hub(synthesized) -> Template:
    stacks, _ = synthesized
    return Template.from_stack(stacks["hub"])


@pytest.fixture(scope="module")
def spoke(spoke_template) -> Template:
    return spoke_template  # the MlgovOrg StackSet's TemplateBody


@pytest.fixture(scope="module")
def mlgov(cdk_context) -> dict:
    return cdk_context["mlgov"]


def ledger_function(hub: Template) -> tuple[str, dict]:
    return only(hub, "AWS::Lambda::Function", {"Handler": LEDGER_HANDLER})


def ledger_table(hub: Template) -> tuple[str, dict]:
    """The table the stack's JobLedgerTableName output names."""
    outputs = hub.to_json()["Outputs"]
    table_id = next(o["Value"]["Ref"] for name, o in outputs.items() if name.startswith("JobLedgerTableName"))
    table = hub.to_json()["Resources"][table_id]
    assert table["Properties"]["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    return table_id, table


def ledger_rule(hub: Template) -> dict:
    """The hub-bus rule whose target is the ledger function."""
    function_id, _ = ledger_function(hub)
    bus_id, _ = only(hub, "AWS::Events::EventBus", {"Name": "mlgov-hub"})
    rules = [
        rule
        for rule in hub.find_resources("AWS::Events::Rule", {"Properties": {"EventBusName": {"Ref": bus_id}}}).values()
        if any(target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]} for target in rule["Properties"]["Targets"])
    ]
    assert len(rules) == 1, rules
    return rules[0]


def ledger_queue_id(hub: Template) -> str:
    _, function = ledger_function(hub)
    return function["Properties"]["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0]


def spoke_job_rule(spoke: Template) -> dict:
    rules = [
        rule
        for rule in spoke.find_resources("AWS::Events::Rule").values()
        if rule["Properties"].get("EventBusName", "default") == "default"
        and "SageMaker Training Job State Change" in rule["Properties"]["EventPattern"].get("detail-type", [])
    ]
    assert len(rules) == 1, rules
    return rules[0]


# ---------------------------------------------------------------- the ledger table


def test_ledger_table_is_keyed_on_pk_on_demand_with_point_in_time_recovery_and_outlives_the_stack(hub, mlgov):
    _, table = ledger_table(hub)
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert "TimeToLiveSpecification" not in props  # ledger rows are the record; nothing expires them
    if table["Type"] == "AWS::DynamoDB::GlobalTable":
        assert [replica["Region"] for replica in props["Replicas"]] == [mlgov["hub_region"]]
        pitr = [replica.get("PointInTimeRecoverySpecification") for replica in props["Replicas"]]
    else:
        pitr = [props.get("PointInTimeRecoverySpecification")]
    assert pitr == [{"PointInTimeRecoveryEnabled": True}]
    assert table["DeletionPolicy"] == "Retain" and table["UpdateReplacePolicy"] == "Retain"


# ---------------------------------------------------------------- the function


def test_ledger_function_runs_the_job_ledger_handler_like_the_auto_tagger(hub):
    _, ledger = ledger_function(hub)
    _, auto_tagger = only(hub, "AWS::Lambda::Function", {"Handler": "mlgov.handlers.auto_tagger.handler"})
    for key in ("Runtime", "Architectures", "Layers", "Code"):
        assert ledger["Properties"][key] == auto_tagger["Properties"][key], key
    assert ledger["Properties"]["Runtime"] == "python3.12"


def test_ledger_environment_names_its_table_its_queue_and_the_spoke_role(hub, mlgov):
    table_id, _ = ledger_table(hub)
    _, function = ledger_function(hub)
    env = function["Properties"]["Environment"]["Variables"]
    assert env["MLGOV_LEDGER_TABLE"] == {"Ref": table_id}
    assert env["MLGOV_DLQ_URL"] == {"Ref": ledger_queue_id(hub)}
    assert env["MLGOV_HUB_ACCOUNT"] == mlgov["hub_account"]
    assert env["MLGOV_SPOKE_ROLE"] == SPOKE_ROLE_NAME


def test_ledger_has_its_own_encrypted_dead_letter_queue_and_alarm(hub):
    queue_id = ledger_queue_id(hub)
    _, auto_tagger = only(hub, "AWS::Lambda::Function", {"Handler": "mlgov.handlers.auto_tagger.handler"})
    assert auto_tagger["Properties"]["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0] != queue_id
    assert hub.to_json()["Resources"][queue_id]["Properties"]["SqsManagedSseEnabled"] is True
    hub.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}],
            "Threshold": 1,
        },
    )


# ---------------------------------------------------------------- the role


def test_ledger_runs_as_the_fixed_name_role(hub):
    role_id, _ = only(hub, "AWS::IAM::Role", {"RoleName": LEDGER_ROLE_NAME})
    _, function = ledger_function(hub)
    assert function["Properties"]["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}


def test_ledger_role_may_only_put_rows_assume_the_spoke_role_describe_hub_training_jobs_and_park(hub, mlgov):
    role_id, _ = only(hub, "AWS::IAM::Role", {"RoleName": LEDGER_ROLE_NAME})
    table_id, _ = ledger_table(hub)
    granted: dict[str, list] = {}
    for statement in role_statements(hub, role_id):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            granted.setdefault(action, []).extend(render(as_list(statement["Resource"])))
    assert granted.pop("dynamodb:PutItem") == [f"${{GetAtt:{table_id}.Arn}}"]
    assert granted.pop("sts:AssumeRole") == [f"arn:${{AWS::Partition}}:iam::*:role/{SPOKE_ROLE_NAME}"]
    assert granted.pop("sagemaker:DescribeTrainingJob") == [
        f"arn:${{AWS::Partition}}:sagemaker:*:{mlgov['hub_account']}:training-job/*"
    ]
    queue = f"${{GetAtt:{ledger_queue_id(hub)}.Arn}}"
    assert set(granted.pop("sqs:SendMessage")) == {queue}
    assert set(granted.pop("sqs:GetQueueAttributes", [queue])) == {queue}
    assert set(granted.pop("sqs:GetQueueUrl", [queue])) == {queue}
    assert set(granted) == {"logs:CreateLogStream", "logs:PutLogEvents"}, granted


# ---------------------------------------------------------------- rules: the hub's, the spoke's, the same pattern


def test_hub_rule_sends_the_three_job_state_changes_to_the_ledger_with_retries_and_a_dlq(hub):
    rule = ledger_rule(hub)
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.sagemaker"]
    assert sorted(pattern["detail-type"]) == JOB_DETAIL_TYPES
    (target,) = rule["Properties"]["Targets"]
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [ledger_queue_id(hub), "Arn"]}}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] > 0


def test_spoke_forwards_exactly_the_hub_rules_job_pattern_from_the_default_bus(spoke, hub, mlgov):
    rule = spoke_job_rule(spoke)
    assert rule["Properties"]["EventPattern"] == ledger_rule(hub)["Properties"]["EventPattern"]
    (target,) = rule["Properties"]["Targets"]
    hub_bus = f"arn:${{AWS::Partition}}:events:{mlgov['hub_region']}:{mlgov['hub_account']}:event-bus/mlgov-hub"
    assert render(target["Arn"]) == hub_bus
    assert "RoleArn" in target


# ---------------------------------------------------------------- the spoke role trusts the ledger


def test_spoke_role_trusts_the_ledger_role_and_still_the_auto_tagger(spoke, mlgov):
    _, role = only(spoke, "AWS::IAM::Role", {"RoleName": SPOKE_ROLE_NAME})
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    patterns = as_list(statement["Condition"]["ArnEquals"]["aws:PrincipalArn"])
    hub_account = mlgov["hub_account"]

    def trusted(arn: str) -> bool:
        return any(fnmatchcase(arn, pattern) for pattern in patterns)

    assert trusted(f"arn:aws:iam::{hub_account}:role/{LEDGER_ROLE_NAME}")
    assert trusted(f"arn:aws:iam::{hub_account}:role/mlgov-hub-auto-tagger")
    assert not trusted(f"arn:aws:iam::{hub_account}:role/{LEDGER_ROLE_NAME}-copy")
    assert not trusted(f"arn:aws:iam::999999999999:role/{LEDGER_ROLE_NAME}")
