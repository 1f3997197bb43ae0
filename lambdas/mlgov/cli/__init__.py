"""The `mlgov` command line: policies, tag checks and SDK defaults (read-only unless a subcommand says so)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from mlgov.repo_files import DEFAULT_POLICIES_DIR, PolicyFiles, load_schema


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except CliError as err:
        print(f"mlgov: error: {err}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as err:  # SchemaError, ConfigError, PolicyTooLargeError, unreadable files
        if args.debug:
            raise
        print(f"mlgov: error: {err}", file=sys.stderr)
        return 2


def _common_options(with_defaults: bool) -> argparse.ArgumentParser:
    """Options accepted before and after the subcommand. Only the top level sets defaults: argparse copies a
    subcommand's defaults over the namespace, silently dropping `mlgov --policies-dir X policies build`."""
    suppress = None if with_defaults else argparse.SUPPRESS
    common = argparse.ArgumentParser(add_help=False, argument_default=suppress)
    common.add_argument("--profile", help="AWS profile (commands that call AWS)")
    common.add_argument("--region", help="AWS region (commands that call AWS)")
    common.add_argument("--endpoint-url", help="AWS endpoint override, e.g. a local moto server")
    common.add_argument(
        "--policies-dir",
        type=Path,
        **({"default": DEFAULT_POLICIES_DIR} if with_defaults else {}),
        help=f"default: {DEFAULT_POLICIES_DIR}",
    )
    common.add_argument("--debug", action="store_true", help="show tracebacks")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlgov", description=__doc__, parents=[_common_options(True)])
    common = _common_options(False)
    commands = parser.add_subparsers(title="commands")

    policies = commands.add_parser("policies", help="compile, check, simulate and explain the tag SCPs")
    policy_commands = policies.add_subparsers(title="policy commands")
    build = policy_commands.add_parser("build", parents=[common], help="compile SCPs + tag policy from the schema")
    build.set_defaults(run=_policies_build)
    check = policy_commands.add_parser("check", parents=[common], help="fail when checked-in policies are stale")
    check.set_defaults(run=_policies_check)
    for command in (build, check):
        command.add_argument(
            "--config",
            type=Path,
            help="cdk.json holding context 'mlgov' (hub account, exempt principals); "
            "default: the one beside --policies-dir, else ./cdk.json",
        )
    simulate = policy_commands.add_parser(
        "simulate", parents=[common], help="evaluate the checked-in SCPs offline for one call"
    )
    simulate.add_argument("--action", required=True, help="e.g. sagemaker:CreateEndpoint")
    simulate.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="request tag (repeat)")
    simulate.add_argument("--principal", default=None, help="caller's IAM principal ARN")
    simulate.add_argument(
        "--resource", default="*", help="resource ARN, e.g. arn:aws:iam::111122223333:role/mlgov-x for iam:CreateRole"
    )
    simulate.add_argument("--expect", choices=["allow", "deny"], help="exit 1 when the verdict differs")
    simulate.set_defaults(run=_policies_simulate)
    explain = policy_commands.add_parser(
        "explain", parents=[common], help="explain an AccessDenied message: which tag is missing, how to fix"
    )
    explain.add_argument("message", help="the whole AccessDenied error text")
    explain.add_argument("--tags", nargs="*", metavar="KEY=VALUE", help="the tags your call sent, if known")
    explain.set_defaults(run=_policies_explain)

    tags = commands.add_parser("tags", help="validate tag sets against the schema")
    tag_commands = tags.add_subparsers(title="tag commands")
    tags_check = tag_commands.add_parser("check", parents=[common], help="validate a tag set")
    tags_check.add_argument("--tags", nargs="*", default=[], metavar="KEY=VALUE", required=True)
    tags_check.add_argument("--resource-type", help="e.g. endpoint, training-job (default: every rule)")
    tags_check.set_defaults(run=_tags_check)

    sdk = commands.add_parser(
        "sdk-defaults",
        parents=[common],
        help="write the SageMaker Python SDK config so every create is tagged",
    )
    for name in ("team", "model", "experiment", "environment"):
        sdk.add_argument(f"--{name}", required=True, help=f"value for ml:{name}")
    sdk.add_argument("--days", type=int, help="lifetime for auto-delete-after (default from the schema)")
    sdk.add_argument("--output", type=Path, help="config file (default: the SDK's user config path)")
    sdk.add_argument("--print", dest="print_only", action="store_true", help="print instead of writing")
    sdk.set_defaults(run=_sdk_defaults)

    scan = commands.add_parser(
        "scan", parents=[common], help="inventory, price and judge every SageMaker resource (read-only)"
    )
    scan.add_argument(
        "--accounts", nargs="+", metavar="ID", help="default: this account (or the org with --assume-role)"
    )
    scan.add_argument("--regions", nargs="+", metavar="REGION", help="default: --region or the profile's region")
    scan.add_argument("--assume-role", metavar="NAME", help="role to assume in each account, e.g. mlgov-spoke")
    scan.add_argument("--types", nargs="+", metavar="TYPE", help="only these resource types (e.g. endpoint)")
    scan.add_argument(
        "--format", choices=["table", "json", "csv", "html"], default="table", help="html: one self-contained page"
    )
    scan.add_argument("--output", type=Path, help="write the report here instead of stdout")
    scan.add_argument("--workers", type=int, default=8, help="account × region scans at once (default 8)")
    scan.add_argument("--ledger", metavar="TABLE", help="hub job-cost ledger table: add finished jobs it recorded")
    cache_dir = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlgov"
    scan.add_argument(
        "--cache",
        type=Path,
        default=cache_dir / "endpoint-configs.json",
        help="endpoint configs described in earlier scans (immutable; default ~/.cache/mlgov/endpoint-configs.json)",
    )
    scan.add_argument("--no-cache", action="store_true", help="describe every endpoint config again")
    scan.add_argument(
        "--offline",
        action="store_true",
        help="no AWS Price List calls: prices from the cache and the checked-in table only",
    )
    scan.add_argument(
        "--cost-export",
        metavar="PATH|s3://...",
        help="a FOCUS 1.2 export (Parquet): add each resource's billed and effective cost of the last full month",
    )
    scan.add_argument(
        "--price-cache",
        type=Path,
        default=cache_dir / "prices.json",
        help="live list prices fetched in earlier scans, refreshed weekly (default ~/.cache/mlgov/prices.json)",
    )
    scan.add_argument(
        "--zombies", action="store_true", help="add usage evidence: zombie endpoints, idle notebooks/apps"
    )
    scan.add_argument(
        "--around",
        action="store_true",
        help="add the costs around each running endpoint: its CloudWatch Logs ingestion and its model artifacts' "
        "S3 bucket (estimated, or billed with --cost-export); multi-model endpoints marked shared",
    )
    scan.add_argument("--idle-days", type=int, help="zombie: days without invocations (default: cdk.json or 30)")
    scan.add_argument("--min-age-days", type=int, help="zombie: endpoints younger than this never are (default 7)")
    scan.set_defaults(run=_scan)

    from mlgov.cli.pricing import add_pricing_commands

    add_pricing_commands(commands, common)

    from mlgov.cli.costs import add_cost_commands

    add_cost_commands(commands, common)

    from mlgov.cli.hyperpod import add_hyperpod_commands

    add_hyperpod_commands(commands, common)

    from mlgov.cli.restore import add_restore_commands

    add_restore_commands(commands, common)

    from mlgov.cli.exempt import add_exempt_command

    add_exempt_command(commands, common)

    from mlgov.cli.slack import add_slack_commands

    add_slack_commands(commands, common)

    from mlgov.cli.doctor import add_doctor_command

    add_doctor_command(commands, common)

    from mlgov.cli.demo import add_demo_command

    add_demo_command(commands, common)
    return parser


def _today() -> date:
    return datetime.now(UTC).date()


def _parse_pairs(pairs: Sequence[str], allow_bare_keys: bool = False) -> dict[str, str]:
    tags: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not key or (not sep and not allow_bare_keys):
            raise CliError(f"tag '{pair}' must be KEY=VALUE")
        tags[key] = value
    return tags


def _compile(args):
    from mlgov.domain.scp_compiler import compile_policies
    from mlgov.service_catalog import load_service_catalog

    files = PolicyFiles(args.policies_dir)
    principals = _deployment_principals(args)
    return files, compile_policies(load_schema(files.schema_path), load_service_catalog(), principals)


def _deployment_principals(args):
    """The SCPs name the hub account's roles and the config's exempt principals: they come from cdk.json."""
    from mlgov.deployment_context import DeploymentContextError, principals_from_cdk_json

    beside = Path(args.policies_dir).resolve().parent / "cdk.json"
    path = (
        args.config
        or (beside if beside.is_file() else None)
        or (Path("cdk.json") if Path("cdk.json").is_file() else None)
    )
    if path is None:
        raise CliError(
            "the SCPs name the hub account's roles and the config's exempt principals: "
            "pass --config with the cdk.json holding context 'mlgov'"
        )
    try:
        return principals_from_cdk_json(Path(path))
    except DeploymentContextError as err:
        raise CliError(str(err)) from None


def _policies_build(args) -> int:
    from mlgov.domain.scp_compiler import SCP_MAX_CHARS, SCP_MAX_PER_TARGET
    from mlgov.service_catalog import load_service_catalog

    files, compilation = _compile(args)
    sources = ", ".join(f"{k} {v}" for k, v in load_service_catalog().sources.items())
    tagged = [row for row in compilation.actions if row.accepts_tags]
    print(f"Compiled {files.schema_path} ({sources})")
    print(f"Governed creates: {len(compilation.governed)} of {len(tagged)} tag-accepting operations")
    print(f"SCPs (limit {SCP_MAX_CHARS} characters each, {SCP_MAX_PER_TARGET} per target besides FullAWSAccess):")
    for scp in compilation.scps:
        sids = ", ".join(statement["Sid"] for statement in scp.document["Statement"])
        print(f"  {scp.name:26} {scp.size:5} chars  {sids}")
    left = SCP_MAX_PER_TARGET - len(compilation.scps)
    print(
        f"  {len(compilation.scps)} of {SCP_MAX_PER_TARGET} SCP slots per target ({left} left besides FullAWSAccess; "
        "a Control Tower OU also holds its guardrail SCPs: see README)"
    )
    print("Left ungoverned (never denied by the SCPs):")
    for row in compilation.ungoverned:
        print(f"  {row.operation:40} {row.reason}")
    for path in files.write(compilation):
        print(f"wrote {path}")
    return 0


def _policies_check(args) -> int:
    files, compilation = _compile(args)
    stale = files.stale(compilation)
    if stale:
        print(
            f"mlgov: stale policies: {', '.join(stale)}; run `mlgov policies build` and commit",
            file=sys.stderr,
        )
        return 1
    print(f"policies up to date ({len(compilation.scps)} SCPs, {len(compilation.governed)} governed creates)")
    return 0


def _load_scps(policies_dir: Path) -> dict[str, dict]:
    scp_files = sorted((policies_dir / "scp").glob("*.json"))
    if not scp_files:
        raise CliError(f"no SCPs in {policies_dir / 'scp'}; run `mlgov policies build`")
    try:
        return {path.stem: json.loads(path.read_text()) for path in scp_files}
    except json.JSONDecodeError as err:
        raise CliError(f"an SCP file is not valid JSON: {err}") from None


def _policies_simulate(args) -> int:
    from mlgov.domain.policy_simulation import DEFAULT_PRINCIPAL, simulate_call

    tags = _parse_pairs(args.tag, allow_bare_keys=True)
    service = args.action.split(":", 1)[0].lower() if ":" in args.action else "sagemaker"
    if service != "sagemaker" and args.resource == "*":
        raise CliError(f"{args.action}: pass --resource with the ARN it acts on (e.g. the role for iam:CreateRole)")
    result = simulate_call(
        _load_scps(args.policies_dir), args.action, tags, args.principal or DEFAULT_PRINCIPAL, resource=args.resource
    )
    print(result.verdict)
    for authorization in result.authorizations:
        decision = authorization.decision
        print(f"  {decision.verdict:5} {authorization.label}: {decision.reason}")
    if args.expect and args.expect.upper() != result.verdict:
        print(f"mlgov: expected {args.expect.upper()}, got {result.verdict}", file=sys.stderr)
        return 1
    return 0


def _policies_explain(args) -> int:
    from mlgov.domain.denial import describe_rule, explain_denial, parse_access_denied, render_fixes

    denial = parse_access_denied(args.message)
    schema = load_schema(PolicyFiles(args.policies_dir).schema_path)
    sent = _parse_pairs(args.tags) if args.tags is not None else None
    explanation = explain_denial(denial, schema, _governed_table(args.policies_dir), _today(), sent)
    print(explanation.headline)
    if explanation.rules:
        print("\nRequired tags:")
        for rule in explanation.rules:
            print(f"  {rule.key:20} {describe_rule(rule)}  — {rule.description}")
    if explanation.problems:
        print("\nWhat is wrong with your tags:")
        for problem in explanation.problems:
            print(f"  {problem.key}: {problem.message}")
    for tool, snippet in render_fixes(explanation).items():
        print(f"\nFix with {tool}:\n{snippet}")
    return 0


def _governed_table(policies_dir: Path):
    from mlgov.domain.governed_actions import ActionRow

    path = policies_dir / "governed_actions.json"
    if not path.exists():
        raise CliError(f"{path} is missing; run `mlgov policies build`")
    return [ActionRow(**row) for row in json.loads(path.read_text())]


def _tags_check(args) -> int:
    from mlgov.domain.tag_schema import check_tags

    schema = load_schema(PolicyFiles(args.policies_dir).schema_path)
    problems = check_tags(schema, _parse_pairs(args.tags), args.resource_type, _today())
    for problem in problems:
        print(f"{problem.key}: {problem.message}")
    if problems:
        return 1
    print(f"OK: the tags satisfy {len(schema.rules_for(args.resource_type))} rules")
    return 0


def _sdk_defaults(args) -> int:
    import yaml

    from mlgov.domain.sdk_defaults import merge_into_config, sdk_tag_defaults
    from mlgov.domain.tag_schema import check_tags

    schema = load_schema(PolicyFiles(args.policies_dir).schema_path)
    values = {f"ml:{name}": getattr(args, name) for name in ("team", "model", "experiment", "environment")}
    missing = [rule.key for rule in schema.rules if not rule.is_date and rule.key not in values]
    if missing:
        raise CliError(f"the schema requires {', '.join(missing)}, which sdk-defaults has no option for")
    lifetime = schema.lifetime_rule()
    too_long = lifetime and lifetime.max_lifetime_days and (args.days or 0) > lifetime.max_lifetime_days
    if lifetime and args.days is not None and (args.days < 1 or too_long):
        raise CliError(f"--days must be between 1 and {lifetime.max_lifetime_days}")
    problems = [p for p in check_tags(schema, values, "training-job", _today()) if p.key in values]
    if problems:
        raise CliError("; ".join(f"{p.key}: {p.message}" for p in problems))
    sections = sdk_tag_defaults(schema, values, _today(), args.days)
    path = args.output or _sdk_user_config_path()
    existing = yaml.safe_load(path.read_text()) if path.exists() and not args.print_only else None
    text = yaml.safe_dump(merge_into_config(existing, sections), sort_keys=False)
    if args.print_only:
        print(text, end="")
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"wrote {path}: {len(sections)} SageMaker resource types now default to your tags")
    return 0


def _scan(args) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, NoCredentialsError, ProfileNotFound

    from mlgov.report_render import render_csv, render_json, render_table
    from mlgov.services.scan import (
        ScanRequest,
        ScanSetupError,
        discover,
        load_config_cache,
        report,
        save_config_cache,
    )

    if args.workers < 1:
        raise CliError("--workers must be at least 1")
    try:
        session = boto3.Session(profile_name=args.profile, region_name=args.region)
    except ProfileNotFound as err:
        raise CliError(str(err)) from None
    regions = args.regions or ([session.region_name] if session.region_name else None)
    if not regions:
        raise CliError("no region: pass --regions or --region, or set AWS_REGION")
    request = ScanRequest(
        regions=regions,
        accounts=args.accounts,
        assume_role=args.assume_role,
        resource_types=args.types,
        max_workers=args.workers,
        endpoint_url=args.endpoint_url,
        ledger_table=args.ledger,
    )
    now = datetime.now(UTC)
    schema = load_schema(PolicyFiles(args.policies_dir).schema_path)
    cost_export = None
    if args.cost_export:  # opened before the scan: a wrong path must not cost a finished scan
        from mlgov.cli.costs import cost_engine

        cost_export = cost_engine(args)
    try:
        judge = _zombie_judge(args, session, request, now, schema) if args.zombies else None
        cache = None if args.no_cache else load_config_cache(args.cache)
        result = discover(session, request, now, config_cache=cache)
    except (ScanSetupError, NoCredentialsError, BotoCoreError) as err:
        raise CliError(str(err)) from None
    if cache is not None:
        try:
            save_config_cache(cache, args.cache)
        except OSError as err:
            print(f"mlgov: note: endpoint-config cache not saved ({err})", file=sys.stderr)
    around = _around(session, request, result, now) if args.around else None
    prices = _price_book(args, session, result.resources, now)
    document, _ = report(result, request, prices, schema, now, judge=judge, around=around)
    if cost_export is not None:
        from mlgov.services.costs import add_billed_costs

        document = add_billed_costs(document, cost_export, now, schema, around)
    from mlgov.cli.output import emit
    from mlgov.report_html import render_html

    renderer = {"json": render_json, "csv": render_csv, "table": render_table, "html": render_html}[args.format]
    summary = f"{document['summary']['resources']} resources, {len(document['errors'])} errors"
    emit(renderer(document), args.output, summary)
    return 0


def _around(session, request, result, now):
    """The costs around the endpoints `result` found; a failed read is an error entry in the result."""
    from mlgov.services.around_costs import measure_around
    from mlgov.services.scan import caller_account, scan_sessions

    sessions = scan_sessions(session, request, caller_account(session, request.endpoint_url))
    measured, errors = measure_around(sessions, result.resources, now, request.max_workers)
    result.errors.extend(errors)
    return measured


def _price_book(args, session, resources, now):
    """Live list prices for what the scan found (the cache, then the Price List unless --offline), with the
    checked-in table as the fallback; a Price List out of reach is a note, not a failure."""
    from mlgov.price_files import load_price_table
    from mlgov.services.pricing import live_price_book, read_price_cache_file, write_price_cache_file

    cache = read_price_cache_file(args.price_cache)
    offline = "offline (--offline)" if args.offline else None
    if args.endpoint_url and not offline:
        offline = "offline: the --endpoint-url endpoint serves no AWS Price List"
    fetch = None if offline else price_fetcher(session)
    live = live_price_book(resources, load_price_table(), cache, now.date(), fetch, offline or "")
    if live.book.live_problem and not offline:
        print(f"mlgov: note: live prices: {live.book.live_problem}", file=sys.stderr)
    if live.cache_changed:
        try:
            write_price_cache_file(cache, args.price_cache)
        except OSError as err:
            print(f"mlgov: note: price cache not saved ({err})", file=sys.stderr)
    return live.book


def price_fetcher(session):
    """(region, instance type) -> Price List products, through one `pricing` client (tests replace this)."""
    from functools import partial

    from mlgov.aws.price_list import fetch_instance_products, pricing_client

    return partial(fetch_instance_products, pricing_client(session))


def _zombie_judge(args, session, request, now, schema):
    from mlgov.domain.zombies import ZombiePolicy
    from mlgov.services.scan import UsageJudge, caller_account, cloudwatch_clients, scan_sessions

    idle_days, min_age_days = _configured_thresholds()
    idle_days = args.idle_days if args.idle_days is not None else idle_days
    min_age_days = args.min_age_days if args.min_age_days is not None else min_age_days
    if idle_days < 1 or min_age_days < 0:
        raise CliError("--idle-days must be at least 1 and --min-age-days at least 0")
    sessions = scan_sessions(session, request, caller_account(session, request.endpoint_url))
    policy = ZombiePolicy(idle_days=idle_days, min_age_days=min_age_days)
    return UsageJudge(cloudwatch_clients(sessions), policy, now, schema)


def _configured_thresholds() -> tuple[int, int]:
    """zombie_idle_days / zombie_min_age_days from ./cdk.json when run in a checkout, else the defaults."""
    from mlgov.domain.zombies import DEFAULT_IDLE_DAYS, DEFAULT_MIN_AGE_DAYS

    try:
        context = json.loads(Path("cdk.json").read_text())["context"]["mlgov"]
        return (
            int(context.get("zombie_idle_days", DEFAULT_IDLE_DAYS)),
            int(context.get("zombie_min_age_days", DEFAULT_MIN_AGE_DAYS)),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return DEFAULT_IDLE_DAYS, DEFAULT_MIN_AGE_DAYS


def _sdk_user_config_path() -> Path:
    override = os.environ.get("SAGEMAKER_USER_CONFIG_OVERRIDE")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "sagemaker" / "config.yaml"


if __name__ == "__main__":
    raise SystemExit(main())
