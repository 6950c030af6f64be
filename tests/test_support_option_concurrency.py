import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from mamori.accounts.models import Account
from mamori.accounts.services.administration import AccountData, account_update
from mamori.core.actor import Actor
from mamori.directory.models import Organization
from tests.conftest import Cast, make_account, make_user


@pytest.mark.django_db(transaction=True)
def test_ten_administrators_granting_the_fifth_support_option_at_once_one_succeeds(
    cast: Cast,
) -> None:
    """The limit is counted under a lock on the contract: simultaneous saves cannot both pass it."""
    root = Organization.objects.get(contract=cast.a, parent=None)
    for n in range(4):
        make_account(
            make_user(root, f"Holder {n}", f"h{n}@alpha.example"),
            f"holder{n}",
            "system_admin",
            support_option=True,
        )
    candidates = [
        make_account(
            make_user(root, f"Candidate {n}", f"c{n}@alpha.example"),
            f"candidate{n}",
            "system_admin",
        )
        for n in range(10)
    ]
    start = threading.Barrier(len(candidates))
    outcomes: list[str] = []

    def grant(account: Account) -> None:
        try:
            start.wait()
            account_update(
                actor=Actor(account=cast.a1),
                account=account,
                data=AccountData(
                    name=account.name,
                    privilege="system_admin",
                    support_option=True,
                    language="en",
                    timezone="UTC",
                ),
            )
            outcomes.append("granted")
        except ValidationError as exc:
            outcomes.append("refused" if "support_option" in exc.message_dict else repr(exc))
        except Exception as exc:  # noqa: BLE001 - reported in the assertion below
            outcomes.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=grant, args=(a,)) for a in candidates]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["granted"] + ["refused"] * 9
    assert Account.objects.filter(contract=cast.a, support_option=True).count() == 5
