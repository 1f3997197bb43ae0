"""Lambda entry point: tags each new SageMaker resource from its CloudTrail create event."""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools import Logger

from mlgov.domain.create_event import BadEvent, ResourceInAnotherAccount, parse_create_event

logger = Logger(service="mlgov-auto-tagger")


@logger.inject_lambda_context(log_event=False, clear_state=True)  # no keys left over from the last event
def handler(event: dict, context) -> dict:
    try:
        call = parse_create_event(event)
    except ResourceInAnotherAccount as err:
        logger.info("event skipped: the resource is another account's", extra={"reason": str(err)})
        return {"status": "skipped", "reason": str(err)}
    except BadEvent as err:
        logger.warning("event rejected and parked in the DLQ", extra={"reason": str(err)})
        _runtime().park(event, str(err))
        return {"status": "rejected", "reason": str(err)}
    logger.append_keys(event_id=call.event_id, resource_arn=call.resource_arn, account=call.account)
    result = _runtime().tag_once(event=event, context=context)
    logger.info("tagged", extra={"added": result["added"], "kept": result["kept"]})
    return {"status": "tagged", **result}


@cache
def _runtime():
    from mlgov.handlers.auto_tagger_runtime import AutoTaggerRuntime

    return AutoTaggerRuntime.from_settings(logger)
