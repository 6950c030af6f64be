"""Keeping the push secret out of every log line.

The secret ends the push URL (``/pubsub/amapi/<secret>``), and a request's path reaches logs in
several places: the development server's access lines (``django.server``), Django's warnings
about 4xx/5xx answers (``django.request``: "Not Found: /pubsub/amapi/…") and the public door's
own error lines. ``PushSecretFilter`` rewrites every record that mentions the push path, so the
settings attach it to the console handler and to the ``django.server`` logger's handler.

A production server's own access log (gunicorn ``--access-logfile``, granian ``--access-log``)
is written outside Python's logging configuration: keep it off for this path (README,
"Device notifications").

Loaded by the logging configuration, before the apps: imports nothing of Mamori's.
"""

from __future__ import annotations

import logging
import re

PUSH_PATH = "/pubsub/amapi/"
_SECRET = re.compile(r"(/pubsub/amapi/)[^\s?#\"'/]+")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    """``text`` with whatever follows ``/pubsub/amapi/`` in a path replaced by ``[redacted]``."""
    return _SECRET.sub(r"\g<1>" + REDACTED, text) if PUSH_PATH in text else text


class PushSecretFilter(logging.Filter):
    """A logging filter that redacts the push secret in a record's message (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed record: leave it to the handler
            return True
        if PUSH_PATH in message:
            record.msg = redact(message)
            record.args = ()
        return True
