"""Lambda entry point behind a Function URL: Slack approval button clicks → SendTaskSuccess, once per approval.

Request: a Function URL event (`body`, maybe `isBase64Encoded`, `headers` with x-slack-signature and
x-slack-request-timestamp). Answer: 401 when the signature or its 5-minute window does not hold; otherwise 200 with
`{"response_type": "ephemeral", "replace_original": false, "text": ...}` — also for refusals and repeated clicks
(a non-200 makes Slack retry). The decision reaches Step Functions as the task's output:
{"decision": "approve" | "reject", "by": "<Slack user id>"} or {"decision": "snooze", "by", "days"}.
"""

from __future__ import annotations

import base64
import binascii
import json
from functools import cache

from aws_lambda_powertools import Logger

from mlgov.domain.interaction import BadInteraction, parse_interaction

logger = Logger(service="mlgov-slack-interactions")


@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict, context) -> dict:
    headers = {str(k).lower(): str(v) for k, v in ((event or {}).get("headers") or {}).items()}
    try:
        body = _body(event or {})
    except ValueError:
        return _response(400, {"error": "the body is not valid base64"})
    runtime = _runtime()
    if not runtime.verify(body, headers):
        logger.warning("refused: bad or stale Slack signature", extra={"retry": headers.get("x-slack-retry-num")})
        return _response(401, {"error": "invalid signature"})
    try:
        click = parse_interaction(body)
    except BadInteraction as err:
        logger.warning("signed request is not an approval click", extra={"reason": str(err)})
        return _reply("mlgov cannot handle this interaction; nothing was changed.")
    logger.append_keys(approval_id=click.reference, action=click.action, slack_user=click.user_id)
    text = runtime.handle(click)
    return _reply(text)


def _body(event: dict) -> str:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as err:
            raise ValueError(str(err)) from None
    return body


def _reply(text: str) -> dict:
    return _response(200, {"response_type": "ephemeral", "replace_original": False, "text": text})


def _response(status: int, document: dict) -> dict:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(document)}


@cache
def _runtime():
    from mlgov.handlers.slack_interactions_runtime import SlackInteractionsRuntime

    return SlackInteractionsRuntime.from_settings(logger)
