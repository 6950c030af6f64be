"""Google's failures as Mamori's errors: HttpError bodies through the real client (HttpMockSequence),
socket and credential failures, the work layer's retry or failure, and the endpoint setting."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone, translation
from google.auth import exceptions as auth_exceptions
from googleapiclient.discovery import build_from_document
from googleapiclient.http import HttpMockSequence

from mamori.android import amapi
from mamori.android.amapi.client import discovery_document
from mamori.android.amapi.errors import from_exception
from mamori.core.models import Work
from mamori.core.work import WorkFailed, WorkRetry
from mamori.settings import amapi_endpoint


def _raised(status: int, body: object, headers: dict[str, str] | None = None) -> amapi.AmapiError:
    answer = {"status": str(status), **(headers or {})}
    content = body if isinstance(body, str) else json.dumps(body)
    service = build_from_document(discovery_document(), http=HttpMockSequence([(answer, content)]))
    with pytest.raises(Exception) as caught:
        service.enterprises().policies().patch(name="enterprises/E1/policies/p1", body={}).execute()
    mapped = from_exception(caught.value, "enterprises.policies.patch")
    assert mapped is not None
    return mapped


def _status(code: int, status: str, message: str, details: list | None = None) -> dict:
    return {"error": {"code": code, "status": status, "message": message, "details": details or []}}


def test_bad_request_keeps_googles_message_and_field_violations() -> None:
    details = [
        {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [
                {"field": "applications[0].installType", "description": "Invalid value"},
                {"field": "cameraAccess", "description": "Unknown enum"},
            ],
        },
        {"@type": "type.googleapis.com/google.rpc.Help", "links": []},
    ]
    error = _raised(400, _status(400, "INVALID_ARGUMENT", "Invalid JSON payload.", details))
    assert type(error) is amapi.AmapiRefused
    assert (error.status, error.code, error.message) == (
        400,
        "INVALID_ARGUMENT",
        "Invalid JSON payload.",
    )
    assert error.field_violations == [
        ("applications[0].installType", "Invalid value"),
        ("cameraAccess", "Unknown enum"),
    ]
    assert str(error) == (
        "enterprises.policies.patch: AMAPI 400 INVALID_ARGUMENT: Invalid JSON payload.; "
        "applications[0].installType: Invalid value; cameraAccess: Unknown enum"
    )


def test_not_found_is_its_own_class() -> None:
    error = _raised(404, _status(404, "NOT_FOUND", "Requested entity was not found."))
    assert type(error) is amapi.AmapiNotFound
    assert error.code == "NOT_FOUND"


def test_quota_error_waits_at_least_sixty_seconds() -> None:
    error = _raised(429, _status(429, "RESOURCE_EXHAUSTED", "Quota exceeded"), {"retry-after": "5"})
    assert type(error) is amapi.AmapiUnavailable
    assert error.retry_after == 60.0
    assert not error.answer_lost
    later = _raised(429, _status(429, "RESOURCE_EXHAUSTED", "Quota"), {"retry-after": "120"})
    assert isinstance(later, amapi.AmapiUnavailable) and later.retry_after == 120.0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_may_pass(status: int) -> None:
    error = _raised(status, _status(status, "UNAVAILABLE", "The service is currently unavailable."))
    assert type(error) is amapi.AmapiUnavailable
    assert error.status == status


def test_an_error_body_that_is_not_json_keeps_the_status() -> None:
    error = _raised(403, "<html>Forbidden</html>")
    assert type(error) is amapi.AmapiRefused
    assert (error.status, error.code, error.field_violations) == (403, "PERMISSION_DENIED", [])


def test_socket_failures_say_whether_the_answer_was_lost() -> None:
    timeout = from_exception(TimeoutError("timed out"))
    refused = from_exception(ConnectionRefusedError(111, "refused"))
    reset = from_exception(ConnectionResetError(104, "reset"))
    assert isinstance(timeout, amapi.AmapiUnavailable) and timeout.answer_lost
    assert isinstance(refused, amapi.AmapiUnavailable) and not refused.answer_lost
    assert isinstance(reset, amapi.AmapiUnavailable) and reset.answer_lost
    assert isinstance(from_exception(TimeoutError()), amapi.AmapiUnavailable)
    assert from_exception(ValueError("a bug")) is None


def test_credentials_google_refuses_are_permanent_and_a_token_endpoint_down_is_not() -> None:
    refused = from_exception(
        auth_exceptions.RefreshError("invalid_grant: Invalid JWT", retryable=False)
    )
    down = from_exception(auth_exceptions.RefreshError("internal_failure", retryable=True))
    transport = from_exception(auth_exceptions.TransportError("connection refused"))
    assert type(refused) is amapi.AmapiRefused and refused.code == "UNAUTHENTICATED"
    assert type(down) is amapi.AmapiUnavailable
    assert type(transport) is amapi.AmapiUnavailable


def test_reasons_are_sentences_in_the_persons_language() -> None:
    quota = amapi.AmapiUnavailable("in use", code="QUOTA_IN_USE", retry_after=12.4)
    with translation.override("en"):
        assert quota.reason() == "Google's quota is in use, try again in 12 seconds."
    with translation.override("ja"):
        assert "12" in quota.reason() and "Google" in quota.reason()
        assert quota.reason() != "Google's quota is in use, try again in 12 seconds."


def _work(attempts: int, age: datetime.timedelta = datetime.timedelta()) -> Work:
    return Work(kind="android.test", attempts=attempts, created_at=timezone.now() - age)


def test_work_retries_a_quota_error_after_sixty_seconds_at_least() -> None:
    error = amapi.AmapiUnavailable("Quota exceeded", status=429, retry_after=60.0)
    for attempts in (1, 2, 3):
        outcome = amapi.work_retry(error, _work(attempts))
        assert isinstance(outcome, WorkRetry)
        assert outcome.delay is not None and outcome.delay.total_seconds() >= 60


def test_work_backs_off_exponentially_after_a_server_error() -> None:
    error = amapi.AmapiUnavailable("unavailable", status=503)
    first = amapi.work_retry(error, _work(1))
    fifth = amapi.work_retry(error, _work(5))
    assert isinstance(first, WorkRetry) and isinstance(fifth, WorkRetry)
    assert first.delay is not None and fifth.delay is not None
    assert 10 <= first.delay.total_seconds() <= 15
    assert 168 <= fifth.delay.total_seconds() <= 240


def test_work_fails_for_good_on_a_refusal_and_after_a_day() -> None:
    refused = amapi.AmapiRefused("Invalid JSON payload.", status=400)
    assert isinstance(amapi.work_retry(refused, _work(1)), WorkFailed)
    old = amapi.work_retry(
        amapi.AmapiUnavailable("unavailable", status=503), _work(40, datetime.timedelta(days=2))
    )
    assert isinstance(old, WorkFailed)


def test_the_decorator_turns_errors_into_work_outcomes() -> None:
    @amapi.amapi_work
    def handler(work: Work, actor: object) -> str | None:
        raise amapi.AmapiNotFound("gone", status=404)

    with pytest.raises(WorkFailed):
        handler(_work(1), None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/",
        "http://10.0.0.1:8765/",
        "ftp://127.0.0.1/",
        "https:///",
        "127.0.0.1:80",
    ],
)
def test_a_plain_http_endpoint_off_loopback_is_refused(url: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="MAMORI_AMAPI_ENDPOINT"):
        amapi_endpoint(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://androidmanagement.googleapis.com/",
        "http://127.0.0.1:8765/",
        "http://127.9.9.9/",
        "http://[::1]:8765/",
        "http://localhost:8765/amapi/",
    ],
)
def test_https_and_loopback_endpoints_are_accepted(url: str) -> None:
    assert amapi_endpoint(url) == url


def test_not_configured_without_a_key_file(settings: object, tmp_path: object) -> None:
    settings.MAMORI_AMAPI_CREDENTIALS = ""  # type: ignore[attr-defined]
    assert not amapi.configured()
    with pytest.raises(amapi.AmapiNotConfigured):
        amapi.project_id()
