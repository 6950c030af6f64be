"""Reconciliation with the stand-in gateway: ``operations.get`` for commands whose COMMAND
notification never came, and the paced ``devices.list`` walk (one page a run, the page token
kept, DELETED only after a complete walk), both stopping when the quota's share is in use."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from mamori.android import amapi
from mamori.android.audit_actions import AndroidAction
from mamori.android.models import Command, CommandStatus, CommandType, Device, DeviceState
from mamori.android.notifications.models import CommandCheck, DeviceWalk
from mamori.android.notifications.reconcile import commands_reconcile, devices_reconcile
from mamori.audit.models import LogEntry
from tests.android.fake_amapi import FakeAmapi
from tests.android.pubsub import ENTERPRISE, device, enterprise_bind
from tests.conftest import OrgCast

pytestmark = pytest.mark.django_db


@pytest.fixture
def settings_fast(settings: Any) -> Any:
    settings.MAMORI_DEVICE_RECONCILE_SECONDS = 30
    settings.MAMORI_COMMAND_RECONCILE_MINUTES = 5
    return settings


def make_device(orgs: OrgCast, n: int, **kw: Any) -> Device:
    from mamori.android.models import Enterprise

    return Device.objects.create(
        contract=orgs.cast.a,
        enterprise=Enterprise.objects.get(name=ENTERPRISE),
        name=f"{ENTERPRISE}/devices/D{n}",
        organization=orgs.sales,
        kind="fully_managed",
        **kw,
    )


def sent_command(orgs: OrgCast, n: int, minutes_ago: float, **kw: Any) -> Command:
    if not Device.objects.filter(name=f"{ENTERPRISE}/devices/D1").exists():
        make_device(orgs, 1)
    now = timezone.now()
    return Command.objects.create(
        contract=orgs.cast.a,
        device=Device.objects.get(name=f"{ENTERPRISE}/devices/D1"),
        type=CommandType.LOCK,
        status=CommandStatus.SENT,
        operation_name=f"{ENTERPRISE}/devices/D1/operations/op{n}",
        sent_at=now - datetime.timedelta(minutes=minutes_ago),
        **kw,
    )


def test_a_sent_command_without_its_notification_is_finished_by_operations_get(
    orgs: OrgCast, fake_amapi: FakeAmapi, settings_fast: Any
) -> None:
    enterprise_bind(orgs.cast.a)
    done = sent_command(orgs, 1, 8)
    recent = sent_command(orgs, 2, 1)  # within the minutes a notification may take: left alone
    fake_amapi.operations[done.operation_name] = {"name": done.operation_name, "done": True}
    assert commands_reconcile() == {"checked": 1, "finished": 1, "expired": 0, "open": 0}
    done.refresh_from_db(), recent.refresh_from_db()
    assert (done.status, recent.status) == (CommandStatus.SUCCEEDED, CommandStatus.SENT)
    assert fake_amapi.calls == [("operation_get", done.operation_name)]


def test_an_operation_google_dropped_after_the_commands_expiry_is_expired(
    orgs: OrgCast, fake_amapi: FakeAmapi, settings_fast: Any
) -> None:
    enterprise_bind(orgs.cast.a)
    now = timezone.now()
    expired = sent_command(orgs, 1, 60, expires_at=now - datetime.timedelta(minutes=1))
    alive = sent_command(orgs, 2, 60, expires_at=now + datetime.timedelta(days=6))
    assert commands_reconcile(now) == {"checked": 1, "finished": 0, "expired": 1, "open": 1}
    expired.refresh_from_db(), alive.refresh_from_db()
    assert (expired.status, alive.status) == (CommandStatus.EXPIRED, CommandStatus.SENT)
    # The open one is looked at again later, not at every run.
    check = CommandCheck.objects.get(command=alive)
    assert check.next_at >= now + datetime.timedelta(minutes=5)
    fake_amapi.calls.clear()
    assert commands_reconcile(now + datetime.timedelta(minutes=1))["checked"] == 0
    assert fake_amapi.calls == []
    assert commands_reconcile(check.next_at + datetime.timedelta(seconds=1))["open"] == 1


def test_the_commands_reconciliation_stops_when_the_quota_share_is_in_use(
    orgs: OrgCast, fake_amapi: FakeAmapi, settings_fast: Any
) -> None:
    enterprise_bind(orgs.cast.a)
    for n in range(3):
        sent_command(orgs, n, 30)
    fake_amapi.fail["operation_get"] = amapi.AmapiUnavailable(
        "in use", code="QUOTA_IN_USE", retry_after=3
    )
    assert commands_reconcile()["checked"] == 0
    assert fake_amapi.methods() == ["operation_get"]  # one try, then the next run
    assert Command.objects.filter(status=CommandStatus.SENT).count() == 3


def test_the_device_walk_pages_creates_what_mamori_lacks_and_deletes_after_a_complete_walk(
    orgs: OrgCast, fake_amapi: FakeAmapi, settings_fast: Any
) -> None:
    enterprise_bind(orgs.cast.a)
    long_ago = timezone.now() - datetime.timedelta(days=1)
    kept = make_device(orgs, 1)
    gone = make_device(orgs, 2)
    Device.objects.filter(pk__in=[kept.pk, gone.pk]).update(created_at=long_ago)
    listed = [device(n, minutes=30) for n in (1, *range(3, 205))]  # 203 devices, D2 missing
    fake_amapi.devices[ENTERPRISE] = listed
    now = timezone.now()
    first = devices_reconcile(now)
    assert first == {"pages": 1, "created": 99, "updated": 1, "deleted": 0}
    walk = DeviceWalk.objects.get()
    assert (walk.page_token, walk.pages) == ("100", 1)
    # Not due yet: no call.
    assert devices_reconcile(now + datetime.timedelta(seconds=10))["pages"] == 0
    second = devices_reconcile(now + datetime.timedelta(seconds=31))
    assert second == {"pages": 1, "created": 100, "updated": 0, "deleted": 0}
    gone.refresh_from_db()
    assert gone.deleted_at is None  # the walk is not complete yet
    third = devices_reconcile(now + datetime.timedelta(seconds=62))
    assert third == {"pages": 1, "created": 3, "updated": 0, "deleted": 1}
    assert [call for call in fake_amapi.calls if call[0] == "device_list"] == [
        ("device_list", (ENTERPRISE, None)),
        ("device_list", (ENTERPRISE, "100")),
        ("device_list", (ENTERPRISE, "200")),
    ]
    gone.refresh_from_db(), kept.refresh_from_db()
    assert (gone.applied_state, kept.applied_state) == (DeviceState.DELETED, "ACTIVE")
    assert gone.deleted_at is not None and kept.deleted_at is None
    assert Device.objects.filter(deleted_at__isnull=True).count() == 203
    entry = LogEntry.objects.get(action=AndroidAction.DEVICE_DELETED)
    assert (entry.after, entry.target_id) == ({"how": "not_listed"}, str(gone.pk))
    # Devices Mamori lacked joined the contract's top organization, each logged as enrolled.
    created = Device.objects.get(name=f"{ENTERPRISE}/devices/D3")
    assert (created.organization, created.serial_number) == (orgs.root, "SER00003")
    assert LogEntry.objects.filter(action=AndroidAction.DEVICE_ENROLLED).count() == 202
    walk.refresh_from_db()
    assert (walk.page_token, walk.completed_at is not None) == ("", True)
    # The next walk begins again; devices whose report Mamori has are not rewritten.
    again = devices_reconcile(now + datetime.timedelta(seconds=93))
    assert again == {"pages": 1, "created": 0, "updated": 0, "deleted": 0}


def test_a_device_enrolled_during_the_walk_is_not_taken_for_gone(
    orgs: OrgCast, fake_amapi: FakeAmapi, settings_fast: Any
) -> None:
    enterprise_bind(orgs.cast.a)
    fake_amapi.devices[ENTERPRISE] = [device(n) for n in range(1, 151)]
    now = timezone.now()
    devices_reconcile(now)
    newcomer = make_device(orgs, 999)  # enrolled (by its notification) after the walk began
    devices_reconcile(now + datetime.timedelta(seconds=31))
    newcomer.refresh_from_db()
    assert newcomer.deleted_at is None


def test_the_device_walk_stops_when_the_quota_share_is_in_use(
    orgs: OrgCast, fake_amapi: FakeAmapi, settings_fast: Any
) -> None:
    enterprise_bind(orgs.cast.a)
    enterprise_bind(orgs.cast.b, "enterprises/LC00other")
    fake_amapi.fail["device_list"] = amapi.AmapiUnavailable(
        "in use", code="QUOTA_IN_USE", retry_after=3
    )
    assert devices_reconcile()["pages"] == 0
    assert fake_amapi.methods() == ["device_list"]
    assert DeviceWalk.objects.filter(pages=0, page_token="").count() == 2
