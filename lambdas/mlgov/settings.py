"""Every Lambda's settings, and the one set of parsers for them: read from the environment the stack sets, once, on
first use (never at import). `settings()` is what the auto-tagger and job ledger share; the scanner, approval,
HyperPod scheduler and Slack interactions functions each have their own dataclass below."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from mlgov.domain.interaction import DEFAULT_SNOOZE_DAYS
from mlgov.domain.principals import SPOKE_APPROVAL_ROLE
from mlgov.domain.studio_idle import DEFAULT_IDLE_MINUTES, IDLE_TIMEOUT_MAX_MINUTES, IDLE_TIMEOUT_MIN_MINUTES
from mlgov.domain.tagging import TagDefaults
from mlgov.domain.zombies import DEFAULT_IDLE_DAYS, DEFAULT_MIN_AGE_DAYS


class SettingsError(RuntimeError):
    """A required environment variable is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    hub_account: str
    spoke_role_name: str
    idempotency_table: str | None
    dead_letter_queue_url: str | None
    tag_defaults: TagDefaults
    endpoint_url: str | None = None  # local moto server in the demo and end-to-end tests
    ledger_table: str | None = None  # the job cost ledger (job_ledger function only)
    trusted_federation_roles: tuple[str, ...] = ()  # roles whose session names / sourceIdentity name the person


@cache
def settings() -> Settings:
    try:
        defaults = TagDefaults.from_json(
            os.environ.get("MLGOV_TAG_DEFAULTS", '{"lifetime_key": null, "lifetime_days": 30, "lifetime_types": []}')
        )
    except (ValueError, KeyError, TypeError) as err:
        raise SettingsError(f"MLGOV_TAG_DEFAULTS is not valid: {err}") from None
    return Settings(
        hub_account=required(os.environ, "MLGOV_HUB_ACCOUNT"),
        spoke_role_name=os.environ.get("MLGOV_SPOKE_ROLE", "mlgov-spoke"),
        idempotency_table=os.environ.get("MLGOV_IDEMPOTENCY_TABLE") or None,
        dead_letter_queue_url=os.environ.get("MLGOV_DLQ_URL") or None,
        tag_defaults=defaults,
        endpoint_url=os.environ.get("MLGOV_ENDPOINT_URL") or None,
        ledger_table=os.environ.get("MLGOV_LEDGER_TABLE") or None,
        trusted_federation_roles=_role_arns(os.environ, "MLGOV_TRUSTED_FEDERATION_ROLES"),
    )


def _role_arns(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """An optional JSON list of role ARNs; SettingsError naming the variable when it is anything else."""
    text = env.get(name)
    if not text:
        return ()
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, list) or not all(isinstance(item, str) and ":role/" in item for item in value):
        raise SettingsError(f"{name} must be a JSON list of IAM role ARNs")
    return tuple(value)


def required(env: Mapping[str, str], name: str) -> str:
    """A variable the stack always sets; SettingsError naming it when missing or empty."""
    value = env.get(name)
    if not value:
        raise SettingsError(f"environment variable {name} is not set")
    return value


def whole_number(env: Mapping[str, str], name: str, default: int | None, minimum: int) -> int | None:
    """An optional whole-number variable (`default` when unset); SettingsError naming it when malformed or small."""
    text = env.get(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number (got {text!r})") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum} (got {value})")
    return value


def one_of(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """An optional variable with a fixed set of values (the first when unset); SettingsError naming it otherwise."""
    value = env.get(name) or choices[0]
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)} (got {value!r})")
    return value


def _idle_minutes(env: Mapping[str, str], name: str) -> int:
    value = whole_number(env, name, DEFAULT_IDLE_MINUTES, minimum=IDLE_TIMEOUT_MIN_MINUTES)
    if value > IDLE_TIMEOUT_MAX_MINUTES:
        raise SettingsError(f"{name} must be at most {IDLE_TIMEOUT_MAX_MINUTES} (got {value})")
    return value


def json_list(env: Mapping[str, str], name: str) -> tuple[str, ...] | None:
    """A JSON list of non-empty strings in `name` (None when unset or empty); SettingsError (one line) otherwise."""
    text = env.get(name)
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise SettingsError(f"{name} is not valid JSON: {err.msg}") from None
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise SettingsError(f'{name} must be a JSON list of strings, e.g. ["eu-west-1"]')
    return tuple(value)


def budget_map(env: Mapping[str, str], name: str) -> dict[str, float]:
    """A JSON object of team -> positive number of USD; SettingsError naming the variable otherwise."""
    text = env.get(name)
    if not text:
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        raise SettingsError(f"{name} must be a JSON object of team -> monthly USD") from None
    if not isinstance(parsed, dict) or not all(
        isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool) and v > 0
        for k, v in parsed.items()
    ):
        raise SettingsError(f"{name} must be a JSON object of team -> monthly USD (a positive number)")
    return {team: float(usd) for team, usd in parsed.items()}


def boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    """true/1/yes or false/0/no (`default` when unset); SettingsError naming the variable otherwise."""
    text = (env.get(name) or "").strip().lower()
    if not text:
        return default
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise SettingsError(f"{name} must be true or false (got {text!r})")


# --- per function ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScannerSettings:
    """The scanner's environment (set by the stack), read once on first use."""

    hub_account: str
    spoke_role_name: str
    archive_bucket: str
    findings_table: str
    regions: tuple[str, ...]
    accounts: tuple[str, ...] | None  # None: list the organization's ACTIVE accounts
    target_ous: tuple[str, ...] | None = None  # MLGOV_TARGET_OUS: only accounts below these OUs (or root)
    management_account: str | None = None  # MLGOV_MANAGEMENT_ACCOUNT: never scanned (no spoke can be there)
    approval_state_machine_arn: str | None = None
    approvals_table: str | None = None  # MLGOV_APPROVALS_TABLE: recorded exemptions
    slack_channel: str | None = None
    slack_token_secret: str | None = None
    slack_api_url: str | None = None
    zombie_idle_days: int = DEFAULT_IDLE_DAYS
    zombie_min_age_days: int = 7
    resource_types: tuple[str, ...] | None = None  # None: every supported type
    max_approvals_per_run: int | None = None  # None: no limit; the rest start on the next run
    write_last_invoked: bool = True  # update the endpoints' `last-invoked` tag when traffic was seen
    live_prices: bool = True  # MLGOV_LIVE_PRICES: price from the AWS Price List (weekly cache), else the table only
    around_costs: bool = True  # MLGOV_AROUND_COSTS: logs and artifact-bucket costs around the running endpoints
    budgets: Mapping[str, float] = field(default_factory=dict)  # MLGOV_BUDGETS: {"team": monthly USD}
    notify_topic: str | None = None  # MLGOV_NOTIFY_TOPIC: the hub's notifications topic, every post mirrored there
    expiry_reminder_days: int = 7  # MLGOV_EXPIRY_REMINDER_DAYS: remind owners this many days ahead; 0: never
    notebook_stops: str = "report"  # MLGOV_NOTEBOOK_STOPS: report (warn only) | stop
    notebook_stop_grace_hours: int = 24  # MLGOV_NOTEBOOK_STOP_GRACE_HOURS: from the warning to the stop
    studio_app_stops: str = "report"  # MLGOV_STUDIO_APP_STOPS: report | delete (idle Studio apps, after a warning)
    studio_idle_shutdown: str = "report"  # MLGOV_STUDIO_IDLE_SHUTDOWN: report (dry run) | apply (UpdateDomain)
    studio_idle_minutes: int = DEFAULT_IDLE_MINUTES  # MLGOV_STUDIO_IDLE_MINUTES: the IdleTimeoutInMinutes applied
    tag_schema_json: str | None = None  # None: the packaged copy of policies/tag_schema.json
    home_region: str = "us-east-1"  # the hub's region: console links
    endpoint_url: str | None = None  # local moto server in the demo and end-to-end tests

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ScannerSettings:
        env = os.environ if environ is None else environ
        home_region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        accounts = json_list(env, "MLGOV_ACCOUNTS")
        regions = json_list(env, "MLGOV_REGIONS") or (home_region,)
        types = json_list(env, "MLGOV_RESOURCE_TYPES")
        return cls(
            hub_account=required(env, "MLGOV_HUB_ACCOUNT"),
            spoke_role_name=env.get("MLGOV_SPOKE_ROLE") or "mlgov-spoke",
            archive_bucket=required(env, "MLGOV_ARCHIVE_BUCKET"),
            findings_table=required(env, "MLGOV_FINDINGS_TABLE"),
            regions=regions,
            accounts=accounts,
            target_ous=json_list(env, "MLGOV_TARGET_OUS"),
            management_account=env.get("MLGOV_MANAGEMENT_ACCOUNT") or None,
            approval_state_machine_arn=env.get("MLGOV_APPROVAL_STATE_MACHINE_ARN") or None,
            approvals_table=env.get("MLGOV_APPROVALS_TABLE") or None,
            slack_channel=env.get("MLGOV_SLACK_CHANNEL") or None,
            slack_token_secret=env.get("MLGOV_SLACK_TOKEN_SECRET") or None,
            slack_api_url=env.get("MLGOV_SLACK_API_URL") or None,
            zombie_idle_days=whole_number(env, "MLGOV_ZOMBIE_IDLE_DAYS", DEFAULT_IDLE_DAYS, minimum=1),
            zombie_min_age_days=whole_number(env, "MLGOV_ZOMBIE_MIN_AGE_DAYS", DEFAULT_MIN_AGE_DAYS, minimum=0),
            resource_types=types,
            max_approvals_per_run=whole_number(env, "MLGOV_MAX_APPROVALS_PER_RUN", None, minimum=0),
            write_last_invoked=boolean(env, "MLGOV_WRITE_LAST_INVOKED", True),
            live_prices=boolean(env, "MLGOV_LIVE_PRICES", True),
            around_costs=boolean(env, "MLGOV_AROUND_COSTS", True),
            budgets=budget_map(env, "MLGOV_BUDGETS"),
            notify_topic=env.get("MLGOV_NOTIFY_TOPIC") or None,
            expiry_reminder_days=whole_number(env, "MLGOV_EXPIRY_REMINDER_DAYS", 7, minimum=0),
            notebook_stops=env.get("MLGOV_NOTEBOOK_STOPS") or "report",
            studio_app_stops=one_of(env, "MLGOV_STUDIO_APP_STOPS", ("report", "delete")),
            notebook_stop_grace_hours=whole_number(env, "MLGOV_NOTEBOOK_STOP_GRACE_HOURS", 24, minimum=1),
            studio_idle_shutdown=one_of(env, "MLGOV_STUDIO_IDLE_SHUTDOWN", ("report", "apply")),
            studio_idle_minutes=_idle_minutes(env, "MLGOV_STUDIO_IDLE_MINUTES"),
            tag_schema_json=env.get("MLGOV_TAG_SCHEMA") or None,
            home_region=home_region,
            endpoint_url=env.get("MLGOV_ENDPOINT_URL") or None,
        )


@cache
def scanner_settings() -> ScannerSettings:
    return ScannerSettings.from_environment()


@dataclass(frozen=True)
class ApprovalSettings:
    hub_account: str  # MLGOV_HUB_ACCOUNT
    archive_bucket: str  # MLGOV_ARCHIVE_BUCKET
    approvals_table: str  # MLGOV_APPROVALS_TABLE
    slack_channel: str  # MLGOV_SLACK_CHANNEL
    slack_token_secret: str  # MLGOV_SLACK_TOKEN_SECRET (Secrets Manager name or ARN)
    role_name: str = SPOKE_APPROVAL_ROLE  # MLGOV_APPROVAL_ROLE
    timeout_hours: int = 72  # MLGOV_APPROVAL_TIMEOUT_HOURS (the Notify state's TimeoutSeconds / 3600)
    snooze_days: int = DEFAULT_SNOOZE_DAYS  # MLGOV_SNOOZE_DAYS
    min_age_days: int = DEFAULT_MIN_AGE_DAYS  # MLGOV_ZOMBIE_MIN_AGE_DAYS: re-applied to the live endpoint at Recheck
    slack_api_url: str | None = None  # MLGOV_SLACK_API_URL (tests, demo)
    region: str | None = None
    endpoint_url: str | None = None  # MLGOV_ENDPOINT_URL (moto in the demo and end-to-end tests)
    notify_topic: str | None = None  # MLGOV_NOTIFY_TOPIC: the hub's notifications topic, every post mirrored there
    approvers: frozenset[str] = frozenset()  # MLGOV_SLACK_APPROVERS: who may act for any owner on a resource button

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ApprovalSettings:
        env = os.environ if environ is None else environ
        return cls(
            hub_account=required(env, "MLGOV_HUB_ACCOUNT"),
            archive_bucket=required(env, "MLGOV_ARCHIVE_BUCKET"),
            approvals_table=required(env, "MLGOV_APPROVALS_TABLE"),
            slack_channel=required(env, "MLGOV_SLACK_CHANNEL"),
            slack_token_secret=required(env, "MLGOV_SLACK_TOKEN_SECRET"),
            role_name=env.get("MLGOV_APPROVAL_ROLE") or SPOKE_APPROVAL_ROLE,
            timeout_hours=whole_number(env, "MLGOV_APPROVAL_TIMEOUT_HOURS", 72, minimum=1),
            snooze_days=whole_number(env, "MLGOV_SNOOZE_DAYS", DEFAULT_SNOOZE_DAYS, minimum=1),
            min_age_days=whole_number(env, "MLGOV_ZOMBIE_MIN_AGE_DAYS", DEFAULT_MIN_AGE_DAYS, minimum=0),
            slack_api_url=env.get("MLGOV_SLACK_API_URL") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            endpoint_url=env.get("MLGOV_ENDPOINT_URL") or None,
            notify_topic=env.get("MLGOV_NOTIFY_TOPIC") or None,
            approvers=_approvers(env.get("MLGOV_SLACK_APPROVERS")),
        )


@cache
def approval_settings() -> ApprovalSettings:
    return ApprovalSettings.from_environment()


@dataclass(frozen=True)
class SchedulerSettings:
    hub_account: str
    spoke_role_name: str
    state_table: str
    apply: bool
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    endpoint_url: str | None = None
    target_ous: tuple[str, ...] = ()  # MLGOV_TARGET_OUS (org mode): the accounts below them, listed at each pass
    management_account: str | None = None  # MLGOV_MANAGEMENT_ACCOUNT: never scheduled (no spoke there)
    notify_topic: str | None = None  # MLGOV_NOTIFY_TOPIC: rejected and stuck actions are published there
    approval_state_machine_arn: str | None = None  # MLGOV_APPROVAL_STATE_MACHINE_ARN: parks (snapshot, delete)
    approval_function: str | None = None  # MLGOV_APPROVAL_FUNCTION: restores parked endpoints


@cache
def scheduler_settings() -> SchedulerSettings:
    shared = settings()
    state_table = required(os.environ, "MLGOV_HYPERPOD_STATE_TABLE")
    default_regions = [os.environ["AWS_REGION"]] if os.environ.get("AWS_REGION") else []
    accounts, regions = parse_targets(os.environ.get("MLGOV_TARGETS") or "{}", [shared.hub_account], default_regions)
    return SchedulerSettings(
        hub_account=shared.hub_account,
        spoke_role_name=shared.spoke_role_name,
        state_table=state_table,
        apply=boolean(os.environ, "MLGOV_HYPERPOD_APPLY", False),
        accounts=accounts,
        regions=regions,
        endpoint_url=shared.endpoint_url,
        target_ous=json_list(os.environ, "MLGOV_TARGET_OUS") or (),
        management_account=os.environ.get("MLGOV_MANAGEMENT_ACCOUNT") or None,
        notify_topic=os.environ.get("MLGOV_NOTIFY_TOPIC") or None,
        approval_state_machine_arn=os.environ.get("MLGOV_APPROVAL_STATE_MACHINE_ARN") or None,
        approval_function=os.environ.get("MLGOV_APPROVAL_FUNCTION") or None,
    )


def parse_targets(
    text: str | Mapping, default_accounts: list[str], default_regions: list[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """{"accounts": [...], "regions": [...]} (JSON text or a mapping) → (accounts, regions); SettingsError if bad."""
    try:
        targets = json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError as err:
        raise SettingsError(f"MLGOV_TARGETS is not JSON: {err}") from None
    if not isinstance(targets, Mapping):
        raise SettingsError('MLGOV_TARGETS must be {"accounts": [...], "regions": [...]}')
    unknown = sorted(set(targets) - {"accounts", "regions", "dry_run"})
    if unknown:
        raise SettingsError(f"targets: unknown key {unknown[0]!r} (accounts, regions)")
    accounts = targets.get("accounts") or default_accounts
    regions = targets.get("regions") or default_regions
    for key, values in (("accounts", accounts), ("regions", regions)):
        if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
            raise SettingsError(f"targets: {key} must be a list of strings")
    bad = [account for account in accounts if not (account.isdigit() and len(account) == 12)]
    if bad:
        raise SettingsError(f"targets: {bad[0]!r} is not a 12-digit account id")
    if not regions:
        raise SettingsError("targets: no regions (set MLGOV_TARGETS regions or AWS_REGION)")
    return tuple(dict.fromkeys(accounts)), tuple(dict.fromkeys(regions))


@dataclass(frozen=True)
class InteractionSettings:
    """The function's environment (set by the stack), read once on first use."""

    signing_secret_id: str  # MLGOV_SLACK_SIGNING_SECRET: Secrets Manager name or ARN
    approvals_table: str  # MLGOV_APPROVALS_TABLE
    approvers: frozenset[str]  # MLGOV_SLACK_APPROVERS: JSON list of Slack user ids
    approval_function: str | None = None  # MLGOV_APPROVAL_FUNCTION: carries out "Keep running" / "Extend" clicks
    region: str | None = None
    endpoint_url: str | None = None  # local moto server in the demo and end-to-end tests

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> InteractionSettings:
        env = os.environ if environ is None else environ
        return cls(
            signing_secret_id=required(env, "MLGOV_SLACK_SIGNING_SECRET"),
            approvals_table=required(env, "MLGOV_APPROVALS_TABLE"),
            approvers=_approvers(env.get("MLGOV_SLACK_APPROVERS")),
            approval_function=env.get("MLGOV_APPROVAL_FUNCTION") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            endpoint_url=env.get("MLGOV_ENDPOINT_URL") or None,
        )


@cache
def interaction_settings() -> InteractionSettings:
    return InteractionSettings.from_environment()


def _approvers(text: str | None) -> frozenset[str]:
    if not text:
        raise SettingsError("environment variable MLGOV_SLACK_APPROVERS is not set (a JSON list of Slack user ids)")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise SettingsError(f"MLGOV_SLACK_APPROVERS is not valid JSON: {err.msg}") from None
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise SettingsError('MLGOV_SLACK_APPROVERS must be a JSON list of Slack user ids, e.g. ["U012ABCDEF"]')
    return frozenset(value)
