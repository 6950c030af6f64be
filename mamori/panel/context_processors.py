from typing import Any

from django.conf import settings
from django.http import HttpRequest

from mamori.android.hooks import devices_tab_badge
from mamori.support.selectors import has_support_option


def panel(request: HttpRequest) -> dict[str, Any]:
    """The contract, and what the account may do, so pages show only the buttons it may use."""
    user = getattr(request, "user", None)
    account = user if user is not None and user.is_authenticated else None
    return {
        "contract": getattr(request, "contract", None),
        "LANGUAGE_CHOICES": settings.LANGUAGES,
        "can": account.permissions if account else frozenset(),
        "has_support_option": bool(account and has_support_option(account)),
        # Manages every organization of the contract (not limited to some): what applies to the
        # whole contract, such as changing or publishing a profile, is offered only then.
        # A callable: read (one query for a scoped account) only by the pages that ask.
        "contract_wide": lambda: bool(account and account.scope_paths is None),
        # The top-level Devices tab's count (the open important alerts: one count a page, kept on
        # the request for the Devices sub-tab). A callable: read only by pages with the navigation.
        "devices_tab_badge": lambda: devices_tab_badge(request) if account else None,
    }
