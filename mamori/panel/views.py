from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
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
    return render(
        request,
        "panel/home.html",
        {
            "summary": home_summary(account),
            "devices": _devices_summary(request, account),
            "tab": "home",
        },
    )


def _devices_summary(request: HttpRequest, account: Account) -> dict[str, Any] | None:
    """The Devices card: whether the contract is bound, and the device list's counts per state
    and compliance (each a few bounded queries) when the account may view devices; the open
    important alerts (counted once for the page and its navigation)."""
    from mamori.alerts.parts import important_open
    from mamori.android.inventory.selectors import COUNT_LIMIT, DeviceQuery, device_counts
    from mamori.android.selectors import enterprise_bound
    from mamori.core.access import has_permission

    if not enterprise_bound(account):
        return None
    if not has_permission(account, "devices.view"):
        return {"counts": [], "limit": COUNT_LIMIT}
    base = reverse("panel:devices", kwargs={"domain": account.contract.domain})
    counts = [
        (c, f"{base}?{c.key}={c.value}") for c in device_counts(account, DeviceQuery()) if c.count
    ]
    return {
        "counts": counts,
        "limit": COUNT_LIMIT,
        "important": important_open(request),
        "alerts_url": reverse("panel:alerts", kwargs={"domain": account.contract.domain}),
    }


@require_safe
@account_required
def settings_basic(request: HttpRequest) -> HttpResponse:
    account: Account = request.user  # type: ignore[assignment]
    return render(
        request,
        "panel/settings_basic.html",
        {"info": basic_information(account), "tab": "settings"},
    )
