"""The Android Enterprise screens of the permission catalogue (``core.access``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from mamori.core.access import catalogue

# Signing up and unbinding: contract-wide, System administrators only (SPEC 3).
ENTERPRISE_MANAGE = "android.manage"
PROFILES_VIEW = "profiles.view"
PROFILES_CHANGE = "profiles.change"
PROFILES_PUBLISH = "profiles.publish"
PROFILES_ASSIGN = "profiles.assign"
TOKENS_VIEW = "enrollment_tokens.view"
TOKENS_CREATE = "enrollment_tokens.create"
TOKENS_REVOKE = "enrollment_tokens.revoke"
DEVICES_VIEW = "devices.view"
DEVICES_CHANGE = "devices.change"  # move to another organization or user, the note
DEVICES_REMOVE = "devices.remove"  # devices.delete (a wipe attempt)
# One permission a command (Android Enterprise 2 of 3): "commands.lock", "commands.wipe"…
COMMAND_ACTIONS = (
    "lock",
    "reset_password",
    "reboot",
    "lost_mode",
    "clear_app_data",
    "relinquish_ownership",
    "wipe",
)


def register() -> None:
    """Called from ``AndroidConfig.ready()``."""
    catalogue.register(
        "android",
        _("Android Enterprise settings"),
        {"manage": _("Sign up and unbind")},
        system_only=("manage",),
    )
    catalogue.register(
        "profiles",
        _("Profiles"),
        {
            "view": _("View"),
            "change": _("Edit"),
            "publish": _("Publish"),
            "assign": _("Assign to organizations"),
        },
        operator=("view",),
    )
    catalogue.register(
        "enrollment_tokens",
        _("Enrollment tokens"),
        {"view": _("View"), "create": _("Create"), "revoke": _("Revoke")},
        # Not for Operators: they view devices and run a few commands (SPEC 3); a token's
        # page shows the QR code any device enrolls with.
    )
    catalogue.register(
        "devices",
        _("Devices"),
        {"view": _("View"), "change": _("Move and annotate"), "remove": _("Remove")},
        operator=("view",),
    )
    catalogue.register(
        "commands",
        _("Device commands"),
        {
            "lock": _("Lock"),
            "reset_password": _("Reset password"),
            "reboot": _("Reboot"),
            "lost_mode": _("Start and stop lost mode"),
            "clear_app_data": _("Clear app data"),
            "relinquish_ownership": _("Relinquish ownership"),
            "wipe": _("Wipe"),
        },
        operator=("lock", "reboot", "lost_mode"),
    )
