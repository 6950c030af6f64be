"""The API takes values as they are or refuses them (README, "The API": ``true`` is no id, ``"yes"``
no boolean) and refuses fields it does not know: ``mamori.core.inputs.InputSchema``.

The generic tests walk the OpenAPI document, so a new endpoint is covered without being named:
for every JSON request body, a body valid but for one integer or boolean property (nested ones
too) set to a value of another JSON type, or valid but for one unknown field, is a 422
``invalid_request`` naming exactly that field, in the account's language, and no row of any table
changes. The explicit tests are the cases a newcomer found, each with the correct request
accepted beside it.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext
from ninja import NinjaAPI, Router, Schema

from mamori.android.models import Command, CommandJob, Device
from mamori.api.api import api, bodies_strict
from mamori.audit.models import LogEntry
from mamori.directory.models import Organization
from tests.android.command_devices import make_device
from tests.conftest import OrgCast, api_client, shared_orgs, shared_orgs_cast

pytestmark = pytest.mark.django_db

DOCUMENT = api.get_openapi_schema()
COMPONENTS: dict[str, Any] = DOCUMENT["components"]["schemas"]

# Values of another JSON type that lax parsing would have taken, per property type.
WRONG: dict[str, tuple[Any, ...]] = {
    "integer": (True, "1", 1.5),
    "boolean": ("yes", "true", "1", 1),
}
# What the account reads for each (in its language: A1's is Japanese).
MESSAGES = {
    "integer": "Enter a whole number as a JSON number, such as 3 (not 1.5, text, true or false).",
    "boolean": "Enter true or false (not text or a number).",
    "unknown": "This field is not known: check its name against the API document.",
}
WHOLE, TRUE_OR_FALSE, UNKNOWN = MESSAGES.values()


def _resolved(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return COMPONENTS[ref.rsplit("/", 1)[1]] if ref else schema


def _variants(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The non-null alternatives of a property (``int | None`` is ``anyOf`` integer, null)."""
    schema = _resolved(schema)
    return [_resolved(s) for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]


def _valid(schema: dict[str, Any]) -> Any:
    """A value the schema accepts: its required properties only, the first of an enum."""
    schema = _variants(schema)[0]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return {name: _valid(schema["properties"][name]) for name in schema.get("required", [])}
    if kind == "array":
        return [_valid(schema["items"]) for _ in range(schema.get("minItems", 0))]
    if kind == "string":
        return "x" * max(1, schema.get("minLength", 1))
    return {"integer": 1, "number": 1, "boolean": True}.get(kind, {})


def _slots(schema: dict[str, Any], path: tuple[str | int, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """``(path, kind, schema)`` for every property, nested objects and list items included."""
    for name, prop in _variants(schema)[0].get("properties", {}).items():
        for variant in _variants(prop):
            kind = variant.get("type", "object")
            yield (*path, name), kind, variant
            if kind == "array":
                for item in _variants(variant["items"]):
                    yield (*path, name, 0), item.get("type", "object"), item
                    yield from _slots(item, (*path, name, 0))
            elif kind == "object":
                yield from _slots(variant, (*path, name))


def _with(body: dict[str, Any], schema: dict[str, Any], path: tuple[Any, ...], value: Any) -> Any:
    """``body`` (valid for ``schema``) with ``value`` at ``path``, made valid on the way."""
    body = copy.deepcopy(body)
    here: Any = body
    for step, following in itertools.pairwise(path):
        schema = _variants(schema)[0]
        child = schema["items"] if isinstance(step, int) else schema["properties"][step]
        if isinstance(step, int):
            while len(here) <= step:
                here.append(_valid(child))
        elif here.get(step) is None:
            here[step] = [] if isinstance(following, int) else _valid(child)
        here, schema = here[step], child
    if isinstance(path[-1], int):
        here.extend([None] * (path[-1] + 1 - len(here)))
    here[path[-1]] = value
    return body


def _bodies() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                yield method, path, content["application/json"]["schema"]


BODIES = list(_bodies())
WRONG_CASES = [
    pytest.param(
        method,
        path,
        schema,
        slot,
        value,
        id=f"{method} {path} {'.'.join(map(str, slot))}={value!r}",
    )
    for method, path, schema in BODIES
    for slot, kind, _prop in _slots(schema)
    if kind in WRONG
    for value in WRONG[kind]
]
NESTED_OBJECTS = [
    pytest.param(method, path, schema, slot, id=f"{method} {path} {'.'.join(map(str, slot))}")
    for method, path, schema in BODIES
    for slot in [()] + [s for s, kind, prop in _slots(schema) if "properties" in prop]
]


def _kind_at(schema: dict[str, Any], slot: tuple[Any, ...]) -> str:
    return next(kind for s, kind, _p in _slots(schema) if s == slot)


def everything() -> dict[str, int]:
    """The number of rows of every table of Mamori's apps (operation log included)."""
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model.__module__.startswith("mamori.")
    }


def refused_as(response: Any, details: list[tuple[str, str]], language: str) -> None:
    """``response`` is a 422 ``invalid_request`` whose details are exactly ``details``
    (field, English message), the messages said in ``language``."""
    with translation.override(language):
        expected = [{"field": f, "message": gettext(m)} for f, m in details]
    assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid_request")
    assert response.json()["error"]["details"] == expected


def _url(path: str) -> str:
    return re.sub(r"\{[a-z_]+\}", "1", path)


def test_the_document_has_bodies_with_integers_booleans_and_nested_objects() -> None:
    """The walk below finds what it must (so an empty walk cannot pass)."""
    slots = {(m, p, ".".join(map(str, s))) for m, p, sc in BODIES for s, _k, _x in _slots(sc)}
    assert ("post", "/api/v1/devices/commands", "device_ids.0") in slots
    assert ("post", "/api/v1/devices/commands", "lock_now") in slots
    assert ("post", "/api/v1/users", "emails.0.address") in slots
    assert len(BODIES) >= 17 and len(WRONG_CASES) >= 100


@pytest.mark.parametrize(("method", "path", "schema", "slot", "value"), WRONG_CASES)
def test_a_value_of_another_type_is_refused_and_changes_nothing(
    orgs: OrgCast, method: str, path: str, schema: dict[str, Any], slot: tuple[Any, ...], value: Any
) -> None:
    client = api_client(orgs.cast.a1)
    body = _with(_valid(schema), schema, slot, value)
    before = everything()
    response = getattr(client, method)(_url(path), body, content_type="application/json")
    refused_as(response, [(".".join(map(str, slot)), MESSAGES[_kind_at(schema, slot)])], "ja")
    assert everything() == before


@pytest.mark.parametrize(("method", "path", "schema", "slot"), NESTED_OBJECTS)
def test_an_unknown_field_is_refused_by_name_and_changes_nothing(
    orgs: OrgCast, method: str, path: str, schema: dict[str, Any], slot: tuple[Any, ...]
) -> None:
    client = api_client(orgs.cast.a1)
    body = _with(_valid(schema), schema, (*slot, "bogus"), 1)
    before = everything()
    response = getattr(client, method)(_url(path), body, content_type="application/json")
    refused_as(response, [(".".join(map(str, (*slot, "bogus"))), MESSAGES["unknown"])], "ja")
    assert everything() == before


class Lax(Schema):
    """A body schema that forgot ``InputSchema``."""

    count: int


def test_an_api_with_a_body_that_is_no_input_schema_does_not_start() -> None:
    router = Router()

    @router.post("/lax")
    def lax(request: HttpRequest, payload: Lax) -> None:
        """Never called."""

    other = NinjaAPI(urls_namespace="lax-body-test")
    other.add_router("", router)
    with pytest.raises(ImproperlyConfigured, match=r"/lax: the body 'payload' must be an Input"):
        bodies_strict(other)
    bodies_strict(api)  # Mamori's own API starts


# The cases found, each beside the request that is accepted -------------------------------------


def _post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, body, content_type="application/json")


def test_true_is_no_organization_and_no_device_for_a_bulk_command(orgs: OrgCast) -> None:
    device = make_device(orgs.sales)
    client = api_client(orgs.cast.a1)
    url = "/api/v1/devices/commands"
    for wrong, field in (
        ({"organization_id": True}, "organization_id"),
        ({"organization_id": str(orgs.root.pk)}, "organization_id"),
        ({"device_ids": [True]}, "device_ids.0"),
        ({"device_ids": [str(device.pk)]}, "device_ids.0"),
    ):
        response = _post(client, url, {"type": "LOCK", **wrong})
        refused_as(response, [(field, WHOLE)], "ja")
    assert (CommandJob.objects.count(), Command.objects.count()) == (0, 0)
    assert not LogEntry.objects.filter(action__startswith="command").exists()
    assert _post(client, url, {"type": "LOCK", "organization_id": orgs.root.pk}).status_code == 201
    assert _post(client, url, {"type": "LOCK", "device_ids": [device.pk]}).status_code == 201
    assert CommandJob.objects.count() == 2


def test_device_ids_and_organization_id_together_are_refused_naming_both(orgs: OrgCast) -> None:
    device = make_device(orgs.sales)
    response = _post(
        api_client(orgs.cast.a1),
        "/api/v1/devices/commands",
        {"type": "LOCK", "device_ids": [device.pk], "organization_id": orgs.sales.pk},
    )
    said = "device_ids と organization_id のどちらか一方だけを指定してください。"
    assert (response.status_code, response.json()["error"]["code"]) == (422, "invalid")
    assert response.json()["error"]["details"] == [
        {"field": "device_ids", "message": said},
        {"field": "organization_id", "message": said},
    ]
    assert (CommandJob.objects.count(), Command.objects.count()) == (0, 0)


def test_an_unknown_parameter_of_a_command_is_refused_by_name(orgs: OrgCast) -> None:
    response = _post(
        api_client(orgs.cast.a1),
        "/api/v1/devices/commands",
        {"type": "LOCK", "organization_id": orgs.sales.pk, "bogus": 1},
    )
    refused_as(response, [("bogus", UNKNOWN)], "ja")
    assert CommandJob.objects.count() == 0


def test_yes_is_not_true_for_lock_now(orgs: OrgCast) -> None:
    device = make_device(orgs.sales)
    response = _post(
        api_client(orgs.cast.a1),
        f"/api/v1/devices/{device.pk}/commands",
        {
            "type": "RESET_PASSWORD",
            "new_password": "Pass-word-2026",
            "confirmation": "Pass-word-2026",
            "lock_now": "yes",
        },
    )
    refused_as(response, [("lock_now", TRUE_OR_FALSE)], "ja")
    assert Command.objects.count() == 0


def test_true_neither_moves_a_device_nor_gives_it_a_user(orgs: OrgCast) -> None:
    device = make_device(orgs.sales)
    client = api_client(orgs.cast.a1)
    url = f"/api/v1/devices/{device.pk}"
    entries = LogEntry.objects.count()
    for field, value in (
        ("organization_id", True),
        ("organization_id", str(orgs.tokyo.pk)),
        ("user_id", True),
        ("user_id", str(orgs.sato.pk)),
    ):
        response = client.patch(url, {field: value}, content_type="application/json")
        refused_as(response, [(field, WHOLE)], "ja")
    device.refresh_from_db()
    assert (device.organization_id, device.user_id) == (orgs.sales.pk, None)
    assert LogEntry.objects.count() == entries
    moved = client.patch(
        url, {"organization_id": orgs.tokyo.pk, "user_id": orgs.sato.pk}, "application/json"
    )
    assert moved.status_code == 200
    assert Device.objects.filter(pk=device.pk, organization=orgs.tokyo, user=orgs.sato).exists()


def test_true_is_no_number_of_days(orgs: OrgCast) -> None:
    client = api_client(orgs.cast.a1)
    url = "/api/v1/android/command-settings"
    response = client.put(url, {"command_expiry_days": True}, content_type="application/json")
    refused_as(response, [("command_expiry_days", WHOLE)], "ja")
    assert client.get(url).json() == {"command_expiry_days": 7}
    changed = client.put(url, {"command_expiry_days": 3}, content_type="application/json")
    assert changed.json() == {"command_expiry_days": 3}


def test_true_is_no_parent_organization(orgs: OrgCast) -> None:
    client = api_client(orgs.cast.a1)
    count = Organization.objects.count()
    for parent in (True, str(orgs.root.pk)):
        response = _post(client, "/api/v1/organizations", {"parent_id": parent, "name": "新部署"})
        refused_as(response, [("parent_id", WHOLE)], "ja")
    assert Organization.objects.count() == count
    made = _post(client, "/api/v1/organizations", {"parent_id": orgs.root.pk, "name": "新部署"})
    assert made.status_code == 201


def test_query_text_that_is_no_number_is_still_refused(orgs: OrgCast) -> None:
    response = api_client(orgs.cast.a1).get("/api/v1/devices?organization_id=true")
    refused_as(response, [("organization_id", "Enter a whole number.")], "ja")


def test_an_english_account_reads_the_refusal_in_english(orgs: OrgCast) -> None:
    response = _post(
        api_client(orgs.cast.b1), "/api/v1/organizations", {"parent_id": True, "name": "x"}
    )
    refused_as(response, [("parent_id", WHOLE)], "en")
    assert response.json()["error"]["details"][0]["message"] == WHOLE


# Built once for the module (see conftest).
orgs, cast = shared_orgs, shared_orgs_cast
