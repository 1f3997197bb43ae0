"""The scheduled scan's contracts: task events, archive keys, approval execution names and who needs an approval."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

EXEMPT_TAG = "mlgov:exempt"
APPROVABLE_TYPES = frozenset({"endpoint"})  # the approval flow snapshots and deletes endpoints only
RUNS_PREFIX = "runs/"
REPORTS_PREFIX = "reports/"
LATEST_REPORT_KEY = "reports/latest.json"
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_ACCOUNT = re.compile(r"^[0-9]{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
_EXECUTION_NAME_MAX = 80  # Step Functions: 1-80 characters of [A-Za-z0-9_-] (no spaces, wildcards or controls)


class BadTask(ValueError):
    """The state machine sent an event this function does not understand (a wiring bug: the execution fails)."""


@dataclass(frozen=True)
class Target:
    account: str
    region: str
    run_id: str

    def as_json(self) -> dict:
        return {"account": self.account, "region": self.region, "run_id": self.run_id}


def run_id_of(event: Mapping) -> str:
    run_id = event.get("run_id")
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id):
        raise BadTask(f"run_id must be 1-128 characters of letters, digits and . _ : - (got {run_id!r})")
    return run_id


def parse_target(event: Mapping) -> Target:
    account, region = event.get("account"), event.get("region")
    if not isinstance(account, str) or not _ACCOUNT.fullmatch(account):
        raise BadTask(f"account must be a 12-digit account id (got {account!r})")
    if not isinstance(region, str) or not _REGION.fullmatch(region):
        raise BadTask(f"region must be a region name like eu-west-1 (got {region!r})")
    return Target(account, region, run_id_of(event))


def targets(accounts: Sequence[str], regions: Sequence[str], run_id: str) -> list[Target]:
    """Every account × region once, sorted; each validated as the scan task will validate it."""
    return [
        parse_target({"account": account, "region": region, "run_id": run_id})
        for account in sorted(set(accounts))
        for region in sorted(set(regions))
    ]


def part_key(target: Target) -> str:
    return f"{RUNS_PREFIX}{target.run_id}/parts/{target.account}-{target.region}.json"


def parts_prefix(run_id: str) -> str:
    return f"{RUNS_PREFIX}{run_id}/parts/"


def targets_key(run_id: str) -> str:
    return f"{RUNS_PREFIX}{run_id}/targets.json"


def report_key(run_id: str, now: datetime) -> str:
    return f"{REPORTS_PREFIX}{now.strftime('%Y-%m-%d')}/{run_id}.json"


def failed_part_error(item: Mapping) -> dict:
    """A Map iteration that produced no part (its Catch output) as a report error entry. Accepts the Catch's error
    object nested ({"error": {"Error", "Cause"}}) or flattened ({"error": "States.Timeout", "cause": "..."})."""
    error = item.get("error")
    if isinstance(error, Mapping):
        name, cause = error.get("Error"), error.get("Cause")
    else:
        name, cause = error, item.get("cause")
    return {
        "account": str(item.get("account", "")),
        "region": str(item.get("region", "")),
        "operation": str(name or "scan"),
        "message": str(cause or name or "the scan task produced no part")[:2000],
    }


def approval_execution_name(arn: str, zombie_since: str) -> str:
    """Deterministic per (endpoint, zombie episode): a re-run, retry or concurrent run gets the same name, and Step
    Functions refuses a second execution with it; a later episode (active in between) gets a new one."""
    digest = hashlib.sha256(f"{arn}\n{zombie_since}".encode()).hexdigest()
    name = f"zombie-{zombie_since.replace('-', '')}-{digest}"
    return name[:_EXECUTION_NAME_MAX]


def is_exempt(finding: Mapping, recorded: Mapping[str, str]) -> bool:
    """Tagged `mlgov:exempt` with the value mlgov recorded for it (`recorded`: ARN -> value, from the approvals
    table), unless the verdict found the exemption lapsed (a snooze past its end date). A tag nobody recorded —
    written by hand, or before the SCPs protected the key — keeps nothing."""
    if "exempt_lapsed" in (finding.get("evidence") or {}):
        return False
    value = (finding.get("tags") or {}).get(EXEMPT_TAG)
    return value is not None and recorded.get(finding.get("arn", "")) == value


def unrecorded_exemption(finding: Mapping, recorded: Mapping[str, str]) -> str | None:
    """The `mlgov:exempt` value of a finding that mlgov did not record (so it is not honoured), else None."""
    value = (finding.get("tags") or {}).get(EXEMPT_TAG)
    if value is None or recorded.get(finding.get("arn", "")) == value:
        return None
    return value


def approval_episode(finding: Mapping, zombie_since: str) -> str:
    """The first day of the zombie episode the approval is about: `zombie_since`, or the day after a lapsed snooze
    ended when that is later (so the flow asks again, under a new execution name, once the snooze is over)."""
    from mlgov.domain.zombies import snooze_end

    lapsed = (finding.get("evidence") or {}).get("exempt_lapsed")
    until = snooze_end(lapsed) if isinstance(lapsed, str) else None
    if until is None:
        return zombie_since
    return max(zombie_since, (until + timedelta(days=1)).isoformat())


def needs_approval(
    finding: Mapping, zombie_since: str | None, approval_started: str | None, recorded: Mapping[str, str]
) -> bool:
    """A zombie endpoint, not exempt (by a recorded exemption), whose current episode has not been handed to the
    approval flow yet."""
    return (
        finding.get("status") == "zombie"
        and finding.get("resource_type") in APPROVABLE_TYPES
        and zombie_since is not None
        and not is_exempt(finding, recorded)
        and approval_started != approval_execution_name(finding["arn"], approval_episode(finding, zombie_since))
    )


def report_location(bucket: str, key: str, region: str) -> str:
    """The S3 console page of the report in the commercial partition; an s3:// URI elsewhere."""
    if region.startswith(("cn-", "us-gov-", "us-iso")):
        return f"s3://{bucket}/{key}"
    return (
        f"https://s3.console.aws.amazon.com/s3/object/{quote(bucket)}"
        f"?region={quote(region)}&prefix={quote(key, safe='')}"
    )
