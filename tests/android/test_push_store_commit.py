"""The push endpoint's store outside a test transaction, as in production: on PostgreSQL the
message and the nudge are one statement committed on its own (one round trip), and the push
that set the flag submits the apply run just after; a failure in between loses nothing (the
message is committed, the safety net drains a stale flag). On SQLite, the transaction as before.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from mamori.android.models import Device
from mamori.android.notifications import apply, store
from mamori.android.notifications.models import InboxMessage, InboxNudge, InboxState
from mamori.android.notifications.store import APPLY, push_store
from mamori.core.models import Work
from tests.android.pubsub import body, device, enterprise_bind
from tests.conftest import OrgCast, run_work

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _nudge_row() -> None:
    """The flag's one row (made by the migration; a transactional test's flush removes it)."""
    InboxNudge.objects.update_or_create(pk=1, defaults={"pending_since": None})


def _queries(action: Any) -> list[str]:
    """The statements ``action`` runs, each marked ``(in a transaction)`` when it ran inside
    one (a BEGIN and a COMMIT around it: two more round trips)."""
    seen: list[str] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql + (" (in a transaction)" if connection.in_atomic_block else ""))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        action()
    return seen


def test_messages_are_committed_and_nudge_one_run(orgs: OrgCast) -> None:
    enterprise_bind(orgs.cast.a)
    assert connection.get_autocommit()
    first = _queries(lambda: push_store(body("STATUS_REPORT", device(1), message_id="m1")))
    later = _queries(lambda: push_store(body("STATUS_REPORT", device(2), message_id="m2")))
    assert push_store(body("STATUS_REPORT", device(2), message_id="m2")) == "duplicate"
    if connection.vendor == "postgresql":
        # A push that finds the flag set is one statement (no BEGIN/COMMIT round trips).
        assert len(later) == 1 and later[0].startswith("WITH stored AS")
        assert not later[0].endswith("(in a transaction)")
        assert len(first) >= 2  # the statement, then the run's work submitted
    assert InboxMessage.objects.filter(state=InboxState.PENDING).count() == 2
    assert Work.objects.filter(kind=APPLY).count() == 1
    assert InboxNudge.objects.get(pk=1).pending_since is not None
    assert run_work(APPLY) == ["done"]
    assert Device.objects.count() == 2
    assert InboxNudge.objects.get(pk=1).pending_since is None


def test_a_push_that_fails_after_storing_loses_nothing(
    orgs: OrgCast, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies (here: the work submission fails) after the message was stored and the
    flag set: the message is there, the redelivery is a duplicate, and the safety net applies
    it once the flag is stale."""
    enterprise_bind(orgs.cast.a)

    def broken() -> None:
        raise RuntimeError("killed")

    monkeypatch.setattr(store, "apply_submit", broken)
    with pytest.raises(RuntimeError):
        push_store(body("STATUS_REPORT", device(1), message_id="lost-nudge"))
    monkeypatch.undo()
    if connection.vendor == "postgresql":
        # Committed with its flag, no run behind it.
        assert InboxMessage.objects.filter(message_id="lost-nudge").count() == 1
        assert not Work.objects.filter(kind=APPLY).exists()
        assert push_store(body("STATUS_REPORT", device(1), message_id="lost-nudge")) == (
            "duplicate"
        )
        assert apply.inbox_safety_net() == "a run is alive"  # the flag is fresh
        stale = timezone.now() - apply.STALE - datetime.timedelta(seconds=1)
        InboxNudge.objects.filter(pk=1).update(pending_since=stale)
    else:
        # SQLite: rolled back together; Pub/Sub redelivers it.
        assert not InboxMessage.objects.exists()
        assert push_store(body("STATUS_REPORT", device(1), message_id="lost-nudge")) == "stored"
        Work.objects.filter(kind=APPLY).delete()
        InboxNudge.objects.filter(pk=1).update(pending_since=None)
    assert apply.inbox_safety_net().startswith("applied 1")
    found = Device.objects.get()
    assert json.loads(json.dumps(found.report))["name"] == device(1)["name"]
