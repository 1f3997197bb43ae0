"""Lambda settings: read from the environment the stack sets, once, on first use (never at import)."""

from __future__ import annotations

import os
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


@cache
def settings() -> Settings:
    try:
        defaults = TagDefaults.from_json(
            os.environ.get("MLGOV_TAG_DEFAULTS", '{"lifetime_key": null, "lifetime_days": 30, "lifetime_types": []}')
        )
    except (ValueError, KeyError, TypeError) as err:
        raise SettingsError(f"MLGOV_TAG_DEFAULTS is not valid: {err}") from None
    return Settings(
        hub_account=_required("MLGOV_HUB_ACCOUNT"),
        spoke_role_name=os.environ.get("MLGOV_SPOKE_ROLE", "mlgov-spoke"),
        idempotency_table=os.environ.get("MLGOV_IDEMPOTENCY_TABLE") or None,
        dead_letter_queue_url=os.environ.get("MLGOV_DLQ_URL") or None,
        tag_defaults=defaults,
        endpoint_url=os.environ.get("MLGOV_ENDPOINT_URL") or None,
        ledger_table=os.environ.get("MLGOV_LEDGER_TABLE") or None,
    )


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SettingsError(f"environment variable {name} is not set")
    return value
