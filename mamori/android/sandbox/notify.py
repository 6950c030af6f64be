"""What the sandbox publishes to an enterprise's Pub/Sub topic, queued for push delivery.

``notify(db, enterprise_id, kind, resource)`` is called inside the write that changed the
resource (a report, a finished command, an enrollment), so a notification is queued exactly
when its change is stored. It queues nothing unless the enterprise has a ``pubsubTopic`` and
``kind`` is one of its ``enabledNotificationTypes`` (ANDROID.md 2.5). The queued row holds the
whole push body (ANDROID.md 3.1), built once::

    {"message": {"attributes": {"notificationType": "STATUS_REPORT"},
                 "data": "<base64 of the UTF-8 JSON resource>",
                 "messageId": "2070443601311540", "message_id": "2070443601311540",
                 "publishTime": "2026-11-30T13:17:00.123Z", "publish_time": "…same…"},
     "subscription": "projects/<topic's project>/subscriptions/mamori-push"}

Payloads (ANDROID.md 2.5): ENROLLMENT and STATUS_REPORT a ``Device``, COMMAND an ``Operation``,
USAGE_LOGS a ``BatchUsageLogEvents``. ``push.Pusher`` delivers the queue.
"""

from __future__ import annotations

import base64
import json
import secrets
import sqlite3
import time
from typing import Any

from mamori.android.sandbox import common

KINDS = ("ENROLLMENT", "STATUS_REPORT", "COMMAND", "USAGE_LOGS")
SUBSCRIPTION = "mamori-push"


def message_id() -> str:
    """A Pub/Sub message id: 16 decimal digits, as Google's look."""
    return str(secrets.randbelow(9 * 10**15) + 10**15)


def push_body(kind: str, resource: dict[str, Any], topic: str, now: float) -> tuple[str, str]:
    """``(message id, push body JSON)`` of one notification about ``resource``."""
    ident = message_id()
    published = common.rfc3339(now)
    data = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode()
    project = topic.split("/")[1] if topic.count("/") == 3 else "mamori-sandbox"
    body = {
        "message": {
            "attributes": {"notificationType": kind},
            "data": base64.b64encode(data).decode(),
            "messageId": ident,
            "message_id": ident,
            "publishTime": published,
            "publish_time": published,
        },
        "subscription": f"projects/{project}/subscriptions/{SUBSCRIPTION}",
    }
    return ident, json.dumps(body, separators=(",", ":"))


def enterprise_topic(db: sqlite3.Connection, enterprise_id: str, kind: str) -> str | None:
    """The enterprise's ``pubsubTopic`` if ``kind`` is enabled for it, else None."""
    row = db.execute("SELECT body FROM enterprise WHERE id = ?", (enterprise_id,)).fetchone()
    if row is None:
        return None
    enterprise = json.loads(row["body"])
    topic = enterprise.get("pubsubTopic")
    if not topic or kind not in (enterprise.get("enabledNotificationTypes") or []):
        return None
    return str(topic)


def notify(
    db: sqlite3.Connection,
    enterprise_id: str,
    kind: str,
    resource: dict[str, Any],
    now: float | None = None,
) -> str | None:
    """Queue a ``kind`` notification about ``resource`` (inside the caller's write).

    Returns the message id, or None when the enterprise does not want it (no topic, or the type
    not enabled). ``kind`` is one of ``KINDS``; anything else raises ``ValueError``.
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown notification type {kind!r}.")
    topic = enterprise_topic(db, enterprise_id, kind)
    if topic is None:
        return None
    moment = time.time() if now is None else now
    ident, body = push_body(kind, resource, topic, moment)
    db.execute(
        "INSERT INTO push (kind, message_id, body, next_try) VALUES (?, ?, ?, ?)",
        (kind, ident, body, moment),
    )
    return ident


def usage_logs(
    enterprise_id: str, device_id: str, user_id: str, events: list[dict[str, Any]], now: float
) -> dict[str, Any]:
    """A ``BatchUsageLogEvents`` of ``events`` (each an event object: ``eventType`` and its
    ``…Event`` field), each given an ``eventId`` (int64 as a string) and ``eventTime``."""
    stamp = common.rfc3339(now)
    return {
        "device": f"enterprises/{enterprise_id}/devices/{device_id}",
        "user": f"enterprises/{enterprise_id}/users/{user_id}",
        "retrievalTime": stamp,
        "usageLogEvents": [
            {"eventId": str(secrets.randbelow(2**62) + 1), "eventTime": stamp, **event}
            for event in events
        ],
    }
