import datetime

import pytest
from django.test import Client
from django.utils import timezone

from mamori.accounts.models import ApiToken
from mamori.accounts.services.tokens import api_token_create
from mamori.audit.models import LogEntry
from mamori.audit.services import log_record
from mamori.core.actor import Actor
from tests.conftest import Cast, logged_in, shared_cast

pytestmark = pytest.mark.django_db


def token_for(account, days: int = 30) -> str:
    _, raw = api_token_create(
        actor=Actor(account=account), account=account, name="ci", expires_in_days=days
    )
    return raw


def api(raw: str | None = None) -> Client:
    return Client(**({"HTTP_AUTHORIZATION": f"Bearer {raw}"} if raw else {}))


class TestTokensOnTheAccountPage:
    def test_a_token_is_shown_once_and_stored_hashed(self, cast: Cast) -> None:
        client = logged_in(cast.a1)
        response = client.post(
            "/alpha/account/", {"token-name": "inventory sync", "token-expires_in_days": "30"}
        )
        raw = response.context["new_token"]
        assert raw.startswith("mamori_") and len(raw) > 40
        token = ApiToken.objects.get()
        assert raw not in (token.digest, token.prefix) and raw.startswith(token.prefix)
        assert raw not in client.get("/alpha/account/").content.decode()
        assert api(raw).get("/api/v1/me").status_code == 200
        entry = LogEntry.objects.filter(contract=cast.a).latest("seq")
        assert (entry.action, entry.target_label) == ("api_token.created", "inventory sync")
        assert raw not in repr(entry.__dict__)

    def test_a_token_needs_a_name_and_a_known_expiry(self, cast: Cast) -> None:
        response = logged_in(cast.a1).post(
            "/alpha/account/", {"token-name": " ", "token-expires_in_days": "9999"}
        )
        assert response.context["token_form"].errors.keys() == {"name", "expires_in_days"}
        assert not ApiToken.objects.exists()

    def test_revoking_stops_the_token_at_once(self, cast: Cast) -> None:
        raw = token_for(cast.a1)
        token = ApiToken.objects.get()
        response = logged_in(cast.a1).post(f"/alpha/account/tokens/{token.pk}/revoke/")
        assert response.status_code == 302
        assert api(raw).get("/api/v1/me").status_code == 401
        assert (
            LogEntry.objects.filter(action="api_token.revoked", target_id=str(token.pk)).count()
            == 1
        )

    def test_another_accounts_token_cannot_be_revoked(self, cast: Cast) -> None:
        token_for(cast.b1)
        token = ApiToken.objects.get()
        assert (
            logged_in(cast.a1).post(f"/alpha/account/tokens/{token.pk}/revoke/").status_code == 404
        )
        token.refresh_from_db()
        assert token.revoked_at is None


class TestAuthentication:
    @pytest.mark.parametrize(
        "header", [None, "Bearer", "Bearer nonsense", "Bearer mamori_wrong", "Basic abc"]
    )
    def test_missing_or_bad_tokens_get_401_with_a_stable_code(
        self, cast: Cast, header: str | None
    ) -> None:
        client = Client(**({"HTTP_AUTHORIZATION": header} if header else {}))
        response = client.get("/api/v1/me")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"

    def test_an_expired_token_is_refused(self, cast: Cast) -> None:
        raw = token_for(cast.a1)
        ApiToken.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
        assert api(raw).get("/api/v1/me").status_code == 401

    def test_a_disabled_account_or_suspended_contract_stops_its_tokens(self, cast: Cast) -> None:
        raw = token_for(cast.a1)
        cast.a.status = "suspended"
        cast.a.save()
        assert api(raw).get("/api/v1/me").status_code == 401

    def test_me(self, cast: Cast) -> None:
        body = api(token_for(cast.a1)).get("/api/v1/me").json()
        assert body["account"] == {
            "id": cast.a1.pk,
            "name": "admin",
            "user_name": "alpha 管理者",
            "privilege": "system_admin",
            "support_option": False,
            "language": "ja",
            "timezone": "Asia/Tokyo",
        }
        assert body["contract"] == {"domain": "alpha", "company_name": "アルファ株式会社"}


class TestLogs:
    def test_logs_newest_first_with_cursor_pages(self, cast: Cast) -> None:
        for _ in range(5):
            log_record(contract=cast.a, actor=Actor(account=cast.a1), action="account.logout")
        client = api(token_for(cast.a1))
        expected = list(
            LogEntry.objects.filter(contract=cast.a)
            .order_by("-created_at", "-id")
            .values_list("pk", flat=True)
        )
        seen, cursor = [], None
        while True:
            body = client.get(
                "/api/v1/logs", {"limit": 3, **({"before": cursor} if cursor else {})}
            ).json()
            seen += [item["id"] for item in body["items"]]
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert seen == expected

    def test_filters_and_local_times(self, cast: Cast) -> None:
        entry = log_record(
            contract=cast.a, actor=Actor(account=cast.a1, ip="192.0.2.8"), action="account.logout"
        )
        LogEntry.objects.filter(pk=entry.pk).update(
            created_at=datetime.datetime(2026, 1, 5, 1, 0, tzinfo=datetime.UTC)
        )
        client = api(token_for(cast.a1))
        # A time without an offset is read in the account's timezone (Asia/Tokyo: 10:00 = 01:00 UTC).
        body = client.get(
            "/api/v1/logs",
            {"action": "account.logout", "since": "2026-01-05T09:30", "until": "2026-01-05T10:30"},
        ).json()
        (item,) = body["items"]
        assert item["id"] == entry.pk
        assert item["local_time"] == "2026-01-05T10:00:00+09:00"
        assert item["action_label"] == "ログアウト"
        assert item["actor"]["id"] == cast.a1.pk and item["ip"] == "192.0.2.8"
        assert client.get("/api/v1/logs", {"actor": cast.b1.pk}).status_code == 404

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"action": "nope"}, "action"),
            ({"before": "garbage"}, "before"),
            ({"limit": 0}, "limit"),
            ({"since": "yesterday"}, "since"),
        ],
    )
    def test_bad_parameters_get_422_naming_the_field(
        self, cast: Cast, params: dict, field: str
    ) -> None:
        response = api(token_for(cast.a1)).get("/api/v1/logs", params)
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] in {"invalid", "invalid_request"}
        assert field in [d["field"] for d in error["details"]]

    def test_one_entry_and_a_missing_one(self, cast: Cast) -> None:
        entry = log_record(contract=cast.a, actor=Actor(account=cast.a1), action="account.logout")
        client = api(token_for(cast.a1))
        assert client.get(f"/api/v1/logs/{entry.pk}").json()["seq"] == entry.seq
        missing = client.get("/api/v1/logs/999999")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"

    def test_entries_cannot_be_changed_through_the_api(self, cast: Cast) -> None:
        entry = log_record(contract=cast.a, actor=Actor(account=cast.a1), action="account.logout")
        client = api(token_for(cast.a1))
        assert client.delete(f"/api/v1/logs/{entry.pk}").status_code == 405
        assert (
            client.patch(
                f"/api/v1/logs/{entry.pk}", {}, content_type="application/json"
            ).status_code
            == 405
        )


def test_openapi_document_lists_the_endpoints() -> None:
    document = Client().get("/api/v1/openapi.json").json()
    assert {"/api/v1/me", "/api/v1/logs", "/api/v1/logs/{entry_id}"} <= set(document["paths"])
    assert document["components"]["securitySchemes"] == {
        "TokenAuth": {"type": "http", "scheme": "bearer"}
    }


# Built once for the module (see conftest).
cast = shared_cast
