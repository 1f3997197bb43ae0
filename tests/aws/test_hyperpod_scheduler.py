"""The HyperPod scheduler against Stubber-validated SageMaker calls and moto DynamoDB: a night and a morning, skips,
rejections, dry runs, save-before-scale-down order, the state-store contract (DynamoDB and in-memory), the handler
and the `mlgov hyperpod` commands."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from mlgov.aws.hyperpod import HyperPodClusters
from mlgov.aws.hyperpod_state import DynamoDbStateStore, InMemoryStateStore
from mlgov.domain.hyperpod_plan import SAVED_TAG, update_request
from mlgov.domain.schedules import SCHEDULE_TAG, LastAction, SavedCounts
from mlgov.services.hyperpod import schedule_pass, summarize
from tests.samples.hyperpod import ACCOUNT, REGION, eks_cluster, scaled, slurm_cluster, strict_problems, summary

TABLE = "mlgov-hyperpod-state"
SCHEDULE = "mon-fri 08:00-20:00 Europe/Berlin"
MONDAY_NIGHT = datetime(2026, 3, 30, 19, 0, tzinfo=UTC)  # 21:00 CEST: off
TUESDAY_MORNING = datetime(2026, 3, 31, 6, 15, tzinfo=UTC)  # 08:15 CEST: on
ALL_ZERO = {"workers": 0, "flex": 0, "nova-rig": 0}
SAVED = {"workers": 4, "flex": 2, "nova-rig": 2}
PAGE = {"MaxResults": 100}
TAG_PAGE = {"MaxResults": 50}


def create_state_table(client) -> None:
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def dynamodb():
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_state_table(client)
        yield client


@pytest.fixture(params=["dynamodb", "memory"])
def store(request):
    """Every StateStore implementation: the contract tests and the scheduler tests run against each."""
    if request.param == "memory":
        yield InMemoryStateStore()
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_state_table(client)
        yield DynamoDbStateStore(client, TABLE)


class Recorder:
    """One ordered log of SageMaker operations (as sent, after botocore's validation) and state-store writes."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def watch(self, client) -> None:
        client.meta.events.register("before-parameter-build.sagemaker", self._sagemaker_call)

    def _sagemaker_call(self, model, **kwargs) -> None:
        self.calls.append(model.name)

    def store(self, inner):
        recorder = self

        class RecordingStore:
            def __getattr__(self, name):
                attribute = getattr(inner, name)
                if name in ("save_counts", "record_action", "set_hold", "forget_last_action"):

                    def write(*args, **kwargs):
                        recorder.calls.append(f"store.{name}")
                        return attribute(*args, **kwargs)

                    return write
                return attribute

        return RecordingStore()


@pytest.fixture
def sagemaker():
    client = boto3.client("sagemaker", region_name=REGION)
    recorder = Recorder()
    recorder.watch(client)
    with Stubber(client) as stubber:
        yield client, stubber, recorder
        stubber.assert_no_pending_responses()


def stub_listing(stubber, described: dict, tags: dict[str, str], store=None) -> None:
    """ListClusters and ListTags of one cluster; with `store`, its schedule tag as the hub recorded it (set through
    `mlgov hyperpod schedule`), without which the scheduler never follows a schedule."""
    if store is not None and SCHEDULE_TAG in tags:
        store.record_schedule(described["ClusterArn"], "", tags[SCHEDULE_TAG], "platform", MONDAY_NIGHT)
    stubber.add_response("list_clusters", {"ClusterSummaries": [summary(described)]}, PAGE)
    stubber.add_response(
        "list_tags",
        {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]},
        {"ResourceArn": described["ClusterArn"], **TAG_PAGE},
    )


def stub_describe(stubber, described: dict) -> None:
    stubber.add_response("describe_cluster", described, {"ClusterName": described["ClusterName"]})


def stub_update(stubber, described: dict, counts: dict[str, int], min_counts=None) -> dict:
    request = update_request(described, counts, min_counts)
    assert strict_problems(request, "UpdateClusterRequest") == []
    stubber.add_response("update_cluster", {"ClusterArn": described["ClusterArn"]}, request)
    return request


def run_pass(client, store, now: datetime, apply: bool = True):
    outcomes, errors = schedule_pass(
        HyperPodClusters(client), store, account=ACCOUNT, region=REGION, now=now, apply=apply
    )
    assert errors == []
    return outcomes


def nothing_written(store, arn: str) -> bool:
    """No saved counts, last action or hold for `arn` (its schedule record may be there)."""
    record = store.get(arn)
    return record is None or (record.saved is None and record.last_action is None and not record.hold)


def counts_of(request: dict) -> dict[str, int]:
    groups = [*request.get("InstanceGroups", []), *request.get("RestrictedInstanceGroups", [])]
    return {group["InstanceGroupName"]: group["InstanceCount"] for group in groups}


# --- a night and a morning --------------------------------------------------------------------------------------------


def test_night_saves_then_scales_to_zero_and_morning_restores_exactly_the_saved_counts(sagemaker, store):
    client, stubber, recorder = sagemaker
    arn = eks_cluster()["ClusterArn"]
    saved_when_updating = []
    client.meta.events.register(
        "before-parameter-build.sagemaker.UpdateCluster",
        lambda **kwargs: saved_when_updating.append(store.get(arn).saved),
    )

    # Night: the full spec with every count 0, after the counts are in the table and the tag.
    running = eks_cluster()
    stub_listing(stubber, running, {SCHEDULE_TAG: SCHEDULE, "ml:team": "nlp"}, store)
    stub_describe(stubber, running)
    stubber.add_response(
        "add_tags",
        {"Tags": [{"Key": SAVED_TAG, "Value": "workers=4 flex=2 nova-rig=2"}]},
        {"ResourceArn": arn, "Tags": [{"Key": SAVED_TAG, "Value": "workers=4 flex=2 nova-rig=2"}]},
    )
    night_request = stub_update(stubber, running, ALL_ZERO)
    (night,) = run_pass(client, recorder.store(store), MONDAY_NIGHT)

    assert (night.action, night.outcome, dict(night.target_counts)) == ("scale_down", "applied", ALL_ZERO)
    assert counts_of(night_request) == ALL_ZERO
    assert night_request["InstanceGroups"][0]["TrainingPlanArn"] == running["InstanceGroups"][0]["TrainingPlanArn"]
    assert recorder.calls == [
        "ListClusters",
        "ListTags",
        "DescribeCluster",
        "store.save_counts",
        "AddTags",
        "UpdateCluster",
        "store.record_action",
    ]
    assert saved_when_updating[0].counts == SAVED  # the counts were durable before UpdateCluster was sent
    record = store.get(arn)
    assert (record.saved.counts, record.saved.min_counts) == (SAVED, {"workers": 2})
    assert (record.last_action.action, record.last_action.outcome) == ("scale_down", "applied")

    # Morning: exactly the saved counts (and the saved MinCount), nothing written to tags.
    recorder.calls.clear()
    down = scaled(running, ALL_ZERO)
    stub_listing(stubber, down, {SCHEDULE_TAG: SCHEDULE, SAVED_TAG: "workers=4 flex=2 nova-rig=2"}, store)
    stub_describe(stubber, down)
    morning_request = stub_update(stubber, down, SAVED, {"workers": 2})
    (morning,) = run_pass(client, recorder.store(store), TUESDAY_MORNING)

    assert (morning.action, morning.outcome, dict(morning.target_counts)) == ("scale_up", "applied", SAVED)
    assert counts_of(morning_request) == SAVED
    assert morning_request["InstanceGroups"][0]["MinInstanceCount"] == 2
    assert morning_request == update_request(running, SAVED)  # the very spec the cluster had the evening before
    assert recorder.calls == ["ListClusters", "ListTags", "DescribeCluster", "UpdateCluster", "store.record_action"]
    assert store.get(arn).last_action.window_id == "on:2026-03-31T06:00Z"


def test_a_cluster_being_updated_is_skipped(sagemaker, store):
    client, stubber, recorder = sagemaker
    updating = eks_cluster(status="Updating")
    stub_listing(stubber, updating, {SCHEDULE_TAG: SCHEDULE}, store)
    stub_describe(stubber, updating)

    (outcome,) = run_pass(client, store, MONDAY_NIGHT)

    assert (outcome.action, outcome.outcome) == ("none", "none")
    assert outcome.reason == "cluster is Updating: only InService clusters are scaled"
    assert "UpdateCluster" not in recorder.calls
    assert nothing_written(store, updating["ClusterArn"])


def test_a_rejected_scale_to_zero_is_reported_recorded_and_not_retried(sagemaker, store):
    client, stubber, recorder = sagemaker
    cluster = slurm_cluster()
    message = "Instance group controller: InstanceCount must be greater than or equal to 1."
    stub_listing(stubber, cluster, {SCHEDULE_TAG: SCHEDULE}, store)
    stub_describe(stubber, cluster)
    stubber.add_response("add_tags", {}, {"ResourceArn": cluster["ClusterArn"], "Tags": [ANY_SAVED_TAG]})
    stubber.add_client_error(
        "update_cluster",
        service_error_code="ValidationException",
        service_message=message,
        http_status_code=400,
        expected_params=update_request(cluster, {"controller": 0, "compute": 0}),
    )

    (first,) = run_pass(client, store, MONDAY_NIGHT)

    assert (first.action, first.outcome, first.message) == ("scale_down", "rejected", message)
    assert "cluster left as it was, not retried in this window" in first.reason
    last = store.get(cluster["ClusterArn"]).last_action
    assert (last.outcome, last.message) == ("rejected", f"ValidationException: {message}")

    # 15 minutes later, and again at 03:00: read, decide, no UpdateCluster (the Stubber has none queued).
    for later in (timedelta(minutes=15), timedelta(hours=8)):
        recorder.calls.clear()
        stub_listing(stubber, cluster, {SCHEDULE_TAG: SCHEDULE, SAVED_TAG: "controller=1 compute=8"}, store)
        stub_describe(stubber, cluster)
        (retry,) = run_pass(client, store, MONDAY_NIGHT + later)
        assert (retry.action, retry.outcome) == ("none", "none")
        assert "scale_down was rejected at 2026-03-30T19:00Z: ValidationException: Instance group controller" in (
            retry.reason
        )
        assert recorder.calls == ["ListClusters", "ListTags", "DescribeCluster"]


ANY_SAVED_TAG = {"Key": SAVED_TAG, "Value": "controller=1 compute=8"}


def test_a_configured_minimum_keeps_the_controller_and_scales_the_rest(sagemaker, store):
    client, stubber, _ = sagemaker
    cluster = slurm_cluster()
    stub_listing(stubber, cluster, {SCHEDULE_TAG: f"{SCHEDULE} min=controller:1"}, store)
    stub_describe(stubber, cluster)
    stubber.add_response("add_tags", {}, {"ResourceArn": cluster["ClusterArn"], "Tags": [ANY_SAVED_TAG]})
    request = stub_update(stubber, cluster, {"controller": 1, "compute": 0})

    (outcome,) = run_pass(client, store, MONDAY_NIGHT)

    assert (outcome.outcome, counts_of(request)) == ("applied", {"controller": 1, "compute": 0})


def test_a_conflict_is_deferred_to_the_next_run_instead_of_remembered(sagemaker, store):
    client, stubber, _ = sagemaker
    cluster = slurm_cluster()
    stub_listing(stubber, cluster, {SCHEDULE_TAG: SCHEDULE}, store)
    stub_describe(stubber, cluster)
    stubber.add_response("add_tags", {}, {"ResourceArn": cluster["ClusterArn"], "Tags": [ANY_SAVED_TAG]})
    stubber.add_client_error("update_cluster", "ConflictException", "Cluster is being updated.", 400)

    (outcome,) = run_pass(client, store, MONDAY_NIGHT)

    assert (outcome.outcome, outcome.message) == ("deferred", "Cluster is being updated.")
    record = store.get(cluster["ClusterArn"])
    assert record.last_action is None  # the next run tries again
    assert record.saved.counts == {"controller": 1, "compute": 8}


def test_dry_run_decides_but_sends_no_update_and_writes_nothing(sagemaker, store):
    client, stubber, recorder = sagemaker
    running = eks_cluster()
    stub_listing(stubber, running, {SCHEDULE_TAG: SCHEDULE}, store)
    stub_describe(stubber, running)

    (outcome,) = run_pass(client, store, MONDAY_NIGHT, apply=False)

    assert (outcome.action, outcome.outcome, dict(outcome.target_counts)) == ("scale_down", "dry_run", ALL_ZERO)
    assert outcome.reason.startswith("would scale_down: outside the window")
    assert recorder.calls == ["ListClusters", "ListTags", "DescribeCluster"]
    assert nothing_written(store, running["ClusterArn"])


def test_unscheduled_and_invalid_schedules_are_reported_without_describing_the_cluster(sagemaker, store):
    client, stubber, recorder = sagemaker
    plain, typo = eks_cluster(name="plain"), slurm_cluster(name="typo")
    stubber.add_response("list_clusters", {"ClusterSummaries": [summary(plain), summary(typo)]}, PAGE)
    stubber.add_response("list_tags", {"Tags": []}, {"ResourceArn": plain["ClusterArn"], **TAG_PAGE})
    stubber.add_response(
        "list_tags",
        {"Tags": [{"Key": SCHEDULE_TAG, "Value": "mon-fry 08:00-20:00 UTC"}]},
        {"ResourceArn": typo["ClusterArn"], **TAG_PAGE},
    )
    store.record_schedule(typo["ClusterArn"], "", "mon-fry 08:00-20:00 UTC", "an older mlgov", MONDAY_NIGHT)

    unscheduled, invalid = run_pass(client, store, MONDAY_NIGHT)

    assert (unscheduled.outcome, unscheduled.reason) == ("unscheduled", "no mlgov:schedule tag")
    assert invalid.outcome == "invalid"
    assert invalid.reason.startswith("mlgov:schedule 'mon-fry 08:00-20:00 UTC': unknown day 'fry'")
    assert invalid.reason.endswith("; cluster left alone")
    assert "DescribeCluster" not in recorder.calls


@pytest.mark.parametrize("recorded", [None, "mon-fri 09:00-17:00 UTC"], ids=["never set", "set to another value"])
def test_a_schedule_tag_the_hub_did_not_set_is_never_followed(sagemaker, store, recorded):
    """A data scientist's own mlgov:schedule (possible where no SCP applies) would make the hub scale a cluster they
    could not scale themselves: only the value `mlgov hyperpod schedule` recorded is followed."""
    client, stubber, recorder = sagemaker
    running = eks_cluster()
    if recorded:
        store.record_schedule(running["ClusterArn"], "", recorded, "platform", MONDAY_NIGHT)
    stub_listing(stubber, running, {SCHEDULE_TAG: SCHEDULE})

    (outcome,) = run_pass(client, store, MONDAY_NIGHT)

    assert outcome.outcome == "unrecorded"
    assert outcome.reason == (
        f"mlgov:schedule={SCHEDULE!r} was not set through the hub (`mlgov hyperpod schedule`); cluster left alone"
    )
    assert recorder.calls == ["ListClusters", "ListTags"]


def test_store_lets_one_pass_run_at_a_time_and_frees_it_on_release_or_expiry(store):
    hold = timedelta(minutes=6)
    assert store.acquire_pass("run-a", AT, hold)
    assert not store.acquire_pass("run-b", AT + timedelta(minutes=1), hold)
    assert store.acquire_pass("run-a", AT + timedelta(minutes=1), hold)  # a retry of the same invocation
    store.release_pass("run-b")  # not the holder: nothing happens
    assert not store.acquire_pass("run-b", AT + timedelta(minutes=2), hold)
    store.release_pass("run-a")
    assert store.acquire_pass("run-b", AT + timedelta(minutes=2), hold)
    assert store.acquire_pass("run-c", AT + timedelta(minutes=9), hold)  # run-b crashed: expired after 6 minutes


def test_handler_skips_a_pass_while_another_one_runs(handler_env):
    from mlgov.handlers.hyperpod_scheduler import handler

    _, recorder, requested = handler_env
    assert handler_store().acquire_pass("another-invocation", MONDAY_NIGHT, timedelta(minutes=6))

    result = handler({}, FakeLambdaContext())

    assert result["skipped"] == "another scheduler pass is running"
    assert result["clusters"] == [] and recorder.calls == [] and requested == []


def test_store_records_and_clears_a_schedule(store):
    store.record_schedule(ARN, "", SCHEDULE, "platform", AT)
    record = store.get(ARN)
    assert (record.schedule, record.schedule_by, record.schedule_at) == (SCHEDULE, "platform", AT)
    store.record_schedule(ARN, "", None, "platform", AT)
    assert store.get(ARN).schedule is None


def test_a_held_cluster_is_left_alone(sagemaker, store):
    client, stubber, recorder = sagemaker
    running = eks_cluster()
    store.set_hold(running["ClusterArn"], "llm-train", True, MONDAY_NIGHT, by="alice", reason="long training run")
    stub_listing(stubber, running, {SCHEDULE_TAG: SCHEDULE}, store)
    stub_describe(stubber, running)

    (outcome,) = run_pass(client, store, MONDAY_NIGHT)

    assert (outcome.action, "on hold" in outcome.reason) == ("none", True)
    assert "UpdateCluster" not in recorder.calls


def test_saved_tag_write_failure_stops_the_scale_down(sagemaker, store):
    client, stubber, recorder = sagemaker
    running = slurm_cluster()
    stub_listing(stubber, running, {SCHEDULE_TAG: SCHEDULE}, store)
    stub_describe(stubber, running)
    stubber.add_client_error("add_tags", "AccessDeniedException", "not authorized to perform: sagemaker:AddTags", 400)

    (outcome,) = run_pass(client, store, MONDAY_NIGHT)

    assert outcome.outcome == "error"
    assert outcome.reason == "AccessDeniedException: not authorized to perform: sagemaker:AddTags"
    assert "UpdateCluster" not in recorder.calls


def test_without_a_state_record_the_saved_tag_restores_the_cluster(sagemaker, store):
    client, stubber, _ = sagemaker
    down = scaled(slurm_cluster(), {"controller": 0, "compute": 0})
    stub_listing(stubber, down, {SCHEDULE_TAG: SCHEDULE, SAVED_TAG: "controller=1 compute=8"}, store)
    stub_describe(stubber, down)
    request = stub_update(stubber, down, {"controller": 1, "compute": 8})

    (outcome,) = run_pass(client, store, TUESDAY_MORNING)

    assert (outcome.action, outcome.outcome, counts_of(request)) == (
        "scale_up",
        "applied",
        {"controller": 1, "compute": 8},
    )
    assert "(tag)" in outcome.reason


def test_a_failed_listing_is_an_error_of_the_account_region(sagemaker, store):
    client, stubber, _ = sagemaker
    stubber.add_client_error("list_clusters", "AccessDeniedException", "no sagemaker:ListClusters", 400)
    outcomes, errors = schedule_pass(
        HyperPodClusters(client), store, account=ACCOUNT, region=REGION, now=MONDAY_NIGHT, apply=True
    )
    assert outcomes == []
    assert [(e.operation, e.message) for e in errors] == [
        ("ListClusters", "AccessDeniedException: no sagemaker:ListClusters")
    ]
    assert summarize(outcomes, errors, dry_run=False, now=MONDAY_NIGHT)["errors"][0]["operation"] == "ListClusters"


# --- the state-store contract: the same tests on DynamoDB (moto) and in memory ---------------------------------------

ARN = eks_cluster()["ClusterArn"]
AT = datetime(2026, 3, 30, 19, 0, 12, tzinfo=UTC)


def test_store_unknown_cluster_has_no_record(store):
    assert store.get(ARN) is None
    assert store.records() == []


def test_store_keeps_saved_counts_with_minimums_time_and_window(store):
    store.save_counts(ARN, "llm-train", SavedCounts(SAVED, AT, "off:2026-03-30T18:00Z", {"workers": 2}))
    record = store.get(ARN)
    assert (record.arn, record.name, record.hold) == (ARN, "llm-train", False)
    assert record.saved == SavedCounts(SAVED, AT, "off:2026-03-30T18:00Z", {"workers": 2}, "state table")
    assert record.last_action is None


def test_store_saved_counts_last_action_and_hold_do_not_overwrite_each_other(store):
    action = LastAction("scale_down", "off:2026-03-30T18:00Z", AT, "rejected", "ValidationException: no", ALL_ZERO)
    store.save_counts(ARN, "llm-train", SavedCounts(SAVED, AT, "off:2026-03-30T18:00Z"))
    store.record_action(ARN, "llm-train", action)
    store.set_hold(ARN, "", True, AT, by="arn:aws:sts::111122223333:assumed-role/Admin/alice", reason="demo")
    record = store.get(ARN)
    assert record.saved.counts == SAVED
    assert record.last_action == action
    assert (record.name, record.hold, record.hold_by, record.hold_reason, record.hold_at) == (
        "llm-train",
        True,
        "arn:aws:sts::111122223333:assumed-role/Admin/alice",
        "demo",
        AT,
    )


def test_store_releasing_a_hold_clears_who_and_why(store):
    store.set_hold(ARN, "llm-train", True, AT, by="alice", reason="demo")
    store.set_hold(ARN, "llm-train", False, AT)
    record = store.get(ARN)
    assert (record.hold, record.hold_by, record.hold_reason, record.hold_at) == (False, None, None, None)


def test_store_forgetting_the_last_action_keeps_the_rest_and_creates_nothing(store):
    store.forget_last_action(ARN)
    assert store.get(ARN) is None
    store.save_counts(ARN, "llm-train", SavedCounts(SAVED, AT))
    store.record_action(ARN, "llm-train", LastAction("scale_down", "off:x", AT, "applied"))
    store.forget_last_action(ARN)
    record = store.get(ARN)
    assert (record.last_action, record.saved.counts) == (None, SAVED)


def test_store_records_lists_every_cluster_in_arn_order(store):
    other = slurm_cluster()["ClusterArn"]
    store.set_hold(other, "slurm-dev", True, AT)
    store.save_counts(ARN, "llm-train", SavedCounts(SAVED, AT))
    assert [(r.arn, r.name) for r in store.records()] == sorted([(ARN, "llm-train"), (other, "slurm-dev")])


def test_dynamodb_item_layout(dynamodb):
    DynamoDbStateStore(dynamodb, TABLE).save_counts(ARN, "llm-train", SavedCounts({"workers": 4}, AT, "off:x"))
    item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": f"cluster#{ARN}"}})["Item"]
    assert item["saved"]["M"]["counts"] == {"M": {"workers": {"N": "4"}}}
    assert item["saved"]["M"]["saved_at"] == {"S": "2026-03-30T19:00:12+00:00"}
    assert (item["arn"], item["name"]) == ({"S": ARN}, {"S": "llm-train"})


# --- the Lambda handler ---------------------------------------------------------------------------------------------


@dataclass
class FakeLambdaContext:
    function_name: str = "mlgov-hyperpod-scheduler"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:mlgov-hyperpod-scheduler"
    aws_request_id: str = "00000000-0000-0000-0000-000000000006"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def handler_env(monkeypatch, sagemaker):
    """moto DynamoDB for the state table; the stubbed SageMaker client for every account × region."""
    from mlgov.handlers import hyperpod_scheduler
    from mlgov.handlers.hyperpod_scheduler_runtime import HyperPodSchedulerRuntime, scheduler_settings
    from mlgov.settings import settings

    client, stubber, recorder = sagemaker
    with mock_aws():
        create_state_table(boto3.client("dynamodb", region_name=REGION))
        monkeypatch.setenv("AWS_REGION", REGION)
        monkeypatch.setenv("MLGOV_HUB_ACCOUNT", ACCOUNT)
        monkeypatch.setenv("MLGOV_HYPERPOD_STATE_TABLE", TABLE)
        monkeypatch.delenv("MLGOV_HYPERPOD_APPLY", raising=False)
        requested = []

        def stubbed_client(self, service, account, region, partition="aws"):
            requested.append((service, account, region, partition))
            return client

        monkeypatch.setattr("mlgov.aws.sessions.AccountSessions.client", stubbed_client)
        build = HyperPodSchedulerRuntime.from_settings.__func__
        monkeypatch.setattr(
            HyperPodSchedulerRuntime,
            "from_settings",
            classmethod(lambda cls, config=None: dataclasses.replace(build(cls, config), clock=lambda: MONDAY_NIGHT)),
        )

        def reset():
            hyperpod_scheduler._runtime.cache_clear()
            scheduler_settings.cache_clear()
            settings.cache_clear()

        reset()
        yield stubber, recorder, requested
        reset()


def handler_store() -> DynamoDbStateStore:
    return DynamoDbStateStore(boto3.client("dynamodb", region_name=REGION), TABLE)


def test_handler_is_a_dry_run_unless_apply_is_set(handler_env):
    from mlgov.handlers.hyperpod_scheduler import handler

    stubber, recorder, requested = handler_env
    running = eks_cluster()
    stub_listing(stubber, running, {SCHEDULE_TAG: SCHEDULE}, handler_store())
    stub_describe(stubber, running)

    result = handler({"source": "aws.scheduler"}, FakeLambdaContext())

    assert result["dry_run"] is True
    assert result["totals"] == {"dry_run": 1}
    (cluster,) = result["clusters"]
    assert (cluster["cluster"], cluster["action"], cluster["target_counts"]) == ("llm-train", "scale_down", ALL_ZERO)
    assert "UpdateCluster" not in recorder.calls
    assert requested == [("sagemaker", ACCOUNT, REGION, "aws")]
    json.dumps(result)  # a Lambda result must serialize


def test_handler_applies_when_configured_and_an_event_can_only_force_a_dry_run(handler_env, monkeypatch):
    from mlgov.handlers.hyperpod_scheduler import handler

    stubber, recorder, _ = handler_env
    monkeypatch.setenv("MLGOV_HYPERPOD_APPLY", "true")
    running = slurm_cluster()
    stub_listing(stubber, running, {SCHEDULE_TAG: SCHEDULE}, handler_store())
    stub_describe(stubber, running)
    result = handler({"dry_run": True}, FakeLambdaContext())
    assert (result["dry_run"], result["totals"]) == (True, {"dry_run": 1})

    stub_listing(stubber, running, {SCHEDULE_TAG: SCHEDULE}, handler_store())
    stub_describe(stubber, running)
    stubber.add_response("add_tags", {}, {"ResourceArn": running["ClusterArn"], "Tags": [ANY_SAVED_TAG]})
    stub_update(stubber, running, {"controller": 0, "compute": 0})
    result = handler({}, FakeLambdaContext())
    assert (result["dry_run"], result["totals"]) == (False, {"applied": 1})
    assert recorder.calls[-2:] == ["AddTags", "UpdateCluster"]
    stored = DynamoDbStateStore(boto3.client("dynamodb", region_name=REGION), TABLE).get(running["ClusterArn"])
    assert stored.saved.counts == {"controller": 1, "compute": 8}


def test_targets_come_from_the_environment_and_can_be_narrowed_by_the_event(handler_env, monkeypatch):
    from mlgov.handlers.hyperpod_scheduler_runtime import HyperPodSchedulerRuntime

    stubber, _, requested = handler_env
    member = "444455556666"
    monkeypatch.setenv("MLGOV_TARGETS", json.dumps({"accounts": [ACCOUNT, member], "regions": [REGION, "cn-north-1"]}))
    for _ in range(4):
        stubber.add_response("list_clusters", {"ClusterSummaries": []}, PAGE)
    result = HyperPodSchedulerRuntime.from_settings().run({})
    assert result["clusters"] == [] and result["errors"] == []
    assert requested == [
        ("sagemaker", ACCOUNT, REGION, "aws"),
        ("sagemaker", ACCOUNT, "cn-north-1", "aws-cn"),
        ("sagemaker", member, REGION, "aws"),
        ("sagemaker", member, "cn-north-1", "aws-cn"),
    ]
    requested.clear()
    stubber.add_response("list_clusters", {"ClusterSummaries": []}, PAGE)
    HyperPodSchedulerRuntime.from_settings().run({"accounts": [member], "regions": [REGION]})
    assert requested == [("sagemaker", member, REGION, "aws")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "MLGOV_TARGETS is not JSON"),
        ("[]", "must be {"),
        ('{"acounts": []}', "unknown key 'acounts'"),
        ('{"accounts": "111122223333"}', "accounts must be a list of strings"),
        ('{"accounts": ["1111"]}', "'1111' is not a 12-digit account id"),
    ],
)
def test_bad_targets_name_the_problem(text, message):
    from mlgov.handlers.hyperpod_scheduler_runtime import parse_targets
    from mlgov.settings import SettingsError

    with pytest.raises(SettingsError, match=message):
        parse_targets(text, [ACCOUNT], [REGION])
    with pytest.raises(SettingsError, match="no regions"):
        parse_targets("{}", [ACCOUNT], [])


# --- set_schedule: how `mlgov hyperpod schedule` writes the protected key through the hub --------------------------

CLUSTER_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:cluster/k3q9z8x7w6v5"
PLATFORM = "arn:aws:sts::123456789012:assumed-role/Platform/bob"


def test_set_schedule_tags_the_cluster_through_the_spoke_role(handler_env):
    from mlgov.handlers.hyperpod_scheduler import handler

    stubber, recorder, requested = handler_env
    stubber.add_response(
        "add_tags", {}, {"ResourceArn": CLUSTER_ARN, "Tags": [{"Key": SCHEDULE_TAG, "Value": SCHEDULE}]}
    )
    event = {"task": "set_schedule", "cluster_arn": CLUSTER_ARN, "schedule": SCHEDULE, "by": PLATFORM}

    result = handler(event, FakeLambdaContext())

    assert result == {"cluster_arn": CLUSTER_ARN, "schedule": SCHEDULE, "by": PLATFORM, "at": MONDAY_NIGHT.isoformat()}
    assert recorder.calls == ["AddTags"] and requested == [("sagemaker", ACCOUNT, REGION, "aws")]
    record = handler_store().get(CLUSTER_ARN)
    assert (record.schedule, record.schedule_by) == (SCHEDULE, PLATFORM)  # only this value is followed


def test_clearing_a_schedule_removes_only_that_tag(handler_env):
    from mlgov.handlers.hyperpod_scheduler import handler

    stubber, recorder, _ = handler_env
    stubber.add_response("delete_tags", {}, {"ResourceArn": CLUSTER_ARN, "TagKeys": [SCHEDULE_TAG]})

    result = handler(
        {"task": "set_schedule", "cluster_arn": CLUSTER_ARN, "schedule": None, "by": PLATFORM}, FakeLambdaContext()
    )

    assert result["schedule"] is None and recorder.calls == ["DeleteTags"]
    assert handler_store().get(CLUSTER_ARN).schedule is None


@pytest.mark.parametrize(
    ("arn", "schedule", "refusal"),
    [
        (CLUSTER_ARN, "sometimes", "expected 'DAYS HH:MM-HH:MM TIMEZONE'"),
        (CLUSTER_ARN.replace(ACCOUNT, "999988887777"), SCHEDULE, "999988887777/.* is not scheduled by this hub"),
        (CLUSTER_ARN.replace(REGION, "ap-south-1"), SCHEDULE, "is not scheduled by this hub"),
        (CLUSTER_ARN.replace(":cluster/", ":notebook-instance/"), SCHEDULE, "is not the ARN of a HyperPod cluster"),
        ("k3q9z8x7w6v5", SCHEDULE, "is not the ARN of a HyperPod cluster, an endpoint or an inference component"),
        (CLUSTER_ARN, f"{SCHEDULE} park", "park applies to endpoints only"),
    ],
)
def test_set_schedule_refuses_what_the_hub_does_not_schedule_before_any_call(handler_env, arn, schedule, refusal):
    from mlgov.handlers.hyperpod_scheduler import handler
    from mlgov.handlers.hyperpod_scheduler_runtime import ScheduleRefused

    _, recorder, requested = handler_env
    with pytest.raises(ScheduleRefused, match=refusal):
        handler({"task": "set_schedule", "cluster_arn": arn, "schedule": schedule, "by": PLATFORM}, FakeLambdaContext())
    assert recorder.calls == [] and requested == []


def test_apply_flag_must_be_a_boolean_word(handler_env, monkeypatch):
    from mlgov.handlers.hyperpod_scheduler_runtime import scheduler_settings
    from mlgov.settings import SettingsError

    monkeypatch.setenv("MLGOV_HYPERPOD_APPLY", "yes please")
    with pytest.raises(SettingsError, match="MLGOV_HYPERPOD_APPLY must be true or false"):
        scheduler_settings()


# --- mlgov hyperpod hold | resume | status | plan (moto) ------------------------------------------------------------


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """The `hyperpod` commands on a parser built the way mlgov.cli builds its own; errors as main() prints them."""
    from mlgov.cli import _common_options
    from mlgov.cli.hyperpod import add_hyperpod_commands

    parser = argparse.ArgumentParser(prog="mlgov", parents=[_common_options(True)])
    add_hyperpod_commands(parser.add_subparsers(title="commands"), _common_options(False))
    args = parser.parse_args(argv)
    try:
        code = args.run(args)
    except ValueError as err:
        print(f"mlgov: error: {err}", file=sys.stderr)
        code = 2
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def moto_account(monkeypatch):
    with mock_aws():
        create_state_table(boto3.client("dynamodb", region_name=REGION))
        monkeypatch.delenv("MLGOV_HYPERPOD_STATE_TABLE", raising=False)
        yield boto3.client("sagemaker", region_name=REGION)


def create_moto_cluster(sagemaker, name: str, tags: dict[str, str]) -> str:
    return sagemaker.create_cluster(
        ClusterName=name,
        InstanceGroups=[
            {
                "InstanceGroupName": "workers",
                "InstanceType": "ml.g5.xlarge",
                "InstanceCount": 2,
                "ThreadsPerCore": 1,
                "LifeCycleConfig": {"SourceS3Uri": "s3://sagemaker-lifecycle/scripts/", "OnCreate": "on_create.sh"},
                "ExecutionRole": "arn:aws:iam::123456789012:role/hyperpod-exec",
            }
        ],
        Tags=[{"Key": key, "Value": value} for key, value in tags.items()],
    )["ClusterArn"]


def state(*argv: str) -> list[str]:
    return [*argv, "--region", REGION, "--state-table", TABLE]


def test_cli_hold_status_resume_by_arn(capsys, moto_account):
    code, out, err = run_cli(capsys, *state("hyperpod", "hold", ARN, "--reason", "long training run"))
    assert (code, err) == (0, "")
    assert out.startswith(f"held k3q9z8x7w6v5 ({ARN}): the scheduler leaves it as it is until")

    code, out, _ = run_cli(capsys, *state("hyperpod", "status"))
    assert code == 0
    assert "k3q9z8x7w6v5" in out and " held " in out

    store = DynamoDbStateStore(boto3.client("dynamodb", region_name=REGION), TABLE)
    store.record_action(ARN, "", LastAction("scale_down", "off:x", AT, "rejected", "ValidationException: no"))
    code, out, _ = run_cli(capsys, *state("hyperpod", "status", ARN))
    assert "held by arn:aws:sts::123456789012:user/moto at " in out
    assert ": long training run" in out
    assert "last action message: ValidationException: no" in out

    code, out, _ = run_cli(capsys, *state("hyperpod", "resume", ARN))
    assert (code, out.startswith("released the hold on k3q9z8x7w6v5")) == (0, True)
    record = store.get(ARN)
    assert (record.hold, record.last_action) == (False, None)


def test_cli_hold_by_name_uses_the_state_table_then_describe_cluster(capsys, moto_account):
    store = DynamoDbStateStore(boto3.client("dynamodb", region_name=REGION), TABLE)
    store.save_counts(ARN, "llm-train", SavedCounts(SAVED, AT))
    code, out, _ = run_cli(capsys, *state("hyperpod", "hold", "llm-train"))
    assert (code, store.get(ARN).hold) == (0, True)

    moto_arn = create_moto_cluster(moto_account, "fresh", {SCHEDULE_TAG: SCHEDULE})
    code, out, _ = run_cli(capsys, *state("hyperpod", "hold", "fresh"))
    assert code == 0
    assert store.get(moto_arn).hold is True
    assert store.get(moto_arn).name == "fresh"


def test_cli_errors_are_one_line(capsys, moto_account):
    code, _, err = run_cli(capsys, "hyperpod", "hold", "ghost", "--region", REGION, "--state-table", TABLE)
    assert code == 2
    assert err.startswith("mlgov: error: cluster ghost is neither in the state table nor describable in eu-west-1")
    assert err.count("\n") == 1
    code, _, err = run_cli(capsys, "hyperpod", "status", "--region", REGION)
    assert (code, err) == (2, "mlgov: error: no state table: pass --state-table or set MLGOV_HYPERPOD_STATE_TABLE\n")
    code, _, err = run_cli(capsys, *state("hyperpod", "status", ARN))
    assert code == 2 and "the scheduler has not acted on it" in err
    code, _, err = run_cli(capsys, *state("hyperpod", "plan", "--at", "2026-03-30T21:00"))
    assert code == 2 and "has no time zone" in err


def test_cli_plan_shows_decisions_and_changes_nothing(capsys, moto_account):
    store = DynamoDbStateStore(boto3.client("dynamodb", region_name=REGION), TABLE)
    for name, schedule in (("nightly", SCHEDULE), ("untagged", None), ("broken", "weekdays 8-20 UTC")):
        arn = create_moto_cluster(moto_account, name, {SCHEDULE_TAG: schedule} if schedule else {})
        if schedule:
            store.record_schedule(arn, "", schedule, "platform", AT)  # as `mlgov hyperpod schedule` set them

    code, out, err = run_cli(capsys, *state("hyperpod", "plan", "--at", "2026-03-30T21:00+02:00", "--format", "json"))

    assert (code, err) == (0, "")
    result = json.loads(out)
    by_name = {cluster["cluster"]: cluster for cluster in result["clusters"]}
    assert by_name["nightly"]["outcome"] == "dry_run"
    assert by_name["nightly"]["target_counts"] == {"workers": 0}
    assert by_name["untagged"]["outcome"] == "unscheduled"
    assert by_name["broken"]["outcome"] == "invalid"
    assert result["dry_run"] is True
    assert moto_account.describe_cluster(ClusterName="nightly")["InstanceGroups"][0]["TargetCount"] == 2

    code, out, _ = run_cli(capsys, "hyperpod", "plan", "--region", REGION, "--at", "2026-03-30T08:00Z")
    assert code == 0
    assert out.startswith("note: no state table")
    assert "nightly" in out and "not set through the hub" in out  # without the table no schedule is known


def test_in_org_mode_the_scheduler_covers_the_accounts_below_the_target_ous(handler_env, monkeypatch):
    """The OU's accounts are listed at each pass (accounts that join later are scheduled too); the management account
    and accounts elsewhere in the organization are not."""
    from mlgov.handlers.hyperpod_scheduler import handler
    from mlgov.handlers.hyperpod_scheduler_runtime import ScheduleRefused

    stubber, _, requested = handler_env
    organizations = boto3.client("organizations", region_name="us-east-1")
    organizations.create_organization(FeatureSet="ALL")
    root = organizations.list_roots()["Roots"][0]["Id"]
    ou = organizations.create_organizational_unit(ParentId=root, Name="ml")["OrganizationalUnit"]["Id"]

    def account(name: str, parent: str | None) -> str:
        created = organizations.create_account(AccountName=name, Email=f"{name}@example.com")
        account_id = created["CreateAccountStatus"]["AccountId"]
        if parent:
            organizations.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=parent)
        return account_id

    member, elsewhere = account("research", ou), account("finance", None)
    monkeypatch.setenv("MLGOV_TARGET_OUS", json.dumps([ou]))
    monkeypatch.setenv("MLGOV_MANAGEMENT_ACCOUNT", "123456789012")
    stubber.add_response("list_clusters", {"ClusterSummaries": []}, PAGE)

    result = handler({}, FakeLambdaContext())

    assert result["errors"] == [] and requested == [("sagemaker", member, REGION, "aws")]
    refused = CLUSTER_ARN.replace(ACCOUNT, elsewhere)
    with pytest.raises(ScheduleRefused, match=f"{elsewhere}/{REGION} is not scheduled by this hub"):
        handler(
            {"task": "set_schedule", "cluster_arn": refused, "schedule": SCHEDULE, "by": PLATFORM}, FakeLambdaContext()
        )
