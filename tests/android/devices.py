"""Devices for tests, made directly (the notification worker makes them in the product): a
``report`` shaped like AMAPI's ``Device`` resource (as the sandbox's ``device_resource`` writes
it, ANDROID.md 2.3) and the list's columns filled from it."""

from __future__ import annotations

import datetime
import itertools
from typing import Any

from django.utils import timezone

from mamori.android.models import Device, DeviceKind, DeviceState, Enterprise
from mamori.directory.models import Organization, User

_serials = itertools.count(1)

KIND_MODES = {
    DeviceKind.FULLY_MANAGED: ("DEVICE_OWNER", "COMPANY_OWNED"),
    DeviceKind.COMPANY_WORK_PROFILE: ("PROFILE_OWNER", "COMPANY_OWNED"),
    DeviceKind.PERSONAL_WORK_PROFILE: ("PROFILE_OWNER", "PERSONALLY_OWNED"),
    DeviceKind.DEDICATED: ("DEVICE_OWNER", "COMPANY_OWNED"),
}


def enterprise_of(organization: Organization) -> Enterprise:
    """The contract's enterprise, bound for the test if it is not."""
    enterprise, _ = Enterprise.objects.get_or_create(
        contract_id=organization.contract_id,
        defaults={"name": f"enterprises/LC{organization.contract_id:04d}"},
    )
    return enterprise


def device_report(
    name: str,
    *,
    serial: str,
    model: str,
    android: str,
    api_level: int,
    state: str,
    kind: str,
    compliant: bool | None,
    policy: str,
    version: int | None,
    reported: datetime.datetime | None,
    battery: int | None,
    posture: str,
    non_compliance: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A ``Device`` JSON with hardware, software, network, memory, battery and app reports."""
    mode, ownership = KIND_MODES[DeviceKind(kind)]
    stamp = reported.isoformat().replace("+00:00", "Z") if reported else None
    report: dict[str, Any] = {
        "name": name,
        "managementMode": mode,
        "ownership": ownership,
        "state": state,
        "appliedState": state,
        "apiLevel": api_level,
        "hardwareInfo": {
            "brand": "google",
            "manufacturer": "Google",
            "model": model,
            "hardware": "shiba",
            "serialNumber": serial,
            "enterpriseSpecificId": f"ESID{serial}",
        },
        "softwareInfo": {
            "androidVersion": android,
            "securityPatchLevel": "2026-10-05",
            "androidBuildNumber": "AP4A.261005.001",
            "androidDevicePolicyVersionName": "126.44.0",
        },
        "networkInfo": {"wifiMacAddress": "02:00:00:00:00:01", "telephonyInfos": []},
        "memoryInfo": {"totalRam": "8000000000", "totalInternalStorage": "128000000000"},
        "applicationReports": [
            {
                "packageName": "com.android.chrome",
                "displayName": "Chrome",
                "versionName": "143.0.7499.34",
                "versionCode": 749903433,
                "state": "INSTALLED",
            },
            {
                "packageName": "com.example.removed",
                "displayName": "Removed app",
                "versionName": "1.0",
                "state": "REMOVED",
            },
        ],
        "securityPosture": {"devicePosture": posture} if posture else {},
    }
    if stamp:
        report["lastStatusReportTime"] = stamp
        report["powerManagementEvents"] = [
            {"eventType": "BATTERY_LEVEL_COLLECTED", "createTime": stamp, "batteryLevel": battery}
        ]
    if version is not None:
        report["appliedPolicyName"] = policy
        report["appliedPolicyVersion"] = str(version)
        report["policyCompliant"] = compliant
    if non_compliance:
        report["nonComplianceDetails"] = non_compliance
    return report


def make_device(
    organization: Organization,
    *,
    user: User | None = None,
    serial: str | None = None,
    model: str = "Pixel 8",
    android: str = "15",
    api_level: int = 35,
    state: str = DeviceState.ACTIVE,
    kind: str = DeviceKind.FULLY_MANAGED,
    compliant: bool | None = True,
    profile_id: int | None = None,
    version: int | None = 1,
    reported: datetime.datetime | None = None,
    hours_ago: float | None = 1,
    battery: int | None = 80,
    posture: str = "SECURE",
    non_compliance: list[dict[str, Any]] | None = None,
    note: str = "",
) -> Device:
    """A device of ``organization`` (and ``user``) as the worker would leave it after a report."""
    enterprise = enterprise_of(organization)
    n = next(_serials)
    serial = serial if serial is not None else f"SN{n:06d}"
    name = f"{enterprise.name}/devices/d{n:06d}"
    if reported is None and hours_ago is not None:
        reported = timezone.now() - datetime.timedelta(hours=hours_ago)
    policy = f"{enterprise.name}/policies/mamori-{profile_id}" if profile_id else ""
    mode, ownership = KIND_MODES[DeviceKind(kind)]
    report = device_report(
        name,
        serial=serial,
        model=model,
        android=android,
        api_level=api_level,
        state=state,
        kind=kind,
        compliant=compliant,
        policy=policy,
        version=version if profile_id else None,
        reported=reported,
        battery=battery,
        posture=posture,
        non_compliance=non_compliance,
    )
    return Device.objects.create(
        contract_id=organization.contract_id,
        enterprise=enterprise,
        name=name,
        organization=organization,
        user=user,
        note=note,
        kind=kind,
        management_mode=mode,
        ownership=ownership,
        applied_state=state,
        policy_name=policy,
        applied_policy_name=policy if profile_id else "",
        applied_policy_version=version if profile_id else None,
        policy_compliant=compliant,
        security_posture=posture,
        brand="google",
        manufacturer="Google",
        model=model,
        serial_number=serial,
        android_version=android,
        security_patch_level="2026-10-05",
        api_level=api_level,
        battery_level=battery,
        enrolled_at=(reported or timezone.now()) - datetime.timedelta(days=30),
        last_status_report_at=reported,
        report_clock=reported,
        report=report,
        deleted_at=timezone.now() if state == DeviceState.DELETED else None,
    )
