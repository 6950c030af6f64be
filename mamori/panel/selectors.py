"""Reads for the panel's shell and the Settings screen."""

from __future__ import annotations

import dataclasses

from mamori.accounts.models import Account
from mamori.accounts.selectors import accounts_visible_to
from mamori.audit.selectors import LogFilter, LogRow, log_page, log_rows
from mamori.contracts.models import SUPPORT_OPTION_LIMIT, Contract
from mamori.core.access import has_permission, permission_require
from mamori.directory.selectors import organization_tree


@dataclasses.dataclass(frozen=True)
class BasicInformation:
    contract: Contract
    support_options_in_use: int
    support_option_limit: int
    support_option_holders: list[Account]


def basic_information(account: Account) -> BasicInformation:
    """Settings → basic information: the contract, its contact person and who holds the support
    option. ``PermissionDenied`` without ``settings.view`` (Operators)."""
    permission_require(account, "settings.view")
    holders = list(
        Account.objects.filter(contract_id=account.contract_id, support_option=True)
        .select_related("user")
        .order_by("name")
    )
    return BasicInformation(account.contract, len(holders), SUPPORT_OPTION_LIMIT, holders)


@dataclasses.dataclass(frozen=True)
class HomeSummary:
    """The home page: counts and the latest log entries, each only if the account may see it
    (``None`` otherwise), all within its organizations."""

    users: int | None
    organizations: int | None
    accounts: int | None
    recent: list[LogRow] | None


RECENT_ENTRIES = 8


def home_summary(account: Account) -> HomeSummary:
    """Cheap whatever the contract's size: the user count is the sum of the counts kept on the
    visible organizations (one query), never a COUNT over the users."""
    users = organizations = accounts = None
    recent = None
    if has_permission(account, "users.view"):
        tree = organization_tree(account, "users.view")
        organizations = len(tree)
        users = sum(node.user_count for node in tree)
    if has_permission(account, "accounts.view"):
        accounts = accounts_visible_to(account).count()
    if has_permission(account, "logs.view"):
        recent = log_rows(log_page(account, LogFilter(), size=RECENT_ENTRIES).entries)
    return HomeSummary(users, organizations, accounts, recent)
