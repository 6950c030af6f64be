"""Users/Org in the API: organizations, users with their e-mails, accounts, permission schemes.

Every endpoint calls the same selectors and services as the pages.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from mamori.core.access import Principal
from mamori.core.actor import Actor, ActorKind
from mamori.core.fields import annotation_of, schema_of, text_field, values_of
from mamori.core.inputs import InputSchema
from mamori.directory import services
from mamori.directory.models import USER_FIELDS, Organization, User, UserEmail
from mamori.directory.selectors import (
    USER_ORDER,
    UserQuery,
    organization_get,
    organization_tree,
    user_get,
    users_search,
)

router = Router(tags=["Users/Org"])


def _me(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


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


class OrganizationIn(InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"parent_id": 2, "name": "営業部"}]})

    parent_id: int
    name: str = text_field(Organization, "name")


class OrganizationPatch(InputSchema):
    name: str | None = text_field(Organization, "name", None)
    parent_id: int | None = None


@router.get("/organizations", response=list[OrganizationOut], summary="The organization tree")
def organizations(request: HttpRequest) -> list[OrganizationOut]:
    """Visible organizations in tree order, with user counts."""
    me = _me(request)
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


def _organization_out(me: Principal, organization: Organization, action: str) -> OrganizationOut:
    node = next(n for n in organization_tree(me, action) if n.id == organization.pk)
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
    return _organization_out(me, organization, "view")


@router.post("/organizations", response={201: OrganizationOut})
def organization_create(request: HttpRequest, payload: OrganizationIn) -> Status[OrganizationOut]:
    me = _me(request)
    parent = organization_get(me, payload.parent_id, "add")
    organization = services.organization_create(
        actor=_actor(request), parent=parent, name=payload.name
    )
    return Status(201, _organization_out(me, organization, "add"))


@router.patch("/organizations/{organization_id}", response=OrganizationOut)
def organization_update(
    request: HttpRequest, organization_id: int, payload: OrganizationPatch
) -> OrganizationOut:
    """Rename, move (``parent_id``), or both."""
    me = _me(request)
    organization = organization_get(me, organization_id, "change")
    if payload.name is not None:
        services.organization_rename(
            actor=_actor(request), organization=organization, name=payload.name
        )
    if payload.parent_id is not None:
        parent = organization_get(me, payload.parent_id, "change")
        services.organization_move(actor=_actor(request), organization=organization, parent=parent)
    return _organization_out(me, organization_get(me, organization_id, "change"), "change")


@router.delete("/organizations/{organization_id}", response={204: None})
def organization_delete(request: HttpRequest, organization_id: int) -> Status[None]:
    organization = organization_get(_me(request), organization_id, "delete")
    services.organization_delete(actor=_actor(request), organization=organization)
    return Status(204, None)


# Users --------------------------------------------------------------------------------------


class EmailIO(InputSchema):
    address: str = text_field(UserEmail, "address")
    category: annotation_of(UserEmail, "category") = Field(  # type: ignore[valid-type]
        description="main, work, personal or other"
    )


# The person's fields, as USER_FIELDS declares them.
UserFields = schema_of(User, USER_FIELDS, name="UserFields")


class UserOut(UserFields):  # type: ignore[misc,valid-type]
    id: int
    organization_id: int
    emails: list[EmailIO]
    account_id: int | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        account = getattr(user, "account", None)
        return cls(
            id=user.pk,
            organization_id=user.organization_id,
            emails=[EmailIO(address=e.address, category=e.category) for e in user.emails.all()],
            account_id=account.pk if account else None,
            **values_of(user, USER_FIELDS),
        )


class UserIn(UserFields, InputSchema):  # type: ignore[misc,valid-type]
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "organization_id": 2,
                    "name": "山田 太郎",
                    "furigana": "ヤマダ タロウ",
                    "employee_code": "E0042",
                    "emails": [{"address": "yamada@example.com", "category": "main"}],
                }
            ]
        }
    )

    organization_id: int
    emails: list[EmailIO]


class UserPage(Schema):
    items: list[UserOut]
    next_cursor: str | None


def _user_data(me: Principal, payload: UserIn, action: str) -> services.UserData:
    return services.UserData(
        organization=organization_get(me, payload.organization_id, action),
        emails=tuple((e.address, e.category) for e in payload.emails),
        **{f: getattr(payload, f) for f in USER_FIELDS},
    )


@router.get("/users", response=UserPage, summary="Users, in furigana order")
def users(
    request: HttpRequest,
    q: str = "",
    organization_id: int | None = None,
    include_sub_organizations: bool = True,
    after: str | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> UserPage:
    """Search by name, furigana prefix, e-mail or employee code; page with ``next_cursor``."""

    me = _me(request)
    organization = organization_get(me, organization_id, "users.view") if organization_id else None
    found = users_search(me, UserQuery(q[:100], organization, include_sub_organizations))
    if after:
        found = USER_ORDER.after(found, USER_ORDER.decode(after, field="after"))
    rows = list(found.select_related("account").prefetch_related("emails")[: limit + 1])
    return UserPage(
        items=[UserOut.of(u) for u in rows[:limit]],
        next_cursor=USER_ORDER.encode(rows[limit - 1]) if len(rows) > limit else None,
    )


@router.get("/users/{user_id}", response=UserOut)
def user_detail(request: HttpRequest, user_id: int) -> UserOut:
    me = _me(request)
    return UserOut.of(user_get(me, user_id))


@router.post("/users", response={201: UserOut})
def user_create(request: HttpRequest, payload: UserIn) -> Status[UserOut]:
    me = _me(request)
    user = services.user_create(actor=_actor(request), data=_user_data(me, payload, "users.add"))
    return Status(201, UserOut.of(user_get(me, user.pk, "add")))


@router.put("/users/{user_id}", response=UserOut)
def user_update(request: HttpRequest, user_id: int, payload: UserIn) -> UserOut:
    """Replace a user's data, e-mails included (moving them when ``organization_id`` changes)."""
    me = _me(request)
    user = user_get(me, user_id, "change")
    data = _user_data(me, payload, "users.change")
    services.user_update(actor=_actor(request), user=user, data=data)
    return UserOut.of(user_get(me, user_id, "change"))


@router.delete("/users/{user_id}", response={204: None})
def user_delete(request: HttpRequest, user_id: int) -> Status[None]:
    services.user_delete(actor=_actor(request), user=user_get(_me(request), user_id, "delete"))
    return Status(204, None)
