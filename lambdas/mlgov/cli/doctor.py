"""`mlgov doctor`: checks a live installation from the hub (or a member) account and prints the fix for each failure.

Read-only, except one probe event put on the local default bus and deleted from the hub's probe queue.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import cache
from pathlib import Path

from mlgov.deployment_context import DeploymentContextError, default_config_path, load_mlgov_context
from mlgov.domain.preflight import (
    HUB_BUS_NAME,
    PROBE_QUEUE_NAME,
    SCANNER_FUNCTION_NAME,
    SPOKE_ROLE_NAME,
    Check,
    InstallationSettings,
    skip,
)

DEFAULT_PROBE_TIMEOUT = 30.0
# ListPoliciesForTarget's modelled error for an unknown target; moto answers with the OU-specific one.
TARGET_NOT_FOUND = ("TargetNotFoundException", "OrganizationalUnitNotFoundException")
CHECK_NAMES = (
    "cloudtrail",
    "spoke-role",
    "hub-bus",
    "bus-policy",
    "slack-secret",
    "spoke-access",
    "event-probe",
    "org-policies",
)


class DoctorError(ValueError):
    """doctor cannot start (no credentials, unreadable config): one line, exit status 2."""


def add_doctor_command(commands, common: argparse.ArgumentParser) -> None:
    """Add `doctor` to the `mlgov` subparsers."""
    doctor = commands.add_parser(
        "doctor",
        parents=[common],
        help="check a live installation (trail, hub, secrets, spoke access, event delivery, SCPs)",
        description="Each check prints OK, FAIL (with a fix) or SKIP; exit 1 when any check fails.",
    )
    doctor.add_argument("--config", type=Path, help="cdk.json holding context 'mlgov' (default: ./cdk.json if any)")
    doctor.add_argument("--hub-profile", help="profile for the hub account (default: --profile)")
    doctor.add_argument("--hub-region", help="hub region (default: the config's hub_region, else --region)")
    doctor.add_argument("--management-profile", help="profile for the management account: checks the SCPs")
    doctor.add_argument("--organization-id", help="override the config's organization_id (bus policy check)")
    doctor.add_argument("--target-ous", nargs="+", metavar="ID", help="override the config's target_ous")
    doctor.add_argument("--accounts", nargs="+", metavar="ID", help="spoke access: these accounts (default: scan's)")
    doctor.add_argument("--regions", nargs="+", metavar="REGION", help="spoke access: these regions (default: scan's)")
    doctor.add_argument("--hub-bus", default=HUB_BUS_NAME, help=f"hub event bus name (default {HUB_BUS_NAME})")
    doctor.add_argument(
        "--scanner-function", default=SCANNER_FUNCTION_NAME, help=f"hub scanner (default {SCANNER_FUNCTION_NAME})"
    )
    doctor.add_argument(
        "--probe-timeout", type=float, default=DEFAULT_PROBE_TIMEOUT, help="seconds to wait for the probe (default 30)"
    )
    doctor.add_argument(
        "--skip", nargs="+", choices=CHECK_NAMES, default=[], metavar="CHECK", help=f"skip: {', '.join(CHECK_NAMES)}"
    )
    doctor.add_argument(
        "--skip-hub", action="store_true", help="member account without hub access: only the local checks"
    )
    doctor.set_defaults(run=run_doctor)


def run_doctor(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from mlgov.aws.installation import Installation
    from mlgov.domain.preflight import check_cloudtrail, exit_status, render_checks

    if args.probe_timeout <= 0:
        raise DoctorError("--probe-timeout must be positive")
    settings = load_settings(args)
    endpoint_url = getattr(args, "endpoint_url", None)
    main = _session(getattr(args, "profile", None), getattr(args, "region", None))
    region = main.region_name
    if not region:
        raise DoctorError("no AWS region: pass --region or set AWS_REGION")
    here = Installation(main, region, endpoint_url)
    account = _account_of(here, "--profile")
    hub_region = args.hub_region or settings.hub_region or region
    hub_session = _session(args.hub_profile, hub_region) if args.hub_profile else main
    hub = Installation(hub_session, hub_region, endpoint_url)
    skipped = set(args.skip)

    checks: list[Check] = []

    def run(name: str, check: Callable[[], Check | list[Check]]) -> None:
        if name in skipped:
            checks.append(skip(name, "skipped (--skip)"))
            return
        try:
            result = check()
        except (ClientError, BotoCoreError) as err:
            result = _cannot_check(name, err)
        checks.extend(result if isinstance(result, list) else [result])

    run("cloudtrail", lambda: check_cloudtrail(here.trails(), region))
    run("spoke-role", lambda: here.spoke_role(SPOKE_ROLE_NAME))
    if not args.skip_hub:
        hub_account = _account_of(hub, "--hub-profile") if args.hub_profile else account
        if settings.hub_account and hub_account != settings.hub_account:
            checks.append(
                Check(
                    "hub-account",
                    False,
                    f"hub checks would run in account {hub_account}, but the hub is {settings.hub_account} "
                    f"({settings.source})",
                    "pass --hub-profile with credentials for the hub account (or --skip-hub in a member account)",
                )
            )
        else:
            _hub_checks(run, args, settings, here, hub, account)
    run("org-policies", lambda: _org_policies(args, settings, main, region, account, endpoint_url))
    for line in render_checks(checks):
        print(line)
    return exit_status(checks)


def _hub_checks(run, args, settings: InstallationSettings, here, hub, account: str) -> None:
    from mlgov.aws.installation import ScannerInvokeError, run_probe
    from mlgov.domain.preflight import (
        check_bus_policy,
        check_hub_bus,
        check_probe,
        check_scanner_failure,
        check_secret,
        check_spoke_access,
    )

    bus = cache(lambda: hub.bus(args.hub_bus))  # one read for both checks
    run("hub-bus", lambda: check_hub_bus(bus()))
    run("bus-policy", lambda: check_bus_policy(bus(), settings))
    if settings.slack_secrets:
        for key, name in settings.slack_secrets:
            run("slack-secret", lambda key=key, name=name: check_secret(hub.secret(key, name), hub.region))
    else:
        run("slack-secret", lambda: skip("slack-secret", "no config: the secret names come from cdk.json (--config)"))

    def spoke_access():
        try:
            result = hub.spoke_access(args.scanner_function, args.accounts, args.regions)
        except ScannerInvokeError as err:
            return check_scanner_failure(args.scanner_function, str(err), err.missing)
        return check_spoke_access(result, settings.hub_region or hub.region)

    run("spoke-access", spoke_access)
    run("event-probe", lambda: check_probe(run_probe(here, hub, account, PROBE_QUEUE_NAME, args.probe_timeout)))


def _org_policies(args, settings: InstallationSettings, main, region: str, account: str, endpoint_url) -> list[Check]:
    from botocore.exceptions import ClientError

    from mlgov.aws.installation import Installation
    from mlgov.domain.preflight import SCP_NAME_PREFIX, check_target_policies, expected_scps

    name = "org-policies"
    if settings.mode == "single-account":
        return [skip(name, "single-account mode: SCPs are not attached")]
    if args.management_profile:
        management = Installation(_session(args.management_profile, region), region, endpoint_url)
    elif settings.management_account and settings.management_account == account:
        management = Installation(main, region, endpoint_url)
    else:
        return [skip(name, "pass --management-profile (management account credentials) to check the SCPs")]
    if not settings.target_ous:
        return [skip(name, "no target_ous configured (pass --config or --target-ous)")]
    checked_in = sorted(path.stem for path in (Path(args.policies_dir) / "scp").glob(f"{SCP_NAME_PREFIX}*.json"))
    expected = expected_scps(checked_in, management.organization_policy_names("SERVICE_CONTROL_POLICY"))
    checks = []
    for target in settings.target_ous:
        try:
            scps = management.attached_policies(target, "SERVICE_CONTROL_POLICY")
            tag_policies = management.attached_policies(target, "TAG_POLICY")
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            if code not in TARGET_NOT_FOUND:
                raise
            checks.append(check_target_policies(target, [], [], expected, error=code))
            continue
        checks.append(check_target_policies(target, scps, tag_policies, expected))
    return checks


def _cannot_check(name: str, err: Exception) -> Check:
    operation = getattr(err, "operation_name", None)
    needs = f" allowed to call {operation}" if operation else ""
    return Check(
        name,
        False,
        f"cannot check: {err}",
        f"run with credentials{needs} in the right account (--profile, --hub-profile, --management-profile)",
    )


# ---- sessions and settings ----------------------------------------------------------------------------------------


def _session(profile: str | None, region: str | None):
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        return boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as err:
        raise DoctorError(str(err)) from None


def _account_of(installation, flag: str) -> str:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return installation.caller_account()
    except (ClientError, BotoCoreError) as err:
        raise DoctorError(f"no usable AWS credentials for {flag}: {err}") from None


def _with_overrides(settings: InstallationSettings, args) -> InstallationSettings:
    from dataclasses import replace

    changes = {}
    if args.organization_id:
        changes["organization_id"] = args.organization_id
    if args.target_ous:
        changes["target_ous"] = tuple(args.target_ous)
    return replace(settings, **changes) if changes else settings


def load_settings(args) -> InstallationSettings:
    """The mlgov context of --config (default ./cdk.json when present), validated by the checkout."""
    path = default_config_path(args.config)
    if path is None:
        return _with_overrides(InstallationSettings(source="flags"), args)
    try:
        validated = load_mlgov_context(Path(path))
    except DeploymentContextError as err:
        raise DoctorError(str(err)) from None
    return _with_overrides(InstallationSettings.from_context(validated, source=str(path)), args)
