"""A real ``mamori worker`` SIGKILLed while it holds a batch of device notifications loses nothing.

The in-process test (test_notifications_apply.py) raises inside the batch; here the worker is a
separate process (tests/slow_worker.py, ``inbox_outcome``) that stops after the batch's devices
are updated and before it marks the messages and commits, and is killed there. Its transaction
never commits: a second worker takes the same messages and applies them all, once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mamori.android.audit_actions import AndroidAction
from mamori.android.models import Device
from mamori.android.notifications.apply import inbox_drain
from mamori.android.notifications.models import InboxMessage, InboxState
from mamori.android.notifications.store import push_store
from mamori.audit.models import LogEntry
from tests.android.pubsub import body, device, stamp
from tests.android.test_notifications_apply import deliver, token_make
from tests.conftest import OrgCast
from tests.test_worker import WorkerProcess, test_database_url, wait_until, worker_env, workers

OLD = 5  # devices 0-5 are enrolled before the worker starts
NEW = range(6, 9)  # devices 6-8 enroll in the killed batch
REPORTS = (12, 30, 3, 18)  # minutes after 10:00, stored in this order; 30 is each one's newest


def _pending() -> int:
    return InboxMessage.objects.filter(state=InboxState.PENDING).count()


def _devices() -> dict[str, tuple[int | None, str]]:
    return {
        name: (battery, report["lastStatusReportTime"])
        for name, battery, report in Device.objects.values_list("name", "battery_level", "report")
    }


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_holding_a_batch_of_reports_loses_nothing(
    orgs: OrgCast, tmp_path: Path
) -> None:
    token = token_make(orgs, orgs.sales, one_time=False)
    deliver(*(("ENROLLMENT", device(n, token=token.name)) for n in range(OLD + 1)))
    before = _devices()
    stored = []
    for n in NEW:
        stored.append(body("ENROLLMENT", device(n, token=token.name)))
    for minutes in REPORTS:
        for n in [*range(OLD + 1), *NEW]:
            stored.append(body("STATUS_REPORT", device(n, minutes=minutes, battery=minutes)))
    stored.append(stored[-1])  # a redelivery: stored once
    for message in stored:
        push_store(message)
    assert _pending() == len(stored) - 1 == 3 + 4 * 9

    env = worker_env(
        tmp_path, database_url=test_database_url(), email_url=f"file://{tmp_path / 'mail'}"
    )
    marker = tmp_path / "batch.held"
    slow = {**env, "MAMORI_TEST_MARKER": str(marker), "MAMORI_TEST_SLOW_AT": "inbox_outcome"}
    with workers() as started:
        started.append(WorkerProcess(slow, tmp_path / "killed.log", slow=True))
        wait_until(marker.exists, timeout=60)
        # The devices are updated in its open transaction; nothing of it is visible or kept.
        assert _devices() == before
        started[0].kill()
        assert _pending() == 39
        assert _devices() == before

        started.append(WorkerProcess(env, tmp_path / "second.log"))
        wait_until(lambda: _pending() == 0)
        assert started[1].stop() == 0

    newest = {
        f"enterprises/LC00test/devices/D{n}": (30, stamp(30)) for n in [*range(OLD + 1), *NEW]
    }
    assert _devices() == newest
    assert InboxMessage.objects.filter(state=InboxState.APPLIED).count() == OLD + 1 + 39
    assert not InboxMessage.objects.exclude(state=InboxState.APPLIED).exists()
    # Each device enrolled once: the killed batch's entries were never written.
    enrolled = LogEntry.objects.filter(action=AndroidAction.DEVICE_ENROLLED)
    assert enrolled.count() == 9
    assert Device.objects.count() == 9

    # The same reports again under new message ids, and an older one, change nothing.
    for minutes in REPORTS:
        push_store(body("STATUS_REPORT", device(7, minutes=minutes, battery=minutes)))
    push_store(body("STATUS_REPORT", device(7, minutes=29, battery=99)))
    push_store(body("ENROLLMENT", device(7, token=token.name)))
    inbox_drain(seconds=5)
    assert _devices() == newest
    assert enrolled.count() == 9
