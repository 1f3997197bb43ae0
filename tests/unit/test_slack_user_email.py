"""Whose Slack profile e-mail may match a resource's owner: members with a confirmed address only."""

from __future__ import annotations

import pytest

from mlgov.aws import slack_post

pytestmark = pytest.mark.unit


class FakeClient:
    def __init__(self, user: dict) -> None:
        self._user = user

    def users_info(self, user: str) -> dict:
        return {"ok": True, "user": {"id": user, **self._user}}


@pytest.mark.parametrize(
    ("user", "email"),
    [
        ({"profile": {"email": "dana@example.com"}, "is_email_confirmed": True}, "dana@example.com"),
        ({"profile": {"email": "dana@example.com"}}, "dana@example.com"),  # no flag shown: a member
        ({"profile": {"email": "dana@example.com"}, "is_email_confirmed": False}, None),
        ({"profile": {"email": "dana@example.com"}, "is_restricted": True}, None),  # a multi-channel guest
        ({"profile": {"email": "dana@example.com"}, "is_ultra_restricted": True}, None),
        ({"profile": {"email": "dana@example.com"}, "is_stranger": True}, None),  # Slack Connect
        ({"profile": {"email": "dana@example.com"}, "deleted": True}, None),
        ({"profile": {}}, None),  # no users:read.email scope
    ],
)
def test_only_a_confirmed_members_address_is_taken(monkeypatch, user, email):
    monkeypatch.setattr(slack_post, "web_client", lambda token, base_url=None: FakeClient(user))
    assert slack_post.user_email("xoxb-1", "U0DANA") == email
