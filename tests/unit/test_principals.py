"""Who the SCPs let through (mlgov.domain.principals): exact roles pinned where they live, never everyone."""

from __future__ import annotations

import pytest

from mlgov.domain.iam_eval import arn_like
from mlgov.domain.principals import PolicyPrincipals, PrincipalsError

HUB = "222222222222"


def test_hub_roles_are_pinned_to_the_hub_account_and_spoke_roles_named_exactly():
    principals = PolicyPrincipals(HUB, "eu-west-1")
    assert principals.mlgov_roles == [
        f"arn:*:iam::{HUB}:role/mlgov-hub-*",  # only the hub's deployer creates mlgov-* roles there
        "arn:*:iam::*:role/mlgov-spoke",
        "arn:*:iam::*:role/mlgov-spoke-approval",
    ]


@pytest.mark.parametrize(
    ("principal", "exempt"),
    [
        ("arn:aws:iam::444455556666:role/mlgov-spoke", True),
        ("arn:aws:iam::444455556666:role/team/mlgov-spoke", False),
        ("arn:aws:iam::444455556666:role/mlgov-spoke-x", False),
        (f"arn:aws:iam::{HUB}:role/mlgov-hub-approval", True),
        ("arn:aws:iam::444455556666:role/mlgov-hub-approval", False),
        ("arn:aws:iam::444455556666:role/mlgov-x", False),
    ],
)
def test_only_the_exact_roles_match(principal, exempt):
    roles = PolicyPrincipals(HUB, "eu-west-1").exempt_from_tag_rules
    assert any(arn_like(pattern, principal) for pattern in roles) is exempt


def test_the_hub_deployer_is_the_cdk_execution_role_of_the_hub_account_and_region():
    principals = PolicyPrincipals(HUB, "eu-west-1", cdk_qualifier="custom1")
    assert principals.role_deployers == [
        "arn:*:iam::*:role/stacksets-exec-*",
        f"arn:*:iam::{HUB}:role/cdk-custom1-cfn-exec-role-{HUB}-eu-west-1",
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("exempt", ("arn:aws:iam::*:role/*",), r"exempt_principals\[0\]: .* is not an exact role ARN"),
        ("exempt", ("arn:aws:iam::444455556666:role/*",), r"exempt_principals\[0\]: .* is not an exact role ARN"),
        ("exempt", ("arn:aws:iam::*:role/platform-pipeline",), "is not an exact role ARN"),
        (
            "tag_writers",
            ("arn:aws:iam::111122223333:role/ok", "*"),
            r"protected_tag_writers\[1\]: '\*' is not an exact role ARN",
        ),
        ("hub_account", "22222222222", "hub_account: must be a 12-digit account id"),
        ("cdk_qualifier", "bad qualifier!", "cdk bootstrap qualifier"),
    ],
)
def test_a_principal_list_exempting_everyone_or_a_bad_account_is_refused_in_one_line(field, value, message):
    arguments = {"hub_account": HUB, "hub_region": "eu-west-1", field: value}
    with pytest.raises(PrincipalsError, match=message):
        PolicyPrincipals(**arguments)
