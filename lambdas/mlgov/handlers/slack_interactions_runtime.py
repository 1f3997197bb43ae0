"""Wiring for the Slack interactions Lambda: settings, the signing secret (cached, never logged), clients, the click."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from mlgov.aws.approvals_table import ApprovalsTable
from mlgov.aws.slack_post import RESPONSE_URL_PREFIX, post_ephemeral
from mlgov.domain.interaction import Click, already_handled_text, decide_click
from mlgov.domain.resource_buttons import RESOURCE_ACTIONS
from mlgov.settings import InteractionSettings, interaction_settings

SECRET_TTL_SECONDS = 900  # re-read the signing secret this often (rotation), not per request
RESPONSE_URL_TIMEOUT_SECONDS = 1  # Slack wants the HTTP answer within 3 s
# Slack wants the answer within 3 s: few, short attempts (a failed send releases the claim for another click).
FAST_CONFIG = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=1, read_timeout=2)
# A resource click is handed to the approval function: one short attempt (a retry could hand it over twice).
INVOKE_CONFIG = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1, read_timeout=2)
HANDED_OVER = "mlgov is on it: the result comes here in a moment (only you see it)."
# SendTaskSuccess errors meaning the task no longer waits: the click is answered as already handled.
FINISHED_TASK_ERRORS = frozenset({"TaskTimedOut", "InvalidToken", "TaskDoesNotExist"})


class SigningSecretError(RuntimeError):
    """The signing secret cannot be read or is empty; the text never contains the secret."""


@dataclass
class SlackInteractionsRuntime:
    settings: InteractionSettings
    logger: object
    clock: Callable[[], float] = time.time
    reply: Callable[[str, str], None] | None = None  # (response_url, text); None: post with slack-sdk
    _clients: dict = field(default_factory=dict, repr=False)
    _secret: tuple[str, float] | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, logger, config: InteractionSettings | None = None) -> SlackInteractionsRuntime:
        return cls(config or interaction_settings(), logger)

    # ---- signature -----------------------------------------------------------------------------------------------

    def verify(self, body: str, headers: Mapping[str, str]) -> bool:
        """slack-sdk's check: HMAC-SHA256 of v0:{timestamp}:{body}, constant-time compare, 5-minute window."""
        from slack_sdk.signature import SignatureVerifier

        clock = self.clock

        class _Clock:
            def now(self) -> float:
                return clock()

        try:
            return SignatureVerifier(self._signing_secret(), clock=_Clock()).is_valid_request(body, headers)
        except ValueError:  # a timestamp header that is not a number
            return False

    def _signing_secret(self) -> str:
        now = time.monotonic()
        if self._secret is None or now - self._secret[1] > SECRET_TTL_SECONDS:
            self._secret = (signing_secret(self._client("secretsmanager"), self.settings.signing_secret_id), now)
        return self._secret[0]

    # ---- the click -----------------------------------------------------------------------------------------------

    def handle(self, click: Click) -> str:
        """Decide, claim once, tell Step Functions; the text for the clicking user."""
        if click.action in RESOURCE_ACTIONS:
            return self._answer(click, self._resource_click(click))
        table = self._table()
        now = self.clock()
        state = table.get(click.reference) if click.user_id in self.settings.approvers else None
        decision = decide_click(click, self.settings.approvers, state, now=now)
        if decision.send is None:
            self.logger.info("click changes nothing", extra={"known": state is not None})
            return self._answer(click, decision.respond_text)
        claimed = table.claim(
            click.reference,
            by=click.user_id,
            decision=click.action,
            now=datetime.fromtimestamp(now, UTC),
        )
        if claimed is None:  # another delivery of the click, or a concurrent click, got there first
            self.logger.info("approval already claimed")
            return self._answer(click, already_handled_text())
        sfn = self._client("stepfunctions")
        try:
            if decision.send == "success":
                sfn.send_task_success(taskToken=claimed["task_token"], output=json.dumps(decision.output))
            else:
                sfn.send_task_failure(taskToken=claimed["task_token"], **decision.output)
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            if code in FINISHED_TASK_ERRORS:
                self.logger.info("the execution no longer waits for this decision", extra={"error_code": code})
                return self._answer(click, already_handled_text())
            return self._unclaim(click, table, code or type(err).__name__)
        except BotoCoreError as err:
            return self._unclaim(click, table, type(err).__name__)
        self.logger.info("decision sent to Step Functions", extra={"decision": click.action})
        return self._answer(click, decision.respond_text)

    def _resource_click(self, click: Click) -> str:
        """ "Keep running" / "Extend": handed to the hub's approval function (an asynchronous invocation: Slack wants
        this answer within 3 s), which reads the approvers and the owner itself, writes through the approval spoke
        role, records who clicked and answers the clicker privately through the click's response_url."""
        function = self.settings.approval_function
        if not function:
            return "This mlgov installation does not take resource buttons (no approval function); nothing changed."
        arn = click.reference.partition("|")[0]
        request = {"task": "resource_click", "state": {"finding": {"arn": arn}}, "action": click.action,
                   "value": click.reference, "user_id": click.user_id, "response_url": click.response_url}  # fmt: skip
        try:
            self._client("lambda", INVOKE_CONFIG).invoke(
                FunctionName=function, InvocationType="Event", Payload=json.dumps(request)
            )
        except (ClientError, BotoCoreError) as err:
            self.logger.error("resource click not handed over", extra={"error": type(err).__name__})
            return "mlgov could not carry this out just now; nothing was changed. Please retry."
        self.logger.info("resource click handed to the approval function", extra={"action": click.action})
        return HANDED_OVER

    def _unclaim(self, click: Click, table: ApprovalsTable, error: str) -> str:
        self.logger.error("decision not delivered; approval released for another click", extra={"error": error})
        table.release(click.reference, click.user_id)
        return self._answer(click, "mlgov could not record your decision just now; nothing was changed. Please retry.")

    def _answer(self, click: Click, text: str) -> str:
        """Also post the text to the click's response_url: Slack ignores an HTTP body for block_actions."""
        url = click.response_url
        if url and url.startswith(RESPONSE_URL_PREFIX):
            try:
                (self.reply or _post_ephemeral)(url, text)
            except Exception as err:  # noqa: BLE001 - a lost ephemeral note must not lose the decision
                self.logger.warning("ephemeral reply not posted", extra={"error": f"{type(err).__name__}: {err}"})
        return text

    # ---- clients -------------------------------------------------------------------------------------------------

    def _table(self) -> ApprovalsTable:
        return ApprovalsTable(self._client("dynamodb"), self.settings.approvals_table)

    def _client(self, service: str, config: Config = FAST_CONFIG):
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service, region_name=self.settings.region, config=config, endpoint_url=self.settings.endpoint_url
            )
        return self._clients[service]


def signing_secret(secretsmanager, secret_id: str) -> str:
    """The secret's string: the signing secret itself, or JSON with a `signing_secret` member."""
    try:
        text = secretsmanager.get_secret_value(SecretId=secret_id).get("SecretString") or ""
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code")
        raise SigningSecretError(f"cannot read secret {secret_id}: {code}") from None
    if text.lstrip().startswith("{"):
        try:
            text = json.loads(text).get("signing_secret") or ""
        except (json.JSONDecodeError, AttributeError):
            raise SigningSecretError(f"secret {secret_id} looks like JSON but does not parse") from None
    secret = str(text).strip()
    if not secret:
        raise SigningSecretError(f"secret {secret_id} holds no signing secret (a string, or JSON with signing_secret)")
    return secret


def _post_ephemeral(url: str, text: str) -> None:
    post_ephemeral(url, text, RESPONSE_URL_TIMEOUT_SECONDS)
