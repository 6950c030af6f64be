"""Alert detection (issue 10 point 1), kind by kind: from the hooks android calls (a batch of
reports applied, the reconciliation's "gone", a command's end, a removal, a gateway answer) and
from the periodic check (grace over, no report). One event per change, handed to the dispatch
in the same transaction; the unique constraint decides when two workers open the same alert."""

from __future__ import annotations

import datetime
import threading
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from mamori.alerts import checks, detect
from mamori.alerts.checks import alerts_check
from mamori.alerts.detect import devices_detect
from mamori.alerts.models import (
    Alert,
    AlertEvent,
    AlertKind,
    AlertLevel,
    AlertSettings,
    ComplianceWatch,
)
from mamori.android import amapi, hooks
from mamori.android.commands.lifecycle import command_finish, command_locked
from mamori.android.inventory.services import device_remove
from mamori.android.models import Command, CommandStatus, CommandType, Device, DeviceState
from mamori.android.notifications import reconcile
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from tests.alerts_data import settings_set
from tests.android.devices import make_device
from tests.conftest import OrgCast

pytestmark = pytest.mark.django_db
K, L = AlertKind, AlertLevel
PASSWORD_REASON = {
    "settingName": "passwordPolicies",
    "nonComplianceReason": "USER_ACTION",
    "specificNonComplianceReason": "PASSWORD_POLICIES_PASSWORD_NOT_SUFFICIENT",
    "currentValue": "secret-not-kept",
}


def opened(kind: str) -> list[tuple[int | None, int]]:
    return list(
        Alert.objects.filter(kind=kind, cleared_at__isnull=True)
        .order_by("pk")
        .values_list("device_id", "level")
    )


def events(kind: str, device: Device | None = None) -> list[tuple[str, int, int | None]]:
    found = AlertEvent.objects.filter(alert__kind=kind)
    if device is not None:
        found = found.filter(alert__device=device)
    return list(found.order_by("pk").values_list("action", "level", "previous_level"))


def report(device: Device, **columns: Any) -> None:
    """The device reports (as the apply worker would leave its row), then the hook runs."""
    Device.objects.filter(pk=device.pk).update(**columns)
    with transaction.atomic():
        hooks.devices_changed([device.pk])


def test_non_compliance_with_grace_zero_opens_a_warning_at_once_with_its_reasons(
    orgs: OrgCast,
) -> None:
    settings_set(orgs, non_compliance_grace_minutes=0)
    device = make_device(orgs.tokyo, compliant=False, non_compliance=[PASSWORD_REASON])
    report(device, policy_compliant=False)
    alert = Alert.objects.get(kind=K.NON_COMPLIANT)
    assert (alert.device_id, alert.level, alert.organization_id) == (
        device.pk,
        L.WARNING,
        orgs.tokyo.pk,
    )
    reasons = alert.details["nonComplianceDetails"]
    # Allow-listed keys only: the device's current value is not copied into the alert.
    assert reasons == [
        {
            "settingName": "passwordPolicies",
            "nonComplianceReason": "USER_ACTION",
            "specificNonComplianceReason": "PASSWORD_POLICIES_PASSWORD_NOT_SUFFICIENT",
        }
    ]
    assert events(K.NON_COMPLIANT) == [("opened", L.WARNING, None)]
    report(device, policy_compliant=True)
    assert opened(K.NON_COMPLIANT) == []
    assert events(K.NON_COMPLIANT)[-1] == ("cleared", L.WARNING, L.WARNING)
    assert not ComplianceWatch.objects.exists()


def test_non_compliance_waits_for_the_grace_then_the_periodic_check_opens_it(
    orgs: OrgCast,
) -> None:
    device = make_device(orgs.tokyo, compliant=False, non_compliance=[PASSWORD_REASON])
    report(device, policy_compliant=False)
    watch = ComplianceWatch.objects.get()
    assert watch.due_at - watch.since == datetime.timedelta(minutes=60)
    assert opened(K.NON_COMPLIANT) == []
    # Another report still non-compliant keeps the time it began.
    report(device, policy_compliant=False)
    assert ComplianceWatch.objects.get().since == watch.since
    alerts_check(watch.since + datetime.timedelta(minutes=59))
    assert opened(K.NON_COMPLIANT) == []
    alerts_check(watch.since + datetime.timedelta(minutes=61))
    assert opened(K.NON_COMPLIANT) == [(device.pk, L.WARNING)]
    assert ComplianceWatch.objects.get().alerted is True
    alerts_check(watch.since + datetime.timedelta(minutes=62))
    assert len(events(K.NON_COMPLIANT)) == 1


def test_a_shorter_grace_moves_the_pending_watches(orgs: OrgCast) -> None:
    device = make_device(orgs.tokyo, compliant=False)
    report(device, policy_compliant=False)
    settings_set(orgs, non_compliance_grace_minutes=5)
    watch = ComplianceWatch.objects.get()
    assert watch.due_at - watch.since == datetime.timedelta(minutes=5)
    alerts_check(watch.since + datetime.timedelta(minutes=6))
    assert opened(K.NON_COMPLIANT) == [(device.pk, L.WARNING)]


def test_no_report_rises_from_caution_to_warning_and_clears_when_the_device_reports(
    orgs: OrgCast,
) -> None:
    now = timezone.now()
    silent = make_device(orgs.tokyo, hours_ago=25)
    make_device(orgs.tokyo, hours_ago=2)  # reporting: no alert for now
    alerts_check(now)
    assert opened(K.NO_REPORT) == [(silent.pk, L.CAUTION)]
    alerts_check(now + datetime.timedelta(minutes=1))
    assert len(events(K.NO_REPORT)) == 1  # nothing new to say
    alerts_check(now + datetime.timedelta(hours=48))
    assert dict(opened(K.NO_REPORT))[silent.pk] == L.WARNING
    report(silent, last_status_report_at=timezone.now())
    assert silent.pk not in dict(opened(K.NO_REPORT))
    assert events(K.NO_REPORT, silent) == [
        ("opened", L.CAUTION, None),
        ("risen", L.WARNING, L.CAUTION),
        ("cleared", L.WARNING, L.WARNING),
    ]
    alert = Alert.objects.get(kind=K.NO_REPORT, device=silent)
    assert alert.cleared_at is not None and alert.details["last_status_report_at"]


def test_changed_thresholds_change_the_level_in_place_both_ways(orgs: OrgCast) -> None:
    device = make_device(orgs.tokyo, hours_ago=80)
    alerts_check()
    assert opened(K.NO_REPORT) == [(device.pk, L.WARNING)]
    settings_set(orgs, caution_hours=24, warning_hours=100)
    alerts_check()
    assert opened(K.NO_REPORT) == [(device.pk, L.CAUTION)]
    settings_set(orgs, caution_hours=90, warning_hours=100)
    alerts_check()
    assert opened(K.NO_REPORT) == []
    settings_set(orgs, caution_hours=2, warning_hours=3)
    alerts_check()
    assert opened(K.NO_REPORT) == [(device.pk, L.WARNING)]
    assert [e[0] for e in events(K.NO_REPORT)] == ["opened", "lowered", "cleared", "opened"]


def test_a_device_that_never_reported_counts_from_its_creation(orgs: OrgCast) -> None:
    device = make_device(orgs.tokyo, hours_ago=None, state=DeviceState.PROVISIONING)
    Device.objects.filter(pk=device.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=30)
    )
    alerts_check()
    assert opened(K.NO_REPORT) == [(device.pk, L.CAUTION)]
    assert Alert.objects.get().details == {"last_status_report_at": None}


def test_the_periodic_check_reads_only_the_devices_that_crossed_a_threshold(
    orgs: OrgCast, django_assert_max_num_queries: Any
) -> None:
    for _ in range(30):
        make_device(orgs.tokyo, hours_ago=30)
    alerts_check()
    assert len(opened(K.NO_REPORT)) == 30
    # The next run walks on from where the last stopped: no device is read again.
    calls: list[int] = []
    original = checks._detect

    def counting(ids: list[int], kinds: frozenset[str], now: datetime.datetime) -> int:
        calls.append(len(ids))
        return original(ids, kinds, now)

    checks._detect = counting  # type: ignore[assignment]
    try:
        alerts_check()
    finally:
        checks._detect = original  # type: ignore[assignment]
    assert calls == []


def test_security_posture_levels_follow_the_report(orgs: OrgCast) -> None:
    device = make_device(orgs.tokyo, posture="POTENTIALLY_COMPROMISED")
    posture = {
        "devicePosture": "POTENTIALLY_COMPROMISED",
        "postureDetails": [
            {"securityRisk": "COMPROMISED_OS", "advice": [{"defaultMessage": "Reset it."}]}
        ],
    }
    report(device, report={**device.report, "securityPosture": posture})
    alert = Alert.objects.get(kind=K.COMPROMISED)
    assert alert.level == L.IMPORTANT
    assert alert.details["postureDetails"][0]["securityRisk"] == "COMPROMISED_OS"
    report(device, security_posture="AT_RISK")
    report(device, security_posture="SECURE")
    assert events(K.COMPROMISED) == [
        ("opened", L.IMPORTANT, None),
        ("lowered", L.WARNING, L.IMPORTANT),
        ("cleared", L.WARNING, L.WARNING),
    ]


def test_a_deleted_report_opens_left_management_and_clears_the_others(orgs: OrgCast) -> None:
    settings_set(orgs, non_compliance_grace_minutes=0)
    device = make_device(orgs.tokyo, compliant=False, hours_ago=30)
    report(device, policy_compliant=False)
    alerts_check()
    assert sorted(k for (k,) in Alert.objects.values_list("kind")) == [K.NO_REPORT, K.NON_COMPLIANT]
    report(device, applied_state=DeviceState.DELETED, deleted_at=timezone.now())
    assert list(Alert.objects.filter(cleared_at__isnull=True).values_list("kind", "level")) == [
        (K.LEFT_MANAGEMENT, L.IMPORTANT)
    ]


@pytest.mark.parametrize(
    ("command", "status", "alert"),
    [
        (CommandType.WIPE, CommandStatus.SUCCEEDED, False),
        (CommandType.WIPE, CommandStatus.SENT, False),
        (CommandType.RELINQUISH_OWNERSHIP, CommandStatus.SUCCEEDED, False),
        (CommandType.WIPE, CommandStatus.FAILED, True),
        (CommandType.WIPE, CommandStatus.CANCELLED, True),
        (CommandType.LOCK, CommandStatus.SUCCEEDED, True),
    ],
)
def test_a_device_mamori_told_to_leave_raises_no_left_management(
    orgs: OrgCast, command: str, status: str, alert: bool
) -> None:
    device = make_device(orgs.tokyo)
    Command.objects.create(contract=orgs.cast.a, device=device, type=command, status=status)
    report(device, applied_state=DeviceState.DELETED, deleted_at=timezone.now())
    assert opened(K.LEFT_MANAGEMENT) == ([(device.pk, L.IMPORTANT)] if alert else [])


def test_removing_a_device_in_mamori_raises_nothing_and_clears_its_alerts(orgs: OrgCast) -> None:
    device = make_device(orgs.tokyo, hours_ago=30, serial="RM-1")
    alerts_check()
    assert opened(K.NO_REPORT) == [(device.pk, L.CAUTION)]
    device_remove(actor=Actor(account=orgs.cast.a1), device=device, confirm="RM-1")
    assert Alert.objects.filter(cleared_at__isnull=True).count() == 0
    assert events(K.NO_REPORT)[-1][0] == "cleared"


def test_the_reconciliation_not_finding_a_device_opens_left_management(orgs: OrgCast) -> None:
    device = make_device(orgs.tokyo)
    started = timezone.now() + datetime.timedelta(seconds=1)
    Device.objects.filter(pk=device.pk).update(created_at=started - datetime.timedelta(days=1))
    with transaction.atomic():
        gone, _ = reconcile._gone(device.enterprise, started, started)
    assert gone == 1
    assert opened(K.LEFT_MANAGEMENT) == [(device.pk, L.IMPORTANT)]


def _finish(command: Command, status: str, code: str = "") -> None:
    with transaction.atomic():
        locked = command_locked(command.pk)
        assert locked is not None
        command_finish(locked, status, error_code=code)


def test_a_failed_command_opens_a_caution_that_a_later_success_clears(orgs: OrgCast) -> None:
    device = make_device(orgs.tokyo)
    first, second, third = (
        Command.objects.create(
            contract=orgs.cast.a, device=device, type="LOCK", status=CommandStatus.SENT
        )
        for _ in range(3)
    )
    _finish(first, CommandStatus.FAILED, "UNSUPPORTED")
    alert = Alert.objects.get(kind=K.COMMAND_FAILED)
    assert (alert.level, alert.details) == (
        L.CAUTION,
        {
            "command_id": first.pk,
            "type": "LOCK",
            "status": "failed",
            "error_code": "UNSUPPORTED",
        },
    )
    _finish(second, CommandStatus.CANCELLED)
    assert opened(K.COMMAND_FAILED) == [(device.pk, L.CAUTION)]
    _finish(third, CommandStatus.SUCCEEDED)
    assert opened(K.COMMAND_FAILED) == []
    assert [e[0] for e in events(K.COMMAND_FAILED)] == ["opened", "cleared"]


def test_an_expired_command_opens_the_same_alert(orgs: OrgCast) -> None:
    device = make_device(orgs.tokyo)
    command = Command.objects.create(
        contract=orgs.cast.a, device=device, type="REBOOT", status=CommandStatus.SENT
    )
    _finish(command, CommandStatus.EXPIRED)
    assert Alert.objects.get(kind=K.COMMAND_FAILED).details["status"] == "expired"


def test_google_refusing_the_enterprise_opens_enterprise_unbound_until_a_call_succeeds(
    orgs: OrgCast,
) -> None:
    make_device(orgs.tokyo)  # binds the contract
    contract = orgs.cast.a.pk
    gone = amapi.AmapiNotFound("Enterprise not found", status=404)
    hooks.enterprise_answered(contract, "enterprises.devices.get", gone)
    assert opened(K.ENTERPRISE_UNBOUND) == []  # a device's 404 is about the device
    hooks.enterprise_answered(contract, "enterprises.devices.list", gone)
    assert opened(K.ENTERPRISE_UNBOUND) == [(None, L.IMPORTANT)]
    revoked = amapi.AmapiRefused("denied", status=403, code="PERMISSION_DENIED")
    hooks.enterprise_answered(contract, "enterprises.devices.issueCommand", revoked)
    assert Alert.objects.get().details["code"] == "PERMISSION_DENIED"
    assert len(events(K.ENTERPRISE_UNBOUND)) == 1
    hooks.enterprise_answered(contract, "enterprises.policies.get", None)
    assert opened(K.ENTERPRISE_UNBOUND) == []
    assert [e[0] for e in events(K.ENTERPRISE_UNBOUND)] == ["opened", "cleared"]
    # A contract not bound in Mamori (unbinding done) gets no such alert.
    hooks.enterprise_answered(orgs.cast.b.pk, "enterprises.devices.list", gone)
    assert not Alert.objects.filter(contract=orgs.cast.b).exists()


def test_each_change_is_one_event_handed_to_the_dispatch_in_its_transaction(
    orgs: OrgCast, monkeypatch: pytest.MonkeyPatch
) -> None:
    dispatched: list[tuple[str, bool]] = []

    def record(found: list[AlertEvent]) -> None:
        dispatched.extend(
            (e.action, connection.in_atomic_block and e.pk is not None) for e in found
        )

    monkeypatch.setattr(detect, "events_dispatch", record)
    device = make_device(orgs.tokyo, hours_ago=30)
    alerts_check()
    report(device, last_status_report_at=timezone.now())
    assert dispatched == [("opened", True), ("cleared", True)]


def test_a_device_moving_takes_its_open_alerts_along(orgs: OrgCast) -> None:
    from mamori.android.inventory.services import device_move

    device = make_device(orgs.tokyo, hours_ago=30)
    alerts_check()
    device_move(actor=Actor(account=orgs.cast.a1), device=device, organization=orgs.dev, user=None)
    assert Alert.objects.get().organization_id == orgs.dev.pk


def test_alert_settings_changes_are_logged_with_what_changed(orgs: OrgCast) -> None:
    settings_set(orgs, caution_hours=12, mail_immediately=["no_report", "left_management"])
    entry = LogEntry.objects.get(action="alert_settings.changed")
    assert entry.before == {
        "mail_immediately": [
            "left_management",
            "non_compliant",
            "compromised",
            "enterprise_unbound",
        ],
        "caution_hours": 24,
    }
    assert entry.after == {
        "mail_immediately": ["left_management", "no_report"],
        "caution_hours": 12,
    }
    saved = AlertSettings.objects.get(contract=orgs.cast.a)
    assert saved.mail_immediately == ["left_management", "no_report"]
    settings_set(orgs, caution_hours=12, mail_immediately=["no_report", "left_management"])
    assert LogEntry.objects.filter(action="alert_settings.changed").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_detecting_the_same_alert_at_once_open_it_once(orgs: OrgCast) -> None:
    """On PostgreSQL both workers read "no open alert" before either inserts (a barrier after
    the read): the partial unique constraint refuses the second insert, and that worker takes
    the first's alert as the open one. SQLite runs write transactions one at a time
    (IMMEDIATE), so there the second worker sees the first's alert."""
    device = make_device(orgs.tokyo, hours_ago=30)
    postgres = connection.vendor == "postgresql"
    barrier = threading.Barrier(2)
    original, insert = detect._open_alerts, detect._insert
    errors: list[str] = []
    lost: list[int] = []

    def counting_insert(alerts: list[Alert]) -> list[Alert]:
        refused = insert(alerts)
        lost.append(len(refused))
        return refused

    def read_then_wait(subjects: Any, kinds: Any) -> dict:
        found = original(subjects, kinds)
        if postgres and not found:
            barrier.wait()
        return found

    def work() -> None:
        try:
            with transaction.atomic():
                devices_detect([device.pk], kinds={K.NO_REPORT})
        except Exception as exc:  # noqa: BLE001 - reported in the assertion below
            errors.append(repr(exc))
        finally:
            connection.close()

    detect._open_alerts = read_then_wait  # type: ignore[assignment]
    detect._insert = counting_insert  # type: ignore[assignment]
    try:
        threads = [threading.Thread(target=work) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        detect._open_alerts, detect._insert = original, insert  # type: ignore[assignment]
    assert errors == []
    # PostgreSQL: both inserted, the constraint refused one; SQLite: the second had none to.
    assert sorted(lost) == [0, int(postgres)]
    assert opened(K.NO_REPORT) == [(device.pk, L.CAUTION)]
    assert events(K.NO_REPORT) == [("opened", L.CAUTION, None)]
