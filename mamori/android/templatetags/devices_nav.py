"""``{% devices_nav_extra as items %}``: the Devices tab's sections other apps registered
(``android.hooks.devices_nav_register``), for the account of the request."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from mamori.android.hooks import devices_nav_items
from mamori.core.access import has_permission

register = template.Library()


@register.simple_tag(takes_context=True)
def devices_nav_extra(context: template.Context) -> list[dict[str, Any]]:
    """``[{"section", "label", "url", "badge"}]`` of the sections the account may open
    (``badge``: a ``hooks.NavBadge`` or None)."""
    request = context.get("request")
    account = getattr(request, "user", None)
    contract = getattr(request, "contract", None)
    if (
        request is None
        or account is None
        or contract is None
        or not hasattr(account, "permissions")
    ):
        return []
    items = []
    for item in devices_nav_items():
        if not has_permission(account, item.permission):
            continue
        items.append(
            {
                "section": item.section,
                "label": item.label,
                "url": reverse(f"panel:{item.url_name}", kwargs={"domain": contract.domain}),
                "badge": item.badge(request) if item.badge else None,
            }
        )
    return items
