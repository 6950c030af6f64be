"""The push endpoint: the secret, what is stored (once), what is kept aside, the nudge, and the
secret kept out of the logs."""

from __future__ import annotations

import base64
import io
import json
import logging
from typing import Any

import pytest
from django.test import Client

from mamori.android.notifications import views
from mamori.android.notifications.logs import PushSecretFilter
from mamori.android.notifications.models import InboxMessage, InboxNudge, InboxRejected
from mamori.android.notifications.store import APPLY
from mamori.core.models import Work
from tests.android.pubsub import PUSH_URL, SECRET, body, device

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def push_settings(settings: Any) -> Any:
    settings.MAMORI_PUBSUB_PUSH_SECRET = SECRET
    settings.MAMORI_PUBSUB_AUDIENCE = ""
    return settings


def post(content: bytes, url: str = PUSH_URL, **headers: Any) -> Any:
    return Client().post(url, data=content, content_type="application/json", **headers)


def stored() -> tuple[int, int]:
    return InboxMessage.objects.count(), InboxRejected.objects.count()


@pytest.mark.parametrize(
    "url",
    [
        "/pubsub/amapi/wrong-secret",
        "/pubsub/amapi/" + SECRET[:-1],
        "/pubsub/amapi/" + SECRET + "x",
        "/pubsub/amapi/",
        "/pubsub/amapi",
    ],
)
def test_a_wrong_or_missing_secret_is_a_404_and_stores_nothing(url: str) -> None:
    response = post(body("STATUS_REPORT", device()), url)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert stored() == (0, 0)
    assert not Work.objects.filter(kind=APPLY).exists()


def test_without_a_configured_secret_the_endpoint_does_not_exist(push_settings: Any) -> None:
    push_settings.MAMORI_PUBSUB_PUSH_SECRET = ""
    assert post(body("STATUS_REPORT", device()), "/pubsub/amapi/").status_code == 404
    assert post(body("STATUS_REPORT", device()), "/pubsub/amapi/x").status_code == 404
    assert stored() == (0, 0)


def test_only_post_is_allowed() -> None:
    response = Client().get(PUSH_URL)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert stored() == (0, 0)


def test_a_message_is_stored_once_and_answered_204() -> None:
    content = body("STATUS_REPORT", device(), message_id="42")
    first = post(content)
    again = post(content)
    assert (first.status_code, again.status_code) == (204, 204)
    assert first.content == b""
    row = InboxMessage.objects.get()
    assert (row.message_id, row.notification_type, row.state) == ("42", "STATUS_REPORT", "pending")
    assert json.loads(row.data) == device()
    assert row.publish_time is not None and row.publish_time.year == 2026
    # No session or CSRF on the public door: nothing set.
    assert "Set-Cookie" not in first.headers and "Vary" not in first.headers


def test_one_nudge_for_many_messages_until_the_inbox_is_drained() -> None:
    for n in range(5):
        assert post(body("STATUS_REPORT", device(n))).status_code == 204
    assert Work.objects.filter(kind=APPLY).count() == 1
    assert InboxNudge.objects.get(pk=1).pending_since is not None
    # The run drains the inbox and empties the flag: the next message nudges again.
    from tests.conftest import run_work

    assert run_work(APPLY) == ["done"]
    assert InboxNudge.objects.get(pk=1).pending_since is None
    post(body("STATUS_REPORT", device(9)))
    assert Work.objects.filter(kind=APPLY, status=Work.Status.PENDING).count() == 1


def _message(**fields: Any) -> bytes:
    message = {"messageId": "7", "data": base64.b64encode(b"{}").decode(), **fields}
    return json.dumps({"message": {k: v for k, v in message.items() if v is not None}}).encode()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"not json at all", "not_json"),
        (b"\xff\xfe\x00garbage", "not_json"),
        (b"[1, 2]", "no_message"),
        (b"[" * 200_000 + b"]" * 200_000, "not_json"),
        (b'{"subscription": "x"}', "no_message"),
        (b'{"message": "text"}', "no_message"),
        (_message(messageId=None, message_id=None), "bad_message_id"),
        (_message(messageId=""), "bad_message_id"),
        (_message(messageId=7), "bad_message_id"),
        (_message(messageId="x" * 101), "bad_message_id"),
        (_message(messageId="a\x00b"), "bad_message_id"),
        (b'{"message": {"messageId": "\\ud800", "data": "e30="}}', "bad_message_id"),
        (_message(data=None), "no_data"),
        (_message(data=""), "no_data"),
        (_message(data="not base64!"), "bad_base64"),
        (_message(data=base64.b64encode(b"\xff\xfe").decode()), "not_utf8"),
        (_message(data=base64.b64encode(b'{"a": "\x00"}').decode()), "not_utf8"),
        (_message(attributes={"notificationType": "X" * 41}), "bad_type"),
        (_message(attributes={"notificationType": "\ud800"}), "bad_type"),
    ],
)
def test_a_malformed_push_is_acknowledged_and_kept_aside(content: bytes, reason: str) -> None:
    response = post(content)
    assert response.status_code == 204
    rejected = InboxRejected.objects.get()
    assert rejected.reason == reason
    assert "\x00" not in rejected.body
    assert InboxMessage.objects.count() == 0
    assert not Work.objects.filter(kind=APPLY).exists()


def test_a_body_larger_than_pubsub_sends_is_a_413(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "MAX_BODY", 100)
    response = post(body("STATUS_REPORT", device()))
    assert response.status_code == 413
    assert stored() == (0, 0)


def _console() -> logging.Handler:
    return next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, PushSecretFilter) for f in h.filters)
    )


def test_the_secret_never_reaches_a_log_line(monkeypatch: pytest.MonkeyPatch) -> None:
    console = _console()
    captured = io.StringIO()
    assert isinstance(console, logging.StreamHandler)
    old = console.setStream(captured)
    try:
        # Django's warning about a 4xx names the path: a near-miss of the secret.
        post(body("STATUS_REPORT", device()), "/pubsub/amapi/" + SECRET + "0")
        # The development server's access line (its own logger, through the same handler).
        logging.getLogger("django.server").info(
            '"%s" %s %s', f"POST /pubsub/amapi/{SECRET} HTTP/1.1", "204", "0"
        )
        # An error line of the public door.
        logging.getLogger("mamori.door").error("Public view failed: POST %s", PUSH_URL)
    finally:
        console.setStream(old)  # type: ignore[arg-type]
    text = captured.getvalue()
    assert SECRET not in text
    assert text.count("/pubsub/amapi/[redacted]") == 3, text
    assert "POST /pubsub/amapi/[redacted] HTTP/1.1" in text
