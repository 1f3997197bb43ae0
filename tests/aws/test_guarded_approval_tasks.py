"""Confirm and Delete act only for a running execution of the hub's approval state machine that is about the same
resource (moto runs the state machine: a waitForTaskToken state keeps it RUNNING). Another hub function allowed to
invoke the approval function for its own task (the Slack function, the scheduler) cannot make it confirm or delete."""

from __future__ import annotations

import json
import time

import boto3
import pytest
from moto import mock_aws

from mlgov.handlers.approval_runtime import running_execution_problem
from mlgov.settings import ApprovalSettings
from tests.aws.test_slack_interactions import _waiting_machine

pytestmark = pytest.mark.aws

REGION, HUB = "eu-west-1", "123456789012"  # moto's account is the hub here
ENDPOINT = "arn:aws:sagemaker:us-east-1:333333333333:endpoint/churn"
CONFIG = ApprovalSettings(hub_account=HUB, archive_bucket="b", approvals_table="t", slack_channel="C",
                          slack_token_secret="s")  # fmt: skip


@pytest.fixture
def machines():
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        queue = boto3.client("sqs", region_name=REGION).create_queue(QueueName="wait")["QueueUrl"]
        role = boto3.client("iam").create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        sfn = boto3.client("stepfunctions", region_name=REGION)
        definition = json.dumps(_waiting_machine(queue, timeout_seconds=60))
        arns = {name: sfn.create_state_machine(name=name, roleArn=role, definition=definition)["stateMachineArn"]
                for name in ("mlgov-approval", "lookalike")}  # fmt: skip

        def start(machine: str, arn: str = ENDPOINT) -> str:
            payload = json.dumps({"finding": {"arn": arn}})
            return sfn.start_execution(stateMachineArn=arns[machine], input=payload)["executionArn"]

        def token() -> str:
            messages = boto3.client("sqs", region_name=REGION).receive_message(QueueUrl=queue, WaitTimeSeconds=1)
            return json.loads(messages["Messages"][0]["Body"])["token"]

        yield sfn, start, token


def test_only_a_running_approval_about_the_same_endpoint_may_confirm_or_delete(machines):
    sfn, start, _token = machines
    running = start("mlgov-approval")
    assert running_execution_problem(running, ENDPOINT, CONFIG) is None
    assert "another resource" in running_execution_problem(running, ENDPOINT.replace("churn", "prod"), CONFIG)
    assert "not the approval state machine" in running_execution_problem(start("lookalike"), ENDPOINT, CONFIG)
    assert "no execution" in running_execution_problem(None, ENDPOINT, CONFIG)  # a direct invocation
    forged = running.replace(f":{HUB}:", ":999999999999:")
    assert "no execution" in running_execution_problem(forged, ENDPOINT, CONFIG)
    for _ in range(2):  # both waiting executions finish; the engine ends them on its own thread
        sfn.send_task_success(taskToken=_token(), output="{}")
    for _ in range(100):
        if sfn.describe_execution(executionArn=running)["status"] != "RUNNING":
            break
        time.sleep(0.05)
    assert "SUCCEEDED" in running_execution_problem(running, ENDPOINT, CONFIG)  # an execution that ended


def test_the_handler_refuses_a_delete_that_no_execution_asked_for(monkeypatch):
    from mlgov.handlers import approval
    from mlgov.services.approvals import ApprovalRefused

    monkeypatch.setattr(approval, "dispatch", lambda tasks, event: pytest.fail("the task must not run"))
    monkeypatch.setattr("mlgov.handlers.approval_runtime.approval_settings", lambda: CONFIG)

    class Context:
        function_name, memory_limit_in_mb, aws_request_id = "approval", 256, "r1"
        invoked_function_arn = f"arn:aws:lambda:{REGION}:{HUB}:function:mlgov-approval"

    for task in ("confirm", "delete"):
        with pytest.raises(ApprovalRefused, match=f"refusing to {task}: no execution"):
            approval.handler({"task": task, "state": {"finding": {"arn": ENDPOINT}}}, Context())
