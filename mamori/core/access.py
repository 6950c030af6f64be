"""Who may do what, where: the permission catalogue the apps fill in, and the one read rule.

A permission is ``"<screen>.<action>"`` (``"users.view"``, ``"logs.export"``). Each app registers
its screens in its ``AppConfig.ready()`` with ``catalogue.register(...)``; the accounts app maps
admin privileges and custom schemes onto the catalogue (``Account.permissions``). Nothing here knows
what an account or an organization is beyond the two protocols below, so every app can use it.

The rule every read and write follows (NetBox's ``restrict(user, action)`` in spirit):

- another contract's object, or one outside the account's organizations, is a 404
  (``NotFound``), never a 403 that would confirm it exists;
- in scope without the permission is a 403 (``PermissionDenied``).

Selectors apply it with ``restrict`` (lists) and ``object_get`` (one object); services with
``authorize``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from functools import reduce
from operator import or_
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ImproperlyConfigured, ObjectDoesNotExist, PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404
from django.utils.functional import Promise
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from mamori.core.actor import Actor


class Principal(Protocol):
    """An account as access checks see it (``mamori.accounts.models.Account`` is one)."""

    pk: Any
    contract_id: int
    name: str  # the account name
    privilege: str
    language: str
    timezone: str  # an IANA zone

    @property
    def display_name(self) -> str:
        """The person's name."""
        ...

    @property
    def permissions(self) -> frozenset[str]:
        """The permission codes its privilege (or custom scheme) grants."""
        ...

    @property
    def scope_paths(self) -> list[str] | None:
        """Path prefixes of the organization subtrees it manages; ``None`` means all of them."""
        ...

    def manages(self, other: Any) -> bool:
        """Whether it may change ``other``'s account (and that person's record)."""
        ...


class Placed(Protocol):
    """Something that sits in a contract's organization tree (an organization)."""

    contract_id: int
    path: str


class NotFound(Http404):
    """Not there, or not the account's to see (another contract, outside its organizations).

    A subclass of ``Http404``: pages show the 404 page and the API answers ``not_found``.
    """


class OutOfScope(NotFound):
    """An object of the contract, but outside the organizations the account manages."""


@dataclasses.dataclass(frozen=True)
class Permission:
    """One action on one screen, as the catalogue lists it."""

    code: str  # "users.view"
    screen: str
    action: str
    label: Promise | str
    # The Operator privilege has it.
    operator: bool = False
    # Contract-wide: only System administrators have it; not for Department administrators,
    # and not grantable in a custom permission scheme (SPEC 3: System administrators alone
    # manage contract settings).
    system_only: bool = False


@dataclasses.dataclass(frozen=True)
class Screen:
    """A screen of the panel and the actions on it, in the order the scheme form shows them."""

    code: str
    label: Promise | str
    permissions: tuple[Permission, ...]


class PermissionCatalogue:
    """The registry of screens and actions; filled by the apps, read by everyone."""

    def __init__(self) -> None:
        self._screens: dict[str, Screen] = {}
        self._codes: dict[str, Permission] = {}

    def register(
        self,
        screen: str,
        label: Promise | str,
        actions: Mapping[str, Promise | str],
        *,
        operator: Iterable[str] = (),
        system_only: Iterable[str] = (),
    ) -> None:
        """Add a screen with its actions (``{"view": _("View"), …}``).

        ``operator`` names the actions the Operator privilege has; ``system_only`` the ones only
        System administrators have. Raises ``ImproperlyConfigured`` when the screen is registered
        twice or a named action is not among ``actions``.
        """
        operator, system_only = frozenset(operator), frozenset(system_only)
        if screen in self._screens:
            raise ImproperlyConfigured(f"Permission screen {screen!r} is registered twice.")
        unknown = (operator | system_only) - set(actions)
        if unknown:
            raise ImproperlyConfigured(f"Screen {screen!r} names unknown actions {unknown}.")
        permissions = tuple(
            Permission(
                code=f"{screen}.{action}",
                screen=screen,
                action=action,
                label=action_label,
                operator=action in operator,
                system_only=action in system_only,
            )
            for action, action_label in actions.items()
        )
        self._screens[screen] = Screen(screen, label, permissions)
        self._codes.update((p.code, p) for p in permissions)

    def __contains__(self, code: object) -> bool:
        return code in self._codes

    def screens(self) -> list[Screen]:
        """Every screen, in registration order."""
        return list(self._screens.values())

    def codes(self) -> frozenset[str]:
        """Every permission code."""
        return frozenset(self._codes)

    def grantable(self) -> frozenset[str]:
        """The codes a custom scheme (and a Department administrator) can have."""
        return frozenset(c for c, p in self._codes.items() if not p.system_only)

    def for_operators(self) -> frozenset[str]:
        """The codes of the Operator privilege."""
        return frozenset(c for c, p in self._codes.items() if p.operator)

    def choices(self) -> list[tuple[str, str]]:
        """``(code, "Screen / Action")`` for every grantable permission, for forms."""
        return [
            (p.code, f"{screen.label} / {p.label}")
            for screen in self._screens.values()
            for p in screen.permissions
            if not p.system_only
        ]


catalogue = PermissionCatalogue()


def permission_code(screen: str, action: str) -> str:
    """``"users.view"`` from ``("users", "view")``. An action that is already a full code
    (``"users.add"``: another screen's action, such as the organization a user is added to) is
    returned as it is."""
    return action if "." in action else f"{screen}.{action}"


def has_permission(principal: Principal, code: str) -> bool:
    """Whether the account's privilege grants ``code``; an unregistered code is a programming
    error (``ValueError``), not a silent no."""
    if code not in catalogue:
        raise ValueError(f"Unknown permission {code!r}")
    return code in principal.permissions


def permission_require(principal: Principal, code: str) -> None:
    """Raise ``PermissionDenied`` (403, with a message a person can read) without ``code``."""
    if not has_permission(principal, code):
        raise PermissionDenied(_("Your admin privilege does not allow this."))


def in_scope(principal: Principal, organization: Placed) -> bool:
    """Whether ``organization`` is in the account's contract and managed organizations."""
    if organization.contract_id != principal.contract_id:
        return False
    paths = principal.scope_paths
    return paths is None or any(organization.path.startswith(p) for p in paths)


def scope_q(principal: Principal, path_field: str) -> Q:
    """The filter for rows whose organization (``path_field``, an organization path such as
    ``"organization__path"``) lies in the account's managed subtrees."""
    paths = principal.scope_paths
    if paths is None:
        return Q()
    if not paths:
        return Q(pk__in=[])
    return reduce(or_, (Q(**{f"{path_field}__startswith": p}) for p in paths))


def restrict[M: Model](
    queryset: QuerySet[M],
    principal: Principal,
    code: str,
    *,
    path_field: str | None,
    contract_field: str = "contract_id",
) -> QuerySet[M]:
    """The rows of ``queryset`` the account may see for ``code``: its contract's, in its
    organizations (``path_field``: ``None`` for contract-wide things). Raises
    ``PermissionDenied`` when the account lacks ``code`` at all: a list is refused, not empty."""
    permission_require(principal, code)
    rows = queryset.filter(**{contract_field: principal.contract_id})
    return rows if path_field is None else rows.filter(scope_q(principal, path_field))


def object_get[M: Model](
    queryset: QuerySet[M],
    principal: Principal,
    pk: int | str,
    code: str | None,
    *,
    path_field: str | None,
    contract_field: str = "contract_id",
) -> M:
    """One object by primary key: ``NotFound`` (404) outside the account's contract or
    organizations, then ``PermissionDenied`` (403) in scope without ``code``. ``code=None``
    leaves the permission to the caller, which decides it from the object found."""
    rows = queryset.filter(**{contract_field: principal.contract_id})
    if path_field is not None:
        rows = rows.filter(scope_q(principal, path_field))
    try:
        found = rows.get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise NotFound from None
    if code is not None:
        permission_require(principal, code)
    return found


def authorize(actor: Actor, code: str, *organizations: Placed) -> None:
    """Let the actor's account do ``code`` on objects of ``organizations``, or refuse.

    Out of scope is ``OutOfScope`` (404); in scope without the permission is ``PermissionDenied``
    (403). Callers without an account (the operator's CLI, the system) are trusted.
    """
    account = actor.account
    if account is None:
        return
    for organization in organizations:
        if not in_scope(account, organization):
            raise OutOfScope
    permission_require(account, code)


def require_manages(actor: Actor, other: Any) -> None:
    """Refuse (403) when the actor's account may not change ``other``'s account."""
    if actor.account is not None and not actor.account.manages(other):
        raise PermissionDenied(
            _("Only a System administrator can change an administrator's account.")
        )
