"""The accounts of an organization: every ACTIVE account below the target OUs (or the whole organization for a root
id), walked with ListOrganizationalUnitsForParent / ListAccountsForParent, or every ACTIVE one (ListAccounts)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from botocore.exceptions import BotoCoreError, ClientError


class OrganizationUnreadable(RuntimeError):
    """The organization's accounts cannot be listed (no delegated read access, throttled, ...)."""


def organization_accounts(
    organizations,
    caller: str,
    *,
    target_ous: Sequence[str] | None = None,
    management_account: str | None = None,
) -> list[str]:
    """The one account walk of mlgov: ACTIVE accounts below `target_ous` (every OU under them; a root id is the whole
    organization), or of the whole organization without them, sorted; never `management_account` (which no StackSet
    instance reaches) unless it is the caller. An account in no organization is alone: [caller]."""
    excluded = [management_account] if management_account and management_account != caller else []
    try:
        if target_ous:
            return governed_accounts(organizations, target_ous, excluded)
        return [account for account in active_accounts(organizations) if account not in excluded]
    except ClientError as err:
        if err.response.get("Error", {}).get("Code") == "AWSOrganizationsNotInUseException":
            return [caller]
        raise OrganizationUnreadable(f"cannot list the organization's accounts: {err}") from None
    except BotoCoreError as err:
        raise OrganizationUnreadable(f"cannot list the organization's accounts: {err}") from None


def governed_accounts(organizations, target_ous: Iterable[str], exclude: Iterable[str] = ()) -> list[str]:
    """ACTIVE accounts in the target OUs and every OU below them, sorted; `exclude` (the management account, which no
    service-managed StackSet instance reaches) left out. A root id (`r-...`) stands for the whole organization."""
    excluded = set(exclude)
    accounts: set[str] = set()
    pending = list(dict.fromkeys(target_ous))
    seen: set[str] = set()
    while pending:
        parent = pending.pop()
        if parent in seen:
            continue
        seen.add(parent)
        for page in organizations.get_paginator("list_accounts_for_parent").paginate(ParentId=parent):
            accounts.update(a["Id"] for a in page["Accounts"] if _active(a))
        for page in organizations.get_paginator("list_organizational_units_for_parent").paginate(ParentId=parent):
            pending.extend(ou["Id"] for ou in page["OrganizationalUnits"])
    return sorted(accounts - excluded)


def active_accounts(organizations) -> list[str]:
    """Every ACTIVE account of the organization (ListAccounts, all pages), sorted."""
    accounts: list[str] = []
    for page in organizations.get_paginator("list_accounts").paginate():
        accounts.extend(a["Id"] for a in page["Accounts"] if _active(a))
    return sorted(accounts)


def _active(account: dict) -> bool:
    return account.get("State", account.get("Status")) == "ACTIVE"
