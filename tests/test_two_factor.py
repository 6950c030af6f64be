"""Two-step verification: TOTP with backup codes, at login, required by the contract, reset."""

import hashlib
import re
import time
import urllib.parse

import pyotp
import pytest
from django.test import Client

from mamori.accounts.models import Account, BackupCode, LoginFailure
from mamori.accounts.services.login import TWO_FACTOR_PENDING
from mamori.accounts.services.tokens import api_token_create
from mamori.accounts.services.two_factor import (
    contract_security_update,
    two_factor_begin,
    two_factor_confirm,
    two_factor_reset,
)
from mamori.audit.models import LogEntry
from mamori.contracts.models import Contract
from mamori.core.access import OutOfScope
from mamori.core.actor import Actor
from tests.conftest import PASSWORD, Cast, OrgCast, logged_in

pytestmark = pytest.mark.django_db

CODE_PATTERN = re.compile(r"^[2-9a-hjkmnp-z]{5}-[2-9a-hjkmnp-z]{5}$")


@pytest.fixture
def a1(cast: Cast) -> Account:
    cast.a1.language = "en"
    cast.a1.save()
    return cast.a1


def enable(account: Account) -> tuple[str, list[str]]:
    """Turn two-step verification on through the service; the secret and the backup codes."""
    setup = two_factor_begin(account=account)
    codes = two_factor_confirm(
        actor=Actor(account=account),
        account=account,
        secret=setup.secret,
        code=pyotp.TOTP(setup.secret).now(),
    )
    # As if set up a while ago: the code that confirmed it must not block the code a test logs
    # in with during the same 30 seconds.
    Account.objects.filter(pk=account.pk).update(totp_last_step=None)
    account.refresh_from_db()
    return setup.secret, codes


def wrong_code(secret: str) -> str:
    """Six digits that are no code of the secret's, a minute either side of now."""
    totp = pyotp.TOTP(secret)
    valid = {totp.at(time.time() + offset) for offset in (-60, -30, 0, 30, 60)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)


def post_login(client: Client, account: str = "admin", password: str = PASSWORD, **extra: str):
    extra.setdefault("HTTP_ACCEPT_LANGUAGE", "en")
    return client.post("/alpha/login/", {"account": account, "password": password}, **extra)


def post_code(client: Client, code: str, **extra: str):
    extra.setdefault("HTTP_ACCEPT_LANGUAGE", "en")
    return client.post("/alpha/login/verify/", {"code": code}, **extra)


def errors_of(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def field_errors(response, field: str = "code", form: str = "form") -> list[str]:
    return list(response.context[form].errors.get(field, []))


def state(account: Account) -> tuple:
    return (
        Account.objects.filter(pk=account.pk)
        .values_list("totp_secret", "totp_confirmed_at", "totp_last_step")
        .get(),
        sorted(BackupCode.objects.filter(account=account).values_list("digest", "used_at")),
    )


def log_actions(contract: Contract) -> list[str]:
    return list(
        LogEntry.objects.filter(contract=contract).order_by("seq").values_list("action", flat=True)
    )


def logged_in_as(client: Client) -> int | None:
    pk = client.session.get("_auth_user_id")
    return int(pk) if pk else None


# Turning it on ------------------------------------------------------------------------------


class TestSetup:
    def test_setup_page_shows_an_inline_qr_code_and_the_key_for_manual_entry(self, a1) -> None:
        client = logged_in(a1)
        before = log_actions(a1.contract)
        response = client.get("/alpha/account/two-factor/setup/")
        html = response.content.decode()
        secret = client.session["mamori.two_factor_setup"]["secret"]
        assert response.status_code == 200
        assert '<svg width="' in html and 'class="qr"' in html
        assert (
            "<img" not in html
            and "http://"
            not in html.split('<main class="page-body" id="main" tabindex="-1">')[1].split(
                "</main>"
            )[0]
        )
        grouped = " ".join(secret[i : i + 4] for i in range(0, 32, 4))
        assert f'<code id="secret">{grouped}</code>' in html
        assert "Mamori (alpha:admin)" in html
        assert '<label class="form-label" for="id_code">Authentication code</label>' in html
        # Reloading keeps the key the person may already have scanned; nothing is stored yet.
        client.get("/alpha/account/two-factor/setup/")
        assert client.session["mamori.two_factor_setup"]["secret"] == secret
        assert state(a1) == (("", None, None), [])
        assert log_actions(a1.contract) == before

    def test_the_qr_code_carries_issuer_mamori_and_the_domain_and_account_name(self, a1) -> None:
        setup = two_factor_begin(account=a1)
        assert setup.uri == (
            f"otpauth://totp/Mamori:alpha%3Aadmin?secret={setup.secret}&issuer=Mamori"
        )
        assert len(setup.secret) == 32  # 160 bits, as RFC 4226 recommends

    def test_a_code_from_the_app_turns_it_on_and_shows_ten_backup_codes_once(self, a1) -> None:
        client = logged_in(a1)
        client.get("/alpha/account/two-factor/setup/")
        secret = client.session["mamori.two_factor_setup"]["secret"]
        response = client.post(
            "/alpha/account/two-factor/setup/", {"code": pyotp.TOTP(secret).now()}
        )
        assert response.status_code == 200
        assert response["Cache-Control"] == "no-store"
        codes = response.context["codes"]
        assert len(codes) == 10 and len(set(codes)) == 10
        assert all(CODE_PATTERN.match(code) for code in codes)
        html = response.content.decode()
        assert "Two-step verification is now on." in html
        assert all(f"<code>{code}</code>" in html for code in codes)
        # The download is made in the page: nothing of the codes is kept on the server.
        href = re.search(r'id="download-codes" href="([^"]+)" download="([^"]+)"', html)
        assert href and href.group(2) == "mamori-backup-codes-alpha-admin.txt"
        text = urllib.parse.unquote(href.group(1).removeprefix("data:text/plain;charset=utf-8,"))
        assert text.splitlines()[0] == "Mamori backup codes for alpha:admin"
        assert text.splitlines()[3:13] == codes
        assert "mamori.two_factor_setup" not in client.session
        assert all(code not in repr(dict(client.session)) for code in codes)
        a1.refresh_from_db()
        assert a1.totp_secret == secret and a1.two_factor_enabled
        digests = {hashlib.sha256(c.replace("-", "").encode()).hexdigest() for c in codes}
        assert (
            set(BackupCode.objects.filter(account=a1).values_list("digest", flat=True)) == digests
        )
        entry = LogEntry.objects.filter(contract=a1.contract).latest("seq")
        assert (entry.action, entry.actor_id, entry.target_id, entry.before, entry.after) == (
            "account.two_factor_enabled",
            a1.pk,
            str(a1.pk),
            {"two_factor": False},
            {"two_factor": True},
        )
        # Shown once: the page that follows has no codes, and the setup page is closed.
        assert (
            client.get("/alpha/account/two-factor/setup/")["Location"]
            == "/alpha/account/two-factor/"
        )
        assert (
            "<code>"
            not in client.get("/alpha/account/two-factor/")
            .content.decode()
            .split('<main class="page-body" id="main" tabindex="-1">')[1]
        )

    @pytest.mark.parametrize("kind", ["wrong", "letters", "empty"])
    def test_a_wrong_code_is_refused_and_nothing_changes(self, a1, kind: str) -> None:
        client = logged_in(a1)
        client.get("/alpha/account/two-factor/setup/")
        secret = client.session["mamori.two_factor_setup"]["secret"]
        code = {"wrong": wrong_code(secret), "letters": "abcdef", "empty": ""}[kind]
        before = (state(a1), log_actions(a1.contract))
        response = client.post("/alpha/account/two-factor/setup/", {"code": code})
        assert response.status_code == 200
        assert field_errors(response) == [
            "Authentication code is required."
            if kind == "empty"
            else "That code does not match. Check that the app has the key and the device's "
            "clock is right, then enter the code it shows now."
        ]
        assert (state(a1), log_actions(a1.contract)) == before
        assert client.session["mamori.two_factor_setup"]["secret"] == secret

    def test_the_account_page_leads_to_it(self, a1) -> None:
        client = logged_in(a1)
        html = client.get("/alpha/account/").content.decode()
        assert "Off: your password alone opens your account." in html
        assert 'href="/alpha/account/two-factor/setup/">Turn on two-step verification</a>' in html
        enable(a1)
        html = client.get("/alpha/account/").content.decode()
        assert 'href="/alpha/account/two-factor/">Backup codes and turning off</a>' in html


# Logging in ---------------------------------------------------------------------------------


class TestLogin:
    def test_the_right_password_asks_for_the_code_before_logging_in(self, a1) -> None:
        secret, _codes = enable(a1)
        client = Client()
        response = post_login(client)
        assert response.status_code == 302 and response["Location"] == "/alpha/login/verify/"
        assert logged_in_as(client) is None
        assert client.get("/alpha/logs/")["Location"].startswith("/alpha/login/")
        page = client.get("/alpha/login/verify/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert '<label class="form-label" for="id_code">Authentication code</label>' in page
        pending_session = client.session.session_key
        assert "account.login" not in log_actions(a1.contract)
        response = post_code(client, pyotp.TOTP(secret).now(), REMOTE_ADDR="203.0.113.7")
        assert response["Location"] == "/alpha/"
        assert logged_in_as(client) == a1.pk
        assert client.session.session_key != pending_session
        assert TWO_FACTOR_PENDING not in client.session
        entry = LogEntry.objects.filter(contract=a1.contract).latest("seq")
        assert (entry.action, entry.actor_id, entry.ip, entry.after) == (
            "account.login",
            a1.pk,
            "203.0.113.7",
            {"two_factor": "totp"},
        )

    def test_the_general_login_page_and_the_wanted_page_go_through_the_code(self, a1) -> None:
        secret, _codes = enable(a1)
        client = Client()
        response = client.post(
            "/login/?next=/alpha/settings/",
            {"domain": "alpha", "account": "admin", "password": PASSWORD},
        )
        assert response["Location"] == "/alpha/login/verify/?next=%2Falpha%2Fsettings%2F"
        page = client.get(response["Location"]).content.decode()
        assert 'name="next" value="/alpha/settings/"' in page
        response = client.post(
            "/alpha/login/verify/",
            {"code": pyotp.TOTP(secret).now(), "next": "/alpha/settings/"},
        )
        assert response["Location"] == "/alpha/settings/"

    def test_the_password_step_rotates_the_session(self, a1) -> None:
        enable(a1)
        client = Client()
        client.get("/alpha/login/")
        client.session.save()
        planted = client.session.session_key
        post_login(client)
        assert client.session.session_key != planted

    def test_a_backup_code_works_once(self, a1) -> None:
        _secret, codes = enable(a1)
        client = Client()
        post_login(client)
        # Typed as read off paper: upper case, a space instead of the hyphen.
        response = post_code(client, codes[3].upper().replace("-", " "))
        assert response["Location"] == "/alpha/"
        entries = list(LogEntry.objects.filter(contract=a1.contract).order_by("-seq")[:2])
        assert [(e.action, e.after) for e in reversed(entries)] == [
            ("account.login", {"two_factor": "backup_code"}),
            ("account.backup_code_used", {"remaining": 9}),
        ]
        assert BackupCode.objects.filter(account=a1, used_at__isnull=False).count() == 1
        again = Client()
        post_login(again)
        response = post_code(again, codes[3])
        assert response.status_code == 200
        assert errors_of(response) == ["The authentication code is incorrect."]
        assert logged_in_as(again) is None
        entry = LogEntry.objects.filter(contract=a1.contract).latest("seq")
        assert (entry.action, entry.result, entry.after) == (
            "account.login_failed",
            "failure",
            {"reason": "invalid_code"},
        )

    def test_a_code_from_the_app_is_not_accepted_twice(self, a1) -> None:
        secret, _codes = enable(a1)
        code = pyotp.TOTP(secret).now()
        first = Client()
        post_login(first)
        assert post_code(first, code)["Location"] == "/alpha/"
        second = Client()
        post_login(second)
        response = post_code(second, code)
        assert errors_of(response) == ["The authentication code is incorrect."]
        assert logged_in_as(second) is None
        assert LoginFailure.objects.filter(account_name="admin").count() == 1

    def test_an_earlier_code_is_refused_once_a_later_one_was_used(self, a1) -> None:
        secret, _codes = enable(a1)
        totp = pyotp.TOTP(secret)
        now = int(time.time()) // 30
        first = Client()
        post_login(first)
        assert post_code(first, totp.generate_otp(now + 1))["Location"] == "/alpha/"
        second = Client()
        post_login(second)
        assert errors_of(post_code(second, totp.generate_otp(now))) == [
            "The authentication code is incorrect."
        ]

    def test_the_code_step_expires_after_five_minutes(self, a1) -> None:
        secret, _codes = enable(a1)
        client = Client()
        post_login(client)
        session = client.session
        session[TWO_FACTOR_PENDING] = {**session[TWO_FACTOR_PENDING]}
        session[TWO_FACTOR_PENDING]["since"] -= 301
        session.save()
        response = post_code(client, pyotp.TOTP(secret).now())
        assert response["Location"] == "/alpha/login/"
        assert logged_in_as(client) is None
        page = client.get("/alpha/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "The login was not finished in time. Enter your account and password again." in page

    def test_a_password_changed_meanwhile_ends_the_code_step(self, a1) -> None:
        secret, _codes = enable(a1)
        client = Client()
        post_login(client)
        a1.set_password("Another-password-77")
        a1.save()
        assert post_code(client, pyotp.TOTP(secret).now())["Location"] == "/alpha/login/"
        assert logged_in_as(client) is None

    def test_the_code_page_without_a_password_step_leads_to_the_login_page(self, a1) -> None:
        assert Client().get("/alpha/login/verify/")["Location"] == "/alpha/login/"
        assert post_code(Client(), "123456")["Location"] == "/alpha/login/"
        assert LoginFailure.objects.count() == 0

    def test_the_code_step_of_one_contract_is_nothing_in_another(self, a1, cast: Cast) -> None:
        secret, _codes = enable(a1)
        client = Client()
        post_login(client)
        response = client.post("/bravo/login/verify/", {"code": pyotp.TOTP(secret).now()})
        assert response["Location"] == "/bravo/login/"
        assert logged_in_as(client) is None

    def test_an_account_disabled_meanwhile_is_refused(self, a1) -> None:
        secret, _codes = enable(a1)
        client = Client()
        post_login(client)
        Account.objects.filter(pk=a1.pk).update(is_active=False)
        response = post_code(client, pyotp.TOTP(secret).now())
        assert errors_of(response) == [
            "This account is disabled. Ask a System administrator of your contract."
        ]
        assert logged_in_as(client) is None

    def test_accounts_without_it_log_in_with_the_password_alone(self, a1) -> None:
        response = post_login(Client())
        assert response["Location"] == "/alpha/"
        assert LogEntry.objects.filter(contract=a1.contract).latest("seq").after is None


class TestThrottling:
    """Wrong codes are failed logins: the same counter, lock and answers as wrong passwords."""

    def test_code_guesses_lock_the_account_like_password_guesses(self, a1) -> None:
        secret, _codes = enable(a1)
        client = Client()
        post_login(client)
        answers = [
            (r.status_code, errors_of(r))
            for r in (post_code(client, wrong_code(secret)) for _ in range(5))
        ]
        incorrect = ["The authentication code is incorrect."]
        locked = ["Too many failed logins for this account. Try again in 15 minutes."]
        assert answers == [(200, incorrect)] * 4 + [(429, locked)]
        assert LoginFailure.objects.filter(domain="alpha", account_name="admin").count() == 5
        assert LogEntry.objects.filter(action="account.locked_out").count() == 1
        # The code step is over, and even the right password is refused without being checked.
        assert post_code(client, pyotp.TOTP(secret).now())["Location"] == "/alpha/login/"
        response = post_login(Client())
        assert (response.status_code, errors_of(response)) == (429, locked)
        assert logged_in_as(client) is None

    def test_password_and_code_failures_add_up(self, a1) -> None:
        secret, _codes = enable(a1)
        for _ in range(3):
            post_login(Client(), password="wrong-password-123")
        client = Client()
        post_login(client)
        assert post_code(client, wrong_code(secret)).status_code == 200
        assert post_code(client, wrong_code(secret)).status_code == 429

    def test_the_right_password_again_does_not_reset_the_count(self, a1) -> None:
        secret, _codes = enable(a1)
        client = Client()
        post_login(client)
        for _ in range(4):
            post_code(client, wrong_code(secret))
        post_login(client)
        assert post_code(client, wrong_code(secret)).status_code == 429

    def test_locked_code_guesses_check_no_code(self, a1, monkeypatch: pytest.MonkeyPatch) -> None:
        secret, _codes = enable(a1)
        client = Client()
        post_login(client)
        for _ in range(4):
            post_code(client, wrong_code(secret))
        LoginFailure.objects.create(domain="alpha", account_name="admin", ip="192.0.2.1")
        checked: list[str] = []
        monkeypatch.setattr(
            "mamori.accounts.services.two_factor.two_factor_code_use",
            lambda a, c: checked.append(c),
        )
        response = post_code(client, pyotp.TOTP(secret).now())
        assert response.status_code == 429 and checked == []

    def test_code_guesses_count_per_ip_address_too(self, a1, settings) -> None:
        settings.MAMORI_LOGIN_MAX_FAILURES_PER_IP = 3
        secret, _codes = enable(a1)
        client = Client()
        post_login(client, REMOTE_ADDR="198.51.100.9")
        for _ in range(3):
            post_code(client, wrong_code(secret), REMOTE_ADDR="198.51.100.9")
        response = post_login(Client(), REMOTE_ADDR="198.51.100.9")
        assert response.status_code == 429
        assert errors_of(response) == ["Too many failed logins from your network. Try again later."]

    def test_a_successful_code_clears_the_failures(self, a1) -> None:
        secret, _codes = enable(a1)
        client = Client()
        post_login(client)
        post_code(client, wrong_code(secret))
        assert post_code(client, pyotp.TOTP(secret).now())["Location"] == "/alpha/"
        assert not LoginFailure.objects.filter(account_name="admin").exists()


# Turning it off and new backup codes --------------------------------------------------------


class TestManage:
    def test_turning_off_needs_a_current_code(self, a1) -> None:
        secret, _codes = enable(a1)
        client = logged_in(a1)
        before = (state(a1), log_actions(a1.contract))
        response = client.post(
            "/alpha/account/two-factor/disable/", {"off-code": wrong_code(secret)}
        )
        assert response.status_code == 200
        assert field_errors(response, form="off_form") == ["The authentication code is incorrect."]
        assert (state(a1), log_actions(a1.contract)) == before
        response = client.post(
            "/alpha/account/two-factor/disable/", {"off-code": pyotp.TOTP(secret).now()}
        )
        assert response["Location"] == "/alpha/account/"
        assert state(a1) == (("", None, None), [])
        entry = LogEntry.objects.filter(contract=a1.contract).latest("seq")
        assert (entry.action, entry.before, entry.after) == (
            "account.two_factor_disabled",
            {"two_factor": True},
            {"two_factor": False, "verified_with": "totp"},
        )

    def test_new_backup_codes_replace_the_old_ones(self, a1) -> None:
        secret, old_codes = enable(a1)
        client = logged_in(a1)
        before = state(a1)
        response = client.post(
            "/alpha/account/two-factor/backup-codes/", {"codes-code": wrong_code(secret)}
        )
        assert field_errors(response, form="codes_form") == [
            "The authentication code is incorrect."
        ]
        assert state(a1) == before
        response = client.post(
            "/alpha/account/two-factor/backup-codes/", {"codes-code": old_codes[0]}
        )
        new_codes = response.context["codes"]
        assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
        assert "Two-step verification is now on." not in response.content.decode()
        entry = LogEntry.objects.filter(contract=a1.contract).latest("seq")
        assert (entry.action, entry.after) == (
            "account.backup_codes_regenerated",
            {"count": 10, "verified_with": "backup_code"},
        )
        assert BackupCode.objects.filter(account=a1, used_at__isnull=True).count() == 10
        # The old codes no longer log anyone in; the new ones do.
        client = Client()
        post_login(client)
        assert errors_of(post_code(client, old_codes[1])) == [
            "The authentication code is incorrect."
        ]
        assert post_code(client, new_codes[0])["Location"] == "/alpha/"

    def test_wrong_codes_here_count_towards_the_login_lock(self, a1) -> None:
        secret, _codes = enable(a1)
        client = logged_in(a1)
        for _ in range(5):
            client.post("/alpha/account/two-factor/disable/", {"off-code": wrong_code(secret)})
        response = client.post(
            "/alpha/account/two-factor/disable/", {"off-code": pyotp.TOTP(secret).now()}
        )
        assert field_errors(response, form="off_form") == [
            "Too many wrong codes. Try again in a few minutes."
        ]
        a1.refresh_from_db()
        assert a1.two_factor_enabled

    def test_the_page_shows_how_many_backup_codes_are_left(self, a1) -> None:
        _secret, codes = enable(a1)
        client = Client()
        post_login(client)
        post_code(client, codes[0])
        html = client.get("/alpha/account/two-factor/").content.decode()
        assert '<p id="backup-codes-left" class="mb-0">Backup codes left: 9 of 10.</p>' in html


# Required by the contract -------------------------------------------------------------------


class TestContractRequirement:
    def test_only_a_system_administrator_opens_the_security_settings(
        self, a1, orgs: OrgCast
    ) -> None:
        client = logged_in(orgs.a2)
        assert client.get("/alpha/settings/security/").status_code == 403
        response = client.post("/alpha/settings/security/", {"require_two_factor": "on"})
        assert response.status_code == 403
        assert not Contract.objects.get(pk=a1.contract_id).require_two_factor
        assert 'id="settings-security"' not in client.get("/alpha/settings/").content.decode()
        assert 'id="settings-security"' in logged_in(a1).get("/alpha/settings/").content.decode()

    def test_requiring_it_needs_it_on_the_administrators_own_account_first(self, a1) -> None:
        client = logged_in(a1)
        before = log_actions(a1.contract)
        response = client.post("/alpha/settings/security/", {"require_two_factor": "on"})
        assert field_errors(response, "require_two_factor") == [
            "Turn on two-step verification for your own account first, so that you are not "
            "locked out of this page."
        ]
        assert not Contract.objects.get(pk=a1.contract_id).require_two_factor
        assert log_actions(a1.contract) == before

    def test_requiring_it_is_saved_and_logged(self, a1) -> None:
        enable(a1)
        client = logged_in(a1)
        html = client.get("/alpha/settings/security/").content.decode()
        assert "Require two-step verification for all accounts" in html
        assert (
            '<p id="two-factor-count" class="mb-0">Accounts with two-step verification: 1 / 1</p>'
            in html
        )
        response = client.post("/alpha/settings/security/", {"require_two_factor": "on"})
        assert response["Location"] == "/alpha/settings/security/"
        assert Contract.objects.get(pk=a1.contract_id).require_two_factor
        entry = LogEntry.objects.filter(contract=a1.contract).latest("seq")
        assert (entry.action, entry.target_type, entry.before, entry.after) == (
            "contract.settings_updated",
            "contract",
            {"require_two_factor": False},
            {"require_two_factor": True},
        )
        count = LogEntry.objects.count()
        client.post("/alpha/settings/security/", {"require_two_factor": "on"})
        assert LogEntry.objects.count() == count  # nothing changed, nothing logged

    def test_an_account_without_it_is_led_to_setup_on_every_page(self, a1, orgs: OrgCast) -> None:
        Contract.objects.filter(pk=a1.contract_id).update(require_two_factor=True)
        client = Client()
        response = post_login(client, "jiro")
        assert response["Location"] == "/alpha/"
        for url in ("/alpha/", "/alpha/logs/", "/alpha/settings/", "/alpha/account/"):
            assert client.get(url)["Location"] == "/alpha/account/two-factor/setup/"
        page = client.get("/alpha/account/two-factor/setup/").content.decode()
        assert "Your contract requires two-step verification. Set it up to continue." in page
        secret = client.session["mamori.two_factor_setup"]["secret"]
        client.post("/alpha/account/two-factor/setup/", {"code": pyotp.TOTP(secret).now()})
        assert client.get("/alpha/logs/").status_code == 200

    def test_api_tokens_of_an_account_without_it_stop_until_it_is_set_up(
        self, a1, orgs: OrgCast
    ) -> None:
        _token, raw = api_token_create(
            actor=Actor(account=orgs.a2), account=orgs.a2, name="ci", expires_in_days=7
        )
        api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
        Contract.objects.filter(pk=a1.contract_id).update(require_two_factor=True)
        response = api.get("/api/v1/me")
        assert response.status_code == 401
        assert response.json()["error"] == {
            "code": "two_factor_required",
            "message": "Your contract requires two-step verification. Turn it on for your "
            "account in the panel (My account); your API tokens work again once it is on.",
        }  # in the token account's language (A2's is English)
        enable(orgs.a2)
        assert api.get("/api/v1/me").status_code == 200
        # An account that has it is never affected.
        _token, a1_raw = api_token_create(
            actor=Actor(account=a1), account=a1, name="ci", expires_in_days=7
        )
        enable(a1)
        assert Client(HTTP_AUTHORIZATION=f"Bearer {a1_raw}").get("/api/v1/me").status_code == 200

    def test_the_forced_password_change_comes_first(self, a1, orgs: OrgCast) -> None:
        Contract.objects.filter(pk=a1.contract_id).update(require_two_factor=True)
        Account.objects.filter(pk=orgs.a2.pk).update(must_change_password=True)
        client = Client()
        post_login(client, "jiro")
        assert client.get("/alpha/logs/")["Location"] == "/alpha/password/"
        new = "Sakura-no-hana-2026"
        client.post("/alpha/password/", {"new_password": new, "confirmation": new})
        assert client.get("/alpha/logs/")["Location"] == "/alpha/account/two-factor/setup/"

    def test_turning_it_off_when_required_leads_back_to_setup(self, a1) -> None:
        secret, _codes = enable(a1)
        Contract.objects.filter(pk=a1.contract_id).update(require_two_factor=True)
        client = logged_in(a1)
        client.post("/alpha/account/two-factor/disable/", {"off-code": pyotp.TOTP(secret).now()})
        assert client.get("/alpha/logs/")["Location"] == "/alpha/account/two-factor/setup/"


# Reset by a System administrator ------------------------------------------------------------


class TestReset:
    def test_a_system_administrator_resets_another_account(self, a1, orgs: OrgCast) -> None:
        enable(orgs.a2)
        client = logged_in(a1)
        response = client.post(
            f"/alpha/users/{orgs.a2.user_id}/account/two-factor/reset/",
            {"next": f"/alpha/users/{orgs.a2.user_id}/"},
        )
        assert response["Location"] == f"/alpha/users/{orgs.a2.user_id}/"
        assert state(orgs.a2) == (("", None, None), [])
        entry = LogEntry.objects.filter(contract=a1.contract).latest("seq")
        assert (entry.action, entry.actor_id, entry.target_id, entry.before, entry.after) == (
            "account.two_factor_reset",
            a1.pk,
            str(orgs.a2.pk),
            {"two_factor": True},
            {"two_factor": False},
        )
        assert entry.organization_id == orgs.sales.pk
        # The account logs in with its password alone again.
        assert post_login(Client(), "jiro")["Location"] == "/alpha/"

    def test_a_reset_goes_back_only_to_a_page_of_the_contract(self, a1, orgs: OrgCast) -> None:
        enable(orgs.a2)
        response = logged_in(a1).post(
            f"/alpha/users/{orgs.a2.user_id}/account/two-factor/reset/",
            {"next": "https://evil.example/alpha/"},
        )
        assert response["Location"] == "/alpha/"

    @pytest.mark.parametrize("who", ["a2", "a3", "a4"])
    def test_others_are_refused_and_nothing_changes(self, a1, orgs: OrgCast, who: str) -> None:
        enable(orgs.a3)
        before = (state(orgs.a3), log_actions(a1.contract))
        response = logged_in(getattr(orgs, who)).post(
            f"/alpha/users/{orgs.a3.user_id}/account/two-factor/reset/"
        )
        # A2 sees the operator (403); A4's scope (dev) does not include it (404).
        assert response.status_code == {"a2": 403, "a3": 403, "a4": 404}[who]
        assert (state(orgs.a3), log_actions(a1.contract)) == before

    def test_ones_own_is_turned_off_on_ones_own_page_not_reset(self, a1) -> None:
        enable(a1)
        client = logged_in(a1)
        before = (state(a1), log_actions(a1.contract))
        response = client.post(f"/alpha/users/{a1.user_id}/account/two-factor/reset/")
        assert response["Location"] == "/alpha/"
        assert (state(a1), log_actions(a1.contract)) == before
        page = client.get("/alpha/account/").content.decode()
        assert "To turn off your own two-step verification, use your account page." in page

    def test_a_user_without_an_account_or_without_it_on(self, a1, orgs: OrgCast) -> None:
        client = logged_in(a1)
        assert (
            client.post(f"/alpha/users/{orgs.sato.pk}/account/two-factor/reset/").status_code == 404
        )
        before = log_actions(a1.contract)
        client.post(f"/alpha/users/{orgs.a2.user_id}/account/two-factor/reset/")
        assert log_actions(a1.contract) == before
        assert "Two-step verification is not on." in client.get("/alpha/account/").content.decode()

    def test_a_get_changes_nothing(self, a1, orgs: OrgCast) -> None:
        enable(orgs.a2)
        response = logged_in(a1).get(f"/alpha/users/{orgs.a2.user_id}/account/two-factor/reset/")
        assert response.status_code == 405
        orgs.a2.refresh_from_db()
        assert orgs.a2.two_factor_enabled


# The operation log --------------------------------------------------------------------------


def test_secrets_and_codes_never_reach_the_log(a1, orgs: OrgCast) -> None:
    client = logged_in(a1)
    client.get("/alpha/account/two-factor/setup/")
    secret = client.session["mamori.two_factor_setup"]["secret"]
    first_code = pyotp.TOTP(secret).now()
    codes = client.post("/alpha/account/two-factor/setup/", {"code": first_code}).context["codes"]
    Account.objects.filter(pk=a1.pk).update(totp_last_step=None)
    login = Client()
    post_login(login)
    post_code(login, codes[0])
    post_login(Client(), password="wrong-password-123")
    failed = Client()
    post_login(failed)
    post_code(failed, codes[0])
    new_codes = client.post(
        "/alpha/account/two-factor/backup-codes/", {"codes-code": codes[1]}
    ).context["codes"]
    client.post("/alpha/account/two-factor/disable/", {"off-code": new_codes[0]})
    enable(orgs.a2)
    logged_in(a1).post(f"/alpha/users/{orgs.a2.user_id}/account/two-factor/reset/")
    # The written values only: six digits could turn up by chance in a digest.
    everything = repr(list(LogEntry.objects.values_list("before", "after", "target_label")))
    secrets_ = [secret, first_code, *codes, *new_codes]
    secrets_ += [c.replace("-", "") for c in codes + new_codes]
    assert [s for s in secrets_ if s in everything] == []
    assert "[redacted]" not in everything  # not even passed to the log to be redacted


def test_services_refuse_another_contracts_account_as_not_found(a1, cast: Cast) -> None:
    enable(a1)
    before = (state(a1), log_actions(a1.contract), cast.a.require_two_factor)
    with pytest.raises(OutOfScope):
        two_factor_reset(actor=Actor(account=cast.b1), account=a1)
    enable(cast.b1)
    with pytest.raises(OutOfScope):
        contract_security_update(
            actor=Actor(account=cast.b1), contract=cast.a, require_two_factor=True
        )
    cast.a.refresh_from_db()
    assert (state(a1), log_actions(a1.contract), cast.a.require_two_factor) == before


def test_the_operators_cli_may_reset_and_require_it(a1, cast: Cast) -> None:
    enable(a1)
    two_factor_reset(actor=Actor.operator(), account=a1)
    contract_security_update(actor=Actor.operator(), contract=cast.a, require_two_factor=True)
    a1.refresh_from_db()
    cast.a.refresh_from_db()
    assert (a1.two_factor_enabled, cast.a.require_two_factor) == (False, True)
