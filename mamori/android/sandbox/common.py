"""Small shared pieces of the sandbox: times, durations, ids, pages, the discovery document.

Shapes follow the discovery document shipped in google-api-python-client
(``googleapiclient/discovery_cache/documents/androidmanagement.v1.json``): times are RFC 3339 in
UTC with ``Z`` ("google-datetime"), durations are ``"<seconds>s"`` ("google-duration"), int64
values are JSON strings.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import secrets
import string
import sys
import threading
import traceback
from collections.abc import Sized
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import googleapiclient

from mamori.android.sandbox.errors import invalid

# protobuf's Timestamps.MAX_VALUE: a later expiration is coerced to it (EnrollmentToken.duration).
MAX_TIMESTAMP = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()
# protobuf's Durations.MAX_VALUE, "approximately 10,000 years", in seconds.
MAX_DURATION = 315_576_000_000

DURATION = re.compile(r"^(\d{1,12})(?:\.(\d{1,9}))?s$")


@functools.cache
def discovery() -> dict[str, Any]:
    """The AMAPI discovery document of the installed client, parsed once per process."""
    path = (
        Path(googleapiclient.__file__).parent
        / "discovery_cache"
        / "documents"
        / "androidmanagement.v1.json"
    )
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def enum_values(schema: str, field: str) -> list[str]:
    """The enum values of ``schema.field`` in the discovery document."""
    prop = discovery()["schemas"][schema]["properties"][field]
    values: list[str] = (prop.get("items") or prop)["enum"]
    return values


def rfc3339(epoch: float) -> str:
    """``2026-01-31T09:00:00.123Z`` for a Unix time in seconds."""
    moment = datetime.fromtimestamp(min(epoch, MAX_TIMESTAMP), tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def duration_seconds(value: Any, field: str) -> float:
    """The seconds of a google-duration such as ``"3600s"``; 400 INVALID_ARGUMENT otherwise."""
    match = DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise invalid(field, f"Invalid value at '{field}' ({value!r}): not a duration like 3600s.")
    return int(match.group(1)) + float(f"0.{match.group(2) or 0}")


def new_id(length: int, alphabet: str = string.ascii_lowercase + string.digits) -> str:
    """A random identifier of ``length`` characters from ``alphabet``."""
    return "".join(secrets.choice(alphabet) for _ in range(length))


def page_size(query: dict[str, str], default: int = 10, maximum: int = 100) -> int:
    """``pageSize`` from the query: ``default`` when absent or 0, coerced to ``maximum``."""
    raw = query.get("pageSize") or "0"
    try:
        size = int(raw)
    except ValueError:
        raise invalid("page_size", f"Invalid value at 'page_size' ({raw!r})") from None
    if size < 0:
        raise invalid("page_size", "page_size must not be negative.")
    return min(size or default, maximum)


def page_after(query: dict[str, str]) -> int:
    """The keyset position a ``pageToken`` stands for (0: the first page); 400 if forged."""
    token = query.get("pageToken") or ""
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("after:"))
    except ValueError:
        raise invalid("page_token", "Invalid page token.") from None


def page_token(last_seq: int) -> str:
    """The opaque ``nextPageToken`` for rows after ``last_seq``."""
    return base64.urlsafe_b64encode(f"after:{last_seq}".encode()).decode()


def paged(rows: list[Any], size: int) -> tuple[list[Any], str | None]:
    """Split ``size + 1`` rows (read with ``LIMIT size + 1``) into the page and its next token."""
    if len(rows) > size:
        return rows[:size], page_token(int(rows[size - 1]["seq"]))
    return rows, None


def camel(field: str) -> str:
    """``pubsub_topic`` → ``pubsubTopic`` (an updateMask may use either spelling)."""
    head, *rest = field.strip().split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def update_mask(query: dict[str, str]) -> list[str] | None:
    """The top-level fields of ``updateMask`` in camelCase, or ``None`` when it is absent."""
    raw = query.get("updateMask")
    if raw is None:
        return None
    return [camel(field).split(".")[0] for field in raw.split(",") if field.strip()]


class Loop:
    """A daemon thread that calls ``step()`` until stopped: the serve process's background work.

    After a step that did nothing (an empty result) it waits ``tick`` seconds; an exception is
    printed to stderr and the loop goes on (one bad row must not stop the devices or delivery).
    ``start()`` returns self; ``stop()`` waits up to ``join_timeout`` seconds for the step under
    way.
    """

    thread_name = "amapi-sandbox-loop"
    tick = 0.2
    join_timeout = 10.0

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> Sized:
        """One round of work; what it handled (empty: nothing was due)."""
        raise NotImplementedError

    def start(self) -> Loop:
        """Run in a daemon thread; returns self."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the current step."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.join_timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = len(self.step())
            except Exception:  # noqa: BLE001 - the loop outlives a bad round; say what happened
                traceback.print_exc(file=sys.stderr)
                busy = 0
            if not busy:
                self._stop.wait(self.tick)
