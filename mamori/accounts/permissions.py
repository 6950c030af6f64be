"""What each admin privilege grants, over the catalogue the apps register (``core.access``).

- System administrator: every permission, every organization.
- Department administrator: every permission except the contract-wide ones, in its organizations.
- Operator: the permissions the apps mark for operators, in its own organization.
- Custom administrator: its scheme's permissions (never contract-wide ones), in its scope.

The accounts app registers its own screens here: Mamori accounts and Settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from mamori.core.access import catalogue

if TYPE_CHECKING:
    from mamori.accounts.models import Account


def register() -> None:
    """The accounts app's screens; called from ``AccountsConfig.ready()``."""
    catalogue.register(
        "accounts",
        _("Mamori accounts"),
        {
            "view": _("View"),
            "add": _("Add"),
            "change": _("Edit"),
            "delete": _("Delete"),
            "reset_two_factor": _("Reset two-step verification"),
        },
        system_only=("reset_two_factor",),
    )
    catalogue.register(
        "settings",
        _("Settings"),
        {
            "view": _("View basic information"),
            "change": _("Manage settings and permission schemes"),
        },
        system_only=("change",),
    )


def permissions_of(account: Account) -> frozenset[str]:
    """The permission codes ``account``'s privilege grants (see the module docstring)."""
    privilege = account.privilege
    if privilege == "system_admin":
        return catalogue.codes()
    if privilege == "department_admin":
        return catalogue.grantable()
    if privilege == "operator":
        return catalogue.for_operators()
    if privilege == "custom_admin" and account.scheme is not None:
        return frozenset(account.scheme.permissions) & catalogue.grantable()
    return frozenset()
