"""The catalogue of permissions (screen × action) and what each admin privilege grants.

Selectors and services ask ``has_permission`` and ``organization_scope``; pages and the API use the
same two, so a rule is never written twice.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from mamori.accounts.models import Account

# screen -> (label, {action: label})
CATALOGUE: dict[str, tuple[Promise, dict[str, Promise]]] = {
    "users": (
        _("Users"),
        {
            "view": _("View"),
            "add": _("Add"),
            "change": _("Edit"),
            "delete": _("Delete"),
            "import": _("Import CSV"),
            "export": _("Export CSV"),
        },
    ),
    "organizations": (
        _("Organizations"),
        {"view": _("View"), "add": _("Add"), "change": _("Edit"), "delete": _("Delete")},
    ),
    "accounts": (
        _("Mamori accounts"),
        {"view": _("View"), "add": _("Add"), "change": _("Edit"), "delete": _("Delete")},
    ),
    "logs": (_("Operation log"), {"view": _("View"), "export": _("Export CSV")}),
    "devices": (
        _("Devices"),
        {"view": _("View"), "command": _("Run operator commands"), "manage": _("Manage")},
    ),
}

ALL_PERMISSIONS: frozenset[str] = frozenset(
    f"{screen}.{action}" for screen, (_label, actions) in CATALOGUE.items() for action in actions
)
OPERATOR_PERMISSIONS = frozenset(
    {"users.view", "organizations.view", "devices.view", "devices.command"}
)
# Only a System administrator manages contract settings, custom schemes, the support option and
# other System administrators; those are checked by privilege, not by permission.


def permission_choices() -> list[tuple[str, str]]:
    return [
        (f"{screen}.{action}", f"{label} / {action_label}")
        for screen, (label, actions) in CATALOGUE.items()
        for action, action_label in actions.items()
    ]


def permissions_of(account: Account) -> frozenset[str]:
    privilege = account.privilege
    if privilege in (Account.Privilege.SYSTEM_ADMIN, Account.Privilege.DEPARTMENT_ADMIN):
        return ALL_PERMISSIONS
    if privilege == Account.Privilege.OPERATOR:
        return OPERATOR_PERMISSIONS
    if privilege == Account.Privilege.CUSTOM_ADMIN and account.scheme is not None:
        return frozenset(account.scheme.permissions) & ALL_PERMISSIONS
    return frozenset()


def has_permission(account: Account, permission: str) -> bool:
    assert permission in ALL_PERMISSIONS, permission
    return permission in permissions_of(account)


def require_permission(account: Account, permission: str) -> None:
    """For views and endpoints: a 403 with a clear message when the privilege lacks it."""
    if not has_permission(account, permission):
        raise PermissionDenied(_("Your admin privilege does not allow this."))


def is_system_admin(account: Account) -> bool:
    return account.privilege == Account.Privilege.SYSTEM_ADMIN
