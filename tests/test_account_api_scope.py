"""``PUT /users/{id}/account``: organizations and a scheme are taken for the privileges the panel
offers them to (Department and Custom administrators; a scheme for Custom ones) and refused,
naming the field and why, for the others, instead of being dropped without a word."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from mamori.accounts.models import Account, PermissionScheme
from mamori.audit.models import LogEntry
from tests.conftest import OrgCast, api_client

pytestmark = pytest.mark.django_db


def put(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.put(url, body, content_type="application/json")


def body(**fields: Any) -> dict[str, Any]:
    return {
        "name": "hanako",
        "privilege": "operator",
        "password": "Sakura-no-hana-2026",
        "language": "en",
        "timezone": "Asia/Tokyo",
        **fields,
    }


def test_an_operators_organizations_are_refused_naming_the_field_and_nothing_is_made(
    orgs: OrgCast,
) -> None:
    client = api_client(orgs.cast.a1)
    url = f"/api/v1/users/{orgs.sato.pk}/account"
    entries = LogEntry.objects.count()
    refused = put(client, url, body(scope_organization_ids=[orgs.tokyo.pk]))
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "invalid"
    assert [d["field"] for d in error["details"]] == ["scope_organization_ids"]
    assert "オペレーターは自分の組織を" in error["details"][0]["message"]  # the account's language
    assert not Account.objects.filter(user=orgs.sato).exists()
    assert LogEntry.objects.count() == entries
    # An empty list is what an Operator has: the account is made, its scope its organization.
    made = put(client, url, body(scope_organization_ids=[]))
    assert made.status_code == 201 and made.json()["scope_organization_ids"] == []
    account = Account.objects.get(user=orgs.sato)
    assert account.scope_paths == [orgs.tokyo.path]


def test_an_existing_operator_is_not_changed_by_a_refused_scope_or_scheme(orgs: OrgCast) -> None:
    client = api_client(orgs.cast.a1)
    url = f"/api/v1/users/{orgs.a3.user_id}/account"
    before = client.get(url).json()
    scheme = PermissionScheme.objects.get(contract=orgs.cast.a)
    refused = put(
        client,
        url,
        body(
            name=orgs.a3.name,
            password="",
            language="ja",
            scope_organization_ids=[orgs.sales.pk],
            scheme_id=scheme.pk,
        ),
    )
    assert refused.status_code == 422
    fields = [d["field"] for d in refused.json()["error"]["details"]]
    assert fields == ["scope_organization_ids", "scheme_id"]
    assert client.get(url).json() == before


def test_the_scope_of_department_and_custom_administrators_is_applied_as_the_panel_does(
    orgs: OrgCast,
) -> None:
    client = api_client(orgs.cast.a1)
    url = f"/api/v1/users/{orgs.sato.pk}/account"
    made = put(
        client, url, body(privilege="department_admin", scope_organization_ids=[orgs.sales.pk])
    )
    assert made.status_code == 201 and made.json()["scope_organization_ids"] == [orgs.sales.pk]
    scheme = PermissionScheme.objects.get(contract=orgs.cast.a)
    changed = put(
        client,
        url,
        body(
            privilege="custom_admin",
            password="",
            scope_organization_ids=[orgs.tokyo.pk],
            scheme_id=scheme.pk,
        ),
    )
    assert changed.status_code == 200
    assert (changed.json()["scope_organization_ids"], changed.json()["scheme_id"]) == (
        [orgs.tokyo.pk],
        scheme.pk,
    )
    # A Department administrator without organizations: the service's rule, named as the API
    # names the field.
    empty = put(client, url, body(privilege="department_admin", password=""))
    assert empty.status_code == 422
    assert [d["field"] for d in empty.json()["error"]["details"]] == ["scope_organization_ids"]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"support_option": True},
            "support_option",
            "サポートオプションを持てるのはシステム管理者だけです。false を送ってください。",
        ),
        (
            {"scope_all": True},
            "scope_all",
            "すべての組織をこの方法で管理できるのはカスタム管理者だけです。false を送ってください。",
        ),
        (
            {"receive_notice_mail": True},
            "receive_notice_mail",
            "お知らせメールはサポートオプションを持つアカウントだけが受信します。false を送ってください。",
        ),
    ],
)
def test_an_operators_support_option_or_scope_all_is_refused_and_nothing_changes(
    orgs: OrgCast, fields: dict[str, Any], field: str, message: str
) -> None:
    """As organizations and a scheme are (above): refused by name, not dropped."""
    client = api_client(orgs.cast.a1)
    url = f"/api/v1/users/{orgs.a3.user_id}/account"
    before = client.get(url).json()
    entries = LogEntry.objects.count()
    refused = put(client, url, body(name=orgs.a3.name, password="", language="ja", **fields))
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "invalid")
    assert refused.json()["error"]["details"] == [{"field": field, "message": message}]
    assert client.get(url).json() == before
    assert LogEntry.objects.count() == entries
    # Sent false, the same request changes the account.
    changed = put(client, url, body(name=orgs.a3.name, password="", language="en"))
    assert changed.status_code == 200 and changed.json()["language"] == "en"


def test_scope_all_with_organizations_is_refused_for_a_custom_administrator(
    orgs: OrgCast,
) -> None:
    client = api_client(orgs.cast.a1)
    url = f"/api/v1/users/{orgs.sato.pk}/account"
    scheme = PermissionScheme.objects.get(contract=orgs.cast.a)
    refused = put(
        client,
        url,
        body(
            privilege="custom_admin",
            scheme_id=scheme.pk,
            scope_all=True,
            scope_organization_ids=[orgs.sales.pk],
        ),
    )
    assert refused.status_code == 422
    assert [d["field"] for d in refused.json()["error"]["details"]] == ["scope_organization_ids"]
    assert not Account.objects.filter(user=orgs.sato).exists()
    made = put(client, url, body(privilege="custom_admin", scheme_id=scheme.pk, scope_all=True))
    assert made.status_code == 201 and made.json()["scope_all"] is True


def test_a_system_administrator_keeps_the_support_option_and_notice_mail(orgs: OrgCast) -> None:
    client = api_client(orgs.cast.a1)
    url = f"/api/v1/users/{orgs.sato.pk}/account"
    made = put(
        client,
        url,
        body(privilege="system_admin", support_option=True, receive_notice_mail=True),
    )
    assert made.status_code == 201
    assert (made.json()["support_option"], made.json()["receive_notice_mail"]) == (True, True)
