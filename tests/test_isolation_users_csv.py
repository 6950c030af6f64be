"""Contract B never sees or touches contract A's CSV imports, exports or invitation links."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mamori.accounts.models import Account
from mamori.accounts.services.invitations import invitation_token
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from mamori.directory.models import Organization, User
from mamori.users_csv import services as services_csv
from mamori.users_csv.models import UserImport
from tests.conftest import Cast, api_client, logged_in, run_work

pytestmark = pytest.mark.django_db

# (URL name, method, path with {a_import} / {a_invitation} for contract A's objects)
PANEL = [
    ("users_import", "get", "/alpha/users/import/"),
    ("users_import", "post", "/alpha/users/import/"),
    ("user_import_detail", "get", "/alpha/users/imports/{a_import}/"),
    ("user_import_detail", "post", "/alpha/users/imports/{a_import}/"),
    ("user_import_detail", "get", "/bravo/users/imports/{a_import}/"),
    ("user_import_detail", "post", "/bravo/users/imports/{a_import}/"),
    ("users_export", "get", "/alpha/users/export.csv"),
    ("password_set", "get", "/alpha/password/set/{a_invitation}/"),
    ("password_set", "post", "/alpha/password/set/{a_invitation}/"),
    ("password_set", "get", "/bravo/password/set/{a_invitation}/"),
    ("password_set", "post", "/bravo/password/set/{a_invitation}/"),
]
API = [
    ("get", "/api/v1/users/imports/{a_import}"),
    ("post", "/api/v1/users/imports/{a_import}/apply"),
]
# Operations that name no object of another contract: each must answer with B's own data only.
API_OWN_ONLY = [("post", "/api/v1/users/imports"), ("get", "/api/v1/users/export")]

A_FILE = (
    "organization,name,employee_code,emails,account_name,privilege\n"
    "アルファ株式会社 / 秘密部,秘密 花子,S1,hanako@alpha.example:main,hanako,operator\n"
)
NEW_PASSWORD = "taken-over-password-77"


def _import(account: Account, text: str) -> UserImport:
    user_import = services_csv.user_import_start(
        actor=Actor(account=account),
        contract=account.contract,
        filename="a.csv",
        file=io.BytesIO(text.encode()),
        mode="add",
    )
    run_work("users.import")
    user_import.refresh_from_db()
    return user_import


@pytest.fixture
def a_objects(cast: Cast) -> dict[str, object]:
    done = _import(cast.a1, A_FILE)
    services_csv.user_import_apply(actor=Actor(account=cast.a1), user_import=done)
    run_work("users.import")
    ready = _import(cast.a1, A_FILE.replace("S1", "S2").replace("hanako", "jiro"))
    assert ready.status == "ready"
    return {
        "a_import": ready.pk,
        "a_invitation": invitation_token(Account.objects.get(name="hanako")),
    }


def snapshot(cast: Cast) -> tuple:
    return (
        list(LogEntry.objects.filter(contract=cast.a).values_list("pk", "digest")),
        list(Account.objects.filter(contract=cast.a).values_list("pk", "name", "password")),
        list(Organization.objects.filter(contract=cast.a).values_list("pk", "name", "path")),
        list(User.objects.filter(contract=cast.a).values_list("pk", "name", "organization_id")),
        list(UserImport.objects.filter(contract=cast.a).values_list("pk", "status", "summary")),
    )


@pytest.mark.parametrize(("name", "method", "path"), PANEL)
def test_contract_b_session_gets_404_on_contract_a(
    cast: Cast, a_objects: dict, name: str, method: str, path: str
) -> None:
    client = logged_in(cast.b1)
    before = snapshot(cast)
    data = {
        "file": SimpleUploadedFile("b.csv", A_FILE.encode()),
        "mode": "add",
        "new_password": NEW_PASSWORD,
        "confirmation": NEW_PASSWORD,
    }
    response = getattr(client, method)(path.format(**a_objects), data if method == "post" else None)
    assert response.status_code == 404
    assert snapshot(cast) == before
    assert UserImport.objects.filter(contract=cast.b).count() == 0


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


def test_contract_b_token_exports_and_imports_only_in_contract_b(
    cast: Cast, a_objects: dict
) -> None:
    client = api_client(cast.b1)
    before = snapshot(cast)
    body = b"".join(client.get("/api/v1/users/export").streaming_content).decode("utf-8-sig")
    assert "alpha" not in body and "アルファ" not in body and "秘密" not in body
    assert body.splitlines()[1].startswith("Bravo Inc.,bravo 管理者,")

    upload = SimpleUploadedFile("b.csv", A_FILE.encode())
    created = client.post("/api/v1/users/imports", {"file": upload, "mode": "add"}).json()
    run_work("users.import")
    report = client.get(f"/api/v1/users/imports/{created['id']}").json()
    assert report["status"] == "invalid"
    assert report["errors"][0]["message"] == (
        "The organization path must start with the top organization “Bravo Inc.”."
    )
    assert UserImport.objects.get(pk=created["id"]).contract == cast.b
    assert snapshot(cast) == before


def test_contract_b_session_exports_only_contract_b(cast: Cast, a_objects: dict) -> None:
    response = logged_in(cast.b1).get("/bravo/users/export.csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert len(body.splitlines()) == 2
    assert "秘密" not in body and "alpha" not in body
