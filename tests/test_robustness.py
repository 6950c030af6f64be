"""No input is a server error, on SQLite as on PostgreSQL: text longer than its column is refused
naming the field (never stored by SQLite, never a database error on PostgreSQL), log filters with
impossible offsets or times are refused, bodies over 2.5 MB are 413, and the OpenAPI document says
all of it (the error answers, lengths from the models, enums, patterns).

The fuzzers (``test_api_fuzz.py``, ``test_panel_fuzz.py``) look for the whole kind; these are the
cases found, one each.
"""

import contextlib
import importlib
import json

import pytest
from django import forms
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.signals import pre_save
from django.test import Client
from django.utils import translation

from mamori.accounts.models import Account, ApiToken, PermissionScheme
from mamori.accounts.services.schemes import scheme_create
from mamori.api.api import api
from mamori.api.openapi import ERRORS
from mamori.core.actor import Actor
from mamori.core.fields import lengths_guard
from mamori.directory.models import Organization, User, UserEmail
from mamori.directory.services import UserData, user_create
from tests.conftest import Cast, api_client, logged_in, shared_cast

pytestmark = pytest.mark.django_db


def details(response) -> dict[str, str]:
    body = response.json()["error"]
    return {d["field"]: d["message"] for d in body.get("details", [])}


def user_body(cast: Cast, **changes) -> dict:
    root = Organization.objects.get(contract=cast.a, parent=None)
    body = {
        "organization_id": root.pk,
        "name": "長い 値",
        "emails": [{"address": "long@alpha.example", "category": "main"}],
    }
    return {**body, **changes}


# Values longer than their columns ------------------------------------------------------------


class TestOverLongValues:
    def test_a_scheme_name_over_100_characters(self, cast: Cast) -> None:
        api = api_client(cast.a1)
        response = api.post(
            "/api/v1/schemes", {"name": "x" * 101, "permissions": []}, "application/json"
        )
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_request"
        assert details(response) == {"name": "100文字以内で入力してください。"}
        page = logged_in(cast.a1).post("/alpha/settings/schemes/new/", {"name": "x" * 101})
        assert page.status_code == 200 and page.context["form"].errors["name"]
        with translation.override("en"), pytest.raises(ValidationError) as raised:
            scheme_create(
                actor=Actor(account=cast.a1), contract=cast.a, name="x" * 101, permissions=[]
            )
        assert raised.value.message_dict == {"name": ["At most 100 characters."]}
        assert not PermissionScheme.objects.exists()

    def test_an_employee_code_over_64_characters(self, cast: Cast) -> None:
        response = api_client(cast.a1).post(
            "/api/v1/users", user_body(cast, employee_code="E" * 65), "application/json"
        )
        assert response.status_code == 422
        assert details(response) == {"employee_code": "64文字以内で入力してください。"}
        assert not User.objects.filter(name="長い 値").exists()

    def test_an_e_mail_address_over_254_characters(self, cast: Cast) -> None:
        address = "a" * 64 + "@" + "b" * 186 + ".example"  # 259 characters
        response = api_client(cast.a1).post(
            "/api/v1/users",
            user_body(cast, emails=[{"address": address, "category": "main"}]),
            "application/json",
        )
        assert response.status_code == 422
        assert details(response) == {"emails.0.address": "254文字以内で入力してください。"}
        assert not User.objects.filter(name="長い 値").exists()

    def test_services_refuse_them_whoever_calls_them(self, cast: Cast) -> None:
        # The operator's CLI goes around the forms and the API: the models' rule still holds.
        root = Organization.objects.get(contract=cast.a, parent=None)
        data = UserData(
            organization=root,
            name="長い 値",
            employee_code="E" * 65,
            emails=(("long@alpha.example", "main"),),
        )
        with translation.override("en"), pytest.raises(ValidationError) as raised:
            user_create(actor=Actor.operator(), data=data)
        assert raised.value.message_dict == {"employee_code": ["At most 64 characters."]}
        assert not User.objects.filter(name="長い 値").exists()

    def test_every_text_column_of_every_model_is_guarded(self) -> None:
        models_checked = 0
        for model in apps.get_models():
            if not model._meta.app_config.name.startswith("mamori."):
                continue
            assert pre_save.has_listeners(model), model
            for field in model._meta.concrete_fields:
                if isinstance(field, models.CharField) and field.max_length:
                    instance = model(**{field.attname: "é" * (field.max_length + 1)})
                    with pytest.raises(ValidationError) as raised:
                        lengths_guard(model, instance)
                    assert field.name in raised.value.message_dict
                    models_checked += 1
        assert models_checked > 20

    def test_every_text_input_of_every_api_body_has_a_limit(self) -> None:
        document = api.get_openapi_schema()
        schemas = document["components"]["schemas"]
        unlimited = []
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                content = operation.get("requestBody", {}).get("content", {})
                for media in content.values():
                    for name, prop in _properties(media["schema"], schemas):
                        if prop.get("type") == "string" and not (
                            {"maxLength", "enum", "format", "pattern"} & set(prop)
                        ):
                            unlimited.append((method, path, name))
        assert unlimited == []

    def test_every_text_field_of_every_panel_form_has_a_limit(self) -> None:
        for app in apps.get_app_configs():
            if app.name.startswith("mamori."):
                for module in ("forms", "forms.auth", "forms.administration", "forms.two_factor"):
                    with contextlib.suppress(ModuleNotFoundError):
                        importlib.import_module(f"{app.name}.{module}")
        unlimited = []
        for form_class in _subclasses(forms.Form):
            if not form_class.__module__.startswith("mamori."):
                continue
            for name, field in form_class.base_fields.items():
                if isinstance(field, forms.CharField) and field.max_length is None:
                    unlimited.append(f"{form_class.__name__}.{name}")
        assert unlimited == []


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    return found.union(*(_subclasses(c) for c in found)) if found else found


def _properties(schema: dict, schemas: dict):
    if "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
    for name, prop in schema.get("properties", {}).items():
        if "$ref" in prop or prop.get("type") == "object":
            yield from _properties(prop, schemas)
        elif prop.get("type") == "array":
            yield from _properties({"properties": {name: prop["items"]}}, schemas)
        else:
            for option in prop.get("anyOf", [prop]):
                yield name, option


# Times, bodies, counts ------------------------------------------------------------------------


class TestLogFilters:
    @pytest.mark.parametrize(
        ("since", "message"),
        [
            ("2026-04-01T09:00:00+16:00", "A UTC offset is between -14:00 and +14:00."),
            ("0001-01-01T00:00:00", "This date and time is out of range."),  # Tokyo: year 0
            ("9999-12-31T23:59:59-10:00", "This date and time is out of range."),
        ],
    )
    def test_the_api_refuses_impossible_offsets_and_times(
        self, cast: Cast, since: str, message: str
    ) -> None:
        Account.objects.filter(pk=cast.a1.pk).update(language="en")
        response = api_client(cast.a1).get("/api/v1/logs", {"since": since})
        assert response.status_code == 422
        assert details(response) == {"since": message}
        # Out of range or not parsed at all: the same kind of bad request.
        assert response.json()["error"]["code"] == "invalid_request"

    @pytest.mark.parametrize("since", ["0.5", "1700000000", "2026-04-01", "now"])
    def test_the_api_takes_iso_8601_date_times_only(self, cast: Cast, since: str) -> None:
        response = api_client(cast.a1).get("/api/v1/logs", {"until": since})
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_request"

    def test_request_errors_are_in_the_accounts_language(self, cast: Cast) -> None:
        Account.objects.filter(pk=cast.a1.pk).update(language="ja")
        client = api_client(cast.a1)
        response = client.get("/api/v1/logs", {"until": "now", "limit": "0"})
        assert details(response) == {
            "until": "2026-04-01T09:00+09:00 のような日時を入力してください。",
            "limit": "1 以上を入力してください。",
        }
        missing = client.post("/api/v1/organizations", {}, content_type="application/json")
        assert "この項目は必須です。" in details(missing).values()

    def test_an_offset_of_plus_fourteen_is_fine(self, cast: Cast) -> None:
        response = api_client(cast.a1).get("/api/v1/logs", {"since": "2026-04-01T09:00+14:00"})
        assert response.status_code == 200

    @pytest.mark.parametrize(
        ("who", "since"),
        [
            ("a1", "0001-01-01 00:00:00"),  # Asia/Tokyo: before year 1 in UTC
            ("b1", "9999-12-31 23:59:59"),  # America/New_York: after year 9999 in UTC
        ],
    )
    def test_the_log_page_refuses_them_on_its_form(self, cast: Cast, who: str, since: str) -> None:
        account = getattr(cast, who)
        Account.objects.filter(pk=account.pk).update(language="en")
        page = logged_in(account).get(f"/{account.contract.domain}/logs/", {"since": since})
        assert page.status_code == 200
        assert page.context["form"].errors["since"] == ["This date and time is out of range."]


class TestBodiesTooLarge:
    def test_an_api_body_over_2_5_mb_is_413(self, cast: Cast) -> None:
        body = json.dumps({"name": "x" * 2_700_000, "permissions": []})
        response = api_client(cast.a1).post("/api/v1/schemes", body, "application/json")
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "too_large"
        assert not PermissionScheme.objects.exists()

    def test_whatever_its_content_type(self, cast: Cast) -> None:
        body = "x" * 2_700_000
        response = api_client(cast.a1).post("/api/v1/schemes", body, "text/plain")
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "too_large"

    def test_a_panel_form_over_2_5_mb_is_413(self, cast: Cast) -> None:
        response = logged_in(cast.a1).post(
            "/alpha/settings/schemes/new/", {"name": "x" * 2_700_000}
        )
        assert response.status_code == 413
        assert not PermissionScheme.objects.exists()


def test_a_non_numeric_form_count_shows_the_form_again(cast: Cast) -> None:
    root = Organization.objects.get(contract=cast.a, parent=None)
    response = logged_in(cast.a1).post(
        "/alpha/users/add/",
        {
            "name": "x",
            "organization": root.pk,
            "emails-TOTAL_FORMS": "abc",
            "emails-INITIAL_FORMS": "zz",
            "emails-0-address": "x@alpha.example",
            "emails-0-category": "main",
        },
    )
    assert response.status_code == 200
    assert not User.objects.filter(name="x").exists()


# The OpenAPI document -------------------------------------------------------------------------


class TestTheDocument:
    def document(self) -> dict:
        return Client().get("/api/v1/openapi.json").json()

    def test_every_operation_lists_its_error_answers_with_the_error_shape(self) -> None:
        document = self.document()
        error = document["components"]["schemas"]["Error"]
        assert error["required"] == ["error"]
        body = document["components"]["schemas"]["ErrorBody"]
        assert set(body["properties"]) == {"code", "message", "details"}
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                statuses = {int(s) for s in operation["responses"] if s[0] in "45"}
                expected = {s for s, (_d, body_only) in ERRORS.items() if not body_only}
                if "requestBody" in operation:
                    expected.add(413)
                assert statuses >= expected, (method, path)
                ref = operation["responses"]["401"]["content"]["application/json"]["schema"]
                assert ref == {"$ref": "#/components/schemas/Error"}

    def test_lengths_come_from_the_models(self) -> None:
        schemas = self.document()["components"]["schemas"]
        assert schemas["SchemeIO"]["properties"]["name"]["maxLength"] == 100
        assert schemas["AccountIn"]["properties"]["name"]["maxLength"] == 150
        assert schemas["AccountIn"]["properties"]["password"]["maxLength"] == 4096
        assert schemas["UserIn"]["properties"]["employee_code"]["maxLength"] == 64
        assert schemas["EmailIO"]["properties"]["address"]["maxLength"] == 254
        assert schemas["OrganizationIn"]["properties"]["name"]["maxLength"] == 200
        assert schemas["InquiryIn"]["properties"]["subject"]["maxLength"] == 200

    def test_choices_are_enums(self) -> None:
        document = self.document()
        schemas = document["components"]["schemas"]
        props = schemas["AccountIn"]["properties"]
        assert props["privilege"]["enum"] == list(Account.Privilege.values)
        assert props["language"]["enum"] == ["ja", "en"]
        assert schemas["EmailIO"]["properties"]["category"]["enum"] == list(
            UserEmail.Category.values
        )
        assert schemas["InquiryIn"]["properties"]["category"]["enum"] == [
            "usage",
            "trouble",
            "contract",
            "request",
            "other",
        ]
        upload = document["paths"]["/api/v1/users/imports"]["post"]["requestBody"]["content"]
        mode = upload["multipart/form-data"]["schema"]["properties"]["mode"]
        assert mode["enum"] == ["add", "upsert"]

    def test_patterns(self) -> None:
        document = self.document()
        permissions = document["components"]["schemas"]["SchemeIO"]["properties"]["permissions"]
        assert permissions["items"]["pattern"]
        since = next(
            p
            for p in document["paths"]["/api/v1/logs"]["get"]["parameters"]
            if p["name"] == "since"
        )
        assert "pattern" in json.dumps(since["schema"])

    def test_token_listing_is_documented_with_last_use(self) -> None:
        schemas = self.document()["components"]["schemas"]
        assert "last_used_at" in schemas["ApiTokenOut"]["properties"]
        assert ApiToken._meta.get_field("last_used_at")


# Built once for the module (see conftest).
cast = shared_cast
