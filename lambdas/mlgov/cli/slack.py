"""`mlgov slack manifest`: print the Slack app manifest with the deployed hub's interactivity URL filled in."""

from __future__ import annotations

import argparse
import json

from mlgov.cli.aws_profiles import cli_client, cli_session
from mlgov.domain.slack_manifest import URL_OUTPUT, ManifestError, app_manifest

HUB_STACK = "MlgovHub"


class SlackCliError(ValueError):
    """`mlgov slack` cannot go on; printed as one line, exit status 2."""


def add_slack_commands(commands, common: argparse.ArgumentParser) -> None:
    slack = commands.add_parser("slack", help="set up the Slack app")
    slack_commands = slack.add_subparsers(title="slack commands")
    manifest = slack_commands.add_parser(
        "manifest",
        parents=[common],
        help="print the Slack app manifest (Create an app → From an app manifest), Request URL from the hub stack",
    )
    manifest.add_argument("--stack", default=HUB_STACK, help=f"the hub stack's name (default {HUB_STACK})")
    manifest.add_argument("--url", help=f"the Request URL itself, instead of the stack's {URL_OUTPUT} output")
    manifest.add_argument("--name", default="mlgov", help="the app's and bot's display name")
    manifest.set_defaults(run=_manifest)


def _manifest(args: argparse.Namespace) -> int:
    url = args.url or _stack_output(args)
    try:
        print(json.dumps(app_manifest(url, args.name), indent=2))
    except ManifestError as err:
        raise SlackCliError(str(err)) from None
    return 0


def _stack_output(args: argparse.Namespace) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    session = cli_session(args, SlackCliError)
    try:
        stacks = cli_client(session, "cloudformation", args).describe_stacks(StackName=args.stack)["Stacks"]
    except (ClientError, BotoCoreError) as err:
        raise SlackCliError(
            f"cannot read stack {args.stack} in {session.region_name} (hub credentials?): {err}"
        ) from None
    outputs = {o["OutputKey"]: o["OutputValue"] for stack in stacks for o in stack.get("Outputs") or []}
    if URL_OUTPUT not in outputs:
        raise SlackCliError(f"stack {args.stack} has no {URL_OUTPUT} output: is it the mlgov hub, deployed?")
    return outputs[URL_OUTPUT]
