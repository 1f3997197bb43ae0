"""boto3 clients per account and region: the hub's own credentials at home, the spoke role elsewhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import boto3
from botocore.config import Config

RETRY_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 8}, connect_timeout=5, read_timeout=20)
_REFRESH_MARGIN = timedelta(minutes=10)


@dataclass
class _AssumedSession:
    session: boto3.Session
    expires: datetime


class AccountSessions:
    """Lazily creates and caches clients; assumes `role_name` in every account but the hub's own."""

    def __init__(
        self,
        hub_account: str,
        role_name: str,
        base_session: boto3.Session | None = None,
        endpoint_url: str | None = None,
        session_name: str = "mlgov-hub",
    ) -> None:
        self._hub_account = hub_account
        self._role_name = role_name
        self._base = base_session
        self._endpoint_url = endpoint_url
        self._session_name = session_name
        self._assumed: dict[str, _AssumedSession] = {}
        self._clients: dict[tuple[str, str, str], tuple[boto3.Session, object]] = {}

    def client(self, service: str, account: str, region: str, partition: str = "aws"):
        session = self._session_for(account, partition, region)
        key = (service, account, region)
        cached = self._clients.get(key)
        # Compare the session itself, not id(session): a refreshed session can reuse a freed one's id.
        if cached is None or cached[0] is not session:
            cached = (
                session,
                session.client(service, region_name=region, config=RETRY_CONFIG, endpoint_url=self._endpoint_url),
            )
            self._clients[key] = cached
        return cached[1]

    def _base_session(self) -> boto3.Session:
        if self._base is None:
            self._base = boto3.Session()
        return self._base

    def _session_for(self, account: str, partition: str, region: str | None = None) -> boto3.Session:
        if account == self._hub_account:
            return self._base_session()
        cached = self._assumed.get(account)
        if cached is None or cached.expires - _REFRESH_MARGIN <= datetime.now(UTC):
            cached = self._assume(account, partition, region)
            self._assumed[account] = cached
        return cached.session

    def _assume(self, account: str, partition: str, region: str | None = None) -> _AssumedSession:
        # The regional STS endpoint of the target region: required in aws-cn / aws-us-gov, faster everywhere.
        sts = self._base_session().client(
            "sts", region_name=region, config=RETRY_CONFIG, endpoint_url=self._endpoint_url
        )
        role_arn = f"arn:{partition}:iam::{account}:role/{self._role_name}"
        credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=self._session_name)["Credentials"]
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        expires = credentials["Expiration"]
        return _AssumedSession(session, expires if expires.tzinfo else expires.replace(tzinfo=UTC))
