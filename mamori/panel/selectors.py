"""Reads for the panel's shell and the Settings screen."""

from __future__ import annotations

import dataclasses

from mamori.accounts.models import Account
from mamori.contracts.models import SUPPORT_OPTION_LIMIT, Contract
from mamori.core.access import permission_require


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
