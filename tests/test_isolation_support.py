"""Contracts never see each other's support inquiries: contract B's session and token, even with
the support option, get a 404 on contract A's, and change nothing.

tests/test_isolation.py collects PANEL, API and API_OWN_ONLY from here for its coverage tests.
"""

import pytest

from mamori.accounts.models import Account
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from mamori.outbox.models import OutboundMail
from mamori.support.models import Inquiry
from mamori.support.services import inquiry_send
from tests.conftest import Cast, api_client, logged_in, shared_cast

pytestmark = pytest.mark.django_db

# (URL name, method, path with {a_inquiry} for contract A's inquiry)
PANEL = [
    ("support_inquiries", "get", "/alpha/support/"),
    ("support_inquiry_new", "get", "/alpha/support/new/"),
    ("support_inquiry_new", "post", "/alpha/support/new/"),
    ("support_inquiry_detail", "get", "/alpha/support/{a_inquiry}/"),
    ("support_inquiry_detail", "get", "/bravo/support/{a_inquiry}/"),
]

API = [
    ("get", "/api/v1/inquiries/{a_inquiry}"),
]
# Operations that name no object of another contract: each must answer with B's own data only.
API_OWN_ONLY = [
    ("get", "/api/v1/inquiries"),
    ("post", "/api/v1/inquiries"),
]

FORM = {"category": "other", "subject": "From B", "body": "B's question"}


def with_support_option(account: Account) -> Account:
    account.support_option = True
    account.save(update_fields=["support_option"])
    return account


@pytest.fixture
def a_objects(cast: Cast) -> dict[str, int]:
    a1 = with_support_option(cast.a1)
    inquiry = inquiry_send(
        actor=Actor(account=a1), category="trouble", subject="A's trouble", body="A's secret"
    )
    # B holds the support option too: what stops it is the contract, not the option.
    with_support_option(cast.b1)
    return {"a_inquiry": inquiry.pk}


def snapshot(cast: Cast) -> tuple:
    """Everything of contract A that a request of B's might change."""
    return (
        list(Inquiry.objects.filter(contract=cast.a).values_list("pk", "subject", "body")),
        list(LogEntry.objects.filter(contract=cast.a).values_list("pk", "digest")),
        list(OutboundMail.objects.filter(contract=cast.a).values_list("pk", "to", "subject")),
    )


@pytest.mark.parametrize(("name", "method", "path"), PANEL)
def test_contract_b_session_gets_404_on_contract_a(
    cast: Cast, a_objects: dict, name: str, method: str, path: str
) -> None:
    client = logged_in(cast.b1)
    before = snapshot(cast)
    url = path.format(**a_objects)
    response = client.post(url, FORM) if method == "post" else client.get(url)
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


def test_contract_b_token_lists_and_sends_only_its_own_inquiries(
    cast: Cast, a_objects: dict
) -> None:
    client = api_client(cast.b1)
    before = snapshot(cast)

    created = client.post("/api/v1/inquiries", FORM, content_type="application/json")
    listed = client.get("/api/v1/inquiries").json()["items"]

    assert created.status_code == 201
    b_inquiry = Inquiry.objects.get(subject="From B")
    assert (b_inquiry.contract, b_inquiry.account) == (cast.b, cast.b1)
    assert [i["id"] for i in listed] == [b_inquiry.pk]
    assert snapshot(cast) == before


def test_contract_b_session_lists_only_its_own_inquiries(cast: Cast, a_objects: dict) -> None:
    client = logged_in(cast.b1)
    client.post("/bravo/support/new/", FORM)

    page = client.get("/bravo/support/")

    assert [i.contract_id for i in page.context["page"]] == [cast.b.pk]
    assert "A's trouble" not in page.content.decode()


# Built once for the module (see conftest).
cast = shared_cast
