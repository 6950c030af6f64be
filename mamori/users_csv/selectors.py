"""Reads of CSV imports: each account sees its own (a report may quote any row of its file)."""

from __future__ import annotations

from django.db.models import QuerySet

from mamori.accounts.models import Account
from mamori.core.access import NotFound, permission_require
from mamori.users_csv.models import UserImport


def _own(account: Account) -> QuerySet[UserImport]:
    # The file's text can be tens of megabytes: pages and the API never need it.
    return UserImport.objects.filter(contract_id=account.contract_id, account=account).defer(
        "content"
    )


def user_imports_of(account: Account) -> QuerySet[UserImport]:
    """The account's own imports, newest first; ``PermissionDenied`` without ``users.import``."""
    permission_require(account, "users.import")
    return _own(account).order_by("-created_at", "-id")


def user_import_get(account: Account, pk: int | str) -> UserImport:
    """One of the account's own imports: ``NotFound`` otherwise, then ``PermissionDenied``
    without ``users.import``."""
    try:
        user_import = _own(account).get(pk=pk)
    except (UserImport.DoesNotExist, ValueError, TypeError):
        raise NotFound from None
    permission_require(account, "users.import")
    return user_import
