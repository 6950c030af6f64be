"""What a person does to a virtual device by hand: ``mamori amapi-sandbox device NAME --…``.

The command writes the change to the state file; ``serve`` (another process) sees it on its
next turn, since each change that a device would report sets ``next_report`` to now
(``virtual.DeviceLoop`` sends the STATUS_REPORT). The controls, applied in this order:

* ``stop_reporting``: the device goes silent (offline): no reports, no commands executed (they
  wait and expire). ``resume_reporting``: it reports at once and picks its commands up again.
* ``posture``: the ``securityPosture`` the device reports (``POSTURES``): ``compromised`` is
  POTENTIALLY_COMPROMISED with a COMPROMISED_OS ``postureDetails`` entry and its advice
  (ANDROID.md 2.3), a ``UserFacingMessage`` localized in English and Japanese as Google's is;
  ``at_risk`` AT_RISK with an UNKNOWN_OS entry; ``secure`` SECURE again (what undoes the
  others). ``compromised=True`` is ``posture="compromised"``.
* ``battery``: the battery level (0–100 %), reported as a ``powerManagementEvents``
  BATTERY_LEVEL_COLLECTED event with ``batteryLevel`` (when the policy enables them).
* ``report_now``: a STATUS_REPORT at once (a silent device reports, and is no longer silent).
* ``remove_work_profile``: the user removes the work profile (or resets the phone): the device
  vanishes from the sandbox **without** a word to the server — "the device state will remain
  unknown to the server" (ANDROID.md 2.3). Applied last; nothing else matters then.

And one control of an enterprise, ``mamori amapi-sandbox enterprise NAME --revoke-access``: as
when the customer's administrator removes the EMM (or deletes the enterprise) in Google's own
console, every call about the enterprise is then refused with 403 PERMISSION_DENIED ("The caller
does not have permission", Google's usual words); ``--restore-access`` undoes it. Mamori reads
that answer as a broken binding (issue 10's ``enterprise_unbound`` alert).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from mamori.android.sandbox.devices import extra_of
from mamori.android.sandbox.store import Store

COMPROMISED = {
    "devicePosture": "POTENTIALLY_COMPROMISED",
    "postureDetails": [
        {
            "securityRisk": "COMPROMISED_OS",
            "advice": [
                {
                    "defaultMessage": "The device's operating system may have been modified. "
                    "Factory reset the device.",
                    # As Google localizes advice: BCP 47 tags, the viewer's picked from them.
                    "localizedMessages": {
                        "en-US": "The device's operating system may have been modified. "
                        "Factory reset the device.",
                        "ja-JP": "デバイスのオペレーティング システムが改変されている可能性が"
                        "あります。デバイスを出荷時の状態にリセットしてください。",
                    },
                }
            ],
        }
    ],
}


AT_RISK = {
    "devicePosture": "AT_RISK",
    "postureDetails": [
        {
            "securityRisk": "UNKNOWN_OS",
            "advice": [
                {
                    "defaultMessage": "The device is running an unknown operating system. "
                    "Install an official build.",
                    "localizedMessages": {
                        "en-US": "The device is running an unknown operating system. "
                        "Install an official build.",
                        "ja-JP": "デバイスで不明なオペレーティング システムが動作しています。"
                        "公式のビルドをインストールしてください。",
                    },
                }
            ],
        }
    ],
}
# ``posture`` control → (the securityPosture reported, None: SECURE; the words of the answer).
POSTURES: dict[str, tuple[dict | None, str]] = {
    "secure": (None, "secure"),
    "at_risk": (AT_RISK, "at risk"),
    "compromised": (COMPROMISED, "potentially compromised"),
}


class ControlRefused(Exception):
    """The control cannot be applied; ``str()`` says why, in English (a developer's tool)."""


@dataclass(frozen=True)
class Controls:
    """The controls of one ``device`` command (see the module docstring)."""

    stop_reporting: bool = False
    resume_reporting: bool = False
    compromised: bool = False
    posture: str | None = None
    remove_work_profile: bool = False
    battery: float | None = None
    report_now: bool = False


def revoked_key(enterprise_id: str) -> str:
    """The ``config`` key that marks ``enterprise_id``'s access revoked (value "1")."""
    return f"revoked:{enterprise_id}"


def enterprise_access(store: Store, name: str, *, revoked: bool) -> str:
    """Revoke (or restore) Mamori's access to the enterprise ``name`` (``enterprises/E`` or
    ``E``); returns what was done, in one English line.

    Raises ``ControlRefused`` for an unknown enterprise.
    """
    enterprise_id = name.strip().removeprefix("enterprises/")
    if not store.read("SELECT id FROM enterprise WHERE id = ?", (enterprise_id,)):
        raise ControlRefused(f"No enterprise is named {name!r}.")
    with store.write() as db:
        if revoked:
            db.execute(
                "INSERT OR REPLACE INTO config VALUES (?, '1')", (revoked_key(enterprise_id),)
            )
        else:
            db.execute("DELETE FROM config WHERE key = ?", (revoked_key(enterprise_id),))
    if revoked:
        return f"enterprises/{enterprise_id}: access revoked (every call is 403 PERMISSION_DENIED)."
    return f"enterprises/{enterprise_id}: access restored."


def device_find(store: Store, name: str) -> tuple[str, str]:
    """``(enterprise id, device id)`` of ``enterprises/E/devices/D`` or a bare device id.

    Raises ``ControlRefused`` for an unknown device or a bare id two enterprises share.
    """
    parts = name.strip().split("/")
    if len(parts) == 4 and parts[0] == "enterprises" and parts[2] == "devices":
        rows = store.read(
            "SELECT enterprise_id, id FROM device WHERE enterprise_id = ? AND id = ?",
            (parts[1], parts[3]),
        )
    else:
        rows = store.read("SELECT enterprise_id, id FROM device WHERE id = ?", (parts[-1],))
    if not rows:
        raise ControlRefused(f"No device is named {name!r}.")
    if len(rows) > 1:
        raise ControlRefused(f"{name!r} names devices of several enterprises: give its full name.")
    return str(rows[0]["enterprise_id"]), str(rows[0]["id"])


def device_control(store: Store, name: str, controls: Controls) -> str:
    """Apply ``controls`` to the device ``name``; returns what was done, in one English line.

    Raises ``ControlRefused`` (unknown device, battery outside 0–100, stop and resume at once,
    an unknown posture or two different ones).
    """
    if controls.battery is not None and not 0 <= controls.battery <= 100:
        raise ControlRefused("--battery must be between 0 and 100.")
    if controls.stop_reporting and (controls.resume_reporting or controls.report_now):
        raise ControlRefused("--stop-reporting cannot be combined with --resume-reporting or "
                             "--report-now.")  # fmt: skip
    posture = _posture(controls)
    enterprise_id, device_id = device_find(store, name)
    now = time.time()
    done = []
    with store.write() as db:
        row = db.execute(
            "SELECT * FROM device WHERE enterprise_id = ? AND id = ?", (enterprise_id, device_id)
        ).fetchone()
        if row is None:
            raise ControlRefused(f"No device is named {name!r}.")
        if controls.remove_work_profile:
            db.execute("DELETE FROM device WHERE seq = ?", (row["seq"],))
            db.execute(
                "DELETE FROM operation WHERE enterprise_id = ? AND device_id = ? AND done = 0",
                (enterprise_id, device_id),
            )
            return f"{row['id']}: removed by its user; the server is not told."
        extra = extra_of(row)
        next_report = row["next_report"]
        if posture is not None:
            reported, words = POSTURES[posture]
            if reported is None:
                extra.pop("posture", None)  # SECURE, as a device never at risk reports
            else:
                extra["posture"] = reported
            done.append(words)
        if controls.battery is not None:
            extra["battery"] = float(controls.battery)
            done.append(f"battery {controls.battery:g} %")
        changed = bool(done)
        if controls.stop_reporting:
            next_report = None
            done.append("silent")
        elif controls.resume_reporting or controls.report_now or (changed and next_report):
            next_report = now
            done.append("reports now")
        db.execute(
            "UPDATE device SET extra = ?, next_report = ? WHERE seq = ?",
            (json.dumps(extra), next_report, row["seq"]),
        )
    return f"{device_id}: {', '.join(done) or 'unchanged'}."


def _posture(controls: Controls) -> str | None:
    """The posture to report (a key of ``POSTURES``), None to leave it; ``ControlRefused`` for
    an unknown one or ``compromised`` with another."""
    if controls.posture is not None and controls.posture not in POSTURES:
        raise ControlRefused(f"--posture must be one of {', '.join(POSTURES)}.")
    if controls.compromised and controls.posture not in (None, "compromised"):
        raise ControlRefused("--compromised cannot be combined with another --posture.")
    return "compromised" if controls.compromised else controls.posture
