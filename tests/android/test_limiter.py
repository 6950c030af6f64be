"""The deployment-wide AMAPI budget: slots, the reserve for other contracts, concurrency."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from mamori.android.amapi.limiter import budget, quota_try
from mamori.android.amapi.models import QuotaSlot, QuotaUse

pytestmark = pytest.mark.django_db

# Slot 1,000 of 10-second slots starts at 10,000 s.
START = 10_000.0


def test_the_budget_is_ninety_percent_in_ten_slots() -> None:
    plan = budget()
    assert (plan.per_window, plan.slots, plan.per_slot, plan.slot_seconds, plan.reserve) == (
        900,
        10,
        90,
        10.0,
        9,
    )


def test_a_small_quota_never_allows_more_than_its_budget(settings: object) -> None:
    settings.MAMORI_AMAPI_QUOTA = 5  # type: ignore[attr-defined]
    plan = budget()
    assert plan.per_window == 4 and plan.slots * plan.per_slot == 4


def test_a_lone_contract_leaves_the_reserve_until_late_in_the_slot() -> None:
    taken = [quota_try(1, START + 1) for _ in range(81)]
    assert taken == [0.0] * 81
    assert quota_try(1, START + 1) == pytest.approx(7.0)  # the reserve opens at 8 s
    assert [quota_try(1, START + 8.5) for _ in range(9)] == [0.0] * 9
    assert quota_try(1, START + 8.5) == pytest.approx(1.5)  # full: the next slot
    assert QuotaSlot.objects.get(number=1000).used == 90
    assert QuotaUse.objects.get(slot=1000, contract_key=1).used == 90


def test_another_contracts_single_call_finds_the_reserve() -> None:
    for _ in range(81):
        quota_try(1, START + 1)
    assert quota_try(1, START + 2) > 0
    assert quota_try(2, START + 2) == 0.0
    # contract 3 too, while contract 2 is under its share (90 // 4 = 22)
    assert quota_try(3, START + 2) == 0.0
    assert dict(QuotaUse.objects.filter(slot=1000).values_list("contract_key", "used")) == {
        1: 81,
        2: 1,
        3: 1,
    }


def test_calls_for_no_contract_share_one_key() -> None:
    assert quota_try(None, START) == 0.0
    assert QuotaUse.objects.get(slot=1000).contract_key == 0


def test_old_slots_are_pruned_by_the_first_call_of_a_slot() -> None:
    quota_try(1, START)
    quota_try(1, START + 10 * 25)  # 25 slots later: past two windows
    assert list(QuotaSlot.objects.values_list("number", flat=True)) == [1025]
    assert list(QuotaUse.objects.values_list("slot", flat=True)) == [1025]


@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_never_take_more_than_the_slot(settings: object) -> None:
    settings.MAMORI_AMAPI_QUOTA = 200  # type: ignore[attr-defined]  # 18 per slot
    granted: list[int] = []
    errors: list[BaseException] = []

    def caller(contract: int) -> None:
        try:
            for _ in range(10):
                if quota_try(contract, START + 9.0) == 0.0:  # late: no reserve rule
                    granted.append(contract)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=caller, args=(n % 3 + 1,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(granted) == 18
    assert QuotaSlot.objects.get(number=1000).used == 18
    assert sum(QuotaUse.objects.filter(slot=1000).values_list("used", flat=True)) == 18
