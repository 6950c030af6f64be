"""Contract B never sees nor revokes contract A's API tokens through the administrators' pages and
endpoints (the tokens of a user's Mamori account)."""

from __future__ import annotations

import pytest

from mamori.accounts.models import ApiToken
from mamori.accounts.services.tokens import api_token_create
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from tests.conftest import Cast, api_client, logged_in, shared_cast

pytestmark = pytest.mark.django_db

# (URL name, method, path with {a_user} / {a_token} for contract A's objects; {b_user} is B1's
# own user, to try A's token under B's own account)
PANEL = [
    ("account_tokens", "get", "/alpha/users/{a_user}/account/tokens/"),
    ("account_tokens", "get", "/bravo/users/{a_user}/account/tokens/"),
    ("account_token_revoke", "post", "/bravo/users/{a_user}/account/tokens/{a_token}/revoke/"),
    ("account_token_revoke", "post", "/bravo/users/{b_user}/account/tokens/{a_token}/revoke/"),
]
API = [
    ("get", "/api/v1/users/{a_user}/account/tokens"),
    ("post", "/api/v1/users/{a_user}/account/tokens/{a_token}/revoke"),
]


@pytest.fixture
def a_objects(cast: Cast) -> dict[str, int]:
    token, _raw = api_token_create(
        actor=Actor(account=cast.a1), account=cast.a1, name="a", expires_in_days=7
    )
    return {"a_user": cast.a1.user_id, "a_token": token.pk, "b_user": cast.b1.user_id}


def snapshot() -> tuple:
    """Contract A's tokens and log (B's own token is marked used as it is used)."""
    return (
        list(
            ApiToken.objects.filter(account__contract__domain="alpha")
            .order_by("pk")
            .values_list("pk", "revoked_at", "last_used_at")
        ),
        list(
            LogEntry.objects.filter(contract__domain="alpha")
            .order_by("pk")
            .values_list("pk", "digest")
        ),
    )


@pytest.mark.parametrize(("name", "method", "path"), PANEL)
def test_contract_b_session_gets_404_on_contract_a(
    cast: Cast, a_objects: dict, name: str, method: str, path: str
) -> None:
    client = logged_in(cast.b1)
    before = snapshot()
    response = getattr(client, method)(path.format(**a_objects))
    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(("method", "path"), API)
def test_contract_b_token_gets_404_on_contract_a(
    cast: Cast, a_objects: dict, method: str, path: str
) -> None:
    client = api_client(cast.b1)
    before = snapshot()
    response = getattr(client, method)(path.format(**a_objects))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert snapshot() == before


def test_contract_a_token_under_contract_b_own_account_is_not_found(
    cast: Cast, a_objects: dict
) -> None:
    client = api_client(cast.b1)
    before = snapshot()
    url = "/api/v1/users/{b_user}/account/tokens/{a_token}/revoke".format(**a_objects)
    assert client.post(url).status_code == 404
    assert snapshot() == before


def test_contract_b_lists_only_its_own_accounts_tokens(cast: Cast, a_objects: dict) -> None:
    client = api_client(cast.b1)
    names = [
        t["name"] for t in client.get(f"/api/v1/users/{cast.b1.user_id}/account/tokens").json()
    ]
    assert names == ["test"]


# Built once for the module (see conftest).
cast = shared_cast
