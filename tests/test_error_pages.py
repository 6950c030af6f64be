"""Errors people and programs meet on a first run: the product's own pages in both languages,
JSON with a code for every path under /api/, an offline /api/v1/docs, and usage domains typed
in capitals."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from tests.conftest import Cast, api_client, logged_in

cast = pytest.fixture(lambda shared_cast: shared_cast, name="cast")

LIMIT = 2_621_440  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE
TOO_LARGE_JSON = b'{"name": "' + b"x" * LIMIT + b'"}'


def heading(html: str) -> str:
    """The text of the page's one <h1>, whatever its classes."""
    (text,) = re.findall(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    return text.strip()


def error_of(response: object) -> dict[str, object]:
    assert response["Content-Type"].startswith("application/json"), response  # type: ignore[index]
    body = json.loads(response.content)  # type: ignore[attr-defined]
    assert list(body) == ["error"]
    return body["error"]  # type: ignore[no-any-return]


# The panel's pages: no Django debug or stock page, in the visitor's language.


@pytest.mark.parametrize(
    ("language", "title", "text"),
    [
        (
            "ja",
            "ページが見つかりません",
            "この URL のページは存在しないか、閲覧する権限がありません。",
        ),
        ("en", "Not found", "There is nothing at this address, or you may not see it."),
    ],
)
@pytest.mark.django_db
def test_an_unknown_page_is_the_products_404_in_the_visitors_language(
    language: str, title: str, text: str
) -> None:
    response = Client().get("/alpha/no-such-page/", HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 404
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    assert heading(html) == title and text in html
    assert "mamori/panel.css" in html


@pytest.mark.parametrize(
    ("language", "title"),
    [("ja", "フォームを送信できませんでした"), ("en", "The form could not be sent")],
)
@pytest.mark.django_db
def test_a_form_without_its_csrf_token_is_the_products_page(language: str, title: str) -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        "/login/", {"domain": "alpha", "name": "admin"}, HTTP_ACCEPT_LANGUAGE=language
    )

    assert response.status_code == 403
    html = response.content.decode()
    assert heading(html) == title
    assert "CSRF" not in html and "DEBUG" not in html


@pytest.mark.parametrize(
    ("language", "title"), [("ja", "リクエストが正しくありません"), ("en", "Bad request")]
)
@pytest.mark.django_db
def test_a_bad_request_is_the_products_400(language: str, title: str) -> None:
    response = Client().get(
        "/login/", HTTP_HOST="not-allowed.example", HTTP_ACCEPT_LANGUAGE=language
    )

    assert response.status_code == 400
    assert heading(response.content.decode()) == title


@pytest.mark.parametrize(
    ("language", "title"), [("ja", "データが大きすぎます"), ("en", "Too much data")]
)
@pytest.mark.django_db
def test_a_form_over_the_upload_limit_is_a_413_page(language: str, title: str) -> None:
    response = Client().post(
        "/login/",
        data=b"name=" + b"x" * LIMIT,
        content_type="application/x-www-form-urlencoded",
        HTTP_ACCEPT_LANGUAGE=language,
    )

    assert response.status_code == 413
    html = response.content.decode()
    assert heading(html) == title
    assert "2.6 MB" in html


@pytest.mark.parametrize(
    ("language", "title", "reference"),
    [
        ("ja", "エラーが発生しました", "サポート窓口にお伝えください"),
        ("en", "Something went wrong", "tell the support desk what you were doing"),
    ],
)
@pytest.mark.django_db
def test_a_server_error_is_the_products_500_with_a_reference(
    monkeypatch: pytest.MonkeyPatch, language: str, title: str, reference: str
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("mamori.accounts.views.login._login", broken)
    client = Client(raise_request_exception=False)

    response = client.get(
        "/login/", HTTP_ACCEPT_LANGUAGE=language, HTTP_X_REQUEST_ID="ref-0123456789"
    )

    assert response.status_code == 500
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    assert heading(html) == title
    assert reference in html and "<code>ref-0123456789</code>" in html
    assert "a bug" not in html and "Traceback" not in html


# The API: every error is JSON with a code, in the language of the request or the token.


@pytest.mark.parametrize("path", ["/api/", "/api/v1/", "/api/v1/nope", "/api/v1/me/", "/api/v2/me"])
@pytest.mark.django_db
def test_an_unknown_api_path_is_a_json_404(path: str) -> None:
    response = Client().get(path, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    assert error_of(response) == {
        "code": "not_found",
        "message": "There is no API endpoint at this address.",
    }


@pytest.mark.django_db
def test_with_debug_on_an_api_error_is_still_json(settings: object) -> None:
    settings.DEBUG = True  # type: ignore[attr-defined]  # Django would answer its debug page

    response = Client().get("/api/v1/nope", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_an_unknown_api_path_answers_in_the_requests_language(cast: Cast) -> None:
    # No endpoint reads the token of an unknown path: Accept-Language (Japanese by default).
    response = api_client(cast.b1).get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="ja")

    assert error_of(response) == {
        "code": "not_found",
        "message": "この URL に API のエンドポイントはありません。",
    }


def test_a_method_an_endpoint_does_not_take_is_a_json_405_with_allow(cast: Cast) -> None:
    response = api_client(cast.b1).delete("/api/v1/me", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert error_of(response) == {
        "code": "method_not_allowed",
        "message": "This endpoint does not accept this method.",
    }


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("a1", "リクエストの本文が正しい JSON ではありません。"),
        ("b1", "The request body is not valid JSON."),
    ],
)
def test_a_malformed_json_body_is_invalid_request_in_the_accounts_language(
    cast: Cast, who: str, message: str
) -> None:
    response = api_client(getattr(cast, who)).post(
        "/api/v1/organizations", data='{"name": "営業部",'.encode(), content_type="application/json"
    )

    assert response.status_code == 400
    assert error_of(response) == {"code": "invalid_request", "message": message}


@pytest.mark.parametrize("content_type", ["application/json", "text/plain"])
def test_a_body_over_the_upload_limit_is_a_json_413(cast: Cast, content_type: str) -> None:
    # JSON is read by a middleware first, anything else by the endpoint: a 413 either way.
    response = api_client(cast.b1).post(
        "/api/v1/organizations",
        data=TOO_LARGE_JSON,
        content_type=content_type,
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 413
    assert error_of(response) == {
        "code": "too_large",
        "message": "The request is too large: its body may be at most 2.6 MB.",
    }


def test_a_server_error_in_the_api_is_a_json_500_logged_with_its_traceback(
    cast: Cast, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(request: object) -> None:
        raise RuntimeError("a bug in me")

    monkeypatch.setattr("mamori.accounts.api._me", broken)
    client = api_client(cast.b1)
    client.raise_request_exception = False

    response = client.get("/api/v1/me")

    assert response.status_code == 500
    assert error_of(response) == {
        "code": "internal_error",
        "message": "Something went wrong on our side. It has been logged.",
    }
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is not None and "a bug in me" in str(record.exc_info[1])


@pytest.mark.django_db
def test_the_api_docs_serve_every_asset_themselves() -> None:
    client = Client()
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert sorted(urls) == [
        "/static/ninja/favicon.png",
        "/static/ninja/favicon.svg",
        "/static/ninja/swagger-ui-bundle.js",
        "/static/ninja/swagger-ui-init.js",
        "/static/ninja/swagger-ui.css",
    ]
    assert "http://" not in html and "https://" not in html
    for url in urls:
        assert client.get(url).status_code == 200, url
    settings_json = re.search(r'id="swagger-settings">(.*?)</script>', html, re.S)
    assert settings_json is not None
    assert json.loads(settings_json.group(1))["url"] == "/api/v1/openapi.json"


# A usage domain typed in capitals.


def test_a_usage_domain_in_capitals_redirects_to_its_lowercase_url(cast: Cast) -> None:
    client = Client()

    response = client.get("/ALPHA/login/?next=%2Falpha%2Fusers%2F&lang=ja")

    assert response.status_code == 301
    assert response["Location"] == "/alpha/login/?next=%2Falpha%2Fusers%2F&lang=ja"
    assert client.get(response["Location"]).status_code == 200


def test_any_panel_path_keeps_its_rest_and_a_post_keeps_its_method(cast: Cast) -> None:
    client = logged_in(cast.a1)

    assert client.get("/Alpha/users/")["Location"] == "/alpha/users/"
    assert client.get("/aLpHa/logs/?action=login")["Location"] == "/alpha/logs/?action=login"
    posted = client.post("/ALPHA/login/", {"name": "admin"})
    assert (posted.status_code, posted["Location"]) == (308, "/alpha/login/")


@pytest.mark.django_db
def test_the_redirect_says_nothing_of_whether_the_contract_exists() -> None:
    response = Client().get("/NO-SUCH/login/")

    assert (response.status_code, response["Location"]) == (301, "/no-such/login/")
    assert Client().get("/no-such/login/").status_code == 404


@pytest.mark.django_db
def test_every_page_names_an_icon_the_app_serves() -> None:
    html = Client().get("/login/").content.decode()
    href = re.search(r'<link rel="icon" href="([^"]+)"', html)
    assert href is not None
    icon = Client().get(href[1])
    assert icon.status_code == 200 and b"<svg" in b"".join(icon.streaming_content)


# The database out of reach: a 503 to retry, not a 500 (issue 11).


def _database_gone(*args: object, **kwargs: object) -> None:
    from django.db import OperationalError

    raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")


@pytest.mark.parametrize(
    ("language", "title", "text"),
    [
        ("ja", "一時的に利用できません", "データベースに接続できない"),
        ("en", "Briefly unavailable", "cannot reach its database at the moment"),
    ],
)
@pytest.mark.django_db
def test_the_database_out_of_reach_is_a_503_page_to_retry(
    monkeypatch: pytest.MonkeyPatch, language: str, title: str, text: str
) -> None:
    monkeypatch.setattr("mamori.accounts.views.login._login", _database_gone)
    client = Client(raise_request_exception=False)
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE=language, HTTP_X_REQUEST_ID="ref-db-0001")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    html = response.content.decode()
    assert heading(html) == title
    assert text in html and "<code>ref-db-0001</code>" in html
    assert "Connection refused" not in html


def test_the_database_out_of_reach_is_a_json_503_in_the_api_and_at_the_door(
    cast: Cast, monkeypatch: pytest.MonkeyPatch, settings
) -> None:
    monkeypatch.setattr("mamori.accounts.api._me", _database_gone)
    client = api_client(cast.b1)
    client.raise_request_exception = False
    response = client.get("/api/v1/me")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert error_of(response) == {
        "code": "unavailable",
        "message": "The service cannot reach its database at the moment. Try again shortly.",
    }
    settings.MAMORI_PUBSUB_PUSH_SECRET = "a-push-secret-for-the-503-test-0123456789"
    settings.MAMORI_PUBSUB_AUDIENCE = ""
    monkeypatch.setattr("mamori.android.notifications.views.push_store", _database_gone)
    pushed = Client(raise_request_exception=False).post(
        "/pubsub/amapi/a-push-secret-for-the-503-test-0123456789",
        b"{}",
        content_type="application/json",
    )
    assert pushed.status_code == 503
    assert pushed["Retry-After"] == "5"
    assert error_of(pushed) == {"code": "unavailable", "message": "The database cannot be reached."}
