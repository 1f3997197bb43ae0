"""Wiring for the auto-tagger Lambda: settings, clients, Powertools idempotency keyed on the CloudTrail eventID."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import boto3

from mlgov.aws.sessions import RETRY_CONFIG, AccountSessions
from mlgov.domain.create_event import parse_create_event
from mlgov.services.auto_tagging import park_in_dead_letter_queue, tag_new_resource
from mlgov.settings import Settings, settings

IDEMPOTENCY_KEY = "detail.eventID"
IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 3600  # EventBridge retries for at most 24 h; a week leaves margin


@dataclass
class AutoTaggerRuntime:
    settings: Settings
    sessions: AccountSessions
    tag_once: Callable[..., dict]
    logger: object

    @classmethod
    def from_settings(cls, logger, config: Settings | None = None) -> AutoTaggerRuntime:
        config = config or settings()
        sessions = AccountSessions(config.hub_account, config.spoke_role_name, endpoint_url=config.endpoint_url)

        def tag(event: dict) -> dict:
            call = parse_create_event(event, config.trusted_federation_roles)
            return tag_new_resource(
                call, sessions, config.tag_defaults, log=lambda msg, **kw: logger.warning(msg, extra=kw)
            ).as_dict()

        return cls(config, sessions, _idempotent(tag, config), logger)

    def park(self, event: object, reason: str) -> None:
        if not self.settings.dead_letter_queue_url:
            raise RuntimeError(f"no DLQ configured to park a bad event: {reason}")
        sqs = boto3.client("sqs", config=RETRY_CONFIG, endpoint_url=self.settings.endpoint_url)
        park_in_dead_letter_queue(sqs, self.settings.dead_letter_queue_url, event, reason)


def _idempotent(function: Callable[[dict], dict], config: Settings) -> Callable[..., dict]:
    if not config.idempotency_table:
        return lambda event, context=None: function(event)
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    persistence = DynamoDBPersistenceLayer(
        table_name=config.idempotency_table,
        boto3_client=boto3.client("dynamodb", config=RETRY_CONFIG, endpoint_url=config.endpoint_url),
    )
    idempotency = IdempotencyConfig(
        event_key_jmespath=IDEMPOTENCY_KEY,
        expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
        raise_on_no_idempotency_key=True,
    )
    wrapped = idempotent_function(data_keyword_argument="event", persistence_store=persistence, config=idempotency)(
        function
    )

    def run(event: dict, context=None) -> dict:
        if context is not None:
            idempotency.register_lambda_context(context)
        return wrapped(event=event)

    return run
