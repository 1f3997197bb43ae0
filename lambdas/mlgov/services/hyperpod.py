"""One scheduler pass over an account-region's HyperPod clusters: read, decide, then act or only say what it would do.

Shared by the hyperpod_scheduler Lambda (apply when configured) and `mlgov hyperpod plan` (never applies). Before a
scale-down the counts are saved twice, first in the state table and then in the `mlgov:hyperpod-saved` tag; a failure of
either stops the scale-down. A rejected UpdateCluster is recorded with the service's message and not retried in the
same window or off period; the cluster is left as it was.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from mlgov.aws.hyperpod import HyperPodClusters
from mlgov.aws.hyperpod_state import StateStore
from mlgov.domain.hyperpod_plan import (
    SAVED_TAG,
    PlanError,
    SavedTagError,
    cluster_state,
    parse_saved_counts_tag,
    saved_counts_tag,
    update_request,
)
from mlgov.domain.schedules import SCHEDULE_TAG, LastAction, SavedCounts, ScheduleError, decide, parse_schedule

Log = Callable[..., None]

# outcome values: what happened to one cluster in one pass
APPLIED, REJECTED, DEFERRED, DRY_RUN = "applied", "rejected", "deferred", "dry_run"
UNCHANGED, UNSCHEDULED, INVALID, ERROR = "none", "unscheduled", "invalid", "error"
UNRECORDED = "unrecorded"  # a mlgov:schedule tag the hub did not set: never followed


@dataclass(frozen=True)
class ClusterOutcome:
    account: str
    region: str
    cluster: str
    arn: str
    action: str  # scale_down | scale_up | none
    outcome: str  # applied | rejected | deferred | dry_run | none | unscheduled | invalid | error
    reason: str
    target_counts: Mapping[str, int] = field(default_factory=dict)
    window_id: str | None = None
    message: str = ""  # the service's message when UpdateCluster (or another call) failed

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "target_counts": dict(self.target_counts)}


@dataclass(frozen=True)
class PassError:
    account: str
    region: str
    operation: str
    message: str


def schedule_pass(
    clusters: HyperPodClusters,
    store: StateStore,
    *,
    account: str,
    region: str,
    now: datetime,
    apply: bool,
    log: Log | None = None,
) -> tuple[list[ClusterOutcome], list[PassError]]:
    """Decide (and with `apply`, act on) every cluster of one account-region."""
    outcomes: list[ClusterOutcome] = []
    try:
        summaries = list(clusters.summaries())
    except (ClientError, BotoCoreError) as err:
        return [], [PassError(account, region, "ListClusters", error_message(err))]
    for summary in summaries:
        one = _ClusterPass(clusters, store, account, region, now, apply, log or _quiet)
        try:
            outcomes.append(one.run(summary["ClusterArn"], summary["ClusterName"]))
        except (ClientError, BotoCoreError) as err:
            outcomes.append(one.outcome(summary["ClusterArn"], summary["ClusterName"], ERROR, error_message(err)))
    return outcomes, []


def summarize(outcomes: list[ClusterOutcome], errors: list[PassError], *, dry_run: bool, now: datetime) -> dict:
    """The JSON summary a pass returns (Lambda result, `mlgov hyperpod plan --format json`)."""
    return {
        "dry_run": dry_run,
        "now": now.isoformat(),
        "totals": dict(Counter(outcome.outcome for outcome in outcomes)),
        "clusters": [outcome.as_dict() for outcome in outcomes],
        "errors": [asdict(error) for error in errors],
    }


@dataclass
class _ClusterPass:
    clusters: HyperPodClusters
    store: StateStore
    account: str
    region: str
    now: datetime
    apply: bool
    log: Log

    def outcome(self, arn: str, name: str, outcome: str, reason: str, action: str = "none", **extra) -> ClusterOutcome:
        return ClusterOutcome(self.account, self.region, name, arn, action, outcome, reason, **extra)

    def run(self, arn: str, name: str) -> ClusterOutcome:
        tags = self.clusters.tags(arn)
        if SCHEDULE_TAG not in tags:
            return self.outcome(arn, name, UNSCHEDULED, f"no {SCHEDULE_TAG} tag")
        record = self.store.get(arn)
        if record is None or record.schedule != tags[SCHEDULE_TAG]:
            return self.outcome(
                arn,
                name,
                UNRECORDED,
                f"{SCHEDULE_TAG}={tags[SCHEDULE_TAG]!r} was not set through the hub (`mlgov hyperpod schedule`); "
                "cluster left alone",
            )
        try:
            schedule = parse_schedule(tags[SCHEDULE_TAG])
        except ScheduleError as err:
            return self.outcome(arn, name, INVALID, f"{err}; cluster left alone")
        described = self.clusters.describe(name)
        state = cluster_state(described)
        saved = record.saved if record and record.saved else saved_from_tag(tags)
        hold = bool(record and record.hold)
        decision = decide(schedule, state, saved, hold, record.last_action if record else None, self.now)
        details = {"action": decision.action, "target_counts": decision.target_counts, "window_id": decision.window_id}
        if decision.action == "none":
            return self.outcome(arn, name, UNCHANGED, decision.reason, **details)
        try:  # build the request before anything is written: a cluster it cannot describe fully is not touched
            request = update_request(
                described,
                decision.target_counts,
                saved.min_counts if decision.action == "scale_up" and saved else None,
            )
        except PlanError as err:
            return self.outcome(arn, name, ERROR, f"{decision.reason}; not acted on: {err}", **details)
        if not self.apply:
            return self.outcome(arn, name, DRY_RUN, f"would {decision.action}: {decision.reason}", **details)
        if decision.action == "scale_down":
            counts = state.counts
            self.store.save_counts(arn, name, SavedCounts(counts, self.now, decision.window_id, state.min_counts))
            self.clusters.write_saved_tag(arn, saved_counts_tag(counts))
        result = self.clusters.update(request)
        if result.applied:
            self._record(arn, name, decision, "applied")
            self.log("hyperpod cluster scaled", cluster=arn, action=decision.action, counts=decision.target_counts)
            return self.outcome(arn, name, APPLIED, decision.reason, **details)
        if result.transient:
            reason = f"{decision.reason}; UpdateCluster {result.code}, retried next run"
            return self.outcome(arn, name, DEFERRED, reason, message=result.message, **details)
        self._record(arn, name, decision, "rejected", f"{result.code}: {result.message}")
        self.log("hyperpod UpdateCluster rejected", cluster=arn, code=result.code, service_message=result.message)
        return self.outcome(
            arn,
            name,
            REJECTED,
            f"{decision.reason}; UpdateCluster rejected ({result.code}), cluster left as it was, "
            "not retried in this window",
            message=result.message,
            **details,
        )

    def _record(self, arn: str, name: str, decision, outcome: str, message: str = "") -> None:
        action = LastAction(decision.action, decision.window_id, self.now, outcome, message, decision.target_counts)
        self.store.record_action(arn, name, action)


def saved_from_tag(tags: Mapping[str, str]) -> SavedCounts | None:
    """The tag's counts when the state table has none for the cluster (a lost or recreated table)."""
    value = tags.get(SAVED_TAG)
    if not value:
        return None
    try:
        counts = parse_saved_counts_tag(value)
    except SavedTagError:
        return None
    return SavedCounts(counts, source="tag") if counts else None


def error_message(err: Exception) -> str:
    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        return f"{error.get('Code', 'ClientError')}: {error.get('Message', err)}"
    return str(err)


def _quiet(text: str, **fields: Any) -> None:
    return None
