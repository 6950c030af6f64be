"""Alerts for the page, isolation, authorization and query-count tests, made by the detector
from devices as the worker would leave them."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from mamori.alerts.detect import Subject, devices_detect, findings_apply
from mamori.alerts.models import Alert, AlertKind, AlertLevel
from mamori.alerts.services import alert_settings_update
from mamori.android.models import Device
from mamori.core.actor import Actor

# A contract's alert settings when it has saved none (GET /settings/alerts).
DEFAULTS: dict[str, Any] = {
    "mail_immediately": ["left_management", "non_compliant", "compromised", "enterprise_unbound"],
    "caution_hours": 24,
    "warning_hours": 72,
    "non_compliance_grace_minutes": 60,
    "summary_hour": 10,
    "summary_timezone": "Asia/Tokyo",
}


def settings_set(orgs: Any, **values: Any) -> None:
    """Save contract A's alert settings: the defaults but for ``values`` (as A1)."""
    alert_settings_update(
        actor=Actor(account=orgs.cast.a1), contract=orgs.cast.a, values=DEFAULTS | values
    )


def alert_of(device: Device, kind: str = AlertKind.COMPROMISED, level: int = 3) -> Alert:
    """Open (or move to ``level``) the device's alert of ``kind``; returns it."""
    details = {"posture": "POTENTIALLY_COMPROMISED", "postureDetails": []}
    if kind == AlertKind.NON_COMPLIANT:
        details = {
            "nonComplianceDetails": [
                {"settingName": "passwordPolicies", "nonComplianceReason": "USER_ACTION"}
            ]
        }
    with transaction.atomic():
        findings_apply(
            [Subject(device.contract_id, device.pk, device.organization_id)],
            {kind},
            {(device.contract_id, device.pk, kind): (level, details)},
        )
    return Alert.objects.get(device=device, kind=kind, cleared_at__isnull=True)


def unbound_alert(contract_id: int) -> Alert:
    """The contract's ``enterprise_unbound`` alert (no device, no organization)."""
    kind = AlertKind.ENTERPRISE_UNBOUND
    with transaction.atomic():
        findings_apply(
            [Subject(contract_id)],
            {kind},
            {(contract_id, None, kind): (AlertLevel.IMPORTANT, {"code": "PERMISSION_DENIED"})},
        )
    return Alert.objects.get(contract_id=contract_id, kind=kind, cleared_at__isnull=True)


def cleared_no_report(device: Device) -> Alert:
    """A ``no_report`` alert of ``device`` opened (no report for 30 hours) and cleared (it
    reports now) by the detector. The detector also clears the device's other kinds its state
    denies: make this one first."""
    for reported in (timezone.now() - datetime.timedelta(hours=30), timezone.now()):
        device.last_status_report_at = reported
        device.save()
        with transaction.atomic():
            devices_detect([device.pk])
    return Alert.objects.get(device=device, kind=AlertKind.NO_REPORT)
