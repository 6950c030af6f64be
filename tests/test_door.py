"""The public door: /healthz, /readyz and the public URL space, where no session, locale, CSRF, auth or
contract middleware runs and every error is JSON."""

from __future__ import annotations

import json
import logging
from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.test import Client

from mamori.directory.models import Organization
from tests.conftest import Cast, api_client, logged_in, shared_cast


@pytest.fixture(autouse=True)
def _test_views(settings: pytest.FixtureRequest) -> None:
    settings.PUBLIC_URLCONF = "tests.urlconfs.public"  # type: ignore[attr-defined]


def error_of(response) -> dict[str, str]:
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)["error"]


def assert_nothing_of_the_panel_stack(response) -> None:
    assert not response.cookies
    assert "Set-Cookie" not in response
    assert "Vary" not in response
    assert "Content-Language" not in response
    assert "X-Frame-Options" not in response


def test_public_view_runs_without_session_auth_locale_csrf_or_contract(
    cast: Cast, django_assert_num_queries
) -> None:
    client = logged_in(cast.a1)  # a session cookie the panel would load
    client.cookies["csrftoken"] = "x" * 32
    sessions = Session.objects.count()

    with django_assert_num_queries(0):
        response = client.get("/door-test/probe", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert json.loads(response.content) == {
        "method": "GET",
        "body": "",
        "session": False,
        "user": False,
        "language": False,
        "csrf": False,
        "contract": False,
        "messages": False,
    }
    assert_nothing_of_the_panel_stack(response)
    assert Session.objects.count() == sessions


def test_public_view_creates_no_session_for_a_stranger(db: None, django_assert_num_queries) -> None:
    with django_assert_num_queries(0):
        response = Client().get("/door-test/probe")
    assert response.status_code == 200
    assert_nothing_of_the_panel_stack(response)
    assert not Session.objects.exists()


def test_post_to_a_public_view_needs_no_csrf_token(db: None) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/door-test/probe", data='{"message": {}}', content_type="application/json"
    )
    assert response.status_code == 200
    assert json.loads(response.content)["method"] == "POST"
    assert json.loads(response.content)["body"] == '{"message": {}}'
    assert_nothing_of_the_panel_stack(response)


def test_an_async_public_view_is_served_too(db: None) -> None:
    response = Client().get("/door-test/async")
    assert response.status_code == 200
    assert json.loads(response.content) == {"async": True, "session": False}


def test_a_panel_post_without_csrf_token_is_still_refused(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/alpha/login/", {"username": "admin", "password": "x"})
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


def test_exception_in_a_public_view_is_a_json_500_with_the_traceback_in_the_log(
    db: None, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.ERROR, logger="mamori.door"):
        response = client.get("/door-test/boom")

    assert response.status_code == 500
    assert error_of(response) == {"code": "internal_error", "message": "Internal server error."}
    assert b"a detail only the log may see" not in response.content
    assert_nothing_of_the_panel_stack(response)
    [record] = [r for r in caplog.records if r.name == "mamori.door"]
    assert record.exc_info is not None
    assert str(record.exc_info[1]) == "a detail only the log may see"


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", "/door-test/missing", 404, "not_found"),
        ("get", "/door-test/forbidden", 403, "forbidden"),
        ("get", "/door-test/html-error", 400, "bad_request"),
        ("get", "/door-test/nowhere", 404, "not_found"),
        ("get", "/healthz/", 404, "not_found"),
        ("post", "/healthz", 405, "method_not_allowed"),
        ("delete", "/healthz", 405, "method_not_allowed"),
    ],
)
def test_public_errors_are_json_never_html(
    db: None, method: str, path: str, status: int, code: str
) -> None:
    response = getattr(Client(), method)(path)
    assert response.status_code == status
    assert error_of(response)["code"] == code
    assert_nothing_of_the_panel_stack(response)


def test_method_not_allowed_keeps_the_allow_header(db: None) -> None:
    response = Client().post("/healthz")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert error_of(response) == {"code": "method_not_allowed", "message": "Method Not Allowed."}


def test_a_successful_answer_that_is_not_json_passes_unchanged(db: None) -> None:
    response = Client().get("/door-test/metrics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4"
    assert response.content == b"mamori_up 1\n"


def test_a_path_that_only_begins_like_a_public_one_goes_to_the_panel(db: None) -> None:
    response = Client().get("/healthzz/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_public_answers_keep_the_request_id_and_security_headers(db: None) -> None:
    response = Client().get("/healthz", HTTP_X_REQUEST_ID="probe-123456")
    assert response["X-Request-ID"] == "probe-123456"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_healthz_answers_ok_without_touching_the_database(
    db: None, django_assert_num_queries
) -> None:
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert json.loads(response.content) == {"ok": True}
    assert_nothing_of_the_panel_stack(response)
    assert not Session.objects.exists()


def test_healthz_answers_head(db: None) -> None:
    response = Client().head("/healthz")
    assert response.status_code == 200
    assert response.content == b""
    assert_nothing_of_the_panel_stack(response)


def test_healthz_answers_a_probe_whatever_its_host_header(db: None) -> None:
    # An orchestrator probes the pod's own address, which ALLOWED_HOSTS does not list.
    response = Client().get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200


def refused_database():
    connection = connections[DEFAULT_DB_ALIAS]
    refused = OperationalError("connection to server failed: Connection refused")
    return mock.patch.object(connection, "ensure_connection", side_effect=refused)


def test_healthz_stays_200_when_the_database_is_unreachable(db: None) -> None:
    with refused_database():
        response = Client().get("/healthz")
    assert response.status_code == 200


def test_readyz_answers_ok_when_database_migrations_and_queue_are(db: None) -> None:
    response = Client().get("/readyz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert json.loads(response.content) == {
        "ok": True,
        "database": "ok",
        "migrations": "ok",
        "queue": "ok",
    }
    assert_nothing_of_the_panel_stack(response)


def test_readyz_is_503_in_json_when_the_database_is_unreachable(
    db: None, caplog: pytest.LogCaptureFixture
) -> None:
    with refused_database():
        response = Client().get("/readyz")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {
        "ok": False,
        "database": "unreachable",
        "migrations": "unknown",
        "queue": "unknown",
    }
    assert b"refused" not in response.content
    assert "the database is unreachable" in caplog.text


def test_readyz_is_503_while_a_migration_is_not_applied(db: None) -> None:
    with (
        mock.patch("mamori.core.public_views._migrated", False),
        mock.patch(
            "django.db.migrations.executor.MigrationExecutor.migration_plan",
            return_value=[("a migration", False)],
        ),
    ):
        response = Client().get("/readyz")
    assert response.status_code == 503
    assert json.loads(response.content) == {
        "ok": False,
        "database": "ok",
        "migrations": "pending",
        "queue": "ok",
    }


class TestUnstorableText:
    """A NUL or a lone surrogate never reaches a service: PostgreSQL would answer a 500."""

    @pytest.mark.parametrize(
        "path",
        ["/api/v1/users?q=%00", "/api/v1/users/export?q=a%00b", "/api/v1/logs?action=%00"],
    )
    def test_the_api_answers_json_400_for_a_nul_in_the_query(self, cast, path: str) -> None:
        response = api_client(cast.a1).get(path)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_request"

    @pytest.mark.parametrize("text", ["a\x00b", "a\ud800b", "\udfff"])
    @pytest.mark.parametrize(
        # The API reads the body as JSON whatever the Content-Type says (curl's --data-binary
        # sends a form type).
        "content_type",
        ["application/json", "text/plain", "application/x-www-form-urlencoded"],
    )
    def test_a_json_body_with_one_changes_nothing(self, cast, text: str, content_type: str) -> None:
        root = Organization.objects.get(contract=cast.a, parent=None)
        before = Organization.objects.count()
        body = json.dumps({"name": text, "parent_id": root.pk})  # \\u escapes, as clients send
        response = api_client(cast.a1).post(
            "/api/v1/organizations", body, content_type=content_type
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_request"
        assert Organization.objects.count() == before

    def test_the_panel_answers_400_for_a_nul_in_a_search_or_a_form(self, cast) -> None:
        client = logged_in(cast.a1)
        assert client.get("/alpha/users/?q=%00").status_code == 400
        root = Organization.objects.get(contract=cast.a, parent=None)
        response = client.post(f"/alpha/orgs/{root.pk}/add/", {"name": "営業\x00部"})
        assert response.status_code == 400
        page = response.content.decode()
        assert "NUL" in page and 'id="refusal"' in page  # the product's page, with the reason
        assert page.startswith("<!doctype html>") and "tabler" in page
        assert not Organization.objects.filter(name__startswith="営業").exists()

    @pytest.mark.parametrize("depth", [65, 5000, 200_000])
    def test_json_nested_too_deep_is_a_400_whatever_the_depth(self, cast, depth: int) -> None:
        root = Organization.objects.get(contract=cast.a, parent=None)
        before = Organization.objects.count()
        nested = "[" * depth + "]" * depth
        body = f'{{"name": "x", "parent_id": {root.pk}, "deep": {nested}}}'
        response = api_client(cast.a1).post(
            "/api/v1/organizations", body, content_type="application/json"
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_request"
        assert "64" in response.json()["error"]["message"]
        assert Organization.objects.count() == before

    def test_ordinary_text_passes(self, cast) -> None:
        assert api_client(cast.a1).get("/api/v1/users?q=やまだ").status_code == 200


# Built once for the module (see conftest).
cast = shared_cast
