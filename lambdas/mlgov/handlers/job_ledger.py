"""Lambda entry point: records each ended SageMaker job (training, processing, transform) and its cost in the ledger."""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools import Logger

from mlgov.domain.create_event import BadEvent
from mlgov.domain.job_event import JobNotEnded, parse_job_event

logger = Logger(service="mlgov-job-ledger")


@logger.inject_lambda_context(log_event=False, clear_state=True)  # no keys left over from the last event
def handler(event: dict, context) -> dict:
    try:
        job = parse_job_event(event)
    except BadEvent as err:
        logger.warning("event rejected and parked in the DLQ", extra={"reason": str(err)})
        _runtime().park(event, str(err))
        return {"status": "rejected", "reason": str(err)}
    logger.append_keys(event_id=job.event_id, job_arn=job.arn, account=job.account)
    if isinstance(job, JobNotEnded):
        logger.debug("job has not ended: nothing to record", extra={"job_status": job.status})
        return {"status": "ignored", "job_status": job.status}
    result = _runtime().record(job)
    logger.info("ledger row " + result["status"], extra=result)
    return result


@cache
def _runtime():
    from mlgov.handlers.job_ledger_runtime import JobLedgerRuntime

    return JobLedgerRuntime.from_settings()
