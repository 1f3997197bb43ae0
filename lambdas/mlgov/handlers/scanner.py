"""Lambda entry point of the scheduled scan workflow: the state machine's `targets`, `scan` and `aggregate` tasks.

Events (from the state machine) and results:
- {"task": "targets", "run_id", "inline_max"?} → {"run_id", "targets_key", "count", "targets"?: [{"account",
  "region", "run_id"}]}: the targets are left out above inline_max (the Distributed Map reads targets_key)
- {"task": "scan", "account", "region", "run_id"} → {"account", "region", "part_key", "resources", "errors"}
- {"task": "aggregate", "run_id", "parts": [scan results, or Catch outputs {"account", "region", "error"}]}
  → {"run_id", "report_key", "summary", "errors", "new_zombies", "approvals_started", "approval_errors",
  "digest_posted", "expiry_reminders": {"due", "reminded": [ARN], "error"?}}
- {"task": "access", "accounts"?: [id], "regions"?: [region]} (from `mlgov doctor`; omitted: the scan's own targets and
  regions) → {"task": "access", "role", "regions", "accounts": [{"account", "ok", "via", "error",
  "regions": [{"region", "ok", "error"}]}], "ok", "failed"}: AssumeRole of the spoke role, then one ListEndpoints per
  region. Read-only.
A malformed event raises BadTask (the execution fails: a wiring bug). Access errors in an account-region never raise.
"""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools import Logger

from mlgov.domain.preflight import parse_access_task
from mlgov.domain.scan_run import BadTask, parse_target, run_id_of

logger = Logger(service="mlgov-scanner")


@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict, context) -> dict:
    if not isinstance(event, dict):
        raise BadTask(f"the event must be a JSON object, not {type(event).__name__}")
    task = event.get("task")
    if task == "targets":
        run_id = run_id_of(event)
        logger.append_keys(run_id=run_id, task=task)
        inline_max = event.get("inline_max")
        if inline_max is not None and (
            not isinstance(inline_max, int) or isinstance(inline_max, bool) or inline_max < 0
        ):
            raise BadTask(f"inline_max must be a non-negative integer, got {inline_max!r}")
        result = _runtime().targets(run_id, inline_max)
        logger.info("targets listed", extra={"count": result["count"]})
        return result
    if task == "scan":
        target = parse_target(event)
        logger.append_keys(run_id=target.run_id, task=task, account=target.account, region=target.region)
        result = _runtime().scan(target)
        logger.info("account-region scanned", extra={"resources": result["resources"], "errors": result["errors"]})
        return result
    if task == "aggregate":
        run_id = run_id_of(event)
        parts = event.get("parts")
        if parts is not None and not isinstance(parts, list):
            raise BadTask("parts must be a list of scan results")
        logger.append_keys(run_id=run_id, task=task)
        result = _runtime().aggregate(run_id, parts)
        logger.info(
            "run aggregated",
            extra={key: result[key] for key in ("report_key", "approvals_started", "digest_posted", "errors")}
            | {"new_zombies": len(result["new_zombies"])},
        )
        return result
    if task == "access":
        accounts, regions = parse_access_task(event)
        logger.append_keys(task=task)
        result = _runtime().access(accounts, regions)
        logger.info("spoke access checked", extra={"ok": result["ok"], "failed": result["failed"]})
        return result
    raise BadTask(f"unknown task {task!r}: expected targets, scan, aggregate or access")


@cache
def _runtime():
    from mlgov.handlers.scanner_runtime import ScannerRuntime

    return ScannerRuntime.from_settings(logger)
