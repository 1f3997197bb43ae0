"""One scheduler pass over an account-region's scheduled endpoints and inference components: read, decide, then act
or only say what it would do (the hyperpod_scheduler Lambda with apply on, `mlgov schedules plan` never).

Only resources whose `mlgov:schedule` was set through the hub are followed: the pass walks the state table's records
(no listing of every endpoint), and a tag that differs from its record is left alone. Before a scale-down the counts
(and the scalable targets' minimums) are saved in the state table and the saved-counts tag; a registered scalable
target's MinCapacity is lowered before the count so that Application Auto Scaling does not scale straight back, and
put back after the morning's scale-up. A rejected call is recorded with the service's message and not retried in the
same window or off period.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from mlgov.aws.endpoint_scaling import ScheduledEndpoints
from mlgov.aws.hyperpod_state import ClusterRecord, StateStore
from mlgov.aws.inventory import not_found
from mlgov.domain.endpoint_parking import ENVIRONMENT_TAG, PARK, ParkRefused, park_step
from mlgov.domain.endpoint_parking import NONE as NO_PARK_STEP
from mlgov.domain.endpoint_schedules import (
    ENDPOINT,
    INFERENCE_COMPONENT,
    component_state,
    endpoint_state,
    lowered_minimums,
    minimum_changes,
    scalable_resource_id,
    schedule_for,
    update_request,
)
from mlgov.domain.hyperpod_plan import saved_counts_tag
from mlgov.domain.resource_identity import split_arn
from mlgov.domain.schedules import SCHEDULE_TAG, LastAction, SavedCounts, ScheduleError, decide, parse_schedule
from mlgov.services.hyperpod import (
    APPLIED,
    DEFERRED,
    DRY_RUN,
    ERROR,
    INVALID,
    REJECTED,
    UNCHANGED,
    UNRECORDED,
    ClusterOutcome,
    error_message,
)

Log = Callable[..., None]
SCHEDULED_KINDS = (ENDPOINT, INFERENCE_COMPONENT)


def scheduled_resource(arn: str) -> tuple[str, str, str, str] | None:
    """(kind, account, region, name in the ARN) of an endpoint or inference component ARN; None otherwise."""
    parts = split_arn(arn)
    if parts is None or parts.service != "sagemaker":
        return None
    kind, _, name = parts.resource.partition("/")
    if kind not in SCHEDULED_KINDS or not name or "/" in name:
        return None
    return kind, parts.account, parts.region, name


class Parking(Protocol):
    """The hub's approval flow doing a park (state machine: snapshot, verify, delete) or a restore (its function)."""

    def park(self, finding: Mapping[str, str], schedule: str, window_id: str) -> str: ...  # the execution's name

    def unpark(self, finding: Mapping[str, str], schedule: str, parked_at: datetime | None) -> dict: ...


def endpoint_schedule_pass(
    resources: ScheduledEndpoints,
    store: StateStore,
    records: Sequence[ClusterRecord],
    *,
    account: str,
    region: str,
    now: datetime,
    apply: bool,
    log: Log | None = None,
    parking: Parking | None = None,
) -> list[ClusterOutcome]:
    """Decide (and with `apply`, act on) every scheduled endpoint and component of one account-region among
    `records` (the state table's, read once per pass by the caller). Endpoints whose schedule says `park` need
    `parking` (the hub's approval flow); without it they are reported, not touched."""
    outcomes = []
    for record in records:
        found = scheduled_resource(record.arn)
        if found is None or found[1:3] != (account, region) or not record.schedule:
            continue
        one = _ResourcePass(resources, store, account, region, now, apply, log or _quiet, parking)
        try:
            outcomes.append(one.run(record, found[0]))
        except (ClientError, BotoCoreError) as err:
            if isinstance(err, ClientError) and not_found(err):
                reason = f"{found[0]} {record.name or found[3]} no longer exists; its schedule record is left"
                outcomes.append(one.outcome(record, ERROR, reason))
            else:
                outcomes.append(one.outcome(record, ERROR, error_message(err)))
    return outcomes


@dataclass
class _ResourcePass:
    resources: ScheduledEndpoints
    store: StateStore
    account: str
    region: str
    now: datetime
    apply: bool
    log: Log
    parking: Parking | None = None

    def outcome(
        self, record: ClusterRecord, outcome: str, reason: str, action: str = "none", **extra
    ) -> ClusterOutcome:
        name = record.name or record.arn.rsplit("/", 1)[-1]
        return ClusterOutcome(self.account, self.region, name, record.arn, action, outcome, reason, **extra)

    def run(self, record: ClusterRecord, kind: str) -> ClusterOutcome:
        if kind == ENDPOINT and _parks(record.schedule):
            return self._park_or_restore(record)
        tags = self.resources.tags(record.arn)
        if tags.get(SCHEDULE_TAG) != record.schedule:
            return self.outcome(
                record,
                UNRECORDED,
                f"{SCHEDULE_TAG}={tags.get(SCHEDULE_TAG)!r} differs from the schedule set through the hub "
                f"({record.schedule!r}); left alone",
            )
        try:
            schedule = schedule_for(kind, parse_schedule(record.schedule))
        except ScheduleError as err:
            return self.outcome(record, INVALID, f"{err}; left alone")
        described = self.resources.describe(kind, record.name)
        if kind == ENDPOINT and self.resources.hosts_components(record.name):
            return self.outcome(
                record,
                UNCHANGED,
                "hosts inference components: schedule the components (their copies), not the endpoint",
            )
        groups = (
            [v["VariantName"] for v in described.get("ProductionVariants") or []] if kind == ENDPOINT else ["copies"]
        )
        targets = self.resources.scalable_targets([scalable_resource_id(kind, record.name, g)[0] for g in groups])
        state = (endpoint_state if kind == ENDPOINT else component_state)(described, targets)
        if not state.groups:
            return self.outcome(record, UNCHANGED, "no instance-based variant to scale (serverless is billed per use)")
        # Only the state table's saved counts: the tag is a copy anyone able to tag could write, and a record is
        # required here anyway (unlike a HyperPod cluster recreated with its tag).
        saved = record.saved
        decision = decide(schedule, state, saved, record.hold, record.last_action, self.now)
        details: dict[str, Any] = {
            "action": decision.action,
            "target_counts": decision.target_counts,
            "window_id": decision.window_id,
        }
        if decision.action == "none":
            pending = self._pending_minimums(kind, record, schedule, state, targets)
            if pending and not record.hold:
                return self._restore_pending(record, decision, pending, details)
            return self.outcome(record, UNCHANGED, decision.reason, **details)
        operation, request = update_request(kind, record.name, decision.target_counts)
        if decision.action == "scale_down":
            minimums = minimum_changes(kind, record.name, targets, lowered_minimums(state, decision.target_counts))
        else:
            restore = {g: n for g, n in (saved.min_counts if saved else {}).items() if g in decision.target_counts}
            minimums = minimum_changes(kind, record.name, targets, restore)
        reason = decision.reason + _minimums_note(minimums, decision.action)
        if not self.apply:
            return self.outcome(record, DRY_RUN, f"would {decision.action}: {reason}", **details)
        if decision.action == "scale_down":
            counts = state.counts
            self.store.save_counts(record.arn, record.name, SavedCounts(counts, self.now, decision.window_id,
                                                                        state.min_counts))  # fmt: skip
            self.resources.write_saved_tag(record.arn, saved_counts_tag(counts))
            lowered = []
            for change in minimums:
                result = self.resources.set_minimum(change)
                if not result.applied:
                    self._put_back(lowered, state)
                    return self._refused(record, decision, reason, "RegisterScalableTarget", result, details)
                lowered.append(change)
        result = self.resources.scale(operation, request)
        if not result.applied:
            if decision.action == "scale_down":
                self._put_back(lowered, state)  # a refused scale-down leaves the minimums as they were
            return self._refused(record, decision, reason, _operation_name(operation), result, details)
        unrestored = []
        if decision.action == "scale_up":
            unrestored = [c for c in minimums if not self.resources.set_minimum(c).applied]
        self._record(record, decision, APPLIED)
        self.log(f"{kind} scaled", resource=record.arn, action=decision.action, counts=decision.target_counts)
        if unrestored:
            reason += f"; MinCapacity of {', '.join(c['ResourceId'] for c in unrestored)} not restored yet: retried on "
            "every run inside the window"
        return self.outcome(record, APPLIED, reason, **details)

    def _park_or_restore(self, record: ClusterRecord) -> ClusterOutcome:
        """A `park` schedule: the endpoint is deleted off-hours (after a verified snapshot) and recreated in the window;
        only an endpoint whose live tag still says the recorded schedule is parked."""
        schedule = parse_schedule(record.schedule)
        name = record.name or record.arn.rsplit("/", 1)[-1]
        try:
            described = self.resources.describe(ENDPOINT, name)
        except ClientError as err:
            if not not_found(err):
                raise
            described = None
        environment = None
        if described is not None:
            tags = self.resources.tags(record.arn)
            if tags.get(SCHEDULE_TAG) != record.schedule:
                return self.outcome(record, UNRECORDED, f"{SCHEDULE_TAG}={tags.get(SCHEDULE_TAG)!r} differs from the "
                                    f"schedule set through the hub ({record.schedule!r}); left alone")  # fmt: skip
            environment = tags.get(ENVIRONMENT_TAG)
        status = described.get("EndpointStatus") if described is not None else None
        step = park_step(schedule, status=status, environment=environment, hold=record.hold,
                         last=record.last_action, now=self.now)  # fmt: skip
        details: dict[str, Any] = {"action": step.action, "window_id": step.window_id}
        if step.action == NO_PARK_STEP:
            return self.outcome(record, UNCHANGED, step.reason, **details)
        if not self.apply:
            return self.outcome(record, DRY_RUN, f"would {step.action}: {step.reason}", **details)
        if self.parking is None:
            return self.outcome(record, ERROR, f"cannot {step.action}: no approval flow wired to park with", **details)
        finding = {"arn": record.arn, "account": self.account, "region": self.region, "name": name,
                   "resource_type": ENDPOINT}  # fmt: skip
        try:
            if step.action == PARK:
                started = self.parking.park(finding, record.schedule, step.window_id)
                message = f"approval flow execution {started}"
            else:
                restored = self.parking.unpark(finding, record.schedule, step.parked_at)
                message = f"restored from {restored.get('manifest_key', 'its snapshot')}"
        except ParkRefused as err:
            self.store.record_action(record.arn, name, LastAction(step.action, step.window_id, self.now,
                                                                  REJECTED, str(err)[:500]))  # fmt: skip
            return self.outcome(record, REJECTED, f"{step.reason}; refused: {err}", message=str(err), **details)
        self.store.record_action(record.arn, name, LastAction(step.action, step.window_id, self.now, APPLIED, message))
        self.log(f"endpoint {step.action}", resource=record.arn, detail=message)
        return self.outcome(record, APPLIED, f"{step.reason}: {message}", **details)

    def _pending_minimums(self, kind, record, schedule, state, targets) -> list[dict[str, Any]]:
        """Inside the window: the saved minimums a morning could not put back — a group whose MinCapacity is still
        the off-hours count mlgov lowered it to (a value somebody set by hand is left alone)."""
        saved = record.saved
        if not saved or not saved.min_counts or not schedule.phase(self.now).inside:
            return []
        stuck = {
            group.name: saved.min_counts[group.name]
            for group in state.groups
            if group.name in saved.min_counts
            and group.min_count is not None
            and group.min_count < saved.min_counts[group.name]
            and group.min_count == min(saved.counts.get(group.name, 0), schedule.minimum_for(group.name))
        }
        return minimum_changes(kind, record.name, targets, stuck)

    def _restore_pending(self, record, decision, pending, details) -> ClusterOutcome:
        listed = ", ".join(f"{c['ResourceId']} MinCapacity={c['MinCapacity']}" for c in pending)
        if not self.apply:
            return self.outcome(record, DRY_RUN, f"would restore the saved scaling minimum: {listed}", **details)
        failed = [c["ResourceId"] for c in pending if not self.resources.set_minimum(c).applied]
        if failed:
            return self.outcome(
                record, DEFERRED, f"saved scaling minimum of {', '.join(failed)} not restored; retried next run",
                **details,
            )  # fmt: skip
        self.log("scaling minimum restored", resource=record.arn, minimums=listed)
        return self.outcome(record, APPLIED, f"restored the saved scaling minimum: {listed}", **details)

    def _put_back(self, lowered: list[dict[str, Any]], state) -> None:
        """Best effort: the minimums a refused scale-down had lowered, back to what they were."""
        before = {group.name: group.min_count for group in state.groups}
        for change in lowered:
            group = change["ResourceId"].rsplit("/", 1)[-1] if "/variant/" in change["ResourceId"] else "copies"
            if before.get(group) is not None:
                self.resources.set_minimum({**change, "MinCapacity": before[group]})

    def _refused(self, record, decision, reason, operation, result, details) -> ClusterOutcome:
        if result.transient:
            return self.outcome(
                record, DEFERRED, f"{reason}; {operation} {result.code}, retried next run", message=result.message,
                **details,
            )  # fmt: skip
        self._record(record, decision, REJECTED, f"{result.code}: {result.message}")
        self.log(f"{operation} rejected", resource=record.arn, code=result.code, service_message=result.message)
        return self.outcome(
            record,
            REJECTED,
            f"{reason}; {operation} rejected ({result.code}), not retried in this window",
            message=result.message,
            **details,
        )

    def _record(self, record: ClusterRecord, decision, outcome: str, message: str = "") -> None:
        action = LastAction(decision.action, decision.window_id, self.now, outcome, message, decision.target_counts)
        self.store.record_action(record.arn, record.name, action)


def _parks(schedule: str) -> bool:
    try:
        return parse_schedule(schedule).park
    except ScheduleError:
        return False  # reported as invalid by the scaling path


def _minimums_note(changes: list[dict[str, Any]], action: str) -> str:
    if not changes:
        return ""
    verb = "lower" if action == "scale_down" else "restore"
    listed = ", ".join(f"{c['ResourceId']} MinCapacity={c['MinCapacity']}" for c in changes)
    return f"; {verb} the scalable target minimum first: {listed}" if verb == "lower" else f"; then {verb} {listed}"


def _operation_name(method: str) -> str:
    return "".join(part.capitalize() for part in method.split("_"))


def _quiet(text: str, **fields: Any) -> None:
    return None
