"""The AMAPI sandbox through the unchanged google-api-python-client, over real HTTP.

Every call goes through ``build_from_document`` with ``service_account.Credentials`` read from the
sandbox's key file (the client fetches its token from the sandbox's ``/token``), as Mamori's
gateway does against Google.
"""

from __future__ import annotations

import http.client
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httplib2
import pytest
from google.auth.exceptions import RefreshError
from google.oauth2 import service_account
from google_auth_httplib2 import Request
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError

from mamori.android.sandbox.common import discovery
from mamori.android.sandbox.enroll import EnrollRefused
from mamori.android.sandbox.keys import SCOPE, key_file_write
from mamori.android.sandbox.server import SandboxServer
from tests.android.sandbox import PUBSUB_TOPIC, AmapiSandbox

PROJECT = "mamori-sandbox"
TOKEN_EXTRA = "com.google.android.apps.work.clouddpc.EXTRA_ENROLLMENT_TOKEN"


def bind(sandbox: AmapiSandbox, amapi: Any, organization: str = "ACME株式会社") -> dict[str, Any]:
    """Sign up and create an enterprise, as Mamori's signup callback does; returns it."""
    signup = (
        amapi.signupUrls()
        .create(
            projectId=PROJECT, callbackUrl="http://127.0.0.1:8000/acme/android/callback?state=s1"
        )
        .execute()
    )
    callback = sandbox.confirm_signup(signup["url"], organization)
    token = parse_qs(urlsplit(callback).query)["enterpriseToken"][0]
    enterprise: dict[str, Any] = (
        amapi.enterprises()
        .create(
            projectId=PROJECT,
            signupUrlName=signup["name"],
            enterpriseToken=token,
            body={
                "enterpriseDisplayName": organization,
                "pubsubTopic": PUBSUB_TOPIC,
                "enabledNotificationTypes": ["ENROLLMENT", "STATUS_REPORT", "COMMAND"],
            },
        )
        .execute()
    )
    return enterprise


def refused(call: Any) -> HttpError:
    """The HttpError ``call.execute()`` raises."""
    with pytest.raises(HttpError) as caught:
        call.execute()
    return caught.value


def raw(sandbox: AmapiSandbox, method: str, path: str, headers: dict[str, str] | None = None):
    """``(status, JSON body)`` of a plain HTTP request to the sandbox."""
    parts = urlsplit(sandbox.endpoint)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    connection.request(method, path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, json.loads(body) if body.startswith(b"{") else body.decode()


REPORTS = {
    "softwareInfoEnabled": True,
    "networkInfoEnabled": True,
    "memoryInfoEnabled": True,
    "applicationReportsEnabled": True,
}


@pytest.fixture
def amapi(amapi_sandbox: AmapiSandbox) -> Any:
    return amapi_sandbox.client()


# ── signup and enterprises ───────────────────────────────────────────────────────────────────


def test_signup_page_has_the_form_and_redirects_to_the_callback_with_the_token_appended(
    amapi_sandbox: AmapiSandbox, amapi: Any
) -> None:
    signup = (
        amapi.signupUrls()
        .create(
            projectId=PROJECT, callbackUrl="http://127.0.0.1:8000/cb?state=abc", adminEmail="a@x.jp"
        )
        .execute()
    )
    assert signup["name"].startswith("signupUrls/C")
    assert signup["url"].startswith(f"{amapi_sandbox.endpoint}signup/")

    status, page = raw(amapi_sandbox, "GET", urlsplit(signup["url"]).path)
    assert status == 200
    assert "Organization name" in page and ">Confirm</button>" in page

    callback = amapi_sandbox.confirm_signup(signup["url"], "ACME")
    parts = urlsplit(callback)
    assert callback.startswith("http://127.0.0.1:8000/cb?state=abc&enterpriseToken=")
    assert parse_qs(parts.query)["state"] == ["abc"]


def test_enterprise_is_created_once_per_enterprise_token_and_only_for_its_signup_url(
    amapi_sandbox: AmapiSandbox, amapi: Any
) -> None:
    first = amapi.signupUrls().create(projectId=PROJECT, callbackUrl="http://h/cb").execute()
    other = amapi.signupUrls().create(projectId=PROJECT, callbackUrl="http://h/cb").execute()
    token = parse_qs(urlsplit(amapi_sandbox.confirm_signup(first["url"], "A")).query)
    token_value = token["enterpriseToken"][0]
    enterprises = amapi.enterprises()

    wrong = refused(
        enterprises.create(
            projectId=PROJECT, signupUrlName=other["name"], enterpriseToken=token_value, body={}
        )
    )
    assert (wrong.status_code, wrong.error_details[0]["fieldViolations"][0]["field"]) == (
        400,
        "enterprise_token",
    )
    unknown = refused(
        enterprises.create(
            projectId=PROJECT, signupUrlName=first["name"], enterpriseToken="nope", body={}
        )
    )
    assert unknown.status_code == 400

    made = enterprises.create(
        projectId=PROJECT, signupUrlName=first["name"], enterpriseToken=token_value, body={}
    ).execute()
    assert made["name"].startswith("enterprises/LC")
    assert made["enterpriseDisplayName"] == "A"  # typed on the signup page
    assert made["managedGooglePlayAccountsEnterpriseType"] == "CUSTOMER_MANAGED"

    reused = refused(
        enterprises.create(
            projectId=PROJECT, signupUrlName=first["name"], enterpriseToken=token_value, body={}
        )
    )
    assert reused.status_code == 400
    assert amapi_sandbox.store.read("SELECT COUNT(*) AS n FROM enterprise")[0]["n"] == 1


def test_another_project_is_refused(amapi: Any) -> None:
    error = refused(amapi.signupUrls().create(projectId="someone-else", callbackUrl="http://h/"))
    assert error.status_code == 403


def test_enterprise_get_patch_and_delete_refused_as_customer_managed(
    amapi_sandbox: AmapiSandbox, amapi: Any
) -> None:
    enterprise = bind(amapi_sandbox, amapi)
    name = enterprise["name"]
    assert amapi.enterprises().get(name=name).execute() == enterprise

    # Unbinding: the topic and notification types cleared through the mask.
    patched = (
        amapi.enterprises()
        .patch(name=name, updateMask="pubsubTopic,enabledNotificationTypes", body={})
        .execute()
    )
    assert "pubsubTopic" not in patched and "enabledNotificationTypes" not in patched
    assert patched["enterpriseDisplayName"] == "ACME株式会社"

    error = refused(amapi.enterprises().delete(name=name))
    assert (error.status_code, json.loads(error.content)["error"]["status"]) == (
        400,
        "FAILED_PRECONDITION",
    )
    assert amapi.enterprises().get(name=name).execute()["name"] == name


def test_errors_have_googles_format(amapi_sandbox: AmapiSandbox, amapi: Any) -> None:
    error = refused(amapi.enterprises().get(name="enterprises/LC0missing"))
    assert error.status_code == 404
    assert json.loads(error.content) == {
        "error": {
            "code": 404,
            "message": "Requested entity was not found.",
            "status": "NOT_FOUND",
            "details": [],
        }
    }


def test_calls_without_a_valid_bearer_token_are_401_unauthenticated(
    amapi_sandbox: AmapiSandbox,
) -> None:
    for headers in ({}, {"Authorization": "Bearer ya29.forged.x"}, {"Authorization": "Basic x"}):
        status, body = raw(amapi_sandbox, "GET", "/v1/enterprises/LC0x?alt=json", headers)
        assert status == 401
        assert body["error"]["status"] == "UNAUTHENTICATED"
        assert body["error"]["code"] == 401


def test_token_endpoint_refuses_an_assertion_signed_by_another_key(
    amapi_sandbox: AmapiSandbox, tmp_path: Path
) -> None:
    key = json.loads(amapi_sandbox.key_file.read_text())
    other = key_file_write(tmp_path / "other.json", key["token_uri"])
    other["client_email"] = key["client_email"]
    credentials = service_account.Credentials.from_service_account_info(other, scopes=[SCOPE])
    with pytest.raises(RefreshError, match="invalid_grant"):
        credentials.refresh(Request(httplib2.Http()))
    assert amapi_sandbox.requests() == [("POST", "/token")]


# ── policies ─────────────────────────────────────────────────────────────────────────────────


def test_policy_patch_creates_replaces_masks_and_counts_versions(
    amapi_sandbox: AmapiSandbox, amapi: Any
) -> None:
    enterprise = bind(amapi_sandbox, amapi)
    policies = amapi.enterprises().policies()
    name = f"{enterprise['name']}/policies/p1"

    created = policies.patch(name=name, body={"cameraAccess": "CAMERA_ACCESS_DISABLED"}).execute()
    assert created == {"cameraAccess": "CAMERA_ACCESS_DISABLED", "name": name, "version": "1"}
    replaced = policies.patch(name=name, body={"screenCaptureDisabled": True}).execute()
    assert replaced == {"screenCaptureDisabled": True, "name": name, "version": "2"}
    masked = policies.patch(
        name=name, updateMask="cameraAccess", body={"cameraAccess": "CAMERA_ACCESS_ENFORCED"}
    ).execute()
    assert masked["version"] == "3"
    assert masked["screenCaptureDisabled"] is True
    assert policies.get(name=name).execute() == masked

    for index in range(11):
        policies.patch(name=f"{enterprise['name']}/policies/q{index}", body={}).execute()
    first = policies.list(parent=enterprise["name"]).execute()
    assert len(first["policies"]) == 10
    rest = policies.list(parent=enterprise["name"], pageToken=first["nextPageToken"]).execute()
    assert len(rest["policies"]) == 2 and "nextPageToken" not in rest

    policies.delete(name=name).execute()
    assert refused(policies.get(name=name)).status_code == 404


def test_policy_body_is_checked_against_the_discovery_schema(
    amapi_sandbox: AmapiSandbox, amapi: Any
) -> None:
    enterprise = bind(amapi_sandbox, amapi)
    error = refused(
        amapi.enterprises()
        .policies()
        .patch(
            name=f"{enterprise['name']}/policies/p1",
            body={"applications": [{"packageName": "a.b", "installType": "FORCE"}]},
        )
    )
    assert error.status_code == 400
    violations = error.error_details[0]["fieldViolations"]
    assert violations == [
        {
            "field": "policy.applications[0].installType",
            "description": "Invalid value at 'policy.applications[0].installType' ('FORCE')",
        }
    ]


def test_policy_delete_is_refused_while_a_device_uses_it(
    amapi_sandbox: AmapiSandbox, amapi: Any
) -> None:
    enterprise = bind(amapi_sandbox, amapi)
    policies = amapi.enterprises().policies()
    name = f"{enterprise['name']}/policies/default"
    policies.patch(name=name, body={}).execute()
    token = (
        amapi.enterprises().enrollmentTokens().create(parent=enterprise["name"], body={}).execute()
    )
    amapi_sandbox.enroll(token["value"])

    error = refused(policies.delete(name=name))
    assert error.status_code == 400
    assert policies.get(name=name).execute()["version"] == "1"


# ── enrollment tokens ────────────────────────────────────────────────────────────────────────


def test_enrollment_token_defaults_qr_code_and_partial_view(
    amapi_sandbox: AmapiSandbox, amapi: Any
) -> None:
    enterprise = bind(amapi_sandbox, amapi)
    tokens = amapi.enterprises().enrollmentTokens()
    before = time.time()
    token = tokens.create(
        parent=enterprise["name"],
        body={"allowPersonalUsage": "PERSONAL_USAGE_DISALLOWED", "additionalData": "m:42"},
    ).execute()
    assert token["duration"] == "3600s"
    assert token["oneTimeOnly"] is False
    assert token["additionalData"] == "m:42"
    assert len(token["value"]) == 20 and token["value"].isalpha()
    qr = json.loads(token["qrCode"])
    assert sorted(qr) == [
        "android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE",
        "android.app.extra.PROVISIONING_DEVICE_ADMIN_COMPONENT_NAME",
        "android.app.extra.PROVISIONING_DEVICE_ADMIN_PACKAGE_DOWNLOAD_LOCATION",
        "android.app.extra.PROVISIONING_DEVICE_ADMIN_SIGNATURE_CHECKSUM",
    ]
    assert qr["android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE"][TOKEN_EXTRA] == token["value"]
    expires = datetime.fromisoformat(token["expirationTimestamp"]).timestamp()
    assert 3599 < expires - before < 3601

    view = {
        key: token[key]
        for key in ("name", "expirationTimestamp", "allowPersonalUsage", "value", "qrCode")
    }
    assert tokens.get(name=token["name"]).execute() == view
    assert tokens.list(parent=enterprise["name"]).execute() == {"enrollmentTokens": [view]}

    tokens.delete(name=token["name"]).execute()
    assert refused(tokens.get(name=token["name"])).status_code == 404
    assert tokens.list(parent=enterprise["name"]).execute() == {"enrollmentTokens": []}


def test_additional_data_over_1024_characters_is_invalid_argument(
    amapi_sandbox: AmapiSandbox, amapi: Any
) -> None:
    enterprise = bind(amapi_sandbox, amapi)
    tokens = amapi.enterprises().enrollmentTokens()
    tokens.create(parent=enterprise["name"], body={"additionalData": "x" * 1024}).execute()
    error = refused(tokens.create(parent=enterprise["name"], body={"additionalData": "x" * 1025}))
    assert error.status_code == 400
    assert json.loads(error.content)["error"]["status"] == "INVALID_ARGUMENT"
    assert (
        error.error_details[0]["fieldViolations"][0]["field"] == "enrollment_token.additional_data"
    )


# ── enrollment and devices ───────────────────────────────────────────────────────────────────


@pytest.fixture
def bound(amapi_sandbox: AmapiSandbox, amapi: Any) -> dict[str, Any]:
    """An enterprise with a policy ``default`` asking for a password and reporting four sections."""
    enterprise = bind(amapi_sandbox, amapi)
    amapi.enterprises().policies().patch(
        name=f"{enterprise['name']}/policies/default",
        body={
            "passwordPolicies": [{"passwordQuality": "NUMERIC", "passwordMinimumLength": 6}],
            "statusReportingSettings": REPORTS,
            "applications": [
                {"packageName": "jp.co.example.app", "installType": "FORCE_INSTALLED"}
            ],
        },
    ).execute()
    return enterprise


def token_make(amapi: Any, enterprise: dict[str, Any], **body: Any) -> dict[str, Any]:
    token: dict[str, Any] = (
        amapi.enterprises()
        .enrollmentTokens()
        .create(parent=enterprise["name"], body=body)
        .execute()
    )
    return token


def test_enrolled_device_applies_its_policy_and_reports_what_it_enables(
    amapi_sandbox: AmapiSandbox, amapi: Any, bound: dict[str, Any]
) -> None:
    token = token_make(
        amapi, bound, allowPersonalUsage="PERSONAL_USAGE_DISALLOWED", additionalData="m:7"
    )
    (name,) = amapi_sandbox.enroll(token["value"], model="Pixel 8")
    device = amapi.enterprises().devices().get(name=name).execute()

    assert device["state"] == device["appliedState"] == "ACTIVE"
    assert (device["managementMode"], device["ownership"]) == ("DEVICE_OWNER", "COMPANY_OWNED")
    assert (
        device["policyName"] == device["appliedPolicyName"] == f"{bound['name']}/policies/default"
    )
    assert device["appliedPolicyVersion"] == "1"
    assert device["enrollmentTokenName"] == token["name"]
    assert device["enrollmentTokenData"] == "m:7"
    assert device["hardwareInfo"]["model"] == "Pixel 8"
    assert device["softwareInfo"]["androidVersion"] == "15"
    assert len(device["networkInfo"]["imei"]) == 15
    assert int(device["memoryInfo"]["totalRam"]) == 8 * 1024**3
    assert "jp.co.example.app" in {app["packageName"] for app in device["applicationReports"]}
    for off in ("displays", "deviceSettings", "powerManagementEvents", "hardwareStatusSamples"):
        assert off not in device
    assert device["policyCompliant"] is False
    assert device["nonComplianceDetails"] == [
        {"settingName": "passwordPolicies", "nonComplianceReason": "USER_ACTION"}
    ]


def test_a_device_with_a_password_is_compliant_and_a_work_profile_is_profile_owner(
    amapi_sandbox: AmapiSandbox, amapi: Any, bound: dict[str, Any]
) -> None:
    token = token_make(amapi, bound, allowPersonalUsage="PERSONAL_USAGE_ALLOWED")
    (company,) = amapi_sandbox.enroll(token["value"], password=True)
    (personal,) = amapi_sandbox.enroll(token["value"], personal=True)
    devices = amapi.enterprises().devices()
    first = devices.get(name=company).execute()
    assert first["policyCompliant"] is True and "nonComplianceDetails" not in first
    assert (first["managementMode"], first["ownership"]) == ("PROFILE_OWNER", "COMPANY_OWNED")
    second = devices.get(name=personal).execute()
    assert (second["managementMode"], second["ownership"]) == ("PROFILE_OWNER", "PERSONALLY_OWNED")
    # Android 12+ personal devices report their enterprise-specific id as the serial (2.3).
    hardware = second["hardwareInfo"]
    assert hardware["serialNumber"] == hardware["enterpriseSpecificId"]
    assert first["hardwareInfo"]["serialNumber"] != first["hardwareInfo"]["enterpriseSpecificId"]


def test_a_device_stays_provisioning_until_its_policy_exists(
    amapi_sandbox: AmapiSandbox, amapi: Any
) -> None:
    enterprise = bind(amapi_sandbox, amapi)
    token = token_make(amapi, enterprise, policyName="later")
    (name,) = amapi_sandbox.enroll(token["value"])
    devices = amapi.enterprises().devices()
    waiting = devices.get(name=name).execute()
    assert waiting["state"] == "PROVISIONING" and "appliedPolicyName" not in waiting

    amapi.enterprises().policies().patch(
        name=f"{enterprise['name']}/policies/later", body={}
    ).execute()
    applied = devices.get(name=name).execute()
    assert (applied["state"], applied["appliedPolicyVersion"]) == ("ACTIVE", "1")


def test_enrollment_is_refused_as_google_refuses(
    amapi_sandbox: AmapiSandbox, amapi: Any, bound: dict[str, Any]
) -> None:
    tokens = amapi.enterprises().enrollmentTokens()
    once = token_make(amapi, bound, oneTimeOnly=True)
    amapi_sandbox.enroll(once["value"])
    with pytest.raises(EnrollRefused, match="already been used"):
        amapi_sandbox.enroll(once["value"])

    deleted = token_make(amapi, bound)
    tokens.delete(name=deleted["name"]).execute()
    with pytest.raises(EnrollRefused, match="deleted"):
        amapi_sandbox.enroll(deleted["value"])

    expired = token_make(amapi, bound, duration="60s")
    with amapi_sandbox.store.write() as db:  # a minute later
        db.execute(
            "UPDATE enrollment_token SET expires = ? WHERE value = ?",
            (time.time() - 1, expired["value"]),
        )
    with pytest.raises(EnrollRefused, match="expired"):
        amapi_sandbox.enroll(expired["value"])

    company = token_make(amapi, bound, allowPersonalUsage="PERSONAL_USAGE_DISALLOWED")
    with pytest.raises(EnrollRefused, match="personal"):
        amapi_sandbox.enroll(company["value"], personal=True)

    with pytest.raises(EnrollRefused, match="No enrollment token"):
        amapi_sandbox.enroll("NOSUCHTOKENVALUE")
    assert len(amapi.enterprises().devices().list(parent=bound["name"]).execute()["devices"]) == 1


def test_enrollment_past_the_device_cap_is_refused(
    amapi_sandbox: AmapiSandbox, amapi: Any, bound: dict[str, Any]
) -> None:
    amapi_sandbox.limits(device_cap=3)
    token = token_make(amapi, bound)
    amapi_sandbox.enroll(token["value"], count=2)
    with pytest.raises(EnrollRefused, match="device cap"):
        amapi_sandbox.enroll(token["value"], count=2)
    amapi_sandbox.enroll(token["value"])
    assert amapi_sandbox.store.read("SELECT COUNT(*) AS n FROM device")[0]["n"] == 3


def test_devices_list_pages_by_ten_by_default_and_at_most_a_hundred(
    amapi_sandbox: AmapiSandbox, amapi: Any, bound: dict[str, Any]
) -> None:
    names = amapi_sandbox.enroll(token_make(amapi, bound)["value"], count=105)
    devices = amapi.enterprises().devices()
    first = devices.list(parent=bound["name"]).execute()
    assert [device["name"] for device in first["devices"]] == names[:10]
    big = devices.list(parent=bound["name"], pageSize=500).execute()
    assert len(big["devices"]) == 100
    rest = devices.list(
        parent=bound["name"], pageSize=500, pageToken=big["nextPageToken"]
    ).execute()
    assert [device["name"] for device in rest["devices"]] == names[100:]
    assert "nextPageToken" not in rest


def test_device_patch_changes_only_state_policy_and_disabled_reason(
    amapi_sandbox: AmapiSandbox, amapi: Any, bound: dict[str, Any]
) -> None:
    (name,) = amapi_sandbox.enroll(token_make(amapi, bound)["value"], password=True)
    amapi.enterprises().policies().patch(name=f"{bound['name']}/policies/kiosk", body={}).execute()
    devices = amapi.enterprises().devices()
    reason = {"defaultMessage": "Lost"}
    patched = devices.patch(
        name=name,
        updateMask="state,policyName,disabledReason",
        body={"state": "DISABLED", "policyName": "kiosk", "disabledReason": reason},
    ).execute()
    assert patched["state"] == "DISABLED"
    assert patched["disabledReason"] == reason
    assert patched["appliedPolicyName"] == f"{bound['name']}/policies/kiosk"

    error = refused(
        devices.patch(name=name, updateMask="ownership", body={"ownership": "PERSONALLY_OWNED"})
    )
    assert error.status_code == 400
    assert devices.get(name=name).execute()["ownership"] == "COMPANY_OWNED"


def test_device_delete_makes_it_404(
    amapi_sandbox: AmapiSandbox, amapi: Any, bound: dict[str, Any]
) -> None:
    (name,) = amapi_sandbox.enroll(token_make(amapi, bound)["value"])
    devices = amapi.enterprises().devices()
    too_long = refused(devices.delete(name=name, wipeReasonMessage="x" * 201))
    assert too_long.status_code == 400
    devices.delete(
        name=name, wipeDataFlags=["WIPE_EXTERNAL_STORAGE"], wipeReasonMessage="bye"
    ).execute()
    assert refused(devices.get(name=name)).status_code == 404
    assert devices.list(parent=bound["name"]).execute() == {"devices": []}


def test_issue_command_stores_a_pending_operation_that_can_be_cancelled(
    amapi_sandbox: AmapiSandbox, amapi: Any, bound: dict[str, Any]
) -> None:
    (name,) = amapi_sandbox.enroll(token_make(amapi, bound)["value"])
    devices = amapi.enterprises().devices()
    operation = devices.issueCommand(
        name=name, body={"type": "RESET_PASSWORD", "newPassword": "123456"}
    ).execute()
    assert operation["name"].startswith(f"{name}/operations/")
    assert operation["done"] is False
    assert operation["metadata"]["type"] == "RESET_PASSWORD"
    assert operation["metadata"]["duration"] == "600s"
    assert "newPassword" not in operation["metadata"]
    wipe = devices.issueCommand(name=name, body={"wipeParams": {"wipeDataFlags": []}}).execute()
    assert wipe["metadata"]["type"] == "WIPE"
    assert refused(devices.issueCommand(name=name, body={})).status_code == 400

    operations = devices.operations()
    assert operations.get(name=operation["name"]).execute() == operation
    listed = operations.list(name=f"{name}/operations").execute()
    assert [op["name"] for op in listed["operations"]] == [operation["name"], wipe["name"]]
    assert operations.cancel(name=operation["name"]).execute() == {}
    cancelled = operations.get(name=operation["name"]).execute()
    assert cancelled["done"] is True and cancelled["error"]["code"] == 1


# ── quota, restart ───────────────────────────────────────────────────────────────────────────


def test_queries_past_the_quota_are_429_resource_exhausted_until_the_window_moves(
    amapi_sandbox: AmapiSandbox, amapi: Any
) -> None:
    amapi_sandbox.limits(quota=3, quota_window=1.0)
    for _ in range(3):
        assert refused(amapi.enterprises().get(name="enterprises/LC0x")).status_code == 404
    error = refused(amapi.enterprises().get(name="enterprises/LC0x"))
    assert error.status_code == 429
    assert json.loads(error.content)["error"]["status"] == "RESOURCE_EXHAUSTED"
    time.sleep(1.05)
    assert refused(amapi.enterprises().get(name="enterprises/LC0x")).status_code == 404
    api_calls = [seen for seen in amapi_sandbox.request_log() if seen.path.startswith("/v1/")]
    assert [seen.status for seen in api_calls] == [404, 404, 404, 429, 404]


def test_a_restart_keeps_the_state_and_the_key(tmp_path: Path) -> None:
    first = SandboxServer(tmp_path, "127.0.0.1", 0).start()
    sandbox = AmapiSandbox(first)
    enterprise = bind(sandbox, sandbox.client())
    key = first.key_file.read_text()
    first.stop()

    second = SandboxServer(tmp_path, "127.0.0.1", 0).start()
    try:
        again = AmapiSandbox(second)
        assert (
            json.loads(second.key_file.read_text())["private_key"] == json.loads(key)["private_key"]
        )
        assert again.client().enterprises().get(name=enterprise["name"]).execute() == enterprise
    finally:
        second.stop()


def test_the_key_file_is_a_service_account_key(amapi_sandbox: AmapiSandbox) -> None:
    key = json.loads(amapi_sandbox.key_file.read_text())
    assert key["type"] == "service_account"
    assert key["project_id"] == "mamori-sandbox"
    assert key["token_uri"] == f"{amapi_sandbox.endpoint}token"
    assert key["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert amapi_sandbox.key_file.stat().st_mode & 0o777 == 0o600


def test_a_self_signed_jwt_is_accepted_without_the_token_endpoint(
    amapi_sandbox: AmapiSandbox,
) -> None:
    credentials = service_account.Credentials.from_service_account_file(
        str(amapi_sandbox.key_file), scopes=[SCOPE]
    )
    amapi = build_from_document(
        discovery(),
        credentials=credentials,
        client_options={"api_endpoint": amapi_sandbox.endpoint},
        always_use_jwt_access=True,
    )
    assert refused(amapi.enterprises().get(name="enterprises/LC0x")).status_code == 404
    assert amapi_sandbox.requests() == [("GET", "/v1/enterprises/LC0x")]
