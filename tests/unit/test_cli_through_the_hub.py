"""CLI commands that act through the hub (`mlgov exempt`, `mlgov hyperpod schedule`): the requests they send the
hub's functions, over botocore Stubbers (Lambda invoke needs Docker under moto)."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from mlgov.cli import main
from mlgov.cli.exempt import ExemptError, exemption_request

ARN = "arn:aws:sagemaker:eu-west-1:444455556666:endpoint/churn"
CALLER = "arn:aws:sts::222222222222:assumed-role/Platform/bob"


def test_the_request_names_the_endpoint_where_it_lives():
    request = exemption_request(ARN, "ticket-42", CALLER, "2027-01-15")
    assert request == {
        "task": "exempt_manually",
        "state": {"finding": {"arn": ARN, "account": "444455556666", "region": "eu-west-1", "name": "churn"}},
        "reason": "ticket-42",
        "by": CALLER,
        "until": "2027-01-15",
    }


@pytest.mark.parametrize(
    "arn", ["churn", "arn:aws:sagemaker:eu-west-1:444455556666:training-job/t", "arn:aws:s3:::bucket/endpoint/x"]
)
def test_anything_but_an_endpoint_or_notebook_arn_is_refused(arn):
    with pytest.raises(
        ExemptError, match="not a SageMaker endpoint, notebook instance, Studio app or Studio domain ARN"
    ):
        exemption_request(arn, "x", CALLER, None)


def test_a_notebook_instance_can_be_kept_running():
    request = exemption_request("arn:aws:sagemaker:eu-west-1:444455556666:notebook-instance/nb", "demo", CALLER, None)
    assert request["state"]["finding"]["name"] == "nb" and request["task"] == "exempt_manually"


def _payload(document: dict) -> StreamingBody:
    raw = json.dumps(document).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


@pytest.fixture
def stubbed(monkeypatch):
    """Every client the command creates is a real botocore client with a Stubber (parameters validated)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    clients = {
        "sts": boto3.client("sts", region_name="eu-west-1"),
        "lambda": boto3.client("lambda", region_name="eu-west-1"),
    }
    stubs = {name: Stubber(client) for name, client in clients.items()}
    monkeypatch.setattr(boto3.Session, "client", lambda self, service, **_: clients[service])
    stubs["sts"].add_response(
        "get_caller_identity", {"UserId": "AROA:bob", "Account": "222222222222", "Arn": CALLER}, {}
    )
    for stub in stubs.values():
        stub.activate()
    yield stubs
    for stub in stubs.values():
        stub.assert_no_pending_responses()
        stub.deactivate()


def test_exempt_invokes_the_hub_approval_function_and_prints_what_it_recorded(stubbed, capsys):
    value = f"exempted by {CALLER} on 2026-06-15: ticket-42"
    stubbed["lambda"].add_response(
        "invoke",
        {"StatusCode": 200, "Payload": _payload({"exempt": value, "until": None, "kind": "manual"})},
        {
            "FunctionName": "mlgov-approval",
            "Payload": json.dumps(exemption_request(ARN, "ticket-42", CALLER, None)).encode(),
        },
    )

    code = main(["exempt", ARN, "--reason", "ticket-42", "--region", "eu-west-1"])

    assert code == 0
    assert capsys.readouterr().out == f"exempted {ARN}: mlgov:exempt={value!r} (recorded by the hub)\n"


def test_a_refusal_by_the_function_is_one_line_and_exit_2(stubbed, capsys):
    stubbed["lambda"].add_response(
        "invoke",
        {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "Payload": _payload({"errorMessage": "until 2026-01-01 is not after today (2026-06-15)"}),
        },
    )

    code = main(["exempt", ARN, "--reason", "x", "--until", "2026-01-01", "--region", "eu-west-1"])

    err = capsys.readouterr().err
    assert code == 2
    assert err == "mlgov: error: mlgov-approval refused: until 2026-01-01 is not after today (2026-06-15)\n"


# --- mlgov hyperpod schedule -----------------------------------------------------------------------------------------

CLUSTER = "arn:aws:sagemaker:eu-west-1:222222222222:cluster/k3q9z8x7w6v5"
SCHEDULE = "mon-fri 08:00-20:00 Europe/Berlin"


def test_schedule_asks_the_hub_scheduler_to_write_the_tag(stubbed, capsys):
    request = {"task": "set_schedule", "cluster_arn": CLUSTER, "schedule": SCHEDULE, "by": CALLER}
    stubbed["lambda"].add_response(
        "invoke",
        {"StatusCode": 200, "Payload": _payload({**request, "at": "2026-06-15T06:00:00+00:00"})},
        {"FunctionName": "mlgov-hyperpod-scheduler", "Payload": json.dumps(request).encode()},
    )

    code = main(["hyperpod", "schedule", CLUSTER, SCHEDULE, "--region", "eu-west-1"])

    assert code == 0
    assert capsys.readouterr().out == f"scheduled {CLUSTER}: mlgov:schedule={SCHEDULE!r} (written by the hub)\n"


def test_clear_sends_no_schedule(stubbed, capsys):
    request = {"task": "set_schedule", "cluster_arn": CLUSTER, "schedule": None, "by": CALLER}
    stubbed["lambda"].add_response(
        "invoke",
        {"StatusCode": 200, "Payload": _payload({**request, "at": "2026-06-15T06:00:00+00:00"})},
        {"FunctionName": "mlgov-hyperpod-scheduler", "Payload": json.dumps(request).encode()},
    )

    assert main(["hyperpod", "schedule", CLUSTER, "--clear", "--region", "eu-west-1"]) == 0
    assert "cleared the schedule" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([CLUSTER, "sometimes"], "expected 'DAYS HH:MM-HH:MM TIMEZONE'"),
        ([CLUSTER], "give a SCHEDULE or --clear"),
        ([CLUSTER, SCHEDULE, "--clear"], "give a SCHEDULE or --clear"),
    ],
)
def test_a_bad_schedule_request_is_one_line_before_any_call(capsys, argv, message):
    code = main(["hyperpod", "schedule", *argv, "--region", "eu-west-1"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err
