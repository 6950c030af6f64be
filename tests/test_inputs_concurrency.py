"""Input correctness where saves meet (a unique constraint decides, on SQLite and PostgreSQL)
and where migrations meet existing data (issue 7, points 14, 15 and 17)."""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import translation

from mamori.accounts.models import Account
from mamori.accounts.services.administration import AccountData, account_create
from mamori.core.actor import Actor
from mamori.core.once import AlreadySubmitted, once_token
from mamori.directory.models import Organization, User
from mamori.directory.selectors import UserQuery, users_search
from mamori.directory.services import UserData, user_create
from tests.conftest import PASSWORD, Cast, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(calls: list[Callable[[], object]]) -> list[str]:
    """Run the calls in threads released together; each outcome as ``saved``, the English
    message of a ValidationError, ``already submitted <id>``, or the repr of anything else."""
    start = threading.Barrier(len(calls))
    outcomes: list[str] = []

    def run(call: Callable[[], object]) -> None:
        try:
            with translation.override("en"):
                start.wait()
                call()
            outcomes.append("saved")
        except ValidationError as exc:
            outcomes.append(" ".join(exc.messages))
        except AlreadySubmitted as exc:
            outcomes.append(f"already submitted {exc.object_id}")
        except Exception as exc:  # noqa: BLE001 - reported in the assertion
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def test_eight_creations_of_one_account_name_in_different_cases_make_one_account(
    cast: Cast,
) -> None:
    root = Organization.objects.get(contract=cast.a, parent=None)
    users = [make_user(root, f"Case {n}", f"case{n}@alpha.example") for n in range(8)]
    names = [
        "CaseName",
        "casename",
        "CASENAME",
        "caseName",
        "CaSeNaMe",
        "Casename",
        "cASENAME",
        "ＣａｓｅＮａｍｅ",
    ]

    def create(user: User, name: str) -> Callable[[], object]:
        return lambda: account_create(
            actor=Actor(account=cast.a1),
            user=user,
            data=AccountData(name=name, privilege="operator", language="en"),
            password=PASSWORD,
            confirmation=PASSWORD,
        )

    outcomes = at_once([create(u, n) for u, n in zip(users, names, strict=True)])

    (created,) = Account.objects.filter(contract=cast.a, name__iexact="casename")
    refused = [
        f"The account name “{unicodedata.normalize('NFKC', n)}” is already in use." for n in names
    ]
    refused.remove(f"The account name “{created.name}” is already in use.")
    assert outcomes == sorted(["saved", *refused])
    assert Account.objects.filter(contract=cast.a).count() == 2  # admin and the one


def test_four_users_saved_at_once_with_one_main_address_make_one_user(cast: Cast) -> None:
    root = Organization.objects.get(contract=cast.a, parent=None)
    typed = ["same@alpha.example", "SAME@alpha.example", "Same@Alpha.example", "same@ALPHA.EXAMPLE"]

    def create(n: int, address: str) -> Callable[[], object]:
        data = UserData(organization=root, name=f"同じ {n}", emails=((address, "main"),))
        return lambda: user_create(actor=Actor(account=cast.a1), data=data)

    outcomes = at_once([create(n, a) for n, a in enumerate(typed)])

    (user,) = User.objects.filter(contract=cast.a, main_address_key="same@alpha.example")
    address = user.emails.get().address
    assert outcomes == sorted(
        ["saved"]
        + [
            f"“{a}” is already the main e-mail address of another user."
            for a in typed
            if a != address
        ]
    )


def test_a_double_clicked_save_adds_one_user(cast: Cast) -> None:
    """Two requests with one form token at the same moment: the token's row decides."""
    root = Organization.objects.get(contract=cast.a, parent=None)
    token = once_token()
    data = UserData(
        organization=root,
        name="二度押し",
        employee_code="D1",
        emails=(("twice@alpha.example", "main"),),
    )

    outcomes = at_once(
        [lambda: user_create(actor=Actor(account=cast.a1), data=data, once=token)] * 4
    )

    (user,) = User.objects.filter(name="二度押し")
    assert outcomes == ["already submitted " + str(user.pk)] * 3 + ["saved"]


# Migrations on existing data ---------------------------------------------------------------


def migrate(targets: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def migrate_all() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_existing_users_get_their_keys_and_nfkc_codes_and_shared_main_addresses_are_kept(
    cast: Cast, capsys: pytest.CaptureFixture[str]
) -> None:
    old = migrate([("directory", "0009_user_search_keys")])
    OldUser = old.get_model("directory", "User")
    OldEmail = old.get_model("directory", "UserEmail")
    # The models as they were then: later migrations add columns today's models read.
    OldOrganization = old.get_model("directory", "Organization")
    root_id = OldOrganization.objects.get(contract_id=cast.a.pk, parent=None).pk

    def user(name: str, furigana: str, code: str, main: str) -> int:
        pk = OldUser.objects.create(
            contract_id=cast.a.pk,
            organization_id=root_id,
            name=name,
            furigana=furigana,
            employee_code=code,
        ).pk
        OldEmail.objects.create(user_id=pk, address=main, category="main")
        return pk

    tanaka = user("田中　太郎", "タナカ\u3000タロウ", "Ｅ０００１", "tanaka@alpha.example")
    first = user("先", "", "E0002", "shared@alpha.example")
    second = user("後", "", "Ｅ０００２", "SHARED@alpha.example")  # its NFKC code is taken

    migrate_all()

    rows = {
        u.pk: (u.name_key, u.furigana_key, u.employee_code, u.main_address_key)
        for u in User.objects.filter(pk__in=[tanaka, first, second])
    }
    assert rows == {
        tanaka: ("田中太郎", "タナカタロウ", "E0001", "tanaka@alpha.example"),
        first: ("先", "", "E0002", "shared@alpha.example"),
        second: ("後", "", "Ｅ０００２", ""),
    }
    assert "1 employee code(s) left as they were" in capsys.readouterr().out
    a1 = Account.objects.get(pk=cast.a1.pk)
    assert [u.pk for u in users_search(a1, UserQuery(search="田中 太郎"))] == [tanaka]
    assert [u.pk for u in users_search(a1, UserQuery(search="タナカタロウ"))] == [tanaka]
    # The later user keeps the shared address, and is told when saved with it.
    later = User.objects.get(pk=second)
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        from mamori.directory.services import user_update

        user_update(
            actor=Actor.operator(),
            user=later,
            data=UserData(
                organization=later.organization,
                name="後",
                emails=(("SHARED@alpha.example", "main"),),
            ),
        )
    assert refused.value.message_dict == {
        "emails.0.address": [
            "“SHARED@alpha.example” is already the main e-mail address of another user."
        ]
    }


def test_existing_account_names_are_normalised_and_case_variants_renamed(
    cast: Cast, capsys: pytest.CaptureFixture[str]
) -> None:
    old = migrate([("accounts", "0006_account_language_default")])
    OldAccount = old.get_model("accounts", "Account")
    root_id = Organization.objects.get(contract=cast.a, parent=None).pk

    def account(name: str) -> int:
        user = User.objects.create(contract_id=cast.a.pk, organization_id=root_id, name=name)
        return OldAccount.objects.create(
            contract_id=cast.a.pk, user_id=user.pk, name=name, privilege="operator", password="!"
        ).pk

    upper = account("Admin")  # cast.a1 is "admin", older
    wide = account("ｗｉｄｅ")
    japanese = account("山田")
    bravo = OldAccount.objects.get(pk=cast.b1.pk)  # another contract's "admin" is no concern

    migrate_all()

    names = dict(Account.objects.values_list("pk", "name"))
    assert (names[cast.a1.pk], names[upper], names[wide], names[japanese], names[bravo.pk]) == (
        "admin",
        f"Admin-{upper}",
        "wide",
        "山田",
        "admin",
    )
    assert f"contract {cast.a.pk}: 'Admin' is now 'Admin-{upper}'" in capsys.readouterr().out
