import pytest
from django.test import Client
from django.urls import reverse

from mamori.accounts.models import Account, LoginFailure
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from mamori.provider.services import contract_suspend
from tests.conftest import PASSWORD, Cast, shared_cast

pytestmark = pytest.mark.django_db


def post_login(client: Client, domain: str, account: str, password: str, **extra: str):
    extra.setdefault("HTTP_ACCEPT_LANGUAGE", "en")
    return client.post(f"/{domain}/login/", {"account": account, "password": password}, **extra)


def errors_of(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def test_contract_login_page_fixes_the_usage_domain_and_labels_its_inputs(cast: Cast) -> None:
    html = Client(HTTP_ACCEPT_LANGUAGE="ja").get("/alpha/login/").content.decode()
    assert '<strong id="domain">alpha</strong>' in html
    assert 'name="domain"' not in html
    assert '<label class="form-label" for="id_account">アカウント</label>' in html
    assert '<label class="form-label" for="id_password">パスワード</label>' in html
    assert ">ログイン</button>" in html


def test_general_login_asks_for_the_usage_domain_in_the_browsers_language(cast: Cast) -> None:
    html = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").get("/login/").content.decode()
    assert '<label class="form-label" for="id_domain">Usage domain</label>' in html
    assert '<label class="form-label" for="id_account">Account</label>' in html
    assert ">Log in</button>" in html


def test_language_switch_before_login(cast: Cast) -> None:
    client = Client(HTTP_ACCEPT_LANGUAGE="ja")
    client.post("/i18n/setlang/", {"language": "en", "next": "/alpha/login/"})
    assert ">Log in</button>" in client.get("/alpha/login/").content.decode()


def test_login_rotates_the_session_and_is_logged_with_the_ip(cast: Cast) -> None:
    client = Client()
    client.get("/alpha/login/")
    client.session.save()
    before = client.session.session_key
    response = post_login(client, "alpha", "admin", PASSWORD, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 302 and response["Location"] == "/alpha/"
    assert client.session.session_key != before
    entry = LogEntry.objects.filter(contract=cast.a).latest("seq")
    assert (entry.action, entry.actor_id, entry.ip, entry.result) == (
        "account.login",
        cast.a1.pk,
        "203.0.113.7",
        "success",
    )


def test_general_login_goes_to_the_contract_named(cast: Cast) -> None:
    client = Client()
    response = client.post("/login/", {"domain": "alpha", "account": "admin", "password": PASSWORD})
    assert response["Location"] == "/alpha/"
    assert client.get("/alpha/settings/").status_code == 200


@pytest.mark.parametrize("typed", ["ＡＬＰＨＡ", " Alpha ", "ａｌｐｈａ"])
def test_the_usage_domain_is_read_in_any_width_and_case(cast: Cast, typed: str) -> None:
    client = Client()
    response = client.post("/login/", {"domain": typed, "account": "admin", "password": PASSWORD})
    assert response["Location"] == "/alpha/"


def test_a_wrong_login_on_the_general_page_names_the_usage_domain_too(cast: Cast) -> None:
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        "/login/", {"domain": "nowhere", "account": "admin", "password": PASSWORD}
    )
    assert errors_of(response) == ["The usage domain, account or password is incorrect."]
    form = response.context["form"]
    assert "autofocus" in str(form["domain"]) and "autofocus" not in str(form["account"])


def test_an_account_logs_in_only_through_its_own_contract(cast: Cast) -> None:
    wrong_contract = post_login(
        Client(), "bravo", "admin", PASSWORD
    )  # alpha's password, bravo's URL
    wrong_password = post_login(Client(), "bravo", "admin", "wrong-password-123")
    assert wrong_contract.status_code == wrong_password.status_code == 200
    assert errors_of(wrong_contract) == errors_of(wrong_password)


def test_unknown_domain_on_the_general_page_fails_like_a_wrong_password(cast: Cast) -> None:
    unknown = Client().post(
        "/login/", {"domain": "nowhere", "account": "admin", "password": PASSWORD}
    )
    wrong = Client().post("/login/", {"domain": "alpha", "account": "admin", "password": "x" * 12})
    assert errors_of(unknown) == errors_of(wrong)


def test_logout_ends_the_session_and_is_logged(cast: Cast) -> None:
    client = Client()
    post_login(client, "alpha", "admin", PASSWORD)
    assert client.get("/alpha/logout/").status_code == 405  # only by POST (with CSRF)
    assert client.post("/alpha/logout/")["Location"] == "/alpha/login/"
    assert client.get("/alpha/logs/")["Location"].startswith("/alpha/login/")
    assert LogEntry.objects.filter(contract=cast.a).latest("seq").action == "account.logout"


def test_csrf_is_required_on_the_login_form(cast: Cast) -> None:
    client = Client(enforce_csrf_checks=True)
    assert post_login(client, "alpha", "admin", PASSWORD).status_code == 403
    assert not LogEntry.objects.filter(action="account.login").exists()


def test_suspended_contract_cannot_log_in_and_open_sessions_end(cast: Cast) -> None:
    client = Client()
    post_login(client, "alpha", "admin", PASSWORD)
    contract_suspend(actor=Actor.operator(), contract=cast.a)
    assert client.get("/alpha/logs/").status_code == 302  # logged out at the next request
    response = post_login(Client(), "alpha", "admin", PASSWORD)
    assert errors_of(response) == [
        "Use of this contract is suspended. Contact your service provider."
    ]


def test_sessions_expire_after_thirty_idle_minutes_and_live_on_while_used(
    cast: Cast, settings
) -> None:
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    assert settings.SESSION_COOKIE_AGE == 30 * 60
    client = Client()
    post_login(client, "alpha", "admin", PASSWORD)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value

    def remaining() -> float:
        return (Session.objects.get(session_key=key).expire_date - timezone.now()).total_seconds()

    assert 29 * 60 < remaining() <= 30 * 60
    session = client.session
    session["touched"] = 0  # as if the last request was long ago
    session.save()
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() + timezone.timedelta(minutes=5)
    )
    assert client.get("/alpha/logs/").status_code == 200
    assert remaining() > 29 * 60  # a request pushed the expiry forward
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - timezone.timedelta(seconds=1)
    )
    assert client.get("/alpha/logs/")["Location"].startswith("/alpha/login/")


class TestForcedPasswordChange:
    @pytest.fixture
    def issued(self, cast: Cast) -> Account:
        cast.a1.must_change_password = True
        cast.a1.save()
        return cast.a1

    def test_every_page_leads_to_the_password_page_until_it_is_changed(
        self, issued: Account
    ) -> None:
        client = Client()
        assert post_login(client, "alpha", "admin", PASSWORD)["Location"] == "/alpha/"
        for url in ("/alpha/", "/alpha/logs/", "/alpha/settings/", "/alpha/account/"):
            assert client.get(url)["Location"] == "/alpha/password/"
        html = client.get("/alpha/password/").content.decode()
        assert '<label class="form-label" for="id_new_password">新しいパスワード</label>' in html
        assert '<label class="form-label" for="id_confirmation">確認用パスワード</label>' in html
        assert ">保存</button>" in html

    @pytest.mark.parametrize(
        ("new", "confirmation", "message"),
        [
            (
                "short-1",
                "short-1",
                "This password is too short. It must contain at least 10 characters.",
            ),
            ("admin-admin-1", "admin-admin-1", "The password must not contain the account name."),
            ("password123", "password123", "This password is too common."),
            ("a-good-password-1", "a-good-password-2", "The two passwords do not match."),
        ],
    )
    def test_password_policy(
        self, issued: Account, new: str, confirmation: str, message: str
    ) -> None:
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        issued.language = "en"
        issued.save()
        post_login(client, "alpha", "admin", PASSWORD)
        response = client.post(
            "/alpha/password/", {"new_password": new, "confirmation": confirmation}
        )
        assert response.status_code == 200
        assert message in response.content.decode()
        issued.refresh_from_db()
        assert issued.must_change_password and issued.check_password(PASSWORD)
        assert not LogEntry.objects.filter(action="account.password_changed").exists()

    def test_a_good_password_is_saved_and_the_session_survives(self, issued: Account) -> None:
        client = Client()
        post_login(client, "alpha", "admin", PASSWORD)
        new = "Sakura-no-hana-2026"
        response = client.post("/alpha/password/", {"new_password": new, "confirmation": new})
        assert response["Location"] == "/alpha/"
        assert client.get("/alpha/settings/").status_code == 200
        issued.refresh_from_db()
        assert not issued.must_change_password and issued.check_password(new)
        entry = LogEntry.objects.get(action="account.password_changed")
        assert new not in repr(entry.__dict__)


class TestThrottling:
    """Five failures within 15 minutes lock the name for 15 minutes, whether it exists or not."""

    def responses(self, name: str, attempts: int = 6) -> list[tuple[int, list[str]]]:
        return [
            (r.status_code, errors_of(r))
            for r in (
                post_login(Client(), "alpha", name, "wrong-password-123") for _ in range(attempts)
            )
        ]

    def test_existing_and_unknown_names_get_identical_answers(self, cast: Cast) -> None:
        assert self.responses("admin") == self.responses("no-such-admin")
        assert self.responses("admin", 1)[0][0] == 429

    def test_lockout_after_five_failures(self, cast: Cast) -> None:
        answers = self.responses("admin")
        assert [status for status, _ in answers] == [200, 200, 200, 200, 429, 429]
        assert answers[0][1] == ["The account or password is incorrect."]
        assert answers[4][1] == [
            "Too many failed logins for this account. Try again in 15 minutes."
        ]
        # Even the right password is refused while locked, without checking it.
        locked = post_login(Client(), "alpha", "admin", PASSWORD)
        assert locked.status_code == 429
        assert LogEntry.objects.filter(action="account.locked_out").count() == 1

    def test_lock_ends_after_fifteen_minutes(self, cast: Cast) -> None:
        import datetime

        self.responses("admin", 5)
        LoginFailure.objects.update(
            created_at=LoginFailure.objects.first().created_at - datetime.timedelta(minutes=16)
        )
        assert post_login(Client(), "alpha", "admin", PASSWORD).status_code == 302
        assert not LoginFailure.objects.filter(account_name="admin").exists()

    def test_locked_attempts_hash_nothing(
        self, cast: Cast, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self.responses("admin", 5)
        self.responses("ghost", 5)
        hashed: list[str] = []
        monkeypatch.setattr(
            "mamori.accounts.services.login.make_password", lambda p: hashed.append(p)
        )
        monkeypatch.setattr(Account, "check_password", lambda self, p: hashed.append(p))
        post_login(Client(), "alpha", "admin", PASSWORD)
        post_login(Client(), "alpha", "ghost", PASSWORD)
        assert hashed == []

    def test_unknown_names_cost_a_hash_like_known_ones(
        self, cast: Cast, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        hashed: list[str] = []
        monkeypatch.setattr(
            "mamori.accounts.services.login.make_password", lambda p: hashed.append(p)
        )
        post_login(Client(), "alpha", "ghost", "wrong-password-123")
        assert hashed == ["wrong-password-123"]

    def test_failures_are_also_limited_per_ip_address(self, cast: Cast, settings) -> None:
        settings.MAMORI_LOGIN_MAX_FAILURES_PER_IP = 8
        for n in range(8):
            post_login(
                Client(), "alpha", f"name-{n}", "wrong-password-123", REMOTE_ADDR="198.51.100.9"
            )
        limited = post_login(Client(), "alpha", "admin", PASSWORD, REMOTE_ADDR="198.51.100.9")
        assert limited.status_code == 429
        assert errors_of(limited) == ["Too many failed logins from your network. Try again later."]
        assert (
            post_login(
                Client(), "alpha", "admin", PASSWORD, REMOTE_ADDR="198.51.100.10"
            ).status_code
            == 302
        )

    def test_failed_logins_are_logged_with_ip_and_no_password(self, cast: Cast) -> None:
        post_login(Client(), "alpha", "ghost", "my-secret-guess", REMOTE_ADDR="192.0.2.5")
        entry = LogEntry.objects.get(action="account.login_failed")
        assert (entry.ip, entry.target_label, entry.result, entry.after) == (
            "192.0.2.5",
            "ghost",
            "failure",
            {"reason": "invalid"},
        )
        assert "my-secret-guess" not in repr(entry.__dict__)


def test_account_page_changes_the_password_with_the_current_one(cast: Cast) -> None:
    client = Client()
    post_login(client, "alpha", "admin", PASSWORD)
    new = "Fuji-san-3776-m"
    wrong = client.post(
        "/alpha/account/",
        {"pw-current_password": "nope", "pw-new_password": new, "pw-confirmation": new},
    )
    assert (
        "現在のパスワードが正しくありません" in wrong.content.decode()
        or "current password is incorrect" in wrong.content.decode()
    )
    cast.a1.refresh_from_db()
    assert cast.a1.check_password(PASSWORD)
    ok = client.post(
        "/alpha/account/",
        {"pw-current_password": PASSWORD, "pw-new_password": new, "pw-confirmation": new},
    )
    assert ok.status_code == 302
    cast.a1.refresh_from_db()
    assert cast.a1.check_password(new)
    assert reverse("panel:account", kwargs={"domain": "alpha"}) == "/alpha/account/"


# Built once for the module (see conftest).
cast = shared_cast
