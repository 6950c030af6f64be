"""Android Enterprise in the API: the binding, profiles and their assignment, enrollment tokens.

Every endpoint calls the same selectors and services as the pages. A policy that fails the
Policy schema is a 400 ``invalid`` with ``details`` per field (``mamori.api.api``)."""

from __future__ import annotations

import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from mamori.android import selectors, services
from mamori.android.models import EnrollmentToken, PersonalUsage, Profile, ProfileVersion
from mamori.core.access import NotFound, Principal
from mamori.core.actor import Actor, ActorKind
from mamori.core.fields import annotation_of, text_field
from mamori.core.inputs import InputSchema
from mamori.directory.selectors import organization_get, user_get

router = Router(tags=["Android Enterprise"])


def _me(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request, kind=ActorKind.API)


def _contract(request: HttpRequest) -> Any:
    return _me(request).contract  # type: ignore[attr-defined]


# The binding --------------------------------------------------------------------------------


class EnterpriseOut(Schema):
    name: str = Field(description="AMAPI's enterprises/{id}")
    display_name: str
    bound_at: datetime.datetime
    bound_by: str | None = Field(description="the account name of whoever signed up")


class SignupIn(InputSchema):
    callback_url: str | None = Field(
        None,
        max_length=500,
        description="where Google sends the browser back (it must forward the query to this "
        "contract's /settings/android/callback/); Mamori's own callback by default",
    )


class SignupOut(Schema):
    signup_url: str = Field(
        description="open it in the browser of the same account, logged in to the panel"
    )


class UnbindOut(Schema):
    gone: bool = Field(description="Google answered that the enterprise no longer exists")
    queued: bool = Field(
        description="Google could not be reached: the worker turns its notifications off"
    )
    refused: str = Field(description="Google's refusal, if any")


@router.get("/android/enterprise", response=EnterpriseOut, summary="The contract's enterprise")
def enterprise(request: HttpRequest) -> EnterpriseOut:
    found = selectors.enterprise_get(_me(request))
    if found is None:
        raise NotFound
    return EnterpriseOut(
        name=found.name,
        display_name=found.display_name,
        bound_at=found.bound_at,
        bound_by=found.bound_by.name if found.bound_by else None,
    )


@router.post("/android/enterprise", response={201: SignupOut}, summary="Start the signup")
def enterprise_signup(request: HttpRequest, payload: SignupIn) -> Status[SignupOut]:
    """A signup URL whose callback is bound to the token's account (not to a session: the
    person finishes it in the panel, logged in as that account, within 30 minutes)."""
    url = services.enterprise_signup_start(
        actor=_actor(request),
        contract=_contract(request),
        session_key="",
        callback_url=payload.callback_url or "",
    )
    return Status(201, SignupOut(signup_url=url))


@router.delete("/android/enterprise", response=UnbindOut, summary="Unbind the enterprise")
def enterprise_unbind(request: HttpRequest) -> UnbindOut:
    """**Immediate and not undoable** (the panel asks for the usage domain; the API does not):
    Google's notifications are turned off, the contract's enrollment tokens are deleted at
    Google and the binding is forgotten. Devices stay enrolled at Google. A new signup makes a
    new enterprise."""
    contract = _contract(request)
    if selectors.enterprise_get(_me(request)) is None:
        raise NotFound
    result = services.enterprise_unbind(
        actor=_actor(request), contract=contract, confirm_domain=contract.domain
    )
    return UnbindOut(gone=result.gone, queued=result.queued, refused=result.refused)


# Profiles -----------------------------------------------------------------------------------


class ProfileOut(Schema):
    id: int
    name: str
    is_initial: bool
    policy: dict[str, Any] = Field(description="AMAPI Policy JSON of the current version")
    version: int | None = Field(description="Mamori's number of the current version")
    published_version: str | None = Field(
        description="AMAPI's Policy.version last published (int64 as text)"
    )
    published_number: int | None = Field(description="Mamori's version number last published")
    publish_state: annotation_of(Profile, "publish_state")  # type: ignore[valid-type]
    publish_error: str


class ProfileIn(InputSchema):
    name: str = text_field(Profile, "name")
    policy: dict[str, Any] = Field(description="AMAPI Policy JSON")
    note: str = text_field(ProfileVersion, "note", "")


class ProfileVersionOut(Schema):
    number: int
    note: str
    created_by: str | None
    created_at: datetime.datetime
    policy: dict[str, Any]


def _profile_out(profile: Profile) -> ProfileOut:
    return ProfileOut(
        id=profile.pk,
        name=profile.name,
        is_initial=profile.is_initial,
        policy=profile.current.policy if profile.current else {},
        version=profile.current.number if profile.current else None,
        published_version=profile.published_version or None,
        published_number=profile.published_number,
        publish_state=profile.publish_state,
        publish_error=profile.publish_error,
    )


@router.get("/profiles", response=list[ProfileOut], summary="Profiles")
def profiles(request: HttpRequest) -> list[ProfileOut]:
    return [_profile_out(p) for p in selectors.profiles_visible_to(_me(request))]


@router.post("/profiles", response={201: ProfileOut}, summary="Create a profile")
def profile_create(request: HttpRequest, payload: ProfileIn) -> Status[ProfileOut]:
    profile = services.profile_create(
        actor=_actor(request),
        contract=_contract(request),
        name=payload.name,
        policy=payload.policy,
        note=payload.note,
    )
    return Status(201, _profile_out(selectors.profile_get(_me(request), profile.pk)))


@router.get("/profiles/{profile_id}", response=ProfileOut)
def profile_detail(request: HttpRequest, profile_id: int) -> ProfileOut:
    return _profile_out(selectors.profile_get(_me(request), profile_id))


@router.put("/profiles/{profile_id}", response=ProfileOut, summary="Save a new version")
def profile_update(request: HttpRequest, profile_id: int, payload: ProfileIn) -> ProfileOut:
    """Renames the profile if ``name`` differs, and saves ``policy`` as its next version."""
    me = _me(request)
    profile = selectors.profile_get(me, profile_id, "change")
    services.profile_save(
        actor=_actor(request),
        profile=profile,
        policy=payload.policy,
        note=payload.note,
        name=payload.name,
    )
    return _profile_out(selectors.profile_get(me, profile_id))


@router.delete("/profiles/{profile_id}", response={204: None})
def profile_delete(request: HttpRequest, profile_id: int) -> Status[None]:
    profile = selectors.profile_get(_me(request), profile_id, "change")
    services.profile_delete(actor=_actor(request), profile=profile)
    return Status(204, None)


@router.get("/profiles/{profile_id}/versions", response=list[ProfileVersionOut])
def profile_versions(request: HttpRequest, profile_id: int) -> list[ProfileVersionOut]:
    me = _me(request)
    profile = selectors.profile_get(me, profile_id)
    return [
        ProfileVersionOut(
            number=v.number,
            note=v.note,
            created_by=v.created_by.name if v.created_by else None,
            created_at=v.created_at,
            policy=v.policy,
        )
        for v in selectors.profile_versions(me, profile)
    ]


@router.post("/profiles/{profile_id}/publish", response={202: ProfileOut}, summary="Publish")
def profile_publish(request: HttpRequest, profile_id: int) -> Status[ProfileOut]:
    """Queue the publication of the current version; ``publish_state`` is pending until Google
    answers (published, or failed with Google's message)."""
    me = _me(request)
    profile = selectors.profile_get(me, profile_id, "publish")
    services.profile_publish(actor=_actor(request), profile=profile)
    return Status(202, _profile_out(selectors.profile_get(me, profile_id)))


class AssignIn(InputSchema):
    profile_id: int | None = Field(description="null: inherit the parent organization's profile")


class AssignOut(Schema):
    organization_id: int
    profile_id: int | None = Field(description="the organization's own profile, if any")
    effective_profile_id: int | None = Field(description="its own, or the inherited one")


@router.put("/organizations/{organization_id}/profile", response=AssignOut)
def organization_profile(
    request: HttpRequest, organization_id: int, payload: AssignIn
) -> AssignOut:
    me = _me(request)
    organization = organization_get(me, organization_id, "profiles.assign")
    profile = (
        selectors.profile_get(me, payload.profile_id) if payload.profile_id is not None else None
    )
    services.profile_assign(actor=_actor(request), organization=organization, profile=profile)
    effective = selectors.profile_for_organization(organization)
    return AssignOut(
        organization_id=organization.pk,
        profile_id=profile.pk if profile else None,
        effective_profile_id=effective.pk if effective else None,
    )


# Enrollment tokens --------------------------------------------------------------------------


class TokenOut(Schema):
    id: int
    value: str = Field(description="the secret a device enrolls with")
    qr_code: str = Field(description="AMAPI's qrCode JSON string, for a QR code as it is")
    expires_at: datetime.datetime | None = Field(description="null: no expiry")
    organization_id: int
    user_id: int | None
    one_time: bool
    allow_personal_usage: annotation_of(EnrollmentToken, "allow_personal_usage")  # type: ignore[valid-type]
    device_kind: str = Field(
        description="the device kind chosen (empty: allow_personal_usage only)"
    )
    note: str
    created_at: datetime.datetime
    revoked: bool


class TokenIn(InputSchema):
    organization_id: int
    user_id: int | None = None
    duration_seconds: int | None = Field(
        services.TOKEN_DURATION_DEFAULT,
        description="3600 … 7776000 (1 hour … 90 days); null: no expiry (reusable tokens only)",
    )
    one_time: bool = True
    allow_personal_usage: annotation_of(  # type: ignore[valid-type]
        EnrollmentToken, "allow_personal_usage"
    ) = PersonalUsage.DISALLOWED
    device_kind: (
        Literal["fully_managed", "company_work_profile", "personal_work_profile", "dedicated"]
        | None
    ) = Field(
        None, description="when given, decides allow_personal_usage (and the token page's steps)"
    )
    note: str = text_field(EnrollmentToken, "note", "")


def _token_out(token: EnrollmentToken) -> TokenOut:
    return TokenOut(
        id=token.pk,
        value=token.value,
        qr_code=token.qr_code,
        expires_at=token.expires_at,
        organization_id=token.organization_id,
        user_id=token.user_id,
        one_time=token.one_time,
        allow_personal_usage=token.allow_personal_usage,
        device_kind=token.kind,
        note=token.note,
        created_at=token.created_at,
        revoked=token.revoked_at is not None,
    )


@router.get("/enrollment-tokens", response=list[TokenOut], summary="Valid enrollment tokens")
def tokens(request: HttpRequest) -> list[TokenOut]:
    return [_token_out(t) for t in selectors.tokens_visible_to(_me(request))]


@router.post("/enrollment-tokens", response={201: TokenOut}, summary="Create an enrollment token")
def token_create(request: HttpRequest, payload: TokenIn) -> Status[TokenOut]:
    me = _me(request)
    organization = organization_get(me, payload.organization_id, "enrollment_tokens.create")
    user = user_get(me, payload.user_id) if payload.user_id is not None else None
    token = services.enrollment_token_create(
        actor=_actor(request),
        organization=organization,
        user=user,
        duration_seconds=payload.duration_seconds,
        one_time=payload.one_time,
        allow_personal_usage=payload.allow_personal_usage,
        kind=payload.device_kind or "",
        note=payload.note,
    )
    return Status(201, _token_out(token))


@router.get("/enrollment-tokens/{token_id}", response=TokenOut)
def token_detail(request: HttpRequest, token_id: int) -> TokenOut:
    return _token_out(selectors.token_get(_me(request), token_id))


@router.delete("/enrollment-tokens/{token_id}", response={204: None})
def token_revoke(request: HttpRequest, token_id: int) -> Status[None]:
    token = selectors.token_get(_me(request), token_id, "revoke")
    services.enrollment_token_revoke(actor=_actor(request), token=token)
    return Status(204, None)
