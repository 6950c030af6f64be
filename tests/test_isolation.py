"""Contracts never see each other: every page and endpoint of contract A, tried with contract B's
session or token, is a 404 and changes nothing.

The lists below must name every panel URL pattern and API operation; the coverage tests fail when
a new page or endpoint is added without being tried here.
"""

import importlib
import json
import pathlib
import re

import pytest
from django.test import Client
from django.urls import get_resolver

from mamori.accounts.models import Account, ApiToken, PermissionScheme
from mamori.accounts.services.tokens import api_token_create
from mamori.audit.models import LogEntry
from mamori.audit.services import log_record
from mamori.core.actor import Actor
from mamori.directory.models import Organization, User
from mamori.directory.services import organization_create
from mamori.panel import urls as panel_urls
from tests.conftest import Cast, api_client, logged_in, shared_cast

pytestmark = pytest.mark.django_db

# (URL name, method, path with {a_entry} / {a_token} for contract A's objects)
PANEL = [
    ("home", "get", "/alpha/"),
    ("devices", "get", "/alpha/devices/"),
    ("login", "get", "/alpha/login/"),
    ("login", "post", "/alpha/login/"),
    ("logout", "post", "/alpha/logout/"),
    ("password_change", "get", "/alpha/password/"),
    ("password_change", "post", "/alpha/password/"),
    ("account", "get", "/alpha/account/"),
    ("account", "post", "/alpha/account/"),
    ("api_token_revoke", "post", "/alpha/account/tokens/{a_token}/revoke/"),
    ("api_token_revoke", "post", "/bravo/account/tokens/{a_token}/revoke/"),
    ("logs", "get", "/alpha/logs/"),
    ("logs_export", "get", "/alpha/logs/export.csv"),
    ("log_detail", "get", "/alpha/logs/{a_entry}/"),
    ("log_detail", "get", "/bravo/logs/{a_entry}/"),
    ("settings", "get", "/alpha/settings/"),
    ("schemes", "get", "/alpha/settings/schemes/"),
    ("scheme_new", "get", "/alpha/settings/schemes/new/"),
    ("scheme_new", "post", "/alpha/settings/schemes/new/"),
    ("scheme_edit", "get", "/bravo/settings/schemes/{a_scheme}/"),
    ("scheme_edit", "post", "/bravo/settings/schemes/{a_scheme}/"),
    ("scheme_delete", "post", "/bravo/settings/schemes/{a_scheme}/delete/"),
    ("users", "get", "/alpha/users/"),
    ("users", "get", "/bravo/users/?org={a_organization}"),
    ("user_add", "get", "/alpha/users/add/"),
    ("users_bulk", "post", "/bravo/users/bulk/"),
    ("user_add", "get", "/bravo/users/add/?org={a_organization}"),
    ("user_detail", "get", "/bravo/users/{a_user}/"),
    ("user_edit", "get", "/bravo/users/{a_user}/edit/"),
    ("user_edit", "post", "/bravo/users/{a_user}/edit/"),
    ("user_delete", "post", "/bravo/users/{a_user}/delete/"),
    ("account_edit", "get", "/bravo/users/{a_user}/account/"),
    ("account_edit", "post", "/bravo/users/{a_user}/account/"),
    ("account_disable", "post", "/bravo/users/{a_user}/account/disable/"),
    ("account_enable", "post", "/bravo/users/{a_user}/account/enable/"),
    ("account_delete", "post", "/bravo/users/{a_user}/account/delete/"),
    ("organization_add", "post", "/bravo/orgs/{a_organization}/add/"),
    ("organization_rename", "post", "/bravo/orgs/{a_organization}/rename/"),
    ("organization_move", "post", "/bravo/orgs/{a_organization}/move/"),
    ("organization_delete", "post", "/bravo/orgs/{a_organization}/delete/"),
    ("organization_up", "post", "/bravo/orgs/{a_organization}/up/"),
    ("organization_down", "post", "/bravo/orgs/{a_organization}/down/"),
]

API = [
    ("get", "/api/v1/logs/{a_entry}"),
    ("get", "/api/v1/logs?actor={a_account}"),
    ("get", "/api/v1/organizations/{a_organization}"),
    ("patch", "/api/v1/organizations/{a_organization}"),
    ("delete", "/api/v1/organizations/{a_organization}"),
    ("post", "/api/v1/organizations?parent={a_organization}"),
    ("get", "/api/v1/users?organization_id={a_organization}"),
    ("post", "/api/v1/users?organization={a_organization}"),
    ("get", "/api/v1/users/{a_user}"),
    ("put", "/api/v1/users/{a_user}"),
    ("delete", "/api/v1/users/{a_user}"),
    ("get", "/api/v1/users/{a_user}/account"),
    ("put", "/api/v1/users/{a_user}/account"),
    ("delete", "/api/v1/users/{a_user}/account"),
    ("post", "/api/v1/users/{a_user}/account/disable"),
    ("post", "/api/v1/users/{a_user}/account/enable"),
    ("get", "/api/v1/schemes/{a_scheme}"),
    ("put", "/api/v1/schemes/{a_scheme}"),
    ("delete", "/api/v1/schemes/{a_scheme}"),
]
# Bodies sent with API writes: they name contract A's objects.
API_BODIES = {
    "/api/v1/organizations": {"parent_id": "{a_organization}", "name": "x"},
    "/api/v1/organizations/{a_organization}": {"name": "x", "parent_id": "{a_organization}"},
    "/api/v1/users": {
        "organization_id": "{a_organization}",
        "name": "x",
        "emails": [{"address": "x@x.example", "category": "main"}],
    },
    "/api/v1/users/{a_user}": {
        "organization_id": "{a_organization}",
        "name": "x",
        "emails": [{"address": "x@x.example", "category": "main"}],
    },
    "/api/v1/users/{a_user}/account": {
        "name": "x",
        "privilege": "operator",
        "password": "Long-enough-pw-1",
        "confirmation": "Long-enough-pw-1",
    },
    "/api/v1/schemes/{a_scheme}": {"name": "x", "permissions": []},
}
# Operations that name no object of another contract: each must answer with B's own data only.
API_OWN_ONLY = [
    ("get", "/api/v1/me"),
    ("get", "/api/v1/logs"),
    ("get", "/api/v1/organizations"),
    ("get", "/api/v1/users"),
    ("get", "/api/v1/schemes"),
    ("post", "/api/v1/schemes"),
]


@pytest.fixture
def a_objects(cast: Cast) -> dict[str, int]:
    entry = log_record(contract=cast.a, actor=Actor(account=cast.a1), action="account.logout")
    token, _ = api_token_create(
        actor=Actor(account=cast.a1), account=cast.a1, name="a", expires_in_days=7
    )
    root = Organization.objects.get(contract=cast.a, parent=None)
    sub = organization_create(actor=Actor.operator(), parent=root, name="A's department")
    scheme = PermissionScheme.objects.create(
        contract=cast.a, name="A's scheme", permissions=["users.view"]
    )
    return {
        "a_entry": entry.pk,
        "a_token": token.pk,
        "a_account": cast.a1.pk,
        "a_organization": sub.pk,
        "a_user": cast.a1.user_id,
        "a_scheme": scheme.pk,
    }


def snapshot(cast: Cast) -> tuple:
    """Everything of contract A that a request of B's might change."""
    return (
        list(LogEntry.objects.filter(contract=cast.a).values_list("pk", "digest")),
        list(ApiToken.objects.values_list("pk", "revoked_at")),
        list(
            Account.objects.filter(contract=cast.a).values_list(
                "pk", "name", "password", "is_active", "privilege"
            )
        ),
        list(Organization.objects.filter(contract=cast.a).values_list("pk", "name", "path")),
        list(User.objects.filter(contract=cast.a).values_list("pk", "name", "organization_id")),
        list(
            PermissionScheme.objects.filter(contract=cast.a).values_list(
                "pk", "name", "permissions"
            )
        ),
    )


def _names(patterns: list) -> set[str]:
    names: set[str] = set()
    for p in patterns:
        names |= _names(p.url_patterns) if hasattr(p, "url_patterns") else {p.name}
    return names


def all_panel_cases() -> list[tuple[str, str, str]]:
    """PANEL here, and the PANEL lists of every tests/test_isolation_*.py module."""
    cases = list(PANEL)
    for path in sorted(pathlib.Path(__file__).parent.glob("test_isolation_*.py")):
        cases += importlib.import_module(f"tests.{path.stem}").PANEL
    return cases


def test_every_panel_url_is_tried() -> None:
    assert _names(panel_urls.urlpatterns) == {name for name, _, _ in all_panel_cases()}


def all_api_cases() -> list[tuple[str, str]]:
    """API and API_OWN_ONLY here and in every tests/test_isolation_*.py module."""
    cases = API + API_OWN_ONLY
    for path in sorted(pathlib.Path(__file__).parent.glob("test_isolation_*.py")):
        module = importlib.import_module(f"tests.{path.stem}")
        cases += getattr(module, "API", []) + getattr(module, "API_OWN_ONLY", [])
    return cases


def test_every_api_operation_is_tried() -> None:
    api_resolver = next(p for p in get_resolver().url_patterns if str(p.pattern) == "api/v1/")
    routes = {str(p.pattern) for p in api_resolver.url_patterns} - {"", "openapi.json", "docs"}
    # "/api/v1/logs/{a_entry}" is tried for the route "logs/<entry_id>": placeholders become
    # the route's parameter names by position.
    tried = {
        re.sub(r"\{a_(\w+)\}", r"<\1_id>", path.split("?")[0].removeprefix("/api/v1/"))
        for _, path in all_api_cases()
    }
    assert routes == tried


@pytest.mark.parametrize(("name", "method", "path"), PANEL)
def test_contract_b_session_gets_404_on_contract_a(
    cast: Cast, a_objects: dict, name: str, method: str, path: str
) -> None:
    client = logged_in(cast.b1)
    before = snapshot(cast)
    data = {
        "account": "admin",
        "password": "x" * 12,
        "token-name": "x",
        "token-expires_in_days": "7",
        "name": "x",
        "organization": a_objects["a_organization"],
        "parent": a_objects["a_organization"],
        "emails-TOTAL_FORMS": "1",
        "emails-INITIAL_FORMS": "0",
        "emails-0-address": "x@x.example",
        "emails-0-category": "main",
        "privilege": "operator",
        "language": "en",
        "timezone": "UTC",
        "permissions": ["users.view"],
        "user": a_objects["a_user"],  # a bulk action's chosen users
        "action": "delete",
    }
    response = getattr(client, method)(path.format(**a_objects), data if method == "post" else None)
    assert response.status_code == 404
    assert snapshot(cast) == before


@pytest.mark.parametrize(("method", "path"), API)
def test_contract_b_token_gets_404_on_contract_a(
    cast: Cast, a_objects: dict, method: str, path: str
) -> None:
    client = api_client(cast.b1)  # its token is made before the snapshot
    before = snapshot(cast)
    url = path.format(**a_objects)
    body = API_BODIES.get(path.split("?")[0])
    if method in ("post", "put", "patch"):
        # The query only labels the case (API_BODIES is keyed by the path): the body carries
        # the other contract's organization, and a query parameter the endpoint does not read
        # would be refused before the lookup.
        url = url.split("?")[0]
        body = json.loads(
            json.dumps(body or {}).replace('"{a_organization}"', str(a_objects["a_organization"]))
        )
        response = getattr(client, method)(url, body, content_type="application/json")
    else:
        response = getattr(client, method)(url)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert snapshot(cast) == before


def test_contract_b_token_sees_only_contract_b(cast: Cast, a_objects: dict) -> None:
    client = api_client(cast.b1)
    assert client.get("/api/v1/me").json()["contract"]["domain"] == "bravo"
    items = client.get("/api/v1/logs", {"limit": 500}).json()["items"]
    b_entries = set(LogEntry.objects.filter(contract=cast.b).values_list("pk", flat=True))
    assert {item["id"] for item in items} == b_entries


def test_contract_b_session_sees_only_contract_b_in_its_log_and_export(
    cast: Cast, a_objects: dict
) -> None:
    client = logged_in(cast.b1)
    page = client.get("/bravo/logs/").context["page"]
    assert {e.contract_id for e in page.entries} == {cast.b.pk}
    body = b"".join(client.get("/bravo/logs/export.csv").streaming_content).decode("utf-8-sig")
    assert "アルファ" not in body and "alpha" not in body
    accounts = [
        value for value, _ in client.get("/bravo/logs/").context["form"].fields["actor"].choices
    ]
    assert cast.a1.pk not in accounts


def test_anonymous_visitor_of_an_unknown_contract_gets_404() -> None:
    assert Client().get("/nosuch/login/").status_code == 404
    assert Client().get("/nosuch/logs/").status_code == 404


def test_contract_b_cannot_add_a_user_to_contract_a_organization(
    cast: Cast, a_objects: dict
) -> None:
    before = snapshot(cast)
    response = logged_in(cast.b1).post(
        "/bravo/users/add/",
        {
            "name": "x",
            "organization": a_objects["a_organization"],
            "emails-TOTAL_FORMS": "1",
            "emails-INITIAL_FORMS": "0",
            "emails-0-address": "x@x.example",
            "emails-0-category": "main",
        },
    )
    assert response.status_code == 200
    assert "organization" in response.context["form"].errors
    assert snapshot(cast) == before
    assert not User.objects.filter(name="x").exists()


# Built once for the module (see conftest).
cast = shared_cast
