"""Devices and their operations, as AMAPI answers them, and what a virtual device reports.

A device row keeps only its own facts; ``device_resource`` renders the ``Device`` of the discovery
document from them, the hardware catalogue and the policy it applies, with only the report
sections the policy's ``statusReportingSettings`` enable (ANDROID.md 2.3). A virtual device is
online unless told to stop reporting (``controls``): it applies a policy as soon as the policy
exists or changes (PROVISIONING → ACTIVE), and reports compliance the way AMAPI does:

* ``passwordPolicies`` asking for a password on a device without one (enrolled without
  ``--password``, and no RESET_PASSWORD with a new password since): non-compliant,
  ``{settingName: "passwordPolicies", nonComplianceReason: "USER_ACTION"}``;
* ``minimumApiLevel`` above the device's API level: ``OS_NOT_PERMITTED``;
* every other setting counts as applied; FORCE_INSTALLED, REQUIRED_FOR_SETUP and PREINSTALLED
  apps appear in ``applicationReports`` (installed from Play).

The row's ``extra`` JSON holds what controls and commands change: ``battery`` (percent),
``posture`` (a ``securityPosture``), ``before_lost`` (the state to return to after lost mode),
``password_reset`` (Unix time of the last RESET_PASSWORD). Every change that a device would
report sets ``next_report`` to now, so the serve loop (``virtual``) sends a STATUS_REPORT at once.

Commands are stored as long-running ``Operation`` resources (``done: false``), with the time the
device picks them up (``due``) and their expiry (``expires`` = createTime + duration); the serve
loop executes them (``virtual``). ``newPassword`` is never stored: only whether one was given,
and whether it is too short (the ``verdict`` column).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from typing import Any

from mamori.android.sandbox import common
from mamori.android.sandbox.catalogue import Model, model_get
from mamori.android.sandbox.errors import invalid, not_found
from mamori.android.sandbox.notify import notify
from mamori.android.sandbox.resources import Call, enterprise_load, policy_load, policy_name
from mamori.android.sandbox.store import Store

DPC_VERSION = ("126.44.0", 12644000)
BASE_APPS = (  # on every device: (package, name, version, code, source)
    ("com.google.android.apps.work.clouddpc", "Android Device Policy", *DPC_VERSION, "PLAY"),
    ("com.google.android.gms", "Google Play services", "25.49.31", 254931035, "SYSTEM"),
    ("com.android.vending", "Google Play Store", "48.6.18", 84861800, "SYSTEM"),
    ("com.android.chrome", "Chrome", "143.0.7499.34", 749903433, "SYSTEM"),
)
INSTALLED_TYPES = ("FORCE_INSTALLED", "REQUIRED_FOR_SETUP", "PREINSTALLED")


def policy_apply(db: sqlite3.Connection, enterprise_id: str, policy_id: str, version: int) -> None:
    """Every device that uses the policy applies ``version`` now (inside the caller's write),
    and reports it at once."""
    now = time.time()
    db.execute(
        "UPDATE device SET applied_policy_id = ?, applied_version = ?, synced = ?, "
        "state = CASE state WHEN 'PROVISIONING' THEN 'ACTIVE' ELSE state END, "
        # reports at once; a silent device (NULL) stays silent
        "next_report = CASE WHEN next_report IS NULL THEN NULL ELSE ? END "
        "WHERE enterprise_id = ? AND policy_id = ?",
        (policy_id, version, common.rfc3339(now), now, enterprise_id, policy_id),
    )


def extra_of(row: sqlite3.Row) -> dict[str, Any]:
    """The row's ``extra`` JSON (see the module docstring)."""
    value: dict[str, Any] = json.loads(row["extra"] or "{}")
    return value


# ── rendering ────────────────────────────────────────────────────────────────────────────────


def device_name(enterprise_id: str, device_id: str) -> str:
    """``enterprises/{e}/devices/{d}``."""
    return f"enterprises/{enterprise_id}/devices/{device_id}"


def device_resource(row: sqlite3.Row, policy: dict[str, Any] | None) -> dict[str, Any]:
    """The ``Device`` JSON of a device row, ``policy`` being the one it applies (or None)."""
    model = model_get(row["model"])
    enterprise_id = row["enterprise_id"]
    extra = extra_of(row)
    device: dict[str, Any] = {
        "name": device_name(enterprise_id, row["id"]),
        "userName": f"enterprises/{enterprise_id}/users/{row['user_id']}",
        "managementMode": row["management_mode"],
        "ownership": row["ownership"],
        "state": row["state"],
        "appliedState": row["state"],
        "policyName": policy_name(enterprise_id, row["policy_id"]),
        "enrollmentTime": row["enrolled"],
        "lastStatusReportTime": row["reported"] or row["synced"] or row["enrolled"],
        "apiLevel": model.api_level,
        "hardwareInfo": hardware_info(model, row),
        "enrollmentTokenName": f"enterprises/{enterprise_id}/enrollmentTokens/{row['token_id']}",
        "securityPosture": extra.get("posture") or {"devicePosture": "SECURE"},
    }
    if row["token_data"]:
        device["enrollmentTokenData"] = row["token_data"]
    if row["disabled_reason"]:
        device["disabledReason"] = json.loads(row["disabled_reason"])
    if policy is None or row["applied_version"] is None:
        return device
    device["appliedPolicyName"] = policy_name(enterprise_id, row["applied_policy_id"])
    device["appliedPolicyVersion"] = str(row["applied_version"])
    device["lastPolicySyncTime"] = row["synced"]
    details = non_compliance(policy, model, bool(row["password"]))
    device["policyCompliant"] = not details
    if details:
        device["nonComplianceDetails"] = details
    if row["password"] and policy.get("passwordPolicies"):
        device["appliedPasswordPolicies"] = policy["passwordPolicies"]
    device.update(reports(policy.get("statusReportingSettings") or {}, model, row, policy))
    return device


def hardware_info(model: Model, row: sqlite3.Row) -> dict[str, Any]:
    """``hardwareInfo``: reported whatever the policy says. A personally owned device on
    Android 12 (API 31) or newer reports its enterprise-specific id as its serial number
    (ANDROID.md 2.3): the hardware serial stays on the device."""
    specific = row["id"].upper()
    personal = row["ownership"] == "PERSONALLY_OWNED" and model.api_level >= 31
    return {
        "brand": model.brand,
        "manufacturer": model.manufacturer,
        "model": model.model,
        "hardware": model.hardware,
        "serialNumber": specific if personal else row["serial"],
        "enterpriseSpecificId": specific,
        "deviceBasebandVersion": f"g5300i-{model.api_level}0101-B-{model.build_number[:6]}",
    }


def non_compliance(policy: dict[str, Any], model: Model, password: bool) -> list[dict[str, Any]]:
    """The ``nonComplianceDetails`` of a device of ``model`` applying ``policy``."""
    details: list[dict[str, Any]] = []
    wants_password = any(
        entry.get("passwordQuality", "PASSWORD_QUALITY_UNSPECIFIED")
        != "PASSWORD_QUALITY_UNSPECIFIED"
        for entry in policy.get("passwordPolicies") or []
    )
    if wants_password and not password:
        details.append({"settingName": "passwordPolicies", "nonComplianceReason": "USER_ACTION"})
    minimum = int(policy.get("minimumApiLevel") or 0)
    if minimum > model.api_level:
        details.append(
            {
                "settingName": "minimumApiLevel",
                "nonComplianceReason": "OS_NOT_PERMITTED",
                "currentValue": model.api_level,
            }
        )
    return details


def reports(
    settings: dict[str, Any], model: Model, row: sqlite3.Row, policy: dict[str, Any]
) -> dict[str, Any]:
    """The report sections ``statusReportingSettings`` enable, and only those."""
    now = row["reported"] or row["synced"] or row["enrolled"]
    battery = float(extra_of(row).get("battery", 87.0))
    out: dict[str, Any] = {}
    if settings.get("softwareInfoEnabled"):
        out["softwareInfo"] = {
            "androidVersion": model.android_version,
            "securityPatchLevel": model.security_patch,
            "androidBuildNumber": model.build_number,
            "androidDevicePolicyVersionName": DPC_VERSION[0],
            "androidDevicePolicyVersionCode": DPC_VERSION[1],
            "primaryLanguageCode": "ja-JP",
            "deviceKernelVersion": "6.1.99-android14-11",
            "bootloaderVersion": f"{model.hardware}-1.0",
            "systemUpdateInfo": {"updateStatus": "UP_TO_DATE"},
        }
    if settings.get("networkInfoEnabled"):
        out["networkInfo"] = {
            "imei": row["imei"],
            "wifiMacAddress": row["wifi_mac"],
            "networkOperatorName": model.carrier,
            "telephonyInfos": [{"carrierName": model.carrier}],
        }
    if settings.get("memoryInfoEnabled"):
        out["memoryInfo"] = {
            "totalRam": str(model.ram_bytes),
            "totalInternalStorage": str(model.storage_bytes),
        }
    if settings.get("displayInfoEnabled"):
        out["displays"] = [
            {
                "name": "Built-in Screen",
                "displayId": 0,
                "state": "ON",
                "width": model.width,
                "height": model.height,
                "density": model.density,
                "refreshRate": model.refresh_rate,
            }
        ]
    if settings.get("powerManagementEventsEnabled"):
        out["powerManagementEvents"] = [
            {"eventType": "BATTERY_LEVEL_COLLECTED", "createTime": now, "batteryLevel": battery}
        ]
    if settings.get("deviceSettingsEnabled"):
        out["deviceSettings"] = {
            "isDeviceSecure": bool(row["password"]),
            "unknownSourcesEnabled": False,
            "developmentSettingsEnabled": False,
            "adbEnabled": False,
            "isEncrypted": True,
            "encryptionStatus": "ENCRYPTED_PER_USER",
            "verifyAppsEnabled": True,
        }
    if settings.get("applicationReportsEnabled"):
        out["applicationReports"] = application_reports(policy)
    if settings.get("hardwareStatusEnabled"):
        out["hardwareStatusSamples"] = [
            {"createTime": now, "batteryTemperatures": [31.5], "cpuTemperatures": [38.0]}
        ]
    if settings.get("commonCriteriaModeEnabled"):
        out["commonCriteriaModeInfo"] = {
            "commonCriteriaModeStatus": "COMMON_CRITERIA_MODE_DISABLED"
        }
    if settings.get("systemPropertiesEnabled"):
        out["systemProperties"] = {"ro.build.version.sdk": str(model.api_level)}
    return out


def application_reports(policy: dict[str, Any]) -> list[dict[str, Any]]:
    """The apps on the device: the base apps and the policy's installed ones."""
    apps = [
        {
            "packageName": package,
            "displayName": name,
            "versionName": version,
            "versionCode": code,
            "state": "INSTALLED",
            "applicationSource": (
                "SYSTEM_APP_FACTORY_VERSION" if source == "SYSTEM" else "INSTALLED_FROM_PLAY_STORE"
            ),
            "installerPackageName": "com.android.vending",
            "userFacingType": "USER_FACING",
        }
        for package, name, version, code, source in BASE_APPS
    ]
    known = {app["packageName"] for app in apps}
    for app in policy.get("applications") or []:
        package = app.get("packageName")
        if app.get("installType") in INSTALLED_TYPES and package and package not in known:
            known.add(package)
            apps.append(
                {
                    "packageName": package,
                    "displayName": package,
                    "versionName": "1.0.0",
                    "versionCode": 1,
                    "state": "INSTALLED",
                    "applicationSource": "INSTALLED_FROM_PLAY_STORE",
                    "installerPackageName": "com.android.vending",
                    "userFacingType": "USER_FACING",
                }
            )
    return apps


def rendered(store: Store, rows: list[sqlite3.Row]) -> list[dict[str, Any]]:
    """``device_resource`` of each row, each applied policy read once."""
    policies: dict[tuple[str, str], dict[str, Any] | None] = {}
    out = []
    for row in rows:
        key = (row["enterprise_id"], row["applied_policy_id"] or "")
        if key not in policies:
            policies[key] = policy_load(store, *key) if key[1] else None
        out.append(device_resource(row, policies[key]))
    return out


# ── devices ──────────────────────────────────────────────────────────────────────────────────


def device_row(store: Store, enterprise_id: str, device_id: str) -> sqlite3.Row:
    """The device's row; 404 NOT_FOUND for an unknown or deleted device."""
    rows = store.read(
        "SELECT * FROM device WHERE enterprise_id = ? AND id = ?", (enterprise_id, device_id)
    )
    if not rows:
        raise not_found()
    return rows[0]


def device_list(call: Call) -> dict[str, Any]:
    """enterprises.devices.list: ``{devices[], nextPageToken}`` in enrollment order.

    ``pageSize`` default 10, larger than 100 coerced to 100; pages by keyset on ``seq``.
    """
    enterprise_load(call.store, call.path["enterprise"])
    size = common.page_size(call.query)
    rows = call.store.read(
        "SELECT * FROM device WHERE enterprise_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (call.path["enterprise"], common.page_after(call.query), size + 1),
    )
    page, token = common.paged(rows, size)
    answer: dict[str, Any] = {"devices": rendered(call.store, page)}
    if token:
        answer["nextPageToken"] = token
    return answer


def device_get(call: Call) -> dict[str, Any]:
    """enterprises.devices.get; 404 for a deleted device."""
    row = device_row(call.store, call.path["enterprise"], call.path["device"])
    return rendered(call.store, [row])[0]


PATCHABLE = ("state", "policyName", "disabledReason")


def device_patch(call: Call) -> dict[str, Any]:
    """enterprises.devices.patch: only ``state`` (ACTIVE/DISABLED), ``policyName``, ``disabledReason``.

    Another field in ``updateMask`` is a 400 INVALID_ARGUMENT. Without a mask, each of the three
    present in the body is changed. A new policy that exists is applied at once.
    """
    enterprise_id, device_id = call.path["enterprise"], call.path["device"]
    row = device_row(call.store, enterprise_id, device_id)
    mask = common.update_mask(call.query)
    for name in mask or []:
        if name not in PATCHABLE:
            raise invalid("update_mask", f"Field {name!r} of a device cannot be updated.")
    fields = [name for name in (mask or PATCHABLE) if mask is not None or name in call.body]
    state, policy_id = row["state"], row["policy_id"]
    reason = row["disabled_reason"]
    if "state" in fields:
        state = call.body.get("state", "ACTIVE")
        if state not in ("ACTIVE", "DISABLED"):
            raise invalid("device.state", "Only ACTIVE and DISABLED can be set.")
        if state == "ACTIVE" and row["applied_version"] is None:
            state = "PROVISIONING"
    if "policyName" in fields:
        policy_id = device_policy_id(enterprise_id, call.body.get("policyName"))
    if "disabledReason" in fields:
        given = call.body.get("disabledReason")
        reason = json.dumps(given) if given else None
    with call.store.write() as db:
        db.execute(
            "UPDATE device SET state = ?, policy_id = ?, disabled_reason = ?, "
            "next_report = CASE WHEN next_report IS NULL THEN NULL ELSE ? END "
            "WHERE enterprise_id = ? AND id = ?",
            (state, policy_id, reason, time.time(), enterprise_id, device_id),
        )
        policy = policy_load(call.store, enterprise_id, policy_id)
        if policy is not None and policy_id != row["applied_policy_id"]:
            db.execute(
                "UPDATE device SET applied_policy_id = ?, applied_version = ?, synced = ?, "
                "state = CASE state WHEN 'PROVISIONING' THEN 'ACTIVE' ELSE state END "
                "WHERE enterprise_id = ? AND id = ?",
                (policy_id, int(policy["version"]), common.rfc3339(time.time()),
                 enterprise_id, device_id),
            )  # fmt: skip
    return device_get(call)


def device_policy_id(enterprise_id: str, value: Any) -> str:
    """The policy id of a device's ``policyName`` (a bare id is accepted); 400 if malformed."""
    text = str(value or "")
    prefix = f"enterprises/{enterprise_id}/policies/"
    policy_id = text.removeprefix(prefix) if text.startswith(prefix) else text
    if not policy_id or "/" in policy_id:
        raise invalid("device.policy_name", f"Invalid policy name {text!r}.")
    return policy_id


def device_delete(call: Call) -> dict[str, Any]:
    """enterprises.devices.delete: the device is gone (404 from then on); it is asked to wipe.

    ``wipeReasonMessage`` longer than 200 characters: 400 INVALID_ARGUMENT. "If the device is
    deleted via the API call, this state is published to Pub/Sub" (ANDROID.md 2.3): a final
    STATUS_REPORT with ``appliedState`` DELETED is queued in the same write (``device_gone``).
    """
    if len(call.query.get("wipeReasonMessage", "")) > 200:
        raise invalid("wipe_reason_message", "wipeReasonMessage is longer than 200 characters.")
    enterprise_id, device_id = call.path["enterprise"], call.path["device"]
    row = device_row(call.store, enterprise_id, device_id)
    with call.store.write() as db:
        device_gone(db, call.store, row, time.time())
    return {}


def device_gone(db: sqlite3.Connection, store: Store, row: sqlite3.Row, now: float) -> None:
    """The device's final STATUS_REPORT (``appliedState`` DELETED) queued, then the device and
    its pending operations deleted (inside the caller's write). Its finished operations stay, so
    ``operations.get`` still answers for a WIPE."""
    final = rendered(store, [row])[0]
    final["appliedState"] = "DELETED"
    final["lastStatusReportTime"] = common.rfc3339(now)
    notify(db, row["enterprise_id"], "STATUS_REPORT", final, now)
    db.execute("DELETE FROM device WHERE seq = ?", (row["seq"],))
    db.execute(
        "DELETE FROM operation WHERE enterprise_id = ? AND device_id = ? AND done = 0",
        (row["enterprise_id"], row["id"]),
    )


# ── commands and operations ──────────────────────────────────────────────────────────────────

COMMAND_TYPE = "type.googleapis.com/google.android.devicemanagement.v1.Command"
PARAMS_TYPE = {
    "clearAppsDataParams": "CLEAR_APP_DATA",
    "startLostModeParams": "START_LOST_MODE",
    "stopLostModeParams": "STOP_LOST_MODE",
    "addEsimParams": "ADD_ESIM",
    "removeEsimParams": "REMOVE_ESIM",
    "requestDeviceInfoParams": "REQUEST_DEVICE_INFO",
    "wipeParams": "WIPE",
}


def command_issue(call: Call) -> dict[str, Any]:
    """enterprises.devices.issueCommand → a pending ``Operation`` (``done: false``).

    ``type`` is filled in from a ``*Params`` object when absent; a missing or unspecified type
    is a 400 INVALID_ARGUMENT. ``metadata`` is the Command with ``createTime``, ``duration``
    (default ``600s``) and ``userName``; ``newPassword`` is never echoed nor stored (only
    ``password_verdict`` on it). The device picks it up a moment later (``virtual``).
    """
    enterprise_id, device_id = call.path["enterprise"], call.path["device"]
    row = device_row(call.store, enterprise_id, device_id)
    verdict = password_verdict(call.body.get("newPassword"), model_get(row["model"]).api_level)
    command = {key: value for key, value in call.body.items() if key != "newPassword"}
    for params, kind in PARAMS_TYPE.items():
        if params in command:
            command.setdefault("type", kind)
    allowed = common.enum_values("Command", "type")[1:]
    if command.get("type") not in allowed:
        raise invalid("command.type", f"Invalid value at 'command.type' ({command.get('type')!r}).")
    duration = 600.0
    if "duration" in command:
        duration = common.duration_seconds(command["duration"], "command.duration")
    command.setdefault("duration", "600s")
    now = time.time()
    command["createTime"] = common.rfc3339(now)
    command["userName"] = f"enterprises/{enterprise_id}/users/{row['user_id']}"
    operation_id = str(secrets.randbelow(9 * 10**18) + 10**18)
    operation = {
        "name": f"{device_name(enterprise_id, device_id)}/operations/{operation_id}",
        "metadata": {"@type": COMMAND_TYPE, **command},
        "done": False,
    }
    with call.store.write() as db:
        db.execute(
            "INSERT INTO operation (enterprise_id, device_id, id, body, due, expires, verdict) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (enterprise_id, device_id, operation_id, json.dumps(operation), now,
             now + duration, verdict),
        )  # fmt: skip
    return operation


def password_verdict(password: Any, api_level: int) -> str:
    """What the device needs to know of a RESET_PASSWORD's ``newPassword``, never the password:
    ``""`` (none given: the password is removed), ``"set"``, or ``"short"`` — a numeric one of
    fewer than 6 digits, which Android 14 and later refuse with INVALID_VALUE (ANDROID.md 2.2)."""
    if not password:
        return ""
    text = str(password)
    if text.isdigit() and len(text) < 6 and api_level >= 34:
        return "short"
    return "set"


def operation_row(call: Call) -> sqlite3.Row:
    """The operation's row; 404 NOT_FOUND for an unknown one."""
    rows = call.store.read(
        "SELECT seq, body FROM operation WHERE enterprise_id = ? AND device_id = ? AND id = ?",
        (call.path["enterprise"], call.path["device"], call.path["operation"]),
    )
    if not rows:
        raise not_found()
    return rows[0]


def operation_get(call: Call) -> dict[str, Any]:
    """enterprises.devices.operations.get."""
    body: dict[str, Any] = json.loads(operation_row(call)["body"])
    return body


def operation_list(call: Call) -> dict[str, Any]:
    """enterprises.devices.operations.list: ``{operations[], nextPageToken}``, oldest first.

    ``filter`` and ``returnPartialSuccess`` are accepted and ignored.
    """
    device_row(call.store, call.path["enterprise"], call.path["device"])
    size = common.page_size(call.query)
    rows = call.store.read(
        "SELECT seq, body FROM operation WHERE enterprise_id = ? AND device_id = ? AND seq > ? "
        "ORDER BY seq LIMIT ?",
        (call.path["enterprise"], call.path["device"], common.page_after(call.query), size + 1),
    )
    page, token = common.paged(rows, size)
    answer: dict[str, Any] = {"operations": [json.loads(row["body"]) for row in page]}
    if token:
        answer["nextPageToken"] = token
    return answer


def operation_cancel(call: Call) -> dict[str, Any]:
    """enterprises.devices.operations.cancel: a pending operation ends with ``error.code = 1``.

    Best effort, as Google's: cancelling a finished operation changes nothing and succeeds (the
    device may have won the race). A cancelled operation is finished: a COMMAND notification
    carries it, as for any other end.
    """
    row = operation_row(call)
    operation = json.loads(row["body"])
    if not operation.get("done"):
        operation["done"] = True
        operation["error"] = {"code": 1, "message": "The operation was cancelled.", "details": []}
        with call.store.write() as db:
            changed = db.execute(
                "UPDATE operation SET body = ?, done = 1 WHERE seq = ? AND done = 0",
                (json.dumps(operation), row["seq"]),
            ).rowcount
            if changed:
                notify(db, call.path["enterprise"], "COMMAND", operation)
    return {}
