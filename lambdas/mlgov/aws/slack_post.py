"""Posting to Slack with slack-sdk: the bot token from Secrets Manager (never logged), one chat.postMessage."""

from __future__ import annotations

import json

SLACK_TIMEOUT_SECONDS = 10
# users.info flags of a user whose profile e-mail does not prove who they are in this organization
UNTRUSTED_USER_FLAGS = ("deleted", "is_restricted", "is_ultra_restricted", "is_stranger", "is_bot")


class SlackPostError(RuntimeError):
    """The message was not posted; the text is safe to log (it never contains the token)."""


def bot_token(secretsmanager, secret_id: str) -> str:
    """The secret's string: the token itself (xoxb-...), or JSON with a `bot_token` or `token` member."""
    text = secretsmanager.get_secret_value(SecretId=secret_id).get("SecretString") or ""
    if text.lstrip().startswith("{"):
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            raise SlackPostError(f"secret {secret_id} looks like JSON but does not parse") from None
        text = document.get("bot_token") or document.get("token") or ""
    token = text.strip()
    if not token:
        raise SlackPostError(f"secret {secret_id} holds no Slack token (a string, or JSON with bot_token)")
    return token


def web_client(token: str, base_url: str | None = None):
    """slack-sdk's WebClient with mlgov's timeout; `base_url` points it at a local Slack API (tests, demo)."""
    from slack_sdk import WebClient

    options = {"base_url": base_url if base_url.endswith("/") else base_url + "/"} if base_url else {}
    return WebClient(token=token, timeout=SLACK_TIMEOUT_SECONDS, **options)


def post_message(token: str, channel: str, blocks: list[dict], text: str, base_url: str | None = None) -> str:
    """chat.postMessage; the message ts on success, SlackPostError (with Slack's error code) otherwise."""
    from slack_sdk.errors import SlackApiError, SlackClientError

    client = web_client(token, base_url)
    try:
        response = client.chat_postMessage(channel=channel, blocks=blocks, text=text)
    except SlackApiError as err:
        raise SlackPostError(f"chat.postMessage failed: {err.response.get('error', 'unknown error')}") from None
    except (SlackClientError, OSError) as err:
        raise SlackPostError(f"chat.postMessage failed: {type(err).__name__}: {err}") from None
    return str(response.get("ts", ""))


def user_email(token: str, user_id: str, base_url: str | None = None) -> str | None:
    """users.info: the e-mail on the user's Slack profile; None when Slack shows none (no users:read.email scope) or
    the user is a guest, external, deleted or a bot, or the address is unconfirmed; SlackPostError when the call
    fails."""
    from slack_sdk.errors import SlackApiError, SlackClientError

    client = web_client(token, base_url)
    try:
        response = client.users_info(user=user_id)
    except SlackApiError as err:
        raise SlackPostError(f"users.info failed: {err.response.get('error', 'unknown error')}") from None
    except (SlackClientError, OSError) as err:
        raise SlackPostError(f"users.info failed: {type(err).__name__}: {err}") from None
    user = response.get("user") or {}
    if any(user.get(flag) for flag in UNTRUSTED_USER_FLAGS) or user.get("is_email_confirmed") is False:
        return None  # a guest, an external (Slack Connect) or deleted user, or an unconfirmed address: no owner match
    email = (user.get("profile") or {}).get("email")
    return email if isinstance(email, str) and email else None


RESPONSE_URL_PREFIX = "https://hooks.slack.com/"  # the only place ephemeral replies are posted to


def post_ephemeral(url: str, text: str, timeout: float = SLACK_TIMEOUT_SECONDS) -> bool:
    """The text as a private reply to the person who clicked (the interaction's response_url); False, posting
    nothing, for a URL that is not Slack's; an error (RuntimeError) when Slack refuses it."""
    if not url.startswith(RESPONSE_URL_PREFIX):
        return False
    from slack_sdk.webhook import WebhookClient

    response = WebhookClient(url, timeout=timeout).send(text=text, response_type="ephemeral", replace_original=False)
    if response.status_code != 200:
        raise RuntimeError(f"response_url answered {response.status_code}")
    return True
