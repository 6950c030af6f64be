from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.http import HttpRequest

from mamori.accounts.models import Account


class ContractAccountBackend(BaseBackend):
    """Loads the session's account with its contract and user; logins go through services."""

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> None:
        # Passwords are checked by mamori.accounts.services.login_attempt, which knows the
        # contract and throttles before hashing; Django's authenticate() is never the way in.
        return None

    def get_user(self, user_id: Any) -> Account | None:
        account = Account.objects.select_related("contract", "user").filter(pk=user_id).first()
        if account is None or not account.is_active:
            return None
        return account
