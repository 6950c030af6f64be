from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from mamori.accounts.models import Account
from mamori.contracts.middleware import contract_of
from mamori.core.access import has_permission
from mamori.core.decorators import account_required
from mamori.panel.selectors import basic_information


@require_safe
@account_required
def home(request: HttpRequest) -> HttpResponse:
    """The first tab the account may open: Users/Org, else Logs, else Settings."""
    account: Account = request.user  # type: ignore[assignment]
    first = next(
        (
            page
            for permission, page in (
                ("users.view", "users"),
                ("logs.view", "logs"),
                ("settings.view", "settings"),
            )
            if has_permission(account, permission)
        ),
        "account",
    )
    return HttpResponseRedirect(
        reverse(f"panel:{first}", kwargs={"domain": contract_of(request).domain})
    )


@require_safe
@account_required
def settings_basic(request: HttpRequest) -> HttpResponse:
    account: Account = request.user  # type: ignore[assignment]
    return render(
        request,
        "panel/settings_basic.html",
        {"info": basic_information(account), "tab": "settings"},
    )
