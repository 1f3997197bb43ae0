"""Studio idle shutdown from config: per domain, whether the native AppLifecycleManagement.IdleSettings must be
switched on for JupyterLab and Code Editor apps, the exact UpdateDomain request that does it, and the user profiles
whose own settings switch it off again (pure).

UpdateDomain semantics (see README "Studio idle shutdown"): the API reference does not say whether a partial
DefaultUserSettings member merges or replaces, so the request carries the domain's whole current member (as the
DescribeDomain response holds it: DefaultResourceSpec, CustomImages, LifecycleConfigArns, CodeRepositories, ...) with
only AppLifecycleManagement.IdleSettings changed — the same result under either semantics, and members not named
(other app types, DefaultSpaceSettings, ...) are not sent at all.

Respected: an app type whose idle shutdown is ENABLED (whatever its timeout); a domain whose mlgov:exempt mlgov
recorded; an app type someone switched off again after mlgov switched it on (mlgov never fights a person). A user
profile that sets LifecycleManagement=DISABLED overrides the domain default (AWS: "User profile settings override
domain settings"): it is reported with the fix, never changed.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

# The DefaultUserSettings / UserSettings member holding each app type's idle shutdown (UserSettings shape).
APP_MEMBERS: Mapping[str, str] = {"JupyterLab": "JupyterLabAppSettings", "CodeEditor": "CodeEditorAppSettings"}
# botocore's SageMaker model, shape IdleTimeoutInMinutes (tests/unit/test_studio_idle.py reads the installed model).
IDLE_TIMEOUT_MIN_MINUTES = 60
IDLE_TIMEOUT_MAX_MINUTES = 525_600
DEFAULT_IDLE_MINUTES = 60
REPORT, APPLY = "report", "apply"  # config studio_idle_shutdown
APPLIED_BY = "mlgov-scanner"  # the audit's "by": the scanner's role session name in CloudTrail
EXEMPT_TAG = "mlgov:exempt"
DOMAINS_PER_MESSAGE = 20
AUDIT_ATTRIBUTE = "idle_shutdown_audit"  # the domain's findings row: every change mlgov made, oldest first
PENDING_ATTRIBUTE = "idle_shutdown_pending"  # the domain's findings row: an attempt not yet confirmed

# Per app type, what the domain's default holds.
ENABLED, DISABLED, MISSING = "enabled", "disabled", "missing"
# Per domain, what is due.
SWITCH_ON = "switch-on"  # an UpdateDomain request is planned
ALREADY_ON = "already-on"  # every app type has it ENABLED: nothing to do
KEPT = "kept"  # an mlgov:exempt mlgov recorded keeps the domain as it is
LEFT_OFF = "left-off"  # switched off again by someone after mlgov switched it on: left alone, reported
WAIT = "wait"  # not InService (Updating, ...): looked at again by the next scan
UNREAD = "unread"  # the domain's settings could not be read: nothing planned


@dataclass(frozen=True)
class DomainFacts:
    """A Studio domain as the scan (or a fresh DescribeDomain) saw it; `app_settings`: DefaultUserSettings members of
    APP_MEMBERS that exist, as read."""

    arn: str
    account: str
    region: str
    domain_id: str
    name: str
    status: str
    app_settings: Mapping[str, Mapping] = field(default_factory=dict)
    exempt: str | None = None  # the mlgov:exempt value mlgov recorded
    unrecorded_exempt: str | None = None  # an mlgov:exempt tag mlgov did not record: ignored, said so
    unread: str | None = None  # why the settings are unknown

    @classmethod
    def from_finding(cls, finding: Mapping, recorded_exemptions: Collection[str]) -> DomainFacts:
        """From a `domain` finding of the scan report (its evidence carries the discovery details)."""
        evidence = finding.get("evidence") or {}
        settings = evidence.get("detail.default_app_settings")
        incomplete = str(evidence.get("detail.incomplete") or "")
        exempt = (finding.get("tags") or {}).get(EXEMPT_TAG)
        recorded = exempt is not None and finding["arn"] in recorded_exemptions
        return cls(
            arn=finding["arn"],
            account=finding["account"],
            region=finding["region"],
            domain_id=str(evidence.get("detail.domain_id") or finding["arn"].rsplit("/", 1)[-1]),
            name=finding.get("name") or "",
            status=str(evidence.get("service_status") or "Unknown"),
            app_settings=_members(settings if isinstance(settings, Mapping) else {}),
            exempt=exempt if recorded else None,
            unrecorded_exempt=exempt if exempt is not None and not recorded else None,
            unread=incomplete if "DescribeDomain" in incomplete else None,
        )

    def refreshed(self, described: Mapping) -> DomainFacts:
        """The same domain as a fresh DescribeDomain response shows it (status and settings; the exemption is kept)."""
        defaults = described.get("DefaultUserSettings") or {}
        return DomainFacts(
            self.arn, self.account, self.region, self.domain_id, self.name,
            status=str(described.get("Status") or "Unknown"),
            app_settings=_members(defaults),
            exempt=self.exempt,
            unrecorded_exempt=self.unrecorded_exempt,
        )  # fmt: skip


@dataclass(frozen=True)
class IdleHistory:
    """What mlgov did to a domain before, from its findings row: the app types it switched on (-> when), and an
    attempt of an earlier run not yet confirmed (a run that died between UpdateDomain and its audit record)."""

    switched_on: Mapping[str, str] = field(default_factory=dict)
    pending: Mapping | None = None

    @classmethod
    def from_row(cls, row: Mapping | None) -> IdleHistory:
        row = row or {}
        switched_on: dict[str, str] = {}
        for entry in row.get(AUDIT_ATTRIBUTE) or []:
            for app in entry.get("apps") or []:
                switched_on.setdefault(str(app), str(entry.get("at", "")))
        pending = row.get(PENDING_ATTRIBUTE)
        return cls(switched_on, pending if isinstance(pending, Mapping) else None)


@dataclass(frozen=True)
class DomainPlan:
    facts: DomainFacts
    action: str  # SWITCH_ON | ALREADY_ON | KEPT | LEFT_OFF | WAIT | UNREAD
    apps: Mapping[str, str]  # app type -> ENABLED | DISABLED | MISSING
    switch_on: tuple[str, ...]  # the app types the request switches on
    reason: str
    request: Mapping | None = None  # UpdateDomain's parameters, exactly as they would be sent

    def as_json(self) -> dict:
        facts = self.facts
        return {
            "arn": facts.arn,
            "account": facts.account,
            "region": facts.region,
            "domain_id": facts.domain_id,
            "name": facts.name,
            "action": self.action,
            "apps": dict(self.apps),
            "reason": self.reason,
            **({"request": copy.deepcopy(dict(self.request))} if self.request is not None else {}),
        }


@dataclass(frozen=True)
class ProfileOverride:
    """A user profile whose own IdleSettings switch idle shutdown off for some app types."""

    arn: str
    account: str
    region: str
    domain_id: str
    name: str
    apps: tuple[str, ...]

    @property
    def reason(self) -> str:
        fix = " and ".join(
            f"UserSettings.{APP_MEMBERS[app]}.AppLifecycleManagement.IdleSettings.LifecycleManagement=ENABLED"
            for app in self.apps
        )
        return (
            f"user profile {self.name} (domain {self.domain_id}) sets idle shutdown DISABLED for "
            f"{', '.join(self.apps)}: it overrides the domain default for this user's apps; not changed by mlgov "
            f"(UpdateUserProfile {fix}, or remove the override)"
        )

    def as_json(self) -> dict:
        return {"arn": self.arn, "account": self.account, "region": self.region, "domain_id": self.domain_id,
                "name": self.name, "apps": list(self.apps), "reason": self.reason}  # fmt: skip


def app_state(member: Mapping | None) -> str:
    idle = (((member or {}).get("AppLifecycleManagement") or {}).get("IdleSettings")) or {}
    value = idle.get("LifecycleManagement")
    return ENABLED if value == "ENABLED" else DISABLED if value == "DISABLED" else MISSING


def plan_domain(facts: DomainFacts, minutes: int, history: IdleHistory | None = None) -> DomainPlan:
    """What the domain is due, with the reason; `request` only when an UpdateDomain is due now."""
    check_minutes(minutes)
    history = history or IdleHistory()
    states = {app: app_state(facts.app_settings.get(member)) for app, member in APP_MEMBERS.items()}

    def plan(action: str, reason: str, switch_on: Sequence[str] = (), request: Mapping | None = None) -> DomainPlan:
        return DomainPlan(facts, action, states, tuple(switch_on), reason, request)

    if facts.unread:
        return plan(UNREAD, f"domain {facts.domain_id}: settings not read ({facts.unread}); nothing planned")
    off = [app for app, state in states.items() if state != ENABLED]
    if not off:
        return plan(ALREADY_ON, f"domain {facts.domain_id}: idle shutdown is enabled for {' and '.join(states)}")
    left_off = [app for app in off if app in history.switched_on]
    due = [app for app in off if app not in left_off]
    describe = "; ".join(_state_text(app, states[app], history) for app in off)
    ignored = (
        f"; its mlgov:exempt ({facts.unrecorded_exempt}) was not recorded by mlgov and keeps nothing"
        if facts.unrecorded_exempt
        else ""
    )
    if facts.exempt:
        return plan(KEPT, f"domain {facts.domain_id}: {describe}; kept as it is: {facts.exempt}")
    if not due:
        return plan(LEFT_OFF, f"domain {facts.domain_id}: {describe}{ignored}")
    if facts.status != "InService":
        return plan(WAIT, f"domain {facts.domain_id} is {facts.status}: {describe}; looked at again by the next scan")
    request = update_request(facts.domain_id, facts.app_settings, due, minutes)
    timeouts = {app: request["DefaultUserSettings"][APP_MEMBERS[app]]["AppLifecycleManagement"]["IdleSettings"]
                ["IdleTimeoutInMinutes"] for app in due}  # fmt: skip
    bounded = [
        f"{app} {value} min (the domain's own min/max bound it)" for app, value in timeouts.items() if value != minutes
    ]
    action = (
        f"switch on idle shutdown after {minutes} idle minutes for {' and '.join(due)}"
        + (f" ({'; '.join(bounded)})" if bounded else "")
        + ": UpdateDomain with the domain's current "
        + " and ".join(APP_MEMBERS[app] for app in due)
        + ", only AppLifecycleManagement.IdleSettings changed"
    )
    return plan(SWITCH_ON, f"domain {facts.domain_id}: {describe}{ignored}; {action}", due, request)


def update_request(domain_id: str, app_settings: Mapping[str, Mapping], apps: Sequence[str], minutes: int) -> dict:
    """UpdateDomain's parameters: for each app type, the domain's current DefaultUserSettings member (deep-copied)
    with IdleSettings LifecycleManagement=ENABLED and IdleTimeoutInMinutes=`minutes` (kept within the member's own
    Min/MaxIdleTimeoutInMinutes when it sets them); every other member of IdleSettings and of the app settings kept."""
    check_minutes(minutes)
    defaults: dict[str, dict] = {}
    for app in apps:
        member = APP_MEMBERS[app]
        current = copy.deepcopy(dict(app_settings.get(member) or {}))
        lifecycle = dict(current.get("AppLifecycleManagement") or {})
        idle = dict(lifecycle.get("IdleSettings") or {})
        idle["LifecycleManagement"] = "ENABLED"
        idle["IdleTimeoutInMinutes"] = _bounded(minutes, idle)
        lifecycle["IdleSettings"] = idle
        current["AppLifecycleManagement"] = lifecycle
        defaults[member] = current
    return {"DomainId": domain_id, "DefaultUserSettings": defaults}


def audit_entry(plan: DomainPlan, at: str, *, by: str = APPLIED_BY) -> dict:
    """The audit record of a switch-on: when, by whom, what was sent, why, and each app type's settings before."""
    if plan.request is None:
        raise ValueError(f"{plan.facts.arn}: nothing to audit, no request planned ({plan.action})")
    previous = {
        app: copy.deepcopy(dict(((plan.facts.app_settings.get(APP_MEMBERS[app]) or {}).get("AppLifecycleManagement")
                                 or {}).get("IdleSettings") or {})) or None
        for app in plan.switch_on
    }  # fmt: skip
    return {
        "at": at,
        "by": by,
        "what": "UpdateDomain",
        "apps": list(plan.switch_on),
        "why": plan.reason,
        "previous_idle_settings": previous,
        "request": copy.deepcopy(dict(plan.request)),
    }


def pending_confirmed(facts: DomainFacts, pending: Mapping) -> bool:
    """Does the domain now show idle shutdown enabled for every app type an unconfirmed attempt was about?"""
    apps = [str(app) for app in pending.get("apps") or [] if app in APP_MEMBERS]
    return bool(apps) and all(app_state(facts.app_settings.get(APP_MEMBERS[app])) == ENABLED for app in apps)


def profile_overrides(findings: Sequence[Mapping]) -> list[ProfileOverride]:
    """The user profiles (report findings) whose own UserSettings set idle shutdown DISABLED for an app type."""
    found = []
    for finding in findings:
        if finding.get("resource_type") != "user-profile":
            continue
        evidence = finding.get("evidence") or {}
        settings = evidence.get("detail.idle_settings")
        if not isinstance(settings, Mapping):
            continue
        apps = tuple(
            app for app in APP_MEMBERS
            if isinstance(settings.get(app), Mapping) and settings[app].get("LifecycleManagement") == "DISABLED"
        )  # fmt: skip
        if apps:
            domain_id = str(evidence.get("detail.domain_id") or "")
            found.append(ProfileOverride(finding["arn"], finding["account"], finding["region"], domain_id,
                                         finding.get("name") or "", apps))  # fmt: skip
    return found


def switched_on_text(plans: Sequence[DomainPlan], minutes: int, profiles: Sequence[ProfileOverride] = ()) -> str:
    """The Slack notice of the domains changed (one message; see chunks), with the profiles that opt out there."""
    lines = [
        f"Idle shutdown switched on in {len(plans)} SageMaker Studio domain{'s' if len(plans) != 1 else ''} "
        f"(studio_idle_shutdown: apply): JupyterLab and Code Editor apps created in them stop after {minutes} idle "
        "minutes (no kernel or terminal activity; a user profile's own setting wins); the spaces and their storage "
        "are kept. "
        "Each change is recorded on the domain's findings row (idle_shutdown_audit)."
    ]
    lines += [
        f"• {p.facts.name or p.facts.domain_id} ({p.facts.domain_id}, {p.facts.account}/{p.facts.region}): "
        f"{', '.join(p.switch_on)}"
        for p in plans
    ]
    changed = {(p.facts.account, p.facts.region, p.facts.domain_id) for p in plans}
    opting_out = [o for o in profiles if (o.account, o.region, o.domain_id) in changed]
    if opting_out:
        names = ", ".join(f"{o.name} ({o.domain_id}: {'/'.join(o.apps)})" for o in opting_out[:20])
        more = f" and {len(opting_out) - 20} more" if len(opting_out) > 20 else ""
        lines.append(f"User profiles that switch it off for themselves (not changed): {names}{more}")
    return "\n".join(lines)


def chunks(plans: Sequence[DomainPlan], size: int = DOMAINS_PER_MESSAGE) -> list[list[DomainPlan]]:
    return [list(plans[i : i + size]) for i in range(0, len(plans), size)]


def check_minutes(minutes: int) -> None:
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise ValueError(f"idle minutes must be a whole number, not {minutes!r}")
    if not IDLE_TIMEOUT_MIN_MINUTES <= minutes <= IDLE_TIMEOUT_MAX_MINUTES:
        raise ValueError(
            f"idle minutes must be {IDLE_TIMEOUT_MIN_MINUTES}..{IDLE_TIMEOUT_MAX_MINUTES} (IdleTimeoutInMinutes), "
            f"not {minutes}"
        )


def _members(defaults: Mapping) -> dict[str, Mapping]:
    return {member: defaults[member] for member in APP_MEMBERS.values() if isinstance(defaults.get(member), Mapping)}


def _bounded(minutes: int, idle: Mapping) -> int:
    low, high = idle.get("MinIdleTimeoutInMinutes"), idle.get("MaxIdleTimeoutInMinutes")
    value = minutes
    if isinstance(low, int) and value < low:
        value = low
    if isinstance(high, int) and value > high:
        value = high
    return value


def _state_text(app: str, state: str, history: IdleHistory) -> str:
    if app in history.switched_on:
        return (
            f"{app} idle shutdown switched off again after mlgov switched it on ({history.switched_on[app]}): "
            "left alone (a person's choice; switch it on in the domain, or record an exemption)"
        )
    return f"{app} has no idle shutdown" if state == MISSING else f"{app} idle shutdown is DISABLED"
