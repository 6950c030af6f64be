from typing import Any

from django.conf import settings
from django.http import HttpRequest


def panel(request: HttpRequest) -> dict[str, Any]:
    """The contract, and what the account may do, so pages show only the buttons it may use."""
    from mamori.accounts.permissions import is_system_admin, permissions_of

    user = getattr(request, "user", None)
    account = user if user is not None and user.is_authenticated else None
    return {
        "contract": getattr(request, "contract", None),
        "LANGUAGE_CHOICES": settings.LANGUAGES,
        "can": permissions_of(account) if account else frozenset(),
        "is_system_admin": bool(account and is_system_admin(account)),
    }
