"""What a device's page shows, read out of its newest ``Device`` report (AMAPI's JSON, ANDROID.md
2.3) and Mamori's rows about it: facts as (label, value) pairs ready to print, each code in
words (``reasons``), times in the viewer's timezone. A section the device does not report (its
profile's ``statusReportingSettings`` leave it off) is empty, and the page says so."""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import urlencode

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from mamori.android.commands.audit_actions import LABEL_JOIN
from mamori.android.commands.lifecycle import command_reason
from mamori.android.inventory import selectors
from mamori.android.inventory.reasons import reason_text
from mamori.android.models import COMMAND_DONE, CommandStatus, Device, DeviceKind, DeviceState
from mamori.android.models import SecurityPosture as Posture
from mamori.android.user_facing import user_facing_text
from mamori.audit.labels import actor_name_label
from mamori.audit.models import LogEntry
from mamori.audit.registry import target_label
from mamori.audit.selectors import log_entries_about
from mamori.audit.targets import TargetType
from mamori.core.access import Principal, has_permission

Facts = list[tuple[str, str]]
LOG_ROWS = 20


def _time(value: Any) -> str:
    """An AMAPI timestamp (RFC 3339 text) or a datetime in the viewer's timezone."""
    moment = parse_datetime(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime.datetime):
        return str(value or "")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, datetime.UTC)
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _zoned(value: Any) -> str:
    """``_time`` with the zone named, as a value standing alone shows it ("2026-12-01 01:54
    (Asia/Tokyo)"); ``""`` for no time."""
    if not value:
        return ""
    return f"{_time(value)} ({timezone.get_current_timezone_name()})"


def departure_text(how: str) -> str:
    """The banner of a device no longer managed, by how it left
    (``selectors.device_departure``): removed in Mamori, wiped, relinquished or deleted outside
    Mamori; ``""`` for a managed device."""
    texts = {
        "removed": _(
            "This device was removed in Mamori: Google was told to wipe it (best effort) and "
            "forget it. It is kept here for its history."
        ),
        "wiped": _(
            "This device was wiped by a wipe command and has left management. It is kept here "
            "for its history."
        ),
        "relinquished": _(
            "Ownership of this device was relinquished: its work profile and policies were "
            "removed and it left management. It was not wiped. It is kept here for its history."
        ),
        "deleted": _(
            "Google reported this device deleted: it was deleted outside Mamori, or its work "
            "profile was removed on the device. It is kept here for its history."
        ),
    }
    return texts.get(how, "")


def _bytes(value: Any) -> str:
    """AMAPI's int64 byte counts (JSON strings) as GB."""
    try:
        return f"{int(value) / 1_000_000_000:.1f} GB"
    except (TypeError, ValueError):
        return ""


def _present(facts: list[tuple[str, Any]]) -> Facts:
    return [(label, str(value)) for label, value in facts if value not in (None, "", [])]


def hardware(device: Device, report: dict[str, Any]) -> Facts:
    """Brand, model, serial number… (``hardwareInfo``, always reported)."""
    info = report.get("hardwareInfo") or {}
    return _present(
        [
            (_("Brand"), info.get("brand") or device.brand),
            (_("Manufacturer"), info.get("manufacturer") or device.manufacturer),
            (_("Model"), info.get("model") or device.model),
            (_("Serial number"), info.get("serialNumber") or device.serial_number),
            (_("Enterprise-specific ID"), info.get("enterpriseSpecificId")),
            (_("Hardware"), info.get("hardware")),
            (_("Baseband version"), info.get("deviceBasebandVersion")),
        ]
    )


def software(device: Device, report: dict[str, Any]) -> Facts:
    """Android version, security patch level, build… (``softwareInfo``, ``apiLevel``)."""
    info = report.get("softwareInfo") or {}
    update = reason_text("update_status", (info.get("systemUpdateInfo") or {}).get("updateStatus"))
    return _present(
        [
            (_("Android version"), info.get("androidVersion") or device.android_version),
            (_("API level"), report.get("apiLevel") or device.api_level),
            (
                _("Security patch level"),
                info.get("securityPatchLevel") or device.security_patch_level,
            ),
            (_("Build number"), info.get("androidBuildNumber")),
            (_("Kernel version"), info.get("deviceKernelVersion")),
            (_("Bootloader version"), info.get("bootloaderVersion")),
            (_("Android Device Policy version"), info.get("androidDevicePolicyVersionName")),
            (_("Primary language"), info.get("primaryLanguageCode")),
            (_("System update"), update),
        ]
    )


def network(report: dict[str, Any]) -> Facts:
    """IMEI, MEID, Wi-Fi MAC, carriers (``networkInfo``); IMEI, MEID and phone numbers are not
    stored for personally owned devices (the notification worker drops them)."""
    info = report.get("networkInfo") or {}
    carriers = ", ".join(
        t.get("carrierName", "") for t in info.get("telephonyInfos") or [] if t.get("carrierName")
    )
    return _present(
        [
            (_("IMEI"), info.get("imei")),
            (_("MEID"), info.get("meid")),
            (_("Wi-Fi MAC address"), info.get("wifiMacAddress")),
            (_("Carrier"), carriers or info.get("networkOperatorName")),
        ]
    )


def memory(report: dict[str, Any]) -> Facts:
    """RAM and internal storage (``memoryInfo``)."""
    info = report.get("memoryInfo") or {}
    return _present(
        [
            (_("RAM"), _bytes(info.get("totalRam"))),
            (_("Internal storage"), _bytes(info.get("totalInternalStorage"))),
        ]
    )


def battery(device: Device, report: dict[str, Any]) -> Facts:
    """The newest battery level (``powerManagementEvents``) and its time."""
    events = [
        e
        for e in report.get("powerManagementEvents") or []
        if e.get("eventType") == "BATTERY_LEVEL_COLLECTED"
    ]
    newest: dict[str, Any] = max(events, key=lambda e: e.get("createTime", ""), default={})
    level = device.battery_level
    return _present(
        [
            (_("Battery level"), f"{level}%" if level is not None else ""),
            (_("Measured at"), _zoned(newest.get("createTime")) if newest else ""),
        ]
    )


def applications(report: dict[str, Any]) -> list[dict[str, str]]:
    """The installed apps (``applicationReports``), by name."""
    apps = [
        {
            "name": a.get("displayName") or a.get("packageName", ""),
            "package": a.get("packageName", ""),
            "version": a.get("versionName") or str(a.get("versionCode") or ""),
            "state": reason_text("app_state", a.get("state")),
        }
        for a in report.get("applicationReports") or []
    ]
    return sorted(apps, key=lambda a: (a["name"].casefold(), a["package"]))


def setting_label(name: str) -> str:
    """A top-level Policy field (``NonComplianceDetail.settingName``) as a person reads it: the
    profile form's label or group, else the field's own name (shown with the codes below it)."""
    from mamori.android.policy.fields import BY_PATH, GROUPS, SETTINGS

    if name in BY_PATH:
        return str(BY_PATH[name].label)
    groups = {s.group for s in SETTINGS if s.path.split(".")[0].split("[")[0] == name}
    if len(groups) == 1:
        return str(GROUPS[groups.pop()])
    if name == "applications":
        return str(GROUPS["apps"])
    return name


def compliance(report: dict[str, Any]) -> list[dict[str, str]]:
    """Each ``nonComplianceDetails`` entry: the setting, and its reasons in words (never a raw
    code alone: a code the table lacks is shown with the general reason)."""
    rows = []
    for detail in report.get("nonComplianceDetails") or []:
        reasons = [
            reason_text("non_compliance", detail.get("nonComplianceReason")),
            reason_text("specific", detail.get("specificNonComplianceReason")),
            reason_text("installation", detail.get("installationFailureReason")),
        ]
        rows.append(
            {
                "setting": setting_label(str(detail.get("settingName") or "")),
                "field": detail.get("fieldPath", ""),
                "package": detail.get("packageName", ""),
                "current": ""
                if detail.get("currentValue") is None
                else str(detail["currentValue"]),
                "reasons": " ".join(r for r in reasons if r),
                "codes": " / ".join(
                    str(detail[k])
                    for k in (
                        "nonComplianceReason",
                        "specificNonComplianceReason",
                        "installationFailureReason",
                    )
                    if detail.get(k)
                ),
            }
        )
    return rows


def posture(device: Device, report: dict[str, Any]) -> dict[str, Any]:
    """The security posture and each risk in words, with Google's advice."""
    data = report.get("securityPosture") or {}
    labels = dict(Posture.choices)
    return {
        "code": device.security_posture,
        "label": str(labels.get(device.security_posture, "")) or _("Not reported"),
        "risks": [
            {
                "risk": reason_text("risk", d.get("securityRisk")),
                "advice": [t for a in d.get("advice") or [] if (t := user_facing_text(a))],
            }
            for d in data.get("postureDetails") or []
        ],
    }


def command_rows(account: Principal, device: Device) -> list[dict[str, Any]]:
    """The command history (read-only): type (a link to the command's page), status, the bulk
    job it belongs to, who issued it and when, when it finished, and its error in words."""
    statuses = dict(CommandStatus.choices)
    domain = account.contract.domain  # type: ignore[attr-defined]
    rows = []
    for command in selectors.device_commands(account, device):
        error = command_reason(command)
        rows.append(
            {
                "url": reverse(
                    "panel:command_detail", kwargs={"domain": domain, "command_id": command.pk}
                ),
                "job_id": command.job_id,
                "type": command.get_type_display(),
                "status": command.status,
                "status_label": str(statuses.get(command.status, command.status)),
                "done": command.status in COMMAND_DONE,
                "issued_by": command.issued_by.name if command.issued_by else _("System"),
                "issued_at": _time(command.created_at),
                "finished_at": _time(command.finished_at) if command.finished_at else "",
                "error": error,
            }
        )
    return rows


OSM = "https://www.openstreetmap.org/"


def _degrees(value: Any, limit: float) -> float | None:
    """A latitude (``limit`` 90) or longitude (180) as AMAPI's JSON gives it; None otherwise."""
    try:
        degrees = float(value)
    except (TypeError, ValueError):
        return None
    return degrees if -limit <= degrees <= limit else None


def lost_mode_location(data: Any) -> dict[str, Any] | None:
    """A LOST_MODE_LOCATION event's ``lostModeLocationEvent`` (``location{latitude,
    longitude}`` in degrees, ``batteryLevel`` in percent, ANDROID.md): ``{"latitude",
    "longitude", "battery", "map_url"}`` (an OpenStreetMap link with a marker), or None when
    the event carries no readable position. The battery is ``None`` when not given."""
    location = data.get("location") if isinstance(data, dict) else None
    if not isinstance(location, dict):
        return None
    latitude = _degrees(location.get("latitude"), 90)
    longitude = _degrees(location.get("longitude"), 180)
    if latitude is None or longitude is None:
        return None
    battery = data.get("batteryLevel")
    battery = round(battery) if isinstance(battery, int | float) and 0 <= battery <= 100 else None
    query = urlencode({"mlat": f"{latitude:.6f}", "mlon": f"{longitude:.6f}"})
    return {
        "latitude": f"{latitude:.6f}",
        "longitude": f"{longitude:.6f}",
        "battery": battery,
        "map_url": f"{OSM}?{query}#map=16/{latitude:.6f}/{longitude:.6f}",
    }


def usage_rows(account: Principal, device: Device) -> list[dict[str, Any]]:
    """The newest usage-log events; security ones are highlighted; a lost-mode location with
    its position, battery and map link (``lost_mode_location``)."""
    return [
        {
            "type": reason_text("usage_event", e.event_type),
            "time": _time(e.event_time),
            "security": e.security,
            "location": lost_mode_location(e.data)
            if e.event_type == "LOST_MODE_LOCATION"
            else None,
        }
        for e in selectors.device_usage_events(account, device)
    ]


def log_rows(account: Principal, device: Device) -> list[dict[str, Any]] | None:
    """The operation-log entries about the device (as target or related object), newest
    first; ``None`` when the account may not read the log."""
    if not has_permission(account, "logs.view"):
        return None
    from mamori.audit.registry import action_choices

    actions = dict(action_choices())
    entries = log_entries_about(account, TargetType.DEVICE, device.pk).order_by(
        "-created_at", "-id"
    )[:LOG_ROWS]
    return [
        {
            "pk": e.pk,
            "time": _time(e.created_at),
            "action": str(actions.get(e.action, e.action)),
            "command": _command_of(e),
            "actor": actor_name_label(e.actor_kind, e.actor_name),
            # An action that says it failed ("Device command failed") needs no second word.
            "failure_badge": e.result != LogEntry.Result.SUCCESS
            and not e.action.endswith("failed"),
        }
        for e in entries
    ]


def _command_of(entry: LogEntry) -> str:
    """The command an entry about a device command is about, in the reader's language ("ロック");
    ``""`` for other entries. The device is the page's own, so its part of the label is left
    out."""
    if entry.target_type != TargetType.COMMAND:
        return ""
    return target_label(entry.target_type, entry.target_label).partition(LABEL_JOIN)[0]


def device_sections(account: Principal, device: Device) -> dict[str, Any]:
    """The device page's context: see the module docstring."""
    report = device.report if isinstance(device.report, dict) else {}
    profile, status, label = selectors.device_profile(account, device)
    return {
        "device": device,
        "label": str(device),
        "device_id": device.name.rsplit("/", 1)[-1],
        "kind": str(dict(DeviceKind.choices).get(device.kind, device.kind)),
        "state": str(dict(DeviceState.choices).get(device.applied_state, device.applied_state)),
        "removed": device.deleted_at is not None,
        "departure": departure_text(selectors.device_departure(account, device)),
        "compliance_code": selectors.compliance_code(device.policy_compliant),
        "compliance_label": selectors.compliance_labels()[
            selectors.compliance_code(device.policy_compliant)
        ],
        "last_report": _time(device.last_status_report_at) if device.last_status_report_at else "",
        "last_report_ago": selectors.time_ago(device.last_status_report_at, timezone.now()),
        "enrolled": _zoned(device.enrolled_at),
        "last_policy_sync": _zoned(device.last_policy_sync_at),
        "disabled_reason": user_facing_text(report.get("disabledReason")),
        "hardware": hardware(device, report),
        "software": software(device, report),
        "network": network(report),
        "memory": memory(report),
        "battery": battery(device, report),
        "apps": applications(report),
        "non_compliance": compliance(report),
        "posture": posture(device, report),
        "profile": profile,
        "profile_status": status,
        "profile_label": label,
        "commands": command_rows(account, device),
        "usage": usage_rows(account, device),
        "log": log_rows(account, device),
    }


USER_DEVICES = 100


def user_devices_html(account: Principal, user: Any) -> str:
    """The user's page's Devices section (``directory.sections`` provider): the user's devices
    that are not removed, each a link to its page; ``""`` without ``devices.view``. Two queries
    (the devices, their contract's domain is the account's)."""
    if not has_permission(account, "devices.view"):
        return ""
    devices = list(
        selectors.devices_visible_to(account)
        .filter(user=user)
        .exclude(applied_state=DeviceState.DELETED)
        .order_by("-id")
        .values_list(
            "pk", "serial_number", "name", "model", "applied_state", "last_status_report_at"
        )[: USER_DEVICES + 1]
    )
    domain = account.contract.domain  # type: ignore[attr-defined]
    base = reverse("panel:devices", kwargs={"domain": domain})
    states = dict(DeviceState.choices)
    rows = [
        {
            "url": f"{base}{pk}/",
            "label": serial or name.rsplit("/", 1)[-1],
            "model": model,
            "state": str(states.get(state, state)),
            "last_report": _time(reported) if reported else "",
        }
        for pk, serial, name, model, state, reported in devices[:USER_DEVICES]
    ]
    return render_to_string(
        "android/devices/user_devices.html",
        {
            "rows": rows,
            "more": len(devices) > USER_DEVICES,
            "zone_name": timezone.get_current_timezone_name(),
        },
    )
