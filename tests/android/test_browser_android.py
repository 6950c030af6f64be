"""Issue 8's browser test, in each language: a System administrator binds the contract to
Android Enterprise on the sandbox's signup page, edits the initial settings profile (camera off,
a password required) and publishes it, makes a one-time enrollment token and reads its QR code;
a virtual device enrolls with it once, and only once.

The sandbox is the real one over HTTP (``amapi_sandbox``), reached by the gateway with its
service-account key file, as Google would be; publishing runs through durable work, run here.
"""

from __future__ import annotations

import io
import json
import os
import zoneinfo

import pytest
import zxingcpp
from django.conf import LazySettings
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from mamori.accounts.models import Account
from mamori.android.models import EnrollmentToken, Enterprise, Profile, PublishState
from tests.android.sandbox import AmapiSandbox
from tests.android.test_sandbox_cli import mamori
from tests.browser import open_page, screenshot
from tests.conftest import PASSWORD, Cast, cast_create, run_work

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # see tests/test_browser.py

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "ja": {
        "locale": "ja-JP",
        "start": "登録を開始",
        "bound": "Android Enterprise に登録しました",
        "profiles": "プロファイル",
        "initial": "初期設定プロファイル",
        "edit": "編集",
        "save": "保存",
        "publish": "配信",
        "published": "配信済み",
        "tokens": "登録トークン",
        "new_token": "新しい登録トークン",
        "create": "作成",
        "png": "QR コードをダウンロード（PNG）",
        "amapi_version": "AMAPI バージョン %(v)s",
    },
    "en": {
        "locale": "en-US",
        "start": "Start signup",
        "bound": "The contract is bound to Android Enterprise",
        "profiles": "Profiles",
        "initial": "Initial settings profile",
        "edit": "Edit",
        "save": "Save",
        "publish": "Publish",
        "published": "Published",
        "tokens": "Enrollment tokens",
        "new_token": "New enrollment token",
        "create": "Create",
        "png": "Download the QR code (PNG)",
        "amapi_version": "AMAPI version %(v)s",
    },
}


def _log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/alpha/login/")
    page.locator("input[name=account]").fill("admin")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("button[type=submit]").first.click()
    page.wait_for_url(f"{base}/alpha/")


def _sign_up(page: Page, base: str, t: dict[str, str], cast: Cast, sandbox: AmapiSandbox) -> None:
    """Settings → Android Enterprise → the sandbox's signup page → back on Mamori, bound."""
    page.get_by_role("link", name="Settings", exact=True).click()
    page.locator("#settings-android").click()
    expect(page).to_have_url(f"{base}/alpha/settings/android/")
    page.get_by_role("button", name=t["start"], exact=True).click()
    # The meta refresh (a redirect of the POST would break the CSP's form-action) moves the
    # browser, top-level, to the sandbox's page.
    page.wait_for_url(f"{sandbox.endpoint}**")
    page.get_by_label("Organization name").fill("アルファ株式会社")
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(f"{base}/alpha/settings/android/")
    expect(page.locator(".alert-success")).to_contain_text(t["bound"])
    enterprise = Enterprise.objects.get(contract=cast.a)
    assert enterprise.display_name == "アルファ株式会社"
    expect(page.locator("#enterprise-name")).to_have_text(enterprise.name)
    expect(page.locator("#enterprise-display-name")).to_have_text("アルファ株式会社")
    # In the account's timezone: near midnight there the date differs from UTC's.
    cast.a1.refresh_from_db()
    shown = enterprise.bound_at.astimezone(zoneinfo.ZoneInfo(cast.a1.timezone))
    expect(page.locator("#binding")).to_contain_text(shown.strftime("%Y-%m-%d %H:%M"))
    expect(page.locator("#binding")).to_contain_text(f"({cast.a1.name})")
    screenshot(page, f"android-{t['locale']}-bound.png")
    # AMAPI has the enterprise, with the deployment's topic.
    got = sandbox.client().enterprises().get(name=enterprise.name).execute()
    assert got["enterpriseDisplayName"] == "アルファ株式会社"
    assert got["pubsubTopic"].endswith("/topics/mamori")


def _edit_and_publish(page: Page, base: str, t: dict[str, str], cast: Cast) -> Profile:
    """The initial settings profile: camera off and a password required, saved and published."""
    assert run_work("android.") == ["done"]  # the initial profile's first publication
    page.goto(f"{base}/alpha/devices/")
    page.locator("#nav-profiles").click()
    page.locator("#profiles").get_by_role("link", name=t["initial"]).click()
    initial = Profile.objects.get(contract=cast.a, is_initial=True)
    expect(page).to_have_url(f"{base}/alpha/devices/profiles/{initial.pk}/")
    expect(page.locator("#state")).to_have_text(t["published"])
    page.locator("#edit-profile").click()
    page.locator("select[name=camera_access]").select_option("CAMERA_ACCESS_DISABLED")
    page.locator("select[name=password_quality]").select_option("ALPHANUMERIC")
    page.locator("input[name=password_minimum_length]").fill("8")
    page.locator("input[name=note]").fill("カメラ禁止、パスワード必須")
    # Enter in a field saves (the form's first submit button is Save, not "Add app").
    page.locator("input[name=note]").press("Enter")
    expect(page).to_have_url(f"{base}/alpha/devices/profiles/{initial.pk}/")
    initial.refresh_from_db()
    assert initial.current is not None and initial.current.number == 2
    assert initial.current.policy["cameraAccess"] == "CAMERA_ACCESS_DISABLED"
    assert initial.current.policy["passwordPolicies"] == [
        {"passwordQuality": "ALPHANUMERIC", "passwordMinimumLength": 8}
    ]
    page.get_by_role("button", name=t["publish"], exact=True).click()
    expect(page).to_have_url(f"{base}/alpha/devices/profiles/{initial.pk}/")
    initial.refresh_from_db()
    assert initial.publish_state == PublishState.PENDING
    assert run_work("android.") == ["done"]
    initial.refresh_from_db()
    assert initial.publish_state == PublishState.PUBLISHED and initial.published_number == 2
    # No reload: the page polls its publication part while publishing (htmx, every 2 s).
    expect(page.locator("#state")).to_have_text(t["published"], timeout=10_000)
    expect(page.locator("#published")).to_contain_text(
        t["amapi_version"] % {"v": initial.published_version}
    )
    screenshot(page, f"android-{t['locale']}-published.png")
    return initial


def _qr_text(page: Page, base: str, token: EnrollmentToken) -> str:
    """The PNG download, decoded."""
    href = page.locator("#qr-png").get_attribute("href")
    assert href == f"/alpha/devices/enrollment/{token.pk}/qr.png"
    response = page.request.get(f"{base}{href}")
    assert response.status == 200 and response.headers["content-type"] == "image/png"
    (result,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.body())))
    assert result.format == zxingcpp.BarcodeFormat.QRCode
    return str(result.text)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_signup_profile_publication_and_enrollment_in_the_browser(
    lang: str,
    live_server: LiveServer,
    settings: LazySettings,
    chromium: Browser,
    amapi_sandbox: AmapiSandbox,
) -> None:
    t = TEXT[lang]
    base = live_server.url
    settings.MAMORI_BASE_URL = base
    cast = cast_create()
    Account.objects.filter(pk=cast.a1.pk).update(language=lang)
    page = open_page(chromium, t["locale"])
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        _log_in(page, base)
        _sign_up(page, base, t, cast, amapi_sandbox)
        initial = _edit_and_publish(page, base, t, cast)
        enterprise = Enterprise.objects.get(contract=cast.a)
        policy = (
            amapi_sandbox.client()
            .enterprises()
            .policies()
            .get(name=f"{enterprise.name}/policies/mamori-{initial.pk}")
            .execute()
        )
        assert policy["cameraAccess"] == "CAMERA_ACCESS_DISABLED"
        assert policy["passwordPolicies"][0]["passwordQuality"] == "ALPHANUMERIC"
        assert policy["version"] == initial.published_version

        # An enrollment token for the top organization: one device, one time.
        page.get_by_role("link", name=t["tokens"], exact=True).click()
        page.get_by_role("link", name=t["new_token"], exact=True).click()
        page.locator("#token-form").get_by_role("button", name=t["create"], exact=True).click()
        token = EnrollmentToken.objects.get(contract=cast.a)
        expect(page).to_have_url(f"{base}/alpha/devices/enrollment/{token.pk}/")
        assert token.one_time
        expect(page.locator("#token-value")).to_have_text(token.value)
        expect(page.locator("#qr svg")).to_be_visible()
        expect(page.get_by_role("link", name=t["png"], exact=True)).to_be_visible()
        screenshot(page, f"android-{t['locale']}-token.png")
        qr = _qr_text(page, base, token)
        assert qr == token.qr_code
        extras = json.loads(qr)["android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE"]
        assert extras["com.google.android.apps.work.clouddpc.EXTRA_ENROLLMENT_TOKEN"] == token.value

        # A virtual device enrolls with it, as a person types it; a second one is refused.
        var = amapi_sandbox.server.var_dir
        first = mamori("amapi-sandbox", "enroll", "--token", token.value, var=var)
        assert first.returncode == 0, first.stderr
        (device,) = first.stdout.split()
        assert device.startswith(f"{enterprise.name}/devices/")
        got = amapi_sandbox.client().enterprises().devices().get(name=device).execute()
        assert got["policyName"] == f"{enterprise.name}/policies/mamori-{initial.pk}"
        again = mamori("amapi-sandbox", "enroll", "--token", token.value, var=var)
        assert (again.returncode, again.stdout) == (1, "")
        assert "The one-time enrollment token has already been used." in again.stderr
        assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e]
    finally:
        page.context.close()
