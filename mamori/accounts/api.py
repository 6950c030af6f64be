"""Mamori accounts in the API: the token's own account, a user's account, permission schemes.

Every endpoint calls the same selectors and services as the pages.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from mamori.accounts.models import ACCOUNT_FIELDS, Account, PermissionScheme
from mamori.accounts.selectors import (
    scheme_for_account_get,
    scheme_get,
    schemes_visible_to,
    user_account_get,
)
from mamori.accounts.services import administration
from mamori.accounts.services import schemes as schemes_services
from mamori.accounts.services.administration import AccountData
from mamori.core.access import NotFound
from mamori.core.actor import Actor, ActorKind
from mamori.core.fields import schema_of, values_of
from mamori.directory.selectors import (
    organization_get,
)

router = Router(tags=["Mamori accounts"])


def _me(request: HttpRequest) -> Account:
    return request.auth  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request, kind=ActorKind.API)


class ContractOut(Schema):
    domain: str
    company_name: str


class AccountOut(Schema):
    id: int
    name: str
    user_name: str
    privilege: str
    support_option: bool
    language: str
    timezone: str

    @classmethod
    def of(cls, account: Account) -> AccountOut:
        return cls(
            id=account.pk,
            name=account.name,
            user_name=account.user.name,
            privilege=account.privilege,
            support_option=account.support_option,
            language=account.language,
            timezone=account.timezone,
        )


class MeOut(Schema):
    account: AccountOut
    contract: ContractOut


@router.get("/me", response=MeOut, tags=["accounts"], summary="The token's account")
def me(request: HttpRequest) -> MeOut:
    account = _me(request)
    return MeOut(
        account=AccountOut.of(account),
        contract=ContractOut(
            domain=account.contract.domain, company_name=account.contract.company_name
        ),
    )


# Mamori accounts ----------------------------------------------------------------------------


# The account's fields, as ACCOUNT_FIELDS declares them.
AccountFields = schema_of(Account, ACCOUNT_FIELDS, name="AccountFields")


class AccountDetailOut(AccountFields):  # type: ignore[misc,valid-type]
    id: int
    user_id: int
    scope_organization_ids: list[int]
    scheme_id: int | None
    enabled: bool
    two_factor_enabled: bool

    @classmethod
    def of(cls, account: Account) -> AccountDetailOut:
        return cls(
            id=account.pk,
            user_id=account.user_id,
            scope_organization_ids=sorted(o.pk for o in account.scope_organizations.all()),
            scheme_id=account.scheme_id,
            enabled=account.is_active,
            two_factor_enabled=account.two_factor_enabled,
            **values_of(account, ACCOUNT_FIELDS),
        )


class AccountIn(AccountFields):  # type: ignore[misc,valid-type]
    """``privilege`` is system_admin, department_admin, operator or custom_admin."""

    password: str = Field("", description="required when the account is created")
    confirmation: str = ""
    scope_organization_ids: list[int] = []
    scheme_id: int | None = None


@router.get("/users/{user_id}/account", response=AccountDetailOut)
def account_detail(request: HttpRequest, user_id: int) -> AccountDetailOut:
    me = _me(request)
    _user, account = user_account_get(me, user_id, "view")
    if account is None:
        raise NotFound
    return AccountDetailOut.of(account)


@router.put("/users/{user_id}/account", response={200: AccountDetailOut, 201: AccountDetailOut})
def account_save(
    request: HttpRequest, user_id: int, payload: AccountIn
) -> Status[AccountDetailOut]:
    """Create the user's Mamori account (201) or change it (200)."""
    me = _me(request)
    user, account = user_account_get(me, user_id, "save")
    action = "accounts.change" if account else "accounts.add"
    organizations = [organization_get(me, pk, action) for pk in payload.scope_organization_ids]
    scheme: PermissionScheme | None = (
        scheme_for_account_get(me, payload.scheme_id) if payload.scheme_id else None
    )
    data = AccountData(
        **{f: getattr(payload, f) for f in ACCOUNT_FIELDS},
        scope_organizations=tuple(organizations),
        scheme=scheme,
    )
    if account is None:
        account = administration.account_create(
            actor=_actor(request),
            user=user,
            data=data,
            password=payload.password,
            confirmation=payload.confirmation,
        )
        return Status(201, AccountDetailOut.of(account))
    administration.account_update(
        actor=_actor(request),
        account=account,
        data=data,
        password=payload.password,
        confirmation=payload.confirmation,
    )
    account.refresh_from_db()
    return Status(200, AccountDetailOut.of(account))


def _existing_account(request: HttpRequest, user_id: int, action: str) -> Account:
    _user, account = user_account_get(_me(request), user_id, action)
    if account is None:
        raise NotFound
    return account


@router.post("/users/{user_id}/account/disable", response=AccountDetailOut)
def account_disable(request: HttpRequest, user_id: int) -> AccountDetailOut:
    account = _existing_account(request, user_id, "change")
    administration.account_disable(actor=_actor(request), account=account)
    return AccountDetailOut.of(account)


@router.post("/users/{user_id}/account/enable", response=AccountDetailOut)
def account_enable(request: HttpRequest, user_id: int) -> AccountDetailOut:
    account = _existing_account(request, user_id, "change")
    administration.account_enable(actor=_actor(request), account=account)
    return AccountDetailOut.of(account)


@router.delete("/users/{user_id}/account", response={204: None})
def account_delete(request: HttpRequest, user_id: int) -> Status[None]:
    administration.account_delete(
        actor=_actor(request), account=_existing_account(request, user_id, "delete")
    )
    return Status(204, None)


# Custom permission schemes ------------------------------------------------------------------


class SchemeIO(Schema):
    name: str
    permissions: list[str]


class SchemeOut(SchemeIO):
    id: int


def _scheme_out(scheme: PermissionScheme) -> SchemeOut:
    return SchemeOut(id=scheme.pk, name=scheme.name, permissions=list(scheme.permissions))


@router.get("/schemes", response=list[SchemeOut])
def schemes(request: HttpRequest) -> list[SchemeOut]:
    return [_scheme_out(s) for s in schemes_visible_to(_me(request))]


@router.post("/schemes", response={201: SchemeOut})
def scheme_create(request: HttpRequest, payload: SchemeIO) -> Status[SchemeOut]:
    me = _me(request)
    schemes_visible_to(me)  # refused here without the permission, like the page
    scheme = schemes_services.scheme_create(
        actor=_actor(request),
        contract=me.contract,
        name=payload.name,
        permissions=payload.permissions,
    )
    return Status(201, _scheme_out(scheme))


@router.get("/schemes/{scheme_id}", response=SchemeOut)
def scheme_detail(request: HttpRequest, scheme_id: int) -> SchemeOut:
    return _scheme_out(scheme_get(_me(request), scheme_id))


@router.put("/schemes/{scheme_id}", response=SchemeOut)
def scheme_update(request: HttpRequest, scheme_id: int, payload: SchemeIO) -> SchemeOut:
    scheme = scheme_get(_me(request), scheme_id)
    schemes_services.scheme_update(
        actor=_actor(request), scheme=scheme, name=payload.name, permissions=payload.permissions
    )
    return _scheme_out(scheme)


@router.delete("/schemes/{scheme_id}", response={204: None})
def scheme_delete(request: HttpRequest, scheme_id: int) -> Status[None]:
    scheme = scheme_get(_me(request), scheme_id)
    schemes_services.scheme_delete(actor=_actor(request), scheme=scheme)
    return Status(204, None)
