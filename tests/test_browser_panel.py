"""Issue 7 in Chromium, in each language: tables that keep names whole and cut long values
(390 px), forms that mark what is required and summarise errors, Settings reachable from
everywhere with an account's own language and timezone, and the organization tree's order."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from mamori.accounts.models import Account
from mamori.directory.models import Organization
from tests.browser import open_page, screenshot
from tests.conftest import PASSWORD, cast_create, make_user, orgs_create

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # see tests/test_browser.py

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

T = {
    "ja": {
        "locale": "ja-JP",
        "other": "en",
        "save": "保存",
        "cancel": "キャンセル",
        "required": "必須",
        "name_required": "氏名を入力してください。",
        "check": "入力内容を確認してください。",
        "security": "セキュリティ",
        "schemes": "カスタム権限スキーム",
        "basic": "基本情報",
        "language": "言語",
        "filter": "タイムゾーンを絞り込む",
        "tokyo": "(UTC+09:00) 東京",
        "saved": "Your language and timezone have been saved.",
        "up": "上へ",
        "add_sub": "下位組織を追加",
        "delete_org": "この組織を削除",
    },
    "en": {
        "locale": "en-US",
        "other": "ja",
        "save": "Save",
        "cancel": "Cancel",
        "required": "Required",
        "name_required": "Name is required.",
        "check": "Please check the following.",
        "security": "Security",
        "schemes": "Custom permission schemes",
        "basic": "Basic information",
        "language": "Language",
        "filter": "Filter timezones",
        "tokyo": "(UTC+09:00) Tokyo",
        "saved": "言語とタイムゾーンを保存しました。",
        "up": "Move up",
        "add_sub": "Add sub-organization",
        "delete_org": "Delete this organization",
    },
}
LONG_NAME = "寿限無寿限無五劫の擦り切れ" * 15  # a 195-character name


def _log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/alpha/login/")
    page.locator("input[name=account]").fill("admin")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{base}/alpha/")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_tables_forms_settings_and_the_tree_as_a_person_uses_them(
    live_server: LiveServer, chromium: Browser, lang: str
) -> None:
    t = T[lang]
    orgs = orgs_create(cast_create())
    Account.objects.filter(pk=orgs.cast.a1.pk).update(language=lang)
    make_user(orgs.tokyo, LONG_NAME, "long@alpha.example", "ジュゲム")
    make_user(orgs.tokyo, "鈴木 一郎太", "ichirota@alpha.example", "スズキ イチロウタ")
    base = live_server.url
    page = open_page(chromium, t["locale"])
    try:
        _log_in(page, base)

        # 7. At 390 px: names stay on one line, the long one is cut with the whole on hover,
        # and no button folds into a column of characters.
        page.set_viewport_size({"width": 390, "height": 900})
        page.goto(f"{base}/alpha/users/")
        long_cell = page.locator(f'a.cell-text[title="{LONG_NAME}"]')
        expect(long_cell).to_have_count(1)
        assert long_cell.evaluate("el => el.scrollWidth > el.clientWidth")
        name = page.get_by_role("link", name="鈴木 一郎太", exact=True)
        line = name.evaluate("el => parseFloat(getComputedStyle(el).lineHeight)")
        assert name.evaluate("el => el.getBoundingClientRect().height") < 1.5 * line
        heights = page.locator(".btn:visible").evaluate_all(
            "els => els.map(b => [b.textContent.trim(), b.getBoundingClientRect().height])"
        )
        assert all(height < 48 for _text, height in heights), heights
        screenshot(page, f"panel-{lang}-users-390.png")
        page.set_viewport_size({"width": 1280, "height": 800})

        # 9. Add User: required fields marked, errors at the top and at the field, a Cancel.
        page.goto(f"{base}/alpha/users/add/")
        expect(page.locator(".field-label", has_text=t["required"]).first).to_be_visible()
        page.get_by_role("button", name=t["save"], exact=True).click()
        summary = page.locator(".error-summary")
        expect(summary).to_contain_text(t["check"])
        expect(summary).to_contain_text(t["name_required"])
        expect(page.locator("#id_name-error")).to_have_text(t["name_required"])
        screenshot(page, f"panel-{lang}-add-user-errors.png")
        page.get_by_role("link", name=t["cancel"], exact=True).click()
        expect(page).to_have_url(f"{base}/alpha/users/")

        # 11. Settings: every section from every other.
        page.goto(f"{base}/alpha/settings/")
        page.get_by_role("link", name=t["security"], exact=True).click()
        expect(page).to_have_url(f"{base}/alpha/settings/security/")
        page.get_by_role("link", name=t["schemes"], exact=True).click()
        expect(page).to_have_url(f"{base}/alpha/settings/schemes/")
        page.get_by_role("link", name=t["basic"], exact=True).click()
        expect(page).to_have_url(f"{base}/alpha/settings/")

        # 11. The account's own language and timezone: the zone found by typing its city.
        page.goto(f"{base}/alpha/account/")
        zone = page.locator("#id_pref-timezone")
        visible = zone.locator("option:not([hidden])")
        no_match = page.locator("[data-zone-nomatch]")
        # As the server reads them: a city with a space, an abbreviation, an offset.
        page.get_by_label(t["filter"]).fill("new york")
        expect(zone).to_have_value("America/New_York")
        page.get_by_label(t["filter"]).fill("UTC+9")
        assert t["tokyo"] in visible.all_text_contents()
        page.get_by_label(t["filter"]).fill("Atlantis")
        expect(no_match).to_be_visible()
        page.get_by_label(t["filter"]).fill("jst")
        expect(no_match).to_be_hidden()
        assert t["tokyo"] in visible.all_text_contents()
        expect(zone).to_have_value("Asia/Tokyo")
        page.locator("#id_pref-language").select_option(t["other"])
        page.locator("#preferences").get_by_role("button").click()
        expect(page.locator("html")).to_have_attribute("lang", t["other"])
        expect(page.get_by_text(t["saved"])).to_be_visible()
        screenshot(page, f"panel-{lang}-account-switched.png")
        Account.objects.filter(pk=orgs.cast.a1.pk).update(language=lang)

        # 12. The tree: an order the administrator sets, a visible "add", no impossible delete.
        page.goto(f"{base}/alpha/users/?org={orgs.dev.pk}")
        page.get_by_role("button", name=t["up"]).click()
        tree = page.locator("#org-tree a.org-link")
        expect(tree).to_have_text(["▾アルファ株式会社", "開発部", "▸営業部"])
        page.locator("#new-org").fill("開発二課")
        page.get_by_role("button", name=t["add_sub"]).click()
        assert Organization.objects.filter(parent=orgs.dev, name="開発二課").exists()
        page.goto(f"{base}/alpha/users/?org={orgs.sales.pk}")
        expect(page.get_by_role("button", name=t["delete_org"])).to_have_count(0)
        expect(page.locator("#org-delete-hint")).to_be_visible()
        screenshot(page, f"panel-{lang}-tree.png")
    finally:
        page.context.close()
