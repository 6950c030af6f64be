"""Users/Org in the API: organizations, users with their e-mails, accounts, permission schemes.

Every endpoint calls the same selectors and services as the pages.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from mamori.accounts import services as account_services
from mamori.accounts.models import Account, PermissionScheme
from mamori.accounts.permissions import require_permission
from mamori.accounts.scope import OutOfScope
from mamori.accounts.selectors import scheme_get, schemes_of
from mamori.core.actor import Actor, ActorKind
from mamori.directory import services
from mamori.directory.models import Organization, User
from mamori.directory.selectors import (
    UserQuery,
    organization_get,
    organization_tree,
    user_cursor_encode,
    user_get,
    users_after,
    users_search,
)

router = Router(tags=["Users/Org"])


def _me(request: HttpRequest) -> Account:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request, kind=ActorKind.API)


# Organizations ------------------------------------------------------------------------------


class OrganizationOut(Schema):
    id: int
    name: str
    parent_id: int | None
    depth: int
    user_count: int
    subtree_user_count: int


class OrganizationIn(Schema):
    parent_id: int
    name: str


class OrganizationPatch(Schema):
    name: str | None = None
    parent_id: int | None = None


@router.get("/organizations", response=list[OrganizationOut], summary="The organization tree")
def organizations(request: HttpRequest) -> list[OrganizationOut]:
    """Visible organizations in tree order, with user counts."""
    me = _me(request)
    require_permission(me, "organizations.view")
    return [
        OrganizationOut(
            id=n.id,
            name=n.name,
            parent_id=n.parent_id,
            depth=n.depth,
            user_count=n.user_count,
            subtree_user_count=n.subtree_count,
        )
        for n in organization_tree(me)
    ]


def _organization_out(me: Account, organization: Organization) -> OrganizationOut:
    node = next(n for n in organization_tree(me) if n.id == organization.pk)
    return OrganizationOut(
        id=organization.pk,
        name=organization.name,
        parent_id=organization.parent_id,
        depth=node.depth,
        user_count=node.user_count,
        subtree_user_count=node.subtree_count,
    )


@router.get("/organizations/{organization_id}", response=OrganizationOut)
def organization_detail(request: HttpRequest, organization_id: int) -> OrganizationOut:
    me = _me(request)
    organization = organization_get(me, organization_id)
    require_permission(me, "organizations.view")
    return _organization_out(me, organization)


@router.post("/organizations", response={201: OrganizationOut})
def organization_create(request: HttpRequest, payload: OrganizationIn) -> Status[OrganizationOut]:
    me = _me(request)
    parent = organization_get(me, payload.parent_id)
    organization = services.organization_create(
        actor=_actor(request), parent=parent, name=payload.name
    )
    return Status(201, _organization_out(me, organization))


@router.patch("/organizations/{organization_id}", response=OrganizationOut)
def organization_update(
    request: HttpRequest, organization_id: int, payload: OrganizationPatch
) -> OrganizationOut:
    """Rename, move (``parent_id``), or both."""
    me = _me(request)
    organization = organization_get(me, organization_id)
    if payload.name is not None:
        services.organization_rename(
            actor=_actor(request), organization=organization, name=payload.name
        )
    if payload.parent_id is not None:
        parent = organization_get(me, payload.parent_id)
        services.organization_move(actor=_actor(request), organization=organization, parent=parent)
    return _organization_out(me, organization_get(me, organization_id))


@router.delete("/organizations/{organization_id}", response={204: None})
def organization_delete(request: HttpRequest, organization_id: int) -> Status[None]:
    organization = organization_get(_me(request), organization_id)
    services.organization_delete(actor=_actor(request), organization=organization)
    return Status(204, None)


# Users --------------------------------------------------------------------------------------


class EmailIO(Schema):
    address: str
    category: str = Field(description="main, work, personal or other")


class UserOut(Schema):
    id: int
    name: str
    furigana: str
    employee_code: str
    organization_id: int
    title: str
    phone: str
    mobile_phone: str
    emails: list[EmailIO]
    account_id: int | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        account = getattr(user, "account", None)
        return cls(
            id=user.pk,
            name=user.name,
            furigana=user.furigana,
            employee_code=user.employee_code,
            organization_id=user.organization_id,
            title=user.title,
            phone=user.phone,
            mobile_phone=user.mobile_phone,
            emails=[EmailIO(address=e.address, category=e.category) for e in user.emails.all()],
            account_id=account.pk if account else None,
        )


class UserIn(Schema):
    organization_id: int
    name: str
    furigana: str = ""
    employee_code: str = ""
    title: str = ""
    phone: str = ""
    mobile_phone: str = ""
    emails: list[EmailIO]


class UserPage(Schema):
    items: list[UserOut]
    next_cursor: str | None


def _user_data(me: Account, payload: UserIn) -> services.UserData:
    return services.UserData(
        organization=organization_get(me, payload.organization_id),
        name=payload.name,
        furigana=payload.furigana,
        employee_code=payload.employee_code,
        title=payload.title,
        phone=payload.phone,
        mobile_phone=payload.mobile_phone,
        emails=tuple((e.address, e.category) for e in payload.emails),
    )


@router.get("/users", response=UserPage, summary="Users, in furigana order")
def users(
    request: HttpRequest,
    q: str = "",
    organization_id: int | None = None,
    include_sub_organizations: bool = True,
    after: str | None = None,
    limit: int = Query(50, ge=1, le=500),  # type: ignore[type-arg]
) -> UserPage:
    """Search by name, furigana prefix, e-mail or employee code; page with ``next_cursor``."""

    me = _me(request)
    require_permission(me, "users.view")
    organization = organization_get(me, organization_id) if organization_id else None
    found = users_search(me, UserQuery(q[:100], organization, include_sub_organizations))
    if after:
        found = users_after(found, after)
    rows = list(found.select_related("account").prefetch_related("emails")[: limit + 1])
    return UserPage(
        items=[UserOut.of(u) for u in rows[:limit]],
        next_cursor=user_cursor_encode(rows[limit - 1]) if len(rows) > limit else None,
    )


@router.get("/users/{user_id}", response=UserOut)
def user_detail(request: HttpRequest, user_id: int) -> UserOut:
    me = _me(request)
    user = user_get(me, user_id)
    require_permission(me, "users.view")
    return UserOut.of(user)


@router.post("/users", response={201: UserOut})
def user_create(request: HttpRequest, payload: UserIn) -> Status[UserOut]:
    me = _me(request)
    user = services.user_create(actor=_actor(request), data=_user_data(me, payload))
    return Status(201, UserOut.of(user_get(me, user.pk)))


@router.put("/users/{user_id}", response=UserOut)
def user_update(request: HttpRequest, user_id: int, payload: UserIn) -> UserOut:
    """Replace a user's data, e-mails included (moving them when ``organization_id`` changes)."""
    me = _me(request)
    user = user_get(me, user_id)
    services.user_update(actor=_actor(request), user=user, data=_user_data(me, payload))
    return UserOut.of(user_get(me, user_id))


@router.delete("/users/{user_id}", response={204: None})
def user_delete(request: HttpRequest, user_id: int) -> Status[None]:
    services.user_delete(actor=_actor(request), user=user_get(_me(request), user_id))
    return Status(204, None)


# Mamori accounts ----------------------------------------------------------------------------


class AccountDetailOut(Schema):
    id: int
    user_id: int
    name: str
    privilege: str
    support_option: bool
    receive_notice_mail: bool
    language: str
    timezone: str
    scope_all: bool
    scope_organization_ids: list[int]
    scheme_id: int | None
    enabled: bool
    two_factor_enabled: bool

    @classmethod
    def of(cls, account: Account) -> AccountDetailOut:
        return cls(
            id=account.pk,
            user_id=account.user_id,
            name=account.name,
            privilege=account.privilege,
            support_option=account.support_option,
            receive_notice_mail=account.receive_notice_mail,
            language=account.language,
            timezone=account.timezone,
            scope_all=account.scope_all,
            scope_organization_ids=sorted(o.pk for o in account.scope_organizations.all()),
            scheme_id=account.scheme_id,
            enabled=account.is_active,
            two_factor_enabled=account.two_factor_enabled,
        )


class AccountIn(Schema):
    name: str
    privilege: str = Field(description="system_admin, department_admin, operator or custom_admin")
    password: str = Field("", description="required when the account is created")
    confirmation: str = ""
    support_option: bool = False
    receive_notice_mail: bool = False
    language: str = "ja"
    timezone: str = "Asia/Tokyo"
    scope_all: bool = False
    scope_organization_ids: list[int] = []
    scheme_id: int | None = None


def _account_of(me: Account, user_id: int) -> tuple[User, Account | None]:
    user = user_get(me, user_id)
    return user, getattr(user, "account", None)


@router.get("/users/{user_id}/account", response=AccountDetailOut)
def account_detail(request: HttpRequest, user_id: int) -> AccountDetailOut:
    me = _me(request)
    _user, account = _account_of(me, user_id)
    require_permission(me, "accounts.view")
    if account is None:
        raise Account.DoesNotExist
    return AccountDetailOut.of(account)


@router.put("/users/{user_id}/account", response={200: AccountDetailOut, 201: AccountDetailOut})
def account_save(
    request: HttpRequest, user_id: int, payload: AccountIn
) -> Status[AccountDetailOut]:
    """Create the user's Mamori account (201) or change it (200)."""
    me = _me(request)
    user, account = _account_of(me, user_id)
    organizations = [organization_get(me, pk) for pk in payload.scope_organization_ids]
    scheme: PermissionScheme | None = (
        scheme_get(me, payload.scheme_id) if payload.scheme_id else None
    )
    data = account_services.AccountData(
        name=payload.name,
        privilege=payload.privilege,
        support_option=payload.support_option,
        receive_notice_mail=payload.receive_notice_mail,
        language=payload.language,
        timezone=payload.timezone,
        scope_all=payload.scope_all,
        scope_organizations=tuple(organizations),
        scheme=scheme,
    )
    if account is None:
        account = account_services.account_create(
            actor=_actor(request),
            user=user,
            data=data,
            password=payload.password,
            confirmation=payload.confirmation,
        )
        return Status(201, AccountDetailOut.of(account))
    account_services.account_update(
        actor=_actor(request),
        account=account,
        data=data,
        password=payload.password,
        confirmation=payload.confirmation,
    )
    account.refresh_from_db()
    return Status(200, AccountDetailOut.of(account))


def _existing_account(request: HttpRequest, user_id: int) -> Account:
    _user, account = _account_of(_me(request), user_id)
    if account is None:
        raise OutOfScope
    return account


@router.post("/users/{user_id}/account/disable", response=AccountDetailOut)
def account_disable(request: HttpRequest, user_id: int) -> AccountDetailOut:
    account = _existing_account(request, user_id)
    account_services.account_disable(actor=_actor(request), account=account)
    return AccountDetailOut.of(account)


@router.post("/users/{user_id}/account/enable", response=AccountDetailOut)
def account_enable(request: HttpRequest, user_id: int) -> AccountDetailOut:
    account = _existing_account(request, user_id)
    account_services.account_enable(actor=_actor(request), account=account)
    return AccountDetailOut.of(account)


@router.delete("/users/{user_id}/account", response={204: None})
def account_delete(request: HttpRequest, user_id: int) -> Status[None]:
    account_services.account_delete(
        actor=_actor(request), account=_existing_account(request, user_id)
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


def _system_admin(request: HttpRequest) -> Account:
    from mamori.accounts.scope import require_system_admin

    require_system_admin(Actor(account=_me(request)))
    return _me(request)


@router.get("/schemes", response=list[SchemeOut])
def schemes(request: HttpRequest) -> list[SchemeOut]:
    return [_scheme_out(s) for s in schemes_of(_system_admin(request))]


@router.post("/schemes", response={201: SchemeOut})
def scheme_create(request: HttpRequest, payload: SchemeIO) -> Status[SchemeOut]:
    me = _system_admin(request)
    scheme = account_services.scheme_create(
        actor=_actor(request),
        contract=me.contract,
        name=payload.name,
        permissions=payload.permissions,
    )
    return Status(201, _scheme_out(scheme))


@router.get("/schemes/{scheme_id}", response=SchemeOut)
def scheme_detail(request: HttpRequest, scheme_id: int) -> SchemeOut:
    return _scheme_out(scheme_get(_system_admin(request), scheme_id))


@router.put("/schemes/{scheme_id}", response=SchemeOut)
def scheme_update(request: HttpRequest, scheme_id: int, payload: SchemeIO) -> SchemeOut:
    scheme = scheme_get(_system_admin(request), scheme_id)
    account_services.scheme_update(
        actor=_actor(request), scheme=scheme, name=payload.name, permissions=payload.permissions
    )
    return _scheme_out(scheme)


@router.delete("/schemes/{scheme_id}", response={204: None})
def scheme_delete(request: HttpRequest, scheme_id: int) -> Status[None]:
    scheme = scheme_get(_system_admin(request), scheme_id)
    account_services.scheme_delete(actor=_actor(request), scheme=scheme)
    return Status(204, None)
