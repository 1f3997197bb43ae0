"""Studio idle shutdown after each scheduled scan (the scanner Lambda). `report` (the default) is the dry run: every
domain lacking idle shutdown with the exact UpdateDomain request `apply` would send, and the user profiles that
switch it off for themselves. `apply` sends it — after a fresh DescribeDomain (still InService, still lacking it),
with an attempt on the domain's findings row first and the audit record after, then one Slack notice listing the
domains changed. A retry after a success finds the setting on and sends nothing (an attempt a dead run left is
confirmed then). Every domain is tried on its own: one failure is an error entry, never the loss of the others."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Protocol

from botocore.exceptions import BotoCoreError, ClientError

from mlgov.domain.studio_idle import (
    ALREADY_ON,
    APPLY,
    LEFT_OFF,
    REPORT,
    DomainFacts,
    DomainPlan,
    IdleHistory,
    audit_entry,
    chunks,
    pending_confirmed,
    plan_domain,
    profile_overrides,
    switched_on_text,
)
from mlgov.services.budgets import NotifyError
from mlgov.services.notebook_stops import attempt as guarded

INLINE_ENTRIES = 20  # per list in the scan workflow's output; the archive holds them all


class IdleRecords(Protocol):
    """The findings table's part in it (mlgov.aws.findings_table.FindingsTable)."""

    def get(self, arn: str) -> dict | None: ...

    def begin_idle_shutdown(self, arn: str, attempt: Mapping[str, object]) -> None: ...

    def record_idle_shutdown(self, arn: str, audit: Mapping[str, object]) -> None: ...

    def release_idle_shutdown(self, arn: str) -> None: ...


class Domains(Protocol):
    """mlgov.aws.studio_domains.StudioDomains."""

    def describe_domain(self, account: str, region: str, domain_id: str) -> Mapping: ...

    def update_domain(self, account: str, region: str, request: Mapping) -> None: ...


def studio_idle_shutdown(
    report: Mapping,
    *,
    mode: str,
    minutes: int,
    recorded_exemptions: Collection[str],
    now: datetime,
    records: IdleRecords,
    domains: Domains | None = None,
    notify: Callable[[str], None] | None = None,
) -> dict:
    """{"mode", "idle_minutes", "planned": [plan with its request], "left_alone": [plan: why not], "switched_on":
    [what was sent], "profiles": [override], "errors": [...]}. In apply mode a domain the scan found lacking it (or
    switched off again, or with an unconfirmed attempt) is planned again from a fresh DescribeDomain: the result
    shows the domain as it is, not as the scan saw it. `domains` is needed in apply mode only."""
    if mode not in (REPORT, APPLY):
        raise ValueError(f"studio_idle_shutdown must be {REPORT} or {APPLY}, not {mode!r}")
    if mode == APPLY and domains is None:
        raise ValueError("apply mode needs the domains adapter")
    findings = report.get("findings") or []
    overrides = profile_overrides(findings)
    result: dict = {"mode": mode, "idle_minutes": minutes, "planned": [], "left_alone": [], "switched_on": [],
                    "profiles": [o.as_json() for o in overrides], "errors": []}  # fmt: skip
    changed: list[DomainPlan] = []
    for finding in [f for f in findings if f.get("resource_type") == "domain"]:
        facts = DomainFacts.from_finding(finding, recorded_exemptions)
        row = guarded(result, facts.arn, lambda a=facts.arn: records.get(a) or {})
        if row is None:
            continue  # without its history mlgov could switch on what a person switched off: not this run
        history = IdleHistory.from_row(row)
        plan: DomainPlan | None = plan_domain(facts, minutes, history)
        if mode == APPLY and (plan.request is not None or plan.action == LEFT_OFF or history.pending):
            plan, done = _look_again(result, facts, history, minutes, now, records, domains)
            if done is not None:
                changed.append(done)
                result["switched_on"].append({"arn": done.facts.arn, "apps": list(done.switch_on),
                                              **({"request": dict(done.request)} if done.request else {})})  # fmt: skip
        if plan is None:
            continue
        if plan.request is not None:
            result["planned"].append(plan.as_json())
        elif plan.action != ALREADY_ON:
            result["left_alone"].append(plan.as_json())
    if changed and notify is not None:
        for message in chunks(changed):
            try:
                notify(switched_on_text(message, minutes, overrides))
            except NotifyError as err:
                result["errors"].append(f"idle shutdown notice not posted: {err}")
    return result


def _look_again(
    result: dict,
    facts: DomainFacts,
    history: IdleHistory,
    minutes: int,
    now: datetime,
    records: IdleRecords,
    domains: Domains,
) -> tuple[DomainPlan | None, DomainPlan | None]:
    """(the domain's plan as it is now, what was carried out): an attempt a dead run left confirmed once it took
    effect; then UpdateDomain when still due. A refusal is an error entry (the plan stays, nothing carried out)."""
    described = guarded(
        result, facts.arn, lambda: domains.describe_domain(facts.account, facts.region, facts.domain_id)
    )
    if described is None:
        return None, None
    fresh = facts.refreshed(described)
    confirmed: tuple[str, ...] = ()
    if history.pending and pending_confirmed(fresh, history.pending):
        audit = {**history.pending, "confirmed": f"{_stamp(now)}: DescribeDomain showed it on (a later run)"}
        if guarded(result, facts.arn, lambda: records.record_idle_shutdown(facts.arn, audit) or True):
            confirmed = tuple(str(app) for app in history.pending.get("apps") or [])
            history = IdleHistory({**history.switched_on, **{app: _stamp(now) for app in confirmed}}, None)
    plan = plan_domain(fresh, minutes, history)
    done = (
        DomainPlan(fresh, ALREADY_ON, plan.apps, confirmed, "an earlier run's switch-on, confirmed")
        if confirmed
        else None
    )
    if plan.request is None:
        return plan, done  # on since the scan, exempt, switched off by a person, or not InService now
    pending = audit_entry(plan, _stamp(now))
    if guarded(result, facts.arn, lambda: records.begin_idle_shutdown(facts.arn, pending) or True) is None:
        return plan, done  # no attempt on record: nothing is sent
    try:
        domains.update_domain(facts.account, facts.region, plan.request)
    except (ClientError, BotoCoreError) as err:
        result["errors"].append(f"{facts.arn}: {type(err).__name__}: {err}")
        if _refused(err):  # a definite refusal: nothing changed. A timeout or 5xx may have applied it: the attempt
            with contextlib.suppress(ClientError, BotoCoreError):  # stays, and the next run confirms it or sends again
                records.release_idle_shutdown(facts.arn)
        return plan, done
    guarded(result, facts.arn, lambda: records.record_idle_shutdown(facts.arn, pending))  # else: the next run's
    carried = DomainPlan(plan.facts, plan.action, plan.apps, confirmed + plan.switch_on, plan.reason, plan.request)
    return plan, carried


def inline_result(result: Mapping, archived_key: str | None, limit: int = INLINE_ENTRIES) -> dict:
    """`result` for a Step Functions state (256 KB): each list cut to its first `limit` entries, with the counts and
    the archive key of the whole result."""
    inline = dict(result)
    lists = ("planned", "left_alone", "switched_on", "profiles", "errors")
    inline["counts"] = {name: len(result.get(name) or []) for name in lists}
    for name in lists:
        inline[name] = list(result.get(name) or [])[:limit]
    if archived_key:
        inline["archived"] = archived_key
    return inline


def _refused(err: Exception) -> bool:
    """A 4xx answer: the service refused the call, nothing was applied."""
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") if isinstance(err, ClientError) else None
    return isinstance(status, int) and 400 <= status < 500


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
