"""``MAMORI_LOG_FORMAT=json`` (issue 11): one JSON object a line carrying the request id, with
an allow-list of keys (no extra a library adds, no request text with the push secret)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_settings import KEY, assert_refused, start

SECRET = "push-secret-that-must-not-be-logged-0123"
CODE = """
import django, logging; django.setup()
from django.test import Client
logging.getLogger("mamori.test").warning("hello %s", "there", extra={"password": "hunter2"})
Client().get("/metrics", REMOTE_ADDR="10.0.0.1", HTTP_X_REQUEST_ID="req-forbidden-1")
Client().get("/pubsub/amapi/nope-not-the-secret", HTTP_X_REQUEST_ID="req-wrong-secret")
# The database has no tables: the push fails and the door logs it with its traceback.
Client(raise_request_exception=False).post("/pubsub/amapi/SECRET", b"x", content_type="text/plain")
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("mamori.test").exception("boom")
""".replace("SECRET", SECRET)


def test_json_lines_carry_the_request_id_and_only_the_allowed_keys(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    result = start(
        tmp_path,
        CODE,
        MAMORI_SECRET_KEY=KEY,
        MAMORI_LOG_FORMAT="json",
        MAMORI_PUBSUB_PUSH_SECRET=SECRET,
        MAMORI_METRICS_DIR="",
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert SECRET not in result.stderr
    assert "hunter2" not in result.stderr
    hello = next(line for line in lines if line["message"] == "hello there")
    assert set(hello) == {"time", "level", "logger", "message", "request_id"}
    assert (hello["level"], hello["logger"], hello["request_id"]) == ("WARNING", "mamori.test", "")
    assert hello["time"].endswith("+00:00")
    refused = next(line for line in lines if line["message"] == "Forbidden: /metrics")
    assert (refused["request_id"], refused["status_code"]) == ("req-forbidden-1", 403)
    failed = next(line for line in lines if line["logger"] == "mamori.door")
    assert failed["message"] == "Public view failed: POST /pubsub/amapi/[redacted]"
    assert "no such table" in failed["exc_info"]
    boom = next(line for line in lines if line["message"] == "boom")
    assert boom["exc_info"].endswith("ZeroDivisionError: division by zero")
    assert all(set(line) <= {"time", "level", "logger", "message", "request_id", "status_code",
                             "exc_info"} for line in lines)  # fmt: skip


def test_an_unknown_log_format_stops_the_start(tmp_path: Path) -> None:
    result = start(tmp_path, MAMORI_SECRET_KEY=KEY, MAMORI_LOG_FORMAT="xml")
    assert_refused(result, "MAMORI_LOG_FORMAT='xml' is not text or json.")
