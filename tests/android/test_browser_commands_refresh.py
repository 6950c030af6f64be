"""In the browser, in each language: a command's page and a bulk job's page follow their
commands without a reload (htmx every 2 s) and stop polling once everything is final; the job's
bar shows the share of each status."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from mamori.accounts.models import Account
from mamori.android.commands import services
from mamori.android.commands.lifecycle import operation_apply
from mamori.android.models import Command, CommandStatus
from mamori.core.actor import Actor
from tests.android.command_devices import FakeCommands, fake_commands, make_device
from tests.android.test_browser_android import _log_in
from tests.browser import open_page, screenshot
from tests.conftest import cast_create, orgs_create, run_work

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # see tests/test_browser.py

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["fake_commands"]

TEXT = {
    "ja": {"locale": "ja-JP", "sent": "送信済み", "succeeded": "成功", "failed": "失敗"},
    "en": {"locale": "en-US", "sent": "Sent", "succeeded": "Succeeded", "failed": "Failed"},
}
WAIT = 10_000  # ms: a few polls


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_a_commands_and_a_jobs_page_follow_their_commands_without_a_reload(
    lang: str, live_server: LiveServer, chromium: Browser, fake_commands: FakeCommands
) -> None:
    t = TEXT[lang]
    base = live_server.url
    orgs = orgs_create(cast_create())
    Account.objects.filter(pk=orgs.cast.a1.pk).update(language=lang)
    devices = [make_device(orgs.tokyo) for _ in range(2)]
    job = services.command_job_create(
        actor=Actor(account=orgs.cast.a1), contract=orgs.cast.a, code="lock", devices=devices
    )
    first, second = Command.objects.filter(job=job).order_by("pk")
    page = open_page(chromium, t["locale"])
    _log_in(page, base)

    page.goto(f"{base}/alpha/devices/commands/{first.pk}/")
    expect(page.locator("#command-state")).to_have_attribute("hx-trigger", "every 2s")
    run_work("android.command_job")  # both are sent
    expect(page.locator("#command-status")).to_have_text(t["sent"], timeout=WAIT)
    first.refresh_from_db()
    operation_apply(fake_commands.finish(first.operation_name))
    expect(page.locator("#command-status")).to_have_text(t["succeeded"], timeout=WAIT)
    expect(page.locator("#command-state")).not_to_have_attribute("hx-trigger", "every 2s")
    screenshot(page, f"command-{t['locale']}-refreshed.png")

    page.goto(f"{base}/alpha/devices/jobs/{job.pk}/")
    bar = page.locator("#job-bar")
    expect(bar.locator('[data-segment="succeeded"]')).to_have_attribute("width", "500")
    expect(bar.locator('[data-segment="sent"]')).to_have_attribute("width", "500")
    second.refresh_from_db()
    operation_apply(fake_commands.finish(second.operation_name, error={"code": 13}))
    expect(bar.locator('[data-segment="failed"]')).to_have_attribute("width", "500", timeout=WAIT)
    expect(page.locator('#job-device-rows tr[data-status="failed"]')).to_contain_text(t["failed"])
    expect(page.locator("#job-progress")).not_to_have_attribute("hx-trigger", "every 2s")
    assert Command.objects.filter(job=job, status=CommandStatus.SENT).count() == 0
    screenshot(page, f"job-{t['locale']}-finished.png")
