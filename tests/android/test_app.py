"""The Android app against a stand-in gateway: signup and its callback (forged, replayed,
expired, another contract's or session's: nothing changes), unbinding, profiles with versions,
publishing through durable work, assignment with inheritance, enrollment tokens (the value
never logged), pages and the API."""

from __future__ import annotations

import datetime
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.test import Client

from mamori.android import amapi, services
from mamori.android.models import (
    EnrollmentToken,
    Enterprise,
    OrganizationProfile,
    Profile,
    PublishState,
    SignupAttempt,
)
from mamori.android.selectors import profile_for_organization
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from mamori.directory.models import Organization
from tests.android.fake_amapi import FakeAmapi
from tests.conftest import Cast, OrgCast, api_client, logged_in, run_work

pytestmark = pytest.mark.django_db


def state_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


def start(client: Client, fake: FakeAmapi, domain: str = "alpha") -> str:
    response = client.post(f"/{domain}/settings/android/")
    assert response.status_code == 200, response.content[:300]
    return state_of(fake.calls[-1][1])


def bind(client: Client, fake: FakeAmapi, domain: str = "alpha") -> None:
    state = start(client, fake, domain)
    response = client.get(
        f"/{domain}/settings/android/callback/", {"state": state, "enterpriseToken": "ET1"}
    )
    assert response.status_code == 302, response.content[:500]


def android_state(contract) -> tuple:
    return (
        list(Enterprise.objects.filter(contract=contract).values_list("name")),
        list(Profile.objects.filter(contract=contract).values_list("name")),
        list(SignupAttempt.objects.filter(contract=contract).values_list("nonce", "used_at")),
        LogEntry.objects.filter(contract=contract).count(),
    )


def test_signup_binds_the_contract_and_publishes_the_initial_profile(
    cast: Cast, fake_amapi: FakeAmapi
) -> None:
    client = logged_in(cast.a1)
    page = client.get("/alpha/settings/android/").content.decode()
    assert 'id="start-signup"' in page
    bind(client, fake_amapi)
    enterprise = Enterprise.objects.get(contract=cast.a)
    assert enterprise.bound_by == cast.a1
    initial = Profile.objects.get(contract=cast.a, is_initial=True)
    assert initial.name == "初期設定プロファイル"
    root = Organization.objects.get(contract=cast.a, parent=None)
    assert OrganizationProfile.objects.get(organization=root).profile == initial
    assert initial.publish_state == PublishState.PENDING
    assert run_work("android.") == ["done"]
    initial.refresh_from_db()
    assert initial.publish_state == PublishState.PUBLISHED and initial.published_number == 1
    assert initial.published_version
    assert fake_amapi.calls[-1][1][0] == f"{enterprise.name}/policies/mamori-{initial.pk}"
    page = client.get("/alpha/settings/android/").content.decode()
    assert enterprise.name in page
    actions = set(LogEntry.objects.filter(contract=cast.a).values_list("action", flat=True))
    assert {"android.signup_started", "android.bound"} <= actions


def test_the_profile_page_polls_its_publication_while_publishing(
    cast: Cast, fake_amapi: FakeAmapi
) -> None:
    client = logged_in(cast.a1)
    bind(client, fake_amapi)
    initial = Profile.objects.get(contract=cast.a, is_initial=True)
    url = f"/alpha/devices/profiles/{initial.pk}/"
    page = client.get(url).content.decode()
    assert 'hx-trigger="every 2s"' in page and "htmx.min.js" in page
    part = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert part.lstrip().startswith('<section class="card mb-3" id="publish-state"')
    assert "配信中" in part and 'id="versions"' not in part
    assert run_work("android.") == ["done"]
    part = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in part and "配信済み" in part


def test_restoring_the_published_version_is_no_unpublished_change(
    cast: Cast, fake_amapi: FakeAmapi
) -> None:
    client = logged_in(cast.a1)
    bind(client, fake_amapi)
    run_work("android.")
    actor = Actor(account=cast.a1)
    profile = Profile.objects.get(contract=cast.a, is_initial=True)
    policy = {**profile.current.policy, "cameraAccess": "CAMERA_ACCESS_DISABLED"}
    services.profile_save(actor=actor, profile=profile, policy=policy, note="camera off")
    url = f"/alpha/devices/profiles/{profile.pk}/"
    assert "未配信の変更あり" in client.get(url).content.decode()
    services.profile_restore(actor=actor, profile=profile, number=1)
    assert "未配信の変更あり" not in client.get(url).content.decode()
    first = client.get(f"{url}versions/1/").content.decode()
    assert "変更前" not in first  # the first version has nothing before it


def test_a_replayed_callback_changes_nothing(cast: Cast, fake_amapi: FakeAmapi) -> None:
    client = logged_in(cast.a1)
    state = start(client, fake_amapi)
    client.get("/alpha/settings/android/callback/", {"state": state, "enterpriseToken": "E"})
    before = android_state(cast.a)
    response = client.get(
        "/alpha/settings/android/callback/", {"state": state, "enterpriseToken": "E2"}
    )
    assert response.status_code == 400
    assert "すでに使用されています" in response.content.decode()
    assert android_state(cast.a) == before


@pytest.mark.parametrize("case", ["forged", "other_session", "expired", "no_token"])
def test_a_bad_callback_changes_nothing(
    cast: Cast, fake_amapi: FakeAmapi, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = logged_in(cast.a1)
    state = start(client, fake_amapi)
    token = "E"
    if case == "forged":
        state = state[:-3] + ("AAA" if not state.endswith("AAA") else "BBB")
    elif case == "other_session":
        client = logged_in(cast.a1)  # the same account, another browser
    elif case == "expired":
        later = datetime.datetime.now(datetime.UTC).timestamp() + 31 * 60
        monkeypatch.setattr(signing.time, "time", lambda: later)
    else:
        token = ""
    before = android_state(cast.a)
    response = client.get(
        "/alpha/settings/android/callback/", {"state": state, "enterpriseToken": token}
    )
    assert response.status_code == 400
    assert android_state(cast.a) == before
    assert "enterprise_create" not in fake_amapi.methods()


def test_another_contracts_callback_changes_nothing(cast: Cast, fake_amapi: FakeAmapi) -> None:
    state = start(logged_in(cast.a1), fake_amapi)
    b = logged_in(cast.b1)
    before_a, before_b = android_state(cast.a), android_state(cast.b)
    response = b.get("/bravo/settings/android/callback/", {"state": state, "enterpriseToken": "E"})
    assert response.status_code == 400
    assert (android_state(cast.a), android_state(cast.b)) == (before_a, before_b)


def test_unbinding_needs_the_domain_and_turns_notifications_off(
    cast: Cast, fake_amapi: FakeAmapi
) -> None:
    client = logged_in(cast.a1)
    bind(client, fake_amapi)
    response = client.post("/alpha/settings/android/unbind/", {"confirm": "wrong"})
    assert response.status_code == 200 and Enterprise.objects.filter(contract=cast.a).exists()
    response = client.post("/alpha/settings/android/unbind/", {"confirm": "alpha"})
    assert response.status_code == 200
    assert not Enterprise.objects.filter(contract=cast.a).exists()
    _name, body, mask = fake_amapi.calls[-1][1]
    assert body == {"pubsubTopic": "", "enabledNotificationTypes": []}
    assert mask == "pubsubTopic,enabledNotificationTypes"
    assert "play.google.com/work" in response.content.decode()


def test_unbinding_deletes_the_tokens_at_google_and_the_devices_when_asked(
    orgs: OrgCast, fake_amapi: FakeAmapi
) -> None:
    """A token left at Google would still enroll devices into an enterprise nobody reads."""
    from mamori.android.models import Device, DeviceKind

    cast = orgs.cast
    client = logged_in(cast.a1)
    bind(client, fake_amapi)
    run_work("android.")
    actor = Actor(account=cast.a1)
    token = services.enrollment_token_create(actor=actor, organization=orgs.sales)
    enterprise = Enterprise.objects.get(contract=cast.a)
    device = Device.objects.create(
        contract=cast.a,
        enterprise=enterprise,
        name=f"{enterprise.name}/devices/D1",
        organization=orgs.sales,
        kind=DeviceKind.FULLY_MANAGED,
    )
    response = client.post(
        "/alpha/settings/android/unbind/", {"confirm": "alpha", "delete_devices": "on"}
    )
    assert 'id="google-deletions"' in response.content.decode()
    assert not Device.objects.filter(pk=device.pk).exists()
    assert sorted(run_work("android.")) == ["done", "done"]
    assert ("enrollment_token_delete", token.name) in fake_amapi.calls
    assert ("device_delete", device.name) in fake_amapi.calls
    entry = LogEntry.objects.filter(action="android.unbound").latest("seq")
    assert entry.after == {"google_answer": "ok", "tokens_deleted": 1, "devices_deleted": 1}


def test_unbinding_an_enterprise_google_no_longer_has_says_so(
    cast: Cast, fake_amapi: FakeAmapi
) -> None:
    client = logged_in(cast.a1)
    bind(client, fake_amapi)
    fake_amapi.fail["enterprise_patch"] = amapi.AmapiNotFound("gone", status=404)
    result = services.enterprise_unbind(
        actor=Actor(account=cast.a1), contract=cast.a, confirm_domain="ALPHA"
    )
    assert result.gone and not Enterprise.objects.filter(contract=cast.a).exists()


def test_profiles_are_versioned_compared_and_restored(orgs: OrgCast, fake_amapi: FakeAmapi) -> None:
    cast = orgs.cast
    client = logged_in(cast.a1)
    bind(client, fake_amapi)
    run_work("android.")
    actor = Actor(account=cast.a1)
    profile = Profile.objects.get(contract=cast.a, is_initial=True)
    policy = {**profile.current.policy, "cameraAccess": "CAMERA_ACCESS_DISABLED"}
    services.profile_save(actor=actor, profile=profile, policy=policy, note="camera off")
    profile.refresh_from_db()
    assert profile.current.number == 2
    page = client.get(f"/alpha/devices/profiles/{profile.pk}/versions/2/").content.decode()
    assert "cameraAccess" in page
    services.profile_restore(actor=actor, profile=profile, number=1)
    profile.refresh_from_db()
    assert (profile.current.number == 3 and "cameraAccess" not in profile.current.policy) or (
        profile.current.policy.get("cameraAccess") != "CAMERA_ACCESS_DISABLED"
    )
    with pytest.raises(services.PolicyInvalid) as refused:
        services.profile_save(actor=actor, profile=profile, policy={"noSuchField": 1})
    assert refused.value.errors[0][0] == "noSuchField"
    # Deleting is refused while the profile is assigned.
    with pytest.raises(services.ValidationError):
        services.profile_delete(actor=actor, profile=profile)


def test_a_profiles_page_shows_what_its_current_version_sets(
    orgs: OrgCast, fake_amapi: FakeAmapi
) -> None:
    bind(logged_in(orgs.cast.a1), fake_amapi)
    profile = Profile.objects.get(contract=orgs.cast.a)
    services.profile_save(
        actor=Actor(account=orgs.cast.a1),
        profile=profile,
        policy={**profile.current.policy, "cameraAccess": "CAMERA_ACCESS_DISABLED"},
        note="",
    )
    page = logged_in(orgs.cast.a1).get(f"/alpha/devices/profiles/{profile.pk}/").content.decode()
    settings = page[page.index('id="settings"') : page.index('id="versions"')]
    assert "バージョン 2 の設定内容" in settings
    assert "<dt>カメラ</dt><dd>無効</dd>" in settings
    assert "CAMERA_ACCESS_DISABLED" not in settings


def test_department_administrators_may_not_change_profiles(
    orgs: OrgCast, fake_amapi: FakeAmapi
) -> None:
    bind(logged_in(orgs.cast.a1), fake_amapi)
    profile = Profile.objects.get(contract=orgs.cast.a)
    response = logged_in(orgs.a2).post(
        f"/alpha/devices/profiles/{profile.pk}/rename/", {"name": "x"}
    )
    assert response.status_code == 403
    assert Profile.objects.get(pk=profile.pk).name == profile.name
    # Publishing would send a draft to every device of the contract: refused too, page and API,
    # and neither the form nor the buttons are offered.
    client, api = logged_in(orgs.a2), api_client(orgs.a2)
    before = android_state(orgs.cast.a)
    assert client.post(f"/alpha/devices/profiles/{profile.pk}/publish/").status_code == 403
    published = api.post(f"/api/v1/profiles/{profile.pk}/publish")
    assert published.status_code == 403
    assert android_state(orgs.cast.a) == before
    assert client.get(f"/alpha/devices/profiles/{profile.pk}/edit/").status_code == 403
    page = client.get(f"/alpha/devices/profiles/{profile.pk}/").content.decode()
    assert 'id="edit-profile"' not in page and 'id="publish"' not in page


def test_sub_organizations_inherit_their_parents_profile(
    orgs: OrgCast, fake_amapi: FakeAmapi
) -> None:
    cast = orgs.cast
    bind(logged_in(cast.a1), fake_amapi)
    actor = Actor(account=cast.a1)
    initial = Profile.objects.get(contract=cast.a)
    sales_profile = services.profile_create(
        actor=actor, contract=cast.a, name="営業", policy=initial.current.policy
    )
    services.profile_assign(actor=actor, organization=orgs.sales, profile=sales_profile)
    assert profile_for_organization(orgs.tokyo) == sales_profile
    assert profile_for_organization(orgs.dev) == initial
    page = logged_in(cast.a1).get("/alpha/devices/profiles/assignments/").content.decode()
    assert "営業" in page
    services.profile_assign(actor=actor, organization=orgs.sales, profile=None)
    assert profile_for_organization(orgs.tokyo) == initial


def test_a_token_is_made_for_its_organizations_profile_and_its_value_is_never_logged(
    orgs: OrgCast, fake_amapi: FakeAmapi
) -> None:
    cast = orgs.cast
    bind(logged_in(cast.a1), fake_amapi)
    client = logged_in(orgs.a2)
    response = client.post(
        "/alpha/devices/enrollment/add/",
        {
            "organization": orgs.tokyo.pk,
            "device_kind": "dedicated",
            "one_time": "1",
            "duration": "604800",
            "note": "受付端末",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    token = EnrollmentToken.objects.get()
    sent = fake_amapi.calls[-1][1]
    assert sent["allow_personal_usage"] == "PERSONAL_USAGE_DISALLOWED_USERLESS"
    assert json.loads(sent["additional_data"]) == {"mamori": token.public_id}
    assert sent["policy_name"].endswith(f"/policies/mamori-{Profile.objects.get().pk}")
    page = client.get(response["Location"]).content.decode()
    assert token.value in page and "<svg" in page
    # A dedicated device is company-owned: no steps for a personal device, which Google refuses.
    assert "Company-owned device" in page and "Personal device" not in page
    png = client.get(f"/alpha/devices/enrollment/{token.pk}/qr.png")
    assert png["Content-Type"] == "image/png" and png.content[:4] == b"\x89PNG"
    entries = LogEntry.objects.filter(action__startswith="enrollment_token.")
    dumped = json.dumps(list(entries.values("before", "after", "target_label")), ensure_ascii=False)
    assert token.value not in dumped and token.value[-4:] in dumped
    # Out of A2's organizations: not there. In them: revoked, and gone from the list.
    assert (
        client.post(
            "/alpha/devices/enrollment/add/",
            {
                "organization": orgs.dev.pk,
                "device_kind": "dedicated",
                "one_time": "1",
                "duration": "3600",
            },
        ).status_code
        == 200
    )
    assert EnrollmentToken.objects.count() == 1
    client.post(f"/alpha/devices/enrollment/{token.pk}/revoke/")
    assert EnrollmentToken.objects.get().revoked_at is not None
    assert token.value[-4:] not in client.get("/alpha/devices/enrollment/").content.decode()
    # Its page says when and by whom, and no longer shows what would not enroll anything.
    page = client.get(f"/alpha/devices/enrollment/{token.pk}/").content.decode()
    assert 'id="token-invalid"' in page and orgs.a2.user.name in page
    assert token.value not in page and "<svg" not in page and 'id="qr-png"' not in page
    assert client.get(f"/alpha/devices/enrollment/{token.pk}/qr.png").status_code == 404


@pytest.mark.parametrize(
    "kind", ["fully_managed", "company_work_profile", "personal_work_profile", "dedicated"]
)
def test_a_tokens_device_kind_is_kept_and_decides_its_steps(
    orgs: OrgCast, fake_amapi: FakeAmapi, kind: str
) -> None:
    """The two work-profile kinds share one allowPersonalUsage; the page follows the kind chosen."""
    from mamori.android.models import PERSONAL_USAGE_OF_KIND, DeviceKind

    cast = orgs.cast
    bind(logged_in(cast.a1), fake_amapi)
    response = api_client(cast.a1).post(
        "/api/v1/enrollment-tokens",
        {"organization_id": orgs.tokyo.pk, "device_kind": kind, "duration_seconds": 3600},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["device_kind"] == kind
    token = EnrollmentToken.objects.get()
    assert token.kind == kind
    assert token.allow_personal_usage == PERSONAL_USAGE_OF_KIND[DeviceKind(kind)]
    page = logged_in(cast.a1).get(f"/alpha/devices/enrollment/{token.pk}/").content.decode()
    assert ("会社所有のデバイス" in page) == (kind != "personal_work_profile")
    assert ("個人所有のデバイス" in page) == (kind == "personal_work_profile")
    entry = LogEntry.objects.filter(action="enrollment_token.created").latest("seq")
    assert entry.after["device_kind"] == kind


def test_a_token_without_expiry_must_be_reusable(orgs: OrgCast, fake_amapi: FakeAmapi) -> None:
    bind(logged_in(orgs.cast.a1), fake_amapi)
    with pytest.raises(services.ValidationError) as refused:
        services.enrollment_token_create(
            actor=Actor(account=orgs.cast.a1),
            organization=orgs.sales,
            duration_seconds=None,
            one_time=True,
        )
    assert "duration_seconds" in refused.value.message_dict
    token = services.enrollment_token_create(
        actor=Actor(account=orgs.cast.a1),
        organization=orgs.sales,
        duration_seconds=None,
        one_time=False,
    )
    assert token.expires_at is None


def test_the_api_covers_profiles_and_tokens(orgs: OrgCast, fake_amapi: FakeAmapi) -> None:
    cast = orgs.cast
    client = api_client(cast.a1)
    assert client.get("/api/v1/android/enterprise").status_code == 404
    signup = client.post("/api/v1/android/enterprise", {}, content_type="application/json")
    assert signup.status_code == 201 and signup.json()["signup_url"].startswith("http")
    # The API's signup is finished in the panel by the same account, in any of its sessions.
    state = state_of(fake_amapi.calls[-1][1])
    done = logged_in(cast.a1).get(
        "/alpha/settings/android/callback/", {"state": state, "enterpriseToken": "E"}
    )
    assert done.status_code == 302
    assert client.get("/api/v1/android/enterprise").json()["name"].startswith("enterprises/")
    bad = client.post(
        "/api/v1/profiles",
        {"name": "壊れた", "policy": {"cameraAccess": "NOPE"}},
        content_type="application/json",
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid"
    assert bad.json()["error"]["details"][0]["field"] == "policy.cameraAccess"
    made = client.post(
        "/api/v1/profiles",
        {"name": "営業用", "policy": {"screenCaptureDisabled": True}},
        content_type="application/json",
    )
    assert made.status_code == 201
    pid = made.json()["id"]
    assert client.post(f"/api/v1/profiles/{pid}/publish").status_code == 202
    run_work("android.")
    got = client.get(f"/api/v1/profiles/{pid}").json()
    assert got["publish_state"] == "published" and got["published_version"]
    assert client.get(f"/api/v1/profiles/{pid}/versions").json()[0]["number"] == 1
    assigned = client.put(
        f"/api/v1/organizations/{orgs.sales.pk}/profile",
        {"profile_id": pid},
        content_type="application/json",
    )
    assert assigned.json()["effective_profile_id"] == pid
    token = client.post(
        "/api/v1/enrollment-tokens",
        {
            "organization_id": orgs.tokyo.pk,
            "duration_seconds": 3600,
            "one_time": True,
            "allow_personal_usage": "PERSONAL_USAGE_ALLOWED",
        },
        content_type="application/json",
    )
    assert token.status_code == 201 and token.json()["value"]
    tid = token.json()["id"]
    assert [t["id"] for t in client.get("/api/v1/enrollment-tokens").json()] == [tid]
    assert client.delete(f"/api/v1/enrollment-tokens/{tid}").status_code == 204
    assert client.get("/api/v1/enrollment-tokens").json() == []
    assert client.delete(f"/api/v1/profiles/{pid}").status_code == 422  # still assigned
    assert client.delete("/api/v1/android/enterprise").json()["gone"] is False


API_WRONG_INPUTS = {
    # (method, path, body, status, field of the first detail)
    "profile-id-true": (
        "put",
        "/api/v1/organizations/{sales}/profile",
        {"profile_id": True},
        422,
        "profile_id",
    ),
    "one-time-yes": (
        "post",
        "/api/v1/enrollment-tokens",
        {"organization_id": "{tokyo}", "one_time": "yes", "duration_seconds": 3600},
        422,
        "one_time",
    ),
    "duration-1e100": (
        "post",
        "/api/v1/enrollment-tokens",
        {"organization_id": "{tokyo}", "duration_seconds": 10**100},
        422,
        "duration_seconds",
    ),
    "dedicated-with-user": (
        "post",
        "/api/v1/enrollment-tokens",
        {
            "organization_id": "{tokyo}",
            "user_id": "{sato}",
            "allow_personal_usage": "PERSONAL_USAGE_DISALLOWED_USERLESS",
            "duration_seconds": 3600,
        },
        422,
        "user_id",
    ),
    "negative-length": (
        "post",
        "/api/v1/profiles",
        {"name": "負", "policy": {"passwordPolicies": [{"passwordMinimumLength": -5}]}},
        400,
        "policy.passwordPolicies[0].passwordMinimumLength",
    ),
    "http-callback": (
        "post",
        "/api/v1/android/enterprise",
        {"callback_url": "http://evil.example/cb"},
        422,
        "callback_url",
    ),
}


@pytest.mark.parametrize("case", sorted(API_WRONG_INPUTS))
def test_wrong_input_in_the_android_api_says_which_field_and_changes_nothing(
    orgs: OrgCast, fake_amapi: FakeAmapi, case: str
) -> None:
    cast = orgs.cast
    method, path, body, status, field = API_WRONG_INPUTS[case]
    if "android/enterprise" not in path:
        bind(logged_in(cast.a1), fake_amapi)
        run_work("android.")
    ids = {"sales": orgs.sales.pk, "tokyo": orgs.tokyo.pk, "sato": orgs.sato.pk}
    body = {
        k: int(v.format(**ids)) if isinstance(v, str) and v.startswith("{") else v
        for k, v in body.items()
    }
    client = api_client(cast.a1)
    before = wrong_input_state(cast.a)
    assignments = list(OrganizationProfile.objects.values_list("organization_id", "profile_id"))
    response = getattr(client, method)(
        path.format(**ids), json.dumps(body), content_type="application/json"
    )
    assert response.status_code == status, response.content
    detail = response.json()["error"]["details"][0]
    assert detail["field"] == field and detail["message"]
    assert wrong_input_state(cast.a) == before
    assert (
        list(OrganizationProfile.objects.values_list("organization_id", "profile_id"))
        == assignments
    )


def wrong_input_state(contract) -> tuple:
    """What a refused form must leave as it was: profiles with their versions, tokens, AMAPI
    calls are counted by the caller, the operation log."""
    from mamori.android.models import ProfileVersion

    return (
        list(Profile.objects.filter(contract=contract).values_list("pk", "name", "current_id")),
        list(ProfileVersion.objects.filter(profile__contract=contract).values_list("pk", "policy")),
        list(EnrollmentToken.objects.filter(contract=contract).values_list("pk", "note")),
        list(Enterprise.objects.filter(contract=contract).values_list("name")),
        LogEntry.objects.filter(contract=contract).count(),
    )


LONG = "あ" * 300
TOKEN_OK = {"device_kind": "fully_managed", "one_time": "1", "duration": "604800"}
# (page, form data, message the page shows) — each refused, nothing changed.
WRONG_INPUTS = {
    "profile-name-empty": ("profiles/add/", {"name": ""}, "プロファイル名を入力してください。"),
    "profile-name-300": ("profiles/add/", {"name": LONG}, "プロファイル名は100文字以内"),
    "rename-empty": ("profiles/{p}/rename/", {"name": " "}, "プロファイル名を入力してください。"),
    "copy-300": ("profiles/{p}/copy/", {"name": LONG}, "プロファイル名は100文字以内"),
    "bad-package": (
        "profiles/{p}/edit/",
        {"app-0-package_name": "1bad", "app-0-install_type": "FORCE_INSTALLED"},
        "applications[0].packageName",
    ),
    "advanced-not-json": ("profiles/{p}/edit/", {"advanced": "{camera: off"}, "JSON"),
    "advanced-unknown-field": (
        "profiles/{p}/edit/",
        {"advanced": '{"cameraOff": true}'},
        "cameraOff",
    ),
    "note-300": ("profiles/{p}/edit/", {"note": LONG}, "このバージョンのメモは"),
    "managed-configuration-too-deep": (
        "profiles/{p}/edit/",
        {
            "app-0-package_name": "com.example.app",
            "app-0-install_type": "FORCE_INSTALLED",
            "app-0-managed_configuration": '{"k": ' + "[" * 1500 + "]" * 1500 + "}",
        },
        "32",
    ),
    "work-off-days-1": (
        "profiles/{p}/edit/",
        {"personal_max_days_work_off": "1"},
        "personalUsagePolicies.maxDaysWithWorkOff",
    ),
    "minimum-length-out-of-range": (
        "profiles/{p}/edit/",
        {"password_minimum_length": "-1"},
        "パスワードの最小文字数",
    ),
    "token-duration-out-of-range": (
        "enrollment/add/",
        {**TOKEN_OK, "duration": "8640000"},
        "有効期間",
    ),
    "token-no-expiry-one-time": (
        "enrollment/add/",
        {**TOKEN_OK, "duration": "none"},
        "無期限",
    ),
    "token-note-300": ("enrollment/add/", {**TOKEN_OK, "note": LONG}, "メモは200文字以内"),
    "token-user-300": (
        "enrollment/add/",
        {**TOKEN_OK, "user": LONG},
        "ユーザー（任意）は254文字以内",
    ),
    "token-unknown-user": (
        "enrollment/add/",
        {**TOKEN_OK, "user": "nobody@alpha.example"},
        "この社員コードまたはメールアドレスのユーザーはいません。",
    ),
    "unbind-empty": ("/alpha/settings/android/unbind/", {"confirm": ""}, "利用ドメイン"),
    "token-dedicated-with-user": (
        "enrollment/add/",
        {**TOKEN_OK, "device_kind": "dedicated", "user": "sato@alpha.example"},
        "専用デバイスにはユーザーがいません",
    ),
}


@pytest.mark.parametrize("case", sorted(WRONG_INPUTS))
def test_wrong_input_on_the_android_forms_says_why_and_changes_nothing(
    orgs: OrgCast, fake_amapi: FakeAmapi, case: str
) -> None:
    cast = orgs.cast
    client = logged_in(cast.a1)
    bind(client, fake_amapi)
    run_work("android.")
    initial = Profile.objects.get(contract=cast.a, is_initial=True)
    path, data, message = WRONG_INPUTS[case]
    if path.startswith("profiles/{p}/edit/"):
        # The form as the page shows it, with the wrong value put in.
        page = client.get(f"/alpha/devices/profiles/{initial.pk}/edit/")
        form = page.context["form"]
        shown = {name: form[name].value() for name in form.fields}
        shown = {k: ("on" if v is True else v) for k, v in shown.items() if v not in (None, False)}
        data = {**shown, **data}
    if "organization" not in data and path.startswith("enrollment/"):
        data = {**data, "organization": orgs.root.pk}
    before = wrong_input_state(cast.a)
    calls = len(fake_amapi.calls)
    url = path if path.startswith("/") else f"/alpha/devices/{path.format(p=initial.pk)}"
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    assert message in response.content.decode(), case
    assert wrong_input_state(cast.a) == before
    assert len(fake_amapi.calls) == calls


def test_assigning_a_profile_never_published_publishes_it(
    orgs: OrgCast, fake_amapi: FakeAmapi
) -> None:
    """Its devices and tokens would otherwise name a policy Google does not have."""
    cast = orgs.cast
    bind(logged_in(cast.a1), fake_amapi)
    assert run_work("android.") == ["done"]  # the initial profile, published at signup
    actor = Actor(account=cast.a1)
    initial = Profile.objects.get(contract=cast.a)
    draft = services.profile_create(actor=actor, contract=cast.a, name="営業", policy={})
    assert draft.published_number is None
    services.profile_assign(actor=actor, organization=orgs.sales, profile=draft)
    draft.refresh_from_db()
    assert draft.publish_state == PublishState.PENDING
    entry = LogEntry.objects.filter(action="profile.assigned").latest("seq")
    assert entry.after == {"profile": "営業", "published": True}
    assert run_work("android.") == ["done"]
    draft.refresh_from_db()
    assert draft.published_number == 1
    assert fake_amapi.calls[-1][1][0].endswith(f"/policies/mamori-{draft.pk}")
    # A profile published before is assigned as it is: nothing is published with it.
    services.profile_assign(actor=actor, organization=orgs.dev, profile=initial)
    assert run_work("android.") == []
