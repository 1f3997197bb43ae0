"""Wiring for the approval Lambda: settings (read once, on first use), clients, Slack, the approval spoke role."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import boto3

from mlgov.aws.approvals_table import ApprovalsTable
from mlgov.aws.sessions import RETRY_CONFIG, AccountSessions
from mlgov.domain.interaction import DEFAULT_SNOOZE_DAYS
from mlgov.services.approvals import APPROVAL_ROLE_NAME, ApprovalTasks, SlackGateway
from mlgov.settings import required, whole_number

SESSION_NAME = "mlgov-approval"  # how the approval flow's calls show in member accounts' CloudTrail


@dataclass(frozen=True)
class ApprovalSettings:
    hub_account: str  # MLGOV_HUB_ACCOUNT
    archive_bucket: str  # MLGOV_ARCHIVE_BUCKET
    approvals_table: str  # MLGOV_APPROVALS_TABLE
    slack_channel: str  # MLGOV_SLACK_CHANNEL
    slack_token_secret: str  # MLGOV_SLACK_TOKEN_SECRET (Secrets Manager name or ARN)
    role_name: str = APPROVAL_ROLE_NAME  # MLGOV_APPROVAL_ROLE
    timeout_hours: int = 72  # MLGOV_APPROVAL_TIMEOUT_HOURS (the Notify state's TimeoutSeconds / 3600)
    snooze_days: int = DEFAULT_SNOOZE_DAYS  # MLGOV_SNOOZE_DAYS
    min_age_days: int = 7  # MLGOV_ZOMBIE_MIN_AGE_DAYS: re-applied to the live endpoint at Recheck
    slack_api_url: str | None = None  # MLGOV_SLACK_API_URL (tests, demo)
    region: str | None = None
    endpoint_url: str | None = None  # MLGOV_ENDPOINT_URL (moto in the demo and end-to-end tests)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ApprovalSettings:
        env = os.environ if environ is None else environ
        return cls(
            hub_account=required(env, "MLGOV_HUB_ACCOUNT"),
            archive_bucket=required(env, "MLGOV_ARCHIVE_BUCKET"),
            approvals_table=required(env, "MLGOV_APPROVALS_TABLE"),
            slack_channel=required(env, "MLGOV_SLACK_CHANNEL"),
            slack_token_secret=required(env, "MLGOV_SLACK_TOKEN_SECRET"),
            role_name=env.get("MLGOV_APPROVAL_ROLE") or APPROVAL_ROLE_NAME,
            timeout_hours=whole_number(env, "MLGOV_APPROVAL_TIMEOUT_HOURS", 72, minimum=1),
            snooze_days=whole_number(env, "MLGOV_SNOOZE_DAYS", DEFAULT_SNOOZE_DAYS, minimum=1),
            min_age_days=whole_number(env, "MLGOV_ZOMBIE_MIN_AGE_DAYS", 7, minimum=1),
            slack_api_url=env.get("MLGOV_SLACK_API_URL") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            endpoint_url=env.get("MLGOV_ENDPOINT_URL") or None,
        )


@cache
def approval_settings() -> ApprovalSettings:
    return ApprovalSettings.from_environment()


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

    def post(blocks: list[dict], text: str) -> str:
        from mlgov.aws.slack_post import post_message

        return post_message(bot(), config.slack_channel, blocks, text, base_url=config.slack_api_url)

    def update(channel: str, ts: str, blocks: list[dict], text: str) -> str:
        from mlgov.aws.slack_update import update_message

        return update_message(bot(), channel, ts, blocks, text, base_url=config.slack_api_url)

    return ApprovalTasks(
        sessions=AccountSessions(
            config.hub_account, config.role_name, endpoint_url=config.endpoint_url, session_name=SESSION_NAME
        ),
        archive_client=client("s3"),
        archive_bucket=config.archive_bucket,
        approvals=ApprovalsTable(dynamodb, config.approvals_table),
        dynamodb=dynamodb,
        approvals_table=config.approvals_table,
        slack=SlackGateway(config.slack_channel, post, update),
        timeout_hours=config.timeout_hours,
        snooze_days=config.snooze_days,
        min_age_days=config.min_age_days,
    )
