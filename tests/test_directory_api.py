"""Users/Org through the API: the same rules and the same operation log as the pages."""

import pytest
from django.test import Client

from mamori.accounts.models import Account, PermissionScheme
from mamori.audit.models import LogEntry
from mamori.directory.models import Organization, User
from tests.conftest import OrgCast, api_client, shared_orgs, shared_orgs_cast

pytestmark = pytest.mark.django_db


def api_as(account: Account) -> Client:
    account.language = "en"
    account.save()
    return api_client(account)


def post(client: Client, url: str, body: dict, method: str = "post"):
    return getattr(client, method)(url, body, content_type="application/json")


def test_organization_tree_with_counts(orgs: OrgCast) -> None:
    body = api_as(orgs.cast.a1).get("/api/v1/organizations").json()
    assert [(o["name"], o["depth"], o["user_count"], o["subtree_user_count"]) for o in body] == [
        ("アルファ株式会社", 0, 1, 6),
        ("営業部", 1, 2, 3),
        ("東京", 2, 1, 1),
        ("開発部", 1, 2, 2),
    ]


def test_organization_create_rename_move_delete(orgs: OrgCast) -> None:
    client = api_as(orgs.cast.a1)
    created = post(client, "/api/v1/organizations", {"parent_id": orgs.dev.pk, "name": "基盤"})
    assert created.status_code == 201
    pk = created.json()["id"]
    moved = post(
        client,
        f"/api/v1/organizations/{pk}",
        {"name": "基盤チーム", "parent_id": orgs.sales.pk},
        "patch",
    )
    assert moved.json() | {} == {
        "id": pk,
        "name": "基盤チーム",
        "parent_id": orgs.sales.pk,
        "depth": 2,
        "user_count": 0,
        "subtree_user_count": 0,
    }
    refused = post(client, f"/api/v1/organizations/{orgs.sales.pk}", {"parent_id": pk}, "patch")
    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == [
        {
            "field": "parent",
            "message": "An organization cannot be moved under itself or one of its sub-organizations.",
        }
    ]
    assert client.delete(f"/api/v1/organizations/{pk}").status_code == 204
    assert not Organization.objects.filter(pk=pk).exists()


def test_user_create_with_emails_then_replace(orgs: OrgCast) -> None:
    client = api_as(orgs.cast.a1)
    body = {
        "organization_id": orgs.tokyo.pk,
        "name": "山本 恵",
        "furigana": "やまもと めぐみ",
        "employee_code": "E100",
        "emails": [
            {"address": "megumi@alpha.example", "category": "main"},
            {"address": "m@home.example", "category": "personal"},
        ],
    }
    created = post(client, "/api/v1/users", body)
    assert created.status_code == 201
    user = created.json()
    assert (user["furigana"], user["emails"][0]) == (
        "ヤマモト\u3000メグミ",
        {"address": "megumi@alpha.example", "category": "main"},
    )
    body["organization_id"] = orgs.dev.pk
    body["emails"] = [
        {"address": "megumi@alpha.example", "category": "work"},
        {"address": "m@home.example", "category": "main"},
    ]
    replaced = post(client, f"/api/v1/users/{user['id']}", body, "put").json()
    assert replaced["organization_id"] == orgs.dev.pk
    assert {e["address"]: e["category"] for e in replaced["emails"]} == {
        "megumi@alpha.example": "work",
        "m@home.example": "main",
    }
    assert [e.actor_kind for e in LogEntry.objects.filter(target_id=str(user["id"]))] == [
        "api",
        "api",
    ]


@pytest.mark.parametrize(
    ("emails", "message"),
    [
        ([], "Enter at least one e-mail address, and mark it as main."),
        (
            [{"address": "a@alpha.example", "category": "work"}],
            "Exactly one e-mail address must have the category “Main” (now: 0).",
        ),
        (
            [
                {"address": "a@alpha.example", "category": "main"},
                {"address": "b@alpha.example", "category": "main"},
            ],
            "Exactly one e-mail address must have the category “Main” (now: 2).",
        ),
    ],
)
def test_exactly_one_main_address_through_the_api(
    orgs: OrgCast, emails: list, message: str
) -> None:
    response = post(
        api_as(orgs.cast.a1),
        "/api/v1/users",
        {"organization_id": orgs.dev.pk, "name": "X", "emails": emails},
    )
    assert response.status_code == 422
    assert {"field": "emails", "message": message} in response.json()["error"]["details"]
    assert not User.objects.filter(name="X").exists()


def test_users_search_and_pages(orgs: OrgCast) -> None:
    client = api_as(orgs.cast.a1)
    assert [u["name"] for u in client.get("/api/v1/users", {"q": "ｻﾄｳ"}).json()["items"]] == [
        "佐藤 花子"
    ]
    seen, after = [], None
    while True:
        page = client.get(
            "/api/v1/users", {"limit": 2, **({"after": after} if after else {})}
        ).json()
        seen += [u["id"] for u in page["items"]]
        after = page["next_cursor"]
        if not after:
            break
    assert seen == list(
        User.objects.filter(contract=orgs.cast.a)
        .order_by("furigana", "id")
        .values_list("pk", flat=True)
    )
    assert client.get("/api/v1/users", {"after": "garbage"}).status_code == 422


def test_account_create_and_update_with_the_same_rules(orgs: OrgCast) -> None:
    client = api_as(orgs.cast.a1)
    url = f"/api/v1/users/{orgs.sato.pk}/account"
    body = {
        "name": "hanako",
        "privilege": "system_admin",
        "password": "Sakura-no-hana-2026",
        "confirmation": "Sakura-no-hana-2026",
        "support_option": True,
        "language": "en",
        "timezone": "America/New_York",
    }
    created = post(client, url, body, "put")
    assert created.status_code == 201
    assert created.json() | {"id": 0} == {
        "id": 0,
        "user_id": orgs.sato.pk,
        "name": "hanako",
        "privilege": "system_admin",
        "support_option": True,
        "receive_notice_mail": False,
        "language": "en",
        "timezone": "America/New_York",
        "scope_all": False,
        "scope_organization_ids": [],
        "scheme_id": None,
        "enabled": True,
        "two_factor_enabled": False,
    }
    body.update(
        privilege="department_admin",
        password="",
        confirmation="",
        scope_organization_ids=[orgs.tokyo.pk],
        support_option=False,  # a Department administrator has none (sent true: a 422)
    )
    updated = post(client, url, body, "put").json()
    assert (updated["privilege"], updated["support_option"], updated["scope_organization_ids"]) == (
        "department_admin",
        False,
        [orgs.tokyo.pk],
    )
    assert client.post(f"{url}/disable").json()["enabled"] is False
    assert client.post(f"{url}/enable").json()["enabled"] is True
    assert client.delete(url).status_code == 204
    assert not Account.objects.filter(user=orgs.sato).exists()


def test_schemes_for_system_administrators(orgs: OrgCast) -> None:
    client = api_as(orgs.cast.a1)
    created = post(
        client, "/api/v1/schemes", {"name": "Auditors", "permissions": ["logs.view", "logs.export"]}
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    bad = post(
        client, f"/api/v1/schemes/{pk}", {"name": "Auditors", "permissions": ["logs.burn"]}, "put"
    )
    assert bad.status_code == 422 and "logs.burn" in bad.json()["error"]["details"][0]["message"]
    assert PermissionScheme.objects.get(pk=pk).permissions == ["logs.export", "logs.view"]
    in_use = orgs.a4.scheme_id
    refused = client.delete(f"/api/v1/schemes/{in_use}")
    assert refused.status_code == 422
    assert client.delete(f"/api/v1/schemes/{pk}").status_code == 204


# Built once for the module (see conftest).
orgs, cast = shared_orgs, shared_orgs_cast
