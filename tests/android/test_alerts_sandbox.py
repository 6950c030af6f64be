"""Alerts end to end with the AMAPI sandbox's virtual devices (issue 10's tests): each device's
STATUS_REPORTs, as the sandbox pushes them over HTTP, are delivered to Mamori's inbox and applied
by the worker, whose batch calls the detector (``android.hooks``); time is moved on by giving the
periodic check a later clock.

- a device stops reporting (``--stop-reporting``): with thresholds of 1 and 2 hours it becomes
  a caution, then a warning; it reports again → the alert clears;
- a profile requires a password and the device has none: with grace 0, a warning at once;
  RESET_PASSWORD → compliant → cleared;
- a wipe Mamori issued raises no "left management"; a device deleted outside Mamori does;
- a device made compromised (``--posture compromised``) is important, at risk a warning, and
  secure again (``--posture secure``) clears the alert.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from mamori.alerts.checks import alerts_check
from mamori.alerts.models import Alert, AlertEvent, AlertKind, AlertLevel
from mamori.android.models import Command, CommandStatus, Device, Enterprise
from mamori.android.notifications.apply import inbox_drain
from mamori.android.notifications.store import push_store
from mamori.android.sandbox.controls import Controls, device_control
from tests.alerts_data import settings_set
from tests.android.pubsub import body
from tests.android.push_receiver import Receiver, receiver, wait_until
from tests.android.sandbox import AmapiSandbox
from tests.android.test_sandbox_devices import FULLY_MANAGED, Fleet
from tests.conftest import OrgCast

__all__ = ["receiver"]

pytestmark = pytest.mark.django_db
K, L = AlertKind, AlertLevel


@pytest.fixture
def fleet(amapi_sandbox: AmapiSandbox, receiver: Receiver, orgs: OrgCast) -> Fleet:
    fleet = Fleet(amapi_sandbox, receiver)
    Enterprise.objects.create(contract=orgs.cast.a, name=fleet.enterprise["name"])
    return fleet


def deliver(fleet: Fleet, name: str, count: int = 1) -> dict[str, Any]:
    """Wait for the device's ``count``-th report, hand the newest to Mamori's inbox as Pub/Sub
    would, and let the worker apply it; returns it."""
    wait_until(lambda: len(fleet.reports(name)) >= count)
    resource = fleet.reports(name)[-1]
    push_store(body("STATUS_REPORT", resource))
    inbox_drain(seconds=5)
    return resource


def alerts(kind: str) -> list[tuple[int, bool]]:
    """``(level, open)`` of each alert of ``kind``."""
    rows = Alert.objects.filter(kind=kind).order_by("pk").values_list("level", "cleared_at")
    return [(level, cleared is None) for level, cleared in rows]


def history(kind: str) -> list[str]:
    return list(
        AlertEvent.objects.filter(alert__kind=kind).order_by("pk").values_list("action", flat=True)
    )


def password_reset(fleet: Fleet, name: str) -> None:
    """RESET_PASSWORD through the sandbox; waits for the compliant report and applies it."""
    reports = len(fleet.reports(name))
    fleet.run(name, {"type": "RESET_PASSWORD", "newPassword": "246810"})
    wait_until(lambda: fleet.reports(name)[-1]["policyCompliant"])
    deliver(fleet, name, reports + 1)


def test_a_silent_device_becomes_a_caution_then_a_warning_and_clears_when_it_reports(
    fleet: Fleet, amapi_sandbox: AmapiSandbox, orgs: OrgCast
) -> None:
    settings_set(orgs, caution_hours=1, warning_hours=2)
    name = fleet.enroll(FULLY_MANAGED, password=True)
    deliver(fleet, name)
    device = Device.objects.get(name=name)
    assert device.policy_compliant is True
    device_control(amapi_sandbox.store, name, Controls(stop_reporting=True))
    now = timezone.now()
    alerts_check(now + datetime.timedelta(minutes=30))
    assert alerts(K.NO_REPORT) == []
    alerts_check(now + datetime.timedelta(minutes=90))
    assert alerts(K.NO_REPORT) == [(L.CAUTION, True)]
    alerts_check(now + datetime.timedelta(minutes=150))
    assert alerts(K.NO_REPORT) == [(L.WARNING, True)]
    reports = len(fleet.reports(name))
    device_control(amapi_sandbox.store, name, Controls(resume_reporting=True))
    deliver(fleet, name, reports + 1)
    assert alerts(K.NO_REPORT) == [(L.WARNING, False)]
    assert history(K.NO_REPORT) == ["opened", "risen", "cleared"]


def test_a_device_without_the_required_password_is_a_warning_until_reset_password(
    fleet: Fleet, orgs: OrgCast
) -> None:
    settings_set(orgs, non_compliance_grace_minutes=0)
    name = fleet.enroll(FULLY_MANAGED)  # no screen lock; the policy requires one
    deliver(fleet, name)
    alert = Alert.objects.get(kind=K.NON_COMPLIANT)
    assert (alert.level, alert.cleared_at) == (L.WARNING, None)
    assert alert.details["nonComplianceDetails"] == [
        {"settingName": "passwordPolicies", "nonComplianceReason": "USER_ACTION"}
    ]
    password_reset(fleet, name)
    assert alerts(K.NON_COMPLIANT) == [(L.WARNING, False)]
    assert history(K.NON_COMPLIANT) == ["opened", "cleared"]


def test_a_wipe_mamori_issued_is_no_alert_but_a_deletion_outside_mamori_is(
    fleet: Fleet, orgs: OrgCast
) -> None:
    wiped = fleet.enroll(FULLY_MANAGED, password=True)
    deleted = fleet.enroll(FULLY_MANAGED, password=True)
    deliver(fleet, wiped)
    deliver(fleet, deleted)
    ours = Device.objects.get(name=wiped)
    Command.objects.create(
        contract=orgs.cast.a, device=ours, type="WIPE", status=CommandStatus.SENT
    )
    fleet.run(wiped, {"type": "WIPE"})
    wait_until(lambda: fleet.reports(wiped)[-1].get("appliedState") == "DELETED")
    deliver(fleet, wiped)
    assert Device.objects.get(name=wiped).applied_state == "DELETED"
    assert alerts(K.LEFT_MANAGEMENT) == []
    fleet.devices.delete(name=deleted).execute()
    wait_until(lambda: fleet.reports(deleted)[-1].get("appliedState") == "DELETED")
    deliver(fleet, deleted)
    alert = Alert.objects.get(kind=K.LEFT_MANAGEMENT)
    assert (alert.device.name, alert.level, alert.cleared_at) == (deleted, L.IMPORTANT, None)


def test_a_compromised_device_is_important_at_risk_a_warning_and_secure_clears_it(
    fleet: Fleet, amapi_sandbox: AmapiSandbox
) -> None:
    name = fleet.enroll(FULLY_MANAGED, password=True)
    deliver(fleet, name)
    assert alerts(K.COMPROMISED) == []
    steps = (("compromised", [(L.IMPORTANT, True)]), ("at_risk", [(L.WARNING, True)]),
             ("secure", [(L.WARNING, False)]))  # fmt: skip
    for posture, expected in steps:
        reports = len(fleet.reports(name))
        device_control(amapi_sandbox.store, name, Controls(posture=posture))
        deliver(fleet, name, reports + 1)
        assert alerts(K.COMPROMISED) == expected, posture
    assert history(K.COMPROMISED) == ["opened", "lowered", "cleared"]
