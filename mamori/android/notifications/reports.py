"""From AMAPI's ``Device`` resource (ANDROID.md 2.3) to Mamori's ``Device`` columns.

Pure functions, no database: the apply worker and the ``devices.list`` reconciliation share them.
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

import orjson

from mamori.android.models import Device, DeviceKind, DeviceState, PersonalUsage, SecurityPosture

STATES = frozenset(DeviceState.values)
POSTURES = frozenset(SecurityPosture.values)
# A JSON escape that decodes to text no database stores (NUL, a lone surrogate).
_BAD_ESCAPE = re.compile(r"\\u(0000|[dD][89abAB]|[dD][c-fC-F])")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# What personally owned devices never keep (issue 9: IMEI, MEID and phone numbers).
PERSONAL_NETWORK_KEYS = ("imei", "meid")
PERSONAL_TELEPHONY_KEYS = ("phoneNumber", "iccId")


def _max(field: str) -> int:
    return int(getattr(Device._meta.get_field(field), "max_length", None) or 100)


LENGTHS = {
    name: _max(name)
    for name in (
        "management_mode",
        "ownership",
        "applied_policy_name",
        "policy_name",
        "brand",
        "manufacturer",
        "model",
        "serial_number",
        "android_version",
        "security_patch_level",
    )
}


def timestamp(value: Any) -> datetime.datetime | None:
    """An RFC 3339 time (``2026-11-30T12:00:00.123456789Z``) as an aware datetime, or None."""
    if not isinstance(value, str) or not value or len(value) > 40:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def escapes_unstorable(text: str) -> bool:
    """Whether JSON ``text`` escapes a NUL or a lone surrogate (PostgreSQL's jsonb refuses
    ``\\u0000``): such text is stored re-encoded from its cleaned value, never as is."""
    # Most reports have no \u escape at all: ``in`` finds that far faster than the pattern.
    return "\\u" in text and _BAD_ESCAPE.search(text) is not None


def json_load(text: str) -> Any:
    """``json.loads(text)`` with NUL and lone surrogates replaced (databases refuse them).

    orjson reads it (a 10 KB report in a fifth of the standard library's time: the apply
    worker's largest cost per report); what orjson refuses and the standard library reads
    (integers past 64 bits, ``NaN``, escaped lone surrogates) is read by the latter, so the
    result never depends on which did. Raises ``ValueError`` for text that is not JSON (or
    nested too deep to read).
    """
    bad = escapes_unstorable(text)
    if not bad:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise ValueError("JSON nested too deep") from exc
    return _clean(value) if bad else value


def _text(value: Any, field: str) -> str:
    return value[: LENGTHS[field]] if isinstance(value, str) else ""


def _int(value: Any, low: int, high: int) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high else None


def battery(resource: dict[str, Any]) -> int | None:
    """The newest ``BATTERY_LEVEL_COLLECTED`` of ``powerManagementEvents``, in percent."""
    newest: tuple[str, float] | None = None
    for event in resource.get("powerManagementEvents") or []:
        if not isinstance(event, dict) or event.get("eventType") != "BATTERY_LEVEL_COLLECTED":
            continue
        level = event.get("batteryLevel")
        if not isinstance(level, int | float):
            continue
        when = str(event.get("createTime") or "")
        if newest is None or when >= newest[0]:
            newest = (when, float(level))
    if newest is None:
        return None
    return max(0, min(100, round(newest[1])))


def personal(resource: dict[str, Any]) -> bool:
    """Whether AMAPI says the device is personally owned."""
    return resource.get("ownership") == "PERSONALLY_OWNED"


def stripped(resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` without IMEI, MEID, phone numbers and SIM serials (personal devices)."""
    network = resource.get("networkInfo")
    if not isinstance(network, dict):
        return resource
    network = {k: v for k, v in network.items() if k not in PERSONAL_NETWORK_KEYS}
    infos = network.get("telephonyInfos")
    if isinstance(infos, list):
        network["telephonyInfos"] = [
            {k: v for k, v in info.items() if k not in PERSONAL_TELEPHONY_KEYS}
            if isinstance(info, dict)
            else info
            for info in infos
        ]
    return {**resource, "networkInfo": network}


def deleted(resource: dict[str, Any]) -> bool:
    """Whether the resource is the final report of a deleted device (``appliedState``)."""
    return resource.get("appliedState") == DeviceState.DELETED


# A device's clock may run a little ahead of Google's; a report dated further in the future than
# this would hold the device (nothing older than its clock is applied) until that date.
CLOCK_AHEAD_MAX = datetime.timedelta(minutes=10)
# Fields whose JSON type a Device resource must respect for its report to be applied (the
# discovery document's types); a report breaking one is kept aside as malformed, not applied.
_TYPES: dict[str, type | tuple[type, ...]] = {
    "appliedState": str,
    "state": str,
    "managementMode": str,
    "ownership": str,
    "policyCompliant": bool,
    "appliedPolicyName": str,
    "appliedPolicyVersion": (str, int),
    "apiLevel": int,
    "lastStatusReportTime": str,
    "enrollmentTime": str,
    "hardwareInfo": dict,
    "softwareInfo": dict,
    "securityPosture": dict,
    "powerManagementEvents": list,
    "applicationReports": list,
    "nonComplianceDetails": list,
}


def report_problem(
    resource: dict[str, Any], clock: datetime.datetime, message: Any, now: datetime.datetime
) -> str | None:
    """Why a ``Device`` resource must not be applied (a reason kept with the message), or None:
    ``malformed`` when a field has the wrong JSON type (``_TYPES``; a bool is no int), or a
    battery event's level is not a number; ``clock_in_future`` when its clock is more than
    ``CLOCK_AHEAD_MAX`` ahead of when it was published, received or applied, whichever is latest."""
    for field, kind in _TYPES.items():
        value = resource.get(field)
        if value is None:
            continue
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            return "malformed"
    for event in resource.get("powerManagementEvents") or []:
        level = event.get("batteryLevel") if isinstance(event, dict) else None
        if level is not None and (isinstance(level, bool) or not isinstance(level, int | float)):
            return "malformed"
    reference = max(
        t
        for t in (
            getattr(message, "publish_time", None),
            getattr(message, "received_at", None),
            now,
        )
        if t
    )
    if clock > reference + CLOCK_AHEAD_MAX:
        return "clock_in_future"
    return None


def _section(resource: dict[str, Any], key: str) -> dict[str, Any]:
    value = resource.get(key)
    return value if isinstance(value, dict) else {}


def columns(resource: dict[str, Any], clock: datetime.datetime) -> dict[str, Any]:
    """The ``Device`` columns a report sets (not the organization, user, note or kind, which
    are Mamori's; not ``report``, which the caller writes).

    Unknown enum values are kept out (an empty posture, ``appliedState`` left PROVISIONING for
    a device that never said), texts are cut to their columns' lengths.
    """
    hardware = _section(resource, "hardwareInfo")
    software = _section(resource, "softwareInfo")
    posture = resource.get("securityPosture")
    posture = posture.get("devicePosture") if isinstance(posture, dict) else None
    state = resource.get("appliedState") or resource.get("state")
    compliant = resource.get("policyCompliant")
    return {
        "management_mode": _text(resource.get("managementMode"), "management_mode"),
        "ownership": _text(resource.get("ownership"), "ownership"),
        "applied_state": state if state in STATES else DeviceState.PROVISIONING,
        "applied_policy_name": _text(resource.get("appliedPolicyName"), "applied_policy_name"),
        "applied_policy_version": _int(resource.get("appliedPolicyVersion"), 0, 2**63 - 1),
        "policy_compliant": compliant if isinstance(compliant, bool) else None,
        "security_posture": posture if posture in POSTURES else "",
        "brand": _text(hardware.get("brand"), "brand"),
        "manufacturer": _text(hardware.get("manufacturer"), "manufacturer"),
        "model": _text(hardware.get("model"), "model"),
        "serial_number": _text(hardware.get("serialNumber"), "serial_number"),
        "android_version": _text(software.get("androidVersion"), "android_version"),
        "security_patch_level": _text(software.get("securityPatchLevel"), "security_patch_level"),
        "api_level": _int(resource.get("apiLevel"), 0, 32767),
        "battery_level": battery(resource),
        "enrolled_at": timestamp(resource.get("enrollmentTime")),
        **times(resource, clock),
    }


def times(resource: dict[str, Any], clock: datetime.datetime) -> dict[str, Any]:
    """The columns of a report's times (the only ones a report that repeats the stored one but
    for its times changes): the report's and policy sync's times, and the apply clock."""
    return {
        "last_status_report_at": timestamp(resource.get("lastStatusReportTime")),
        "last_policy_sync_at": timestamp(resource.get("lastPolicySyncTime")),
        "report_clock": clock,
    }


def kind_of(resource: dict[str, Any], allow_personal_usage: str | None) -> str:
    """The device kind from AMAPI's ``managementMode``/``ownership`` and the token's
    ``allowPersonalUsage`` (ANDROID.md 2.4: DISALLOWED_USERLESS is a dedicated device)."""
    if resource.get("ownership") == "PERSONALLY_OWNED":
        return DeviceKind.PERSONAL_WORK_PROFILE
    if resource.get("managementMode") == "PROFILE_OWNER":
        return DeviceKind.COMPANY_WORK_PROFILE
    if allow_personal_usage == PersonalUsage.DISALLOWED_USERLESS:
        return DeviceKind.DEDICATED
    return DeviceKind.FULLY_MANAGED


def policy_name(resource: dict[str, Any], enterprise: str) -> str:
    """The device's ``policyName`` as a full name (AMAPI accepts a bare policy id too)."""
    name = resource.get("policyName")
    if not isinstance(name, str) or not name:
        return ""
    full = name if name.startswith("enterprises/") else f"{enterprise}/policies/{name}"
    return full[: LENGTHS["policy_name"]]


def token_public_id(resource: dict[str, Any]) -> str:
    """Mamori's token id from ``enrollmentTokenData`` (``{"mamori": public_id}``), or ""."""
    data = resource.get("enrollmentTokenData")
    if not isinstance(data, str) or not data.startswith("{") or len(data) > 1024:
        return ""
    try:
        value = json.loads(data)
    except ValueError:
        return ""
    found = value.get("mamori") if isinstance(value, dict) else None
    return found if isinstance(found, str) and len(found) <= 32 else ""
