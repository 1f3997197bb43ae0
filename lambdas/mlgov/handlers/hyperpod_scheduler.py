"""Lambda entry point: every hyperpod_schedule_minutes, scale tagged HyperPod clusters down off-hours and back up."""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools import Logger

logger = Logger(service="mlgov-hyperpod-scheduler")

_WORTH_A_LINE = frozenset({"applied", "rejected", "deferred", "dry_run", "invalid", "unrecorded", "error"})
_WARNINGS = frozenset({"rejected", "invalid", "unrecorded", "error"})


@logger.inject_lambda_context(log_event=False)
def handler(event: dict, context) -> dict:
    if isinstance(event, dict) and event.get("task") == "set_schedule":
        schedule = event.get("schedule")
        result = _runtime().set_schedule(
            str(event.get("cluster_arn") or ""), None if schedule is None else str(schedule), str(event.get("by") or "")
        )
        logger.info("hyperpod schedule set", extra={"schedule_change": result})
        return result
    summary = _runtime().run(
        event, log=lambda text, **fields: logger.info(text, extra=fields), holder=context.aws_request_id
    )
    if "skipped" in summary:
        logger.warning("hyperpod scheduler pass skipped", extra={"reason": summary["skipped"]})
        return summary
    for cluster in summary["clusters"]:
        if cluster["outcome"] in _WORTH_A_LINE:
            level = logger.warning if cluster["outcome"] in _WARNINGS else logger.info
            level("hyperpod cluster " + cluster["outcome"], extra={"hyperpod_cluster": cluster})
    for error in summary["errors"]:
        logger.warning("hyperpod account-region failed", extra={"hyperpod_error": error})
    _runtime().publish_problems(summary, log=lambda text, **fields: logger.warning(text, extra=fields))
    logger.info("hyperpod scheduler pass", extra={"dry_run": summary["dry_run"], "totals": summary["totals"]})
    return summary


@cache
def _runtime():
    from mlgov.handlers.hyperpod_scheduler_runtime import HyperPodSchedulerRuntime

    return HyperPodSchedulerRuntime.from_settings()
