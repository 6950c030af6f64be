"""Logging filters and the JSON lines' formatter of the whole deployment (``LOGGING`` in the
settings)."""

from __future__ import annotations

import logging
from typing import Any

from pythonjsonlogger.json import JsonFormatter


class RefusalTracebackFilter(logging.Filter):
    """Keep the line of a refused request (403, 404, a host not served) but drop its traceback.

    Django logs ``Forbidden (Permission denied): /path`` with the ``PermissionDenied`` it caught
    as ``exc_info``: a page refused to a person who may not see it is no fault of the server, and
    a traceback per refusal buries the real errors. 5xx lines keep theirs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "django.request" and getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        elif record.name == "django.security.DisallowedHost":
            # A request for a host name not served (scanners, a wrong DNS record): Django logs
            # it as an ERROR with a traceback; it is a refused request like the others.
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class RequestIdFilter(logging.Filter):
    """Give every record the id of the request being answered (``request_id``; "" outside a
    request), which ``MAMORI_LOG_FORMAT=json`` writes in each line."""

    def filter(self, record: logging.LogRecord) -> bool:
        from mamori.core.middleware import REQUEST_ID

        # Django logs a 4xx/5xx answer after the middleware returned: the request rides along.
        request = getattr(record, "request", None)
        record.request_id = getattr(request, "request_id", "") or REQUEST_ID.get()
        return True


class JsonLineFormatter(JsonFormatter):
    """One JSON object a line (python-json-logger), with the keys of ``KEYS`` alone: a record's
    other extras (Django's ``request``, whose text holds the path and so the push secret; a
    library's own) never reach the line. ``time`` is ISO 8601 in UTC."""

    KEYS = frozenset(
        {"time", "level", "logger", "message", "request_id", "status_code", "exc_info"}
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"levelname": "level", "name": "logger"},
            timestamp="time",
            **kwargs,
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        super().add_fields(log_data, record, message_dict)
        for key in [k for k in log_data if k not in self.KEYS]:
            del log_data[key]
