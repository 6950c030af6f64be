"""The authorization matrix of Android Enterprise: every page and endpoint × every privilege.

Actors as in ``tests/test_authorization.py``: system (A1), department (A2: 営業部 and 東京),
operator (A3, in 営業部), custom (A4: users.* only, in 開発部), other (B1). A denied case
changes nothing."""

from __future__ import annotations

import pytest

from mamori.android import services
from mamori.android.models import EnrollmentToken, Enterprise, OrganizationProfile, Profile
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from mamori.directory.models import Organization
from tests.android.fake_amapi import FakeAmapi, fake_amapi
from tests.conftest import OrgCast, api_client, logged_in

pytestmark = pytest.mark.django_db

OK = "ok"
ACTORS = ("system", "department", "operator", "custom", "other")
TOKEN = {
    "organization": "{tokyo}",
    "device_kind": "fully_managed",
    "one_time": "1",
    "duration": "3600",
}

PAGES = [
    (
        "Android Enterprise settings",
        "get",
        "/alpha/settings/android/",
        None,
        (OK, 403, 403, 403, 404),
    ),
    (
        "unbind",
        "post",
        "/alpha/settings/android/unbind/",
        {"confirm": "alpha"},
        (OK, 403, 403, 403, 404),
    ),
    (
        "signup callback",
        "get",
        "/alpha/settings/android/callback/",
        None,
        (400, 403, 403, 403, 404),
    ),
    ("profiles", "get", "/alpha/devices/profiles/", None, (OK, OK, OK, 403, 404)),
    ("a profile", "get", "/alpha/devices/profiles/{profile}/", None, (OK, OK, OK, 403, 404)),
    (
        "a version",
        "get",
        "/alpha/devices/profiles/{profile}/versions/1/",
        None,
        (OK, OK, OK, 403, 404),
    ),
    (
        "add a profile",
        "post",
        "/alpha/devices/profiles/add/",
        {"name": "新"},
        (OK, 403, 403, 403, 404),
    ),
    (
        "rename a profile",
        "post",
        "/alpha/devices/profiles/{profile}/rename/",
        {"name": "新"},
        (OK, 403, 403, 403, 404),
    ),
    (
        "publish a profile",
        "post",
        "/alpha/devices/profiles/{profile}/publish/",
        None,
        # a profile applies to the whole contract: a department administrator may not publish
        (OK, 403, 403, 403, 404),
    ),
    ("assignments", "get", "/alpha/devices/profiles/assignments/", None, (OK, OK, OK, 403, 404)),
    (
        "assign to 東京",
        "post",
        "/alpha/orgs/{tokyo}/profile/",
        {"profile": "{profile}"},
        (OK, OK, 403, 404, 404),
    ),
    (
        "assign to 開発部",
        "post",
        "/alpha/orgs/{dev}/profile/",
        {"profile": "{profile}"},
        (OK, 404, 404, 403, 404),
    ),
    # Enrollment tokens are not the Operator's (SPEC 3: Operators view devices and run a few
    # commands): a token's page shows the QR code a device enrolls with.
    ("tokens", "get", "/alpha/devices/enrollment/", None, (OK, OK, 403, 403, 404)),
    ("東京 token", "get", "/alpha/devices/enrollment/{tokyo_tk}/", None, (OK, OK, 403, 404, 404)),
    ("token form", "get", "/alpha/devices/enrollment/add/", None, (OK, OK, 403, 403, 404)),
    (
        "make a token for 東京",
        "post",
        "/alpha/devices/enrollment/add/",
        TOKEN,
        (OK, OK, 403, 403, 404),
    ),
    (
        "a token of the top organization",
        "get",
        "/alpha/devices/enrollment/{token}/",
        None,
        (OK, 404, 404, 404, 404),
    ),
    (
        "revoke a token of the top organization",
        "post",
        "/alpha/devices/enrollment/{token}/revoke/",
        None,
        (OK, 404, 404, 404, 404),
    ),
]

API_CASES = [
    ("the binding", "get", "/api/v1/android/enterprise", None, (OK, 403, 403, 403, 404)),
    ("profiles", "get", "/api/v1/profiles", None, (OK, OK, OK, 403, OK)),
    ("a profile", "get", "/api/v1/profiles/{profile}", None, (OK, OK, OK, 403, 404)),
    (
        "create a profile",
        "post",
        "/api/v1/profiles",
        {"name": "新", "policy": {}},
        (OK, 403, 403, 403, OK),
    ),
    ("publish", "post", "/api/v1/profiles/{profile}/publish", None, (OK, 403, 403, 403, 404)),
    (
        "assign to 開発部",
        "put",
        "/api/v1/organizations/{dev}/profile",
        {"profile_id": "{profile}"},
        (OK, 404, 404, 403, 404),
    ),
    ("tokens", "get", "/api/v1/enrollment-tokens", None, (OK, OK, 403, 403, OK)),
    ("東京 token", "get", "/api/v1/enrollment-tokens/{tokyo_tk}", None, (OK, OK, 403, 404, 404)),
    (
        "make a token for 開発部",
        "post",
        "/api/v1/enrollment-tokens",
        {"organization_id": "{dev}"},
        (OK, 404, 404, 403, 404),
    ),
    (
        "revoke a token of the top organization",
        "delete",
        "/api/v1/enrollment-tokens/{token}",
        None,
        (OK, 404, 404, 404, 404),
    ),
]


@pytest.fixture
def world(orgs: OrgCast, fake_amapi: FakeAmapi) -> dict[str, int]:
    cast = orgs.cast
    actor = Actor(account=cast.a1)
    Enterprise.objects.create(contract=cast.a, name="enterprises/LCA")
    profile = services.profile_create(actor=actor, contract=cast.a, name="P", policy={})
    root = Organization.objects.get(contract=cast.a, parent=None)
    OrganizationProfile.objects.create(organization=root, contract=cast.a, profile=profile)
    token = services.enrollment_token_create(actor=actor, organization=root)
    tokyo_token = services.enrollment_token_create(actor=actor, organization=orgs.tokyo)
    return {
        "profile": profile.pk,
        "token": token.pk,
        "tokyo_tk": tokyo_token.pk,
        "tokyo": orgs.tokyo.pk,
        "dev": orgs.dev.pk,
    }


def fill(value, ids: dict):
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    return value


def actor_of(orgs: OrgCast, name: str):
    return {
        "system": orgs.cast.a1,
        "department": orgs.a2,
        "operator": orgs.a3,
        "custom": orgs.a4,
        "other": orgs.cast.b1,
    }[name]


def state(orgs: OrgCast) -> tuple:
    a = orgs.cast.a
    return (
        list(Enterprise.objects.filter(contract=a).values_list("name")),
        list(Profile.objects.filter(contract=a).values_list("pk", "name", "publish_state")),
        list(
            OrganizationProfile.objects.filter(contract=a).values_list(
                "organization_id", "profile_id"
            )
        ),
        list(EnrollmentToken.objects.filter(contract=a).values_list("pk", "revoked_at")),
        LogEntry.objects.filter(contract=a).count(),
    )


def check(response, expected, before, orgs) -> None:
    if expected == OK:
        assert response.status_code in (200, 201, 202, 204, 302), response.content[:800]
        form = (response.context or {}).get("form") if hasattr(response, "context") else None
        assert form is None or not form.errors, form.errors
        return
    assert response.status_code == expected, response.content[:500]
    assert state(orgs) == before


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(
    ("case", "method", "path", "body", "expected"), PAGES, ids=[c[0] for c in PAGES]
)
def test_android_pages(
    orgs: OrgCast, world: dict, actor: str, case, method, path, body, expected
) -> None:
    client = logged_in(actor_of(orgs, actor))
    before = state(orgs)
    url = path.format(**world)
    response = client.post(url, fill(body, world) or {}) if method == "post" else client.get(url)
    check(response, expected[ACTORS.index(actor)], before, orgs)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(
    ("case", "method", "path", "body", "expected"), API_CASES, ids=[c[0] for c in API_CASES]
)
def test_android_api(
    orgs: OrgCast, world: dict, actor: str, case, method, path, body, expected
) -> None:
    client = api_client(actor_of(orgs, actor))
    before = state(orgs)
    url = path.format(**world)
    if method in ("post", "put"):
        response = getattr(client, method)(
            url, fill(body, world) or {}, content_type="application/json"
        )
    else:
        response = getattr(client, method)(url)
    check(response, expected[ACTORS.index(actor)], before, orgs)


__all__ = ["fake_amapi"]
