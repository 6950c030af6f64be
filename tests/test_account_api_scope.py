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
