"""Posting to Slack with slack-sdk: the bot token from Secrets Manager (never logged), one chat.postMessage."""

from __future__ import annotations

import json

SLACK_TIMEOUT_SECONDS = 10


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


def post_message(token: str, channel: str, blocks: list[dict], text: str, base_url: str | None = None) -> str:
    """chat.postMessage; the message ts on success, SlackPostError (with Slack's error code) otherwise."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError, SlackClientError

    options = {"base_url": base_url if base_url.endswith("/") else base_url + "/"} if base_url else {}
    client = WebClient(token=token, timeout=SLACK_TIMEOUT_SECONDS, **options)
    try:
        response = client.chat_postMessage(channel=channel, blocks=blocks, text=text)
    except SlackApiError as err:
        raise SlackPostError(f"chat.postMessage failed: {err.response.get('error', 'unknown error')}") from None
    except (SlackClientError, OSError) as err:
        raise SlackPostError(f"chat.postMessage failed: {type(err).__name__}: {err}") from None
    return str(response.get("ts", ""))
