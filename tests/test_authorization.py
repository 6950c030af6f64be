"""The authorization matrix of Users/Org: every page and endpoint × every privilege.

Actors: ``system`` (A1), ``department`` (A2, manages 営業部 and 東京), ``operator`` (A3, in
営業部), ``custom`` (A4, a scheme with users.* only, scoped to 開発部), ``other`` (B1, another
contract). Targets: sato (in 東京: inside A2's scope), suzuki (in 開発部: inside A4's, outside
A2's). Each denied case also asserts that nothing changed.
"""

import pytest

from mamori.accounts.models import Account, ApiToken, PermissionScheme
from mamori.accounts.services.tokens import api_token_create
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from mamori.directory.models import Organization, User, UserEmail
from tests.conftest import OrgCast, api_client, logged_in, make_account, shared_orgs

pytestmark = pytest.mark.django_db

OK = "ok"
ACTORS = ("system", "department", "operator", "custom", "other")


def user_body(org: str) -> dict:
    return {
        "name": "新人",
        "organization": org,
        "emails-TOTAL_FORMS": "1",
        "emails-INITIAL_FORMS": "0",
        "emails-0-address": "new@alpha.example",
        "emails-0-category": "main",
    }


OPERATOR_ACCOUNT = {
    "name": "newop",
    "password": "Long-enough-pw-1",
    "confirmation": "Long-enough-pw-1",
    "privilege": "operator",
    "language": "en",
    "timezone": "UTC",
}

# (case, method, path, body, expected per actor in ACTORS order)
PAGES = [
    ("list users", "get", "/alpha/users/", None, (OK, OK, OK, OK, 404)),
    ("see a user in 東京", "get", "/alpha/users/{sato}/", None, (OK, OK, OK, 404, 404)),
    ("see a user in 開発部", "get", "/alpha/users/{suzuki}/", None, (OK, 404, 404, OK, 404)),
    (
        "add a user to 東京",
        "post",
        "/alpha/users/add/",
        user_body("{tokyo}"),
        (OK, OK, 403, 200, 404),
    ),
    (
        "add a user to 開発部",
        "post",
        "/alpha/users/add/",
        user_body("{dev}"),
        (OK, 200, 403, OK, 404),
    ),
    (
        "edit a user in 開発部",
        "post",
        "/alpha/users/{suzuki}/edit/",
        user_body("{dev}"),
        (OK, 404, 404, OK, 404),
    ),
    ("delete a user in 東京", "post", "/alpha/users/{sato}/delete/", None, (OK, OK, 403, 404, 404)),
    (
        "delete a user in 開発部",
        "post",
        "/alpha/users/{suzuki}/delete/",
        None,
        (OK, 404, 404, OK, 404),
    ),
    (
        "give a user in 東京 an account",
        "post",
        "/alpha/users/{sato}/account/",
        OPERATOR_ACCOUNT,
        (OK, OK, 403, 404, 404),
    ),
    (
        "give a user in 開発部 an account",
        "post",
        "/alpha/users/{suzuki}/account/",
        OPERATOR_ACCOUNT,
        (OK, 404, 404, 403, 404),
    ),
    (
        "disable the operator",
        "post",
        "/alpha/users/{a3_user}/account/disable/",
        None,
        (OK, OK, 403, 404, 404),
    ),
    (
        "add an organization under 営業部",
        "post",
        "/alpha/orgs/{sales}/add/",
        {"name": "新設"},
        (OK, OK, 403, 404, 404),
    ),
    (
        "rename 開発部",
        "post",
        "/alpha/orgs/{dev}/rename/",
        {"name": "新名"},
        (OK, 404, 404, 403, 404),
    ),
    # An account's API tokens: for those who manage it (Department administrators manage
    # Operators, not other administrators nor themselves here).
    (
        "list the operator's tokens",
        "get",
        "/alpha/users/{a3_user}/account/tokens/",
        None,
        (OK, OK, 403, 404, 404),
    ),
    (
        "list the department administrator's tokens",
        "get",
        "/alpha/users/{a2_user}/account/tokens/",
        None,
        (OK, 403, 403, 404, 404),
    ),
    (
        "revoke the operator's token",
        "post",
        "/alpha/users/{a3_user}/account/tokens/{a3_token}/revoke/",
        None,
        (OK, OK, 403, 404, 404),
    ),
    (
        "revoke the department administrator's token",
        "post",
        "/alpha/users/{a2_user}/account/tokens/{a2_token}/revoke/",
        None,
        (OK, 403, 403, 404, 404),
    ),
    ("list permission schemes", "get", "/alpha/settings/schemes/", None, (OK, 403, 403, 403, 404)),
    ("read the operation log", "get", "/alpha/logs/", None, (OK, OK, 403, 403, 404)),
    ("export the operation log", "get", "/alpha/logs/export.csv", None, (OK, OK, 403, 403, 404)),
    (
        "read the log entry about 営業部",
        "get",
        "/alpha/logs/{sales_entry}/",
        None,
        (OK, OK, 403, 404, 404),
    ),
    # Basic information names the contact person and the support-option holders: Operators
    # (and custom schemes without Settings) have no business there.
    ("see basic information", "get", "/alpha/settings/", None, (OK, OK, 403, 403, 404)),
    ("see security settings", "get", "/alpha/settings/security/", None, (OK, 403, 403, 403, 404)),
    (
        "open the new-scheme form",
        "get",
        "/alpha/settings/schemes/new/",
        None,
        (OK, 403, 403, 403, 404),
    ),
]

API_CASES = [
    ("list users", "get", "/api/v1/users", None, (OK, OK, OK, OK, OK)),
    ("see a user in 東京", "get", "/api/v1/users/{sato}", None, (OK, OK, OK, 404, 404)),
    (
        "add a user to 開発部",
        "post",
        "/api/v1/users",
        {
            "organization_id": "{dev}",
            "name": "新人",
            "emails": [{"address": "n@alpha.example", "category": "main"}],
        },
        (OK, 404, 404, OK, 404),
    ),
    ("delete a user in 東京", "delete", "/api/v1/users/{sato}", None, (OK, OK, 403, 404, 404)),
    (
        "give a user in 東京 an account",
        "put",
        "/api/v1/users/{sato}/account",
        OPERATOR_ACCOUNT,
        (OK, OK, 403, 404, 404),
    ),
    (
        "see the operator's account",
        "get",
        "/api/v1/users/{a3_user}/account",
        None,
        (OK, OK, 403, 404, 404),
    ),
    (
        "rename 開発部",
        "patch",
        "/api/v1/organizations/{dev}",
        {"name": "新名"},
        (OK, 404, 404, 403, 404),
    ),
    (
        "list the operator's tokens",
        "get",
        "/api/v1/users/{a3_user}/account/tokens",
        None,
        (OK, OK, 403, 404, 404),
    ),
    (
        "revoke the department administrator's token",
        "post",
        "/api/v1/users/{a2_user}/account/tokens/{a2_token}/revoke",
        None,
        (OK, 403, 403, 404, 404),
    ),
    (
        "revoke the operator's token",
        "post",
        "/api/v1/users/{a3_user}/account/tokens/{a3_token}/revoke",
        None,
        (OK, OK, 403, 404, 404),
    ),
    ("list schemes", "get", "/api/v1/schemes", None, (OK, 403, 403, 403, OK)),
    # The API answers as the log page does: an Operator is refused, not shown an empty list.
    ("read the operation log", "get", "/api/v1/logs", None, (OK, OK, 403, 403, OK)),
    (
        "read the log entry about 営業部",
        "get",
        "/api/v1/logs/{sales_entry}",
        None,
        (OK, OK, 403, 404, 404),
    ),
]


def actor_of(orgs: OrgCast, name: str) -> Account:
    return {
        "system": orgs.cast.a1,
        "department": orgs.a2,
        "operator": orgs.a3,
        "custom": orgs.a4,
        "other": orgs.cast.b1,
    }[name]


def ids(orgs: OrgCast) -> dict[str, int]:
    return {
        "sato": orgs.sato.pk,
        "suzuki": orgs.suzuki.pk,
        "tokyo": orgs.tokyo.pk,
        "dev": orgs.dev.pk,
        "sales": orgs.sales.pk,
        "a3_user": orgs.a3.user_id,
        "a2_user": orgs.a2.user_id,
        "a3_token": token_of(orgs.a3),
        "a2_token": token_of(orgs.a2),
        "sales_entry": LogEntry.objects.get(
            action="organization.created", target_id=str(orgs.sales.pk)
        ).pk,
    }


def token_of(account: Account) -> int:
    """The id of the account's token "kept" (made on first use; the matrix revokes it)."""
    token = ApiToken.objects.filter(account=account, name="kept").first()
    if token is None:
        token, _raw = api_token_create(
            actor=Actor(account=account), account=account, name="kept", expires_in_days=7
        )
    return token.pk


def fill(value, orgs: OrgCast):
    """The body with "{name}" placeholders replaced by the ids of the cast."""
    if isinstance(value, dict):
        return {k: fill(v, orgs) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, orgs) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids(orgs)[value[1:-1]]
    return value


def state(orgs: OrgCast) -> tuple:
    contract = orgs.cast.a
    return (
        list(
            User.objects.filter(contract=contract)
            .order_by("pk")
            .values_list("pk", "name", "organization_id")
        ),
        list(
            UserEmail.objects.filter(user__contract=contract)
            .order_by("pk")
            .values_list("address", "category")
        ),
        list(
            Account.objects.filter(contract=contract)
            .order_by("pk")
            .values_list("pk", "name", "privilege", "is_active")
        ),
        list(
            Organization.objects.filter(contract=contract)
            .order_by("pk")
            .values_list("pk", "name", "path")
        ),
        list(PermissionScheme.objects.filter(contract=contract).values_list("pk", "name")),
        LogEntry.objects.filter(contract=contract).count(),
        list(
            ApiToken.objects.filter(account__contract=contract, name="kept")
            .order_by("pk")
            .values_list("pk", "revoked_at")
        ),
    )


def check(response, expected, before: tuple, orgs: OrgCast) -> None:
    if expected == OK:
        assert response.status_code in (200, 201, 204, 302), response.content[:500]
        if response.status_code == 200 and response.get("Content-Type", "").startswith("text/html"):
            form = (response.context or {}).get("form")
            assert form is None or not form.errors, form.errors
        return
    assert response.status_code == expected, response.content[:500]
    assert state(orgs) == before


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(
    ("case", "method", "path", "body", "expected"), PAGES, ids=[c[0] for c in PAGES]
)
def test_pages(
    orgs: OrgCast, actor: str, case: str, method: str, path: str, body, expected: tuple
) -> None:
    client = logged_in(actor_of(orgs, actor))
    url = path.format(**ids(orgs))
    before = state(orgs)
    response = client.post(url, fill(body, orgs) or {}) if method == "post" else client.get(url)
    check(response, expected[ACTORS.index(actor)], before, orgs)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize(
    ("case", "method", "path", "body", "expected"), API_CASES, ids=[c[0] for c in API_CASES]
)
def test_api(
    orgs: OrgCast, actor: str, case: str, method: str, path: str, body, expected: tuple
) -> None:
    client = api_client(actor_of(orgs, actor))
    url = path.format(**ids(orgs))
    before = state(orgs)
    if method in ("post", "put", "patch"):
        response = getattr(client, method)(url, fill(body, orgs), content_type="application/json")
    else:
        response = getattr(client, method)(url)
    check(response, expected[ACTORS.index(actor)], before, orgs)
    if response.status_code >= 400:
        assert response.json()["error"]["code"] in {"forbidden", "not_found"}


def test_pages_show_only_the_buttons_the_account_may_use(orgs: OrgCast) -> None:
    operator = logged_in(orgs.a3).get("/alpha/users/").content.decode()
    system = logged_in(orgs.cast.a1).get("/alpha/users/").content.decode()
    assert "Add User" in system and "Add User" not in operator
    assert "/logs/" in system and 'href="/alpha/logs/"' not in operator


def test_account_details_are_shown_only_with_the_accounts_permission(orgs: OrgCast) -> None:
    # A4's scheme has users.* but not accounts.view: the API refuses it suzuki's account, and
    # the page, the list and the CSV export must not show it either.
    make_account(orgs.suzuki, "ichiro", "operator")
    client = logged_in(orgs.a4)
    assert api_client(orgs.a4).get(f"/api/v1/users/{orgs.suzuki.pk}/account").status_code == 403
    page = client.get(f"/alpha/users/{orgs.suzuki.pk}/").content.decode()
    assert 'id="mamori-account"' not in page and "ichiro" not in page
    assert "ichiro" not in client.get("/alpha/users/").content.decode()
    orgs.a4.scheme.permissions = [*orgs.a4.scheme.permissions, "users.export"]
    orgs.a4.scheme.save()
    exported = b"".join(client.get("/alpha/users/export.csv").streaming_content).decode("utf-8-sig")
    assert exported.splitlines()[0].endswith(",emails") and "ichiro" not in exported
    # With the permission, the same page shows the account.
    system = logged_in(orgs.cast.a1).get(f"/alpha/users/{orgs.suzuki.pk}/").content.decode()
    assert 'id="mamori-account"' in system and "ichiro" in system


orgs = shared_orgs  # built once for the module (see conftest)
