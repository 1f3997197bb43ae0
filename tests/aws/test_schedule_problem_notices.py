"""The scheduler's rejected or stuck actions reach the notifications topic (moto SNS → a subscribed SQS queue); a dry
run or a clean pass publishes nothing."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from mlgov.aws.hyperpod_state import InMemoryStateStore
from mlgov.handlers.hyperpod_scheduler_runtime import HyperPodSchedulerRuntime
from mlgov.settings import SchedulerSettings

pytestmark = pytest.mark.aws

ARN = "arn:aws:sagemaker:eu-west-1:333333333333:endpoint/churn"


def _outcome(outcome: str, reason: str, message: str = "") -> dict:
    return {"account": "333333333333", "region": "eu-west-1", "cluster": "churn", "arn": ARN, "action": "scale_up",
            "outcome": outcome, "reason": reason, "target_counts": {}, "window_id": "on:x",
            "message": message}  # fmt: skip


def test_rejections_and_unrestored_minimums_are_published_once_per_pass():
    with mock_aws():
        sns, sqs = boto3.client("sns", region_name="eu-west-1"), boto3.client("sqs", region_name="eu-west-1")
        topic = sns.create_topic(Name="mlgov-notifications")["TopicArn"]
        queue = sqs.create_queue(QueueName="probe")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
        config = SchedulerSettings("222222222222", "mlgov-spoke", "state", True, ("333333333333",), ("eu-west-1",),
                                   notify_topic=topic)  # fmt: skip
        runtime = HyperPodSchedulerRuntime(config, sessions=None, store=InMemoryStateStore())
        summary = {
            "dry_run": False,
            "clusters": [
                _outcome("rejected", "inside the window: restore AllTraffic=3", "InsufficientCapacity"),
                _outcome("applied", "restore; MinCapacity of endpoint/churn/variant/AllTraffic not restored yet: ..."),
                _outcome("applied", "inside the window: restore AllTraffic=3"),
            ],
        }
        assert runtime.publish_problems(summary) == 2
        assert runtime.publish_problems({**summary, "dry_run": True}) == 0
        assert runtime.publish_problems({"dry_run": False, "clusters": [summary["clusters"][2]]}) == 0
        [message] = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert message["Body"].startswith("rejected: churn (arn:aws:sagemaker:eu-west-1:333333333333:endpoint/churn)")
    assert "InsufficientCapacity" in message["Body"] and "not restored yet" in message["Body"]
