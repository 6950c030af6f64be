"""The deployment-wide AMAPI budget, shared fairly between contracts.

Google allows a project ``MAMORI_AMAPI_QUOTA`` queries per ``MAMORI_AMAPI_QUOTA_WINDOW_SECONDS``
(1,000 per 100 s, ANDROID.md 4), counted over every process of the deployment. Mamori spends
90 % of it: the **budget**.

**Slots.** The window is cut into ``SLOTS_PER_WINDOW`` (10) slots, each allowed a tenth of the
budget. Whatever window Google counts over (aligned or sliding), it overlaps at most 11 slots:
at most 99 % of the quota, never more; an aligned window of Mamori's holds at most the budget.

**Fairness.** In each slot, calls are first come, first served until only the *reserve* is
left (a tenth of the slot, at least one call). The reserve goes only to a contract that has
used less than the share it would have if one more contract came: ``slot // (others + 2)``,
``others`` being the other contracts that called in this slot. So a contract's mass action
(thousands of queued calls) takes at most 90 % of each slot while another contract's single
call always finds room within one slot. In the last fifth of a slot nobody else came: the
reserve opens to all, so a lone contract loses nothing.

**Acquiring** is one short transaction (PostgreSQL: a ``SELECT … FOR UPDATE`` of the slot's row
serializes the callers of one slot; SQLite: the settings' IMMEDIATE transactions do): read the
slot's per-contract counts, decide, count the call. Nothing is written for a refusal. Slot
numbers come from each host's clock (``time.time()``): hosts must keep NTP time.
"""

from __future__ import annotations

import dataclasses
import time

from django.conf import settings
from django.db import transaction
from django.db.models import F

SLOTS_PER_WINDOW = 10
BUDGET_SHARE = 0.9
# The last fifth of a slot: the reserve is open to every contract.
LATE = 0.8


@dataclasses.dataclass(frozen=True)
class Budget:
    """The limiter's arithmetic: ``per_slot`` calls per ``slot_seconds``, ``reserve`` of them kept."""

    per_window: int
    slots: int
    per_slot: int
    slot_seconds: float
    reserve: int


def budget() -> Budget:
    """The budget from the settings (read at each call: tests change them)."""
    per_window = max(1, int(settings.MAMORI_AMAPI_QUOTA * BUDGET_SHARE))
    slots = max(1, min(SLOTS_PER_WINDOW, per_window))
    per_slot = per_window // slots
    reserve = max(1, per_slot // 10) if per_slot >= 2 else 0
    window = float(settings.MAMORI_AMAPI_QUOTA_WINDOW_SECONDS)
    return Budget(per_window, slots, per_slot, window / slots, reserve)


def _allowed(plan: Budget, uses: dict[int, int], key: int, elapsed: float) -> bool:
    free = plan.per_slot - sum(uses.values())
    if free <= 0:
        return False
    if free > plan.reserve or elapsed >= LATE * plan.slot_seconds:
        return True
    others = len(uses.keys() - {key})
    return uses.get(key, 0) < plan.per_slot // (others + 2)


def _wait(plan: Budget, uses: dict[int, int], elapsed: float) -> float:
    to_next = plan.slot_seconds - elapsed
    if sum(uses.values()) >= plan.per_slot or elapsed >= LATE * plan.slot_seconds:
        return to_next
    return LATE * plan.slot_seconds - elapsed


def quota_try(contract_id: int | None, now: float | None = None) -> float:
    """Count one AMAPI call for ``contract_id`` if the budget allows it now.

    Returns 0.0 when the call was counted (make it), otherwise the seconds to wait before
    asking again (nothing was counted). ``now``: Unix time in seconds (tests pass it).
    """
    plan = budget()
    now = time.time() if now is None else now
    number = int(now // plan.slot_seconds)
    elapsed = now - number * plan.slot_seconds
    key = contract_id or 0
    # Imported here: the package is the app itself, loaded before its models may be.
    from mamori.android.amapi.models import QuotaSlot, QuotaUse

    with transaction.atomic():
        QuotaSlot.objects.bulk_create([QuotaSlot(number=number)], ignore_conflicts=True)
        slot = QuotaSlot.objects.select_for_update().get(number=number)
        uses = dict(QuotaUse.objects.filter(slot=number).values_list("contract_key", "used"))
        if not _allowed(plan, uses, key, elapsed):
            return max(_wait(plan, uses, elapsed), 0.001)
        if slot.used == 0:
            _prune(number - 2 * plan.slots)
        QuotaSlot.objects.filter(number=number).update(used=F("used") + 1)
        if key in uses:
            QuotaUse.objects.filter(slot=number, contract_key=key).update(used=F("used") + 1)
        else:
            QuotaUse.objects.create(slot=number, contract_key=key, used=1)
    return 0.0


def _prune(before: int) -> None:
    from mamori.android.amapi.models import QuotaSlot, QuotaUse

    QuotaSlot.objects.filter(number__lt=before).delete()
    QuotaUse.objects.filter(slot__lt=before).delete()


def quota_acquire(contract_id: int | None, *, max_wait: float) -> float:
    """Count one call, sleeping while the wait for a slot is within ``max_wait`` seconds in all.

    Returns 0.0 once counted, or the seconds still to wait when that is past ``max_wait`` (nothing
    counted: the caller fails or retries later).
    """
    deadline = time.monotonic() + max_wait
    while True:
        wait = quota_try(contract_id)
        if wait == 0.0:
            return 0.0
        if time.monotonic() + wait > deadline:
            return wait
        time.sleep(wait)
