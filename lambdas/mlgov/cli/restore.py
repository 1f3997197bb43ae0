"""`mlgov restore ENDPOINT`: recreate a deleted endpoint from its snapshot in the archive bucket (writes)."""

from __future__ import annotations

import argparse
import json
import os
import sys

ARCHIVE_BUCKET_ENV = "MLGOV_ARCHIVE_BUCKET"
APPROVALS_TABLE_ENV = "MLGOV_APPROVALS_TABLE"


def add_restore_commands(commands, common: argparse.ArgumentParser) -> None:
    """Add `restore` to the `mlgov` subparsers."""
    restore = commands.add_parser(
        "restore",
        parents=[common],
        help="recreate a deleted endpoint (models, endpoint config, endpoint) from its snapshot (writes)",
    )
    restore.add_argument("endpoint", metavar="ENDPOINT", help="name of the deleted endpoint")
    restore.add_argument(
        "--archive-bucket", metavar="BUCKET", help=f"the hub's archive bucket (default: ${ARCHIVE_BUCKET_ENV})"
    )
    restore.add_argument(
        "--approvals-table",
        metavar="TABLE",
        help=f"the hub's approvals table, which holds each manifest's seal (default: ${APPROVALS_TABLE_ENV})",
    )
    restore.add_argument(
        "--hub-profile",
        metavar="PROFILE",
        help="profile that reads the archive and the seals in the hub account (default: --profile)",
    )
    restore.add_argument(
        "--hub-region", metavar="REGION", help="the hub's region (default: the hub profile's region, else --region)"
    )
    restore.add_argument(
        "--restore-bucket",
        metavar="BUCKET",
        help="a bucket of the endpoint's account and region: the artifacts are copied there from the archive and "
        "the models read them from it (needed outside the hub account and region)",
    )
    restore.add_argument("--account", metavar="ID", help="account the endpoint lived in (default: the caller's)")
    restore.add_argument("--snapshot", metavar="TS", help="snapshot timestamp, e.g. 20260301T120000Z (default: latest)")
    restore.add_argument("--name", metavar="NEW", help="recreate under this endpoint name (models: NEW-<model>)")
    restore.add_argument("--dry-run", action="store_true", help="print the three requests, create nothing")
    restore.set_defaults(run=_restore)


def _restore(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from mlgov.cli.aws_profiles import cli_client, cli_session
    from mlgov.services.restore import RestoreError, apply_plan, load_snapshot

    bucket = args.archive_bucket or os.environ.get(ARCHIVE_BUCKET_ENV)
    if not bucket:
        raise RestoreError(f"no archive bucket: pass --archive-bucket or set {ARCHIVE_BUCKET_ENV}")
    table = args.approvals_table or os.environ.get(APPROVALS_TABLE_ENV)
    if not table:
        raise RestoreError(
            f"no approvals table: pass --approvals-table or set {APPROVALS_TABLE_ENV} (restore accepts only a "
            "snapshot the hub sealed there)"
        )
    session = cli_session(args, RestoreError)
    hub = session
    if args.hub_profile or args.hub_region:
        region = args.hub_region or (None if args.hub_profile else getattr(args, "region", None))
        hub_args = {"profile": args.hub_profile or getattr(args, "profile", None), "region": region}
        hub = cli_session(argparse.Namespace(**{**vars(args), **hub_args}), RestoreError)

    def client(service: str):
        return cli_client(session, service, args)

    from mlgov.aws.approvals_table import ApprovalsTable

    seals = ApprovalsTable(cli_client(hub, "dynamodb", args), table).manifest_seal

    account = args.account
    if not account:
        try:
            account = client("sts").get_caller_identity()["Account"]
        except (ClientError, BotoCoreError) as err:
            raise RestoreError(f"cannot identify the account (pass --account): {err}") from None
    archive_s3 = cli_client(hub, "s3", args)
    loaded = load_snapshot(
        archive_s3,
        bucket,
        account=account,
        region=session.region_name,
        endpoint=args.endpoint,
        snapshot=args.snapshot,
        new_name=args.name,
        seals=seals,
        artifacts_bucket=args.restore_bucket,
    )
    plan = loaded.plan
    sealed = f"sealed by the hub at {loaded.seal['sealed_at']}, unchanged"
    if not loaded.verified:
        print(f"mlgov: warning: snapshot {loaded.taken_at} of {args.endpoint} was not verified", file=sys.stderr)
    for note in plan.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.dry_run:
        requests = {
            "CreateModel": plan.models,
            "CreateEndpointConfig": plan.endpoint_config,
            "CreateEndpoint": plan.endpoint,
        }
        print(f"# dry run: restore of {args.endpoint} from snapshot {loaded.taken_at} ({sealed}; nothing is created)")
        print(json.dumps(requests, indent=2))
        return 0
    if args.restore_bucket:
        from mlgov.aws.snapshot_store import copy_back

        try:
            copied = copy_back(archive_s3, bucket, client("s3"), args.restore_bucket, loaded.manifest)
        except (ClientError, BotoCoreError) as err:
            raise RestoreError(f"cannot copy the artifacts to s3://{args.restore_bucket}: {err}") from None
        print(f"copied {len(copied)} artifacts from the archive to s3://{args.restore_bucket}")
    apply_plan(
        client("sagemaker"), plan, log=print, snapshot=None if args.name else loaded.manifest, source_s3=client("s3")
    )
    print(
        f"restored {plan.endpoint['EndpointName']} from snapshot {loaded.taken_at} ({sealed}): "
        "the endpoint is being created"
    )
    return 0
