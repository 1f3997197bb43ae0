"""Lambda settings: read from the environment the stack sets, once, on first use (never at import)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from mlgov.domain.tagging import TagDefaults


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
