"""The approval function's side of a parked endpoint (domain.endpoint_parking): `park_check`, the approval state
machine's first step when its input carries `park` (the schedule is the approval: the live endpoint must still be a
dev endpoint whose tag says exactly that park schedule), and `unpark`, invoked by the scheduler when the window
opens: the endpoint recreated from its newest sealed, verified snapshot — the models and endpoint config the park
left in place reused when unchanged since the snapshot — carrying its schedule and its mlgov:created-* record back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError

from mlgov.aws.inventory import not_found
from mlgov.domain.endpoint_parking import park_problem
from mlgov.domain.schedules import SCHEDULE_TAG, ScheduleError, parse_schedule
from mlgov.domain.tagging import CREATED_AT, CREATED_BY, CREATOR_ARN
from mlgov.services.approvals import ApprovalRefused, ApprovalTasks
from mlgov.services.restore import RestoreError, apply_plan, load_snapshot

CARRIED_BACK = (CREATED_BY, CREATED_AT, CREATOR_ARN)  # who created it stays who created it


def park_check(tasks: ApprovalTasks, state: Mapping) -> dict:
    """{"still_idle": park it?, "reason"}: the member the state machine's StillIdle? choice reads."""
    finding, park = _finding(state), state.get("park")
    if not isinstance(park, Mapping) or not park.get("schedule"):
        raise ApprovalRefused("park_check needs the park schedule in the state")
    client = tasks.sessions.client("sagemaker", finding["account"], finding["region"])
    try:
        live = client.describe_endpoint(EndpointName=finding["name"])
    except ClientError as err:
        if not_found(err):
            return {"still_idle": False, "reason": "the endpoint no longer exists"}
        raise
    if live.get("EndpointStatus") != "InService":
        return {"still_idle": False, "reason": f"the endpoint is {live.get('EndpointStatus')}"}
    tags = {t["Key"]: t["Value"] for t in client.list_tags(ResourceArn=live["EndpointArn"]).get("Tags", [])}
    problem = park_problem(tags, str(park["schedule"]), tasks.clock(), park.get("window_id"))
    if problem:
        return {"still_idle": False, "reason": problem}
    return {"still_idle": True, "reason": f"parked by its schedule ({park['schedule']})"}


def unpark(tasks: ApprovalTasks, state: Mapping, schedule: str, parked_at: datetime | None) -> dict:
    """Recreate the parked endpoint; ApprovalRefused (one line) when there is no sealed, verified snapshot taken
    since the park, the endpoint exists again, or a create call fails (what was created is named)."""
    finding = _finding(state)
    account, region, name = finding["account"], finding["region"], finding["name"]
    try:
        if not parse_schedule(schedule).park:
            raise ApprovalRefused(f"{schedule!r} does not park: nothing to restore")
    except ScheduleError as err:
        raise ApprovalRefused(str(err)) from None
    if tasks.approvals is None:
        raise ApprovalRefused("unpark needs the approvals table (the seals of the snapshots)")
    sagemaker = tasks.sessions.client("sagemaker", account, region)
    try:
        sagemaker.describe_endpoint(EndpointName=name)
        return {"restored": False, "reason": f"{name} exists: nothing to restore"}
    except ClientError as err:
        if not not_found(err):
            raise
    try:
        loaded = load_snapshot(tasks.archive_client, tasks.archive_bucket, account=account, region=region,
                               endpoint=name, seals=tasks.approvals.manifest_seal)  # fmt: skip
    except RestoreError as err:
        raise ApprovalRefused(str(err)) from None
    if not loaded.verified:
        raise ApprovalRefused(f"the newest snapshot of {name} ({loaded.taken_at}) was not verified: not restored")
    if parked_at is not None and datetime.fromisoformat(loaded.taken_at) < parked_at:
        raise ApprovalRefused(f"the newest snapshot of {name} ({loaded.taken_at}) is older than the park: not restored")
    snapshotted = {t["Key"]: t["Value"] for t in (loaded.manifest.get("tags") or {}).get("endpoint") or []}
    if snapshotted.get(SCHEDULE_TAG) != schedule:  # a zombie deletion or any other snapshot is never "unparked"
        raise ApprovalRefused(
            f"the newest snapshot of {name} ({loaded.taken_at}) was not taken under the park schedule {schedule!r} "
            f"({SCHEDULE_TAG}={snapshotted.get(SCHEDULE_TAG)!r}): not restored"
        )
    kept = [{"Key": key, "Value": snapshotted[key]} for key in CARRIED_BACK if key in snapshotted]
    endpoint = dict(loaded.plan.endpoint)
    endpoint["Tags"] = [*endpoint.get("Tags", []), *kept, {"Key": SCHEDULE_TAG, "Value": schedule}]
    plan = type(loaded.plan)(loaded.plan.models, loaded.plan.endpoint_config, endpoint, loaded.plan.notes)
    try:
        created = apply_plan(sagemaker, plan, snapshot=loaded.manifest,
                             source_s3=tasks.sessions.client("s3", account, region))  # fmt: skip
    except (RestoreError, BotoCoreError) as err:
        raise ApprovalRefused(f"restore of {name} failed: {err}") from None
    manifest_key = (loaded.seal or {}).get("manifest_key")
    return {"restored": True, "created": created, "manifest_key": manifest_key, "taken_at": loaded.taken_at}


def _finding(state: Mapping) -> Mapping[str, str]:
    finding = state.get("finding")
    if not isinstance(finding, Mapping) or not all(finding.get(k) for k in ("arn", "account", "region", "name")):
        raise ApprovalRefused("the state carries no finding with arn, account, region and name")
    return finding
