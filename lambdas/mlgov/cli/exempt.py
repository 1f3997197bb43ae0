"""`mlgov exempt ARN --reason ...`: keep a zombie endpoint without an approval, or an idle notebook instance running,
through the hub (writes).

`mlgov:exempt` is a protected key: the SCPs let only mlgov's roles (and configured protected_tag_writers) write it,
and the scan honours it only when mlgov recorded it. So this command does not tag anything itself: it invokes the
hub's approval function (`mlgov-approval`, task `exempt_manually`), which writes the tag through the member account's
`mlgov-spoke-approval` role and records it in the approvals table. Run it with hub-account credentials allowed to
invoke that function.
"""

from __future__ import annotations

import argparse

from mlgov.aws.hub_functions import invoke_hub_function
from mlgov.cli.aws_profiles import cli_client, cli_session
from mlgov.domain.preflight import APPROVAL_FUNCTION_NAME
from mlgov.domain.resource_identity import split_arn


class ExemptError(ValueError):
    """`mlgov exempt` cannot go on; printed as one line, exit status 2."""


def add_exempt_command(commands, common: argparse.ArgumentParser) -> None:
    exempt = commands.add_parser(
        "exempt",
        parents=[common],
        help="keep an endpoint out of zombie approvals, recorded by the hub (writes mlgov:exempt)",
    )
    exempt.add_argument(
        "arn",
        metavar="ARN",
        help="arn:aws:sagemaker:<region>:<account>:endpoint/<name>, :notebook-instance/<name> or :app/... "
        "(kept running)",
    )
    exempt.add_argument("--reason", required=True, help="why it is kept (written into the tag and the record)")
    exempt.add_argument("--until", metavar="YYYY-MM-DD", help="the exemption lapses after this date (default: never)")
    exempt.add_argument("--function", default=APPROVAL_FUNCTION_NAME, help="the hub's approval function")
    exempt.set_defaults(run=_exempt)


def exemption_request(arn: str, reason: str, by: str, until: str | None) -> dict:
    """The approval function's `exempt_manually` event for an endpoint, notebook instance or Studio app ARN;
    ExemptError when it is none of them."""
    parts = split_arn(arn)
    kinds = ("endpoint/", "notebook-instance/", "app/", "domain/")
    if parts is None or parts.service != "sagemaker" or not parts.resource.startswith(kinds):
        raise ExemptError(
            f"{arn} is not a SageMaker endpoint, notebook instance, Studio app or Studio domain ARN "
            "(arn:aws:sagemaker:<region>:<account>:endpoint/..., :notebook-instance/..., :app/... or :domain/...)"
        )
    if parts.resource.startswith("notebook-instance/"):  # SageMaker writes notebook ARNs in lower case
        prefix, _, name = arn.rpartition("/")
        arn = f"{prefix}/{name.lower()}"
    finding = {"arn": arn, "account": parts.account, "region": parts.region, "name": arn.rsplit("/", 1)[1]}
    return {"task": "exempt_manually", "state": {"finding": finding}, "reason": reason, "by": by, "until": until}


def _exempt(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    exemption_request(args.arn, args.reason, "", args.until)  # a bad ARN is refused before any AWS call
    session = cli_session(args, ExemptError)
    try:
        by = cli_client(session, "sts", args).get_caller_identity()["Arn"]
    except (ClientError, BotoCoreError) as err:
        raise ExemptError(f"cannot identify the caller: {err}") from None
    request = exemption_request(args.arn, args.reason, by, args.until)
    payload = invoke_hub_function(cli_client(session, "lambda", args), args.function, request)
    until = f" until {payload['until']}" if payload.get("until") else ""
    print(f"exempted {args.arn}{until}: mlgov:exempt={payload.get('exempt')!r} (recorded by the hub)")
    return 0
