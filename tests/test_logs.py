"""A refused request (403) is one line in the log, without the traceback of the
``PermissionDenied`` Django caught; a server error keeps its traceback."""

from __future__ import annotations

import logging

from mamori.core.logs import RefusalTracebackFilter


def record(status: int) -> logging.LogRecord:
    try:
        raise PermissionError("no")
    except PermissionError:
        import sys

        made = logging.LogRecord(
            "django.request", logging.WARNING, __file__, 1, "Forbidden: %s", ("/x",), sys.exc_info()
        )
    made.status_code = status
    return made


def test_a_refusal_keeps_its_line_but_not_its_traceback() -> None:
    refused = record(403)
    assert RefusalTracebackFilter().filter(refused) is True
    assert refused.exc_info is None
    assert logging.Formatter().format(refused) == "Forbidden: /x"


def test_a_server_error_keeps_its_traceback() -> None:
    failed = record(500)
    RefusalTracebackFilter().filter(failed)
    assert "Traceback" in logging.Formatter().format(failed)


def test_a_host_not_served_is_a_warning_line_without_traceback() -> None:
    try:
        raise ValueError("Invalid HTTP_HOST header: 'evil.example.com'.")
    except ValueError:
        import sys

        made = logging.LogRecord(
            "django.security.DisallowedHost", logging.ERROR, __file__, 1,
            "Invalid HTTP_HOST header: %s", ("'evil.example.com'",), sys.exc_info(),
        )  # fmt: skip
    assert RefusalTracebackFilter().filter(made) is True
    assert (made.levelname, made.exc_info) == ("WARNING", None)
    assert "Traceback" not in logging.Formatter().format(made)
