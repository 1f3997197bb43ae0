"""The Slack app manifest for mlgov (what Slack's "Create an app → From an app manifest" takes): the bot and its
scopes, interactivity pointing at the hub's Slack interactions URL. Pure: the URL in, the manifest out."""

from __future__ import annotations

from urllib.parse import urlparse

# chat:write: post approval requests, digests and alerts, update them after a click; users:read(.email): match the
# Slack user who clicks "Keep running" / "Extend" to the resource's owner (mlgov:created-by) by e-mail.
BOT_SCOPES = ("chat:write", "users:read", "users:read.email")
URL_OUTPUT = "SlackInteractionsUrl"  # the MlgovHub output the Request URL comes from


class ManifestError(ValueError):
    """No usable Request URL; one line."""


def app_manifest(request_url: str, name: str = "mlgov") -> dict:
    parsed = urlparse(request_url)
    if parsed.scheme != "https" or not parsed.netloc:
        raise ManifestError(f"the interactivity Request URL must be an https URL, got {request_url!r}")
    return {
        "display_information": {
            "name": name,
            "description": "SageMaker cost governance: zombie approvals, schedules and budget alerts",
            "background_color": "#1d3557",
        },
        "features": {"bot_user": {"display_name": name, "always_online": True}},
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {
            "interactivity": {"is_enabled": True, "request_url": request_url},
            "org_deploy_enabled": False,
            "socket_mode_enabled": False,
            "token_rotation_enabled": False,
        },
    }
