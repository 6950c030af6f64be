"""Every page sends the Content-Security-Policy, and nothing on a page needs 'unsafe-inline':
no inline script, no <style>, no style="" or on…="" attribute, no javascript: URL."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from mamori.audit.models import LogEntry
from mamori.support.models import Inquiry
from tests.conftest import OrgCast, logged_in, shared_orgs, shared_orgs_cast

pytestmark = pytest.mark.django_db

PAGES = [
    "/alpha/",
    "/alpha/devices/",
    "/alpha/users/",
    "/alpha/users/?org={sales}&sort=-employee_code&size=25",
    "/alpha/users/{sato}/",
    "/alpha/users/add/",
    "/alpha/users/{sato}/edit/",
    "/alpha/users/{a3_user}/account/",
    "/alpha/orgs/{sales}/move/",
    "/alpha/users/import/",
    "/alpha/logs/",
    "/alpha/logs/?since=2026-01-02T00:00&until=2026-01-01T00:00",
    "/alpha/logs/{entry}/",
    "/alpha/settings/",
    "/alpha/settings/security/",
    "/alpha/settings/schemes/",
    "/alpha/settings/schemes/new/",
    "/alpha/account/",
    "/alpha/account/two-factor/",
    "/alpha/account/two-factor/setup/",
    "/alpha/support/",
    "/alpha/support/new/",
    "/alpha/support/{inquiry}/",
    "/alpha/users/999999/",
]
ANONYMOUS = ["/login/", "/alpha/login/", "/alpha/password/set/nothing/", "/nosuch/login/"]

INLINE = [
    (
        "an inline script",
        re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I),
    ),
    ("a <style> element", re.compile(r"<style\b", re.I)),
    ("a style attribute", re.compile(r"\sstyle\s*=", re.I)),
    ("an event handler attribute", re.compile(r"\son[a-z]+\s*=", re.I)),
    ("a javascript: URL", re.compile(r"javascript:", re.I)),
    ("an asset from outside", re.compile(r"(?:src|href)=[\"']https?://", re.I)),
]


def _ids(orgs: OrgCast) -> dict[str, int]:
    inquiry = Inquiry.objects.create(
        contract=orgs.cast.a,
        account=orgs.cast.a1,
        sender_name="a",
        sender_email="a@alpha.example",
        category="other",
        subject="s",
        body="b",
    )
    return {
        "sato": orgs.sato.pk,
        "a3_user": orgs.a3.user_id,
        "sales": orgs.sales.pk,
        "entry": LogEntry.objects.filter(contract=orgs.cast.a).latest("seq").pk,
        "inquiry": inquiry.pk,
    }


def assert_strict(response, url: str) -> None:  # type: ignore[no-untyped-def]
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy, url
    assert "script-src 'self'" in policy and "style-src 'self'" in policy, url
    html = response.content.decode()
    for what, pattern in INLINE:
        match = pattern.search(html)
        assert match is None, (
            f"{url} has {what}: {html[max(0, match.start() - 80) : match.end() + 80]}"
        )


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_page_sends_the_policy_and_has_nothing_inline(orgs: OrgCast, language: str) -> None:
    a1 = orgs.cast.a1
    a1.support_option, a1.language = True, language
    a1.save(update_fields=["support_option", "language"])
    ids = _ids(orgs)
    client = logged_in(a1)
    for page in PAGES:
        url = page.format(**ids)
        response = client.get(url)
        assert response.status_code in (200, 404), (url, response.status_code)
        assert_strict(response, url)


def test_pages_before_login_send_the_policy_too() -> None:
    for url in ANONYMOUS:
        assert_strict(Client().get(url), url)


# Built once for the module (see conftest).
orgs, cast = shared_orgs, shared_orgs_cast
