"""Logging filters of the whole deployment (``LOGGING`` in the settings)."""

from __future__ import annotations

import logging


class RefusalTracebackFilter(logging.Filter):
    """Keep the line of a refused request (403, 404) but drop its traceback.

    Django logs ``Forbidden (Permission denied): /path`` with the ``PermissionDenied`` it caught
    as ``exc_info``: a page refused to a person who may not see it is no fault of the server, and
    a traceback per refusal buries the real errors. 5xx lines keep theirs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "django.request" and getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
