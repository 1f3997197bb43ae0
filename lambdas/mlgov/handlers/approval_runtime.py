"""Wiring for the approval Lambda: settings (read once, on first use), clients, Slack, the approval spoke role."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache

import boto3

from mlgov.aws.approvals_table import ApprovalsTable
from mlgov.aws.sessions import RETRY_CONFIG, AccountSessions
from mlgov.services.approvals import ApprovalTasks, SlackGateway
from mlgov.settings import ApprovalSettings, approval_settings

LOGGER = logging.getLogger("mlgov.approval")
SESSION_NAME = "mlgov-approval"  # how the approval flow's calls show in member accounts' CloudTrail


def build_tasks(config: ApprovalSettings | None = None) -> ApprovalTasks:
    config = config or approval_settings()

    def client(service: str):
        return boto3.client(service, region_name=config.region, config=RETRY_CONFIG, endpoint_url=config.endpoint_url)

    dynamodb = client("dynamodb")
    token: list[str] = []

    def bot() -> str:
        if not token:  # read once per container, never logged
            from mlgov.aws.slack_post import bot_token

            token.append(bot_token(client("secretsmanager"), config.slack_token_secret))
        return token[0]

    def mirror(subject: str, text: str) -> None:
        """The same words on the notifications topic; a failure is logged, never raised (Slack is the channel)."""
        if not config.notify_topic:
            return
        from botocore.exceptions import BotoCoreError, ClientError

        from mlgov.aws.notify_topic import publish_notice

        try:
            publish_notice(client("sns"), config.notify_topic, subject, text)
        except (ClientError, BotoCoreError) as err:
            LOGGER.warning("notification not published: %s", err)

    def post(blocks: list[dict], text: str) -> str:
        from mlgov.aws.slack_post import post_message

        ts = post_message(bot(), config.slack_channel, blocks, text, base_url=config.slack_api_url)
        mirror("mlgov approval request", text)
        return ts

    def update(channel: str, ts: str, blocks: list[dict], text: str) -> str:
        from mlgov.aws.slack_update import update_message

        updated = update_message(bot(), channel, ts, blocks, text, base_url=config.slack_api_url)
        mirror("mlgov approval outcome", text)
        return updated

    return ApprovalTasks(
        sessions=AccountSessions(
            config.hub_account, config.role_name, endpoint_url=config.endpoint_url, session_name=SESSION_NAME
        ),
        archive_client=client("s3"),
        archive_bucket=config.archive_bucket,
        approvals=ApprovalsTable(dynamodb, config.approvals_table),
        slack=SlackGateway(config.slack_channel, post, update),
        timeout_hours=config.timeout_hours,
        snooze_days=config.snooze_days,
        min_age_days=config.min_age_days,
    )


@cache
def slack_email_lookup(config: ApprovalSettings | None = None) -> Callable[[str], str | None]:
    """Slack user id -> the e-mail on their Slack profile (users.info; the app needs users:read.email)."""
    config = config or approval_settings()
    from mlgov.aws.slack_post import bot_token, user_email

    secrets = boto3.client(
        "secretsmanager", region_name=config.region, config=RETRY_CONFIG, endpoint_url=config.endpoint_url
    )
    token: list[str] = []

    def email_of(user_id: str) -> str | None:
        if not token:
            token.append(bot_token(secrets, config.slack_token_secret))
        return user_email(token[0], user_id, base_url=config.slack_api_url)

    return email_of


@cache
def lifetime_rule() -> tuple[str, int | None]:
    """The tag schema's lifetime key and its maximum lifetime in days (the packaged schema)."""
    from mlgov.packaged_schema import load_packaged_schema

    rule = load_packaged_schema().lifetime_rule()
    if rule is None:
        raise RuntimeError("the tag schema has no lifetime (date) tag: nothing to extend")
    return rule.key, rule.max_lifetime_days


def running_execution_problem(
    execution_id: object, finding_arn: object, config: ApprovalSettings | None = None
) -> str | None:
    """None when `execution_id` is a RUNNING execution of the hub's approval state machine whose input names
    `finding_arn`; else why not. Confirm and Delete ask this: the Slack or scheduler function, which may invoke this
    function for their own tasks, cannot make it confirm or delete anything outside an approval (or park) under way."""
    import json

    from mlgov.domain.preflight import APPROVAL_STATE_MACHINE_NAME

    config = config or approval_settings()
    parts = str(execution_id or "").split(":")
    if len(parts) != 8 or parts[2] != "states" or parts[5] != "execution" or parts[4] != config.hub_account:
        return "no execution of the hub's approval state machine asked (execution_id)"
    if parts[6] != APPROVAL_STATE_MACHINE_NAME:
        return f"{parts[6]} is not the approval state machine"
    sfn = boto3.client("stepfunctions", region_name=parts[3], config=RETRY_CONFIG, endpoint_url=config.endpoint_url)
    described = sfn.describe_execution(executionArn=str(execution_id))
    if described.get("status") != "RUNNING":
        return f"the execution is {described.get('status')}"
    try:
        named = (json.loads(described.get("input") or "{}").get("finding") or {}).get("arn")
    except (ValueError, AttributeError):
        named = None
    if not finding_arn or named != finding_arn:
        return "the execution is about another resource"
    return None
