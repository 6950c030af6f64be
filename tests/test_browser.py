"""The panel as a person sees it: Debian's Chromium, driven by Playwright, against a live server.

The onboarding flow runs once per language: the operator opens a contract, the registration mail
arrives at a real SMTP server, and the contact person logs in with what it says, chooses a new
password, reads the Settings and Logs tabs in their own language and timezone, and logs out.

Screenshots land in ``test-artifacts/`` (git-ignored) for a human look at the rendering.
"""

from __future__ import annotations

import os
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect
from pytest_django.fixtures import Settings
from pytest_django.live_server_helper import LiveServer

from mamori.audit.models import LogEntry
from tests.browser import open_page, screenshot
from tests.conftest import mail_field, run_worker
from tests.smtp import SmtpServer, body_of
from tests.test_contracts import cli

# Playwright's sync API keeps an event loop running in this thread; Django's ORM refuses to run
# under one unless told it is safe (it is: nothing here is actually async).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# What the contact person sees, per language: the .po's msgstr for ja, the msgid for en.
TEXT = {
    "ja": {
        "browser_locale": "ja-JP",
        "timezone": "Asia/Tokyo",
        "company": "アクメ株式会社",
        "contact_name": "山田 太郎",
        "contact_furigana": "ヤマダ タロウ",
        "subject": "[Mamori] 登録完了のお知らせ",
        "account_line": "アカウント:",
        "password_line": "パスワード:",
        "account": "アカウント",
        "password": "パスワード",
        "log_in": "ログイン",
        "choose_password": "新しいパスワードの設定",
        "new_password": "新しいパスワード",
        "confirm_password": "確認用パスワード",
        "mismatch": "パスワードと確認用パスワードが一致しません。",
        "save": "保存",
        "changed": "パスワードを変更しました。",
        "basic_information": "基本情報",
        "operation_log": "操作ログ",
        "times_shown_in": "時刻は Asia/Tokyo で表示しています。",
        "logged_in": "ログイン",
        "success": "成功",
        "log_out": "ログアウト",
        "zones": ("JST",),
    },
    "en": {
        "browser_locale": "en-US",
        "timezone": "America/New_York",
        "company": "Acme Inc.",
        "contact_name": "John Smith",
        "contact_furigana": "スミス ジョン",
        "subject": "[Mamori] Registration complete",
        "account_line": "Account:",
        "password_line": "Password:",
        "account": "Account",
        "password": "Password",
        "log_in": "Log in",
        "choose_password": "Choose a new password",
        "new_password": "New password",
        "confirm_password": "Confirm password",
        "mismatch": "The two passwords do not match.",
        "save": "Save",
        "changed": "Your password has been changed.",
        "basic_information": "Basic information",
        "operation_log": "Operation log",
        "times_shown_in": "Times are shown in America/New_York.",
        "logged_in": "Logged in",
        "success": "Success",
        "log_out": "Log out",
        "zones": ("EST", "EDT"),
    },
}


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_onboarding_from_registration_mail_to_logout(
    lang: str,
    live_server: LiveServer,
    settings: Settings,
    smtp_server: SmtpServer,
    chromium: Browser,
) -> None:
    t = TEXT[lang]
    tz = str(t["timezone"])
    domain = f"acme-{lang}"
    email = f"contact@{domain}.example"
    base = live_server.url
    settings.MAMORI_BASE_URL = base

    # 1. The operator opens the contract; 2. the worker sends the registration mail.
    cli(
        "contract",
        "create",
        "--domain",
        domain,
        "--company",
        str(t["company"]),
        "--contact-name",
        str(t["contact_name"]),
        "--contact-furigana",
        str(t["contact_furigana"]),
        "--contact-email",
        email,
        "--language",
        lang,
        "--timezone",
        tz,
    )
    run_worker()
    (message,) = smtp_server.collector.wait_for(1)
    assert message["Subject"] == t["subject"]
    assert message["To"] == email
    body = body_of(message)
    login_lines = [
        line for line in body.splitlines() if line.startswith(base) and line.endswith("/login/")
    ]
    assert login_lines == [f"{base}/{domain}/login/"]
    account_name = mail_field(body, str(t["account_line"]))
    password = mail_field(body, str(t["password_line"]))

    page = open_page(chromium, str(t["browser_locale"]))
    try:
        # 3. The login page from the mail has the usage domain fixed.
        page.goto(login_lines[0])
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.locator("#domain")).to_have_text(domain)
        expect(page.locator('input[name="domain"]')).to_have_count(0)
        page.get_by_label(str(t["account"]), exact=True).fill(account_name)
        page.get_by_label(str(t["password"]), exact=True).fill(password)
        page.get_by_role("button", name=str(t["log_in"]), exact=True).click()

        # 4. The mailed password is for the first login only: choose a new one.
        password_url = f"{base}/{domain}/password/"
        expect(page).to_have_url(password_url)
        expect(page.get_by_role("heading", name=str(t["choose_password"]))).to_be_visible()
        new_password = page.get_by_label(str(t["new_password"]), exact=True)
        confirmation = page.get_by_label(str(t["confirm_password"]), exact=True)
        new_password.fill("Sakura-no-hana-2026")
        confirmation.fill("Sakura-no-hana-2027")
        page.get_by_role("button", name=str(t["save"]), exact=True).click()
        # At the field, and in the summary at the top (which links to the field).
        expect(page.locator("#id_confirmation-error")).to_have_text(str(t["mismatch"]))
        expect(page.locator(".error-summary")).to_contain_text(str(t["mismatch"]))
        expect(page).to_have_url(password_url)
        expect(page.get_by_role("heading", name=str(t["choose_password"]))).to_be_visible()
        new_password.fill("Sakura-no-hana-2026")
        confirmation.fill("Sakura-no-hana-2026")
        page.get_by_role("button", name=str(t["save"]), exact=True).click()
        expect(page.get_by_text(str(t["changed"]), exact=True)).to_be_visible()
        expect(page).to_have_url(f"{base}/{domain}/")  # the home page

        # 5. Settings: the contract's basic information.
        page.get_by_role("link", name="Settings", exact=True).click()
        expect(page).to_have_url(f"{base}/{domain}/settings/")
        expect(page.get_by_role("heading", name=str(t["basic_information"]))).to_be_visible()
        expect(page.locator("#company")).to_have_text(str(t["company"]))
        expect(page.locator("#usage-domain")).to_have_text(domain)
        expect(page.locator("#contact-name")).to_have_text(str(t["contact_name"]))
        expect(page.locator("#contact-email")).to_have_text(email)
        expect(page.locator("#support-options")).to_have_text("0 / 5")
        screenshot(page, f"onboarding-{lang}-settings.png")

        # 6. Logs: the login, at its time in the account's timezone with the zone's abbreviation.
        page.get_by_role("link", name="Logs", exact=True).click()
        expect(page).to_have_url(f"{base}/{domain}/logs/")
        expect(page.get_by_role("heading", name=str(t["operation_log"]))).to_be_visible()
        expect(page.get_by_text(str(t["times_shown_in"]), exact=True)).to_be_visible()
        entry = LogEntry.objects.get(contract__domain=domain, action="account.login")
        shown_at = entry.created_at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S %Z")
        assert shown_at.endswith(t["zones"]), shown_at
        expect(page.get_by_text(shown_at, exact=True).first).to_be_visible()
        row = page.locator("table.log tbody tr").filter(
            has=page.locator(f'a[href="/{domain}/logs/{entry.pk}/"]')
        )
        expect(row).to_have_count(1)
        expect(row.locator("td").nth(0)).to_have_text(shown_at)
        expect(row.locator("td").nth(3)).to_have_text(str(t["logged_in"]))
        expect(row.locator("td").nth(5)).to_have_text(str(t["success"]))
        screenshot(page, f"onboarding-{lang}-logs.png")

        # 7. Log out from the header; back to this contract's login page.
        page.get_by_role("button", name=str(t["log_out"]), exact=True).click()
        expect(page).to_have_url(f"{base}/{domain}/login/")
        expect(page.locator("#domain")).to_have_text(domain)
        expect(page.get_by_role("button", name=str(t["log_in"]), exact=True)).to_be_visible()
    finally:
        page.context.close()


def test_language_switch_on_the_general_login_page(
    live_server: LiveServer, chromium: Browser
) -> None:
    page = open_page(chromium, "en-US")
    try:
        page.goto(f"{live_server.url}/login/")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.get_by_role("button", name="Log in", exact=True)).to_be_visible()
        expect(page.get_by_label("Usage domain", exact=True)).to_be_visible()

        page.get_by_label("Language", exact=True).select_option("ja")
        page.get_by_role("button", name="Change", exact=True).click()

        expect(page.get_by_role("button", name="ログイン", exact=True)).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "ja")
        expect(page).to_have_url(f"{live_server.url}/login/")
        expect(page.get_by_label("利用ドメイン", exact=True)).to_be_visible()
        expect(page.get_by_label("言語", exact=True)).to_have_value("ja")
    finally:
        page.context.close()


def test_the_panel_stylesheet_is_served(live_server: LiveServer, chromium: Browser) -> None:
    page = open_page(chromium, "en-US")
    try:
        with page.expect_response(lambda r: r.url.endswith("/static/mamori/panel.css")) as css:
            page.goto(f"{live_server.url}/login/")
        assert css.value.status == 200
        assert (css.value.header_value("content-type") or "").startswith("text/css")
    finally:
        page.context.close()
