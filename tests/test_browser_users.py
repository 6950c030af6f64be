"""The seed's steps 1 and 2 in Chromium, in each language, with the labels the seed names.

A System administrator adds a user with two e-mail addresses (one main), gives them a System
administrator account with the support option, language English and timezone America/New_York;
then the new administrator logs in, and the panel is in English with New York times.
"""

from __future__ import annotations

import os
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from mamori.accounts.models import Account
from mamori.audit.models import LogEntry
from mamori.directory.models import User
from tests.browser import open_page, screenshot
from tests.conftest import PASSWORD, open_contract

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "Sakura-no-hana-2026"

LABELS = {
    "ja": {
        "locale": "ja-JP",
        "account": "アカウント",
        "password": "パスワード",
        "log_in": "ログイン",
        "name": "氏名",
        "furigana": "フリガナ",
        "email": "メールアドレス",
        "category": "区分",
        "add_email": "メールアドレスを追加",
        "save": "保存",
        "main": "メイン",
        "work": "勤務先",
        "mamori_account": "Mamori アカウント",
        "edit": "編集",
        "account_name": "アカウント名",
        "confirm": "確認用パスワード",
        "privilege": "管理権限",
        "system_admin": "システム管理者",
        "support_option": "サポートオプション",
        "language": "言語",
        "timezone": "タイムゾーン",
        "log_out": "ログアウト",
    },
    "en": {
        "locale": "en-US",
        "account": "Account",
        "password": "Password",
        "log_in": "Log in",
        "name": "Name",
        "furigana": "Furigana",
        "email": "E-mail address",
        "category": "Category",
        "add_email": "Add e-mail address",
        "save": "Save",
        "main": "Main",
        "work": "Work",
        "mamori_account": "Mamori account",
        "edit": "Edit",
        "account_name": "Account name",
        "confirm": "Confirm password",
        "privilege": "Admin privilege",
        "system_admin": "System administrator",
        "support_option": "Support option",
        "language": "Language",
        "timezone": "Timezone",
        "log_out": "Log out",
    },
}


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_add_a_user_and_make_them_a_system_administrator(
    live_server: LiveServer, chromium: Browser, lang: str
) -> None:
    t = LABELS[lang]
    admin = open_contract("acme", "アクメ株式会社", language=lang)
    page = open_page(chromium, t["locale"])
    base = f"{live_server.url}/acme"
    try:
        page.goto(f"{base}/login/")
        page.get_by_label(t["account"], exact=True).fill(admin.name)
        page.get_by_label(t["password"], exact=True).fill(PASSWORD)
        page.get_by_role("button", name=t["log_in"]).click()

        # Step 1: Users/Org → Add User → name, furigana, two e-mail addresses → Save.
        page.get_by_role("link", name="Users/Org").click()
        page.get_by_role("link", name="Add User").click()
        page.get_by_label(t["name"], exact=True).fill("佐藤 花子")
        page.get_by_label(t["furigana"], exact=True).fill("さとう はなこ")
        page.get_by_label(t["email"], exact=True).fill("hanako@acme.example")
        page.get_by_label(t["category"], exact=True).select_option(label=t["main"])
        page.get_by_role("button", name=t["add_email"]).click()
        page.get_by_label(t["email"], exact=True).nth(1).fill("hanako.work@acme.example")
        page.get_by_label(t["category"], exact=True).nth(1).select_option(label=t["work"])
        page.get_by_role("button", name=t["save"], exact=True).click()
        expect(page.get_by_role("heading", name="佐藤 花子")).to_be_visible()
        expect(page.get_by_text("サトウ\u3000ハナコ").first).to_be_visible()

        # Step 2: the user's Mamori account → Edit → System administrator with the support option.
        page.locator("#mamori-account").get_by_role("link", name=t["edit"]).click()
        page.get_by_label(t["account_name"], exact=True).fill("hanako")
        page.get_by_label(t["password"], exact=True).fill(NEW_PASSWORD)
        page.get_by_label(t["confirm"], exact=True).fill(NEW_PASSWORD)
        page.get_by_label(t["privilege"], exact=True).select_option(label=t["system_admin"])
        page.get_by_label(t["support_option"], exact=True).check()
        page.get_by_label(t["language"], exact=True).select_option(label="English")
        page.get_by_label(t["timezone"], exact=True).select_option("America/New_York")
        screenshot(page, f"account-form-{lang}.png")
        page.get_by_role("button", name=t["save"], exact=True).click()
        expect(page.locator("#mamori-account")).to_contain_text("hanako")
        screenshot(page, f"user-page-{lang}.png")

        user = User.objects.get(name="佐藤 花子")
        assert sorted(user.emails.values_list("address", "category")) == [
            ("hanako.work@acme.example", "work"),
            ("hanako@acme.example", "main"),
        ]
        account = Account.objects.get(user=user)
        assert (account.privilege, account.support_option, account.language, account.timezone) == (
            "system_admin",
            True,
            "en",
            "America/New_York",
        )

        page.get_by_role("button", name=t["log_out"]).click()

        # The new administrator logs in: the panel is in English, the log in New York time.
        page.get_by_label(t["account"], exact=True).fill("hanako")
        page.get_by_label(t["password"], exact=True).fill(NEW_PASSWORD)
        page.get_by_role("button", name=t["log_in"]).click()
        # The password was the administrator's choice: she chooses her own before anything else.
        expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
        page.get_by_label("New password", exact=True).fill("Hanami-own-choice-2026")
        page.get_by_label("Confirm password", exact=True).fill("Hanami-own-choice-2026")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.get_by_text("Your password has been changed.", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        page.get_by_role("link", name="Logs").click()
        expect(page.get_by_text("Times are shown in America/New_York.")).to_be_visible()
        login = LogEntry.objects.filter(action="account.login", actor=account).latest("seq")
        shown = login.created_at.astimezone(ZoneInfo("America/New_York")).strftime(
            "%Y-%m-%d %H:%M:%S %Z"
        )
        assert shown.endswith(("EST", "EDT"))
        # The password change may fall in the same second: the login is one of that second's rows.
        rows = page.get_by_role("row").filter(has_text=shown)
        expect(rows.filter(has_text="Logged in")).to_have_count(1)
        screenshot(page, f"new-admin-logs-{lang}.png")
    finally:
        page.context.close()


def test_deleting_an_organization_asks_first(live_server: LiveServer, chromium: Browser) -> None:
    from mamori.core.actor import Actor
    from mamori.directory.models import Organization
    from mamori.directory.services import organization_create

    admin = open_contract("acme", "アクメ株式会社", language="ja")
    root = Organization.objects.get(contract=admin.contract, parent=None)
    empty = organization_create(actor=Actor.operator(), parent=root, name="解散予定")
    page = open_page(chromium, "ja-JP")
    try:
        page.goto(f"{live_server.url}/acme/login/")
        page.get_by_label("アカウント", exact=True).fill(admin.name)
        page.get_by_label("パスワード", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="ログイン").click()
        page.goto(f"{live_server.url}/acme/users/?org={empty.pk}")
        # The organization's tools are shown beside the tree: no menu to open first.
        questions: list[str] = []

        page.once("dialog", lambda d: (questions.append(d.message), d.dismiss()))
        page.get_by_role("button", name="この組織を削除").click()
        expect(page.get_by_role("heading", name="解散予定", exact=True)).to_be_visible()
        assert Organization.objects.filter(pk=empty.pk).exists()

        page.once("dialog", lambda d: (questions.append(d.message), d.accept()))
        page.get_by_role("button", name="この組織を削除").click()
        expect(page.get_by_text("「解散予定」を削除しました。")).to_be_visible()
        assert not Organization.objects.filter(pk=empty.pk).exists()
        assert questions == ["「解散予定」を削除しますか？"] * 2
    finally:
        page.context.close()
