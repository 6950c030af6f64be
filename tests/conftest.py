"""The fixed cast reused across the suite, and the services tests talk to.

Contract A (``alpha``): A1, its System administrator (the contact person).
Contract B (``bravo``): B1, its System administrator; B must never see anything of A.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.test import Client

from mamori.accounts.models import Account
from mamori.contracts.models import Contract
from mamori.contracts.services import contract_create
from mamori.core.actor import Actor
from tests.smtp import SmtpServer

PASSWORD = "correct-horse-battery-42"
PASSWORD_B = "bravo-horse-battery-43"


@pytest.fixture(autouse=True)
def _fast_settings(settings: pytest.FixtureRequest) -> None:
    # Argon2 stays the algorithm; tests only make it cheap.
    settings.PASSWORD_HASHERS = ["tests.hashers.CheapArgon2PasswordHasher"]  # type: ignore[attr-defined]
    settings.MAMORI_BASE_URL = "http://testserver"  # type: ignore[attr-defined]


@dataclasses.dataclass
class Cast:
    a: Contract
    b: Contract
    a1: Account
    b1: Account


def open_contract(
    domain: str,
    company: str,
    *,
    language: str = "ja",
    tz: str = "Asia/Tokyo",
    password: str = PASSWORD,
) -> Account:
    contract = contract_create(
        actor=Actor.operator(),
        domain=domain,
        company_name=company,
        contact_name=f"{domain} 管理者",
        contact_furigana="カンリシャ",
        contact_email=f"admin@{domain}.example",
        language=language,
        timezone_name=tz,
    )
    account = Account.objects.select_related("contract", "user").get(contract=contract)
    account.set_password(password)
    account.must_change_password = False
    account.save()
    return account


@pytest.fixture
def cast(db: None) -> Cast:
    a1 = open_contract("alpha", "アルファ株式会社")
    b1 = open_contract(
        "bravo", "Bravo Inc.", language="en", tz="America/New_York", password=PASSWORD_B
    )
    return Cast(a=a1.contract, b=b1.contract, a1=a1, b1=b1)


def logged_in(account: Account) -> Client:
    client = Client()
    client.force_login(account)
    return client


@pytest.fixture
def smtp_server(settings: pytest.FixtureRequest) -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    settings.MAILERS = smtp_mailers(server.port)  # type: ignore[attr-defined]
    yield server
    server.stop()


def smtp_mailers(port: int) -> dict[str, object]:
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }


def run_worker(max_tasks: int | None = None) -> None:
    """Run every task that is due (or ``max_tasks`` of them), as ``mamori worker`` does."""
    limit = ["--max-tasks", str(max_tasks)] if max_tasks else []
    call_command("worker", "--batch", "--no-startup-delay", "--interval", "0", *limit, verbosity=0)


def mail_field(body: str, label: str) -> str:
    match = re.search(rf"^{re.escape(label)}\s*(\S+)\s*$", body, re.M)
    assert match, f"{label!r} not in mail body:\n{body}"
    return match.group(1)
