"""Who the SCPs let through: mlgov's own roles by exact ARN (hub roles pinned to the hub account), the deployers of
those roles, and the platform's configured extras — never a name pattern anyone could create a role under."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# The roles the hub's functions run as (hub account only) and the roles they assume in member accounts.
HUB_AUTO_TAGGER_ROLE = "mlgov-hub-auto-tagger"
HUB_JOB_LEDGER_ROLE = "mlgov-hub-job-ledger"
HUB_SCANNER_ROLE = "mlgov-hub-scanner"
HUB_HYPERPOD_ROLE = "mlgov-hub-hyperpod"
HUB_APPROVAL_ROLE = "mlgov-hub-approval"
HUB_SLACK_ROLE = "mlgov-hub-slack-interactions"
SPOKE_ROLE = "mlgov-spoke"
SPOKE_APPROVAL_ROLE = "mlgov-spoke-approval"

HUB_ROLE_PREFIX = "mlgov-hub-"
SPOKE_ROLES = (SPOKE_ROLE, SPOKE_APPROVAL_ROLE)

# Role names only mlgov's deployers may create or change: mlgov's roles, and the execution roles through which
# service-managed StackSets deploy them (CloudFormation's service-linked role creates those; SCPs do not bind it).
PROTECTED_ROLE_NAME_PREFIXES = ("mlgov-", "stacksets-exec-")
STACKSET_EXECUTION_ROLES = "arn:*:iam::*:role/stacksets-exec-*"
DEFAULT_CDK_QUALIFIER = "hnb659fds"

# An exact IAM role ARN: 12-digit account, path and name, no wildcard (a pattern is no identity).
EXACT_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$")
_ACCOUNT = re.compile(r"^[0-9]{12}$")
_QUALIFIER = re.compile(r"^[A-Za-z0-9_-]{1,10}$")


class PrincipalsError(ValueError):
    """A principal is not an exact role ARN, or an account id is malformed; str() is one line."""


def require_exact_roles(arns: Iterable[str], key: str) -> None:
    for index, arn in enumerate(arns):
        if not EXACT_ROLE_ARN.match(arn):
            raise PrincipalsError(
                f"{key}[{index}]: {arn!r} is not an exact role ARN (arn:aws:iam::<12-digit account>:role/<path/name>, "
                "no wildcard): a pattern lets through anyone who creates a role that matches it"
            )


def protected_role_resources() -> list[str]:
    """IAM resource patterns of the protected role names, at the root path and under any path."""
    return [f"arn:*:iam::*:role/{where}{prefix}*" for prefix in PROTECTED_ROLE_NAME_PREFIXES for where in ("", "*/")]


@dataclass(frozen=True)
class PolicyPrincipals:
    """The deployment facts the SCPs need: the hub account and the platform's configured extras.

    `exempt` escape the tag statements and `tag_writers` may also write the protected keys: exact role ARNs in
    named accounts, both (whoever can change those roles in their account is trusted with them). The hub's own
    deployer — CloudFormation running as the CDK execution role of the hub account — may create mlgov's hub roles
    when the hub account is itself governed.
    """

    hub_account: str
    hub_region: str
    exempt: tuple[str, ...] = ()
    tag_writers: tuple[str, ...] = ()
    cdk_qualifier: str = DEFAULT_CDK_QUALIFIER

    def __post_init__(self) -> None:
        if not _ACCOUNT.match(self.hub_account):
            raise PrincipalsError(f"hub_account: must be a 12-digit account id, got {self.hub_account!r}")
        if not _QUALIFIER.match(self.cdk_qualifier):
            raise PrincipalsError(
                f"cdk bootstrap qualifier: must be 1-10 of A-Z a-z 0-9 _ -, got {self.cdk_qualifier!r}"
            )
        require_exact_roles(self.exempt, "exempt_principals")
        require_exact_roles(self.tag_writers, "protected_tag_writers")

    @property
    def mlgov_roles(self) -> list[str]:
        """mlgov's roles: the hub's `mlgov-hub-*` pinned to the hub account (where only the hub's deployer may create
        roles so named), the spoke roles by exact name at the root path in any governed account."""
        return [f"arn:*:iam::{self.hub_account}:role/{HUB_ROLE_PREFIX}*"] + [
            f"arn:*:iam::*:role/{name}" for name in SPOKE_ROLES
        ]

    @property
    def exempt_from_tag_rules(self) -> list[str]:
        return _unique([*self.mlgov_roles, *self.exempt])

    @property
    def protected_tag_writers(self) -> list[str]:
        return _unique([*self.mlgov_roles, *self.tag_writers])

    @property
    def hub_deployer(self) -> str:
        """CloudFormation's role when `cdk deploy MlgovHub` runs (the default synthesizer's execution role)."""
        return (
            f"arn:*:iam::{self.hub_account}:role/"
            f"cdk-{self.cdk_qualifier}-cfn-exec-role-{self.hub_account}-{self.hub_region}"
        )

    @property
    def role_deployers(self) -> list[str]:
        return [STACKSET_EXECUTION_ROLES, self.hub_deployer]


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))
