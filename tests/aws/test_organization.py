"""governed_accounts on moto's Organizations: the target OUs and every OU below them, ACTIVE accounts only."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from mlgov.aws.organization import governed_accounts


@pytest.fixture
def organization():
    """root ── workloads ── ml ── (deep)      management account in the root, one account per OU, one in the root."""
    with mock_aws():
        client = boto3.client("organizations", region_name="us-east-1")
        management = client.create_organization(FeatureSet="ALL")["Organization"]["MasterAccountId"]
        root = client.list_roots()["Roots"][0]["Id"]
        workloads = client.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
        ml = client.create_organizational_unit(ParentId=workloads, Name="ml")["OrganizationalUnit"]["Id"]
        deep = client.create_organizational_unit(ParentId=ml, Name="deep")["OrganizationalUnit"]["Id"]
        accounts = {}
        for name, parent in (("in-workloads", workloads), ("in-ml", ml), ("in-deep", deep), ("in-root", root)):
            account = client.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"][
                "AccountId"
            ]
            if parent != root:
                client.move_account(AccountId=account, SourceParentId=root, DestinationParentId=parent)
            accounts[name] = account
        yield client, {"root": root, "workloads": workloads, "ml": ml, "deep": deep}, accounts, management


def test_an_ou_target_covers_the_ous_below_it_and_nothing_beside_it(organization):
    client, ous, accounts, _ = organization

    assert governed_accounts(client, [ous["ml"]]) == sorted([accounts["in-ml"], accounts["in-deep"]])
    assert governed_accounts(client, [ous["workloads"], ous["deep"]]) == sorted(
        [accounts["in-workloads"], accounts["in-ml"], accounts["in-deep"]]
    )


def test_a_root_target_is_the_whole_organization_minus_the_excluded_management_account(organization):
    client, ous, accounts, management = organization

    assert governed_accounts(client, [ous["root"]], exclude=[management]) == sorted(accounts.values())
    assert management in governed_accounts(client, [ous["root"]])


def test_closed_accounts_are_left_out(organization):
    client, ous, accounts, _ = organization
    client.close_account(AccountId=accounts["in-ml"])

    assert accounts["in-ml"] not in governed_accounts(client, [ous["workloads"]])
