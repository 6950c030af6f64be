"""Mamori accounts in the API: the token's own account, a user's account, permission schemes.

Every endpoint calls the same selectors and services as the pages.
"""

from __future__ import annotations

import datetime
from typing import Annotated

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field

from mamori.accounts.models import ACCOUNT_FIELDS, Account, ApiToken, PermissionScheme
from mamori.accounts.selectors import (
    account_token_get,
    account_tokens_of,
    managed_account_get,
    scheme_for_account_get,
    scheme_get,
    schemes_visible_to,
    user_account_get,
)
from mamori.accounts.services import administration
from mamori.accounts.services import schemes as schemes_services
from mamori.accounts.services import tokens as tokens_services
from mamori.accounts.services.administration import AccountData
from mamori.accounts.services.passwords import PASSWORD_MAX_LENGTH
from mamori.core.access import NotFound
from mamori.core.actor import Actor, ActorKind
from mamori.core.fields import schema_of, text_field, values_of
from mamori.core.inputs import InputSchema
from mamori.directory.selectors import (
    organization_get,
)

router = Router(tags=["Mamori accounts"])

# A permission code as the catalogue names them: "<screen>.<action>".
PERMISSION_PATTERN = r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$"


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


class AccountIn(AccountFields, InputSchema):  # type: ignore[misc,valid-type]
    """``privilege`` is system_admin, department_admin, operator or custom_admin. A password
    given here is the administrator's choice: the account must change it at its next login."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "yamada",
                    "privilege": "operator",
                    "language": "ja",
                    "timezone": "Asia/Tokyo",
                    "password": "Chosen-for-you-2026",
                }
            ]
        }
    )

    password: str = Field(
        "", max_length=PASSWORD_MAX_LENGTH, description="required when the account is created"
    )
    confirmation: str | None = Field(
        None,
        max_length=PASSWORD_MAX_LENGTH,
        description="optional: when given, it must equal password (a typing check for forms)",
    )
    scope_organization_ids: list[int] = Field(
        [],
        description="the organizations a department_admin or custom_admin manages (with their "
        "sub-organizations); must be empty for the other privileges (an operator manages its "
        "user's organization, a system_admin every organization)",
    )
    scheme_id: int | None = Field(None, description="a custom_admin's permission scheme only")


# The panel offers these only for some privileges (account_form.html, data-privileges): a value
# sent for another privilege would be dropped without a word, so it is refused instead (also
# scope_all, the support option and notice mail: _fields_for_privilege).
SCOPED = (Account.Privilege.DEPARTMENT_ADMIN, Account.Privilege.CUSTOM_ADMIN)
# The service's names of the fields, as the API names them.
API_FIELDS = {"scope_organizations": "scope_organization_ids", "scheme": "scheme_id"}


def _fields_for_privilege(payload: AccountIn) -> None:
    """``ValidationError`` (422 naming each field) for what the account's privilege does not
    have, which the service would drop: a scope or scheme, ``scope_all`` (Custom administrators
    only, then without organizations), the support option (System administrators only) and
    notice mail (with the support option only)."""
    errors = {}
    if payload.scope_organization_ids and payload.privilege not in SCOPED:
        errors["scope_organization_ids"] = [
            _(
                "Only Department and Custom administrators manage the organizations chosen "
                "here: an Operator manages its own organization, a System administrator every "
                "organization. Send an empty list."
            )
        ]
    if payload.scheme_id is not None and payload.privilege != Account.Privilege.CUSTOM_ADMIN:
        errors["scheme_id"] = [_("Only a Custom administrator has a permission scheme. Send null.")]
    if payload.scope_all and payload.privilege != Account.Privilege.CUSTOM_ADMIN:
        errors["scope_all"] = [
            _("Only a Custom administrator can manage every organization this way. Send false.")
        ]
    elif payload.scope_all and payload.scope_organization_ids:
        errors["scope_organization_ids"] = [
            _("With scope_all, the account manages every organization. Send an empty list.")
        ]
    if payload.support_option and payload.privilege != Account.Privilege.SYSTEM_ADMIN:
        errors["support_option"] = [
            _("Only a System administrator can hold the support option. Send false.")
        ]
    if payload.receive_notice_mail and not payload.support_option:
        errors["receive_notice_mail"] = [
            _("Notice mail comes with the support option only. Send false.")
        ]
    if errors:
        raise ValidationError(errors)


def _api_named(exc: ValidationError) -> ValidationError:
    """``exc`` with the service's field names as the API names them (``API_FIELDS``)."""
    if not hasattr(exc, "error_dict"):
        return exc
    return ValidationError(
        {API_FIELDS.get(field, field): errors for field, errors in exc.error_dict.items()}
    )


def _confirmation(payload: AccountIn) -> str:
    """An API client need not repeat the password: no confirmation confirms it."""
    return payload.password if payload.confirmation is None else payload.confirmation


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
    _fields_for_privilege(payload)
    organizations = [organization_get(me, pk, action) for pk in payload.scope_organization_ids]
    scheme: PermissionScheme | None = (
        scheme_for_account_get(me, payload.scheme_id) if payload.scheme_id else None
    )
    data = AccountData(
        **{f: getattr(payload, f) for f in ACCOUNT_FIELDS},
        scope_organizations=tuple(organizations),
        scheme=scheme,
    )
    try:
        if account is None:
            account = administration.account_create(
                actor=_actor(request),
                user=user,
                data=data,
                password=payload.password,
                confirmation=_confirmation(payload),
            )
            return Status(201, AccountDetailOut.of(account))
        administration.account_update(
            actor=_actor(request),
            account=account,
            data=data,
            password=payload.password,
            confirmation=_confirmation(payload),
        )
    except ValidationError as exc:
        raise _api_named(exc) from None
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


# A managed account's API tokens ---------------------------------------------------------------


class ApiTokenOut(Schema):
    id: int
    name: str
    prefix: str = Field(description="the token's first characters, to recognise it")
    created_at: datetime.datetime
    expires_at: datetime.datetime
    last_used_at: datetime.datetime | None = Field(
        description="when it was last used, to within a minute; null if never"
    )
    revoked_at: datetime.datetime | None
    usable: bool

    @classmethod
    def of(cls, token: ApiToken) -> ApiTokenOut:
        return cls(
            id=token.pk,
            name=token.name,
            prefix=token.prefix,
            created_at=token.created_at,
            expires_at=token.expires_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
            usable=token.is_usable,
        )


@router.get(
    "/users/{user_id}/account/tokens",
    response=list[ApiTokenOut],
    summary="The API tokens of a user's account",
)
def account_tokens(request: HttpRequest, user_id: int) -> list[ApiTokenOut]:
    """Newest first, revoked and expired ones included. For administrators who manage the
    account (a System administrator any account, the others Operators')."""
    me = _me(request)
    owner = managed_account_get(me, user_id)
    return [ApiTokenOut.of(t) for t in account_tokens_of(me, owner)]


@router.post(
    "/users/{user_id}/account/tokens/{token_id}/revoke",
    response=ApiTokenOut,
    summary="Revoke an API token of a user's account",
)
def account_token_revoke(request: HttpRequest, user_id: int, token_id: int) -> ApiTokenOut:
    """It stops at once and for good; revoking a revoked token changes nothing."""
    me = _me(request)
    token = account_token_get(me, managed_account_get(me, user_id), token_id)
    tokens_services.api_token_revoke(actor=_actor(request), token=token)
    return ApiTokenOut.of(token)


# Custom permission schemes ------------------------------------------------------------------


class SchemeIO(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "User managers", "permissions": ["users.view", "users.change"]}]
        }
    )

    name: str = text_field(PermissionScheme, "name")
    permissions: list[Annotated[str, Field(max_length=100, pattern=PERMISSION_PATTERN)]] = Field(
        description="permission codes such as users.view (screen.action)"
    )


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
