"""Issue 9's browser test, in each language: a virtual device enrolled with a token appears in
Devices in the token's organization with the organization's profile → lock → the command reaches
succeeded → the device page and the operation log show its chain.

Everything between is real: the AMAPI sandbox over HTTP (the gateway with its key file), its
Pub/Sub push to the running panel with an OIDC token checked by the production verifier against
the sandbox's certificates, the inbox and its apply worker, the command's durable sending. The
work a worker would pick up is run here when the test needs it done.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from mamori.accounts.models import Account
from mamori.android import services
from mamori.android.models import Command, CommandStatus, Device, Enterprise
from mamori.android.notifications import verify
from mamori.android.notifications.apply import inbox_drain
from mamori.android.notifications.models import InboxMessage
from mamori.android.sandbox.keys import CLIENT_EMAIL
from mamori.core.actor import Actor
from tests.android.pubsub import SECRET
from tests.android.push_receiver import wait_until
from tests.android.sandbox import AmapiSandbox
from tests.android.test_browser_android import _log_in
from tests.android.test_gateway import _enterprise as sandbox_enterprise
from tests.browser import open_page, screenshot
from tests.conftest import cast_create, orgs_create, run_work

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # see tests/test_browser.py

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "ja": {
        "locale": "ja-JP",
        "lock": "ロック",
        "succeeded": "成功",
        "chain": (
            "デバイスコマンド発行",
            "デバイスコマンドを Google に送信",
            "デバイスコマンド成功",
        ),
        "enrolled": "デバイス登録",
    },
    "en": {
        "locale": "en-US",
        "lock": "Lock",
        "succeeded": "Succeeded",
        "chain": (
            "Device command issued",
            "Device command sent to Google",
            "Device command succeeded",
        ),
        "enrolled": "Device enrolled",
    },
}


def _applied(kind: str, count: int = 1) -> None:
    """Wait for ``count`` pushed messages of ``kind`` in the inbox, then apply what is there."""
    wait_until(lambda: InboxMessage.objects.filter(notification_type=kind).count() >= count)
    inbox_drain(seconds=5)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_an_enrolled_device_is_listed_locked_and_its_chain_shown(
    lang: str,
    live_server: LiveServer,
    settings: Any,
    chromium: Browser,
    amapi_sandbox: AmapiSandbox,
) -> None:
    t = TEXT[lang]
    base = live_server.url
    audience = f"{base}/pubsub/amapi"
    settings.MAMORI_BASE_URL = base
    settings.MAMORI_PUBSUB_PUSH_SECRET = SECRET
    settings.MAMORI_PUBSUB_AUDIENCE = audience
    settings.MAMORI_PUBSUB_SERVICE_ACCOUNT = CLIENT_EMAIL
    settings.MAMORI_PUBSUB_CERTS_URL = amapi_sandbox.server.certs_url
    old_verifier = verify.verifier_set(verify.PushVerifier())
    orgs = orgs_create(cast_create())
    cast = orgs.cast
    Account.objects.filter(pk=cast.a1.pk).update(language=lang)
    actor = Actor(account=cast.a1)
    page = open_page(chromium, t["locale"])
    try:
        # The contract bound to a sandbox enterprise; 東京 has a profile of its own, published.
        name = sandbox_enterprise(amapi_sandbox)
        Enterprise.objects.create(contract=cast.a, name=name, display_name="Alpha Inc.")
        tokyo_profile = services.profile_create(
            actor=actor,
            contract=cast.a,
            name="東京の端末",
            policy={"cameraAccess": "CAMERA_ACCESS_DISABLED"},
        )
        services.profile_assign(actor=actor, organization=orgs.tokyo, profile=tokyo_profile)
        assert run_work("android.policy_publish") == ["done"]
        token = services.enrollment_token_create(
            actor=actor, organization=orgs.tokyo, user=orgs.sato, one_time=True
        )
        amapi_sandbox.push_to(f"{audience}/{SECRET}", audience=audience, email=CLIENT_EMAIL)
        amapi_sandbox.tune(command_delay=0.2)

        # A virtual device enrolls; Google's ENROLLMENT and first report reach the panel.
        (device_name,) = amapi_sandbox.enroll(token.value, count=1)
        _applied("ENROLLMENT")
        _applied("STATUS_REPORT")
        device = Device.objects.get(name=device_name)
        assert (device.organization, device.user) == (orgs.tokyo, orgs.sato)
        enterprise = Enterprise.objects.get(contract=cast.a)
        assert device.policy_name == tokyo_profile.policy_name(enterprise)

        _log_in(page, base)
        page.goto(f"{base}/alpha/devices/")
        row = page.locator("tr", has_text=device.serial_number)
        expect(row).to_contain_text("東京")
        expect(row).to_contain_text("佐藤 花子")
        screenshot(page, f"devices-{t['locale']}-list.png")
        row.get_by_role("link").first.click()
        expect(page).to_have_url(f"{base}/alpha/devices/{device.pk}/")
        expect(page.locator("#device-compliance")).to_contain_text("東京の端末")

        # Lock, from the device's Commands card.
        page.locator("#device-commands").get_by_role("link", name=t["lock"], exact=True).click()
        page.locator("#issue").click()
        command = Command.objects.get(device=device)
        assert command.status == CommandStatus.REGISTERED
        run_work("android.")  # the worker sends it to Google
        command.refresh_from_db()
        assert command.status == CommandStatus.SENT and command.operation_name
        # The virtual device locks; Google's COMMAND notification says the operation is done.
        _applied("COMMAND")
        command.refresh_from_db()
        assert command.status == CommandStatus.SUCCEEDED

        page.goto(f"{base}/alpha/devices/{device.pk}/")
        history = page.locator("#device-command-history")
        expect(history).to_contain_text(t["lock"])
        expect(history).to_contain_text(t["succeeded"])
        log = page.locator("#device-log")
        for action in (*t["chain"], t["enrolled"]):
            expect(log).to_contain_text(action)
        screenshot(page, f"devices-{t['locale']}-device.png")
        page.goto(f"{base}/alpha/logs/")
        for action in t["chain"]:
            expect(page.locator("main")).to_contain_text(action)
    finally:
        page.context.close()
        amapi_sandbox.push_to(None)
        verify.verifier_set(old_verifier)
