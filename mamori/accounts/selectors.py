"""Reads about accounts, always within the reader's contract and organizations."""

from __future__ import annotations

import dataclasses

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from mamori.accounts.models import Account, ApiToken, PermissionScheme
from mamori.contracts.models import Contract
from mamori.core.access import (
    NotFound,
    object_get,
    permission_code,
    permission_require,
    restrict,
)
from mamori.directory.models import User


def accounts_visible_to(account: Account, action: str = "view") -> QuerySet[Account]:
    """Accounts of the contract whose users are in the account's organization scope;
    ``PermissionDenied`` without ``accounts.<action>``."""
    return restrict(
        Account.objects.select_related("user"),
        account,
        permission_code("accounts", action),
        path_field="user__organization__path",
    )


def account_get(account: Account, pk: int | str, action: str = "view") -> Account:
    """One account: ``NotFound`` outside the reader's organizations, ``PermissionDenied`` in scope
    without ``accounts.<action>``."""
    return object_get(
        Account.objects.select_related("user__organization", "scheme"),
        account,
        pk,
        permission_code("accounts", action),
        path_field="user__organization__path",
    )


def user_account_get(
    account: Account, user_id: int | str, action: str
) -> tuple[User, Account | None]:
    """A user in the reader's organizations with its Mamori account (``None`` when it has none):
    ``NotFound`` outside them, ``PermissionDenied`` without ``accounts.<action>``. The action
    ``"save"`` is ``"change"`` for a user with an account and ``"add"`` for one without."""
    users = User.objects.select_related("organization", "account__scheme")
    user = object_get(users, account, user_id, None, path_field="organization__path")
    existing: Account | None = getattr(user, "account", None)
    if action == "save":
        action = "change" if existing is not None else "add"
    permission_require(account, permission_code("accounts", action))
    return user, existing


def schemes_assignable_by(account: Account) -> QuerySet[PermissionScheme]:
    """The schemes the account form offers: only a System administrator gives a privilege other
    than Operator (``administration.grant_check``), so only it is offered the contract's schemes."""
    if not account.is_system_admin:
        return PermissionScheme.objects.none()
    return PermissionScheme.objects.filter(contract_id=account.contract_id).order_by("name")


def scheme_for_account_get(account: Account, pk: int | str) -> PermissionScheme:
    """A scheme of the reader's contract named in an account's data; ``NotFound`` otherwise
    (whether the reader may give it is the account services' rule)."""
    return object_get(PermissionScheme.objects.all(), account, pk, None, path_field=None)


@dataclasses.dataclass(frozen=True)
class ContractSecurity:
    """Settings → Security: the contract, and how many of its accounts use two-step verification."""

    contract: Contract
    accounts: int
    enabled: int


def contract_security_of(account: Account) -> ContractSecurity:
    """The account's contract's security settings; ``PermissionDenied`` without
    ``settings.change`` (System administrators)."""
    counts = accounts_visible_to(account, "settings.change").aggregate(
        total=Count("id"), enabled=Count("id", filter=Q(totp_confirmed_at__isnull=False))
    )
    return ContractSecurity(account.contract, counts["total"], counts["enabled"])


def api_tokens_of(account: Account) -> QuerySet[ApiToken]:
    """An account's own tokens: nobody else's, not even another administrator's."""
    return ApiToken.objects.filter(account=account)


def api_token_get(account: Account, pk: int | str) -> ApiToken:
    """One of the account's own tokens; ``NotFound`` otherwise."""
    try:
        return api_tokens_of(account).select_related("account__contract").get(pk=pk)
    except (ApiToken.DoesNotExist, ValueError, TypeError):
        raise NotFound from None


def managed_account_get(account: Account, user_id: int | str) -> Account:
    """The Mamori account of a user in the reader's organizations that the reader manages
    (``Account.manages``: a System administrator anyone's, the others Operators'), for looking
    after its API tokens. ``NotFound`` outside them or for a user without an account;
    ``PermissionDenied`` without ``accounts.change`` or for an account it does not manage."""
    _user, found = user_account_get(account, user_id, "change")
    if found is None:
        raise NotFound
    if not account.manages(found):
        raise PermissionDenied(
            _("Only a System administrator can change an administrator's account.")
        )
    found.contract = account.contract  # the same contract: no second read of it
    return found


def account_tokens_of(account: Account, owner: Account) -> QuerySet[ApiToken]:
    """The API tokens of ``owner``, an account from ``managed_account_get(account, …)``: newest
    first, revoked and expired ones included (with when each was last used)."""
    if owner.contract_id != account.contract_id:
        raise NotFound
    return ApiToken.objects.filter(account=owner)


def account_token_get(account: Account, owner: Account, pk: int | str) -> ApiToken:
    """One of ``owner``'s tokens (``owner`` from ``managed_account_get``); ``NotFound``
    otherwise."""
    try:
        token = account_tokens_of(account, owner).get(pk=pk)
    except (ApiToken.DoesNotExist, ValueError, TypeError):
        raise NotFound from None
    token.account = owner
    return token


def schemes_visible_to(account: Account) -> QuerySet[PermissionScheme]:
    """The contract's custom permission schemes (Settings, contract-wide): reading and changing
    them takes ``settings.change``, which only System administrators have."""
    schemes = restrict(PermissionScheme.objects.all(), account, "settings.change", path_field=None)
    return schemes.order_by("name")


def scheme_get(account: Account, pk: int | str) -> PermissionScheme:
    """One scheme of the contract: ``NotFound`` otherwise, ``PermissionDenied`` without
    ``settings.change``."""
    return object_get(
        PermissionScheme.objects.all(), account, pk, "settings.change", path_field=None
    )
