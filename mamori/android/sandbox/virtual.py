"""The virtual devices at work: status reports on an interval and on change, commands executed.

``DeviceLoop`` is one daemon thread of ``serve`` (never a thread per device: 100,000 devices are
100,000 rows). Each turn it reads only what is due, through partial indexes, in batches of
``BATCH`` rows, each step one write:

1. **Expiry**: a pending operation past ``createTime`` + ``duration`` (default ``600s``) ends
   ``done: true`` with ``error {code: 4 (DEADLINE_EXCEEDED), message: "The command expired
   before the device received it."}`` and no ``errorCode`` (the Command's ``errorCode`` describes
   a device's failure). How Google reports an expired command is undocumented (ANDROID.md 4):
   this is the sandbox's choice, and Mamori reads code 4 as expired.
2. **Commands**: the device "polls": an operation is executed ``command_delay`` seconds after it
   was issued (default 1 s) by a device that reports (a silent device, ``--stop-reporting``, is
   offline: its commands wait and expire). What each does is ANDROID.md 2.2:

   * LOCK completes (AMAPI has no "locked" state).
   * RESET_PASSWORD sets the password (a password policy is then met; without ``newPassword``
     the password is removed). A numeric password of fewer than 6 digits on Android 14+ fails
     with ``errorCode`` INVALID_VALUE.
   * REBOOT (fully managed, API ≥ 24): a USAGE_LOGS ``OS_STARTUP`` event and a fresh report.
   * START_LOST_MODE / STOP_LOST_MODE (company-owned only): ``state`` and ``appliedState`` LOST
     and back, ``startLostModeStatus`` / ``stopLostModeStatus`` in the metadata, a
     ``LOST_MODE_LOCATION`` USAGE_LOGS event on start. ALREADY_IN_LOST_MODE and
     NOT_IN_LOST_MODE end without an error; RESET_PASSWORD_RECENTLY (a RESET_PASSWORD executed
     less than ``RECENT_RESET`` seconds before: "recently" is not quantified anywhere read, 12 h
     is the sandbox's guess) ends with ``error`` code 9. Start without any of the message, phone,
     street address or e-mail fails with INVALID_VALUE.
   * CLEAR_APP_DATA (API ≥ 28): ``clearAppsDataStatus.results`` per package: SUCCESS for an app
     on the device, APP_NOT_FOUND for one it lacks, APP_PROTECTED for Android Device Policy.
   * RELINQUISH_OWNERSHIP (company-owned work profile, API ≥ 26) and WIPE: the device
     acknowledges, then sends its final STATUS_REPORT (``appliedState`` DELETED) and is gone.
   * ADD_ESIM, REMOVE_ESIM, REQUEST_DEVICE_INFO: ``errorCode`` UNSUPPORTED (out of scope).

   A command that does not apply to the device's management mode or API level ends ``done:
   true`` with ``errorCode`` MANAGEMENT_MODE or API_LEVEL and ``error`` code 9
   (FAILED_PRECONDITION); INVALID_VALUE comes with code 3 (INVALID_ARGUMENT). Every finished
   operation (cancelled ones too, ``devices.operation_cancel``) is published as a COMMAND
   notification, and the device reports at once.
3. **Reports**: a device whose ``next_report`` has come sends a STATUS_REPORT (its ``Device`` as
   ``devices.device_resource`` renders it, ``lastStatusReportTime`` now) and is due again in
   ``report_interval`` seconds ± 10 %. A change (policy, patch, command, control) sets
   ``next_report`` to now.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from mamori.android.sandbox import common
from mamori.android.sandbox.catalogue import model_get
from mamori.android.sandbox.devices import (
    application_reports,
    device_gone,
    extra_of,
    rendered,
)
from mamori.android.sandbox.notify import enterprise_topic, notify, usage_logs
from mamori.android.sandbox.resources import policy_load
from mamori.android.sandbox.store import Store

BATCH = 500  # rows per step and turn
JITTER = 0.1  # ± share of the report interval
RECENT_RESET = 12 * 3600  # seconds: RESET_PASSWORD "recently" before START_LOST_MODE
DPC_PACKAGE = "com.google.android.apps.work.clouddpc"
TOKYO = {"latitude": 35.681236, "longitude": 139.767125}  # a lost device's location

# google.rpc codes of a finished operation's ``error``.
CANCELLED, INVALID_ARGUMENT, DEADLINE_EXCEEDED, FAILED_PRECONDITION = 1, 3, 4, 9

# type → (who it applies to, minimum API level); ANDROID.md 2.2.
FULLY_MANAGED, COMPANY_OWNED, COMPANY_WORK_PROFILE = "fully managed", "company-owned", "cope"
RULES: dict[str, tuple[str | None, int]] = {
    "LOCK": (None, 0),
    "RESET_PASSWORD": (None, 0),
    "REBOOT": (FULLY_MANAGED, 24),
    "START_LOST_MODE": (COMPANY_OWNED, 0),
    "STOP_LOST_MODE": (COMPANY_OWNED, 0),
    "CLEAR_APP_DATA": (None, 28),
    "RELINQUISH_OWNERSHIP": (COMPANY_WORK_PROFILE, 26),
    "WIPE": (None, 0),
}


@dataclass
class Outcome:
    """What executing a command did: to the operation, to the device, and what it logged."""

    status: dict[str, Any] = field(default_factory=dict)  # merged into the metadata
    error_code: str | None = None  # Command.errorCode
    error: tuple[int, str] | None = None  # Operation.error (google.rpc code, message)
    state: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    password: int | None = None
    events: list[dict[str, Any]] = field(default_factory=list)  # USAGE_LOGS events
    gone: bool = False


def applies(rule: str | None, row: sqlite3.Row) -> bool:
    """Whether a command for ``rule`` (a ``RULES`` kind) applies to the device's mode."""
    owner, company = row["management_mode"] == "DEVICE_OWNER", row["ownership"] == "COMPANY_OWNED"
    if rule == FULLY_MANAGED:
        return owner
    if rule == COMPANY_OWNED:
        return company
    if rule == COMPANY_WORK_PROFILE:
        return company and not owner
    return True


def refusal(kind: str, row: sqlite3.Row) -> Outcome | None:
    """The failure of a command that does not apply to the device, or None."""
    if kind not in RULES:
        return Outcome(error_code="UNSUPPORTED", error=(FAILED_PRECONDITION, f"{kind} is not "
                       "supported by the sandbox's devices."))  # fmt: skip
    rule, minimum = RULES[kind]
    if not applies(rule, row):
        return Outcome(
            error_code="MANAGEMENT_MODE",
            error=(FAILED_PRECONDITION, f"{kind} is only supported on {rule} devices."),
        )
    if model_get(row["model"]).api_level < minimum:
        return Outcome(
            error_code="API_LEVEL",
            error=(FAILED_PRECONDITION, f"{kind} needs API level {minimum} or higher."),
        )
    return None


def invalid_value(message: str) -> Outcome:
    """An INVALID_VALUE failure."""
    return Outcome(error_code="INVALID_VALUE", error=(INVALID_ARGUMENT, message))


def effect(
    store: Store, kind: str, command: dict[str, Any], row: sqlite3.Row, verdict: str, now: float
) -> Outcome:
    """What the device does for a command that applies to it (the module docstring)."""
    extra = extra_of(row)
    if kind == "RESET_PASSWORD":
        if verdict == "short":
            return invalid_value("A numeric password must be at least 6 digits long.")
        return Outcome(password=int(verdict == "set"), extra={"password_reset": now})
    if kind == "REBOOT":
        boot = {"verifiedBootState": "GREEN", "verityMode": "ENFORCING"}
        return Outcome(events=[{"eventType": "OS_STARTUP", "osStartupEvent": boot}])
    if kind == "START_LOST_MODE":
        return lost_mode_start(command.get("startLostModeParams") or {}, row, extra, now)
    if kind == "STOP_LOST_MODE":
        if row["state"] != "LOST":
            return Outcome(status={"stopLostModeStatus": {"status": "NOT_IN_LOST_MODE"}})
        return Outcome(
            status={"stopLostModeStatus": {"status": "SUCCESS"}},
            state=str(extra.get("before_lost") or "ACTIVE"),
        )
    if kind == "CLEAR_APP_DATA":
        return apps_clear(store, command.get("clearAppsDataParams") or {}, row)
    if kind in ("WIPE", "RELINQUISH_OWNERSHIP"):
        return Outcome(gone=True)
    return Outcome()  # LOCK


LOST_PARAMS = ("lostMessage", "lostPhoneNumber", "lostStreetAddress", "lostEmailAddress")


def lost_mode_start(
    params: dict[str, Any], row: sqlite3.Row, extra: dict[str, Any], now: float
) -> Outcome:
    """START_LOST_MODE: LOST, or why not (``startLostModeStatus``)."""
    if not any(params.get(name) for name in LOST_PARAMS):
        return invalid_value(
            "At least one of the parameters, not including the organization name, must be given."
        )
    if row["state"] == "LOST":
        return Outcome(status={"startLostModeStatus": {"status": "ALREADY_IN_LOST_MODE"}})
    if now - float(extra.get("password_reset", 0)) < RECENT_RESET:
        return Outcome(
            status={"startLostModeStatus": {"status": "RESET_PASSWORD_RECENTLY"}},
            error=(FAILED_PRECONDITION, "The password was reset recently."),
        )
    battery = int(float(extra.get("battery", 87.0)))
    location = {"location": dict(TOKYO), "batteryLevel": battery}
    return Outcome(
        status={"startLostModeStatus": {"status": "SUCCESS"}},
        state="LOST",
        extra={"before_lost": row["state"]},
        events=[{"eventType": "LOST_MODE_LOCATION", "lostModeLocationEvent": location}],
    )


def apps_clear(store: Store, params: dict[str, Any], row: sqlite3.Row) -> Outcome:
    """CLEAR_APP_DATA: ``clearAppsDataStatus.results`` per package named."""
    packages = [str(name) for name in params.get("packageNames") or []]
    if not packages:
        return invalid_value("packageNames must name at least one package.")
    policy = None
    if row["applied_policy_id"]:
        policy = policy_load(store, row["enterprise_id"], row["applied_policy_id"])
    installed = {app["packageName"] for app in application_reports(policy or {})}
    results = {}
    for package in packages:
        result = "SUCCESS" if package in installed else "APP_NOT_FOUND"
        if package == DPC_PACKAGE:
            result = "APP_PROTECTED"
        results[package] = {"clearingResult": result}
    return Outcome(status={"clearAppsDataStatus": {"results": results}})


def finish(
    db: sqlite3.Connection,
    op: sqlite3.Row,
    operation: dict[str, Any],
    outcome: Outcome,
    now: float,
) -> None:
    """Store the finished operation and queue its COMMAND notification."""
    operation["done"] = True
    operation["metadata"].update(outcome.status)
    if outcome.error_code:
        operation["metadata"]["errorCode"] = outcome.error_code
    if outcome.error:
        code, message = outcome.error
        operation["error"] = {"code": code, "message": message, "details": []}
    db.execute(
        "UPDATE operation SET body = ?, done = 1 WHERE seq = ?", (json.dumps(operation), op["seq"])
    )
    notify(db, op["enterprise_id"], "COMMAND", operation, now)


def execute(db: sqlite3.Connection, store: Store, op: sqlite3.Row, now: float) -> None:
    """Execute one pending operation on its device (inside the caller's write)."""
    operation = json.loads(op["body"])
    device = db.execute(
        "SELECT * FROM device WHERE enterprise_id = ? AND id = ?",
        (op["enterprise_id"], op["device_id"]),
    ).fetchone()
    if device is None:  # deleted meanwhile: nothing will ever execute it
        return
    kind = str(operation["metadata"].get("type"))
    outcome = refusal(kind, device) or effect(
        store, kind, operation["metadata"], device, op["verdict"], now
    )
    finish(db, op, operation, outcome, now)
    if outcome.events:
        batch = usage_logs(device["enterprise_id"], device["id"], device["user_id"],
                           outcome.events, now)  # fmt: skip
        notify(db, device["enterprise_id"], "USAGE_LOGS", batch, now)
    if outcome.gone:
        device_gone(db, store, device, now)
        return
    extra = {**extra_of(device), **outcome.extra}
    db.execute(
        "UPDATE device SET state = ?, password = ?, extra = ?, next_report = ? WHERE seq = ?",
        (outcome.state or device["state"],
         device["password"] if outcome.password is None else outcome.password,
         json.dumps(extra), now, device["seq"]),
    )  # fmt: skip


def expire(db: sqlite3.Connection, op: sqlite3.Row, now: float) -> None:
    """End an operation past its duration (the module docstring)."""
    outcome = Outcome(
        error=(DEADLINE_EXCEEDED, "The command expired before the device received it.")
    )
    finish(db, op, json.loads(op["body"]), outcome, now)


class DeviceLoop(common.Loop):
    """The thread that makes the virtual devices report and execute commands.

    ``report_interval`` (seconds, jittered ± 10 %), ``command_delay`` (seconds between
    ``issueCommand`` and its execution) and ``tick`` (seconds between turns with nothing due)
    may be changed while it runs. ``start()`` / ``stop()`` run its thread (``common.Loop``);
    ``turn()`` does one turn by hand (tests) and returns how many rows it handled.
    """

    thread_name = "amapi-devices"

    def __init__(
        self,
        store: Store,
        *,
        report_interval: float = 900.0,
        command_delay: float = 1.0,
        tick: float = 0.2,
    ) -> None:
        self.store = store
        self.report_interval = report_interval
        self.command_delay = command_delay
        self.tick = tick
        super().__init__()

    def step(self) -> range:
        """One turn of the loop; ``range(n)`` for the ``n`` rows it handled."""
        return range(self.turn())

    def turn(self, now: float | None = None) -> int:
        """Expire, execute and report what is due at ``now`` (default: the clock)."""
        moment = time.time() if now is None else now
        return self.expire_due(moment) + self.execute_due(moment) + self.report_due(moment)

    def expire_due(self, now: float) -> int:
        """End the pending operations past their duration."""
        with self.store.write() as db:
            rows = db.execute(
                "SELECT * FROM operation WHERE done = 0 AND expires <= ? LIMIT ?", (now, BATCH)
            ).fetchall()
            for op in rows:
                expire(db, op, now)
        return len(rows)

    def execute_due(self, now: float) -> int:
        """Execute the operations picked up by now, on devices that are online."""
        with self.store.write() as db:
            rows = db.execute(
                "SELECT o.* FROM operation o JOIN device d "
                "ON d.enterprise_id = o.enterprise_id AND d.id = o.device_id "
                "WHERE o.done = 0 AND o.due <= ? AND d.next_report IS NOT NULL "
                "ORDER BY o.due, o.seq LIMIT ?",
                (now - self.command_delay, BATCH),
            ).fetchall()
            for op in rows:
                execute(db, self.store, op, now)
        return len(rows)

    def report_due(self, now: float) -> int:
        """Send the STATUS_REPORTs that are due; each device is due again an interval later."""
        with self.store.write() as db:
            rows = db.execute(
                "SELECT seq, enterprise_id FROM device WHERE next_report <= ? "
                "ORDER BY next_report LIMIT ?",
                (now, BATCH),
            ).fetchall()
            if not rows:
                return 0
            stamp = common.rfc3339(now)
            db.executemany(
                "UPDATE device SET reported = ?, next_report = ? WHERE seq = ?",
                [(stamp, self.next_report(now), row["seq"]) for row in rows],
            )
            wanted = {
                enterprise: enterprise_topic(db, enterprise, "STATUS_REPORT") is not None
                for enterprise in {row["enterprise_id"] for row in rows}
            }
            seqs = [row["seq"] for row in rows if wanted[row["enterprise_id"]]]
            for start in range(0, len(seqs), 500):
                chunk = seqs[start : start + 500]
                marks = ",".join("?" * len(chunk))
                devices = db.execute(
                    f"SELECT * FROM device WHERE seq IN ({marks})",  # noqa: S608 - marks only
                    chunk,
                ).fetchall()
                for resource in rendered(self.store, devices):
                    enterprise_id = resource["name"].split("/")[1]
                    notify(db, enterprise_id, "STATUS_REPORT", resource, now)
        return len(rows)

    def next_report(self, now: float) -> float:
        """When a device that reported at ``now`` reports again."""
        spread = self.report_interval * JITTER
        return now + self.report_interval + random.uniform(-spread, spread)
