"""Settings fail loudly: each mistake stops the process at start, naming the variable.

The failure modes start a fresh Python with a clean environment (no key from pytest-env),
exactly as ``mamori`` or a WSGI server would load the settings.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from mamori.core.env import env_bool, env_int, env_list, env_secret
from mamori.settings import database_from_url, mailer_from_url

SETUP = "import django; django.setup()"
KEY = "a-test-key-that-is-long-enough-0123456789abcdef"


def start(tmp_path: Path, code: str = SETUP, **variables: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new interpreter whose environment holds only ``variables``.

    It starts in ``tmp_path``, so a ``.env`` that ``make run`` left in the project is not read.
    """
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "mamori.settings",
        "MAMORI_VAR_DIR": str(tmp_path / "var"),
        **variables,
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_refused(result: subprocess.CompletedProcess[str], *messages: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "django.core.exceptions.ImproperlyConfigured: " in result.stderr
    for message in messages:
        assert message in result.stderr


def test_no_secret_key_without_debug_stops_the_start(tmp_path: Path) -> None:
    result = start(tmp_path)
    assert_refused(
        result,
        "MAMORI_SECRET_KEY is not set",
        "MAMORI_SECRET_KEY_FILE",
        "secrets.token_urlsafe(50)",
    )
    assert not (tmp_path / "var" / "secret-key").exists()


def test_with_debug_a_development_key_is_kept_in_var(tmp_path: Path) -> None:
    code = f"{SETUP}; from django.conf import settings; print(settings.SECRET_KEY)"
    first = start(tmp_path, code, MAMORI_DEBUG="1")
    second = start(tmp_path, code, MAMORI_DEBUG="yes")
    assert first.returncode == 0, first.stderr
    kept = (tmp_path / "var" / "secret-key").read_text()
    assert first.stdout.strip() == second.stdout.strip() == kept
    assert len(kept) >= 50


def test_a_misspelt_boolean_stops_the_start(tmp_path: Path) -> None:
    result = start(tmp_path, MAMORI_DEBUG="ture", MAMORI_SECRET_KEY=KEY)
    assert_refused(result, "MAMORI_DEBUG='ture' is not valid: Not a valid boolean.", "on/off")


@pytest.mark.parametrize("name", ["MAMORI_SECRET_KEY", "DATABASE_URL", "EMAIL_URL"])
def test_a_secret_set_twice_stops_the_start(tmp_path: Path, name: str) -> None:
    path = tmp_path / "value"
    path.write_text("console://\n")
    variables = {"MAMORI_SECRET_KEY": KEY, name: "console://", f"{name}_FILE": str(path)}
    result = start(tmp_path, **variables)
    assert_refused(result, f"Both {name} and {name}_FILE are set: set only one of them")


def test_an_int_that_is_not_an_int_stops_the_start(tmp_path: Path) -> None:
    result = start(tmp_path, MAMORI_SECRET_KEY=KEY, MAMORI_LOGIN_MAX_FAILURES="five")
    assert_refused(result, "MAMORI_LOGIN_MAX_FAILURES='five' is not valid: Not a valid integer.")


def test_a_secret_file_that_is_missing_stops_the_start(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-key"
    result = start(tmp_path, MAMORI_SECRET_KEY_FILE=str(missing))
    assert_refused(
        result, f"MAMORI_SECRET_KEY_FILE='{missing}' cannot be read (No such file or directory)"
    )


def test_a_database_url_of_another_kind_stops_the_start_without_showing_the_password(
    tmp_path: Path,
) -> None:
    result = start(
        tmp_path, MAMORI_SECRET_KEY=KEY, DATABASE_URL="mysql://mamori:hunter22@db/mamori"
    )
    assert_refused(result, "DATABASE_URL names a django.db.backends.mysql database")
    assert "hunter22" not in result.stderr
    result = start(tmp_path, MAMORI_SECRET_KEY=KEY, DATABASE_URL="pg://mamori:hunter22@db/x")
    assert_refused(result, "DATABASE_URL is not a database URL Mamori can read")
    assert "hunter22" not in result.stderr


def test_secrets_are_read_from_their_files_without_the_trailing_newline(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(f"{KEY}\n")
    database_file = tmp_path / "database"
    database_file.write_text(f"sqlite:///{tmp_path / 'from-file.sqlite3'}\r\n")
    mail_file = tmp_path / "mail"
    mail_file.write_text("smtp://robot:p%40ss@mail.example:2525?tls=1\n")
    code = (
        f"{SETUP}; from django.conf import settings as s; "
        "print(repr(s.SECRET_KEY)); print(s.DATABASES['default']['NAME']); "
        "o = s.MAILERS['default']['OPTIONS']; print(o['host'], o['port'], o['password'])"
    )
    result = start(
        tmp_path,
        code,
        MAMORI_SECRET_KEY_FILE=str(key_file),
        DATABASE_URL_FILE=str(database_file),
        EMAIL_URL_FILE=str(mail_file),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        repr(KEY),
        str(tmp_path / "from-file.sqlite3"),
        "mail.example 2525 p@ss",
    ]


# The helpers, in process.


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), ("Yes", True), ("ON", True), ("0", False), ("off", False)],
)
def test_accepted_boolean_spellings(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: bool
) -> None:
    monkeypatch.setenv("MAMORI_TEST_FLAG", value)
    assert env_bool("MAMORI_TEST_FLAG", not expected) is expected


@pytest.mark.parametrize("value", ["", "ture", "2", "enabled"])
def test_other_boolean_spellings_are_errors(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("MAMORI_TEST_FLAG", value)
    with pytest.raises(ImproperlyConfigured, match="MAMORI_TEST_FLAG="):
        env_bool("MAMORI_TEST_FLAG", False)


def test_an_unset_variable_gives_its_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAMORI_TEST_FLAG", raising=False)
    assert env_bool("MAMORI_TEST_FLAG", True) is True
    assert env_int("MAMORI_TEST_FLAG", 7) == 7
    assert env_list("MAMORI_TEST_FLAG", ["a"]) == ["a"]
    assert env_secret("MAMORI_TEST_FLAG") == ""


def test_an_int_below_its_minimum_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAMORI_TEST_NUMBER", "-1")
    with pytest.raises(ImproperlyConfigured, match="greater than or equal to 0"):
        env_int("MAMORI_TEST_NUMBER", 5, minimum=0)
    monkeypatch.setenv("MAMORI_TEST_NUMBER", " 12 ")
    assert env_int("MAMORI_TEST_NUMBER", 5, minimum=0) == 12


def test_a_list_drops_blank_items(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAMORI_TEST_LIST", "mdm.example.com, ,localhost,")
    assert env_list("MAMORI_TEST_LIST", []) == ["mdm.example.com", "localhost"]


def test_only_the_trailing_line_breaks_of_a_secret_file_are_removed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "secret"
    path.write_text(" spaced secret \n\n")
    monkeypatch.delenv("MAMORI_TEST_SECRET", raising=False)
    monkeypatch.setenv("MAMORI_TEST_SECRET_FILE", str(path))
    assert env_secret("MAMORI_TEST_SECRET") == " spaced secret "


def test_an_empty_secret_file_variable_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAMORI_TEST_SECRET", raising=False)
    monkeypatch.setenv("MAMORI_TEST_SECRET_FILE", "")
    with pytest.raises(ImproperlyConfigured, match="MAMORI_TEST_SECRET_FILE is set but empty"):
        env_secret("MAMORI_TEST_SECRET")


def test_sqlite_url_gets_immediate_transactions_and_a_test_file_per_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MAMORI_TEST_DB_NAME", raising=False)
    config = database_from_url("sqlite:////var/lib/mamori/mamori.sqlite3")
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == "/var/lib/mamori/mamori.sqlite3"
    assert config["OPTIONS"] == {"transaction_mode": "IMMEDIATE", "timeout": 20}
    assert str(config["TEST"]["NAME"]).endswith(f"mamori-test-{os.getpid()}.sqlite3")  # type: ignore[index]
    # A name of its own, for test runs that reuse their database.
    monkeypatch.setenv("MAMORI_TEST_DB_NAME", "mamori_test_me")
    named = database_from_url("sqlite:////var/lib/mamori/mamori.sqlite3")
    assert str(named["TEST"]["NAME"]).endswith("/mamori_test_me.sqlite3")  # type: ignore[index]


def test_postgres_url_keeps_mamoris_additions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAMORI_CONN_MAX_AGE", "15")
    monkeypatch.setenv("MAMORI_TEST_DB_NAME", "test_someone")
    config = database_from_url("postgres://mamori:p%40ss@db.example:6432/mdm?sslmode=require")
    assert config == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "mdm",
        "USER": "mamori",
        "PASSWORD": "p@ss",
        "HOST": "db.example",
        "PORT": "6432",
        "OPTIONS": {"sslmode": "require", "options": "-c jit=off", "connect_timeout": 5},
        "CONN_MAX_AGE": 15,
        "CONN_HEALTH_CHECKS": True,
        "DISABLE_SERVER_SIDE_CURSORS": False,
        "TEST": {"NAME": "test_someone"},
    }


def test_postgres_test_database_is_named_after_the_database_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MAMORI_TEST_DB_NAME", raising=False)
    monkeypatch.delenv("MAMORI_CONN_MAX_AGE", raising=False)
    config = database_from_url("postgresql://postgres@127.0.0.1/mamori")
    assert config["TEST"] == {"NAME": "test_mamori"}
    assert config["CONN_MAX_AGE"] == 60


def test_a_mail_url_of_an_unknown_scheme_is_an_error() -> None:
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL has the scheme 'sendmail'"):
        mailer_from_url("sendmail://localhost")
