"""Reads the deployment config (cdk.json context "mlgov") for CLI commands run in an mlgov checkout, validated by
the checkout's `python -m stacks.config`, and the SCP principals it implies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from mlgov.domain.principals import DEFAULT_CDK_QUALIFIER, PolicyPrincipals, PrincipalsError

CONTEXT_KEY = "mlgov"
BOOTSTRAP_QUALIFIER_KEY = "@aws-cdk/core:bootstrapQualifier"


class DeploymentContextError(ValueError):
    """cdk.json is missing, unreadable or invalid; str() is one line."""


def default_config_path(path: Path | None) -> Path | None:
    """`path`, else ./cdk.json when there is one."""
    return path or (Path("cdk.json") if Path("cdk.json").is_file() else None)


def read_cdk_context(path: Path) -> dict:
    """The whole "context" object of cdk.json at `path`."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise DeploymentContextError(f"cannot read {path}: {err}") from None
    context = document.get("context") if isinstance(document, dict) else None
    return context if isinstance(context, dict) else {}


def load_mlgov_context(path: Path) -> dict:
    """The validated "mlgov" context of cdk.json at `path` (as JSON data)."""
    context = read_cdk_context(path).get(CONTEXT_KEY)
    if context is None:
        raise DeploymentContextError(
            f"{path} has no context '{CONTEXT_KEY}' (pass --config with the mlgov checkout's cdk.json)"
        )
    return _validate(Path(path), context)


def _validate(path: Path, context: object) -> dict:
    """An mlgov checkout validates it (`python -m stacks.config`, its own process: this package never imports
    `stacks`); without one, the context is used as it is."""
    checkout = validating_checkout(path)
    if checkout is None:
        print(f"mlgov: note: {path} read without validation (no mlgov checkout with stacks/config.py)", file=sys.stderr)
        if not isinstance(context, dict):
            raise DeploymentContextError(f"{path}: context '{CONTEXT_KEY}' must be an object") from None
        return context
    done = subprocess.run(
        [sys.executable, "-m", "stacks.config", str(path.resolve())],
        cwd=checkout,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(checkout), os.environ.get("PYTHONPATH")]))},
        capture_output=True,
        text=True,
        check=False,
    )
    lines = (done.stderr or "").strip().splitlines()
    if done.returncode == 2:  # stacks.config's verdict on the config: one line naming the key
        raise DeploymentContextError(lines[-1] if lines else f"{path}: invalid mlgov config") from None
    try:
        if done.returncode == 0:
            return json.loads(done.stdout)
    except ValueError:
        pass
    # The validator itself could not run (a checkout without its requirements installed): say so, read as it is.
    reason = lines[-1] if lines else f"exit {done.returncode}"
    print(f"mlgov: note: {path} read without validation (python -m stacks.config failed: {reason})", file=sys.stderr)
    if not isinstance(context, dict):
        raise DeploymentContextError(f"{path}: context '{CONTEXT_KEY}' must be an object") from None
    return context


def validating_checkout(path: Path) -> Path | None:
    """The mlgov checkout whose `stacks.config` validates `path`: the one holding it, else the one this package runs
    from (an editable install), else None."""
    from mlgov.repo_files import REPO_ROOT

    for candidate in (path.resolve().parent, REPO_ROOT):
        if (candidate / "stacks" / "config.py").is_file():
            return candidate
    return None


def policy_principals(config: Mapping, cdk_qualifier: str | None = None) -> PolicyPrincipals:
    """The SCP principals of a deployment config (validated mapping or model dump)."""
    try:
        return PolicyPrincipals(
            hub_account=str(config["hub_account"]),
            hub_region=str(config["hub_region"]),
            exempt=tuple(config.get("exempt_principals") or ()),
            tag_writers=tuple(config.get("protected_tag_writers") or ()),
            cdk_qualifier=cdk_qualifier or DEFAULT_CDK_QUALIFIER,
        )
    except KeyError as err:
        raise DeploymentContextError(f"deployment config: {err.args[0]}: field required") from None
    except PrincipalsError as err:
        raise DeploymentContextError(f"deployment config: {err}") from None


def principals_from_cdk_json(path: Path) -> PolicyPrincipals:
    config = load_mlgov_context(path)
    return policy_principals(config, read_cdk_context(path).get(BOOTSTRAP_QUALIFIER_KEY))
