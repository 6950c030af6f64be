"""Chromium for the browser tests: Debian's build, driven by Playwright (its own download
cannot work here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One Chromium for the module; each test gets its own context (cookies, locale)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(chromium: Browser, locale: str) -> Page:
    """A fresh context whose Accept-Language follows ``locale``.

    The favicon request is answered in the browser, so no stray request reaches the live server
    (and its database connection, shared with this thread) while the test reads the database.
    """
    context = chromium.new_context(locale=locale, viewport={"width": 1280, "height": 800})
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    return context.new_page()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / name, full_page=True)
