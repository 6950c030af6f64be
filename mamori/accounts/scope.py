"""Where an account may act: its organization scope, and the check every service makes."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from mamori.accounts.models import Account
from mamori.accounts.permissions import has_permission
from mamori.core.actor import Actor
from mamori.directory.models import Organization


class OutOfScope(Organization.DoesNotExist):
    """An object outside the account's organizations: shown to the person as a 404."""


def scope_paths(account: Account) -> list[str] | None:
    """Path prefixes of the subtrees the account manages; None means every organization."""
    cached: list[str] | bool | None = getattr(account, "_scope_paths", False)
    if cached is not False:
        return cached  # type: ignore[return-value]
    privilege = account.privilege
    paths: list[str] | None
    if privilege == Account.Privilege.SYSTEM_ADMIN:
        paths = None
    elif privilege == Account.Privilege.OPERATOR:
        paths = [account.user.organization.path]
    elif privilege == Account.Privilege.CUSTOM_ADMIN and account.scope_all:
        paths = None
    else:
        paths = list(account.scope_organizations.values_list("path", flat=True))
    account._scope_paths = paths  # type: ignore[attr-defined]
    return paths


def in_scope(account: Account, organization: Organization) -> bool:
    if organization.contract_id != account.contract_id:
        return False
    paths = scope_paths(account)
    return paths is None or any(organization.path.startswith(p) for p in paths)


def authorize(actor: Actor, permission: str, *organizations: Organization) -> None:
    """Let the actor's account do ``permission`` on objects of ``organizations``, or refuse.

    Out of scope is a 404 (``OutOfScope``); in scope without the permission is a 403. Callers
    without an account (the operator's CLI, tasks) are trusted.
    """
    account = actor.account
    if account is None:
        return
    for organization in organizations:
        if not in_scope(account, organization):
            raise OutOfScope
    if not has_permission(account, permission):
        raise PermissionDenied(_("Your admin privilege does not allow this."))


def require_system_admin(actor: Actor) -> None:
    if actor.account is not None and actor.account.privilege != Account.Privilege.SYSTEM_ADMIN:
        raise PermissionDenied(_("Only a System administrator can do this."))


def manages_account(me: Account | None, account: Account) -> bool:
    """Whose account an administrator may change: a System administrator anyone's; the others
    only Operators' (the only privilege they can give), so nobody reaches a wider scope."""
    return (
        me is None
        or me.privilege == Account.Privilege.SYSTEM_ADMIN
        or account.privilege == Account.Privilege.OPERATOR
    )


def require_manages_account(actor: Actor, account: Account) -> None:
    if not manages_account(actor.account, account):
        raise PermissionDenied(
            _("Only a System administrator can change an administrator's account.")
        )
