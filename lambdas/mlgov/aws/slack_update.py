"""Replacing a posted Slack message with slack-sdk: one chat.update (the approval message → its result)."""

from __future__ import annotations

from mlgov.aws.slack_post import SlackPostError, web_client


def update_message(
    token: str, channel: str, ts: str, blocks: list[dict], text: str, base_url: str | None = None
) -> str:
    """chat.update of the message `ts` in `channel`; the ts on success, SlackPostError (Slack's error code) otherwise.

    The error text never contains the token."""
    from slack_sdk.errors import SlackApiError, SlackClientError

    client = web_client(token, base_url)
    try:
        response = client.chat_update(channel=channel, ts=ts, blocks=blocks, text=text)
    except SlackApiError as err:
        raise SlackPostError(f"chat.update failed: {err.response.get('error', 'unknown error')}") from None
    except (SlackClientError, OSError) as err:
        raise SlackPostError(f"chat.update failed: {type(err).__name__}: {err}") from None
    return str(response.get("ts", ts))
