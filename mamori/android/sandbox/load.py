"""``mamori amapi-sandbox load``: STATUS_REPORT pushes at a steady rate, for the benchmark.

``run(var_dir=…, devices=100_000, rate=R, seconds=S, push_url=URL) -> dict`` (importable from
Python; the command prints its result) does two things:

1. **Devices**: it makes sure the enterprise (``enterprise``, else the newest in the state
   file, else a new one with a Pub/Sub topic and every notification type) has ``devices``
   virtual devices, enrolling the missing ones straight into the state file in batches
   (``devices_ensure``: no HTTP, no ENROLLMENT notifications). Devices it adds are silent
   (``next_report`` NULL): ``serve`` neither reports for them nor executes their commands, so
   the load is the only traffic they make.
2. **Load**: open-loop pacing — message *k* is due at start + *k*/``rate`` — over ``threads``
   threads, each with one keep-alive connection, for ``seconds`` seconds. Device *k* mod
   ``devices`` reports each time; every message has its own ``messageId`` and a
   ``lastStatusReportTime`` (and ``publishTime``) of its send, so a device's clock advances.
   The bodies are Pub/Sub's (ANDROID.md 3.1) around a ``Device`` with every report section on
   and ``APPS`` application reports (about 6 KB of JSON, 8 KB in base64). Each device's own part
   (name, user, hardware, network: ~0.5 KB) is serialized once beforehand, the part its model
   shares once per model, so a send costs a string join, a base64 and the HTTP round trip. One
   OIDC token (``keys.oidc_token``) signs them all, as Pub/Sub reuses one for an hour.

The result: ``sent``, ``acked`` (102/200/201/202/204), ``errors`` (other statuses and no
answer), ``statuses`` ({status: count}), ``seconds`` (elapsed), ``rate`` (achieved sends/s),
``p50_ms`` / ``p99_ms`` (request latency), ``cpu_seconds`` (this process's CPU time during the
load) and ``cpu_share`` (of one core), ``devices``, ``enterprise``, ``body_bytes`` (a typical
body's size). Loopback only (``server.loopback``): this machine's own endpoint.
"""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mamori.android.sandbox import catalogue, common, keys
from mamori.android.sandbox.devices import device_resource, hardware_info
from mamori.android.sandbox.notify import SUBSCRIPTION, message_id
from mamori.android.sandbox.push import ACK_STATUSES, Poster
from mamori.android.sandbox.store import STATE_FILE_NAME, Store

KINDS = ["ENROLLMENT", "STATUS_REPORT", "COMMAND", "USAGE_LOGS"]
APPS = 24  # application reports per device, besides the base apps
INSERT_BATCH = 10_000
# Every report section of statusReportingSettings (ANDROID.md 2.3).
ALL_REPORTS = {
    name: True
    for name in (
        "applicationReportsEnabled", "deviceSettingsEnabled", "softwareInfoEnabled",
        "memoryInfoEnabled", "networkInfoEnabled", "displayInfoEnabled",
        "powerManagementEventsEnabled", "hardwareStatusEnabled", "systemPropertiesEnabled",
        "commonCriteriaModeEnabled",
    )
}  # fmt: skip
UNIQUE = ("name", "userName", "enrollmentTime", "enrollmentTokenName", "hardwareInfo",
          "networkInfo", "lastStatusReportTime", "lastPolicySyncTime")  # fmt: skip


class RawPoster:
    """HTTP/1.1 POSTs on one keep-alive socket, headers built once: ``http.client``'s header
    parsing costs more CPU than the rest of a send, and the load's CPU is taken from the server
    it measures. Plain ``http://`` only; reconnects after an error or ``Connection: close``."""

    def __init__(self, url: str, token: str, timeout: float) -> None:
        parts = urlsplit(url)
        self.address = (parts.hostname or "127.0.0.1", parts.port or 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.head = (
            f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            "Content-Type: application/json\r\nUser-Agent: APIs-Google\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: "
        ).encode()
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buffer = b""

    def post(self, body: bytes, token: str = "") -> int:
        """POST ``body``; the HTTP status, or 0 without an answer. ``token`` is the one given
        at construction (the argument keeps ``Poster``'s signature)."""
        request = b"%b%d\r\n\r\n%b" % (self.head, len(body), body)
        for attempt in (1, 2):
            fresh = self.sock is None
            try:
                if self.sock is None:
                    self.sock = socket.create_connection(self.address, timeout=self.timeout)
                    self.buffer = b""
                self.sock.sendall(request)
                return self.response()
            except (OSError, ValueError):
                self.close()
                if fresh or attempt == 2:
                    return 0
        return 0

    def response(self) -> int:
        """Read one response; its status (the body is read and dropped)."""
        assert self.sock is not None
        while b"\r\n\r\n" not in self.buffer:
            self.receive()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        if headers.get(b"transfer-encoding") == b"chunked":
            while b"0\r\n\r\n" not in self.buffer:
                self.receive()
            self.buffer = self.buffer.partition(b"0\r\n\r\n")[2]
        else:
            length = int(headers.get(b"content-length", b"0"))
            while len(self.buffer) < length:
                self.receive()
            self.buffer = self.buffer[length:]
        if headers.get(b"connection") == b"close":
            self.close()
        return status

    def receive(self) -> None:
        """More bytes into the buffer; ``ValueError`` when the server closed the socket."""
        assert self.sock is not None
        data = self.sock.recv(65536)
        if not data:
            raise ValueError("closed")
        self.buffer += data

    def close(self) -> None:
        """Close the socket (the next post opens one)."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class LoadRefused(Exception):
    """The load cannot run; ``str()`` says why, in English (a developer's tool)."""


def enterprise_pick(store: Store, wanted: str | None) -> tuple[str, str]:
    """``(enterprise id, pubsubTopic)``: the one named, else the newest, else a new one."""
    if wanted:
        enterprise_id = wanted.removeprefix("enterprises/")
        rows = store.read("SELECT id, body FROM enterprise WHERE id = ?", (enterprise_id,))
        if not rows:
            raise LoadRefused(f"No enterprise is named {wanted!r} in the sandbox.")
    else:
        rows = store.read("SELECT id, body FROM enterprise ORDER BY rowid DESC LIMIT 1")
    if rows:
        body = json.loads(rows[0]["body"])
        return str(rows[0]["id"]), str(body.get("pubsubTopic") or "")
    enterprise_id = "LC0" + common.new_id(7)
    topic = f"projects/{keys.PROJECT_ID}/topics/mamori"
    body = {
        "name": f"enterprises/{enterprise_id}",
        "enterpriseDisplayName": "Load",
        "pubsubTopic": topic,
        "enabledNotificationTypes": KINDS,
        "enterpriseType": "MANAGED_GOOGLE_PLAY_ACCOUNTS_ENTERPRISE",
        "managedGooglePlayAccountsEnterpriseType": "CUSTOMER_MANAGED",
    }
    with store.write() as db:
        db.execute("INSERT INTO enterprise VALUES (?, ?)", (enterprise_id, json.dumps(body)))
    return enterprise_id, topic


def devices_ensure(store: Store, enterprise_id: str, count: int) -> list[Any]:
    """The enterprise's first ``count`` device rows, enrolling the missing ones (silent)."""
    have = store.read("SELECT COUNT(*) AS n FROM device WHERE enterprise_id = ?", (enterprise_id,))
    missing = count - int(have[0]["n"])
    stamp = common.rfc3339(time.time())
    models = catalogue.CATALOGUE
    while missing > 0:
        batch = min(missing, INSERT_BATCH)
        rows = []
        for index in range(batch):
            model = models[index % len(models)]
            rows.append(
                (enterprise_id, secrets.token_hex(8), "u" + secrets.token_hex(8), "default",
                 "ACTIVE", "DEVICE_OWNER", "COMPANY_OWNED", model.key, catalogue.serial_new(model),
                 catalogue.imei_new(model), catalogue.mac_new(), 1, "load", "", stamp)
            )  # fmt: skip
        with store.write() as db:
            db.executemany(
                "INSERT INTO device (enterprise_id, id, user_id, policy_id, state, "
                "management_mode, ownership, model, serial, imei, wifi_mac, password, token_id, "
                "token_data, enrolled) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        missing -= batch
    return store.read(
        "SELECT * FROM device WHERE enterprise_id = ? ORDER BY seq LIMIT ?", (enterprise_id, count)
    )


def load_policy(enterprise_id: str) -> dict[str, Any]:
    """The policy the load's bodies render with: every report on, ``APPS`` installed apps."""
    return {
        "name": f"enterprises/{enterprise_id}/policies/default",
        "version": "1",
        "statusReportingSettings": ALL_REPORTS,
        "applications": [
            {"packageName": f"jp.co.example.app{index:02d}", "installType": "FORCE_INSTALLED"}
            for index in range(APPS)
        ],
    }


def fragments(rows: list[Any], enterprise_id: str) -> tuple[list[str], dict[str, str]]:
    """Each device's own JSON members, and the members each model shares (no braces)."""
    policy = load_policy(enterprise_id)
    shared: dict[str, str] = {}
    own = []
    for row in rows:
        model = catalogue.model_get(row["model"])
        name = f"enterprises/{enterprise_id}/devices/{row['id']}"
        if row["model"] not in shared:
            applied: Any = dict(row) | {"applied_policy_id": "default", "applied_version": 1}
            resource = device_resource(applied, policy)
            common_part = {k: v for k, v in resource.items() if k not in UNIQUE}
            shared[row["model"]] = json.dumps(common_part, separators=(",", ":"))[1:-1]
        mine = {
            "name": name,
            "userName": f"enterprises/{enterprise_id}/users/{row['user_id']}",
            "enrollmentTime": row["enrolled"],
            "enrollmentTokenName": f"enterprises/{enterprise_id}/enrollmentTokens/{row['token_id']}",
            "hardwareInfo": hardware_info(model, row),
            "networkInfo": {"imei": row["imei"], "wifiMacAddress": row["wifi_mac"],
                            "networkOperatorName": model.carrier,
                            "telephonyInfos": [{"carrierName": model.carrier}]},
        }  # fmt: skip
        own.append(json.dumps(mine, separators=(",", ":"))[1:-1])
    return own, shared


@dataclass
class Bodies:
    """Builds the push bodies of the load (see the module docstring)."""

    own: list[str]
    models: list[str]
    shared: dict[str, str]
    subscription: str

    def body(self, index: int, now: float) -> bytes:
        """The push body of message ``index`` sent at ``now``."""
        device = index % len(self.own)
        stamp = common.rfc3339(now)
        data = (f'{{{self.own[device]},"lastStatusReportTime":"{stamp}",'
                f'"lastPolicySyncTime":"{stamp}",{self.shared[self.models[device]]}}}')  # fmt: skip
        encoded = base64.b64encode(data.encode()).decode()
        ident = message_id()
        return (
            '{"message":{"attributes":{"notificationType":"STATUS_REPORT"},'
            f'"data":"{encoded}","messageId":"{ident}","message_id":"{ident}",'
            f'"publishTime":"{stamp}","publish_time":"{stamp}"}},'
            f'"subscription":"{self.subscription}"}}'
        ).encode()


def run(
    *,
    var_dir: Path,
    devices: int,
    rate: float,
    seconds: float,
    push_url: str,
    enterprise: str | None = None,
    threads: int = 8,
    audience: str | None = None,
    email: str | None = None,
    timeout: float = 10.0,
) -> dict[str, Any]:
    """Enroll (or reuse) ``devices`` devices and push their reports; the result dict (module
    docstring). Raises ``LoadRefused`` for a non-loopback URL, no key file, or bad numbers."""
    from mamori.android.sandbox.server import loopback

    if devices < 1 or rate <= 0 or seconds <= 0 or threads < 1:
        raise LoadRefused("--devices, --rate, --seconds and --threads must be positive.")
    parts = urlsplit(push_url)
    if parts.scheme not in ("http", "https") or not loopback(parts.hostname or ""):
        raise LoadRefused(f"{push_url!r} is not an http(s) URL on this machine (loopback).")
    key_file = var_dir / keys.KEY_FILE_NAME
    if not key_file.is_file():
        raise LoadRefused(f"No sandbox key at {key_file}: start `mamori amapi-sandbox serve` once.")
    key = json.loads(key_file.read_text())
    store = Store(var_dir / STATE_FILE_NAME)
    enterprise_id, topic = enterprise_pick(store, enterprise)
    rows = devices_ensure(store, enterprise_id, devices)
    own, shared = fragments(rows, enterprise_id)
    project = topic.split("/")[1] if topic.count("/") == 3 else keys.PROJECT_ID
    bodies = Bodies(own, [row["model"] for row in rows], shared,
                    f"projects/{project}/subscriptions/{SUBSCRIPTION}")  # fmt: skip
    token = keys.oidc_token(key, audience or push_url, email)
    result = pace(bodies, push_url, token, rate, seconds, threads, timeout)
    result.update(
        devices=len(rows),
        enterprise=f"enterprises/{enterprise_id}",
        body_bytes=len(bodies.body(0, time.time())),
    )
    return result


def pace(
    bodies: Bodies, url: str, token: str, rate: float, seconds: float, threads: int,
    timeout: float,
) -> dict[str, Any]:  # fmt: skip
    """Send at ``rate`` for ``seconds`` over ``threads`` connections; the measurements."""
    counter = itertools.count()
    start = time.monotonic() + 0.05
    wall_start = time.time() + 0.05
    end = start + seconds
    latencies: list[list[float]] = [[] for _ in range(threads)]
    statuses: list[dict[int, int]] = [{} for _ in range(threads)]

    def worker(slot: int) -> None:
        poster = RawPoster(url, token, timeout) if url.startswith("http:") else Poster(url, timeout)
        mine, counts = latencies[slot], statuses[slot]
        while True:
            index = next(counter)
            due = start + index / rate
            if due >= end:
                break
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            body = bodies.body(index, wall_start + (due - start))
            sent = time.monotonic()
            status = poster.post(body, token)
            mine.append(time.monotonic() - sent)
            counts[status] = counts.get(status, 0) + 1
        poster.close()

    cpu = time.process_time()
    workers = [
        threading.Thread(target=worker, args=(slot,), daemon=True) for slot in range(threads)
    ]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = max(time.monotonic() - start, 1e-9)
    cpu_seconds = time.process_time() - cpu
    every = sorted(itertools.chain.from_iterable(latencies))
    merged: dict[int, int] = {}
    for counts in statuses:
        for status, number in counts.items():
            merged[status] = merged.get(status, 0) + number
    sent = len(every)
    acked = sum(number for status, number in merged.items() if status in ACK_STATUSES)
    return {
        "sent": sent,
        "acked": acked,
        "errors": sent - acked,
        "statuses": dict(sorted(merged.items())),
        "seconds": round(elapsed, 3),
        "rate": round(sent / elapsed, 1),
        "p50_ms": round(percentile(every, 0.50) * 1000, 2),
        "p99_ms": round(percentile(every, 0.99) * 1000, 2),
        "cpu_seconds": round(cpu_seconds, 3),
        "cpu_share": round(cpu_seconds / elapsed, 3),
    }


def percentile(ordered: list[float], share: float) -> float:
    """The ``share`` quantile of sorted values (0.0 for none)."""
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]
