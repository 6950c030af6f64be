"""Storing a pushed message: the least that makes it safe, in one statement.

``push_store(body)`` reads the Pub/Sub envelope (ANDROID.md 3.1: ``message.data`` base64 of the
resource's JSON, ``message.attributes.notificationType``, ``message.messageId``,
``message.publishTime``), decodes ``data`` to text without parsing it, and stores it with
``INSERT … ON CONFLICT (message_id) DO NOTHING``: a redelivery stores nothing. On PostgreSQL the
same statement sets the nudge flag when it is empty (a data-modifying ``WITH``), so a request
costs one statement; only the request that found the flag empty submits the apply work.

A body that is not such an envelope is stored aside (``InboxRejected``) with its reason, and
acknowledged all the same: Pub/Sub would redeliver anything else for days (ANDROID.md 7).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import re
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from mamori.android.notifications.models import InboxMessage, InboxNudge, InboxRejected
from mamori.android.notifications.reports import timestamp
from mamori.core.actor import Actor

APPLY = "android.notifications.apply"
REJECTED_BODY_CHARS = 2000
MESSAGE_ID_CHARS = InboxMessage._meta.get_field("message_id").max_length or 100
TYPE_CHARS = InboxMessage._meta.get_field("notification_type").max_length or 40
# Text PostgreSQL cannot store (NUL) or that is no UTF-8 (a lone surrogate from a \\ud800 escape).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

_INSERT = (
    "INSERT INTO {inbox} (message_id, notification_type, data, publish_time, received_at, "
    "state, reason, attempts) VALUES (%s, %s, %s, %s, %s, 'pending', '', 0) "
    "ON CONFLICT (message_id) DO NOTHING"
)
_NUDGE = "UPDATE {nudge} SET pending_since = %s WHERE id = 1 AND pending_since IS NULL"
_POSTGRES = (
    "WITH stored AS (" + _INSERT + " RETURNING 1), "  # noqa: S608 - table names only
    "nudged AS (UPDATE {nudge} SET pending_since = %s WHERE id = 1 AND pending_since IS NULL "
    "AND EXISTS (SELECT 1 FROM stored) RETURNING 1) "
    "SELECT (SELECT count(*) FROM stored), (SELECT count(*) FROM nudged)"
)


def _sql(template: str) -> str:
    return template.format(
        inbox=connection.ops.quote_name(InboxMessage._meta.db_table),
        nudge=connection.ops.quote_name(InboxNudge._meta.db_table),
    )


class Malformed(Exception):
    """The body is no Pub/Sub push of a message; ``reason`` is a snake_case word."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _text(value: Any, limit: int, reason: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value) or len(value) > limit:
        raise Malformed(reason)
    if _UNSTORABLE.search(value):
        raise Malformed(reason)
    return value


def envelope_read(body: bytes) -> tuple[str, str, str, datetime.datetime | None]:
    """``(message id, notification type, data as text, publish time)`` of a push body.

    Raises ``Malformed`` (``not_json``, ``no_message``, ``bad_message_id``, ``no_data``,
    ``bad_base64``, ``not_utf8``, ``bad_type``). The type may be empty (kept aside later).
    """
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # deep nesting too
        raise Malformed("not_json") from exc
    message = envelope.get("message") if isinstance(envelope, dict) else None
    if not isinstance(message, dict):
        raise Malformed("no_message")
    message_id = _text(
        message.get("messageId", message.get("message_id")), MESSAGE_ID_CHARS, "bad_message_id"
    )
    encoded = message.get("data")
    if not isinstance(encoded, str) or not encoded:
        raise Malformed("no_data")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Malformed("bad_base64") from exc
    try:
        data = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Malformed("not_utf8") from exc
    if "\x00" in data:
        raise Malformed("not_utf8")
    attributes = message.get("attributes")
    kind = attributes.get("notificationType") if isinstance(attributes, dict) else None
    kind = _text(kind, TYPE_CHARS, "bad_type", required=False)
    published = message.get("publishTime", message.get("publish_time"))
    return message_id, kind, data, timestamp(published)


def push_store(body: bytes) -> str:
    """Store the message a push body carries, once; returns ``"stored"``, ``"duplicate"`` or
    ``"rejected"`` (kept aside in ``InboxRejected``). Commits before it returns."""
    try:
        message_id, kind, data, published = envelope_read(body)
    except Malformed as exc:
        push_reject(exc.reason, body)
        return "rejected"
    now = timezone.now()
    params = [message_id, kind, data, published, now]
    if connection.vendor == "postgresql" and connection.get_autocommit():
        # One statement, committed on its own: one round trip instead of three (BEGIN, the
        # statement, COMMIT), which on a busy machine was most of the request (bench/README.md).
        # The push that set the flag (once per apply run) submits the run just after; were the
        # process killed in between, the flag stays set with no run behind it, and the safety
        # net drains once it is ``apply.STALE`` old: late, never lost.
        with connection.cursor() as cursor:
            cursor.execute(_sql(_POSTGRES), [*params, now])
            stored, nudged = cursor.fetchone()
        if nudged:
            with transaction.atomic():
                apply_submit()
        return "stored" if stored else "duplicate"
    with transaction.atomic():
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(_sql(_POSTGRES), [*params, now])
                stored, nudged = cursor.fetchone()
            else:
                adapt = connection.ops.adapt_datetimefield_value  # SQLite: Django's own text
                cursor.execute(_sql(_INSERT), [*params[:3], adapt(published), adapt(now)])
                stored = cursor.rowcount
                nudged = 0
                if stored:
                    cursor.execute(_sql(_NUDGE), [adapt(now)])
                    nudged = cursor.rowcount
        if nudged:
            apply_submit()
    return "stored" if stored else "duplicate"


def apply_submit() -> None:
    """Submit one apply run (in the caller's transaction): the caller set the nudge flag."""
    from mamori.core.work import work_submit

    work_submit(kind=APPLY, payload={}, actor=Actor.system())


def push_reject(reason: str, body: bytes) -> None:
    """Keep a body that is no message aside, with ``reason`` and its first characters."""
    text = body[: REJECTED_BODY_CHARS * 4].decode("utf-8", "replace")[:REJECTED_BODY_CHARS]
    InboxRejected.objects.create(
        reason=reason, body=text.replace("\x00", "\ufffd"), received_at=timezone.now()
    )
