"""The alerts' screen of the permission catalogue (``core.access``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mamori.core.access import catalogue

ALERTS_VIEW = "alerts.view"  # the alert list and pages: whoever sees devices (Operators too)
ALERTS_SETTINGS = "alerts.settings"  # Settings → Alerts: System administrators only
ALERTS_CLOSE = "alerts.close"  # close an alert that cannot end by itself: administrators


def register() -> None:
    """Called from ``AlertsConfig.ready()``."""
    catalogue.register(
        "alerts",
        _("Device alerts"),
        {
            "view": _("View"),
            "close": _("Close alerts that cannot clear by themselves"),
            "settings": _("Change the alert settings"),
        },
        operator=("view",),
        system_only=("settings",),
    )
