"""Contracts never see each other's webhooks: contract B's session and token get a 404 on
contract A's, change nothing, and list and add only their own.

tests/test_isolation.py collects PANEL, API and API_OWN_ONLY from here for its coverage tests.
"""

import pytest

from mamori.alerts.models import Webhook
from mamori.alerts.webhooks.services import webhook_create
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from tests.conftest import Cast, api_client, logged_in, shared_cast

pytestmark = pytest.mark.django_db

URL_A = "https://93.184.216.34/alpha-hook"
URL_B = "https://93.184.216.34/bravo-hook"

# (URL name, method, path with {a_webhook} for contract A's webhook)
PANEL = [
    ("webhooks", "get", "/alpha/settings/webhooks/"),
    ("webhooks", "post", "/alpha/settings/webhooks/"),
    ("webhook_detail", "get", "/alpha/settings/webhooks/{a_webhook}/"),
    ("webhook_detail", "get", "/bravo/settings/webhooks/{a_webhook}/"),
    ("webhook_delete", "post", "/bravo/settings/webhooks/{a_webhook}/delete/"),
]

API = [
    ("get", "/api/v1/webhooks/{a_webhook}"),
    ("delete", "/api/v1/webhooks/{a_webhook}"),
]
# Operations that name no object of another contract: each must answer with B's own data only.
API_OWN_ONLY = [
    ("get", "/api/v1/webhooks"),
    ("post", "/api/v1/webhooks"),
]


@pytest.fixture
def a_objects(cast: Cast) -> dict[str, int]:
    webhook, _secret = webhook_create(actor=Actor(account=cast.a1), contract=cast.a, url=URL_A)
    return {"a_webhook": webhook.pk}


def snapshot(cast: Cast) -> tuple:
    """Everything of contract A that a request of B's might change."""
    return (
        list(Webhook.objects.filter(contract=cast.a).values_list("pk", "url", "secret")),
        list(LogEntry.objects.filter(contract=cast.a).values_list("pk", "digest")),
    )


@pytest.mark.parametrize(("name", "method", "path"), PANEL)
def test_contract_b_session_gets_404_on_contract_a(
    cast: Cast, a_objects: dict, name: str, method: str, path: str
) -> None:
    client = logged_in(cast.b1)
    before = snapshot(cast)
    url = path.format(**a_objects)
    response = client.post(url, {"url": URL_B}) if method == "post" else client.get(url)
    assert response.status_code == 404
    assert snapshot(cast) == before


@pytest.mark.parametrize(("method", "path"), API)
def test_contract_b_token_gets_404_on_contract_a(
    cast: Cast, a_objects: dict, method: str, path: str
) -> None:
    client = api_client(cast.b1)
    before = snapshot(cast)
    response = getattr(client, method)(path.format(**a_objects))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert snapshot(cast) == before


def test_contract_b_token_lists_and_adds_only_its_own_webhooks(cast: Cast, a_objects: dict) -> None:
    client = api_client(cast.b1)
    before = snapshot(cast)

    created = client.post("/api/v1/webhooks", {"url": URL_A}, content_type="application/json")
    listed = client.get("/api/v1/webhooks").json()

    assert created.status_code == 201  # the same URL as A's: B's own webhook
    b_webhook = Webhook.objects.get(contract=cast.b)
    assert [w["id"] for w in listed] == [b_webhook.pk]
    assert snapshot(cast) == before


def test_contract_b_session_lists_only_its_own_webhooks(cast: Cast, a_objects: dict) -> None:
    client = logged_in(cast.b1)
    client.post("/bravo/settings/webhooks/", {"url": URL_B})

    page = client.get("/bravo/settings/webhooks/")

    assert [w.contract_id for w in page.context["webhooks"]] == [cast.b.pk]
    assert "alpha-hook" not in page.content.decode()


# Built once for the module (see conftest).
cast = shared_cast
