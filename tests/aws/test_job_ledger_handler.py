"""The job_ledger handler on moto: job state-change events in, one ledger row per ended job out (or the DLQ)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from mlgov.aws.ledger_table import LedgerTable
from mlgov.domain.pricing import PriceTable
from tests.samples import job_events as je

REGION = je.REGION
HUB_ACCOUNT = "123456789012"  # moto's default account
TABLE = "mlgov-job-ledger"
TRAINING_PRICE = 0.256  # ml.m5.xlarge training, this test's price table
PRICES = PriceTable(
    as_of="2026-11-01",
    source="test table",
    currency="USD",
    prices={REGION: {"ml.m5.xlarge": 0.23, "ml.m5.large": 0.115, "ml.c5.xlarge": 0.204}},
    components={REGION: {"training": {"ml.m5.xlarge": TRAINING_PRICE}}},
)


@dataclass
class FakeLambdaContext:
    function_name: str = "mlgov-job-ledger"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{HUB_ACCOUNT}:function:mlgov-job-ledger"
    aws_request_id: str = "00000000-0000-0000-0000-000000000001"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _reset_handler_caches() -> None:
    from mlgov.handlers import job_ledger
    from mlgov.settings import settings

    job_ledger._runtime.cache_clear()
    settings.cache_clear()


def create_ledger_table(name: str = TABLE) -> None:
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def aws(monkeypatch):
    """moto with the hub's ledger table and DLQ, the handler's environment, and a fixed price table."""
    with mock_aws():
        create_ledger_table()
        queue_url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="job-ledger-dlq")["QueueUrl"]
        monkeypatch.setenv("MLGOV_HUB_ACCOUNT", HUB_ACCOUNT)
        monkeypatch.setenv("MLGOV_LEDGER_TABLE", TABLE)
        monkeypatch.setenv("MLGOV_DLQ_URL", queue_url)
        monkeypatch.setattr("mlgov.price_files.load_price_table", lambda path=None: PRICES)
        _reset_handler_caches()
        yield {"dlq": queue_url, "member": _member_sagemaker()}
        _reset_handler_caches()


def _member_sagemaker():
    credentials = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{je.MEMBER_ACCOUNT}:role/setup", RoleSessionName="test-setup"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    ).client("sagemaker", region_name=REGION)


def _handle(event: object) -> dict:
    from mlgov.handlers.job_ledger import handler

    return handler(event, FakeLambdaContext())


def _rows() -> list[dict]:
    return LedgerTable(boto3.client("dynamodb", region_name=REGION), TABLE).read_rows(datetime(2000, 1, 1, tzinfo=UTC))


def _spot_training_job(sm, account: str, name: str, *, billable: int, training: int) -> None:
    """A managed-spot training job; moto reports no times, so the service's billing fields are set on its record."""
    from moto.sagemaker.models import sagemaker_backends

    sm.create_training_job(
        TrainingJobName=name,
        AlgorithmSpecification={"TrainingImage": je.IMAGE, "TrainingInputMode": "File"},
        RoleArn=je.ROLE,
        OutputDataConfig={"S3OutputPath": "s3://ml-artifacts/churn/"},
        ResourceConfig={"InstanceType": "ml.m5.xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30},
        StoppingCondition={"MaxRuntimeInSeconds": 7200, "MaxWaitTimeInSeconds": 10800},
        EnableManagedSpotTraining=True,
    )
    _set_training_times(sagemaker_backends[account][REGION].training_jobs[name], billable, training)


def _set_training_times(record, billable: int, training: int) -> None:
    record.billable_time_in_seconds = billable  # rendered by moto as BillableTimeInSeconds
    record.training_time_in_seconds = training


def _dlq_messages(queue_url: str) -> list[dict]:
    sqs = boto3.client("sqs", region_name=REGION)
    return sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
        "Messages", []
    )


# ---------------------------------------------------------------- ended jobs make one row each


def test_completed_managed_spot_training_job_in_a_member_account_gets_one_costed_row(aws):
    name = "churn-xgb-train-20261124"
    _spot_training_job(aws["member"], je.MEMBER_ACCOUNT, name, billable=1200, training=2700)

    result = _handle(je.training_event(name))

    (row,) = _rows()
    assert result["status"] == "written"
    assert row["pk"] == f"job#arn:aws:sagemaker:{REGION}:{je.MEMBER_ACCOUNT}:training-job/{name}"
    assert (row["account"], row["job_type"], row["status"]) == (je.MEMBER_ACCOUNT, "training-job", "Completed")
    assert (row["billable_seconds"], row["training_seconds"], row["managed_spot"]) == (1200, 2700, True)
    expected = 1200 * 2 * TRAINING_PRICE / 3600  # billable x instances x hourly / 3600
    assert row["cost_usd"] == Decimal(str(round(expected, 6)))
    assert row["spot_savings_pct"] == Decimal("55.56")  # (1 - 1200/2700) x 100
    assert row["price_as_of"] == "2026-11-01"
    assert row["tags"] == je.TEAM_TAGS
    assert (row["started"], row["ended"]) == ("2026-11-24T10:02:00.000Z", "2026-11-24T10:47:00.000Z")


def test_redelivered_terminal_event_leaves_the_one_row_unchanged(aws):
    from moto.sagemaker.models import sagemaker_backends

    name = "delivered-twice"
    _spot_training_job(aws["member"], je.MEMBER_ACCOUNT, name, billable=1200, training=2700)
    event = je.training_event(name)
    _handle(event)
    (first,) = _rows()
    # Whatever the service says on the second delivery, the stored row is not rewritten.
    _set_training_times(sagemaker_backends[je.MEMBER_ACCOUNT][REGION].training_jobs[name], 1, 2700)

    again = _handle(event)

    assert again["status"] == "unchanged"
    assert _rows() == [first]


def test_a_second_event_for_the_same_end_does_not_rewrite_the_row(aws):
    """SageMaker may send several events per state change, each with its own id: still one row."""
    name = "sent-twice"
    _spot_training_job(aws["member"], je.MEMBER_ACCOUNT, name, billable=600, training=600)
    _handle(je.training_event(name))
    (first,) = _rows()

    second = _handle(je.training_event(name))  # a new event id, the same job and end

    assert second["status"] == "unchanged" and _rows() == [first]


def test_failed_processing_job_gets_a_row_without_any_describe_call(aws):
    event = je.processing_event("churn-features-broken", status="Failed")  # 09:03 -> 09:23, 1 x ml.m5.large

    result = _handle(event)

    (row,) = _rows()
    assert result["status"] == "written"
    assert (row["job_type"], row["status"], row["name"]) == ("processing-job", "Failed", "churn-features-broken")
    assert row["cost_usd"] == Decimal(str(round(1200 * 0.115 / 3600, 6)))
    assert row["failure_reason"].startswith("ClientError")
    assert row["billable_seconds"] is None and row["managed_spot"] is False


def test_stopped_transform_job_gets_a_row(aws):
    _handle(je.transform_event(status="Stopped"))  # 11:04 -> 11:14, 3 x ml.c5.xlarge

    (row,) = _rows()
    assert (row["job_type"], row["status"], row["instance_count"]) == ("transform-job", "Stopped", 3)
    assert row["cost_usd"] == Decimal(str(round(600 * 3 * 0.204 / 3600, 6)))


def test_in_progress_job_is_acknowledged_and_writes_nothing(aws):
    result = _handle(je.training_event("still-running", status="InProgress", ended=None))

    assert result == {"status": "ignored", "job_status": "InProgress"}
    assert _rows() == []
    assert _dlq_messages(aws["dlq"]) == []


def test_hub_account_training_job_is_described_without_assuming_a_role(aws, monkeypatch):
    import mlgov.aws.sessions as sessions

    hub = boto3.client("sagemaker", region_name=REGION)
    _spot_training_job(hub, HUB_ACCOUNT, "hub-job", billable=300, training=900)
    assumed: list[str] = []
    original = sessions.AccountSessions._assume
    monkeypatch.setattr(
        sessions.AccountSessions,
        "_assume",
        lambda self, account, *args: assumed.append(account) or original(self, account, *args),
    )

    _handle(je.training_event("hub-job", account=HUB_ACCOUNT))

    (row,) = _rows()
    assert row["billable_seconds"] == 300 and row["spot_savings_pct"] == Decimal("66.67")
    assert assumed == []


def test_training_job_the_member_account_cannot_describe_raises_for_a_lambda_retry(aws):
    with pytest.raises(ClientError, match="Could not find training job"):
        _handle(je.training_event("never-created"))

    assert _rows() == []


# ---------------------------------------------------------------- bad events: parked with the reason


def test_bad_event_is_parked_in_the_dlq_with_its_reason_and_writes_nothing(aws):
    event = je.training_event()
    event["account"] = "999999999999"  # the envelope disagrees with the job's ARN

    result = _handle(event)

    assert result["status"] == "rejected" and "does not match the job ARN" in result["reason"]
    (parked,) = _dlq_messages(aws["dlq"])
    assert "does not match the job ARN" in parked["MessageAttributes"]["reason"]["StringValue"]
    assert json.loads(parked["Body"])["id"] == event["id"]
    assert _rows() == []


def test_an_event_that_is_no_job_state_change_is_parked_and_the_next_one_still_recorded(aws):
    endpoint_event = je.envelope(
        "SageMaker Endpoint State Change",
        f"arn:aws:sagemaker:{REGION}:{je.MEMBER_ACCOUNT}:endpoint/churn",
        {"EndpointName": "churn", "EndpointStatus": "IN_SERVICE", "Tags": {}},
        account=je.MEMBER_ACCOUNT,
        region=REGION,
        time="2026-11-24T10:00:00Z",
    )

    first = _handle(endpoint_event)
    second = _handle(je.processing_event())

    assert first["status"] == "rejected" and "not a SageMaker job state change" in first["reason"]
    assert second["status"] == "written" and len(_rows()) == 1


# ---------------------------------------------------------------- the table adapter's contract


def _item(arn: str, ended: str, cost: str) -> dict:
    return {"pk": f"job#{arn}", "arn": arn, "ended": ended, "cost_usd": Decimal(cost), "tags": {}}


def test_put_never_replaces_a_row_with_an_older_or_equal_end_but_a_later_end_replaces_it(aws):
    table = LedgerTable(boto3.client("dynamodb", region_name=REGION), TABLE)
    arn = f"arn:aws:sagemaker:{REGION}:{je.MEMBER_ACCOUNT}:training-job/a"

    assert table.put_job_row(_item(arn, "2026-11-24T10:47:00.000Z", "1.5")) is True
    assert table.put_job_row(_item(arn, "2026-11-24T10:46:59.999Z", "9")) is False
    assert table.put_job_row(_item(arn, "2026-11-24T10:47:00.000Z", "9")) is False
    assert [row["cost_usd"] for row in _rows()] == [Decimal("1.5")]
    assert table.put_job_row(_item(arn, "2026-11-24T10:48:00.000Z", "2")) is True
    assert [row["cost_usd"] for row in _rows()] == [Decimal("2")]


def test_read_rows_returns_every_page_of_jobs_ended_since_the_cutoff(aws):
    table = LedgerTable(boto3.client("dynamodb", region_name=REGION), TABLE)
    for day in range(1, 8):
        arn = f"arn:aws:sagemaker:{REGION}:{je.MEMBER_ACCOUNT}:processing-job/day-{day}"
        table.put_job_row(_item(arn, f"2026-11-0{day}T12:00:00.000Z", "1"))

    rows = table.read_rows(datetime(2026, 11, 4, 12, 0, tzinfo=UTC), page_size=2)

    assert sorted(row["arn"].rsplit("-", 1)[1] for row in rows) == ["4", "5", "6", "7"]


def test_a_rejected_event_logs_none_of_the_previous_jobs_keys(aws):
    import io
    import logging

    from mlgov.handlers.job_ledger import logger

    stream = io.StringIO()
    capture = logging.StreamHandler(stream)
    capture.setFormatter(logger.registered_formatter)
    logger.addHandler(capture)
    bad = je.training_event()
    bad["account"] = "999999999999"  # the envelope disagrees with the job's ARN
    try:
        assert _handle(je.processing_event())["status"] == "written"
        assert _handle(bad)["status"] == "rejected"
    finally:
        logger.removeHandler(capture)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    [rejected] = [line for line in lines if line["message"].startswith("event rejected")]
    assert any("job_arn" in line for line in lines)  # the recorded job's lines carry its keys
    assert "job_arn" not in rejected and "event_id" not in rejected
