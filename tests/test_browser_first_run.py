"""What a newcomer sees when something is missing or broken, in Chromium: the API docs with no
internet, and the product's own error pages in both languages (screenshots in test-artifacts/)."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Route, expect
from pytest_django.live_server_helper import LiveServer

from tests.browser import open_page, screenshot

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # see test_browser.py

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_api_docs_work_without_internet(live_server: LiveServer, chromium: Browser) -> None:
    page = open_page(chromium, "en-US")
    own = urlsplit(live_server.url).netloc
    elsewhere: list[str] = []

    def offline(route: Route) -> None:
        if urlsplit(route.request.url).netloc == own:
            route.continue_()
        else:  # no internet: anything not served by the app fails
            elsewhere.append(route.request.url)
            route.abort()

    page.context.route("**/*", offline)
    try:
        page.goto(f"{live_server.url}/api/v1/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("Mamori API")
        expect(page.locator(".opblock-summary-path").first).to_be_visible()
        screenshot(page, "api-docs-offline.png")
    finally:
        page.context.close()
    assert elsewhere == []


@pytest.mark.parametrize(
    ("locale", "not_found", "server_error"),
    [
        ("ja-JP", "ページが見つかりません", "エラーが発生しました"),
        ("en-US", "Not found", "Something went wrong"),
    ],
)
def test_error_pages_are_the_products_own(
    live_server: LiveServer,
    chromium: Browser,
    monkeypatch: pytest.MonkeyPatch,
    locale: str,
    not_found: str,
    server_error: str,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("mamori.accounts.views.login._login", broken)
    page = open_page(chromium, locale)
    language = locale[:2]
    try:
        missing = page.goto(f"{live_server.url}/demo/no-such-page/")
        assert missing is not None and missing.status == 404
        expect(page.locator("h1")).to_have_text(not_found)
        # The product's own styles, served by the app.
        expect(page.locator("link[href='/static/vendor/tabler/tabler.min.css']")).to_have_count(1)
        expect(page.locator("link[href='/static/mamori/panel.css']")).to_have_count(1)
        screenshot(page, f"error-404-{language}.png")

        failed = page.goto(f"{live_server.url}/login/")
        assert failed is not None and failed.status == 500
        expect(page.locator("h1")).to_have_text(server_error)
        expect(page.locator("code")).to_have_text(failed.headers["x-request-id"])
        screenshot(page, f"error-500-{language}.png")
    finally:
        page.context.close()
