"""Reads of CSV imports: each account sees its own (a report may quote any row of its file)."""

from __future__ import annotations

from django.db.models import QuerySet

from mamori.accounts.models import Account
from mamori.directory.models import UserImport


def user_imports_of(account: Account) -> QuerySet[UserImport]:
    # The file's text can be tens of megabytes: pages and the API never need it.
    return (
        UserImport.objects.filter(contract_id=account.contract_id, account=account)
        .defer("content")
        .order_by("-created_at", "-id")
    )


def user_import_get(account: Account, pk: int) -> UserImport:
    """One of the account's own imports; ``UserImport.DoesNotExist`` otherwise."""
    return user_imports_of(account).get(pk=pk)
