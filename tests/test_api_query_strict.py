"""The API refuses a query parameter it does not read (``mamori.api.api.query_strict``), as it
refuses a body field it does not know: ninja would drop it without a word, and
``GET /alerts?cursor=…`` (the parameter is ``after``) gave the first page again, so a client
paging with it looped for ever.

The generic tests walk the OpenAPI document, so a new endpoint is covered without being named:
every operation, sent its documented query parameters and one it does not read, answers a 422
``invalid_request`` naming exactly that one, in the account's language, and no row of any table
changes; the parameters the check knows are the document's.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from mamori.alerts.models import Alert
from mamori.api.api import api, query_names
from tests.alerts_data import alert_of
from tests.android.devices import make_device
from tests.conftest import OrgCast, api_client, shared_orgs, shared_orgs_cast
from tests.test_api_strict import everything

pytestmark = pytest.mark.django_db

DOCUMENT = api.get_openapi_schema()


def _operations() -> list[tuple[str, str, list[str]]]:
    return [
        (method, path, [p["name"] for p in op.get("parameters", []) if p["in"] == "query"])
        for path, operations in DOCUMENT["paths"].items()
        for method, op in operations.items()
    ]


OPERATIONS = _operations()


def _url(path: str) -> str:
    return re.sub(r"\{[a-z_]+\}", "1", path)


def _send(client: Client, method: str, url: str, query: str) -> Any:
    return getattr(client, method)(f"{url}?{query}", content_type="application/json")


def test_the_walk_finds_every_operation_and_the_list_parameters() -> None:
    assert len(OPERATIONS) >= 60
    assert ("get", "/api/v1/alerts", ["level", "kind", "organization_id",
            "include_sub_organizations", "device_id", "state", "after",
            "limit"]) in OPERATIONS  # fmt: skip
    assert ("get", "/api/v1/webhooks", []) in OPERATIONS


def test_the_check_knows_exactly_the_documented_query_parameters() -> None:
    documented = {(m.upper(), p): set(names) for m, p, names in OPERATIONS}
    known = {
        (method, f"/api/v1/{prefix}{path}".replace("//", "/").rstrip("/") or "/"): set(
            query_names(operation)
        )
        for prefix, router in api._routers
        for path, view in router.path_operations.items()
        for operation in view.operations
        for method in operation.methods
    }
    assert {k: v for k, v in known.items() if k in documented} == documented


@pytest.mark.parametrize(
    ("method", "path", "names"),
    [pytest.param(m, p, n, id=f"{m} {p}") for m, p, n in OPERATIONS],
)
def test_an_unknown_query_parameter_is_refused_by_name_and_changes_nothing(
    orgs: OrgCast, method: str, path: str, names: list[str]
) -> None:
    client = api_client(orgs.cast.a1)
    before = everything()
    # The documented ones are read (whatever their values): only the unknown one is named.
    query = "&".join([*(f"{name}=1" for name in names), "bogus=1"])
    response = _send(client, method, _url(path), query)
    assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_request")
    [detail] = response.json()["error"]["details"]
    assert detail["field"] == "bogus"
    expected = (
        f"このクエリパラメーターは使えません。このエンドポイントが受け付けるのは {', '.join(sorted(names))} です。"
        if names
        else "このクエリパラメーターは使えません。このエンドポイントはクエリパラメーターを受け付けません。"
    )
    assert detail["message"] == expected
    assert everything() == before


def test_cursor_for_after_is_refused_naming_it_instead_of_giving_the_first_page_again(
    orgs: OrgCast,
) -> None:
    for serial in ("Q-1", "Q-2", "Q-3"):
        alert_of(make_device(orgs.tokyo, serial=serial))
    client = api_client(orgs.cast.a1)
    first = client.get("/api/v1/alerts?limit=2").json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    response = client.get(f"/api/v1/alerts?limit=2&cursor={first['next_cursor']}")
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "invalid_request",
        "message": "リクエストが正しくありません。",
        "details": [
            {
                "field": "cursor",
                "message": "このクエリパラメーターは使えません。このエンドポイントが受け付けるのは "
                "after, device_id, include_sub_organizations, kind, level, limit, organization_id, state "
                "です。",
            }
        ],
    }
    # The right name pages on.
    rest = client.get(f"/api/v1/alerts?limit=2&after={first['next_cursor']}").json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert Alert.objects.count() == 3


def test_without_a_token_the_answer_is_a_401_before_the_unknown_parameter(orgs: OrgCast) -> None:
    response = Client().get("/api/v1/alerts?cursor=x")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "unauthorized")


def test_an_english_account_reads_the_refusal_in_english(orgs: OrgCast) -> None:
    response = api_client(orgs.cast.b1).get("/api/v1/webhooks?page=2")
    assert response.json()["error"]["details"] == [
        {
            "field": "page",
            "message": "This query parameter is not known. This endpoint reads none.",
        }
    ]


# Built once for the module (see conftest).
orgs, cast = shared_orgs, shared_orgs_cast
