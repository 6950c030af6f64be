"""The gateway against the AMAPI sandbox over real HTTP, through google-api-python-client with the
sandbox's service-account key: every method, retries of refused calls, lost answers reconciled.

Between the gateway and the sandbox sits ``GatewayProxy``: it records each request the sandbox
receives and breaks what a test asks (a refusal, an answer withheld past the timeout).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from mamori.android import amapi
from mamori.android.amapi import client
from tests.android.gateway_proxy import GatewayProxy

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def proxy(amapi_sandbox: Any, settings: Any) -> Iterator[GatewayProxy]:
    through = GatewayProxy(amapi_sandbox.endpoint)
    settings.MAMORI_AMAPI_ENDPOINT = through.endpoint
    settings.MAMORI_AMAPI_TIMEOUT = 2.0
    settings.MAMORI_AMAPI_INLINE_TIMEOUT = 2.0
    client.forget()
    yield through
    client.forget()
    through.close()


def _enterprise(sandbox: Any) -> str:
    signup = amapi.signup_url_create(callback_url="http://testserver/android/callback?state=s1")
    callback = sandbox.confirm_signup(signup["url"], "Alpha Inc.")
    token = parse_qs(urlsplit(callback).query)["enterpriseToken"][0]
    enterprise = amapi.enterprise_create(
        signup_url_name=signup["name"], enterprise_token=token, display_name="Alpha Inc."
    )
    return str(enterprise["name"])


def _device(sandbox: Any, enterprise: str) -> str:
    amapi.policy_patch(f"{enterprise}/policies/p1", {"cameraAccess": "CAMERA_ACCESS_DISABLED"})
    token = amapi.enrollment_token_create(
        enterprise,
        duration_seconds=3600,
        one_time=False,
        allow_personal_usage="PERSONAL_USAGE_DISALLOWED",
        policy_name=f"{enterprise}/policies/p1",
        additional_data="mamori-token-1",
    )
    return str(sandbox.enroll(token["value"], count=1)[0])


def test_every_method_works_against_the_sandbox(amapi_sandbox: Any, proxy: GatewayProxy) -> None:
    assert amapi.configured()
    assert amapi.project_id() == "mamori-sandbox"
    enterprise = _enterprise(amapi_sandbox)
    got = amapi.enterprise_get(enterprise)
    assert got["enterpriseDisplayName"] == "Alpha Inc."
    assert set(got["enabledNotificationTypes"]) == {
        "ENROLLMENT",
        "STATUS_REPORT",
        "COMMAND",
        "USAGE_LOGS",
    }
    patched = amapi.enterprise_patch(
        enterprise, {"enterpriseDisplayName": "Alpha"}, update_mask="enterpriseDisplayName"
    )
    assert patched["enterpriseDisplayName"] == "Alpha"

    policy = amapi.policy_patch(
        f"{enterprise}/policies/p1", {"cameraAccess": "CAMERA_ACCESS_DISABLED"}
    )
    assert policy["cameraAccess"] == "CAMERA_ACCESS_DISABLED" and int(policy["version"]) >= 1
    again = amapi.policy_patch(f"{enterprise}/policies/p1", {"screenCaptureDisabled": True})
    assert "cameraAccess" not in again and int(again["version"]) == int(policy["version"]) + 1
    assert amapi.policy_get(f"{enterprise}/policies/p1")["screenCaptureDisabled"] is True
    amapi.policy_patch(f"{enterprise}/policies/p2", {})
    assert sorted(p["name"] for p in amapi.policy_list(enterprise)) == [
        f"{enterprise}/policies/p1",
        f"{enterprise}/policies/p2",
    ]
    amapi.policy_delete(f"{enterprise}/policies/p2")
    with pytest.raises(amapi.AmapiNotFound):
        amapi.policy_get(f"{enterprise}/policies/p2")

    token = amapi.enrollment_token_create(
        enterprise,
        duration_seconds=3600,
        one_time=True,
        allow_personal_usage="PERSONAL_USAGE_DISALLOWED",
        policy_name=f"{enterprise}/policies/p1",
        additional_data="mamori-token-2",
    )
    assert token["name"].startswith(f"{enterprise}/enrollmentTokens/")
    qr = json.loads(token["qrCode"])
    extras = qr["android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE"]
    assert extras["com.google.android.apps.work.clouddpc.EXTRA_ENROLLMENT_TOKEN"] == token["value"]
    assert [t["name"] for t in amapi.enrollment_token_list(enterprise)] == [token["name"]]
    spare = amapi.enrollment_token_create(
        enterprise,
        duration_seconds=None,
        one_time=False,
        allow_personal_usage="PERSONAL_USAGE_ALLOWED",
        policy_name=None,
        additional_data="mamori-token-3",
    )
    assert spare["expirationTimestamp"].startswith("9999-")
    amapi.enrollment_token_delete(spare["name"])
    with pytest.raises(amapi.AmapiNotFound):
        amapi.enrollment_token_delete(spare["name"])

    device = amapi_sandbox.enroll(token["value"], count=1)[0]
    devices, next_page = amapi.device_list(enterprise, page_size=10)
    assert [d["name"] for d in devices] == [device] and next_page is None
    assert amapi.device_get(device)["enrollmentTokenData"] == "mamori-token-2"
    disabled = amapi.device_patch(device, {"state": "DISABLED"}, update_mask="state")
    assert disabled["state"] == "DISABLED"
    amapi.device_patch(device, {"state": "ACTIVE"}, update_mask="state")

    operation = amapi.device_issue_command(device, {"type": "LOCK"}, marker="work-1")
    assert operation["metadata"]["type"] == "LOCK"
    assert amapi.operation_get(operation["name"])["name"] == operation["name"]
    assert [o["name"] for o in amapi.operation_list(device)] == [operation["name"]]
    amapi.operation_cancel(operation["name"])
    assert amapi.operation_get(operation["name"])["error"]["code"] == 1

    amapi.device_delete(device, wipe_data_flags=["WIPE_EXTERNAL_STORAGE"])
    with pytest.raises(amapi.AmapiNotFound):
        amapi.device_get(device)


def test_enterprise_create_with_a_reused_token_is_refused_and_not_retried(
    amapi_sandbox: Any, proxy: GatewayProxy
) -> None:
    signup = amapi.signup_url_create(callback_url="http://testserver/cb")
    token = parse_qs(urlsplit(amapi_sandbox.confirm_signup(signup["url"], "A")).query)
    kwargs = {
        "signup_url_name": signup["name"],
        "enterprise_token": token["enterpriseToken"][0],
        "display_name": "A",
    }
    amapi.enterprise_create(**kwargs)
    with pytest.raises(amapi.AmapiRefused):
        amapi.enterprise_create(**kwargs)
    assert len(proxy.calls("/v1/enterprises?", "POST")) == 2


def test_enterprise_create_is_never_retried_even_when_refused_for_now(
    amapi_sandbox: Any, proxy: GatewayProxy
) -> None:
    proxy.refuse("/v1/enterprises?", 503)
    with pytest.raises(amapi.AmapiUnavailable):
        amapi.enterprise_create(
            signup_url_name="signupUrls/C1", enterprise_token="t", display_name="A"
        )
    assert len(proxy.refused) == 1 and proxy.calls("/v1/enterprises?") == []


def test_an_inline_call_is_retried_once_after_a_503_but_not_after_a_429(
    amapi_sandbox: Any, proxy: GatewayProxy
) -> None:
    proxy.refuse("/v1/signupUrls", 503)
    assert amapi.signup_url_create(callback_url="http://testserver/cb")["url"]
    assert (len(proxy.refused), len(proxy.calls("/v1/signupUrls"))) == (1, 1)
    proxy.refuse("/v1/signupUrls", 429)
    with pytest.raises(amapi.AmapiUnavailable) as raised:
        amapi.signup_url_create(callback_url="http://testserver/cb")
    assert raised.value.status == 429 and raised.value.retry_after >= 60
    assert (len(proxy.refused), len(proxy.calls("/v1/signupUrls"))) == (2, 1)


def test_queued_calls_are_retried_by_the_work_layer_per_the_rules(
    amapi_sandbox: Any, proxy: GatewayProxy
) -> None:
    from mamori.core.models import Work
    from mamori.core.work import WorkRetry

    enterprise = _enterprise(amapi_sandbox)
    work = Work(kind="android.test", attempts=1, created_at=timezone.now())
    outcomes = []
    for status in (429, 503):
        proxy.refuse(f"{enterprise}/policies/p1", status)
        with pytest.raises(amapi.AmapiUnavailable) as raised:
            amapi.policy_patch(f"{enterprise}/policies/p1", {})
        outcomes.append(amapi.work_retry(raised.value, work))
    assert all(isinstance(outcome, WorkRetry) for outcome in outcomes)
    delays = [outcome.delay.total_seconds() for outcome in outcomes]  # type: ignore[union-attr]
    assert delays[0] >= 60 and 10 <= delays[1] <= 15
    # the work's next attempt: one request reaches the sandbox and succeeds
    assert amapi.policy_patch(f"{enterprise}/policies/p1", {})["name"].endswith("/p1")
    assert len(proxy.calls(f"{enterprise}/policies/p1", "PATCH")) == 1


def test_a_lost_command_answer_is_reconciled_not_repeated(
    amapi_sandbox: Any, proxy: GatewayProxy
) -> None:
    enterprise = _enterprise(amapi_sandbox)
    device = _device(amapi_sandbox, enterprise)
    proxy.lose(":issueCommand", hold=3.0)
    operation = amapi.device_issue_command(device, {"type": "LOCK"}, marker="work-7")
    assert operation["metadata"]["type"] == "LOCK"
    assert len(proxy.calls(":issueCommand", "POST")) == 1
    assert [o["name"] for o in amapi.operation_list(device)] == [operation["name"]]
    # the work's next attempt (attempts > 1) finds it too, and sends nothing
    again = amapi.device_issue_command(
        device,
        {"type": "LOCK"},
        marker="work-7",
        sent_after=timezone.now() - timezone.timedelta(minutes=1),
    )
    assert again["name"] == operation["name"]
    assert len(proxy.calls(":issueCommand", "POST")) == 1


def test_a_command_that_did_not_happen_is_sent_on_the_next_attempt(
    amapi_sandbox: Any, proxy: GatewayProxy
) -> None:
    enterprise = _enterprise(amapi_sandbox)
    device = _device(amapi_sandbox, enterprise)
    other = amapi.device_issue_command(device, {"type": "LOCK"}, marker="work-8")
    operation = amapi.device_issue_command(
        device,
        {"type": "LOCK"},
        marker="work-9",
        sent_after=timezone.now() - timezone.timedelta(minutes=1),
    )
    assert operation["name"] != other["name"]
    assert len(proxy.calls(":issueCommand", "POST")) == 2


def test_a_lost_enrollment_token_answer_is_reconciled_not_repeated(
    amapi_sandbox: Any, proxy: GatewayProxy
) -> None:
    enterprise = _enterprise(amapi_sandbox)
    proxy.lose("/enrollmentTokens?", hold=3.0)
    token = amapi.enrollment_token_create(
        enterprise,
        duration_seconds=7 * 86400,
        one_time=True,
        allow_personal_usage="PERSONAL_USAGE_ALLOWED",
        policy_name=None,
        additional_data="mamori-token-9",
    )
    assert len(proxy.calls("/enrollmentTokens", "POST")) == 1
    assert [t["name"] for t in amapi.enrollment_token_list(enterprise)] == [token["name"]]
    assert token["value"] and token["additionalData"] == "mamori-token-9"
