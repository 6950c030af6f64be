from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from mamori.accounts.models import Account
from mamori.core.decorators import account_required
from mamori.panel.selectors import basic_information, home_summary


@require_safe
@account_required
def home(request: HttpRequest) -> HttpResponse:
    """The home page: how many users, organizations and accounts, and the latest log entries,
    each as far as the account may see them."""
    account: Account = request.user  # type: ignore[assignment]
    return render(request, "panel/home.html", {"summary": home_summary(account), "tab": "home"})


@require_safe
@account_required
def settings_basic(request: HttpRequest) -> HttpResponse:
    account: Account = request.user  # type: ignore[assignment]
    return render(
        request,
        "panel/settings_basic.html",
        {"info": basic_information(account), "tab": "settings"},
    )
