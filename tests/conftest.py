"""The fixed cast reused across the suite, and the services tests talk to.

Contract A (``alpha``): A1, its System administrator (the contact person).
Contract B (``bravo``): B1, its System administrator; B must never see anything of A.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings
from django.utils import translation

from mamori.accounts.models import Account, PermissionScheme
from mamori.accounts.services.administration import AccountData, account_create
from mamori.contracts.models import Contract
from mamori.contracts.versions import cached_forget
from mamori.core.actor import Actor
from mamori.directory.models import Organization, User
from mamori.directory.services import UserData, organization_create, user_create
from mamori.provider.services import contract_create
from tests.queue import PrivateRedis, on_rq, queue_lose, rq_queues
from tests.smtp import SmtpServer

pytest_plugins = ["tests.browser"]  # the chromium fixture

# The operation log's key for the tests (and for any process a test starts).
AUDIT_KEY = "test:tests-only-audit-key-0123456789abcdef"
os.environ.setdefault("MAMORI_AUDIT_KEY", AUDIT_KEY)

PASSWORD = "correct-horse-battery-42"
PASSWORD_B = "bravo-horse-battery-43"


@pytest.fixture(autouse=True)
def _language_reset() -> Iterator[None]:
    # Every test starts in the default language (Japanese) whatever the one before activated:
    # a test that reads English messages says so (translation.override("en")).
    translation.deactivate_all()
    translation.activate("ja")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _cache_cleared() -> Iterator[None]:
    # A test's rolled-back or flushed data may come back with the same ids and versions in the
    # next test: what was cached from it must not.
    cache.clear()
    cached_forget()
    yield


@pytest.fixture(autouse=True, scope="session")
def _test_settings() -> Iterator[None]:
    # For the whole session, so that data made once per module (below) is made with them too.
    # Argon2 stays the algorithm; tests only make it cheap.
    with override_settings(
        PASSWORD_HASHERS=["tests.hashers.CheapArgon2PasswordHasher"],
        MAMORI_BASE_URL="http://testserver",
        MAMORI_AUDIT_KEY=AUDIT_KEY,
    ):
        yield


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """The URL of a Redis server of this test process's own (``tests.queue.PrivateRedis``),
    stopped at the end."""
    server = PrivateRedis()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(autouse=True, scope="session")
def _rq_private(request: pytest.FixtureRequest) -> Iterator[None]:
    # With MAMORI_TASK_BACKEND=rq (CI's third pass), the queue is this process's own Redis
    # server, for the workers a test starts too (whatever MAMORI_REDIS_URL named).
    if not on_rq():
        yield
        return
    url = request.getfixturevalue("redis_url")
    os.environ["MAMORI_REDIS_URL"] = url
    with override_settings(RQ_QUEUES=rq_queues(url)):
        yield


@pytest.fixture(autouse=True)
def _queue_emptied() -> None:
    # The database's queue is emptied with the test's data; a Redis queue is emptied here.
    if on_rq():
        queue_lose()


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


def cast_create() -> Cast:
    a1 = open_contract("alpha", "アルファ株式会社")
    b1 = open_contract(
        "bravo", "Bravo Inc.", language="en", tz="America/New_York", password=PASSWORD_B
    )
    return Cast(a=a1.contract, b=b1.contract, a1=a1, b1=b1)


@pytest.fixture
def cast(db: None) -> Cast:
    return cast_create()


def logged_in(account: Account) -> Client:
    client = Client()
    client.force_login(account)
    return client


def api_client(account: Account) -> Client:
    """A client of the API with a fresh token of ``account``, as an API user would have."""
    from mamori.accounts.services.tokens import api_token_create

    _, raw = api_token_create(
        actor=Actor(account=account), account=account, name="test", expires_in_days=1
    )
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


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


def run_work(kind: str = "") -> list[str]:
    """Run every piece of pending work that is due (of kinds starting with ``kind``), here and
    now, as a worker would without the queue (in a test's transaction too); returns each
    outcome's status."""
    from django.utils import timezone

    from mamori.core.models import Work
    from mamori.core.work import work_run

    due = Work.objects.filter(
        status=Work.Status.PENDING, next_attempt_at__lte=timezone.now(), kind__startswith=kind
    )
    return [work_run(pk).status for pk in due.order_by("pk").values_list("pk", flat=True)]


def mail_field(body: str, label: str) -> str:
    match = re.search(rf"^{re.escape(label)}\s*(\S+)\s*$", body, re.M)
    assert match, f"{label!r} not in mail body:\n{body}"
    return match.group(1)


@dataclasses.dataclass
class OrgCast:
    """Contract A's organizations and its scoped administrators.

    alpha root ─┬─ sales ── tokyo
                └─ dev
    A2: Department administrator of sales (and so tokyo); A3: Operator in sales;
    A4: Custom administrator with every users.* permission, scoped to dev;
    sato: a user in tokyo (in A2's scope), suzuki: a user in dev (outside it).
    """

    cast: Cast
    root: Organization
    sales: Organization
    tokyo: Organization
    dev: Organization
    a2: Account
    a3: Account
    a4: Account
    sato: User
    suzuki: User


def make_user(organization: Organization, name: str, email: str, furigana: str = "") -> User:
    """A user added the way the product adds one (``user_create``), by the operator."""
    return user_create(
        actor=Actor.operator(),
        data=UserData(
            organization=organization, name=name, furigana=furigana, emails=((email, "main"),)
        ),
    )


def make_account(
    user: User, name: str, privilege: str, *, scope: tuple = (), scheme=None, **extra
) -> Account:
    """An account given the way the product gives one (``account_create``), by the operator."""
    data = AccountData(
        name=name,
        privilege=privilege,
        language=extra.pop("language", "en"),
        timezone=extra.pop("timezone", "Asia/Tokyo"),
        scope_organizations=tuple(scope),
        scheme=scheme,
        **extra,
    )
    account = account_create(
        actor=Actor.operator(), user=user, data=data, password=PASSWORD, confirmation=PASSWORD
    )
    # The operator chose the password: as if its owner had since replaced it with their own.
    Account.objects.filter(pk=account.pk).update(must_change_password=False)
    return Account.objects.select_related("contract", "user__organization", "scheme").get(
        pk=account.pk
    )


@pytest.fixture
def orgs(cast: Cast) -> OrgCast:
    return orgs_create(cast)


def orgs_create(cast: Cast) -> OrgCast:
    actor = Actor.operator()
    root = Organization.objects.get(contract=cast.a, parent=None)
    sales = organization_create(actor=actor, parent=root, name="営業部")
    tokyo = organization_create(actor=actor, parent=sales, name="東京")
    dev = organization_create(actor=actor, parent=root, name="開発部")
    scheme = PermissionScheme.objects.create(
        contract=cast.a,
        name="User managers",
        permissions=[
            "users.view",
            "users.add",
            "users.change",
            "users.delete",
            "organizations.view",
        ],
    )
    a2 = make_account(
        make_user(sales, "部門 次郎", "jiro@alpha.example", "ブモン ジロウ"),
        "jiro",
        "department_admin",
        scope=(sales,),
    )
    a3 = make_account(
        make_user(sales, "操作 三郎", "saburo@alpha.example", "ソウサ サブロウ"),
        "saburo",
        "operator",
    )
    a4 = make_account(
        make_user(dev, "特注 四郎", "shiro@alpha.example", "トクチュウ シロウ"),
        "shiro",
        "custom_admin",
        scope=(dev,),
        scheme=scheme,
    )
    sato = make_user(tokyo, "佐藤 花子", "sato@alpha.example", "サトウ ハナコ")
    suzuki = make_user(dev, "鈴木 一郎", "suzuki@alpha.example", "スズキ イチロウ")
    return OrgCast(cast, root, sales, tokyo, dev, a2, a3, a4, sato, suzuki)


# Test data made once per module -------------------------------------------------------------
#
# Django's TestCase.setUpTestData in spirit: a module whose tests are all non-transactional can
# build its cast once, inside a transaction held for the whole module; each test then runs in a
# savepoint that is rolled back, and gets fresh Python objects read from the database (a test may
# change them). A module opts in with one of
#
#     cast = shared_cast                                  # the two contracts alone
#     orgs, cast = shared_orgs, shared_orgs_cast          # with A's organizations and accounts
#
# Never in a module with a transaction=True test: its commits would happen inside this
# transaction. The database state each test starts from is the same as with ``cast``/``orgs``.


@contextlib.contextmanager
def _module_transaction(blocker: Any) -> Iterator[None]:
    with blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture(scope="module")
def _shared_cast_data(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, int]]:
    with _module_transaction(django_db_blocker):
        cast = cast_create()
        yield {"a": cast.a.pk, "b": cast.b.pk, "a1": cast.a1.pk, "b1": cast.b1.pk}


@pytest.fixture(scope="module")
def _shared_orgs_data(django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, int]]:
    with _module_transaction(django_db_blocker):
        data = orgs_create(cast_create())
        cast = data.cast
        yield {
            "a": cast.a.pk,
            "b": cast.b.pk,
            "a1": cast.a1.pk,
            "b1": cast.b1.pk,
            **{
                name: getattr(data, name).pk
                for name in ("root", "sales", "tokyo", "dev", "a2", "a3", "a4", "sato", "suzuki")
            },
        }


def _accounts(*pks: int) -> list[Account]:
    by_pk = Account.objects.select_related("contract", "user__organization", "scheme").in_bulk(pks)
    return [by_pk[pk] for pk in pks]


def _cast_read(ids: dict[str, int]) -> Cast:
    contracts = Contract.objects.in_bulk([ids["a"], ids["b"]])
    a1, b1 = _accounts(ids["a1"], ids["b1"])
    return Cast(a=contracts[ids["a"]], b=contracts[ids["b"]], a1=a1, b1=b1)


@pytest.fixture
def shared_cast(_shared_cast_data: dict[str, int], db: None) -> Cast:
    """``cast``, built once for the module; fresh objects for each test."""
    return _cast_read(_shared_cast_data)


@pytest.fixture
def shared_orgs(_shared_orgs_data: dict[str, int], db: None) -> OrgCast:
    """``orgs``, built once for the module; fresh objects for each test."""
    ids = _shared_orgs_data
    a2, a3, a4 = _accounts(ids["a2"], ids["a3"], ids["a4"])
    organizations = Organization.objects.in_bulk(
        [ids["root"], ids["sales"], ids["tokyo"], ids["dev"]]
    )
    users = User.objects.in_bulk([ids["sato"], ids["suzuki"]])
    return OrgCast(
        _cast_read(ids),
        *(organizations[ids[n]] for n in ("root", "sales", "tokyo", "dev")),
        a2,
        a3,
        a4,
        users[ids["sato"]],
        users[ids["suzuki"]],
    )


@pytest.fixture
def shared_orgs_cast(shared_orgs: OrgCast) -> Cast:
    """``cast`` for a module that shares ``orgs``: the same contracts, with A's organizations."""
    return shared_orgs.cast
