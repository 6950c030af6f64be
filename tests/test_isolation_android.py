"""Contract B never sees or touches contract A's Android Enterprise: its binding, profiles,
assignments and enrollment tokens (pages and API), and A's signup state is refused at B."""

from __future__ import annotations

import pytest

from mamori.android import services
from mamori.android.models import EnrollmentToken, Enterprise, OrganizationProfile, Profile
from mamori.core.actor import Actor
from mamori.directory.models import Organization
from tests.android.fake_amapi import FakeAmapi, fake_amapi
from tests.conftest import Cast, api_client, logged_in

pytestmark = pytest.mark.django_db

# (URL name, method, path with {a_profile} / {a_token} / {a_organization} of contract A)
PANEL = [
    ("android_settings", "get", "/alpha/settings/android/"),
    ("android_settings", "post", "/alpha/settings/android/"),
    ("android_callback", "get", "/alpha/settings/android/callback/"),
    ("android_unbind", "post", "/alpha/settings/android/unbind/"),
    ("profiles", "get", "/alpha/devices/profiles/"),
    ("profile_add", "post", "/alpha/devices/profiles/add/"),
    ("profile_assignments", "get", "/alpha/devices/profiles/assignments/"),
    ("profile_detail", "get", "/bravo/devices/profiles/{a_profile}/"),
    ("profile_edit", "get", "/bravo/devices/profiles/{a_profile}/edit/"),
    ("profile_edit", "post", "/bravo/devices/profiles/{a_profile}/edit/"),
    ("profile_publish", "post", "/bravo/devices/profiles/{a_profile}/publish/"),
    ("profile_rename", "post", "/bravo/devices/profiles/{a_profile}/rename/"),
    ("profile_copy", "post", "/bravo/devices/profiles/{a_profile}/copy/"),
    ("profile_delete", "post", "/bravo/devices/profiles/{a_profile}/delete/"),
    ("profile_version", "get", "/bravo/devices/profiles/{a_profile}/versions/1/"),
    ("profile_restore", "post", "/bravo/devices/profiles/{a_profile}/versions/1/restore/"),
    ("organization_profile", "post", "/bravo/orgs/{a_organization}/profile/"),
    ("tokens", "get", "/alpha/devices/enrollment/"),
    ("token_add", "get", "/alpha/devices/enrollment/add/"),
    ("token_detail", "get", "/bravo/devices/enrollment/{a_token}/"),
    ("token_qr_png", "get", "/bravo/devices/enrollment/{a_token}/qr.png"),
    ("token_revoke", "post", "/bravo/devices/enrollment/{a_token}/revoke/"),
]
API = [
    ("get", "/api/v1/profiles/{a_profile}"),
    ("put", "/api/v1/profiles/{a_profile}"),
    ("delete", "/api/v1/profiles/{a_profile}"),
    ("get", "/api/v1/profiles/{a_profile}/versions"),
    ("post", "/api/v1/profiles/{a_profile}/publish"),
    ("put", "/api/v1/organizations/{a_organization}/profile"),
    ("get", "/api/v1/enrollment-tokens/{a_token}"),
    ("delete", "/api/v1/enrollment-tokens/{a_token}"),
]
API_OWN_ONLY = [
    ("get", "/api/v1/android/enterprise"),
    ("post", "/api/v1/android/enterprise"),
    ("delete", "/api/v1/android/enterprise"),
    ("get", "/api/v1/profiles"),
    ("post", "/api/v1/profiles"),
    ("get", "/api/v1/enrollment-tokens"),
    ("post", "/api/v1/enrollment-tokens"),
]


@pytest.fixture
def a_objects(cast: Cast, fake_amapi: FakeAmapi) -> dict[str, int]:
    actor = Actor(account=cast.a1)
    enterprise = Enterprise.objects.create(contract=cast.a, name="enterprises/LCA")
    profile = services.profile_create(actor=actor, contract=cast.a, name="A", policy={})
    root = Organization.objects.get(contract=cast.a, parent=None)
    OrganizationProfile.objects.create(organization=root, contract=cast.a, profile=profile)
    token = services.enrollment_token_create(actor=actor, organization=root)
    assert token.enterprise == enterprise
    return {"a_profile": profile.pk, "a_token": token.pk, "a_organization": root.pk}


def snapshot(cast: Cast) -> tuple:
    return (
        list(Enterprise.objects.filter(contract=cast.a).values_list("name")),
        list(
            Profile.objects.filter(contract=cast.a).values_list(
                "pk", "name", "current_id", "publish_state"
            )
        ),
        list(
            OrganizationProfile.objects.filter(contract=cast.a).values_list(
                "organization_id", "profile_id"
            )
        ),
        list(EnrollmentToken.objects.filter(contract=cast.a).values_list("pk", "revoked_at")),
    )


@pytest.mark.parametrize(("name", "method", "path"), [c for c in PANEL if "{a_" in c[2]])
def test_contract_b_session_gets_404_on_contract_a_android(
    cast: Cast, a_objects: dict, name: str, method: str, path: str
) -> None:
    client = logged_in(cast.b1)
    before = snapshot(cast)
    data = {"name": "x", "profile": a_objects["a_profile"], "note": "x"}
    response = getattr(client, method)(path.format(**a_objects), data if method == "post" else None)
    assert response.status_code == 404
    assert snapshot(cast) == before


@pytest.mark.parametrize(("method", "path"), API)
def test_contract_b_token_gets_404_on_contract_a_android(
    cast: Cast, a_objects: dict, method: str, path: str
) -> None:
    client = api_client(cast.b1)
    before = snapshot(cast)
    url = path.format(**a_objects)
    # Each body as its endpoint takes it (no unknown field).
    body = {"profile_id": None} if path.endswith("/profile") else {"name": "x", "policy": {}}
    if method in ("post", "put"):
        response = getattr(client, method)(url, body, content_type="application/json")
    else:
        response = getattr(client, method)(url)
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
    assert snapshot(cast) == before


def test_contract_b_sees_none_of_contract_a_android(cast: Cast, a_objects: dict) -> None:
    client = api_client(cast.b1)
    assert client.get("/api/v1/android/enterprise").status_code == 404
    assert client.get("/api/v1/profiles").json() == []
    assert client.get("/api/v1/enrollment-tokens").json() == []
    page = logged_in(cast.b1).get("/bravo/devices/profiles/").content.decode()
    assert "enterprises/LCA" not in page and ">A<" not in page
    before = snapshot(cast)
    made = client.post(
        "/api/v1/enrollment-tokens",
        {"organization_id": a_objects["a_organization"]},
        content_type="application/json",
    )
    assert made.status_code == 404
    assert snapshot(cast) == before


__all__ = ["fake_amapi"]  # the fixture, for this module
