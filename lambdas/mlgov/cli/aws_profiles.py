"""AWS sessions and clients for CLI commands: --profile/--region/--endpoint-url, retries, one-line errors."""

from __future__ import annotations

import argparse


def cli_session(args: argparse.Namespace, error: type[ValueError]):
    """boto3 session of --profile/--region; `error` (one line) for an unknown profile or no region."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        session = boto3.Session(profile_name=getattr(args, "profile", None), region_name=getattr(args, "region", None))
    except ProfileNotFound as err:
        raise error(str(err)) from None
    if not session.region_name:
        raise error("no AWS region: pass --region or set AWS_REGION")
    return session


def cli_client(session, service: str, args: argparse.Namespace, region: str | None = None):
    from mlgov.aws.sessions import RETRY_CONFIG

    return session.client(
        service,
        region_name=region or session.region_name,
        config=RETRY_CONFIG,
        endpoint_url=getattr(args, "endpoint_url", None),
    )
