"""A parked dev endpoint as the templates wire it: the schedule set through the hub (`mlgov schedules set ... park`),
the `mlgov-hyperpod` schedule fires the scheduler, which in the evening starts the hub's approval state machine with
the schedule as the approval (ParkCheck on the live protected tag, snapshot, verify, Confirm, guarded Delete through
the member's `mlgov-spoke-approval` role) and in the morning has the approval function recreate the endpoint from
that sealed snapshot, reusing the model and endpoint config the park left in place. Replays act once."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import time_machine

from tests.e2e.approval_kit import ENDPOINT, MEMBER, REGION, _endpoint_exists, _member, _tags

SCHEDULER = "mlgov.handlers.hyperpod_scheduler.handler"
PARK = "weekdays 08:00-19:00 Europe/Berlin park"
EVENING = datetime(2026, 11, 18, 19, 30, tzinfo=UTC)  # Wed 20:30 CET
MORNING = datetime(2026, 11, 19, 7, 15, tzinfo=UTC)  # Thu 08:15 CET


def _outcome(run: dict) -> dict:
    assert run["error"] is None, run
    (outcome,) = [o for o in run["result"]["clusters"] if o["arn"].endswith(f":endpoint/{ENDPOINT}")]
    return outcome


def _scheduled(flow, environment: str) -> None:
    sagemaker = _member(flow).client("sagemaker")
    tags = {"ml:environment": environment, "mlgov:created-by": "dana@example.com"}
    sagemaker.add_tags(ResourceArn=flow.endpoint_arn, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    scheduler = flow.lambdas.by_handler(SCHEDULER)
    flow.lambdas.set_environment(scheduler, {**flow.lambdas.environment(scheduler), "MLGOV_HYPERPOD_APPLY": "true"})
    request = {"task": "set_schedule", "cluster_arn": flow.endpoint_arn, "schedule": PARK, "by": "platform@x.com"}
    assert flow.lambdas.invoke(scheduler, request).error is None  # `mlgov schedules set <ARN> --schedule ...`


def test_a_dev_endpoint_is_parked_in_the_evening_and_restored_in_the_morning(flow):
    _scheduled(flow, "dev")
    posted_before = len(flow.slack.messages())
    with time_machine.travel(EVENING, tick=True):
        evening = _outcome(flow.fire_schedule("mlgov-hyperpod"))
        assert (evening["action"], evening["outcome"]) == ("park", "applied"), evening
        execution = evening["reason"].rsplit("approval flow execution ", 1)[1]
        result = flow.wait_for_execution(f"{flow.state_machine_arn('mlgov-approval')}:{execution}".replace(
            ":stateMachine:", ":execution:"), 60)  # fmt: skip
        assert result["status"] == "SUCCEEDED", result
        replay = _outcome(flow.fire_schedule("mlgov-hyperpod"))  # a retried pass of the same night
    assert not _endpoint_exists(flow)
    assert replay["outcome"] == "none" and replay["reason"] == "parked"
    assert len(flow.slack.messages()) == posted_before  # a nightly park posts nothing; the scheduler reports it
    s3 = flow.session(flow.templates.hub_account).client("s3")
    listed = s3.list_objects_v2(Bucket=flow.hub_resource("ArchiveBucket"), Prefix=f"snapshots/{MEMBER}/{REGION}/")
    (manifest_key,) = [o["Key"] for o in listed["Contents"] if o["Key"].endswith("manifest.json")]
    manifest = json.loads(s3.get_object(Bucket=flow.hub_resource("ArchiveBucket"), Key=manifest_key)["Body"].read())
    assert manifest["verification"]["verified"] is True

    with time_machine.travel(MORNING, tick=True):
        morning = _outcome(flow.fire_schedule("mlgov-hyperpod"))
        again = _outcome(flow.fire_schedule("mlgov-hyperpod"))
    assert (morning["action"], morning["outcome"]) == ("unpark", "applied"), morning
    assert manifest_key in morning["reason"]
    assert _endpoint_exists(flow) and again["outcome"] == "none"  # restored once
    tags = _tags(flow)
    assert tags["mlgov:schedule"] == PARK and tags["ml:environment"] == "dev"  # it comes back scheduled
    assert tags["mlgov:created-by"] == "dana@example.com" and "mlgov:zombie" not in tags
    described = _member(flow).client("sagemaker").describe_endpoint(EndpointName=ENDPOINT)
    assert described["EndpointConfigName"] == f"{ENDPOINT}-config"  # the config the park left in place


def test_a_prod_endpoint_with_a_park_schedule_is_left_running(flow):
    _scheduled(flow, "prod")
    with time_machine.travel(EVENING, tick=True):
        evening = _outcome(flow.fire_schedule("mlgov-hyperpod"))
    assert evening["outcome"] == "none" and "park is for dev endpoints" in evening["reason"]
    assert _endpoint_exists(flow)


def test_clearing_the_schedule_of_a_parked_endpoint_stops_the_parking_and_the_morning_restores_nothing(flow):
    _scheduled(flow, "dev")
    scheduler = flow.lambdas.by_handler(SCHEDULER)
    with time_machine.travel(EVENING, tick=True):
        evening = _outcome(flow.fire_schedule("mlgov-hyperpod"))
        execution = evening["reason"].rsplit("approval flow execution ", 1)[1]
        arn = f"{flow.state_machine_arn('mlgov-approval')}:{execution}".replace(":stateMachine:", ":execution:")
        assert flow.wait_for_execution(arn, 60)["status"] == "SUCCEEDED"
    clear = {"task": "set_schedule", "cluster_arn": flow.endpoint_arn, "schedule": None, "by": "platform@x.com"}
    cleared = flow.lambdas.invoke(scheduler, clear)
    assert cleared.error is None and "mlgov restore" in cleared.result["note"]  # `mlgov schedules set --clear`
    with time_machine.travel(MORNING, tick=True):
        run = flow.fire_schedule("mlgov-hyperpod")
    assert run["error"] is None and not [o for o in run["result"]["clusters"] if o["arn"] == flow.endpoint_arn]
    assert not _endpoint_exists(flow)  # it stays parked until someone restores it
