"""Every page of the panel in Chromium, in both languages, at 390 and 1280 pixels wide.

Each page must fit the screen (``document.documentElement.scrollWidth <= innerWidth``: tables
scroll inside their card, nothing widens the page), load nothing the Content-Security-Policy
refuses, and break no Japanese name inside a word. Screenshots land in
``test-artifacts/pages/<lang>-<width>-<page>.png`` for a person to look at.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page
from pytest_django.live_server_helper import LiveServer

from mamori.accounts.models import Account
from mamori.alerts.models import (
    Alert,
    AlertKind,
    AlertLevel,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)
from mamori.android import services as android
from mamori.android.models import Device, PersonalUsage, Profile
from mamori.android.policy import initial_policy
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from mamori.directory.services import organization_create
from mamori.support.models import Inquiry
from tests.alerts import alert_change, alert_open
from tests.android import sandbox as android_sandbox
from tests.android.devices import make_device
from tests.android.sandbox import AmapiSandbox
from tests.browser import ARTIFACTS
from tests.conftest import (
    PASSWORD,
    OrgCast,
    cast_create,
    make_user,
    open_contract,
    orgs_create,
    run_work,
)

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # see tests/test_browser.py

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The AMAPI sandbox's fixtures (tests/android/conftest.py is not in this directory's reach).
amapi_sandbox_server = android_sandbox.amapi_sandbox_server
amapi_sandbox = android_sandbox.amapi_sandbox

WIDTHS = (390, 1280)
LONG_NAME = "長い名前" * 50  # 200 characters


def _data() -> tuple[OrgCast, dict[str, object]]:
    orgs = orgs_create(cast_create())
    a1 = orgs.cast.a1
    a1.support_option = True
    a1.save(update_fields=["support_option"])
    # Two 「東京」 in different places, a 200-character name, a long e-mail address.
    osaka = organization_create(actor=Actor.operator(), parent=orgs.dev, name="東京")
    make_user(osaka, LONG_NAME, "a-very-long-address-of-someone@long-subdomain.alpha.example")
    make_user(orgs.tokyo, "鈴木 一郎太", "ichirota@alpha.example", "スズキ イチロウタ")
    inquiry = Inquiry.objects.create(
        contract=orgs.cast.a,
        account=a1,
        sender_name="アルファ 管理者",
        sender_email="admin@alpha.example",
        category="other",
        subject="端末の登録について" * 5,
        body="本文",
    )
    entry = LogEntry.objects.filter(contract=orgs.cast.a, action="user.created").latest("seq")
    webhook = Webhook.objects.create(
        contract=orgs.cast.a,
        url="https://hooks.example.com/" + "a-very-long-path-segment/" * 12 + "?token=abc",
        secret="whsec_pages",
    )
    return orgs, {
        "webhook": webhook.pk,
        "sato": orgs.sato.pk,
        "a3_user": orgs.a3.user_id,
        "sales": orgs.sales.pk,
        "entry": entry.pk,
        "inquiry": inquiry.pk,
        "scheme": orgs.a4.scheme_id,
    }


def _android(orgs: OrgCast, sandbox: AmapiSandbox) -> dict[str, object]:
    """Contract A bound on the sandbox, its initial profile edited (version 2: camera off, a
    password, an app) and published, a second profile for 営業部, and two tokens."""
    a1 = Actor(account=orgs.cast.a1)
    url = android.enterprise_signup_start(actor=a1, contract=orgs.cast.a, session_key="pages")
    back = parse_qs(urlsplit(sandbox.confirm_signup(url, "アルファ株式会社")).query)
    android.enterprise_signup_complete(
        actor=a1,
        contract=orgs.cast.a,
        state=back["state"][0],
        enterprise_token=back["enterpriseToken"][0],
        session_key="pages",
    )
    initial = Profile.objects.get(contract=orgs.cast.a, is_initial=True)
    policy: dict[str, Any] = {
        **initial_policy(),
        "cameraAccess": "CAMERA_ACCESS_DISABLED",
        "passwordPolicies": [{"passwordQuality": "ALPHANUMERIC", "passwordMinimumLength": 8}],
        "maximumTimeToLock": "300000",
        "applications": [
            {"packageName": "com.google.android.gm", "installType": "FORCE_INSTALLED"},
            {"packageName": "jp.naver.line.android", "installType": "BLOCKED"},
        ],
    }
    android.profile_save(
        actor=a1, profile=initial, policy=policy, note="カメラ禁止、パスワード必須"
    )
    android.profile_publish(actor=a1, profile=initial)
    sales = android.profile_create(
        actor=a1, contract=orgs.cast.a, name="営業部用プロファイル", policy=initial_policy()
    )
    android.profile_assign(actor=a1, organization=orgs.sales, profile=sales)
    run_work("android.")
    token = android.enrollment_token_create(
        actor=a1, organization=orgs.tokyo, user=orgs.sato, note="東京支店の貸与端末"
    )
    android.enrollment_token_create(
        actor=a1,
        organization=orgs.sales,
        duration_seconds=None,
        one_time=False,
        allow_personal_usage=PersonalUsage.ALLOWED,
    )
    return {"profile": initial.pk, "token": token.pk, **_devices(orgs, initial)}


def _devices(orgs: OrgCast, profile: Profile) -> dict[str, object]:
    """Devices in the list (current, behind, not compliant with long reasons, lost, with a
    200-character user name) and the page of one with every report."""
    profile.refresh_from_db()
    version = int(profile.published_version or 1)
    long_user = make_user(orgs.tokyo, LONG_NAME, "long-device-user@alpha.example")
    device = make_device(
        orgs.tokyo,
        user=orgs.sato,
        serial="R5CT1234567ABCDEFGH",
        model="Galaxy S24 Ultra Enterprise Edition",
        profile_id=profile.pk,
        version=version - 1,
        compliant=False,
        posture="AT_RISK",
        note="東京支店の貸与端末" * 5,
        non_compliance=[
            {
                "settingName": "passwordPolicies",
                "nonComplianceReason": "USER_ACTION",
                "specificNonComplianceReason": "PASSWORD_POLICIES_PASSWORD_NOT_SUFFICIENT",
            },
            {
                "settingName": "applications",
                "packageName": "com.example.a.very.long.package.name.for.an.enterprise.app",
                "nonComplianceReason": "APP_NOT_INSTALLED",
                "installationFailureReason": "NETWORK_ERROR_UNRELIABLE_CONNECTION",
            },
        ],
    )
    make_device(orgs.sales, user=long_user, profile_id=profile.pk, version=version)
    lost = make_device(orgs.dev, state="LOST", compliant=None, hours_ago=80, battery=5)
    make_device(orgs.sales, kind="personal_work_profile", hours_ago=None, version=None)
    _deliveries(device)
    # Open alerts for the list and the device's page (not told: the webhook's page is set).
    alert, _event = alert_open(device, AlertKind.NON_COMPLIANT, AlertLevel.WARNING, dispatch=False)
    Alert.objects.filter(pk=alert.pk).update(
        details={"nonComplianceDetails": [
            {"settingName": "passwordPolicies", "nonComplianceReason": "USER_ACTION"},
            {"settingName": "applications", "nonComplianceReason": "APP_NOT_INSTALLED",
             "packageName": "com.example.a.very.long.package.name.for.an.enterprise.app"},
        ]}
    )  # fmt: skip
    alert_open(device, AlertKind.NO_REPORT, AlertLevel.CAUTION, dispatch=False)
    alert_open(lost, AlertKind.LEFT_MANAGEMENT, AlertLevel.IMPORTANT, dispatch=False)
    return {"device": device.pk, "alert": alert.pk}


def _deliveries(device: Device) -> None:
    """The webhook's page: the deliveries of an alert's events (made by the dispatch), one
    retried then delivered, one failed for good, one waiting."""
    webhook = Webhook.objects.get(contract_id=device.contract_id)
    alert, _event = alert_open(device, kind=AlertKind.COMPROMISED, level=AlertLevel.WARNING)
    alert_change(alert, "risen", AlertLevel.IMPORTANT)
    alert_change(alert, "cleared")
    deliveries = WebhookDelivery.objects.filter(webhook=webhook).order_by("id")
    outcomes = (((500, 503, 200), "delivered"), ((404,), "failed"), ((), "pending"))
    for delivery, (codes, status) in zip(deliveries, outcomes, strict=True):
        failed = "The receiver answered 404 Not Found." if status == "failed" else ""
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=status, last_error=failed)
        WebhookAttempt.objects.bulk_create(
            WebhookAttempt(delivery=delivery, status_code=code) for code in codes
        )
    # An attempt without an answer, and why.
    WebhookAttempt.objects.create(
        delivery=deliveries[2], reason="refused", error="ConnectionRefusedError: [Errno 111]"
    )


PAGES = {
    "home": "/alpha/",
    "devices": "/alpha/devices/",
    "users": "/alpha/users/",
    "users-sales": "/alpha/users/?org={sales}&sort=-name",
    "user": "/alpha/users/{sato}/",
    "user-add": "/alpha/users/add/",
    "user-edit": "/alpha/users/{sato}/edit/",
    "account-edit": "/alpha/users/{a3_user}/account/",
    "org-move": "/alpha/orgs/{sales}/move/",
    "import": "/alpha/users/import/",
    "logs": "/alpha/logs/",
    "logs-until-before-from": "/alpha/logs/?since=2026-01-02T00:00&until=2026-01-01T00:00",
    "log-entry": "/alpha/logs/{entry}/",
    "settings": "/alpha/settings/",
    "security": "/alpha/settings/security/",
    "schemes": "/alpha/settings/schemes/",
    "scheme-new": "/alpha/settings/schemes/new/",
    "scheme-edit": "/alpha/settings/schemes/{scheme}/",
    "account": "/alpha/account/",
    "two-factor": "/alpha/account/two-factor/",
    "two-factor-setup": "/alpha/account/two-factor/setup/",
    "android": "/alpha/settings/android/",
    "profiles": "/alpha/devices/profiles/",
    "profile": "/alpha/devices/profiles/{profile}/",
    "profile-edit": "/alpha/devices/profiles/{profile}/edit/",
    "profile-compare": "/alpha/devices/profiles/{profile}/versions/2/",
    "profile-assignments": "/alpha/devices/profiles/assignments/",
    "tokens": "/alpha/devices/enrollment/",
    "token-add": "/alpha/devices/enrollment/add/",
    "token": "/alpha/devices/enrollment/{token}/",
    "devices-filtered": "/alpha/devices/?org={sales}&compliance=no&sort=-last_report",
    "device": "/alpha/devices/{device}/",
    "alerts": "/alpha/devices/alerts/?state=all",
    "alerts-device": "/alpha/devices/alerts/?device={device}&level=bogus",
    "alert": "/alpha/devices/alerts/{alert}/",
    "alerts-settings": "/alpha/settings/alerts/",
    "device-move": "/alpha/devices/{device}/move/",
    "support": "/alpha/support/",
    "inquiry-new": "/alpha/support/new/",
    "inquiry": "/alpha/support/{inquiry}/",
    "webhooks": "/alpha/settings/webhooks/",
    "webhook": "/alpha/settings/webhooks/{webhook}/",
    "not-found": "/alpha/users/999999/",
}
ANONYMOUS = {
    "login": "/alpha/login/",
    "general-login": "/login/",
    "password-set-invalid": "/alpha/password/set/not-a-token/",
}


WIDER_THAN_SCREEN = """() => [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1
    && !(el.parentElement && el.parentElement.closest('.table-responsive, .checklist')))
  .slice(0, 8).map(el => el.tagName + '.' + el.className + ' ' + el.getBoundingClientRect().right)"""


def _check(page: Page, name: str, lang: str, width: int, errors: list[str]) -> None:
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    ARTIFACTS.joinpath("pages").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "pages" / f"{lang}-{width}-{name}.png", full_page=True)
    if not fits:  # name what sticks out, outermost first
        wide = page.evaluate(WIDER_THAN_SCREEN)
        pytest.fail(f"{name} ({lang}, {width}px) is wider than the screen {widths}: {wide}")
    refused = [e for e in errors if "Content Security Policy" in e or "Refused" in e]
    assert not refused, f"{name} ({lang}, {width}px): {refused}"


def _open(chromium: Browser, width: int, errors: list[str]) -> Page:
    context = chromium.new_context(viewport={"width": width, "height": 900})
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page


def _log_in(page: Page, base: str, lang: str, domain: str = "alpha") -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/{domain}/login/")
    page.locator("input[name=account]").fill("admin")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("button[type=submit]").first.click()
    page.wait_for_url(f"{base}/{domain}/")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_page_fits_390_and_1280_pixels_in_both_languages(
    live_server: LiveServer, chromium: Browser, lang: str, amapi_sandbox: AmapiSandbox
) -> None:
    orgs, ids = _data()
    ids |= _android(orgs, amapi_sandbox)
    # Another contract, not bound: Settings → Android Enterprise before the signup.
    open_contract("charlie", "チャーリー株式会社", language=lang)
    Account.objects.filter(contract__domain="alpha", name="admin").update(language=lang)
    for width in WIDTHS:
        errors: list[str] = []
        page = _open(chromium, width, errors)
        try:
            for name, path in ANONYMOUS.items():
                response = page.goto(f"{live_server.url}{path}")
                assert response is not None and response.status in (200, 404), (name, response)
                _check(
                    page,
                    name,
                    lang if name != "general-login" else f"{lang}-browser",
                    width,
                    errors,
                )
            _log_in(page, live_server.url, lang)
            assert page.locator("html").get_attribute("lang") == lang
            for name, path in PAGES.items():
                response = page.goto(f"{live_server.url}{path.format(**ids)}")
                expected = 404 if name == "not-found" else 200
                assert response is not None and response.status == expected, (name, response.status)
                _check(page, name, lang, width, errors)
                if name == "token":  # the printable page, as printed
                    page.emulate_media(media="print")
                    _check(page, "token-print", lang, width, errors)
                    page.emulate_media(media="screen")
                if name == "profile-assignments" and width == 390:
                    # Each row's Save stays on the screen: the rows stack on a phone.
                    off = page.evaluate(
                        "[...document.querySelectorAll('#assignments button')]"
                        ".filter(b => b.getBoundingClientRect().right > window.innerWidth).length"
                    )
                    assert off == 0, (lang, off)
                if name in ("alerts", "alerts-device"):
                    # The alert list is read without scrolling sideways, on a phone too (its
                    # rows stack there) and at 1,280 px (the sentence under each kind wraps).
                    sideways = page.evaluate(
                        "document.querySelector('#alerts').parentElement.scrollWidth"
                        " - document.querySelector('#alerts').parentElement.clientWidth"
                    )
                    assert sideways <= 1, (name, lang, width, sideways)
                if name == "users" and width >= 1280:
                    # Beside the organization tree, every column is seen without scrolling.
                    sideways = page.evaluate(
                        "[...document.querySelectorAll('.table-responsive')]"
                        ".map(t => t.scrollWidth - t.clientWidth)"
                    )
                    assert sideways and max(sideways) <= 1, (lang, sideways)
                    # Profile notes give way to the organizations' names: short names whole.
                    cut = page.evaluate(
                        "[...document.querySelectorAll('.org-tree a.org-link')]"
                        ".filter(a => a.textContent.trim().length <= 7"
                        " && a.scrollWidth > a.clientWidth + 1).map(a => a.textContent)"
                    )
                    notes = page.locator(".org-tree .org-note").count()
                    assert notes and cut == [], (lang, notes, cut)
            _log_in(page, live_server.url, lang, domain="charlie")
            page.goto(f"{live_server.url}/charlie/settings/android/")
            _check(page, "android-unbound", lang, width, errors)
        finally:
            page.context.close()
