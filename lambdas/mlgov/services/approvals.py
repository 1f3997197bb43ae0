"""The approval state machine's tasks (issue 7): notify, re-check, tag, snapshot, verify, guarded delete, update.

Every call into a member account goes through the `mlgov-spoke-approval` role (the hub's own credentials in the hub
account), the only role allowed to write `mlgov:zombie*` / `mlgov:exempt` and to delete, and it may delete only an
endpoint tagged `mlgov:zombie=confirmed`. This module adds its own guard on top: `delete` refuses unless the
verify task's output says the snapshot is verified and names the same snapshot.

State (the execution's JSON) members the tasks read: `finding` (the scan report's finding), `first_seen`,
`zombie_since`, `reason` ("zombie", or "expired" with `expired_on` and `lifetime_tag`: an endpoint past its
`auto-delete-after` date, re-checked on that tag instead of on traffic), `decision` ({"decision", "by", "days"?} from
the Slack click), `snapshot` (the snapshot task's output),
`verification` (the verify task's output), `result` ({"outcome", "step"?}) and `error` ({"Error", "Cause"}).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from mlgov.aws.approvals_table import KEEP_AFTER_DEADLINE, ApprovalsTable, approval_id
from mlgov.aws.metrics import MetricReader
from mlgov.domain.approval_message import approval_blocks, approval_text, result_blocks, result_text
from mlgov.domain.discovery import live_endpoint
from mlgov.domain.endpoint_parking import park_problem
from mlgov.domain.expiry_approval import EXPIRED, LIFETIME_TAG, recheck_expiry
from mlgov.domain.inventory import Resource
from mlgov.domain.snapshot import endpoint_identity, identity_drift
from mlgov.domain.zombies import (
    DEFAULT_MIN_AGE_DAYS,
    UsageWindow,
    invocation_queries,
    lapsed_until,
    measurable,
    snooze_exemption,
)

APPROVAL_ROLE_NAME = "mlgov-spoke-approval"
ZOMBIE_TAG, ZOMBIE_BY_TAG, ZOMBIE_DATE_TAG, EXEMPT_TAG = (
    "mlgov:zombie",
    "mlgov:zombie-by",
    "mlgov:zombie-date",
    ("mlgov:exempt"),
)
ZOMBIE_KEYS = (ZOMBIE_TAG, ZOMBIE_BY_TAG, ZOMBIE_DATE_TAG)
CANDIDATE, CONFIRMED = "candidate", "confirmed"
HASH_JOBS_PREFIX = "hash-jobs/"  # archive prefix only the hub writes: the Distributed Map's items
_CAUSE_MAX = 500


class ApprovalRefused(RuntimeError):
    """A task refused to act (e.g. delete without a verified snapshot); the execution takes its failure path."""


@dataclass(frozen=True)
class SlackGateway:
    """(blocks, text) -> ts posts to the approval channel; (channel, ts, blocks, text) replaces a message."""

    channel: str
    post: Callable[[list[dict], str], str]
    update: Callable[[str, str, list[dict], str], str]


@dataclass
class ApprovalTasks:
    sessions: Any  # mlgov.aws.sessions.AccountSessions over the approval spoke role
    archive_client: Any  # the hub's S3 client (heads copies, writes manifests)
    archive_bucket: str
    approvals: ApprovalsTable | None = None
    slack: SlackGateway | None = None
    timeout_hours: int = 72
    snooze_days: int = 30
    min_age_days: int = DEFAULT_MIN_AGE_DAYS  # the scan's zombie_min_age_days, re-applied to the live CreationTime
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    snapshot_fn: Callable[..., dict] | None = None  # default: mlgov.aws.snapshot_store.take_snapshot
    verify_fn: Callable[..., list[str]] | None = None  # default: mlgov.aws.snapshot_store.verify_copies

    # ---- notify (waitForTaskToken) -------------------------------------------------------------------------------

    def notify(self, state: Mapping, task_token: str, execution_id: str) -> dict:
        """Record the pending approval, post the message once (a retried task does not post twice), remember it."""
        if not task_token:
            raise ApprovalRefused("notify needs the task token ($$.Task.Token)")
        if self.approvals is None or self.slack is None:
            raise ApprovalRefused("notify needs the approvals table and Slack settings")
        finding = _finding(state)
        now = self.clock()
        # Read before put_pending: its PutItem replaces the item, dropping the channel/ts a previous try recorded.
        existing = self.approvals.get(approval_id(task_token)) or {}
        ident = self.approvals.put_pending(
            task_token, finding, now=now, timeout=timedelta(hours=self.timeout_hours), snooze_days=self.snooze_days
        )
        ts, channel = existing.get("ts"), existing.get("channel") or self.slack.channel
        if not ts:
            expiry = _expiry(state, strict=False)
            on = {"expired_on": expiry[1], "lifetime_tag": expiry[0]} if expiry else {}
            ts = self.slack.post(approval_blocks(finding, ident, self.snooze_days, **on), approval_text(finding, **on))
        self.approvals.mark_message(ident, channel, ts)
        self._remember_message(execution_id, ident, channel, ts, now)
        return {"approval_id": ident, "channel": channel, "ts": ts}

    def _remember_message(self, execution_id: str, ident: str, channel: str, ts: str, now: datetime) -> None:
        if execution_id and self.approvals is not None:
            purge = now + timedelta(hours=self.timeout_hours) + KEEP_AFTER_DEADLINE
            self.approvals.remember_message(execution_id, ident, channel, ts, purge_at=purge)

    def _message_of(self, execution_id: str) -> tuple[str, str] | None:
        if not execution_id or self.approvals is None:
            return None
        return self.approvals.message_of(execution_id)

    # ---- re-check ------------------------------------------------------------------------------------------------

    def recheck(self, state: Mapping) -> dict:
        """Invocations since the zombie episode began (zombie_since, else first_seen) → {"still_idle", "reason"}.

        Conservative: an endpoint that is gone, younger than the minimum age (recreated under the same name), not
        InService-like, or that cannot be measured is *not* still idle. An expired endpoint (`reason` "expired") is
        re-checked on its lifetime tag instead (`_recheck_expired`); the output keeps this shape for StillIdle?."""
        finding = _finding(state)
        expiry = _expiry(state)
        if expiry is not None:
            return self._recheck_expired(finding, *expiry)
        since = _moment(state.get("zombie_since") or state.get("first_seen"))
        if since is None:
            return {"still_idle": False, "reason": "the finding carries no zombie_since / first_seen to re-check from"}
        described = self._describe_live(finding)
        if described is None:
            return {"still_idle": False, "reason": f"endpoint {_where(finding)[2]} no longer exists"}
        now = self.clock()
        if described.get("EndpointStatus") != "InService":
            return {"still_idle": False, "reason": f"the endpoint is {described.get('EndpointStatus')}, not InService"}
        modified = _moment(described.get("LastModifiedTime"))
        if modified is not None and modified > since:
            return {
                "still_idle": False,
                "reason": f"the endpoint was updated on {modified.date().isoformat()}, after it was found idle",
            }
        if self._hosts_inference_components(finding):
            return {"still_idle": False, "reason": "it hosts inference components, whose usage is not re-checked"}
        created = _moment(described.get("CreationTime"))
        if created is not None and now - created < timedelta(days=self.min_age_days):
            return {
                "still_idle": False,
                "reason": f"the endpoint was created {created.date().isoformat()}, less than {self.min_age_days} "
                "days ago (recreated since the scan?)",
            }
        endpoint = _live_endpoint(finding, described)
        if not measurable(endpoint):
            return {"still_idle": False, "reason": "the endpoint's usage cannot be measured (no variants or async)"}
        if since >= now:
            return {"still_idle": True, "reason": "the finding is from just now: no newer usage to read"}
        total = self._invocations(endpoint, since, now)
        if total > 0:
            return {
                "still_idle": False,
                "reason": f"{total:g} invocations since {since.date().isoformat()}",
                "invocations": total,
            }
        return {"still_idle": True, "reason": f"no invocation since {since.date().isoformat()}", "invocations": 0}

    def _recheck_expired(self, finding: Mapping, tag: str, scanned: str) -> dict:
        """A fresh look at an expired endpoint: it still exists, is InService, hosts no inference components (the
        snapshot would not keep them), is still past its lifetime date on its live tags (the owner may have extended
        it meanwhile) and carries no exemption mlgov recorded. Traffic does not stop it: the approver saw it in the
        request. {"still_idle": proceed?, "reason"}, plus "expired" (the live date check) and "lifetime_value" once
        the tags were read."""
        described = self._describe_live(finding)
        if described is None:
            return {"still_idle": False, "reason": f"endpoint {_where(finding)[2]} no longer exists"}
        if described.get("EndpointStatus") != "InService":
            return {"still_idle": False, "reason": f"the endpoint is {described.get('EndpointStatus')}, not InService"}
        if self._hosts_inference_components(finding):
            return {"still_idle": False, "reason": "it hosts inference components, which a snapshot does not keep"}
        tags = self._live_tags(finding)
        check = recheck_expiry(tags, tag, scanned, _utc_day(self.clock()))
        result = {
            "still_idle": check.still_expired,
            "reason": check.reason,
            "expired": check.still_expired,
            "lifetime_value": check.live_value,
        }
        if check.still_expired and (exempt := self._honoured_exemption(finding, tags)):
            return result | {"still_idle": False, "reason": f"it was exempted meanwhile ({exempt})"}
        return result

    def _live_tags(self, finding: Mapping) -> dict[str, str]:
        account, region, _ = _where(finding)
        listed = self.sessions.client("sagemaker", account, region).list_tags(ResourceArn=finding["arn"])
        return {t["Key"]: t["Value"] for t in listed.get("Tags", [])}

    def _honoured_exemption(self, finding: Mapping, tags: Mapping[str, str]) -> str | None:
        """The unlapsed mlgov:exempt among `tags` that mlgov recorded for this resource (None without the table)."""
        value = tags.get(EXEMPT_TAG)
        if value is None or self.approvals is None or lapsed_until(value, _utc_day(self.clock())) is not None:
            return None
        return value if self.approvals.recorded_exemptions([finding["arn"]]).get(finding["arn"]) == value else None

    def _describe_live(self, finding: Mapping) -> dict | None:
        account, region, name = _where(finding)
        try:
            return self.sessions.client("sagemaker", account, region).describe_endpoint(EndpointName=name)
        except ClientError as err:
            if _code(err) == "ValidationException":
                return None
            raise

    def _hosts_inference_components(self, finding: Mapping) -> bool:
        account, region, name = _where(finding)
        listed = self.sessions.client("sagemaker", account, region).list_inference_components(
            EndpointNameEquals=name, MaxResults=1
        )
        return bool(listed.get("InferenceComponents"))

    def _invocations(self, endpoint: Resource, since: datetime, until: datetime) -> float:
        series = MetricReader(self.sessions.client("cloudwatch", endpoint.account, endpoint.region)).fetch(
            invocation_queries([endpoint]), UsageWindow(since, until)
        )
        return sum(value for points in series.values() for _, value in points)

    def _refuse_unless_unchanged_and_unused(self, state: Mapping, step: str) -> None:
        """The live endpoint must still be the one snapshotted (ARN, CreationTime, config, LastModifiedTime) and no
        invocation may have arrived since the episode began: an owner who updated, recreated or used it keeps it.
        An expired endpoint must instead still be past its lifetime date (an owner who extended it keeps it)."""
        finding = _finding(state)
        snapped = (state.get("snapshot") or {}).get("endpoint")
        if not isinstance(snapped, Mapping):
            raise ApprovalRefused(f"refusing to {step}: the snapshot records no endpoint identity to compare with")
        described = self._describe_live(finding)
        if described is None:
            raise ApprovalRefused(f"refusing to {step}: the endpoint no longer exists")
        if described.get("EndpointStatus") != "InService":
            raise ApprovalRefused(f"refusing to {step}: the endpoint is {described.get('EndpointStatus')}")
        drift = identity_drift(described, snapped)
        if drift:
            raise ApprovalRefused(f"refusing to {step}: the endpoint changed since the snapshot ({'; '.join(drift)})")
        if (park := _park(state)) is not None:  # parked by its schedule: used by day, it must still say park now
            window = (state.get("park") or {}).get("window_id")
            if problem := park_problem(self._live_tags(finding), park, self.clock(), window):
                raise ApprovalRefused(f"refusing to {step}: {problem}")
            return
        if (expiry := _expiry(state)) is not None:  # expired: traffic was the approver's call, the date is not
            check = recheck_expiry(self._live_tags(finding), *expiry, _utc_day(self.clock()))
            if not check.still_expired:
                raise ApprovalRefused(f"refusing to {step}: {check.reason}")
            return
        since, now = _moment(state.get("zombie_since") or state.get("first_seen")), self.clock()
        endpoint = _live_endpoint(finding, described)
        if since is not None and since < now and measurable(endpoint):
            total = self._invocations(endpoint, since, now)
            if total > 0:
                raise ApprovalRefused(f"refusing to {step}: {total:g} invocations since {since.date().isoformat()}")

    # ---- tags ----------------------------------------------------------------------------------------------------

    def mark_candidate(self, state: Mapping) -> dict:
        return self._tag(state, {ZOMBIE_TAG: CANDIDATE, ZOMBIE_BY_TAG: "mlgov", ZOMBIE_DATE_TAG: self._today()})

    def confirm(self, state: Mapping) -> dict:
        by = _decision(state).get("by") or ""
        if not by:
            raise ApprovalRefused("confirm needs the approver (decision.by)")
        if exempt := self._exempted_meanwhile(state):
            raise ApprovalRefused(f"refusing to confirm: the endpoint was exempted meanwhile ({exempt})")
        self._refuse_unless_unchanged_and_unused(state, "confirm")
        return self._tag(state, {ZOMBIE_TAG: CONFIRMED, ZOMBIE_BY_TAG: _tag_value(by), ZOMBIE_DATE_TAG: self._today()})

    def clear_candidate(self, state: Mapping) -> dict:
        account, region, name = _where(_finding(state))
        arn = _finding(state).get("arn")
        self.sessions.client("sagemaker", account, region).delete_tags(ResourceArn=arn, TagKeys=list(ZOMBIE_KEYS))
        return {"cleared": list(ZOMBIE_KEYS)}

    def exempt(self, state: Mapping, kind: str) -> dict:
        """kind: reject | snooze | timeout. Writes mlgov:exempt=<what, who, when>, clears the zombie keys."""
        today = self.clock().date()
        decision = _decision(state)
        by = _tag_value(decision.get("by") or "nobody")
        if kind == "reject":
            value, until = f"rejected by {by} on {today.isoformat()}", None
        elif kind == "snooze":
            days = _int(decision.get("days"), self.snooze_days)
            until_date = today + timedelta(days=days)
            until, value = until_date.isoformat(), snooze_exemption(by, today, until_date)
        elif kind == "timeout":
            value, until = f"no answer within {self.timeout_hours}h - kept on {today.isoformat()}", None
        else:
            raise ApprovalRefused(f"unknown exemption kind {kind!r}")
        finding = _finding(state)
        account, region, _ = _where(finding)
        client = self.sessions.client("sagemaker", account, region)
        value = _tag_value(value)
        client.add_tags(ResourceArn=finding["arn"], Tags=[{"Key": EXEMPT_TAG, "Value": value}])
        if ":endpoint/" in finding["arn"]:  # a notebook carries no approval tags to clear
            client.delete_tags(ResourceArn=finding["arn"], TagKeys=list(ZOMBIE_KEYS))
        self._record_exemption(finding["arn"], value, by=by, kind=kind, until=until)
        return {"exempt": value, "until": until, "kind": kind}

    def exempt_manually(self, state: Mapping, reason: str, by: str, until: str | None = None) -> dict:
        """`mlgov exempt`: keep an endpoint (until a date, or for good) without an approval, recorded like a Reject, or
        keep an idle notebook instance running (no stop);
        an approval already under way for it stops at Confirm/Delete. Writes through the approval spoke role, the
        only role besides the hub's that may write mlgov:exempt. `by` is what the caller says (CloudTrail shows the
        invoker)."""
        finding = _finding(state)
        account, region, _ = _where(finding)
        if not any(kind in finding["arn"] for kind in (":endpoint/", ":notebook-instance/", ":app/", ":domain/")):
            raise ApprovalRefused(
                "only endpoints, notebook instances, Studio apps and Studio domains can be exempted this way, not "
                f"{finding['arn']}"
            )
        reason, by = _tag_value(reason.strip()), _tag_value(by.strip() or "nobody")
        if not reason:
            raise ApprovalRefused("an exemption needs a reason")
        today = self.clock().date()
        if until:
            try:
                until_date = date.fromisoformat(until)
            except ValueError:
                raise ApprovalRefused(f"until {until!r} is not a date (YYYY-MM-DD)") from None
            if until_date <= today:
                raise ApprovalRefused(f"until {until} is not after today ({today.isoformat()})")
            value, kind = f"{snooze_exemption(by, today, until_date)}: {reason}", "snooze"
        else:
            value, kind = f"exempted by {by} on {today.isoformat()}: {reason}", "manual"
        value = _tag_value(value)
        client = self.sessions.client("sagemaker", account, region)
        client.add_tags(ResourceArn=finding["arn"], Tags=[{"Key": EXEMPT_TAG, "Value": value}])
        if ":endpoint/" in finding["arn"]:  # a notebook carries no approval tags to clear
            client.delete_tags(ResourceArn=finding["arn"], TagKeys=list(ZOMBIE_KEYS))
        self._record_exemption(finding["arn"], value, by=by, kind=kind, until=until, reason=reason)
        return {"exempt": value, "until": until, "kind": kind}

    def _exempted_meanwhile(self, state: Mapping) -> str | None:
        """The recorded, unlapsed mlgov:exempt the endpoint carries now (e.g. `mlgov exempt` during this approval)."""
        if self.approvals is None:
            return None
        finding = _finding(state)
        account, region, _ = _where(finding)
        client = self.sessions.client("sagemaker", account, region)
        tags = {t["Key"]: t["Value"] for t in client.list_tags(ResourceArn=finding["arn"]).get("Tags", [])}
        value = tags.get(EXEMPT_TAG)
        if value is None or lapsed_until(value, self.clock().date()) is not None:
            return None
        return value if self.approvals.recorded_exemptions([finding["arn"]]).get(finding["arn"]) == value else None

    def _record_exemption(
        self, arn: str, value: str, *, by: str, kind: str, until: str | None, reason: str | None = None
    ) -> None:
        """The scan honours mlgov:exempt only with this record (a tag written by anyone else keeps nothing)."""
        if self.approvals is None:
            raise ApprovalRefused("recording an exemption needs the approvals table")
        self.approvals.record_exemption(arn, value, by=by, kind=kind, until=until, reason=reason, now=self.clock())

    def _tag(self, state: Mapping, tags: Mapping[str, str]) -> dict:
        finding = _finding(state)
        account, region, _ = _where(finding)
        self.sessions.client("sagemaker", account, region).add_tags(
            ResourceArn=finding["arn"], Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
        )
        return {"tags": dict(tags)}

    def _today(self) -> str:
        return self.clock().date().isoformat()

    # ---- snapshot, verify, delete --------------------------------------------------------------------------------

    def snapshot(self, state: Mapping) -> dict:
        """Copy the artifacts, verify, write the manifest (mlgov.aws.snapshot_store.take_snapshot)."""
        from mlgov.aws.snapshot_store import take_snapshot

        finding = _finding(state)
        account, region, name = _where(finding)
        document = (self.snapshot_fn or take_snapshot)(
            self.sessions.client("sagemaker", account, region),
            self.sessions.client("s3", account, region),
            self.archive_client,
            self.archive_bucket,
            account=account,
            region=region,
            endpoint=name,
            taken_at=self.clock(),
        )
        verification = document.get("verification") or {}
        manifest_key = f"{document['prefix']}manifest.json"
        if self.approvals is not None:  # `mlgov restore` accepts only the manifest version the hub sealed
            from mlgov.aws.snapshot_store import manifest_seal

            seal = manifest_seal(self.archive_client, self.archive_bucket, manifest_key, written=document)
            self.approvals.seal_manifest(seal, self.clock())
        snapshot_id = document["prefix"].rstrip("/").rsplit("/", 1)[-1]
        return {
            "archive_bucket": self.archive_bucket,
            "prefix": document["prefix"],
            "manifest_key": manifest_key,
            "snapshot": snapshot_id,
            "objects": len(document.get("objects") or []),
            "verified_at_copy": bool(verification.get("verified")),
            "endpoint": endpoint_identity(document["describe_endpoint"]),  # Confirm/Delete compare the live one
            **self._hash_jobs(document, manifest_key),
        }

    def _hash_jobs(self, document: Mapping, manifest_key: str) -> dict:
        """Source ranges the snapshot left unhashed (more than one task should read): written as the Distributed Map's
        items under the hub-only `hash-jobs/` prefix; {"pending_hashes": 0} when there are none."""
        from mlgov.aws.snapshot_store import pending_ranges
        from mlgov.domain.snapshot import CopiedObject

        jobs = pending_ranges(CopiedObject.from_dict(item) for item in document.get("objects") or [])
        if not jobs:
            return {"pending_hashes": 0}
        key = f"{HASH_JOBS_PREFIX}{manifest_key.removesuffix('manifest.json')}ranges.json"
        self.archive_client.put_object(Bucket=self.archive_bucket, Key=key, Body=json.dumps(jobs).encode())
        return {"pending_hashes": len(jobs), "hash_jobs_key": key}

    def _sealed_manifest(self, key: str) -> dict:
        """The manifest as the hub sealed it (version id and SHA-256 in the approvals table): a manifest written or
        changed by anyone else is never verified nor hashed for. Without the table (tests), its current version."""
        from mlgov.aws.snapshot_store import read_sealed_manifest

        if self.approvals is None:
            return json.loads(self.archive_client.get_object(Bucket=self.archive_bucket, Key=key)["Body"].read())
        seal = self.approvals.manifest_seal(key)
        if seal is None:
            raise ApprovalRefused(f"{key} was never sealed by the hub")
        document = read_sealed_manifest(self.archive_client, self.archive_bucket, seal)
        if document is None:
            raise ApprovalRefused(f"{key} is gone or changed since the hub sealed it")
        return document

    def hash_range(self, state: Mapping) -> dict:
        """One Distributed Map item: the SHA-256 of one source byte range, recorded in the approvals table for Verify.
        State: {"finding", "manifest_key", "job": an item of `pending_ranges`}."""
        from mlgov.aws.snapshot_store import sha256_of_range
        from mlgov.domain.snapshot import parse_s3_uri

        job, manifest_key = state.get("job") or {}, state.get("manifest_key") or ""
        if self.approvals is None:
            raise ApprovalRefused("hash_range needs the approvals table")
        try:
            index, archive_key = int(job["index"]), str(job["archive_key"])
        except (KeyError, TypeError, ValueError) as err:
            raise ApprovalRefused(f"hash_range: malformed job {json.dumps(job)[:200]} ({err})") from err
        if not manifest_key or not archive_key.startswith(manifest_key.removesuffix("manifest.json")):
            raise ApprovalRefused(f"hash_range: {archive_key} is not part of the snapshot {manifest_key}")
        # What to hash comes from the sealed manifest, never from the job: the job only names (archive key, index).
        objects = {item.get("archive_key"): item for item in self._sealed_manifest(manifest_key).get("objects") or []}
        recorded = objects.get(archive_key) or {}
        ranges = recorded.get("hash_ranges") or []
        if not 0 <= index < len(ranges):
            raise ApprovalRefused(f"hash_range: {archive_key} has no source range {index} in {manifest_key}")
        bucket, key = parse_s3_uri(recorded["source_uri"])
        start, end = (int(value) for value in ranges[index])
        account, region, _ = _where(_finding(state))
        try:
            value = sha256_of_range(
                self.sessions.client("s3", account, region),
                bucket,
                key,
                (start, end),
                version_id=recorded.get("source_version_id"),
                etag=recorded.get("source_etag"),
            )
        except ClientError as err:
            raise ApprovalRefused(f"hash_range: {archive_key} range {index} of {len(ranges)}: {err}") from err
        keep = timedelta(hours=self.timeout_hours) + KEEP_AFTER_DEADLINE
        self.approvals.record_range_hash(manifest_key, archive_key, index, value, now=self.clock(), keep=keep)
        return {"archive_key": archive_key, "index": index, "bytes": end - start + 1}

    def verify(self, state: Mapping) -> dict:
        """Re-read the manifest from the archive and re-verify every copy against its source: {"verified", ...}."""
        from mlgov.aws.snapshot_store import verify_copies
        from mlgov.domain.snapshot import CopiedObject

        snap = state.get("snapshot") or {}
        key = snap.get("manifest_key")
        if not key:
            return {"verified": False, "problems": ["no snapshot was taken"], "manifest_key": None}
        account, region, _ = _where(_finding(state))
        try:
            document = self._sealed_manifest(key)
        except (ClientError, ValueError, ApprovalRefused) as err:
            return {"verified": False, "problems": [f"manifest unreadable: {err}"[:_CAUSE_MAX]], "manifest_key": key}
        # The manifest's own verification ran before ranges left to the Distributed Map were hashed: this task
        # re-verifies everything itself, with those hashes.
        problems = [] if document.get("verification") is not None else ["the manifest records no verification"]
        copied = [CopiedObject.from_dict(item) for item in document.get("objects") or []]
        pending = [(obj.archive_key, i) for obj in copied for i, v in enumerate(obj.source_hashes or []) if v is None]
        range_hashes = self.approvals.range_hashes(key, pending) if pending and self.approvals is not None else {}
        problems += (self.verify_fn or verify_copies)(
            self.sessions.client("s3", account, region), self.archive_client, self.archive_bucket, copied, range_hashes
        )
        return {"verified": not problems, "problems": problems[:20], "manifest_key": key, "objects": len(copied)}

    def delete(self, state: Mapping) -> dict:
        verification = state.get("verification") or {}
        snap = state.get("snapshot") or {}
        if verification.get("verified") is not True:
            raise ApprovalRefused("refusing to delete: the snapshot is not verified")
        if not snap.get("manifest_key") or verification.get("manifest_key") != snap.get("manifest_key"):
            raise ApprovalRefused("refusing to delete: the verification does not name this execution's snapshot")
        if _decision(state).get("decision") != ("park" if _park(state) is not None else "approve"):
            raise ApprovalRefused("refusing to delete: the decision is not approve (or, for a parked endpoint, park)")
        if exempt := self._exempted_meanwhile(state):
            raise ApprovalRefused(f"refusing to delete: the endpoint was exempted meanwhile ({exempt})")
        self._refuse_unless_unchanged_and_unused(state, "delete")
        account, region, name = _where(_finding(state))
        self.sessions.client("sagemaker", account, region).delete_endpoint(EndpointName=name)
        return {"deleted": True, "endpoint": name}

    # ---- the final message ---------------------------------------------------------------------------------------

    def update_message(self, state: Mapping, execution_id: str) -> dict:
        if self.slack is None:
            raise ApprovalRefused("update_message needs the Slack settings")
        finding = _finding(state)
        result = state.get("result") or {}
        outcome = result.get("outcome") or "failed"
        detail = self._detail(state, outcome, result)
        if expiry := _expiry(state, strict=False):  # the outcome of an expired endpoint's approval says so
            detail = {**detail, "expired_on": expiry[1], "lifetime_tag": expiry[0]}
        if _park(state) is not None and outcome in ("approved", "aborted"):
            return {"outcome": outcome, "quiet": True}  # a nightly park is the scheduler's to report; failures post
        blocks, text = result_blocks(finding, outcome, detail), result_text(finding, outcome, detail)
        where = self._message_of(execution_id)
        if where is None:  # the request was never posted (notify failed): post the result instead
            ts = self.slack.post(blocks, text)
            return {"outcome": outcome, "posted": True, "ts": ts}
        channel, ts = where
        self.slack.update(channel, ts, blocks, text)
        return {"outcome": outcome, "updated": True, "ts": ts}

    def _detail(self, state: Mapping, outcome: str, result: Mapping) -> dict:
        decision = _decision(state)
        if outcome == "approved":
            snap = state.get("snapshot") or {}
            return {
                "by": decision.get("by"),
                "archive_bucket": self.archive_bucket,
                "approvals_table": self.approvals.name if self.approvals is not None else None,
                "snapshot": snap.get("snapshot"),
            }
        if outcome in ("rejected", "snoozed"):
            return {"by": decision.get("by"), "until": (state.get("exempt") or {}).get("until")}
        if outcome == "timed_out":
            return {"hours": self.timeout_hours}
        if outcome == "aborted":
            return {"reason": (state.get("recheck") or {}).get("reason")}
        reason = result.get("reason")
        if not reason and state.get("error"):
            error = state["error"]
            reason = f"{error.get('Error', 'error')}: {_cause(error.get('Cause'))}"
        if not reason and state.get("verification"):
            reason = "snapshot not verified: " + "; ".join(state["verification"].get("problems") or [])[:_CAUSE_MAX]
        return {
            "reason": reason,
            "step": result.get("step"),
            "deleted": bool((state.get("deleted") or {}).get("deleted")),
        }


# ---- helpers -----------------------------------------------------------------------------------------------------


def _finding(state: Mapping) -> Mapping:
    finding = state.get("finding")
    if not isinstance(finding, Mapping) or not finding.get("arn"):
        raise ApprovalRefused("the state carries no finding with an arn")
    return finding


def _where(finding: Mapping) -> tuple[str, str, str]:
    arn = str(finding["arn"])
    parts = arn.split(":")
    account = str(finding.get("account") or (parts[4] if len(parts) > 5 else ""))
    region = str(finding.get("region") or (parts[3] if len(parts) > 5 else ""))
    name = str(finding.get("name") or arn.rsplit("/", 1)[-1])
    if not (account and region and name):
        raise ApprovalRefused(f"cannot tell account, region and name of {arn}")
    return account, region, name


def _live_endpoint(finding: Mapping, described: Mapping) -> Resource:
    account, region, _ = _where(finding)
    return live_endpoint(account, region, described)


def _park(state: Mapping) -> str | None:
    """The park schedule of an execution the scheduler started (`park` in its input), else None."""
    park = state.get("park")
    return str(park["schedule"]) if isinstance(park, Mapping) and park.get("schedule") else None


def _decision(state: Mapping) -> Mapping:
    decision = state.get("decision")
    return decision if isinstance(decision, Mapping) else {}


def _expiry(state: Mapping, *, strict: bool = True) -> tuple[str, str] | None:
    """(lifetime tag, the date the scan found passed) when the approval is about an expired endpoint, else None. An
    expired approval without its date is refused (`strict`: the re-check and the guards), or read as a zombie one
    (the messages)."""
    if state.get("reason") != EXPIRED:
        return None
    on = state.get("expired_on")
    if not isinstance(on, str) or not on:
        if not strict:
            return None
        raise ApprovalRefused("an approval for an expired endpoint needs expired_on (its auto-delete-after date)")
    return str(state.get("lifetime_tag") or LIFETIME_TAG), on


def _utc_day(moment: datetime) -> date:
    """The UTC calendar day of `moment` (lifetime dates are UTC days, as the scan judges them)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC).date()


def _moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _tag_value(text: str) -> str:
    """SageMaker tag values: letters, digits, spaces and _ . : / = + - @ only, 256 characters."""
    return "".join(ch if ch.isalnum() or ch in " _.:/=+-@" else "-" for ch in str(text))[:256]


def _int(value: object, default: int) -> int:
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default


def _cause(cause: object) -> str:
    text = str(cause or "")
    try:
        parsed = json.loads(text)
        text = str(parsed.get("errorMessage") or text) if isinstance(parsed, dict) else text
    except ValueError:
        pass
    return text[:_CAUSE_MAX]


def _code(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "")
