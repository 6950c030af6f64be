"""The authorization matrix of Settings → Webhooks and ``/webhooks``: System administrators only.

Actors as in ``tests/test_authorization.py``: system (A1), department (A2: 営業部 and 東京),
operator (A3, in 営業部), custom (A4: users.* only, in 開発部), other (B1). A denied case
changes nothing."""

from __future__ import annotations

import pytest

from mamori.alerts.models import Webhook
from mamori.alerts.webhooks.services import webhook_create
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from tests.conftest import OrgCast, api_client, logged_in, shared_orgs
from tests.test_authorization import actor_of

pytestmark = pytest.mark.django_db

OK = "ok"
ACTORS = ("system", "department", "operator", "custom", "other")
NEW = {"url": "https://93.184.216.34/new-hook"}

PAGES = [
    ("webhooks", "get", "/alpha/settings/webhooks/", None, (OK, 403, 403, 403, 404)),
    ("add a webhook", "post", "/alpha/settings/webhooks/", NEW, (OK, 403, 403, 403, 404)),
    ("a webhook", "get", "/alpha/settings/webhooks/{webhook}/", None, (OK, 403, 403, 403, 404)),
    (
        "delete a webhook",
        "post",
        "/alpha/settings/webhooks/{webhook}/delete/",
        None,
        (OK, 403, 403, 403, 404),
    ),
]

API_CASES = [
    ("webhooks", "get", "/api/v1/webhooks", None, (OK, 403, 403, 403, OK)),
    ("add a webhook", "post", "/api/v1/webhooks", NEW, (OK, 403, 403, 403, OK)),
    ("a webhook", "get", "/api/v1/webhooks/{webhook}", None, (OK, 403, 403, 403, 404)),
    ("delete a webhook", "delete", "/api/v1/webhooks/{webhook}", None, (OK, 403, 403, 403, 404)),
]


@pytest.fixture
def webhook(orgs: OrgCast) -> dict[str, int]:
    made, _secret = webhook_create(
        actor=Actor(account=orgs.cast.a1), contract=orgs.cast.a, url="https://93.184.216.34/hook"
    )
    return {"webhook": made.pk}


def state(orgs: OrgCast) -> tuple:
    a = orgs.cast.a
    return (
        list(Webhook.objects.filter(contract=a).values_list("pk", "url")),
        LogEntry.objects.filter(contract=a).count(),
    )


def check(response, expected, before, orgs) -> None:
    if expected == OK:
        assert response.status_code in (200, 201, 204, 302), response.content[:800]
        form = (response.context or {}).get("form") if hasattr(response, "context") else None
        assert form is None or not form.errors, form.errors
        return
    assert response.status_code == expected, response.content[:500]
    assert state(orgs) == before


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(
    ("case", "method", "path", "body", "expected"), PAGES, ids=[c[0] for c in PAGES]
)
def test_webhook_pages(
    orgs: OrgCast, webhook: dict, actor: str, case, method, path, body, expected
) -> None:
    client = logged_in(actor_of(orgs, actor))
    before = state(orgs)
    url = path.format(**webhook)
    response = client.post(url, body or {}) if method == "post" else client.get(url)
    check(response, expected[ACTORS.index(actor)], before, orgs)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(
    ("case", "method", "path", "body", "expected"), API_CASES, ids=[c[0] for c in API_CASES]
)
def test_webhook_api(
    orgs: OrgCast, webhook: dict, actor: str, case, method, path, body, expected
) -> None:
    client = api_client(actor_of(orgs, actor))
    before = state(orgs)
    url = path.format(**webhook)
    if method == "post":
        response = client.post(url, body, content_type="application/json")
    else:
        response = getattr(client, method)(url)
    check(response, expected[ACTORS.index(actor)], before, orgs)
    if response.status_code >= 400:
        assert response.json()["error"]["code"] in {"forbidden", "not_found"}


def test_only_system_administrators_see_the_webhooks_tab(orgs: OrgCast) -> None:
    system = logged_in(orgs.cast.a1).get("/alpha/settings/").content.decode()
    department = logged_in(orgs.a2).get("/alpha/settings/").content.decode()
    assert 'id="settings-webhooks"' in system
    assert 'id="settings-webhooks"' not in department


orgs = shared_orgs  # built once for the module (see conftest)
