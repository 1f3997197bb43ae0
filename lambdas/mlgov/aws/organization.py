"""The governed accounts of an organization: every ACTIVE account below the target OUs (or the whole organization
for a root id), walked with ListOrganizationalUnitsForParent / ListAccountsForParent."""

from __future__ import annotations

from collections.abc import Iterable


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


def _active(account: dict) -> bool:
    return account.get("State", account.get("Status")) == "ACTIVE"
