"""installation.py's probe plumbing on moto (and a Stubber where moto cannot fail a PutEvents entry)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from mlgov.aws.installation import Installation
from mlgov.domain.preflight import PROBE_QUEUE_NAME

REGION = "eu-west-1"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def probe_body(probe_id: str, sent_at: datetime) -> str:
    return json.dumps(
        {
            "version": "0",
            "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": "mlgov doctor probe",
            "source": "mlgov.doctor",
            "account": "333333333333",
            "time": sent_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [],
            "detail": {"probe_id": probe_id, "sent_at": sent_at.isoformat()},
        }
    )


@pytest.fixture
def queue():
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        yield sqs, sqs.create_queue(QueueName=PROBE_QUEUE_NAME)["QueueUrl"]


def test_waiting_deletes_this_probe_and_stale_ones_and_leaves_another_runs_probe(queue):
    sqs, url = queue
    for body in (
        probe_body("left-over", NOW - timedelta(hours=1)),
        probe_body("another-doctor", NOW - timedelta(seconds=3)),
        "not a probe",
        probe_body("mine", NOW),
    ):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    ticks = iter(range(100))
    installation = Installation(boto3.Session(), REGION, clock=lambda: float(next(ticks)), now=lambda: NOW)

    latency = installation.wait_for_probe(url, "mine", started=0.0, timeout=30)

    assert latency is not None and latency > 0
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    remaining = int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )
    assert remaining == 1  # another doctor's fresh probe stays for it


def test_waiting_gives_up_at_the_timeout(queue):
    _, url = queue
    ticks = iter([0.0, 0.5, 2.0])  # one long poll, then past the deadline
    installation = Installation(boto3.Session(), REGION, clock=lambda: next(ticks), now=lambda: NOW)

    assert installation.wait_for_probe(url, "mine", started=0.0, timeout=1.0) is None


def test_a_rejected_probe_entry_returns_eventbridges_error():
    installation = Installation(boto3.Session(region_name=REGION), REGION, now=lambda: NOW)
    events = installation._client("events")
    with Stubber(events) as stubber:
        stubber.add_response(
            "put_events",
            {
                "FailedEntryCount": 1,
                "Entries": [{"ErrorCode": "AccessDeniedException", "ErrorMessage": "not authorized to put events"}],
            },
            {
                "Entries": [
                    {
                        "Source": "mlgov.doctor",
                        "DetailType": "mlgov doctor probe",
                        "Detail": json.dumps({"probe_id": "p-1", "sent_at": NOW.isoformat()}),
                        "EventBusName": "default",
                    }
                ]
            },
        )

        assert installation.put_probe("p-1") == "AccessDeniedException: not authorized to put events"


def test_the_local_probe_rule_is_found_by_its_pattern_with_its_state():
    """What a lost probe's fix names. (moto routes events through disabled rules too, so the CLI test of a lost probe
    uses a missing rule instead.)"""
    with mock_aws():
        events = boto3.client("events", region_name=REGION)
        installation = Installation(boto3.Session(), REGION)
        assert installation.local_probe_rule() is None
        events.put_rule(Name="ForwardCreateCalls", EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
        events.put_rule(
            Name="MlgovSpoke-ForwardDoctorProbes",
            EventPattern=json.dumps({"source": ["mlgov.doctor"], "detail-type": ["mlgov doctor probe"]}),
            State="DISABLED",
        )

        assert installation.local_probe_rule() == ("MlgovSpoke-ForwardDoctorProbes", "DISABLED")
