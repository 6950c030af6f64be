"""Every write about Mamori accounts, one module per slice: ``login``, ``passwords``, ``tokens``,
``administration`` (accounts by administrators), ``preferences`` (an account's own language and timezone), ``schemes``, ``two_factor``, ``invitations``."""

from mamori.accounts.models import Account
from mamori.audit.services import Target
from mamori.contracts.models import Contract


def account_target(account: Account) -> Target:
    """How the operation log names an account: its id and account name."""
    return Target("account", account.pk, account.name)


def contract_target(contract: Contract) -> Target:
    """How the operation log names a contract: its id and usage domain."""
    return Target("contract", contract.pk, contract.domain)
