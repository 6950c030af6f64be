"""Virtual devices: enrolling them with an enrollment token, as a phone would.

``mamori amapi-sandbox enroll`` and the tests' fixture call ``enroll`` on the state file itself
(no HTTP: nothing of a device's enrollment goes through the EMM's API, and the server need not
run). It refuses as Google refuses a device (``EnrollRefused``, with a message a person reads):
an unknown, deleted, expired or used one-time token, a personally-owned device with a token that
disallows personal usage, and past the project's device cap (``--device-cap`` of ``serve``,
kept in the state file).

What a device gets (ANDROID.md 2.3, 2.4): ``managementMode``/``ownership`` from the token's
``allowPersonalUsage`` (PERSONAL_USAGE_DISALLOWED[_USERLESS]: a fully managed or dedicated
device, DEVICE_OWNER and COMPANY_OWNED; otherwise a work profile, PROFILE_OWNER, company-owned
unless ``personal``); the token's policy (``enterprises/{e}/policies/default`` when it names none),
applied at once when it exists (ACTIVE), else PROVISIONING until it does.

An enrolled device is announced as a phone's is: an ENROLLMENT notification (its ``Device``) is
queued in the enrollment's own write, and its first STATUS_REPORT is due at once
(``next_report`` = now), so a running ``serve`` in another process delivers both (``notify``,
``push``, ``virtual``).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from typing import Any

from mamori.android.sandbox import catalogue, common
from mamori.android.sandbox.devices import device_name, rendered
from mamori.android.sandbox.notify import enterprise_topic, notify
from mamori.android.sandbox.store import Store

DISALLOWED = ("PERSONAL_USAGE_DISALLOWED", "PERSONAL_USAGE_DISALLOWED_USERLESS")


class EnrollRefused(Exception):
    """The enrollment was refused; ``str()`` is the reason, in English (a developer's tool)."""


def enroll(
    store: Store,
    token_value: str,
    count: int = 1,
    *,
    model: str | None = None,
    password: bool = False,
    personal: bool = False,
) -> list[str]:
    """Enroll ``count`` virtual devices with the token whose ``value`` is ``token_value``.

    Returns their names (``enterprises/{e}/devices/{d}``) in enrollment order. ``model`` is a
    catalogue key or model name (``catalogue.model_find``); without it the models take turns.
    ``password``: the devices have a screen lock. ``personal``: personally-owned devices (the
    token's code typed into Android Device Policy) rather than a QR scan on a company device.
    Raises ``EnrollRefused``; nothing is enrolled then.
    """
    if count < 1:
        raise EnrollRefused("--count must be at least 1.")
    models: tuple[catalogue.Model, ...] = catalogue.CATALOGUE
    if model:
        found = catalogue.model_find(model)
        if found is None:
            known = ", ".join(catalogue.model_names())
            raise EnrollRefused(f"Unknown model {model!r}: use one of {known}.")
        models = (found,)
    now = time.time()
    with store.write() as db:
        row = db.execute(
            "SELECT * FROM enrollment_token WHERE value = ?", (token_value.strip(),)
        ).fetchone()
        token = json.loads(row["body"]) if row else {}
        usage = token.get("allowPersonalUsage", "ALLOW_PERSONAL_USAGE_UNSPECIFIED")
        _check(row, token, count, personal and usage in DISALLOWED, now)
        _cap_check(store, db.execute("SELECT COUNT(*) FROM device").fetchone()[0], count)
        enterprise_id = row["enterprise_id"]
        policy_id = token.get("policyName", "/default").rsplit("/", 1)[-1]
        policy_row = db.execute(
            "SELECT body FROM policy WHERE enterprise_id = ? AND id = ?",
            (enterprise_id, policy_id),
        ).fetchone()
        version = int(json.loads(policy_row["body"])["version"]) if policy_row else None
        owner = usage in DISALLOWED
        stamp = common.rfc3339(now)
        start = secrets.randbelow(len(models))
        devices = []
        for index in range(count):
            kind = models[(start + index) % len(models)]
            devices.append(
                (enterprise_id, secrets.token_hex(8), "u" + secrets.token_hex(8), policy_id,
                 policy_id if version else None, version, "ACTIVE" if version else "PROVISIONING",
                 "DEVICE_OWNER" if owner else "PROFILE_OWNER",
                 "PERSONALLY_OWNED" if personal else "COMPANY_OWNED", kind.key,
                 catalogue.serial_new(kind), catalogue.imei_new(kind), catalogue.mac_new(),
                 int(password), row["id"], token.get("additionalData", ""), stamp,
                 stamp if version else None, now)
            )  # fmt: skip
        first = db.execute("SELECT COALESCE(MAX(seq), 0) FROM device").fetchone()[0]
        db.executemany(
            "INSERT INTO device (enterprise_id, id, user_id, policy_id, applied_policy_id, "
            "applied_version, state, management_mode, ownership, model, serial, imei, wifi_mac, "
            "password, token_id, token_data, enrolled, synced, next_report) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            devices,
        )
        if token.get("oneTimeOnly"):
            db.execute("UPDATE enrollment_token SET used = 1 WHERE seq = ?", (row["seq"],))
        if enterprise_topic(db, enterprise_id, "ENROLLMENT"):  # rendered only when wanted
            enrolled = db.execute("SELECT * FROM device WHERE seq > ? ORDER BY seq", (first,))
            for resource in rendered(store, enrolled.fetchall()):
                notify(db, enterprise_id, "ENROLLMENT", resource, now)
    return [device_name(enterprise_id, device[1]) for device in devices]


def _check(
    row: sqlite3.Row | None, token: dict[str, Any], count: int, personal_refused: bool, now: float
) -> None:
    if row is None:
        raise EnrollRefused("No enrollment token has this value.")
    if row["deleted"]:
        raise EnrollRefused("The enrollment token has been deleted.")
    if row["expires"] <= now:
        raise EnrollRefused(f"The enrollment token expired at {token['expirationTimestamp']}.")
    if token.get("oneTimeOnly") and (row["used"] or count > 1):
        raise EnrollRefused(
            "The one-time enrollment token has already been used."
            if row["used"]
            else "A one-time enrollment token enrolls one device: use --count 1."
        )
    if personal_refused:
        raise EnrollRefused(
            "This token disallows personal usage: a personally-owned device cannot enroll with it."
        )


def _cap_check(store: Store, enrolled: int, count: int) -> None:
    cap = int(store.limits()["device_cap"])
    if cap and enrolled + count > cap:
        raise EnrollRefused(
            f"The project's device cap is reached: {enrolled} of {cap} devices are enrolled, "
            f"{count} more would exceed it."
        )
