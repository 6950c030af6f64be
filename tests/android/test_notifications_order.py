"""Pub/Sub delivers at least once and in no order: any permutation of a device's messages, with
duplicates (redelivered under the same id, or published again under another), applied in
batches of any size, ends in the state in-order delivery gives (issue 9, ANDROID.md 7)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mamori.android.audit_actions import AndroidAction
from mamori.android.models import Device, EnrollmentToken, PersonalUsage
from mamori.android.notifications.apply import inbox_batch, inbox_drain
from mamori.android.notifications.store import push_store
from mamori.audit.models import LogEntry
from tests.android.pubsub import ENTERPRISE, body, device, enterprise_bind
from tests.conftest import OrgCast

pytestmark = pytest.mark.django_db

TOKEN = f"{ENTERPRISE}/enrollmentTokens/T1"


VARIANTS = ("reports", "tie", "deleted", "deleted_by_api")


def messages(variant: str) -> list[tuple[str, str, dict[str, Any]]]:
    """``(message id, type, resource)`` in the order the device sent them.

    ``tie``: the enrollment and the only report share a clock (the report wins the tie);
    ``deleted``: a final DELETED report; ``deleted_by_api``: DELETED published by Google with
    the clock of an older report (a device deleted through the API: ANDROID.md 2.3).
    """
    enrolled = ("e", "ENROLLMENT", device(1, token=TOKEN, state="PROVISIONING", battery=100))
    first = ("s0", "STATUS_REPORT", device(1, minutes=0, token=TOKEN, battery=99))
    if variant == "tie":
        return [enrolled, first]
    sent = [
        enrolled,
        first,
        ("s1", "STATUS_REPORT", device(1, minutes=5, token=TOKEN, battery=80, policyCompliant=False)),
        ("s2", "STATUS_REPORT", device(1, minutes=10, token=TOKEN, state="LOST", battery=60)),
        ("s3", "STATUS_REPORT", device(1, minutes=15, token=TOKEN, battery=40)),
    ]  # fmt: skip
    if variant == "deleted":
        sent.append(("d", "STATUS_REPORT", device(1, minutes=20, token=TOKEN, state="DELETED")))
    if variant == "deleted_by_api":
        sent.append(("d", "STATUS_REPORT", device(1, minutes=5, token=TOKEN, state="DELETED")))
    return sent


FIELDS = [
    f.attname
    for f in Device._meta.concrete_fields
    if f.attname not in ("id", "created_at", "updated_at", "deleted_at")
]


def snapshot() -> dict[str, Any]:
    row = Device.objects.values(*FIELDS, "deleted_at").get()
    row["deleted_at"] = row["deleted_at"] is not None
    actions = list(
        LogEntry.objects.filter(
            action__in=[AndroidAction.DEVICE_ENROLLED, AndroidAction.DEVICE_DELETED]
        )
        .order_by("action")
        .values_list("action", flat=True)
    )
    used = EnrollmentToken.objects.get(name=TOKEN).used_at is not None
    return {**row, "log": actions, "token_used": used}


def rolled_back(run: Any) -> dict[str, Any]:
    with transaction.atomic():
        run()
        state = snapshot()
        transaction.set_rollback(True)
    return state


@st.composite
def deliveries(draw: st.DrawFn, variant: str) -> list[tuple[str, int | None]]:
    """The pushes of ``messages(variant)``: ``(message id, batch size after it or None)``; a
    duplicate comes again under its id or a new one."""
    ids = [m[0] for m in messages(variant)]
    order = draw(st.permutations(ids))
    extra = draw(st.lists(st.tuples(st.sampled_from(ids), st.booleans()), max_size=6))
    pushes = list(order)
    for message_id, same_id in extra:
        at = draw(st.integers(0, len(pushes)))
        pushes.insert(at, message_id if same_id else f"{message_id}+again{at}")
    batches = draw(
        st.lists(
            st.one_of(st.none(), st.integers(1, 4)), min_size=len(pushes), max_size=len(pushes)
        )
    )
    return list(zip(pushes, batches, strict=True))


@pytest.fixture
def token(orgs: OrgCast) -> EnrollmentToken:
    enterprise = enterprise_bind(orgs.cast.a)
    return EnrollmentToken.objects.create(
        contract=orgs.cast.a,
        enterprise=enterprise,
        public_id="pub1",
        name=TOKEN,
        value="VALUE0001",
        organization=orgs.tokyo,
        user=orgs.sato,
        allow_personal_usage=PersonalUsage.DISALLOWED,
        one_time=True,
    )


@pytest.mark.parametrize("variant", VARIANTS)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_order_with_duplicates_ends_as_in_order_delivery(
    token: EnrollmentToken, variant: str, data: st.DataObject
) -> None:
    pushes = data.draw(deliveries(variant))
    sent = {m[0]: m for m in messages(variant)}

    def in_order() -> None:
        for message_id, kind, resource in sent.values():
            push_store(body(kind, resource, message_id=message_id))
            inbox_drain(seconds=5)

    def as_delivered() -> None:
        for message_id, batch in pushes:
            _, kind, resource = sent[message_id.split("+", 1)[0]]
            push_store(body(kind, resource, message_id=message_id))
            if batch is not None:
                inbox_batch(batch)
        inbox_drain(seconds=5)

    expected = rolled_back(in_order)
    deleted = variant.startswith("deleted")
    assert expected["applied_state"] == ("DELETED" if deleted else "ACTIVE")
    assert expected["battery_level"] == {"tie": 99, "reports": 40}.get(variant)
    assert rolled_back(as_delivered) == expected
