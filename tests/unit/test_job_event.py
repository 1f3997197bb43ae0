"""Job state-change events: ended jobs become JobEnded with their run facts, the rest JobNotEnded, bad ones BadEvent."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from mlgov.domain.create_event import BadEvent
from mlgov.domain.inventory import InstanceGroup
from mlgov.domain.job_event import (
    JOB_STATE_CHANGE_DETAIL_TYPES,
    JobEnded,
    JobNotEnded,
    job_resource,
    parse_job_event,
    parse_timestamp,
    with_training_times,
)
from tests.samples import job_events as je

STARTED = datetime(2026, 11, 24, 10, 2, tzinfo=UTC)
ENDED = datetime(2026, 11, 24, 10, 47, tzinfo=UTC)
STAMPS = {
    "iso": je.iso,
    "epoch-ms-number": je.epoch_ms,
    "epoch-ms-string": lambda moment: str(je.epoch_ms(moment)),
    "epoch-ms-float": lambda moment: float(je.epoch_ms(moment)),
    "iso-with-millis-and-offset": lambda moment: moment.isoformat(timespec="milliseconds"),
}
EVENTS = {"training-job": je.training_event, "processing-job": je.processing_event, "transform-job": je.transform_event}


# ---------------------------------------------------------------- ended jobs


def test_documented_training_example_shape_is_an_ended_training_job_without_billable_time():
    job = parse_job_event(je.training_event())

    assert isinstance(job, JobEnded)
    assert job.resource_type == "training-job"
    assert job.arn == f"arn:aws:sagemaker:eu-west-1:{je.MEMBER_ACCOUNT}:training-job/churn-xgb-train-20261124"
    assert (job.account, job.region, job.partition) == (je.MEMBER_ACCOUNT, "eu-west-1", "aws")
    assert job.name == "churn-xgb-train-20261124"
    assert job.status == "Completed"
    assert (job.instance_type, job.instance_count, job.instance_groups) == ("ml.m5.xlarge", 2, ())
    assert (job.started, job.ended) == (STARTED, ENDED)
    assert job.created == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert job.tags == je.TEAM_TAGS
    assert job.billable_seconds is None and job.training_seconds is None and job.managed_spot is False
    assert job.needs_training_times


@pytest.mark.parametrize("resource_type", sorted(EVENTS))
@pytest.mark.parametrize("status", ["Completed", "Failed", "Stopped"])
def test_every_terminal_status_of_every_job_type_is_an_ended_job(resource_type, status):
    event = EVENTS[resource_type](status=status)

    job = parse_job_event(event)

    assert isinstance(job, JobEnded)
    assert (job.resource_type, job.status) == (resource_type, status)
    assert job.event_id == event["id"]
    assert job.instance_count >= 1 and job.instance_type.startswith("ml.")


@pytest.mark.parametrize("stamp", sorted(STAMPS))
@pytest.mark.parametrize("resource_type", sorted(EVENTS))
def test_start_and_end_parse_the_same_in_every_timestamp_encoding(resource_type, stamp):
    event = EVENTS[resource_type](started=STARTED, ended=ENDED, stamp=STAMPS[stamp])

    job = parse_job_event(event)

    assert (job.started, job.ended) == (STARTED, ENDED)
    assert job.ended.tzinfo is not None


def test_processing_job_reads_its_cluster_config():
    job = parse_job_event(je.processing_event(instance_type="ml.r5.2xlarge", instance_count=4))

    assert (job.resource_type, job.instance_type, job.instance_count) == ("processing-job", "ml.r5.2xlarge", 4)
    assert not job.needs_training_times


def test_transform_job_reads_its_transform_resources():
    job = parse_job_event(je.transform_event(instance_type="ml.c5.2xlarge", instance_count=3))

    assert (job.resource_type, job.instance_type, job.instance_count) == ("transform-job", "ml.c5.2xlarge", 3)


def test_failed_job_keeps_its_failure_reason():
    job = parse_job_event(je.training_event(status="Failed"))

    assert job.failure_reason.startswith("AlgorithmError")
    assert job_resource(job).details["failure_reason"] == job.failure_reason


def test_job_that_failed_before_starting_has_no_start():
    job = parse_job_event(je.processing_event(status="Failed", started=None))

    assert job.started is None and job.ended is not None


def test_end_falls_back_to_the_event_time_when_the_detail_has_none():
    event = je.transform_event(status="Stopped", ended=None)
    event["time"] = "2026-11-24T11:09:30Z"

    job = parse_job_event(event)

    assert job.ended == datetime(2026, 11, 24, 11, 9, 30, tzinfo=UTC)


def test_heterogeneous_training_cluster_is_read_as_instance_groups():
    event = je.training_event()
    event["detail"]["ResourceConfig"] = {
        "InstanceGroups": [
            {"InstanceGroupName": "gpu", "InstanceType": "ml.p4d.24xlarge", "InstanceCount": 2},
            {"InstanceGroupName": "cpu", "InstanceType": "ml.c5.18xlarge", "InstanceCount": 4},
        ],
        "VolumeSizeInGB": 100,
    }

    job = parse_job_event(event)

    assert job.instance_type is None and job.instance_count == 6
    assert job.instance_groups == (
        InstanceGroup("gpu", "ml.p4d.24xlarge", 2, 2),
        InstanceGroup("cpu", "ml.c5.18xlarge", 4, 4),
    )


def test_instance_chosen_from_preferences_is_the_one_billed():
    event = je.training_event()
    event["detail"]["ResourceConfig"].update({"SelectedInstanceType": "ml.g5.2xlarge", "SelectedInstanceCount": 1})

    job = parse_job_event(event)

    assert (job.instance_type, job.instance_count) == ("ml.g5.2xlarge", 1)


def test_billable_time_in_the_event_is_used_and_no_describe_is_needed():
    event = je.training_event()
    event["detail"].update(
        {"BillableTimeInSeconds": 900, "TrainingTimeInSeconds": 2700, "EnableManagedSpotTraining": True}
    )

    job = parse_job_event(event)

    assert (job.billable_seconds, job.training_seconds, job.managed_spot) == (900, 2700, True)
    assert not job.needs_training_times


def test_describe_training_job_supplies_billable_time_and_managed_spot():
    job = parse_job_event(je.training_event())
    described = {
        "TrainingJobName": job.name,
        "TrainingJobStatus": "Completed",
        "BillableTimeInSeconds": 1200,
        "TrainingTimeInSeconds": 2700,
        "EnableManagedSpotTraining": True,
    }

    completed = with_training_times(job, described)
    resource = job_resource(completed)

    assert (resource.billable_seconds, resource.training_seconds, resource.managed_spot) == (1200, 2700, True)
    assert (resource.started, resource.ended, resource.status) == (STARTED, ENDED, "Completed")
    assert resource.is_job and resource.tags == je.TEAM_TAGS


def test_tags_given_as_a_key_value_list_are_read_too():
    event = je.training_event()
    event["detail"]["Tags"] = [{"Key": "ml:team", "Value": "fraud"}]

    assert parse_job_event(event).tags == {"ml:team": "fraud"}


def test_arn_falls_back_to_the_events_single_resource():
    event = je.processing_event()
    del event["detail"]["ProcessingJobArn"]

    assert parse_job_event(event).arn == event["resources"][0]


# ---------------------------------------------------------------- not ended: acknowledged, nothing to record


@pytest.mark.parametrize("resource_type", sorted(EVENTS))
@pytest.mark.parametrize("status", ["InProgress", "Stopping"])
def test_job_still_running_or_stopping_has_not_ended(resource_type, status):
    event = EVENTS[resource_type](status=status, ended=None)

    job = parse_job_event(event)

    assert isinstance(job, JobNotEnded)
    assert job.status == status and job.arn == event["resources"][0]


def test_a_deleting_training_job_has_not_ended_either():
    assert isinstance(parse_job_event(je.training_event(status="Deleting")), JobNotEnded)


# ---------------------------------------------------------------- bad events: a reason each


def _broken(change) -> dict:
    event = copy.deepcopy(je.training_event())
    change(event)
    return event


BAD_EVENTS = {
    "not-an-object": (lambda: ["a", "list"], "not an object"),
    "other-source": (lambda: _broken(lambda e: e.update(source="aws.ec2")), "not a SageMaker job state change"),
    "endpoint-state-change": (
        lambda: _broken(lambda e: e.update({"detail-type": "SageMaker Endpoint State Change"})),
        "not a SageMaker job state change",
    ),
    "cloudtrail-record": (
        lambda: _broken(lambda e: e.update({"detail-type": "AWS API Call via CloudTrail"})),
        "not a SageMaker job state change",
    ),
    "no-detail": (lambda: _broken(lambda e: e.pop("detail")), "no 'detail'"),
    "no-id": (lambda: _broken(lambda e: e.pop("id")), "event.id is missing"),
    "no-status": (lambda: _broken(lambda e: e["detail"].pop("TrainingJobStatus")), "TrainingJobStatus is missing"),
    "no-arn-anywhere": (
        lambda: _broken(lambda e: (e["detail"].pop("TrainingJobArn"), e.pop("resources"))),
        "TrainingJobArn is missing",
    ),
    "arn-of-another-type": (
        lambda: _broken(
            lambda e: e["detail"].update(TrainingJobArn=e["detail"]["TrainingJobArn"].replace("training", "processing"))
        ),
        "not a SageMaker training-job ARN",
    ),
    "account-mismatch": (lambda: _broken(lambda e: e.update(account="999999999999")), "does not match the job ARN"),
    "region-mismatch": (lambda: _broken(lambda e: e.update(region="us-east-1")), "does not match the job ARN"),
    "unparseable-end": (
        lambda: _broken(lambda e: e["detail"].update(TrainingEndTime="yesterday")),
        "detail.TrainingEndTime 'yesterday' is not a timestamp",
    ),
    "epoch-seconds-not-ms": (
        lambda: _broken(lambda e: e["detail"].update(TrainingEndTime=1795949220)),
        "TrainingEndTime 1795949220 is not a timestamp",
    ),
    "boolean-time": (
        lambda: _broken(lambda e: e["detail"].update(TrainingStartTime=True)),
        "TrainingStartTime True is not a timestamp",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_EVENTS))
def test_bad_event_is_rejected_with_a_reason_naming_the_problem(case):
    make, reason = BAD_EVENTS[case]

    with pytest.raises(BadEvent) as raised:
        parse_job_event(make())

    assert reason in str(raised.value)


# ---------------------------------------------------------------- the table and the timestamps


def test_the_three_job_detail_types_are_the_documented_names():
    assert sorted(JOB_STATE_CHANGE_DETAIL_TYPES) == [je.PROCESSING, je.TRAINING, je.TRANSFORM]


@pytest.mark.parametrize(
    "value",
    [1795942920000, "1795942920000", 1795942920000.0, "1795942920000.0", "2026-11-29T09:02:00Z", "2026-11-29T09:02:00"],
)
def test_parse_timestamp_accepts_epoch_ms_and_iso(value):
    assert parse_timestamp(value) == datetime(2026, 11, 29, 9, 2, tzinfo=UTC)
