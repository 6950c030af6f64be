"""First run: the .env that `make run` writes is the one configuration of every entry point, and
what `make run` and `mamori demo` print works as typed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dotenv import dotenv_values

from mamori.accounts.models import Account
from mamori.android.sandbox.keys import CLIENT_EMAIL
from mamori.contracts.models import Contract
from mamori.outbox.backends import EmlFileBackend
from tests.conftest import mail_field
from tests.test_contracts import cli

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MAMORI = str(BIN / "mamori")
DEV_ENV = str(PROJECT_ROOT / "scripts" / "dev-env")
CONTACT = ["--domain", "acme", "--company", "ACME株式会社", "--contact-name", "山田 太郎"]
CONTACT += ["--contact-furigana", "ヤマダ タロウ", "--contact-email", "yamada@acme.example"]
PRINT_BASE_URL = "from django.conf import settings; print(settings.MAMORI_BASE_URL)"


def run(command: list[str], cwd: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in ``cwd`` with an environment of only ``variables`` (and PATH)."""
    return subprocess.run(
        command,
        cwd=cwd,
        env={"PATH": os.environ.get("PATH", ""), **variables},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def dev_env(project: Path, *args: str) -> str:
    """Run scripts/dev-env in ``project`` as `make run` does; returns the address it printed."""
    result = run([sys.executable, DEV_ENV, *args], project)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


# scripts/dev-env: what `make run` writes.


def test_make_runs_env_file_holds_debug_off_the_keys_the_port_and_the_mail(
    tmp_path: Path,
) -> None:
    assert dev_env(tmp_path) == "127.0.0.1:8000"

    values = dotenv_values(tmp_path / ".env")
    assert values["MAMORI_DEBUG"] == "0"
    assert values["MAMORI_RUN_PORT"] == "8000"
    assert values["MAMORI_BASE_URL"] == "http://127.0.0.1:8000"
    assert len(values["MAMORI_SECRET_KEY"] or "") >= 50
    assert (values["MAMORI_AUDIT_KEY"] or "").startswith("dev:")
    assert values["EMAIL_URL"] == f"file://{tmp_path.resolve() / 'var' / 'mail'}"
    assert (tmp_path / ".env").stat().st_mode & 0o777 == 0o600
    # The sandbox's Pub/Sub push to the panel, its OIDC token checked as in production.
    assert len(values["MAMORI_PUBSUB_PUSH_SECRET"] or "") >= 40
    assert values["MAMORI_PUBSUB_AUDIENCE"] == "http://127.0.0.1:8000/pubsub/amapi"
    assert values["MAMORI_PUBSUB_SERVICE_ACCOUNT"] == CLIENT_EMAIL
    assert values["MAMORI_PUBSUB_CERTS_URL"] == "http://127.0.0.1:8765/oauth2/v1/certs"


def test_later_runs_keep_the_keys_and_a_new_port_moves_the_base_url(tmp_path: Path) -> None:
    dev_env(tmp_path)
    first = dotenv_values(tmp_path / ".env")

    assert dev_env(tmp_path, "--port", "8001") == "127.0.0.1:8001"
    assert dev_env(tmp_path) == "127.0.0.1:8001"  # kept for the next `make run`
    second = dotenv_values(tmp_path / ".env")
    assert second["MAMORI_BASE_URL"] == "http://127.0.0.1:8001"
    assert second["MAMORI_PUBSUB_AUDIENCE"] == "http://127.0.0.1:8001/pubsub/amapi"
    kept_values = ("MAMORI_SECRET_KEY", "MAMORI_AUDIT_KEY", "EMAIL_URL", "MAMORI_DEBUG")
    for kept in (*kept_values, "MAMORI_PUBSUB_PUSH_SECRET"):
        assert second[kept] == first[kept]


def test_a_base_url_or_debug_set_by_hand_is_kept(tmp_path: Path) -> None:
    dev_env(tmp_path)
    env_file = tmp_path / ".env"
    text = env_file.read_text()
    text = text.replace(
        "MAMORI_BASE_URL=http://127.0.0.1:8000", "MAMORI_BASE_URL=https://t.example"
    )
    env_file.write_text(text.replace("MAMORI_DEBUG=0", "MAMORI_DEBUG=1") + "MINE=kept\n")

    dev_env(tmp_path, "--port", "8002")

    values = dotenv_values(env_file)
    assert (values["MAMORI_BASE_URL"], values["MAMORI_DEBUG"], values["MINE"]) == (
        "https://t.example",
        "1",
        "kept",
    )


def test_the_keys_a_debug_run_kept_in_var_are_carried_over(tmp_path: Path) -> None:
    # Sessions and the operation log's chains stay valid for someone upgrading.
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "secret-key").write_text("k" * 50)
    (tmp_path / "var" / "audit-key").write_text(f"dev:{'a' * 43}\n")

    dev_env(tmp_path)

    values = dotenv_values(tmp_path / ".env")
    assert values["MAMORI_SECRET_KEY"] == "k" * 50
    assert values["MAMORI_AUDIT_KEY"] == f"dev:{'a' * 43}"


def test_serving_on_every_interface_allows_any_host_name(tmp_path: Path) -> None:
    every = "0.0.0.0"  # noqa: S104 - written to .env, not bound here
    assert dev_env(tmp_path, "--host", every, "--port", "8010") == f"{every}:8010"

    values = dotenv_values(tmp_path / ".env")
    assert values["MAMORI_ALLOWED_HOSTS"] == "*"
    assert values["MAMORI_BASE_URL"] == "http://127.0.0.1:8010"


# Every entry point reads .env; the environment wins.


def write_env(project: Path, **values: str) -> None:
    (project / ".env").write_text("".join(f"{k}={v}\n" for k, v in values.items()))


def test_mamori_reads_the_env_file_of_its_directory_and_the_environment_wins(
    tmp_path: Path,
) -> None:
    write_env(
        tmp_path,
        MAMORI_SECRET_KEY="from-the-env-file-" + "x" * 40,
        MAMORI_BASE_URL="http://127.0.0.1:8123",
    )
    shell = [MAMORI, "shell", "--no-imports", "-c", PRINT_BASE_URL]

    from_file = run(shell, tmp_path)
    overridden = run(shell, tmp_path, MAMORI_BASE_URL="https://mdm.example.com")
    elsewhere = run(shell, tmp_path.parent, MAMORI_SECRET_KEY="k" * 50)

    assert from_file.returncode == 0, from_file.stderr
    assert from_file.stdout.strip() == "http://127.0.0.1:8123"
    assert overridden.stdout.strip() == "https://mdm.example.com"
    assert elsewhere.stdout.strip() == "http://127.0.0.1:8000"  # no .env there: the default


def test_the_wsgi_application_reads_the_same_env_file(tmp_path: Path) -> None:
    write_env(tmp_path, MAMORI_SECRET_KEY="k" * 50, MAMORI_BASE_URL="http://127.0.0.1:8124")

    result = run([sys.executable, "-c", f"import mamori.wsgi; {PRINT_BASE_URL}"], tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "http://127.0.0.1:8124"


def test_mamori_env_file_names_another_file_or_none(tmp_path: Path) -> None:
    write_env(tmp_path, MAMORI_SECRET_KEY="k" * 50, MAMORI_BASE_URL="http://127.0.0.1:8125")
    (tmp_path / "other.env").write_text(f"MAMORI_SECRET_KEY={'o' * 50}\n")
    shell = [MAMORI, "shell", "--no-imports", "-c", PRINT_BASE_URL]

    other = run(shell, tmp_path, MAMORI_ENV_FILE=str(tmp_path / "other.env"))
    missing = run(shell, tmp_path, MAMORI_ENV_FILE=str(tmp_path / "missing.env"))
    none = run(shell, tmp_path, MAMORI_ENV_FILE="", MAMORI_SECRET_KEY="k" * 50)

    assert other.stdout.strip() == "http://127.0.0.1:8000"
    assert missing.returncode == 1
    assert f"MAMORI_ENV_FILE='{tmp_path / 'missing.env'}' is not a readable file" in missing.stderr
    assert none.stdout.strip() == "http://127.0.0.1:8000"


def test_a_command_in_another_shell_mails_login_urls_with_make_runs_port(tmp_path: Path) -> None:
    # What a newcomer does: `make run PORT=8123`, then in another shell open a contract and read
    # its mail with the commands the README gives.
    dev_env(tmp_path, "--port", "8123")
    with (tmp_path / ".env").open("a") as env_file:
        env_file.write(f"MAMORI_VAR_DIR={tmp_path / 'var'}\n")
    (tmp_path / "var").mkdir()
    for command in (
        ["migrate", "-v0"],
        ["contract", "create", *CONTACT],
        ["worker", "--batch", "--no-startup-delay", "--interval", "0"],
    ):
        done = run([MAMORI, *command], tmp_path)
        assert done.returncode == 0, done.stderr

    shown = run([MAMORI, "mail", "show", "--latest", "--to", "yamada@acme.example"], tmp_path)

    assert shown.returncode == 0, shown.stderr
    assert "http://127.0.0.1:8123/acme/login/" in shown.stdout.splitlines()
    assert mail_field(shown.stdout, "アカウント:") == "admin"
    assert len(list((tmp_path / "var" / "mail").glob("*.eml"))) == 1


# `mamori demo`: the banner `make run` prints.


@pytest.fixture
def mail_files(tmp_path: Path, settings: object) -> Path:
    settings.MAILERS = {  # type: ignore[attr-defined]
        "default": {
            "BACKEND": f"{EmlFileBackend.__module__}.{EmlFileBackend.__name__}",
            "OPTIONS": {"file_path": str(tmp_path / "mail")},
        }
    }
    return tmp_path / "mail"


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("mail_files")
def test_demo_banner_gives_the_command_that_shows_the_password() -> None:
    banner = cli("demo", "--cli", ".venv/bin/mamori")

    lines = banner.splitlines()
    assert lines[0] == "Opened the demo contract."
    assert "  Log in at:     http://testserver/demo/login/" in lines
    assert "  Account:       admin" in lines
    assert (
        "  Password:      in the registration mail (the worker sends it): "
        ".venv/bin/mamori mail show --latest --to demo-admin@example.com"
    ) in lines
    assert (
        "  Lost it?       .venv/bin/mamori contract resend-registration demo   (mails a new one)"
    ) in lines


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("mail_files")
def test_demo_on_a_restart_after_the_password_was_changed_says_how_to_get_a_new_one() -> None:
    cli("demo")
    account = Account.objects.get(contract__domain="demo")
    account.name = "hanako"
    account.set_password("a-new-password-of-hers-1")
    account.must_change_password = False
    account.save()

    lines = cli("demo", "--cli", ".venv/bin/mamori").splitlines()

    assert "Opened the demo contract." not in lines
    assert Contract.objects.filter(domain="demo").count() == 1
    assert "  Account:       hanako" in lines
    assert "  Password:      the one you chose at the first login" in lines
    assert (
        "  Lost it?       .venv/bin/mamori contract resend-registration demo   (mails a new one),"
        " then: .venv/bin/mamori mail show --latest --to demo-admin@example.com"
    ) in lines
    assert not any("in the registration mail" in line for line in lines)
