"""A CSV import as a person sees it in Chromium: the page follows the check and the import by
itself (htmx polls the status every second), without a reload."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Browser, expect
from pytest_django.live_server_helper import LiveServer

from mamori.directory.models import User
from tests.browser import open_page, screenshot
from tests.conftest import PASSWORD, open_contract, run_worker

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # see tests/test_browser.py

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FILE = (
    "organization,name,furigana,employee_code,emails\n"
    "Acme Inc. / Sales,Ann Lee,リー アン,E1,ann@acme.example:main\n"
    "Acme Inc. / Sales / Tokyo,Ken Sato,さとう けん,E2,ken@acme.example:main\n"
)


def test_the_import_page_follows_the_check_and_the_import_without_a_reload(
    live_server: LiveServer, chromium: Browser, tmp_path: object
) -> None:
    open_contract("acme", "Acme Inc.", language="en")
    path = os.path.join(str(tmp_path), "team.csv")
    with open(path, "w", encoding="utf-8-sig") as f:
        f.write(FILE)
    page = open_page(chromium, "en-US")
    try:
        page.goto(f"{live_server.url}/acme/login/")
        page.get_by_label("Account").fill("admin")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"{live_server.url}/acme/users/import/")
        page.get_by_label("CSV file").set_input_files(path)
        page.get_by_label("Add or update").check()
        page.get_by_role("button", name="Check the file").click()
        expect(page.locator("#import-status-label")).to_have_text("Checking")

        run_worker()  # the check, while the page keeps polling

        expect(page.get_by_role("button", name="Import")).to_be_visible(timeout=5000)
        expect(page.locator("#new-organizations li")).to_have_text(
            ["Acme Inc. / Sales", "Acme Inc. / Sales / Tokyo"]
        )
        screenshot(page, "users-import-ready.png")
        page.get_by_role("button", name="Import").click()
        expect(page.locator("#import-status-label")).to_have_text("Importing")

        run_worker()  # the import

        expect(page.get_by_text("The file has been imported.")).to_be_visible(timeout=5000)
        screenshot(page, "users-import-done.png")
    finally:
        page.context.close()
    assert sorted(User.objects.values_list("name", "organization__name")) == [
        ("Ann Lee", "Sales"),
        ("Ken Sato", "Tokyo"),
        ("acme 管理者", "Acme Inc."),
    ]


def test_the_error_report_names_each_bad_row_and_column(
    live_server: LiveServer, chromium: Browser, tmp_path: object
) -> None:
    open_contract("acme", "Acme Inc.", language="en")
    path = os.path.join(str(tmp_path), "bad.csv")
    with open(path, "w", encoding="utf-8-sig") as f:
        f.write(FILE.replace("ken@acme.example:main", "ken-at-acme:main"))
    page = open_page(chromium, "en-US")
    try:
        page.goto(f"{live_server.url}/acme/login/")
        page.get_by_label("Account").fill("admin")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"{live_server.url}/acme/users/import/")
        screenshot(page, "users-import-form.png")
        page.get_by_label("CSV file").set_input_files(path)
        page.get_by_role("button", name="Check the file").click()

        run_worker()

        row = page.locator("#import-errors tbody tr td")
        expect(row).to_have_text(
            ["3", "emails", "“ken-at-acme” is not a valid e-mail address."], timeout=5000
        )
        expect(page.get_by_role("button", name="Import")).to_have_count(0)
        screenshot(page, "users-import-errors.png")
    finally:
        page.context.close()
    assert User.objects.count() == 1
