"""The sandbox's state: one SQLite file of its own, ``$MAMORI_VAR_DIR/amapi-sandbox.sqlite3``.

Standard-library ``sqlite3`` in WAL mode, one connection per thread (the server answers each
request on a thread of its own; ``mamori amapi-sandbox enroll`` opens the same file from another
process). Every write is one ``BEGIN IMMEDIATE`` transaction (``Store.write``), so two writers
never deadlock on a lock upgrade; readers never wait for writers (WAL).

Sized for 100,000 devices: a device row holds only its own facts (about 300 bytes); its report
sections are rendered on read from the hardware catalogue and the applied policy
(``devices.device_resource``). ``devices.list`` pages by keyset on ``device.seq`` (enrollment
order), never by OFFSET; the policy a device uses is indexed, so ``policies.delete``'s "still in
use" check and applying a new policy version touch only those rows. The virtual devices' clock
is a column too: ``device.next_report`` (indexed, NULL while silent) says when each reports
next, ``operation.due`` when a device picks a command up, so the serve loop
(``virtual.DeviceLoop``) reads only what is due, whatever the fleet's size. ``push`` is the
Pub/Sub delivery queue (``notify``, ``push``): a restart keeps what is not delivered yet.

Nothing of Django is used here: the sandbox stands in for Google, not for Mamori.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

STATE_FILE_NAME = "amapi-sandbox.sqlite3"

SCHEMA = """
CREATE TABLE IF NOT EXISTS config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS signup_url (
    id TEXT PRIMARY KEY, callback_url TEXT NOT NULL, admin_email TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS enterprise_token (
    token TEXT PRIMARY KEY, signup_id TEXT NOT NULL, organization TEXT NOT NULL,
    used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS enterprise (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS policy (
    seq INTEGER PRIMARY KEY, enterprise_id TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL,
    UNIQUE (enterprise_id, id));
CREATE TABLE IF NOT EXISTS enrollment_token (
    seq INTEGER PRIMARY KEY, enterprise_id TEXT NOT NULL, id TEXT NOT NULL,
    value TEXT NOT NULL UNIQUE, body TEXT NOT NULL, expires REAL NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0, used INTEGER NOT NULL DEFAULT 0,
    UNIQUE (enterprise_id, id));
CREATE TABLE IF NOT EXISTS device (
    seq INTEGER PRIMARY KEY, enterprise_id TEXT NOT NULL, id TEXT NOT NULL,
    user_id TEXT NOT NULL, policy_id TEXT NOT NULL, applied_policy_id TEXT,
    applied_version INTEGER, state TEXT NOT NULL, disabled_reason TEXT,
    management_mode TEXT NOT NULL, ownership TEXT NOT NULL, model TEXT NOT NULL,
    serial TEXT NOT NULL, imei TEXT NOT NULL, wifi_mac TEXT NOT NULL,
    password INTEGER NOT NULL DEFAULT 0, token_id TEXT NOT NULL, token_data TEXT NOT NULL,
    enrolled TEXT NOT NULL, synced TEXT, extra TEXT NOT NULL DEFAULT '{}',
    UNIQUE (enterprise_id, id));
CREATE INDEX IF NOT EXISTS device_policy ON device (enterprise_id, policy_id);
CREATE TABLE IF NOT EXISTS operation (
    seq INTEGER PRIMARY KEY, enterprise_id TEXT NOT NULL, device_id TEXT NOT NULL,
    id TEXT NOT NULL, body TEXT NOT NULL, UNIQUE (enterprise_id, device_id, id));
CREATE TABLE IF NOT EXISTS push (
    seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, message_id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_try REAL NOT NULL);
CREATE INDEX IF NOT EXISTS push_due ON push (next_try);
"""

# Columns issue 9 added to issue 8's tables: a state file made before gets them on open.
# device.next_report: when the virtual device reports next (Unix seconds; NULL while it is
# silent); device.reported: its lastStatusReportTime. operation.due: when the device picks the
# command up; expires: createTime + duration; done: 1 once finished; verdict: what the device
# needs but the Operation must never show (whether a new password was given and valid).
ADDED_COLUMNS = (
    ("device", "next_report", "REAL"),
    ("device", "reported", "TEXT"),
    ("operation", "due", "REAL"),
    ("operation", "expires", "REAL"),
    ("operation", "done", "INTEGER NOT NULL DEFAULT 0"),
    ("operation", "verdict", "TEXT NOT NULL DEFAULT ''"),
)
# How rows of an older file get the new columns: devices report within 15 minutes, pending
# operations are picked up now and expire after the default 10 minutes.
UPGRADES = {
    "next_report": "UPDATE device SET next_report = ? + abs(random() % 900)",
    "due": "UPDATE operation SET due = ?",
    "expires": "UPDATE operation SET expires = ? + 600",
}
ADDED_INDEXES = """
CREATE INDEX IF NOT EXISTS device_next_report ON device (next_report)
    WHERE next_report IS NOT NULL;
CREATE INDEX IF NOT EXISTS operation_due ON operation (due) WHERE done = 0;
CREATE INDEX IF NOT EXISTS operation_expires ON operation (expires) WHERE done = 0;
"""

# What a reset (the tests' fresh state) empties: everything but the config (the token secret).
STATE_TABLES = (
    "signup_url",
    "enterprise_token",
    "enterprise",
    "policy",
    "enrollment_token",
    "device",
    "operation",
    "push",
)

# The limits a running server and `enroll` share (`Store.limits`): queries per window, the window
# in seconds, and the project's device cap (0 = none).
DEFAULT_LIMITS = {"quota": 1000, "quota_window": 100.0, "device_cap": 0}


class Store:
    """The sandbox's SQLite file: a connection per thread, schema made on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._schema()

    def _schema(self) -> None:
        db = self.connection()
        db.executescript(SCHEMA)  # IF NOT EXISTS throughout: a restart keeps the state
        with self.write() as db:  # two processes opening an old file: one adds the columns
            for table, column, declaration in ADDED_COLUMNS:
                present = {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}
                if column not in present:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
                    if column in UPGRADES:  # rows of before get a value that makes them work
                        db.execute(UPGRADES[column], (time.time(),))
        db.executescript(ADDED_INDEXES)
        with self.write() as db:
            db.execute(
                "INSERT OR IGNORE INTO config VALUES ('token_secret', ?)", (secrets.token_hex(32),)
            )

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (autocommit off; ``write`` opens the transactions)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed on exit, rolled back on an exception."""
        db = self.connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def read(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """The rows of one query, outside any transaction."""
        return self.connection().execute(sql, args).fetchall()

    def config(self, key: str, default: str = "") -> str:
        """A value of the ``config`` table, or ``default``."""
        rows = self.read("SELECT value FROM config WHERE key = ?", (key,))
        return str(rows[0]["value"]) if rows else default

    def limits(self) -> dict[str, Any]:
        """``{"quota": int, "quota_window": float seconds, "device_cap": int (0 = none)}``."""
        stored = json.loads(self.config("limits", "{}"))
        return {**DEFAULT_LIMITS, **stored}

    def limits_set(self, **limits: Any) -> None:
        """Change some of the limits (keys of ``DEFAULT_LIMITS``); unknown keys raise KeyError."""
        for key in limits:
            if key not in DEFAULT_LIMITS:
                raise KeyError(key)
        merged = {**self.limits(), **limits}
        with self.write() as db:
            db.execute("INSERT OR REPLACE INTO config VALUES ('limits', ?)", (json.dumps(merged),))

    def reset(self) -> None:
        """Forget every signup, enterprise, policy, token, device and operation; limits to default.

        The token secret stays, so an access token handed out before still works.
        """
        with self.write() as db:
            for table in STATE_TABLES:
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - a constant table name
            db.execute("DELETE FROM config WHERE key = 'limits'")

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
