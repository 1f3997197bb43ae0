"""The Slack interactions Lambda on moto: signed clicks against real task tokens of a running state machine.

moto runs the ASL (`execute_state_machine`): a `sqs:sendMessage.waitForTaskToken` state hands its token to a queue,
the test stores it with ApprovalsTable.put_pending (as the notify task will), and SendTaskSuccess really resumes the
execution. Requests are signed with the real algorithm (HMAC-SHA256 over `v0:{ts}:{body}`), independently of
slack-sdk. A Stubber replaces the Step Functions client only where moto cannot produce the error (TaskTimedOut,
throttling).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from mlgov.aws.approvals_table import ApprovalsTable

REGION = "eu-west-1"
TABLE = "mlgov-approvals"
SECRET_NAME = "mlgov/slack-signing-secret"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
APPROVER = "U0APPROVER"
FINDING = {
    "arn": "arn:aws:sagemaker:eu-west-1:111122223333:endpoint/churn-prod",
    "account": "111122223333",
    "region": REGION,
    "name": "churn-prod",
}


@dataclass
class FakeLambdaContext:
    function_name: str = "mlgov-slack-interactions"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:mlgov-slack-interactions"
    aws_request_id: str = "00000000-0000-0000-0000-000000000001"


@dataclass
class Flow:
    sfn: object
    sqs: object
    queue_url: str
    state_machine_arn: str
    table: ApprovalsTable
    now: datetime  # the test instant: the process clock is there too

    def start(self, timeout_seconds: int = 60) -> tuple[str, str]:
        """(execution ARN, approval id) for a new execution waiting on its task token."""
        execution = self.sfn.start_execution(stateMachineArn=self.state_machine_arn, input="{}")["executionArn"]
        token = self._token()
        ident = self.table.put_pending(
            token, FINDING, now=self.now, timeout=timedelta(seconds=timeout_seconds), snooze_days=14
        )
        return execution, ident

    def _token(self) -> str:
        for _ in range(100):
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=1).get("Messages")
            if messages:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
                return json.loads(messages[0]["Body"])["token"]
            time.sleep(0.05)
        raise AssertionError("the state machine never handed out a task token")

    def finished(self, execution: str) -> dict:
        for _ in range(100):
            described = self.sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.05)
        return described


@pytest.fixture
def flow(monkeypatch, instant):
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name=SECRET_NAME, SecretString=json.dumps({"signing_secret": SIGNING_SECRET})
        )
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="approval-notify")["QueueUrl"]
        role = boto3.client("iam").create_role(RoleName="mlgov-approval-flow", AssumeRolePolicyDocument="{}")
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(
            name="mlgov-approval-test",
            roleArn=role["Role"]["Arn"],
            definition=json.dumps(_waiting_machine(queue_url, timeout_seconds=60)),
        )["stateMachineArn"]
        monkeypatch.setenv("MLGOV_SLACK_SIGNING_SECRET", SECRET_NAME)
        monkeypatch.setenv("MLGOV_APPROVALS_TABLE", TABLE)
        monkeypatch.setenv("MLGOV_SLACK_APPROVERS", json.dumps([APPROVER, "U0SECOND"]))
        monkeypatch.setenv("AWS_REGION", REGION)
        _reset_caches()
        yield Flow(sfn, sqs, queue_url, machine, ApprovalsTable(dynamodb, TABLE), instant)
        _reset_caches()


class Replies(list):
    """(response_url, text) pairs; `runtime` is the runtime the handler uses (for a Stubber on its client)."""

    runtime = None


@pytest.fixture
def replies(flow, monkeypatch):
    """The ephemeral notes posted to response_url (recorded instead of reaching hooks.slack.com)."""
    from mlgov.handlers import slack_interactions
    from mlgov.handlers.slack_interactions_runtime import SlackInteractionsRuntime

    posted = Replies()
    runtime = SlackInteractionsRuntime.from_settings(slack_interactions.logger)
    runtime.reply = lambda url, text: posted.append((url, text))
    monkeypatch.setattr(slack_interactions, "_runtime", lambda: runtime)
    posted.runtime = runtime
    return posted


def _reset_caches() -> None:
    from mlgov.handlers import slack_interactions
    from mlgov.handlers.slack_interactions_runtime import interaction_settings

    if hasattr(slack_interactions._runtime, "cache_clear"):
        slack_interactions._runtime.cache_clear()
    interaction_settings.cache_clear()


def _waiting_machine(queue_url: str, timeout_seconds: int) -> dict:
    return {
        "StartAt": "WaitForDecision",
        "States": {
            "WaitForDecision": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": queue_url, "MessageBody": {"token.$": "$$.Task.Token"}},
                "TimeoutSeconds": timeout_seconds,
                "End": True,
            }
        },
    }


def signed_event(
    body: str, *, at: datetime, secret: str = SIGNING_SECRET, age_seconds: int = 0, base64_body: bool = False
) -> dict:
    """A request as Slack signs it, sent at `at` (minus `age_seconds`)."""
    timestamp = str(int(at.timestamp()) - age_seconds)
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "version": "2.0",
        "rawPath": "/",
        "headers": {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": timestamp,
            "x-slack-signature": f"v0={digest}",
            "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        },
        "body": base64.b64encode(body.encode()).decode() if base64_body else body,
        "isBase64Encoded": base64_body,
        "requestContext": {"http": {"method": "POST"}},
    }


def click_body(reference: str, action: str = "approve", user: str = APPROVER) -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": "T0TEAM"},
        "container": {"type": "message", "message_ts": "1767225600.000100", "channel_id": "C0CHAN"},
        "channel": {"id": "C0CHAN", "name": "ml-governance"},
        "message": {"type": "message", "ts": "1767225600.000100"},
        "response_url": "https://hooks.slack.com/actions/T0TEAM/1/abc",
        "actions": [{"action_id": action, "block_id": "mlgov_approval", "value": reference, "type": "button"}],
    }
    return urlencode({"payload": json.dumps(payload)})


def invoke(event: dict) -> tuple[int, dict]:
    from mlgov.handlers.slack_interactions import handler

    response = handler(event, FakeLambdaContext())
    return response["statusCode"], json.loads(response["body"])


def test_an_approver_click_resumes_the_execution_with_the_decision(flow, replies):
    execution, ident = flow.start()
    status, body = invoke(signed_event(click_body(ident), at=flow.now))
    assert status == 200
    assert body["response_type"] == "ephemeral" and "Approved" in body["text"] and len(body["text"]) < 300
    finished = flow.finished(execution)
    assert finished["status"] == "SUCCEEDED"
    assert json.loads(finished["output"]) == {"decision": "approve", "by": APPROVER}
    assert flow.table.get(ident)["status"] == "done"
    assert flow.table.get(ident)["decided_by"] == APPROVER
    assert replies == [("https://hooks.slack.com/actions/T0TEAM/1/abc", body["text"])]


def test_snooze_carries_the_stored_days(flow, replies):
    execution, ident = flow.start()
    status, _ = invoke(signed_event(click_body(ident, "snooze"), at=flow.now))
    assert status == 200
    assert json.loads(flow.finished(execution)["output"]) == {"decision": "snooze", "by": APPROVER, "days": 14}


def test_the_same_click_twice_acts_once(flow, replies):
    execution, ident = flow.start()
    event = signed_event(click_body(ident, "reject"), at=flow.now)
    first, second = invoke(event), invoke(event)  # Slack's retry of a slow answer carries the same body
    assert first[0] == second[0] == 200
    assert "Rejected" in first[1]["text"]
    assert "already handled" in second[1]["text"]
    assert json.loads(flow.finished(execution)["output"]) == {"decision": "reject", "by": APPROVER}


def test_the_same_click_twice_calls_step_functions_once(flow, replies):
    _, ident = flow.start()
    sfn = replies.runtime._client("stepfunctions")
    token = flow.table.get(ident)["task_token"]
    with Stubber(sfn) as stub:
        stub.add_response(
            "send_task_success", {}, {"taskToken": token, "output": json.dumps({"decision": "approve", "by": APPROVER})}
        )
        invoke(signed_event(click_body(ident), at=flow.now))
        _, body = invoke(signed_event(click_body(ident), at=flow.now))
        stub.assert_no_pending_responses()  # a second call would find no queued response and raise
    assert "already handled" in body["text"]


def test_a_non_approver_is_refused_and_nothing_changes(flow, replies):
    execution, ident = flow.start()
    status, body = invoke(signed_event(click_body(ident, user="U0INTRUDER"), at=flow.now))
    assert status == 200 and "only the configured mlgov approvers" in body["text"]
    assert flow.table.get(ident)["status"] == "pending"
    assert flow.sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"


@pytest.mark.parametrize(
    "event",
    [
        lambda at: signed_event(click_body("mZ3kQ9x-ab_Cd12345678A"), secret="not-the-signing-secret", at=at),
        lambda at: signed_event(click_body("mZ3kQ9x-ab_Cd12345678A"), age_seconds=301, at=at),
        lambda at: {"headers": {}, "body": click_body("mZ3kQ9x-ab_Cd12345678A")},
        lambda at: {
            "headers": {"x-slack-request-timestamp": "soon", "x-slack-signature": "v0=00"},
            "body": "payload=%7B%7D",
        },
    ],
    ids=["forged", "stale", "unsigned", "garbage-timestamp"],
)
def test_forged_stale_or_unsigned_requests_get_401(flow, replies, event):
    status, body = invoke(event(flow.now))
    assert status == 401 and body == {"error": "invalid signature"}
    assert replies == []


def test_a_forged_click_on_a_real_approval_changes_nothing(flow, replies):
    execution, ident = flow.start()
    status, _ = invoke(signed_event(click_body(ident), secret="guessed", at=flow.now))
    assert status == 401
    assert flow.table.get(ident)["status"] == "pending"
    assert flow.sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"


def test_a_base64_encoded_body_is_verified_and_handled(flow, replies):
    execution, ident = flow.start()
    status, body = invoke(signed_event(click_body(ident), base64_body=True, at=flow.now))
    assert status == 200 and "Approved" in body["text"]
    assert flow.finished(execution)["status"] == "SUCCEEDED"


def test_task_timed_out_is_answered_politely(flow, replies):
    _, ident = flow.start()
    sfn = replies.runtime._client("stepfunctions")
    with Stubber(sfn) as stub:
        stub.add_client_error(
            "send_task_success",
            service_error_code="TaskTimedOut",
            http_status_code=400,
            expected_params={"taskToken": flow.table.get(ident)["task_token"], "output": ANY},
        )
        status, body = invoke(signed_event(click_body(ident), at=flow.now))
    assert status == 200 and "already handled" in body["text"]
    assert flow.table.get(ident)["status"] == "done"


def test_a_click_after_the_execution_timed_out_is_already_handled(flow, replies):
    flow.sfn.update_state_machine(
        stateMachineArn=flow.state_machine_arn, definition=json.dumps(_waiting_machine(flow.queue_url, 1))
    )
    execution, ident = flow.start()
    assert flow.finished(execution)["status"] in ("TIMED_OUT", "FAILED")  # the Task state's timeout fails it
    status, body = invoke(signed_event(click_body(ident), at=flow.now))  # moto answers InvalidToken, as AWS may
    assert status == 200 and "already handled" in body["text"]


def test_a_click_past_the_stored_deadline_sends_nothing(flow, replies):
    execution, ident = flow.start(timeout_seconds=-1)
    status, body = invoke(signed_event(click_body(ident), at=flow.now))
    assert status == 200 and "already handled" in body["text"]
    assert flow.sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"


def test_a_transient_failure_releases_the_claim_for_another_click(flow, replies):
    execution, ident = flow.start()
    sfn = replies.runtime._client("stepfunctions")
    with Stubber(sfn) as stub:
        stub.add_client_error("send_task_success", service_error_code="ThrottlingException", http_status_code=400)
        stub.add_client_error("send_task_success", service_error_code="ThrottlingException", http_status_code=400)
        status, body = invoke(signed_event(click_body(ident), at=flow.now))
    assert status == 200 and "retry" in body["text"]
    assert flow.table.get(ident)["status"] == "pending"
    invoke(signed_event(click_body(ident), at=flow.now))
    assert json.loads(flow.finished(execution)["output"])["decision"] == "approve"


def test_an_unknown_reference_is_already_handled(flow, replies):
    status, body = invoke(signed_event(click_body("neverIssuedReference1"), at=flow.now))
    assert status == 200 and "already handled" in body["text"]


def test_a_signed_request_that_is_not_a_click_gets_a_200_note(flow, replies):
    status, body = invoke(signed_event(urlencode({"payload": json.dumps({"type": "shortcut"})}), at=flow.now))
    assert status == 200 and "cannot handle" in body["text"]


def test_put_pending_is_idempotent_per_token_and_keeps_the_token_out_of_the_id(flow):
    now = flow.now
    token = "AQB8AAAAKgAAAAMAAAAA" + "t" * 1200
    first = flow.table.put_pending(token, FINDING, now=now, timeout=timedelta(hours=72), snooze_days=14)
    again = flow.table.put_pending(token, FINDING, now=now, timeout=timedelta(hours=72), snooze_days=14)
    assert first == again and len(first) == 22 and token[:20] not in first
    flow.table.mark_message(first, "C0CHAN", "1767225600.000100")
    item = flow.table.get(first)
    assert (item["channel"], item["ts"], item["endpoint_arn"]) == ("C0CHAN", "1767225600.000100", FINDING["arn"])
    assert item["expires_at"] == int((now + timedelta(hours=72)).timestamp())


def test_neither_the_signing_secret_nor_a_task_token_reaches_the_logs(flow, replies, caplog):
    _, ident = flow.start()
    token = flow.table.get(ident)["task_token"]
    with caplog.at_level(logging.INFO):  # botocore's DEBUG wire log is off in Lambda (and would show anything)
        invoke(signed_event(click_body(ident), at=flow.now))
        invoke(signed_event(click_body(ident), secret="forged", at=flow.now))
        invoke(signed_event(click_body(ident, user="U0INTRUDER"), at=flow.now))
    logged = " ".join(repr(record.__dict__) for record in caplog.records)  # messages and their extras
    assert "decision sent to Step Functions" in logged and "refused" in logged  # the handler did log
    assert SIGNING_SECRET not in logged
    assert token not in logged


def test_a_retried_notify_keeps_the_message_and_the_decision_of_the_first(approvals_table):
    table = approvals_table
    now = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
    finding = {"arn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn", "name": "churn"}
    ident = table.put_pending("token-1", finding, now=now, timeout=timedelta(hours=72), snooze_days=30)
    table.mark_message(ident, "C0MLGOV01", "1700000000.000100")

    again = table.put_pending("token-1", finding, now=now, timeout=timedelta(hours=72), snooze_days=30)

    item = table.get(ident)
    assert again == ident and item["ts"] == "1700000000.000100" and item["channel"] == "C0MLGOV01"


NOTEBOOK = "arn:aws:sagemaker:eu-west-1:111122223333:notebook-instance/lab"


def _resource_click_runtime(replies, function: str | None = "mlgov-approval"):
    from dataclasses import replace

    replies.runtime.settings = replace(replies.runtime.settings, approval_function=function)
    return replies.runtime._client("lambda")


def test_a_keep_running_click_is_handed_to_the_approval_function_at_once(flow, replies):
    client = _resource_click_runtime(replies)
    request = {
        "task": "resource_click",
        "state": {"finding": {"arn": NOTEBOOK}},
        "action": "keep_running",
        "value": NOTEBOOK,
        "user_id": "U0DANA",
        "response_url": "https://hooks.slack.com/actions/T0TEAM/1/abc",
    }
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 202},
            {"FunctionName": "mlgov-approval", "InvocationType": "Event", "Payload": json.dumps(request)},
        )  # asynchronous: Slack's 3 s never wait for the hub's work; the approval function answers the clicker
        status, body = invoke(signed_event(click_body(NOTEBOOK, "keep_running#0", "U0DANA"), at=flow.now))
        stub.assert_no_pending_responses()
    assert status == 200 and body["text"].startswith("mlgov is on it")
    assert replies[-1][1] == body["text"]  # the clicker's private answer


def test_a_click_that_cannot_be_handed_over_says_so_and_changes_nothing(flow, replies):
    client = _resource_click_runtime(replies)
    with Stubber(client) as stub:
        stub.add_client_error("invoke", service_error_code="TooManyRequestsException", http_status_code=429)
        failed = invoke(signed_event(click_body(NOTEBOOK, "keep_running#0", "U0DANA"), at=flow.now))[1]
    assert "nothing was changed. Please retry" in failed["text"]
    _resource_click_runtime(replies, function=None)
    unwired = invoke(signed_event(click_body(NOTEBOOK, "keep_running#0", "U0DANA"), at=flow.now))[1]
    assert "does not take resource buttons" in unwired["text"]
