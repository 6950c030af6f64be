"""Passwords an administrator chose, the one password rule's limits, and API tokens looked after by
administrators: revoked for good on a password reset or a disable, stopped while two-step
verification is due, listed and revoked by those who manage the account, with their last use."""

import datetime

import pyotp
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from mamori.accounts.models import Account, ApiToken
from mamori.accounts.services.administration import (
    AccountData,
    account_create,
    account_disable,
    account_enable,
    account_update,
)
from mamori.accounts.services.invitations import invitation_accept, invitation_token
from mamori.accounts.services.login import LoginOutcome, login_attempt
from mamori.accounts.services.passwords import PASSWORD_MAX_LENGTH, password_change
from mamori.accounts.services.tokens import api_token_create, api_token_revoke
from mamori.accounts.services.two_factor import two_factor_begin, two_factor_confirm
from mamori.audit.models import LogEntry
from mamori.contracts.models import Contract
from mamori.core.access import OutOfScope
from mamori.core.actor import Actor
from tests.conftest import PASSWORD, OrgCast, logged_in, make_user, shared_orgs, shared_orgs_cast

pytestmark = pytest.mark.django_db

NEW = "Fresh-password-2026"


def token_of(account: Account, name: str = "ci") -> tuple[ApiToken, Client]:
    token, raw = api_token_create(
        actor=Actor(account=account), account=account, name=name, expires_in_days=30
    )
    return token, Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def operator_data(name: str = "newop") -> AccountData:
    return AccountData(name=name, privilege="operator", language="en", timezone="UTC")


def save_account_form(client: Client, user_id: int, name: str):
    """Posts the account form of user ``user_id``: an Operator named ``name`` with password NEW."""
    return client.post(
        f"/alpha/users/{user_id}/account/",
        {
            "name": name,
            "password": NEW,
            "confirmation": NEW,
            "privilege": "operator",
            "language": "en",
            "timezone": "UTC",
        },
    )


def login(client: Client, name: str, password: str):
    return client.post(
        "/alpha/login/", {"account": name, "password": password}, HTTP_ACCEPT_LANGUAGE="en"
    )


# A password an administrator chose ----------------------------------------------------------


class TestChosenByAnAdministrator:
    def test_an_account_made_with_a_password_changes_it_at_first_login(self, orgs: OrgCast) -> None:
        client = logged_in(orgs.cast.a1)
        response = save_account_form(client, orgs.sato.pk, "hanako")
        assert response.status_code == 302
        assert Account.objects.get(name="hanako").must_change_password
        person = Client()
        assert login(person, "hanako", NEW)["Location"] == "/alpha/"
        assert person.get("/alpha/users/")["Location"] == "/alpha/password/"
        mine = "Sakura-own-choice-99"
        person.post("/alpha/password/", {"new_password": mine, "confirmation": mine})
        assert not Account.objects.get(name="hanako").must_change_password
        assert person.get("/alpha/users/").status_code == 200

    def test_through_the_api_too(self, orgs: OrgCast) -> None:
        _token, api = token_of(orgs.cast.a1)
        # An API client sends the password once; a confirmation, if sent, must match.
        body = {"name": "hanako", "privilege": "operator", "password": NEW}
        mismatch = api.put(
            f"/api/v1/users/{orgs.sato.pk}/account",
            {**body, "confirmation": NEW + "x"},
            content_type="application/json",
        )
        assert mismatch.status_code == 422
        assert not Account.objects.filter(name="hanako").exists()
        response = api.put(
            f"/api/v1/users/{orgs.sato.pk}/account", body, content_type="application/json"
        )
        assert response.status_code == 201
        hanako = Account.objects.get(name="hanako")
        assert hanako.must_change_password and hanako.check_password(NEW)

    def test_a_password_reset_by_an_administrator_must_be_changed(self, orgs: OrgCast) -> None:
        a3 = orgs.a3
        data = AccountData(name=a3.name, privilege="operator", language="en", timezone="UTC")
        account_update(
            actor=Actor(account=orgs.a2), account=a3, data=data, password=NEW, confirmation=NEW
        )
        a3.refresh_from_db()
        assert a3.must_change_password and a3.check_password(NEW)
        entry = LogEntry.objects.filter(action="account.updated").latest("seq")
        assert entry.after["password_changed"] is True

    def test_ones_own_password_set_on_ones_own_account_form_is_ones_own(
        self, orgs: OrgCast
    ) -> None:
        a1 = orgs.cast.a1
        data = AccountData(name=a1.name, privilege="system_admin", language="ja")
        account_update(
            actor=Actor(account=a1), account=a1, data=data, password=NEW, confirmation=NEW
        )
        a1.refresh_from_db()
        assert not a1.must_change_password and a1.check_password(NEW)


# The one password rule ----------------------------------------------------------------------

BAD_PASSWORDS = [
    ("          ", "A password cannot be only spaces."),
    ("\u3000" * 12, "A password cannot be only spaces."),  # ideographic spaces
    ("good-password\x00-42", "A password cannot contain a NUL character."),
    ("x" * (PASSWORD_MAX_LENGTH + 1), "A password is at most 4096 characters."),
]


@pytest.mark.parametrize(("password", "message"), BAD_PASSWORDS)
class TestThePasswordRuleEverywhere:
    def check(self, call, field: str, message: str) -> None:
        with pytest.raises(ValidationError) as raised:
            call()
        assert raised.value.message_dict[field] == [message]

    def test_an_account_made_by_an_administrator(
        self, orgs: OrgCast, password: str, message: str, en
    ) -> None:
        self.check(
            lambda: account_create(
                actor=Actor(account=orgs.cast.a1),
                user=orgs.sato,
                data=operator_data(),
                password=password,
                confirmation=password,
            ),
            "password",
            message,
        )
        assert not Account.objects.filter(user=orgs.sato).exists()

    def test_a_reset_by_an_administrator(
        self, orgs: OrgCast, password: str, message: str, en
    ) -> None:
        before = Account.objects.get(pk=orgs.a3.pk).password
        self.check(
            lambda: account_update(
                actor=Actor(account=orgs.cast.a1),
                account=orgs.a3,
                data=operator_data(orgs.a3.name),
                password=password,
                confirmation=password,
            ),
            "password",
            message,
        )
        assert Account.objects.get(pk=orgs.a3.pk).password == before

    def test_ones_own_change(self, orgs: OrgCast, password: str, message: str, en) -> None:
        self.check(
            lambda: password_change(
                actor=Actor(account=orgs.a3),
                account=orgs.a3,
                new_password=password,
                confirmation=password,
                current_password=PASSWORD,
            ),
            "new_password",
            message,
        )
        assert Account.objects.get(pk=orgs.a3.pk).check_password(PASSWORD)

    def test_an_invitation(self, orgs: OrgCast, password: str, message: str, en) -> None:
        token = invitation_token(orgs.a3)
        self.check(
            lambda: invitation_accept(
                actor=Actor(),
                contract=orgs.cast.a,
                token=token,
                new_password=password,
                confirmation=password,
            ),
            "new_password",
            message,
        )

    def test_the_panel_form(self, orgs: OrgCast, password: str, message: str) -> None:
        response = logged_in(orgs.cast.a1).post(
            f"/alpha/users/{orgs.sato.pk}/account/",
            {
                "name": "hanako",
                "password": password,
                "confirmation": password,
                "privilege": "operator",
                "language": "en",
                "timezone": "UTC",
            },
            HTTP_ACCEPT_LANGUAGE="en",
        )
        # NUL is refused before any form by the middleware; the others name the field.
        if "\x00" in password:
            assert response.status_code == 400
        else:
            assert response.status_code == 200
            assert response.context["form"].errors["password"]
        assert not Account.objects.filter(user=orgs.sato).exists()


@pytest.fixture
def en():
    from django.utils import translation

    with translation.override("en"):
        yield


def test_a_password_of_4096_characters_is_fine(orgs: OrgCast) -> None:
    password = "Long-" + "x" * (PASSWORD_MAX_LENGTH - 5)
    account_update(
        actor=Actor(account=orgs.cast.a1),
        account=orgs.a3,
        data=operator_data(orgs.a3.name),
        password=password,
        confirmation=password,
    )
    assert Account.objects.get(pk=orgs.a3.pk).check_password(password)


class TestLoginInput:
    def test_a_megabyte_password_is_refused_before_any_hash(
        self, orgs: OrgCast, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        hashed: list[int] = []
        monkeypatch.setattr(
            "mamori.accounts.services.login.make_password", lambda p: hashed.append(len(p))
        )
        monkeypatch.setattr(Account, "check_password", lambda self, p: hashed.append(len(p)))
        response = login(Client(), "admin", "x" * 1_000_000)
        assert response.status_code == 200
        assert response.context["form"].errors["password"]
        assert hashed == []

    def test_the_service_refuses_it_too_and_counts_a_failure(
        self, orgs: OrgCast, monkeypatch: pytest.MonkeyPatch, rf
    ) -> None:
        hashed: list[int] = []
        monkeypatch.setattr(
            "mamori.accounts.services.login.make_password", lambda p: hashed.append(len(p))
        )
        monkeypatch.setattr(Account, "check_password", lambda self, p: hashed.append(len(p)))
        request = rf.post("/alpha/login/")
        result = login_attempt(
            request,
            actor=Actor(ip="203.0.113.9"),
            domain="alpha",
            name="admin",
            password="x" * (PASSWORD_MAX_LENGTH + 1),
        )
        assert result.outcome == LoginOutcome.INVALID and hashed == []
        entry = LogEntry.objects.filter(action="account.login_failed").latest("seq")
        assert entry.after == {"reason": "invalid"}

    def test_a_password_with_spaces_at_its_ends_logs_in_as_chosen(self, orgs: OrgCast) -> None:
        password = "  spaced-out-password  "
        password_change(
            actor=Actor(account=orgs.a3),
            account=orgs.a3,
            new_password=password,
            confirmation=password,
            current_password=PASSWORD,
        )
        assert login(Client(), "saburo", password.strip()).status_code == 200  # refused
        assert login(Client(), "saburo", password)["Location"] == "/alpha/"


# API tokens ---------------------------------------------------------------------------------


def revocations(account: Account) -> list[dict]:
    tokens = ApiToken.objects.filter(account=account).values_list("pk", flat=True)
    return list(
        LogEntry.objects.filter(action="api_token.revoked", target_id__in=[str(t) for t in tokens])
        .order_by("seq")
        .values_list("after", flat=True)
    )


class TestRevokedForGood:
    def test_a_password_reset_by_an_administrator_revokes_every_token(self, orgs: OrgCast) -> None:
        first, api_first = token_of(orgs.a3, "one")
        second, _api = token_of(orgs.a3, "two")
        api_token_revoke(actor=Actor(account=orgs.a3), token=second)  # already revoked: stays
        client = logged_in(orgs.cast.a1)
        response = save_account_form(client, orgs.a3.user_id, "saburo")
        assert response.status_code == 302
        assert api_first.get("/api/v1/me").status_code == 401
        assert revocations(orgs.a3) == [
            {"prefix": second.prefix},
            {"prefix": first.prefix, "reason": "password_reset"},
        ]
        entry = LogEntry.objects.filter(action="api_token.revoked").latest("seq")
        assert (entry.actor_id, entry.target_label) == (orgs.cast.a1.pk, "one")

    def test_ones_own_password_change_keeps_ones_tokens(self, orgs: OrgCast) -> None:
        _token, api = token_of(orgs.a3)
        password_change(
            actor=Actor(account=orgs.a3),
            account=orgs.a3,
            new_password=NEW,
            confirmation=NEW,
            current_password=PASSWORD,
        )
        assert api.get("/api/v1/me").status_code == 200

    def test_disabling_revokes_them_and_enabling_does_not_bring_them_back(
        self, orgs: OrgCast
    ) -> None:
        token, api = token_of(orgs.a3)
        actor = Actor(account=orgs.a2)
        account_disable(actor=actor, account=orgs.a3)
        assert revocations(orgs.a3) == [{"prefix": token.prefix, "reason": "account_disabled"}]
        account_enable(actor=actor, account=orgs.a3)
        assert api.get("/api/v1/me").status_code == 401
        token.refresh_from_db()
        assert token.revoked_at is not None
        # A new token works.
        _new, api_new = token_of(Account.objects.get(pk=orgs.a3.pk))
        assert api_new.get("/api/v1/me").status_code == 200

    def test_through_the_api_too(self, orgs: OrgCast) -> None:
        _token, api_a3 = token_of(orgs.a3)
        _token, api = token_of(orgs.cast.a1)
        response = api.post(f"/api/v1/users/{orgs.a3.user_id}/account/disable")
        assert response.status_code == 200
        api.post(f"/api/v1/users/{orgs.a3.user_id}/account/enable")
        assert api_a3.get("/api/v1/me").status_code == 401


class TestAdministratorsLookAfterTokens:
    def test_the_list_shows_each_tokens_last_use(self, orgs: OrgCast) -> None:
        used, api = token_of(orgs.a3, "inventory sync")
        token_of(orgs.a3, "never used")
        api.get("/api/v1/me")
        used.refresh_from_db()
        assert used.last_used_at is not None
        admin = token_of(orgs.cast.a1)[1]
        body = admin.get(f"/api/v1/users/{orgs.a3.user_id}/account/tokens").json()
        assert [(t["name"], t["usable"]) for t in body] == [
            ("never used", True),
            ("inventory sync", True),
        ]
        assert body[0]["last_used_at"] is None
        shown = datetime.datetime.fromisoformat(body[1]["last_used_at"])
        assert abs(shown - used.last_used_at) < datetime.timedelta(milliseconds=1)
        page = logged_in(orgs.cast.a1).get(f"/alpha/users/{orgs.a3.user_id}/account/tokens/")
        html = page.content.decode()
        local = timezone.localtime(used.last_used_at, orgs.cast.a1.zone)
        assert local.strftime("%Y-%m-%d %H:%M") in html
        assert "inventory sync" in html and "never used" in html

    def test_the_users_page_links_to_them(self, orgs: OrgCast) -> None:
        page = logged_in(orgs.cast.a1).get(f"/alpha/users/{orgs.a3.user_id}/").content.decode()
        assert f"/alpha/users/{orgs.a3.user_id}/account/tokens/" in page

    def test_one_is_revoked_on_the_page_and_logged(self, orgs: OrgCast) -> None:
        token, api = token_of(orgs.a3)
        client = logged_in(orgs.a2)  # a Department administrator manages Operators
        response = client.post(f"/alpha/users/{orgs.a3.user_id}/account/tokens/{token.pk}/revoke/")
        assert response["Location"] == f"/alpha/users/{orgs.a3.user_id}/account/tokens/"
        assert api.get("/api/v1/me").status_code == 401
        entry = LogEntry.objects.filter(action="api_token.revoked").latest("seq")
        assert (entry.actor_id, entry.target_id, entry.after) == (
            orgs.a2.pk,
            str(token.pk),
            {"prefix": token.prefix},
        )

    def test_one_is_revoked_through_the_api(self, orgs: OrgCast) -> None:
        token, api = token_of(orgs.a3)
        admin = token_of(orgs.cast.a1)[1]
        url = f"/api/v1/users/{orgs.a3.user_id}/account/tokens/{token.pk}/revoke"
        response = admin.post(url)
        assert response.status_code == 200
        assert response.json()["usable"] is False and response.json()["revoked_at"]
        assert api.get("/api/v1/me").status_code == 401
        assert admin.post(url).status_code == 200  # again: nothing more happens
        assert LogEntry.objects.filter(action="api_token.revoked").count() == 1

    def test_a_token_of_another_account_is_not_found_under_this_one(self, orgs: OrgCast) -> None:
        token, api = token_of(orgs.a2)
        admin = token_of(orgs.cast.a1)[1]
        url = f"/api/v1/users/{orgs.a3.user_id}/account/tokens/{token.pk}/revoke"
        assert admin.post(url).status_code == 404
        assert api.get("/api/v1/me").status_code == 200

    def test_only_those_who_manage_the_account(self, orgs: OrgCast) -> None:
        # A Department administrator does not manage another administrator, nor itself here.
        token, api = token_of(orgs.a2)
        client = logged_in(orgs.a2)
        assert client.get(f"/alpha/users/{orgs.a2.user_id}/account/tokens/").status_code == 403
        url = f"/alpha/users/{orgs.a2.user_id}/account/tokens/{token.pk}/revoke/"
        assert client.post(url).status_code == 403
        assert api.get("/api/v1/me").status_code == 200
        # The service decides the same, whoever calls it.
        with pytest.raises(PermissionDenied):
            api_token_revoke(actor=Actor(account=orgs.a3), token=token)  # no accounts.change
        with pytest.raises(OutOfScope):
            api_token_revoke(actor=Actor(account=orgs.a4), token=token)  # not its organizations

    def test_a_user_without_an_account_has_no_tokens_page(self, orgs: OrgCast) -> None:
        user = make_user(orgs.sales, "無 口座", "mu@alpha.example")
        client = logged_in(orgs.cast.a1)
        assert client.get(f"/alpha/users/{user.pk}/account/tokens/").status_code == 404


class TestTwoFactorDue:
    def test_tokens_stop_while_it_is_due_and_work_once_it_is_set_up(self, orgs: OrgCast) -> None:
        _token, api = token_of(orgs.a3)
        Contract.objects.filter(pk=orgs.cast.a.pk).update(require_two_factor=True)
        response = api.get("/api/v1/users")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "two_factor_required"
        assert ApiToken.objects.get(pk=_token.pk).last_used_at is None
        setup = two_factor_begin(account=orgs.a3)
        two_factor_confirm(
            actor=Actor(account=orgs.a3),
            account=orgs.a3,
            secret=setup.secret,
            code=pyotp.TOTP(setup.secret).now(),
        )
        assert api.get("/api/v1/users").status_code == 200


# Built once for the module (see conftest).
orgs, cast = shared_orgs, shared_orgs_cast
