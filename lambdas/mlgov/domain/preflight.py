"""Pure checks of a live installation (`mlgov doctor`): each a verdict with its detail and the fix to print."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase

from mlgov.domain.principals import SPOKE_ROLE
from mlgov.domain.scan_run import BadTask

# Fixed names the stacks give these resources, so doctor finds them without reading CloudFormation.
SPOKE_ROLE_NAME = SPOKE_ROLE
HUB_BUS_NAME = "mlgov-hub"
SCANNER_FUNCTION_NAME = "mlgov-scanner"
APPROVAL_STATE_MACHINE_NAME = "mlgov-approval"  # Confirm and Delete run only inside a running execution of it
APPROVAL_FUNCTION_NAME = "mlgov-approval"  # `mlgov exempt` invokes its exempt_manually task by this name
HYPERPOD_FUNCTION_NAME = "mlgov-hyperpod-scheduler"  # `mlgov hyperpod schedule` invokes its set_schedule task
PROBE_QUEUE_NAME = "mlgov-doctor-probe"
PROBE_SOURCE = "mlgov.doctor"
PROBE_DETAIL_TYPE = "mlgov doctor probe"
SCP_NAME_PREFIX = "mlgov-tag-enforcement-"
TAG_POLICY_NAME = "mlgov-tag-policy"
SAGEMAKER_SOURCE = "aws.sagemaker"
ENABLED_RULE_STATES = frozenset({"ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"})
NAME_WIDTH = 13  # the check-name column of the printed report
_ACCOUNT = re.compile(r"^[0-9]{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    skipped: bool = False  # not run (e.g. single-account mode); never a failure

    @property
    def status(self) -> str:
        return "SKIP" if self.skipped else "OK" if self.ok else "FAIL"


def skip(name: str, detail: str) -> Check:
    return Check(name, True, detail, skipped=True)


def render_checks(checks: Iterable[Check]) -> list[str]:
    """`STATUS name detail` per check, then `     fix: ...` under each failure."""
    lines = []
    for check in checks:
        lines.append(f"{check.status:4} {check.name:{NAME_WIDTH}} {check.detail}")
        if not check.ok and check.fix:
            lines.append(f"     fix: {check.fix}")
    return lines


def exit_status(checks: Iterable[Check]) -> int:
    return 0 if all(check.ok for check in checks) else 1


# ---- what doctor knows about the deployment (cdk.json context "mlgov", or flags) ----------------------------------


@dataclass(frozen=True)
class InstallationSettings:
    """The few config values doctor reads; `mode` is None when no config was found."""

    source: str  # where they came from: a cdk.json path, or "flags"
    mode: str | None = None  # "org" | "single-account" | None (unknown)
    hub_account: str | None = None
    hub_region: str | None = None
    management_account: str | None = None
    organization_id: str | None = None
    target_ous: tuple[str, ...] = ()
    member_regions: tuple[str, ...] = ()
    slack_secrets: tuple[tuple[str, str], ...] = ()  # (config key, secret name)

    @classmethod
    def from_context(cls, context: Mapping, source: str) -> InstallationSettings:
        """From the cdk.json context value (validated by stacks.config beforehand when it was importable)."""
        if not isinstance(context, Mapping):
            raise ValueError(f"{source}: context 'mlgov' must be an object")
        slack = context.get("slack") or {}
        if not isinstance(slack, Mapping):
            raise ValueError(f"{source}: slack must be an object")
        management = _optional_text(context, "management_account", source)
        return cls(
            source=source,
            mode="single-account" if management is None else "org",
            hub_account=_optional_text(context, "hub_account", source),
            hub_region=_optional_text(context, "hub_region", source),
            management_account=management,
            organization_id=_optional_text(context, "organization_id", source),
            target_ous=_text_list(context, "target_ous", source),
            member_regions=_text_list(context, "member_regions", source),
            slack_secrets=tuple(
                (f"slack.{key}", slack[key])
                for key in ("signing_secret_name", "bot_token_secret_name")
                if isinstance(slack.get(key), str) and slack[key]
            ),
        )


def _optional_text(context: Mapping, key: str, source: str) -> str | None:
    value = context.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{source}: {key} must be a string, got {value!r}")
    return value or None


def _text_list(context: Mapping, key: str, source: str) -> tuple[str, ...]:
    value = context.get(key) or []
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{source}: {key} must be a list of strings, got {value!r}")
    return tuple(value)


# ---- CloudTrail ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrailFacts:
    """What CloudTrail says about one trail, as the adapter read it."""

    name: str
    home_region: str
    multi_region: bool
    organization_trail: bool
    logging: bool
    event_selectors: Sequence[Mapping] = ()
    advanced_event_selectors: Sequence[Mapping] = ()


def records_sagemaker_writes(trail: TrailFacts) -> bool:
    """Does the trail record write management events from sagemaker.amazonaws.com?"""
    if trail.advanced_event_selectors:
        return any(_advanced_selects_sagemaker_writes(s) for s in trail.advanced_event_selectors)
    if not trail.event_selectors:
        return True  # a trail without selectors records all management events
    return any(
        selector.get("IncludeManagementEvents", True)
        and selector.get("ReadWriteType", "All") in ("All", "WriteOnly")
        and "sagemaker.amazonaws.com" not in selector.get("ExcludeManagementEventSources", [])
        for selector in trail.event_selectors
    )


def _advanced_selects_sagemaker_writes(selector: Mapping) -> bool:
    fields = {f.get("Field"): f for f in selector.get("FieldSelectors", [])}
    category = fields.get("eventCategory", {})
    if "Management" not in category.get("Equals", []):
        return False
    read_only = fields.get("readOnly", {})
    if read_only.get("Equals") == ["true"]:
        return False
    source = fields.get("eventSource", {})
    excluded = source.get("NotEquals", [])
    included = source.get("Equals")
    return "sagemaker.amazonaws.com" not in excluded and (included is None or "sagemaker.amazonaws.com" in included)


def check_cloudtrail(trails: Sequence[TrailFacts], region: str) -> Check:
    """SageMaker create calls reach EventBridge only if a logging trail records write management events here."""
    covering = [t for t in trails if t.multi_region or t.home_region == region]
    recording = [t for t in covering if t.logging and records_sagemaker_writes(t)]
    if recording:
        names = ", ".join(t.name + (" (organization trail)" if t.organization_trail else "") for t in recording)
        return Check("cloudtrail", True, f"management events recorded in {region} by {names}")
    if not covering:
        detail = f"no trail covers {region}"
    elif not any(t.logging for t in covering):
        detail = f"trail(s) {', '.join(t.name for t in covering)} exist but are not logging"
    else:
        detail = "no logging trail records SageMaker write management events (check event selectors)"
    return Check(
        "cloudtrail",
        False,
        detail,
        "create a multi-region trail (an organization trail covers every member account) that records write "
        "management events: aws cloudtrail create-trail --name mlgov --s3-bucket-name <bucket> "
        "--is-multi-region-trail && aws cloudtrail start-logging --name mlgov",
    )


# ---- the hub bus: rules and resource policy -----------------------------------------------------------------------


@dataclass(frozen=True)
class BusFacts:
    name: str
    error: str | None = None  # DescribeEventBus failed (e.g. ResourceNotFoundException)
    policy: str | None = None  # DescribeEventBus Policy (JSON text), absent when none is set
    rules: Sequence[Mapping] = ()  # ListRules Rules[]: Name, State, EventPattern (JSON text)


def _pattern_sources(rule: Mapping) -> list[str]:
    try:
        pattern = json.loads(rule.get("EventPattern") or "{}")
    except ValueError:
        return []
    sources = pattern.get("source", []) if isinstance(pattern, Mapping) else []
    return [s for s in sources if isinstance(s, str)] if isinstance(sources, list) else []


def check_hub_bus(bus: BusFacts) -> Check:
    """The bus exists, every rule on it is enabled, and both the SageMaker rules and the doctor probe rule are there."""
    redeploy = "deploy the hub from the hub account: cdk deploy MlgovHub"
    if bus.error:
        return Check("hub-bus", False, f"event bus {bus.name}: {bus.error}", redeploy)
    disabled = sorted(rule["Name"] for rule in bus.rules if rule.get("State") not in ENABLED_RULE_STATES)
    if disabled:
        commands = " && ".join(f"aws events enable-rule --event-bus-name {bus.name} --name {n}" for n in disabled)
        return Check("hub-bus", False, f"rule(s) disabled on {bus.name}: {', '.join(disabled)}", commands)
    sources = {source for rule in bus.rules for source in _pattern_sources(rule)}
    if SAGEMAKER_SOURCE not in sources:
        return Check("hub-bus", False, f"no rule on {bus.name} routes SageMaker events to the hub functions", redeploy)
    if PROBE_SOURCE not in sources:
        return Check(
            "hub-bus",
            False,
            f"no rule on {bus.name} routes {PROBE_SOURCE} probes (the hub predates doctor probes)",
            f"{redeploy} (this version adds queue {PROBE_QUEUE_NAME} and its rule)",
        )
    return Check("hub-bus", True, f"event bus {bus.name} with {len(bus.rules)} enabled rule(s)")


def check_bus_policy(bus: BusFacts, settings: InstallationSettings) -> Check:
    """In org mode the bus must admit PutEvents from the whole organization (aws:PrincipalOrgID)."""
    name = "bus-policy"
    if bus.error:
        return skip(name, f"event bus {bus.name} not readable (see hub-bus)")
    if settings.mode == "single-account":
        return Check(name, True, "single-account mode: the spokes send from the hub account, no policy is needed")
    admitted = admitted_organizations(bus.policy)
    wanted = settings.organization_id
    if wanted is None:
        if admitted:
            return Check(name, True, f"{bus.name} admits organization(s) {', '.join(admitted)}")
        return skip(name, "no organization_id configured (pass --config or --organization-id) to check the policy")
    if wanted in admitted:
        return Check(name, True, f"{bus.name} admits PutEvents from organization {wanted} (aws:PrincipalOrgID)")
    if bus.policy is None:
        detail = f"{bus.name} has no resource policy: member accounts cannot send events"
    elif admitted:
        detail = f"{bus.name} admits organization(s) {', '.join(admitted)}, not {wanted}"
    else:
        detail = f"{bus.name}'s policy does not admit organization {wanted} (aws:PrincipalOrgID)"
    return Check(
        name,
        False,
        detail,
        f"redeploy MlgovHub with organization_id {wanted}, or: aws events put-permission --event-bus-name "
        f"{bus.name} --statement-id AdmitGovernedAccounts --action events:PutEvents --principal '*' "
        f"--condition Type=StringEquals,Key=aws:PrincipalOrgID,Value={wanted}",
    )


def admitted_organizations(policy: str | Mapping | None) -> list[str]:
    """Organization ids an Allow statement of the bus policy admits for events:PutEvents from any principal."""
    if policy is None:
        return []
    document = json.loads(policy) if isinstance(policy, str) else policy
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    found: list[str] = []
    for statement in statements:
        if statement.get("Effect") != "Allow" or not _allows_put_events(statement):
            continue
        if not _any_principal(statement.get("Principal")):
            continue
        for operator, conditions in (statement.get("Condition") or {}).items():
            if operator not in ("StringEquals", "ForAnyValue:StringEquals"):
                continue
            for key, values in conditions.items():
                if key.lower() == "aws:principalorgid":
                    found += [v for v in (values if isinstance(values, list) else [values]) if v not in found]
    return found


def _allows_put_events(statement: Mapping) -> bool:
    actions = statement.get("Action", [])
    actions = actions if isinstance(actions, list) else [actions]
    return any(fnmatchcase("events:putevents", action.lower()) for action in actions)


def _any_principal(principal: object) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        aws = principal.get("AWS")
        return aws == "*" or (isinstance(aws, list) and "*" in aws)
    return False


# ---- Slack secrets ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecretFacts:
    """DescribeSecret, never the value: does a version carry AWSCURRENT, is the secret being deleted."""

    key: str  # the config key naming it, e.g. slack.signing_secret_name
    name: str
    error: str | None = None  # DescribeSecret failed (ResourceNotFoundException, AccessDeniedException...)
    has_current: bool = False
    deleted: bool = False


def check_secret(secret: SecretFacts, region: str) -> Check:
    name = "slack-secret"
    put = f"aws secretsmanager put-secret-value --region {region} --secret-id {secret.name} --secret-string <value>"
    if secret.error:
        return Check(
            name,
            False,
            f"{secret.name} ({secret.key}): {secret.error}",
            f"aws secretsmanager create-secret --region {region} --name {secret.name} --secret-string <value> "
            "(the Slack app's signing secret / bot token), or fix the name in cdk.json",
        )
    if secret.deleted:
        return Check(
            name,
            False,
            f"{secret.name} ({secret.key}) is scheduled for deletion",
            f"aws secretsmanager restore-secret --region {region} --secret-id {secret.name}",
        )
    if not secret.has_current:
        return Check(name, False, f"{secret.name} ({secret.key}) has no current value (no AWSCURRENT version)", put)
    return Check(name, True, f"{secret.name} ({secret.key}) has a current value")


def secret_facts(key: str, name: str, described: Mapping) -> SecretFacts:
    """From a DescribeSecret response."""
    stages = described.get("VersionIdsToStages") or {}
    return SecretFacts(
        key,
        name,
        has_current=any("AWSCURRENT" in labels for labels in stages.values()),
        deleted=described.get("DeletedDate") is not None,
    )


# ---- spoke access: the scanner's "access" task --------------------------------------------------------------------


def access_task(accounts: Sequence[str] | None = None, regions: Sequence[str] | None = None) -> dict:
    """The scanner Lambda event doctor sends; omitted lists mean the scanner's own targets and regions."""
    event: dict = {"task": "access"}
    if accounts:
        event["accounts"] = list(accounts)
    if regions:
        event["regions"] = list(regions)
    return event


def parse_access_task(event: Mapping) -> tuple[list[str] | None, list[str] | None]:
    """(accounts, regions) of an access task; None where the scanner's own configuration applies."""
    accounts, regions = event.get("accounts"), event.get("regions")
    if accounts is not None and (
        not isinstance(accounts, list) or not all(isinstance(a, str) and _ACCOUNT.fullmatch(a) for a in accounts)
    ):
        raise BadTask(f"accounts must be a list of 12-digit account ids (got {accounts!r})")
    if regions is not None and (
        not isinstance(regions, list) or not all(isinstance(r, str) and _REGION.fullmatch(r) for r in regions)
    ):
        raise BadTask(f"regions must be a list of region names like eu-west-1 (got {regions!r})")
    return (sorted(set(accounts)) if accounts else None), (sorted(set(regions)) if regions else None)


@dataclass(frozen=True)
class AccountAccess:
    """One account as the scanner reached it: `error` when AssumeRole failed, per-region read errors otherwise."""

    account: str
    via: str  # "role mlgov-spoke" | "hub credentials"
    error: str | None = None
    region_errors: Mapping[str, str | None] = field(default_factory=dict)  # region -> None (ok) | message

    @property
    def ok(self) -> bool:
        return self.error is None and not any(self.region_errors.values())

    def as_json(self) -> dict:
        return {
            "account": self.account,
            "ok": self.ok,
            "via": self.via,
            "error": self.error,
            "regions": [{"region": r, "ok": e is None, "error": e} for r, e in sorted(self.region_errors.items())],
        }


def access_result(role: str, regions: Sequence[str], accounts: Sequence[AccountAccess]) -> dict:
    """The access task's response."""
    return {
        "task": "access",
        "role": role,
        "regions": list(regions),
        "accounts": [account.as_json() for account in accounts],
        "ok": sum(1 for account in accounts if account.ok),
        "failed": sum(1 for account in accounts if not account.ok),
    }


def check_spoke_access(result: Mapping, hub_region: str | None, max_lines: int = 20) -> list[Check]:
    """One OK line when the scanner reached every account and region; else one FAIL line per failing account."""
    name = "spoke-access"
    role = result.get("role", SPOKE_ROLE_NAME)
    accounts = result.get("accounts") or []
    regions = result.get("regions") or []
    if not accounts:
        return [
            Check(
                name,
                False,
                "the scanner found no account to check",
                "pass --accounts, or let the hub list the organization: make the hub account a delegated "
                "administrator for Organizations (or set MLGOV_ACCOUNTS on the scanner)",
            )
        ]
    failing = [account for account in accounts if not account.get("ok")]
    if not failing:
        return [
            Check(
                name,
                True,
                f"scanner assumed {role} in {len(accounts)} account(s) and read SageMaker in {', '.join(regions)}",
            )
        ]
    checks = [_account_failure(account, role, hub_region) for account in failing[:max_lines]]
    if len(failing) > max_lines:
        checks.append(Check(name, False, f"... and {len(failing) - max_lines} more account(s) failing", ""))
    return checks


def _account_failure(account: Mapping, role: str, hub_region: str | None) -> Check:
    name, account_id = "spoke-access", account.get("account", "?")
    if account.get("error"):
        where = f" in {hub_region}" if hub_region else ""
        return Check(
            name,
            False,
            f"{account_id}: {account['error']}",
            f"deploy the spoke in {account_id}{where}: move the account into a target OU (the mlgov-spoke StackSet's "
            f"hub-region instance creates role {role}), or cdk deploy MlgovSpoke-<region> in single-account mode; "
            "keep its trust admitting the hub's mlgov-hub-scanner role",
        )
    failed = [r for r in account.get("regions") or [] if not r.get("ok")]
    regions = ", ".join(r["region"] for r in failed)
    first = failed[0]["error"] if failed else ""
    return Check(
        name,
        False,
        f"{account_id} {regions}: {first}",
        f"enable {regions} in {account_id} (opt-in region) or remove it from member_regions; an AccessDenied here "
        f"means an SCP or permissions boundary denies sagemaker:List* to {role}",
    )


# ---- the event probe: default bus -> spoke rule -> hub bus -> probe queue ----------------------------------------


def probe_entry(probe_id: str, sent_at: datetime) -> dict:
    """The PutEvents entry doctor puts on the local default bus."""
    return {
        "Source": PROBE_SOURCE,
        "DetailType": PROBE_DETAIL_TYPE,
        "Detail": json.dumps({"probe_id": probe_id, "sent_at": sent_at.isoformat()}),
        "EventBusName": "default",
    }


def classify_probe_message(body: str, probe_id: str, now: datetime, stale_after: timedelta) -> str:
    """Whose probe is this: "mine" (this run's), "stale" (an earlier run's leftover: delete it) or "other"."""
    try:
        event = json.loads(body)
        detail = event["detail"]
        their_id = detail["probe_id"]
    except (ValueError, KeyError, TypeError):
        return "stale"  # not a probe at all: nothing else belongs on this queue
    if their_id == probe_id:
        return "mine"
    try:
        sent_at = datetime.fromisoformat(detail["sent_at"])
    except (KeyError, TypeError, ValueError):
        return "stale"
    return "stale" if now - sent_at > stale_after else "other"


@dataclass(frozen=True)
class ProbeOutcome:
    account: str  # where doctor put the probe
    region: str
    hub_region: str
    timeout_seconds: float
    put_error: str | None = None
    queue_error: str | None = None  # the probe queue could not be found or read
    latency_seconds: float | None = None  # None: not received within the timeout
    local_rule_name: str | None = None  # the spoke's probe rule on the local default bus; None: absent
    local_rule_state: str | None = None
    local_rule_error: str | None = None  # ListRules on the local default bus failed


def check_probe(outcome: ProbeOutcome) -> Check:
    name, here = "event-probe", f"{outcome.account}/{outcome.region}"
    if outcome.queue_error:
        missing = any(code in outcome.queue_error for code in ("NonExistentQueue", "QueueDoesNotExist"))
        return Check(
            name,
            False,
            f"probe queue {PROBE_QUEUE_NAME} in {outcome.hub_region}: {outcome.queue_error}",
            f"redeploy MlgovHub (this version adds queue {PROBE_QUEUE_NAME})"
            if missing
            else "pass --hub-profile with hub credentials allowed sqs:GetQueueUrl, sqs:ReceiveMessage and "
            f"sqs:DeleteMessage on {PROBE_QUEUE_NAME}",
        )
    if outcome.put_error:
        return Check(
            name,
            False,
            f"PutEvents on the default bus of {here}: {outcome.put_error}",
            "run doctor with credentials allowed to call events:PutEvents on the default bus",
        )
    if outcome.latency_seconds is not None:
        return Check(name, True, f"probe from {here} reached the hub queue in {outcome.latency_seconds:.1f} s")
    detail = f"probe from {here} did not reach the hub queue within {outcome.timeout_seconds:.0f} s"
    if outcome.local_rule_error:
        fix = f"could not read the rules here ({outcome.local_rule_error}); check that MlgovSpoke is deployed in {here}"
    elif outcome.local_rule_name is None:
        detail += f"; no {PROBE_SOURCE} forwarding rule on the default bus here"
        fix = (
            f"deploy MlgovSpoke (this version) in {here}: a StackSet instance, or cdk deploy "
            f"MlgovSpoke-{outcome.region} in single-account mode"
        )
    elif outcome.local_rule_state not in ENABLED_RULE_STATES:
        detail += "; the spoke's forwarding rule is disabled"
        fix = f"aws events enable-rule --region {outcome.region} --name {outcome.local_rule_name}"
    else:
        fix = (
            "the spoke forwards but the hub does not deliver: check bus-policy (the hub bus must admit this account) "
            f"and hub-bus (its {PROBE_SOURCE} rule enabled, targeting {PROBE_QUEUE_NAME}), then rerun"
        )
    return Check(name, False, detail, fix)


# ---- SCPs and the tag policy on the target OUs --------------------------------------------------------------------


def expected_scps(checked_in: Iterable[str], in_organization: Iterable[str]) -> list[str]:
    """The mlgov SCPs every target must carry: the checked-in ones (policies/scp/*.json) and any other
    mlgov-tag-enforcement-* the organization holds (a config with extra exempt principals may compile to more)."""
    return sorted({*checked_in, *(n for n in in_organization if n.startswith(SCP_NAME_PREFIX))})


def check_target_policies(
    target: str,
    attached_scps: Iterable[str],
    attached_tag_policies: Iterable[str],
    expected: Sequence[str],
    error: str | None = None,
) -> Check:
    name = "org-policies"
    if error:
        return Check(
            name,
            False,
            f"{target}: {error}",
            "check target_ous in cdk.json (OU or root ids of this organization) and that --management-profile "
            "may call organizations:ListPoliciesForTarget",
        )
    missing = [n for n in expected if n not in set(attached_scps)]
    if TAG_POLICY_NAME not in set(attached_tag_policies):
        missing.append(TAG_POLICY_NAME)
    if not missing:
        return Check(name, True, f"{target}: {', '.join(expected)} and {TAG_POLICY_NAME} attached")
    return Check(
        name,
        False,
        f"{target}: not attached: {', '.join(missing)}",
        "deploy MlgovOrg from the management account (cdk deploy MlgovOrg); SCPs and tag policies must be enabled: "
        "aws organizations enable-policy-type --root-id <r-...> --policy-type SERVICE_CONTROL_POLICY|TAG_POLICY",
    )


def check_scanner_failure(function: str, error: str, missing: bool) -> Check:
    """The access task could not run: the function is missing, not invocable by the caller, or it failed."""
    if missing:
        fix = f"deploy MlgovHub (this version names the scanner function {function}), or pass --scanner-function"
    else:
        fix = (
            f"the caller needs lambda:InvokeFunction on {function} (or pass --hub-profile); if it ran and failed, "
            f"read its log group in the hub account"
        )
    return Check("spoke-access", False, f"scanner {function}: {error}", fix)
