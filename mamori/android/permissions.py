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
        operator=("view",),
    )
