"""Zombie endpoints and idle notebooks/apps: which metrics to read, and the verdict with its reason (pure)."""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from mlgov.domain.inventory import Resource
from mlgov.domain.report import Verdict

EXEMPT_TAG = "mlgov:exempt"
_SNOOZE_UNTIL = re.compile(r"\buntil (\d{4}-\d{2}-\d{2})\b")  # services.approvals writes "snoozed by … until D"
LAST_INVOKED_TAG = "last-invoked"
CLOUDWATCH_RETENTION_DAYS = 455  # hourly datapoints are kept 15 months; older usage cannot be read

# Documented metrics (SageMaker developer guide, "SageMaker AI metrics in Amazon CloudWatch"). Multi-model endpoints
# have no per-model invocation metric ("per-model metrics aren't supported"): their traffic is in the variant's
# Invocations, so they need no query of their own.
INVOCATIONS = ("AWS/SageMaker", "Invocations")
INSTANCE_EVIDENCE = ("/aws/sagemaker/Endpoints", "CPUUtilization")
# Studio app types with a domain-level idle shutdown (AppLifecycleManagement.IdleSettings); the settings member.
IDLE_SETTINGS_MEMBER = {"JupyterLab": "JupyterLabAppSettings", "CodeEditor": "CodeEditorAppSettings"}
SUGGESTED_IDLE_MINUTES = 60  # the model's minimum IdleTimeoutInMinutes


DEFAULT_IDLE_DAYS = 30  # the one default of zombie_idle_days (config, CLI, scanner)
DEFAULT_MIN_AGE_DAYS = 7  # the one default of zombie_min_age_days (config, CLI, scanner, approval re-check)


@dataclass(frozen=True)
class ZombiePolicy:
    idle_days: int = DEFAULT_IDLE_DAYS  # no invocations for this long → zombie (shrinks to the age/last update)
    min_age_days: int = DEFAULT_MIN_AGE_DAYS  # never judge fewer days of usage (new or just-updated endpoints)
    idle_hours: int = 24  # notebooks and Studio apps running longer than this without an idle-shutdown guard

    def __post_init__(self) -> None:
        if not 1 <= self.idle_days <= CLOUDWATCH_RETENTION_DAYS:
            raise ValueError(f"idle_days must be 1..{CLOUDWATCH_RETENTION_DAYS} (CloudWatch retention)")
        if not 0 <= self.min_age_days <= self.idle_days:
            raise ValueError("min_age_days must be between 0 and idle_days")
        if self.idle_hours < 1:
            raise ValueError("idle_hours must be at least 1")


@dataclass(frozen=True)
class MetricQuery:
    id: str  # the caller's key (any string); adapters map it to a CloudWatch-safe id
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]  # kept in the order SageMaker publishes them
    stat: str = "Sum"


@dataclass(frozen=True)
class UsageWindow:
    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400


@dataclass(frozen=True)
class Usage:
    """What CloudWatch says about one endpoint over its window."""

    invocations: Mapping[str, float | None]  # per variant: total over the window; None = no datapoints at all
    evidence: Mapping[str, bool] = field(default_factory=dict)  # per variant: instance-metric datapoints exist
    components: Mapping[str, float | None] = field(default_factory=dict)  # per hosted inference component
    last_invoked: datetime | None = None  # start of the last metric period with traffic (day resolution)
    unreadable: Collection[str] = ()  # variants/components whose series CloudWatch did not return (e.g. Forbidden)


# -- windows and queries ---------------------------------------------------------------------------------------


def usage_window(resource: Resource, policy: ZombiePolicy, now: datetime) -> UsageWindow:
    """[max(now − idle_days, created, last update), now): usage before an update says nothing about the new fleet."""
    now = _utc(now)
    candidates = [now - timedelta(days=policy.idle_days), _utc_or_none(resource.created), last_update(resource)]
    start = max(moment for moment in candidates if moment is not None)
    return UsageWindow(min(start, now), now)


def last_update(resource: Resource) -> datetime | None:
    value = resource.details.get("last_modified")
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, str) and value:
        try:
            return _utc(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def invocation_key(endpoint: Resource, variant: str) -> str:
    return f"invocations|{endpoint.arn}|{variant}"


def component_key(endpoint: Resource, component: str) -> str:
    return f"component|{endpoint.arn}|{component}"


def evidence_key(endpoint: Resource, variant: str) -> str:
    return f"evidence|{endpoint.arn}|{variant}"


def hosted_components(endpoint: Resource, components: Iterable[Resource]) -> list[Resource]:
    """The inference components the inventory found on `endpoint` (same account, region and endpoint name)."""
    return [
        c
        for c in components
        if c.resource_type == "inference-component"
        and c.account == endpoint.account
        and c.region == endpoint.region
        and c.details.get("endpoint_name") == endpoint.name
    ]


def measurable(endpoint: Resource) -> bool:
    """Whether invocation metrics can tell this endpoint's usage: asynchronous endpoints publish no Invocations."""
    return bool(endpoint.variants) and not endpoint.details.get("async_inference")


def invocation_queries(endpoints: Sequence[Resource], components: Sequence[Resource] = ()) -> list[MetricQuery]:
    """`Invocations` (Sum) per EndpointName + VariantName for every variant the endpoint reports — never an assumed
    AllTraffic — and per InferenceComponentName for every component it hosts."""
    namespace, metric = INVOCATIONS
    queries = []
    for endpoint in endpoints:
        if not measurable(endpoint):
            continue
        for variant in endpoint.variants:
            dimensions = (("EndpointName", endpoint.name), ("VariantName", variant.name))
            queries.append(MetricQuery(invocation_key(endpoint, variant.name), namespace, metric, dimensions))
        for component in hosted_components(endpoint, components):
            dimensions = (("InferenceComponentName", component.name),)
            queries.append(MetricQuery(component_key(endpoint, component.name), namespace, metric, dimensions))
    return queries


def evidence_queries(silent: Sequence[tuple[Resource, str]]) -> list[MetricQuery]:
    """CPUUtilization sample counts of the instances behind each silent (endpoint, variant): datapoints prove the
    variant was up and publishing metrics while nobody called it. Serverless variants have no instances to ask:
    only zero-valued Invocations datapoints can prove their silence, so they get no query here."""
    namespace, metric = INSTANCE_EVIDENCE
    queries = []
    for endpoint, variant_name in silent:
        variant = next((v for v in endpoint.variants if v.name == variant_name), None)
        if variant is None or variant.serverless:
            continue
        dimensions = (("EndpointName", endpoint.name), ("VariantName", variant_name))
        queries.append(MetricQuery(evidence_key(endpoint, variant_name), namespace, metric, dimensions, "SampleCount"))
    return queries


def usage_from_series(
    endpoint: Resource,
    series: Mapping[str, Sequence[tuple[datetime, float]]],
    period: timedelta,
    policy: ZombiePolicy,
    now: datetime,
    components: Sequence[Resource] = (),
    failed: Collection[str] = (),
) -> Usage:
    """Totals per variant and component over the endpoint's own window, from series fetched over a wider one.

    A datapoint stands for [timestamp, timestamp + period): it counts when that period overlaps the window, so
    traffic just before an update may count (the safe direction: it can make an endpoint active, never a zombie).
    A key missing from `series` was not fetched; a key in `failed` was fetched but not returned.
    """
    window = usage_window(endpoint, policy, now)

    def points(key: str) -> list[tuple[datetime, float]]:
        return [
            (_utc(ts), value)
            for ts, value in series.get(key, ())
            if _utc(ts) + period > window.start and _utc(ts) < window.end
        ]

    def total(key: str) -> float | None:
        found = points(key)
        return sum(value for _, value in found) if found else None

    hosted = hosted_components(endpoint, components)
    invocations = {v.name: total(invocation_key(endpoint, v.name)) for v in endpoint.variants}
    hosted_totals = {c.name: total(component_key(endpoint, c.name)) for c in hosted}
    evidence = {
        v.name: any(value > 0 for _, value in points(evidence_key(endpoint, v.name)))
        for v in endpoint.variants
        if evidence_key(endpoint, v.name) in series
    }
    busy = [
        ts
        for key in [invocation_key(endpoint, v.name) for v in endpoint.variants]
        + [component_key(endpoint, c.name) for c in hosted]
        for ts, value in points(key)
        if value > 0
    ]
    unreadable = [v.name for v in endpoint.variants if invocation_key(endpoint, v.name) in failed]
    unreadable += [v.name for v in endpoint.variants if evidence_key(endpoint, v.name) in failed]
    unreadable += [c.name for c in hosted if component_key(endpoint, c.name) in failed]
    return Usage(invocations, evidence, hosted_totals, max(busy, default=None), tuple(dict.fromkeys(unreadable)))


def needs_evidence(endpoint: Resource, usage: Usage, policy: ZombiePolicy, now: datetime) -> list[str]:
    """Variants whose silence must be proven by instance metrics: only on endpoints that would otherwise be zombies
    (InService, old enough, no traffic anywhere), and only where Invocations returned no datapoints at all."""
    if _not_a_candidate(endpoint, usage, policy, now) is not None:
        return []
    missing = [v for v in endpoint.variants if usage.invocations.get(v.name) is None]
    if any(v.serverless for v in missing):
        return []  # a serverless variant without datapoints stays unknown whatever the others show
    return [v.name for v in missing]


# -- endpoint verdicts -----------------------------------------------------------------------------------------


def judge_endpoint(endpoint: Resource, usage: Usage, policy: ZombiePolicy, now: datetime) -> Verdict:
    """zombie only when InService, older than min_age_days, silent on every variant (and hosted component) over
    the window, with proof that metrics flow for every silent variant; unknown when a series is missing and
    nothing proves the silence; active otherwise."""
    window = usage_window(endpoint, policy, now)
    evidence = _endpoint_evidence(endpoint, usage, window)
    blocked = _not_a_candidate(endpoint, usage, policy, now)
    if blocked is not None:
        return _exempted(endpoint, Verdict(blocked[0], blocked[1], evidence), now)
    proofs = {v.name: _proof(usage, v.name) for v in endpoint.variants}
    unproven = [name for name, proof in proofs.items() if proof is None]
    days = _days(window.days)
    if unproven:
        reason = (
            f"no Invocations datapoints and no CPUUtilization series for {_variants_phrase(unproven)} over {days} "
            "days: cannot tell an idle endpoint from one whose metrics are not published"
        )
        return _exempted(endpoint, Verdict("unknown", reason, evidence), now)
    names = [v.name for v in endpoint.variants]
    scope = f"all {len(names)} variants" if len(names) > 1 else "its only variant"
    hosted = f" and its {len(usage.components)} inference components" if usage.components else ""
    reason = f"0 invocations on {scope} ({', '.join(names)}){hosted} for {days} days; {_proof_phrase(proofs)}"
    return _exempted(endpoint, Verdict("zombie", reason, evidence), now)


def _not_a_candidate(endpoint: Resource, usage: Usage, policy: ZombiePolicy, now: datetime) -> tuple[str, str] | None:
    """(status, reason) when the endpoint cannot be a zombie for a reason other than missing proof, else None."""
    window = usage_window(endpoint, policy, now)
    if endpoint.status != "InService":
        return "active", f"{endpoint.status}: usage is judged only while InService"
    if not endpoint.variants:
        return "unknown", "no production variants known (DescribeEndpoint failed?): usage not judged"
    if endpoint.details.get("async_inference"):
        return "unknown", "asynchronous endpoint: SageMaker publishes no Invocations metric for it; usage not judged"
    if usage.unreadable:
        names = ", ".join(usage.unreadable)
        return "unknown", f"CloudWatch returned no usable data for {names}: usage not judged"
    traffic = {name: total for name, total in _all_totals(usage).items() if total}
    if traffic:
        counts = ", ".join(f"{name}: {_count(total)}" for name, total in traffic.items())
        last = f"; last invoked {usage.last_invoked.date().isoformat()}" if usage.last_invoked else ""
        total = sum(traffic.values())
        return "active", f"{_count(total)} invocations in the last {_days(window.days)} days ({counts}){last}"
    created = _utc_or_none(endpoint.created)
    if created is None:
        return "unknown", "creation time unknown: cannot tell whether it is older than the minimum age"
    age_days = (_utc(now) - created).total_seconds() / 86400
    if age_days < policy.min_age_days:
        return "active", (
            f"no invocations yet, but created {_days(age_days)} days ago: younger than the "
            f"{policy.min_age_days}-day minimum age"
        )
    if window.days < policy.min_age_days:
        return "active", (
            f"no invocations in the {_days(window.days)} days since its last update: fewer than the "
            f"{policy.min_age_days}-day minimum"
        )
    return None


def _all_totals(usage: Usage) -> dict[str, float | None]:
    return {**usage.invocations, **usage.components}


def _proof(usage: Usage, variant: str) -> str | None:
    """Why a silent variant is known to be silent: zero-valued Invocations datapoints, or instance metrics."""
    if usage.invocations.get(variant) == 0:
        return "zero-datapoints"
    if usage.evidence.get(variant):
        return "cpu"
    return None


def _proof_phrase(proofs: Mapping[str, str | None]) -> str:
    kinds = set(proofs.values())
    if kinds == {"cpu"}:
        return "CPU series present"
    if kinds == {"zero-datapoints"}:
        return "Invocations series present with zero values"
    cpu = [name for name, proof in proofs.items() if proof == "cpu"]
    zeros = [name for name, proof in proofs.items() if proof == "zero-datapoints"]
    return f"CPU series present for {', '.join(cpu)}; zero-valued Invocations for {', '.join(zeros)}"


def _silence_proofs(endpoint: Resource, usage: Usage) -> dict[str, str | None]:
    return {v.name: _proof(usage, v.name) for v in endpoint.variants if not usage.invocations.get(v.name)}


def _endpoint_evidence(endpoint: Resource, usage: Usage, window: UsageWindow) -> dict[str, object]:
    evidence: dict[str, object] = {
        "usage_window_start": window.start.isoformat(),
        "usage_window_days": round(window.days, 1),
        "invocations": dict(usage.invocations),
        "last_invoked": usage.last_invoked.date().isoformat() if usage.last_invoked else None,
        "silence_proof": _silence_proofs(endpoint, usage),
    }
    if usage.components:
        evidence["component_invocations"] = dict(usage.components)
    return evidence


# -- idle notebooks and Studio apps ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StudioGuards:
    """Idle-shutdown settings the inventory found: per (account, region, domain id) and app type, the domain's
    default IdleSettings; per (account, region, domain id, space name), the space's idle timeout."""

    domains: Mapping[tuple[str, str, str], Mapping[str, Mapping[str, object]]] = field(default_factory=dict)
    spaces: Mapping[tuple[str, str, str, str], int] = field(default_factory=dict)


def studio_guards(resources: Iterable[Resource]) -> StudioGuards:
    domains, spaces = {}, {}
    for resource in resources:
        domain_id = resource.details.get("domain_id")
        if not isinstance(domain_id, str):
            continue
        if resource.resource_type == "domain":
            settings = resource.details.get("default_idle_settings")
            domains[(resource.account, resource.region, domain_id)] = settings if isinstance(settings, Mapping) else {}
        elif resource.resource_type == "space" and isinstance(resource.details.get("idle_timeout_minutes"), int):
            key = (resource.account, resource.region, domain_id, resource.name)
            spaces[key] = resource.details["idle_timeout_minutes"]
    return StudioGuards(domains, spaces)


def judge_idle(
    resource: Resource, policy: ZombiePolicy, now: datetime, guards: StudioGuards | None = None
) -> Verdict | None:
    """`idle` for a notebook instance or Studio app running longer than idle_hours with no idle-shutdown guard,
    with the guard to apply in the reason; None when it is guarded, not running long enough, or not checkable.

    Notebook instances: a lifecycle configuration counts as the guard (its script is not read: mlgov cannot tell
    an auto-stop script from any other). Studio JupyterLab/CodeEditor apps: the domain's default
    AppLifecycleManagement.IdleSettings with LifecycleManagement=ENABLED is the guard (user-profile overrides are
    not read). Other app types (Studio Classic KernelGateway/JupyterServer, RStudio, Canvas) have no setting mlgov
    can check: None.
    """
    if resource.status != "InService" or not resource.running:
        return None
    # Started at its creation (apps) or at its last status change (a notebook's LastModifiedTime).
    moments = [m for m in (_utc_or_none(resource.created), last_update(resource)) if m is not None]
    if not moments:
        return None
    since = max(moments)
    hours = (_utc(now) - since).total_seconds() / 3600
    if hours < policy.idle_hours:
        return None
    running = f"running {_hours(hours)} h on {resource.instance_type or 'an unknown instance type'}"
    evidence: dict[str, object] = {"running_since": since.isoformat(), "running_hours": round(hours, 1)}
    if resource.resource_type == "notebook-instance":
        if resource.details.get("lifecycle_config_name"):
            return None
        reason = (
            f"notebook instance {running} with no lifecycle configuration: attach one that stops it after "
            f"{SUGGESTED_IDLE_MINUTES} idle minutes (an auto-stop OnStart script), or stop it"
        )
        return _exempted(
            resource, Verdict("idle", reason, {**evidence, "guard_missing": "lifecycle configuration"}), now
        )
    if resource.resource_type == "app":
        return _judge_app(resource, running, evidence, guards or StudioGuards(), now)
    return None


def _judge_app(
    resource: Resource, running: str, evidence: dict[str, object], guards: StudioGuards, now: datetime
) -> Verdict | None:
    app_type, domain_id = resource.details.get("app_type"), resource.details.get("domain_id")
    if app_type not in IDLE_SETTINGS_MEMBER or not isinstance(domain_id, str):
        return None
    domain = guards.domains.get((resource.account, resource.region, domain_id))
    if domain is None:
        return None  # the domain was not scanned: nothing to check against
    settings = domain.get(app_type)
    settings = settings if isinstance(settings, Mapping) else {}
    if settings.get("LifecycleManagement") == "ENABLED":
        return None
    space = resource.details.get("space_name")
    space_timeout = guards.spaces.get((resource.account, resource.region, domain_id, space)) if space else None
    member = IDLE_SETTINGS_MEMBER[app_type]
    fix = (
        f"UpdateDomain DefaultUserSettings.{member}.AppLifecycleManagement.IdleSettings "
        f"{{LifecycleManagement: ENABLED, IdleTimeoutInMinutes: {SUGGESTED_IDLE_MINUTES}}}"
    )
    unused = f" (space {space} sets {space_timeout} min, unused while disabled)" if space_timeout else ""
    reason = f"{app_type} app {running}; domain {domain_id} has no idle shutdown for {app_type}{unused}: {fix}"
    return _exempted(resource, Verdict("idle", reason, {**evidence, "guard_missing": fix}), now)


# -- exemption, tags, precedence -------------------------------------------------------------------------------


def snooze_exemption(by: str, on: date, until: date) -> str:
    """The `mlgov:exempt` value a Slack snooze writes (read back by `snooze_end`)."""
    return f"snoozed by {by} on {on.isoformat()} until {until.isoformat()}"


def snooze_end(value: str) -> date | None:
    """The end date of a snooze exemption; None for every other exemption (they never lapse)."""
    match = _SNOOZE_UNTIL.search(value)
    if match is None:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


def lapsed_until(value: str, today: date) -> date | None:
    """The end date of a snooze once it has passed; None for a snooze still running and other exemptions."""
    until = snooze_end(value)
    return until if until is not None and today > until else None


def is_exempt(resource: Resource, today: date | None = None) -> bool:
    """Tagged `mlgov:exempt`, unless (with `today`) it is a snooze that has lapsed."""
    value = resource.tags.get(EXEMPT_TAG)
    if value is None:
        return False
    return today is None or lapsed_until(value, today) is None


def exempt_reason(resource: Resource, today: date | None = None) -> str | None:
    if not is_exempt(resource, today):
        return None
    return resource.tags[EXEMPT_TAG].strip() or "(no reason given)"


def _exempted(resource: Resource, verdict: Verdict, now: datetime) -> Verdict:
    """Exempt resources keep their verdict (still reported) and carry the exemption: never sent for deletion. A
    lapsed snooze is recorded as `exempt_lapsed` (the scan asks again)."""
    today = _utc(now).date()
    reason = exempt_reason(resource, today)
    if reason is not None:
        return Verdict(verdict.status, verdict.reason, {**verdict.evidence, "exempt": reason})
    value = resource.tags.get(EXEMPT_TAG)
    if value is not None:
        return Verdict(verdict.status, verdict.reason, {**verdict.evidence, "exempt_lapsed": value.strip()})
    return verdict


def last_invoked_tag(usage: Usage, current: str | None = None) -> str | None:
    """The `last-invoked` value to write (YYYY-MM-DD, UTC) when traffic was seen and it is newer than `current`
    (`never`, absent or unreadable values are replaced); None when the tag should stay as it is."""
    if usage.last_invoked is None:
        return None
    seen = usage.last_invoked.date()
    try:
        if current and date.fromisoformat(current) >= seen:
            return None
    except ValueError:
        pass
    return seen.isoformat()


def combine(usage: Verdict, lifecycle: Verdict) -> Verdict:
    """zombie/idle take precedence over the lifecycle verdict; expired/untagged stay visible over active/unknown
    usage (with the usage facts as evidence); otherwise the usage verdict replaces active/stopped."""
    if usage.status in ("zombie", "idle"):
        return Verdict(usage.status, usage.reason, {**lifecycle.evidence, **usage.evidence})
    if lifecycle.status in ("expired", "untagged"):
        reason = f"{lifecycle.reason}; usage: {usage.reason}"
        return Verdict(lifecycle.status, reason, {**usage.evidence, **lifecycle.evidence, "usage_status": usage.status})
    return usage


# -- formatting and time ---------------------------------------------------------------------------------------


def _variants_phrase(names: Sequence[str]) -> str:
    return f"variant {names[0]}" if len(names) == 1 else f"variants {', '.join(names)}"


def _days(value: float) -> str:
    rounded = round(value, 1)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:.1f}"


def _hours(value: float) -> str:
    return str(math.floor(value))


def _count(value: float | None) -> str:
    if value is None:
        return "no data"
    return str(int(value)) if value == int(value) else f"{value:.1f}"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _utc_or_none(moment: datetime | None) -> datetime | None:
    return _utc(moment) if moment else None
