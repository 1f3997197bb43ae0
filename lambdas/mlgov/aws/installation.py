"""Reads what `mlgov doctor` checks from a live installation: trails, the hub bus, secrets, the scanner's spoke access,
the event probe's round trip and the organization policies on the target OUs. Read-only except the probe event
(put on the local default bus, then deleted from the hub's probe queue)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from mlgov.aws.sessions import RETRY_CONFIG
from mlgov.domain.preflight import (
    PROBE_SOURCE,
    BusFacts,
    Check,
    ProbeOutcome,
    SecretFacts,
    TrailFacts,
    access_task,
    classify_probe_message,
    probe_entry,
    secret_facts,
)

# A synchronous Invoke of the scanner runs up to its 15-minute timeout; a retry would run the task twice.
INVOKE_CONFIG = Config(read_timeout=900, connect_timeout=10, retries={"mode": "standard", "total_max_attempts": 1})
# ReceiveMessage long-polls for up to 20 s: the read timeout must outlast it.
SQS_CONFIG = RETRY_CONFIG.merge(Config(read_timeout=30))
LONG_POLL_MAX_SECONDS = 20
PROBE_VISIBILITY_SECONDS = 5  # another doctor's probe we received comes back to it this soon
STALE_PROBE_AGE = timedelta(minutes=10)


class ScannerInvokeError(Exception):
    """The scanner's access task did not return a result; `missing` when the function does not exist."""

    def __init__(self, message: str, missing: bool = False) -> None:
        super().__init__(message)
        self.missing = missing


def _code(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "")


def _error_text(err: ClientError) -> str:
    error = err.response.get("Error", {})
    return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".rstrip(": ")


class Installation:
    """One account and region seen through one session (the caller's, the hub's or the management account's)."""

    def __init__(
        self,
        session: boto3.Session,
        region: str,
        endpoint_url: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._session = session
        self.region = region
        self._endpoint_url = endpoint_url
        self.clock = clock
        self._now = now
        self._clients: dict[str, object] = {}

    def _client(self, service: str, config: Config = RETRY_CONFIG):
        if service not in self._clients:
            self._clients[service] = self._session.client(
                service, region_name=self.region, config=config, endpoint_url=self._endpoint_url
            )
        return self._clients[service]

    def caller_account(self) -> str:
        return self._client("sts").get_caller_identity()["Account"]

    # ---- this account: trails and the spoke role ----------------------------------------------------------------

    def trails(self) -> list[TrailFacts]:
        cloudtrail = self._client("cloudtrail")
        facts = []
        for trail in cloudtrail.describe_trails(includeShadowTrails=True)["trailList"]:
            arn = trail.get("TrailARN") or trail["Name"]
            home = trail.get("HomeRegion", self.region)
            if home != self.region:  # a shadow of a multi-region trail: read it where it lives
                cloudtrail = self._session.client(
                    "cloudtrail", region_name=home, config=RETRY_CONFIG, endpoint_url=self._endpoint_url
                )
            selectors = cloudtrail.get_event_selectors(TrailName=arn)
            facts.append(
                TrailFacts(
                    name=trail["Name"],
                    home_region=trail.get("HomeRegion", self.region),
                    multi_region=bool(trail.get("IsMultiRegionTrail")),
                    organization_trail=bool(trail.get("IsOrganizationTrail")),
                    logging=bool(cloudtrail.get_trail_status(Name=arn).get("IsLogging")),
                    event_selectors=selectors.get("EventSelectors") or (),
                    advanced_event_selectors=selectors.get("AdvancedEventSelectors") or (),
                )
            )
            cloudtrail = self._client("cloudtrail")
        return facts

    def spoke_role(self, name: str) -> Check:
        try:
            self._client("iam").get_role(RoleName=name)
        except ClientError as err:
            if _code(err) != "NoSuchEntity":
                raise
            return Check(
                "spoke-role",
                False,
                f"role {name}: {_code(err)}",
                "deploy the spoke in this account: the MlgovOrg StackSet reaches the target OUs' accounts (org mode), "
                "cdk deploy MlgovSpoke-<region> does it in single-account mode",
            )
        return Check("spoke-role", True, f"role {name} exists")

    # ---- the hub: bus, secrets, scanner ---------------------------------------------------------------------------

    def bus(self, name: str) -> BusFacts:
        events = self._client("events")
        try:
            described = events.describe_event_bus(Name=name)
        except ClientError as err:
            if _code(err) != "ResourceNotFoundException":
                raise
            return BusFacts(name, error=_error_text(err))
        rules = [
            rule
            for page in events.get_paginator("list_rules").paginate(EventBusName=name)
            for rule in page.get("Rules", [])
        ]
        return BusFacts(name, policy=described.get("Policy"), rules=rules)

    def secret(self, key: str, name: str) -> SecretFacts:
        """DescribeSecret only: the value is never read."""
        try:
            described = self._client("secretsmanager").describe_secret(SecretId=name)
        except ClientError as err:
            if _code(err) != "ResourceNotFoundException":
                raise
            return SecretFacts(key, name, error=_error_text(err))
        return secret_facts(key, name, described)

    def spoke_access(
        self, function_name: str, accounts: Sequence[str] | None = None, regions: Sequence[str] | None = None
    ) -> dict:
        """Run the scanner's read-only access task synchronously; its result (see handlers/scanner.py)."""
        client = self._client("lambda", INVOKE_CONFIG)
        try:
            response = client.invoke(
                FunctionName=function_name,
                InvocationType="RequestResponse",
                Payload=json.dumps(access_task(accounts, regions)).encode(),
            )
        except ClientError as err:
            raise ScannerInvokeError(_error_text(err), missing=_code(err) == "ResourceNotFoundException") from None
        payload = response["Payload"].read()
        try:
            result = json.loads(payload or b"null")
        except ValueError:
            raise ScannerInvokeError(f"unreadable response: {payload[:200]!r}") from None
        if response.get("FunctionError"):
            message = result.get("errorMessage") if isinstance(result, Mapping) else result
            kind = result.get("errorType", response["FunctionError"]) if isinstance(result, Mapping) else ""
            raise ScannerInvokeError(f"{kind}: {message}")
        if not isinstance(result, Mapping) or result.get("task") != "access":
            raise ScannerInvokeError("the function does not know the access task (deploy this version of MlgovHub)")
        return dict(result)

    # ---- the event probe ------------------------------------------------------------------------------------------

    def local_probe_rule(self) -> tuple[str, str] | None:
        """(name, state) of the spoke's probe-forwarding rule on this region's default bus; None when there is none."""
        for page in self._client("events").get_paginator("list_rules").paginate(EventBusName="default"):
            for rule in page.get("Rules", []):
                try:
                    pattern = json.loads(rule.get("EventPattern") or "{}")
                except ValueError:
                    continue
                if PROBE_SOURCE in (pattern.get("source") or []):
                    return rule["Name"], rule.get("State", "")
        return None

    def put_probe(self, probe_id: str) -> str | None:
        """Put the probe on the local default bus; the error text, or None when EventBridge accepted it."""
        response = self._client("events").put_events(Entries=[probe_entry(probe_id, self._now())])
        if response.get("FailedEntryCount"):
            failed = response["Entries"][0]
            return f"{failed.get('ErrorCode', 'Failed')}: {failed.get('ErrorMessage', '')}".rstrip(": ")
        return None

    def queue_url(self, name: str) -> str:
        return self._client("sqs", SQS_CONFIG).get_queue_url(QueueName=name)["QueueUrl"]

    def wait_for_probe(self, queue_url: str, probe_id: str, started: float, timeout: float) -> float | None:
        """Long-poll the probe queue until this probe arrives: seconds since `started`, or None at the timeout.
        Deletes this probe and leftovers of earlier runs; another doctor's fresh probe is left for it."""
        sqs = self._client("sqs", SQS_CONFIG)
        deadline = started + timeout
        while (remaining := deadline - self.clock()) > 0:
            response = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=max(1, min(LONG_POLL_MAX_SECONDS, int(remaining))),
                VisibilityTimeout=PROBE_VISIBILITY_SECONDS,
            )
            arrived, done = None, []
            for message in response.get("Messages", []):
                kind = classify_probe_message(message["Body"], probe_id, self._now(), STALE_PROBE_AGE)
                if kind == "mine":
                    arrived = self.clock() - started
                if kind in ("mine", "stale"):
                    done.append({"Id": str(len(done)), "ReceiptHandle": message["ReceiptHandle"]})
            if done:  # a message that fails to delete expires with the queue's 1-hour retention
                sqs.delete_message_batch(QueueUrl=queue_url, Entries=done)
            if arrived is not None:
                return arrived
        return None

    # ---- the organization (management account or a delegated administrator) ------------------------------------

    def organization_policy_names(self, policy_type: str) -> list[str]:
        paginator = self._client("organizations").get_paginator("list_policies")
        return [p["Name"] for page in paginator.paginate(Filter=policy_type) for p in page.get("Policies", [])]

    def attached_policies(self, target: str, policy_type: str) -> list[str]:
        paginator = self._client("organizations").get_paginator("list_policies_for_target")
        return [
            p["Name"]
            for page in paginator.paginate(TargetId=target, Filter=policy_type)
            for p in page.get("Policies", [])
        ]


def run_probe(here: Installation, hub: Installation, account: str, queue_name: str, timeout: float) -> ProbeOutcome:
    """Put a probe on this account-region's default bus and wait for it in the hub's probe queue."""
    facts = {"account": account, "region": here.region, "hub_region": hub.region, "timeout_seconds": timeout}
    try:
        queue_url = hub.queue_url(queue_name)
    except ClientError as err:
        return ProbeOutcome(**facts, queue_error=_error_text(err))
    probe_id = uuid.uuid4().hex
    started = here.clock()
    try:
        put_error = here.put_probe(probe_id)
    except ClientError as err:
        put_error = _error_text(err)
    if put_error:
        return ProbeOutcome(**facts, put_error=put_error)
    try:
        latency = hub.wait_for_probe(queue_url, probe_id, started, timeout)
    except ClientError as err:
        return ProbeOutcome(**facts, queue_error=_error_text(err))
    if latency is not None:
        return ProbeOutcome(**facts, latency_seconds=latency)
    try:
        local_rule = here.local_probe_rule()
    except ClientError as err:
        return ProbeOutcome(**facts, local_rule_error=_error_text(err))
    if local_rule is None:
        return ProbeOutcome(**facts)
    name, state = local_rule
    return ProbeOutcome(**facts, local_rule_name=name, local_rule_state=state)
