"""`mlgov schedules set|hold|resume|status|plan` (also `mlgov hyperpod ...`): setting schedules through the hub, the
manual override, and a dry-run view of what the scheduler would do to clusters, endpoints and inference components."""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime

from mlgov.aws.hyperpod_state import ClusterRecord, StateStore
from mlgov.cli.aws_profiles import cli_client, cli_session
from mlgov.domain.preflight import HYPERPOD_FUNCTION_NAME

STATE_TABLE_ENV = "MLGOV_HYPERPOD_STATE_TABLE"


class HyperPodCliError(ValueError):
    """A hyperpod command cannot go on; printed as one line, exit status 2."""


def add_hyperpod_commands(commands, common: argparse.ArgumentParser) -> None:
    """Add `schedules set|hold|resume|status|plan` (and its older name `hyperpod`, with `schedule` for `set`) to the
    `mlgov` subparsers: one schedule grammar and one scheduler for HyperPod clusters, endpoints and inference
    components."""
    state = argparse.ArgumentParser(add_help=False)
    state.add_argument(
        "--state-table", metavar="NAME", help=f"the hub's scheduler state table (default: ${STATE_TABLE_ENV})"
    )
    for command, set_name in (("schedules", "set"), ("hyperpod", "schedule")):
        group = commands.add_parser(
            command,
            help="off-hours schedules of HyperPod clusters, endpoints and inference components: "
            f"{set_name}, hold, resume, status, plan",
        )
        _add_schedule_commands(group.add_subparsers(title=f"{command} commands"), common, state, set_name)


def _add_schedule_commands(subcommands, common, state, set_name: str) -> None:
    schedule = subcommands.add_parser(
        set_name,
        parents=[common],
        help="set (or --clear) the mlgov:schedule of a cluster, endpoint or inference component through the hub, "
        "which alone may write it (writes)",
    )
    schedule.add_argument(
        "cluster_arn",
        metavar="RESOURCE_ARN",
        help="arn:aws:sagemaker:<region>:<account>:cluster/..., endpoint/... or inference-component/...",
    )
    schedule.add_argument(
        "schedule", metavar="SCHEDULE", nargs="?", help="e.g. 'mon-fri 08:00-20:00 Europe/Berlin' (see README)"
    )
    schedule.add_argument("--clear", action="store_true", help="remove the schedule: the scheduler leaves it alone")
    schedule.add_argument("--function", default=HYPERPOD_FUNCTION_NAME, help="the hub's scheduler function")
    schedule.set_defaults(run=_schedule)

    hold = subcommands.add_parser(
        "hold", parents=[common, state], help="keep a resource as it is: the scheduler leaves it alone (writes)"
    )
    hold.add_argument("cluster", metavar="RESOURCE", help="name or ARN")
    hold.add_argument("--reason", help="why, shown by `status`")
    hold.set_defaults(run=_hold)

    resume = subcommands.add_parser(
        "resume",
        parents=[common, state],
        help="release a hold and forget the last action: the next run follows the schedule again (writes)",
    )
    resume.add_argument("cluster", metavar="RESOURCE", help="name or ARN")
    resume.set_defaults(run=_resume)

    status = subcommands.add_parser(
        "status", parents=[common, state], help="holds, saved counts and last actions from the state table"
    )
    status.add_argument("cluster", metavar="RESOURCE", nargs="?", help="one resource (default: every one)")
    status.set_defaults(run=_status)

    plan = subcommands.add_parser(
        "plan", parents=[common, state], help="what the scheduler would do now (never changes anything)"
    )
    plan.add_argument("--regions", nargs="+", metavar="REGION", help="default: --region or the profile's region")
    plan.add_argument("--at", metavar="ISO8601", help="decide at this instant instead of now, e.g. 2026-03-30T07:00Z")
    plan.add_argument("--format", choices=["table", "json"], default="table")
    plan.set_defaults(run=_plan)


def _session(args: argparse.Namespace):
    return cli_session(args, HyperPodCliError)


def _client(session, service: str, args: argparse.Namespace, region: str | None = None):
    return cli_client(session, service, args, region)


def _endpoint(args: argparse.Namespace) -> str | None:
    return getattr(args, "endpoint_url", None)


def _store(args: argparse.Namespace, session, required: bool = True) -> StateStore | None:
    from mlgov.aws.hyperpod_state import DynamoDbStateStore

    table = getattr(args, "state_table", None) or os.environ.get(STATE_TABLE_ENV)
    if not table:
        if required:
            raise HyperPodCliError(f"no state table: pass --state-table or set {STATE_TABLE_ENV}")
        return None
    return DynamoDbStateStore(_client(session, "dynamodb", args), table)


def _aws_errors():
    from botocore.exceptions import BotoCoreError, ClientError

    return ClientError, BotoCoreError


def _resolve(args: argparse.Namespace, session, store: StateStore) -> tuple[str, str]:
    """(arn, name) of CLUSTER: an ARN as given, else a name the state table knows, else DescribeCluster here."""
    cluster = args.cluster
    if cluster.startswith("arn:") and _scheduled_resource(cluster):  # SageMaker writes these ARNs in lower case
        prefix, _, name = cluster.rpartition("/")
        cluster = f"{prefix}/{name.lower()}"
    if cluster.startswith("arn:"):
        known = store.get(cluster)
        return cluster, (known.name if known and known.name else cluster.rsplit("/", 1)[-1])
    matches = [record for record in store.records() if record.name == cluster]
    if len(matches) > 1:
        arns = ", ".join(record.arn for record in matches)
        raise HyperPodCliError(f"several clusters are named {cluster} ({arns}): pass the ARN")
    if matches:
        return matches[0].arn, cluster
    try:
        described = _client(session, "sagemaker", args).describe_cluster(ClusterName=cluster)
    except _aws_errors() as err:
        raise HyperPodCliError(
            f"cluster {cluster} is neither in the state table nor describable in {session.region_name} ({err}); "
            "pass its ARN"
        ) from None
    return described["ClusterArn"], described.get("ClusterName") or cluster


def _scheduled_resource(arn: str):
    from mlgov.services.endpoint_schedules import scheduled_resource

    return scheduled_resource(arn)


def _caller(session, args: argparse.Namespace) -> str | None:
    try:
        return _client(session, "sts", args).get_caller_identity()["Arn"]
    except _aws_errors():
        return None


def _schedule(args: argparse.Namespace) -> int:
    from mlgov.aws.hub_functions import invoke_hub_function
    from mlgov.domain.schedules import ScheduleError, parse_schedule

    if args.clear == bool(args.schedule):
        raise HyperPodCliError("give a SCHEDULE or --clear (not both)")
    if args.schedule:
        try:
            parse_schedule(args.schedule)  # the hub checks again; this spares a round trip
        except ScheduleError as err:
            raise HyperPodCliError(str(err)) from None
    session = _session(args)
    request = {
        "task": "set_schedule",
        "cluster_arn": args.cluster_arn,
        "schedule": None if args.clear else args.schedule,
        "by": _caller(session, args) or "unknown",
    }
    invoke_hub_function(_client(session, "lambda", args), args.function, request)
    if args.clear:
        print(f"cleared the schedule of {args.cluster_arn}: the scheduler leaves it alone")
    else:
        print(f"scheduled {args.cluster_arn}: mlgov:schedule={args.schedule!r} (written by the hub)")
    return 0


def _hold(args: argparse.Namespace) -> int:
    session = _session(args)
    store = _store(args, session)
    try:
        arn, name = _resolve(args, session, store)
        store.set_hold(arn, name, True, datetime.now(UTC), by=_caller(session, args), reason=args.reason)
    except _aws_errors() as err:
        raise HyperPodCliError(f"cannot write the state table: {err}") from None
    print(f"held {name} ({arn}): the scheduler leaves it as it is until `mlgov schedules resume {name}`")
    return 0


def _resume(args: argparse.Namespace) -> int:
    session = _session(args)
    store = _store(args, session)
    try:
        arn, name = _resolve(args, session, store)
        record = store.get(arn)
        store.set_hold(arn, name, False, datetime.now(UTC))
        store.forget_last_action(arn)
    except _aws_errors() as err:
        raise HyperPodCliError(f"cannot write the state table: {err}") from None
    was = "released the hold on" if record and record.hold else "was not on hold:"
    print(f"{was} {name} ({arn}); last action forgotten, the next run follows the schedule")
    return 0


def _status(args: argparse.Namespace) -> int:
    session = _session(args)
    store = _store(args, session)
    try:
        if args.cluster:
            arn, _ = _resolve(args, session, store)
            record = store.get(arn)
            if record is None:
                raise HyperPodCliError(f"no state for {args.cluster} ({arn}): the scheduler has not acted on it")
            records = [record]
        else:
            records = store.records()
    except _aws_errors() as err:
        raise HyperPodCliError(f"cannot read the state table: {err}") from None
    if not records:
        print("nothing in the state table yet")
        return 0
    print(f"{'RESOURCE':28} {'HOLD':6} {'SAVED COUNTS':28} LAST ACTION")
    for record in records:
        print(_status_line(record))
        if args.cluster:
            print(f"  arn: {record.arn}")
            if record.hold:
                print(f"  held by {record.hold_by or 'unknown'} at {_when(record.hold_at)}: {record.hold_reason or ''}")
            if record.saved:
                print(f"  saved at {_when(record.saved.saved_at)} ({record.saved.window_id})")
            if record.last_action and record.last_action.message:
                print(f"  last action message: {record.last_action.message}")
    return 0


def _status_line(record: ClusterRecord) -> str:
    saved = " ".join(f"{k}={v}" for k, v in record.saved.counts.items()) if record.saved else "-"
    last = record.last_action
    action = f"{last.action} {last.outcome} {_when(last.at)} ({last.window_id})" if last else "-"
    return f"{record.name or record.arn:28} {'held' if record.hold else '-':6} {saved:28} {action}"


def _when(instant: datetime | None) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ") if instant else "?"


def _plan(args: argparse.Namespace) -> int:
    from mlgov.aws.endpoint_scaling import ScheduledEndpoints
    from mlgov.aws.hyperpod import HyperPodClusters
    from mlgov.aws.hyperpod_state import InMemoryStateStore
    from mlgov.services.endpoint_schedules import endpoint_schedule_pass, scheduled_resource
    from mlgov.services.hyperpod import schedule_pass, summarize

    now = _instant(args.at) if args.at else datetime.now(UTC)
    session = _session(args)
    store = _store(args, session, required=False)
    if store is None:
        store = InMemoryStateStore()
        print(f"note: no state table (--state-table or ${STATE_TABLE_ENV}): holds and saved counts are not known")
    try:
        account = _client(session, "sts", args).get_caller_identity()["Account"]
    except _aws_errors() as err:
        raise HyperPodCliError(f"cannot identify the account: {err}") from None
    outcomes, errors = [], []
    try:
        scheduled = [r for r in store.records() if r.schedule and scheduled_resource(r.arn)]
    except _aws_errors() as err:
        raise HyperPodCliError(f"cannot read the state table: {err}") from None
    for region in args.regions or [session.region_name]:
        sagemaker = _client(session, "sagemaker", args, region)
        found, failed = schedule_pass(
            HyperPodClusters(sagemaker), store, account=account, region=region, now=now, apply=False
        )
        outcomes.extend(found)
        errors.extend(failed)
        resources = ScheduledEndpoints(sagemaker, _client(session, "application-autoscaling", args, region))
        outcomes += endpoint_schedule_pass(
            resources, store, scheduled, account=account, region=region, now=now, apply=False
        )
    if args.format == "json":
        print(json.dumps(summarize(outcomes, errors, dry_run=True, now=now), indent=2, default=str))
    else:
        print(f"plan at {now.isoformat()} (dry run: nothing is changed)")
        for outcome in outcomes:
            print(f"  {outcome.region:14} {outcome.cluster:28} {outcome.outcome:11} {outcome.reason}")
        if not outcomes:
            print("  nothing scheduled: no HyperPod clusters, no endpoints or components scheduled through the hub")
        for error in errors:
            print(f"  {error.region:14} {error.operation} failed: {error.message}")
    return 1 if errors else 0


def _instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise HyperPodCliError(f"--at {text!r} is not an ISO 8601 time like 2026-03-30T07:00Z") from None
    if instant.tzinfo is None:
        raise HyperPodCliError(f"--at {text!r} has no time zone (add Z or +02:00)")
    return instant
