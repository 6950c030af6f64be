"""signupUrls, enterprises, policies and enrollment tokens, as AMAPI answers them.

Each handler takes the ``Call`` (path arguments, query, JSON body) and returns the JSON the
method's discovery ``response`` schema names, or raises ``errors.ApiError``. Facts: ANDROID.md
parts 2.1 (methods), 2.4 (EnrollmentToken), 2.5 (Enterprise), 6 (the QR code).
"""

from __future__ import annotations

import json
import re
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from mamori.android.sandbox import common
from mamori.android.sandbox.errors import ApiError, invalid, not_found, precondition
from mamori.android.sandbox.keys import PROJECT_ID
from mamori.android.sandbox.store import Store


@dataclass
class Call:
    """One API call: ``path`` arguments (``enterprise``, ``policy``…), ``query``, JSON ``body``."""

    store: Store
    path: dict[str, str]
    query: dict[str, str] = field(default_factory=dict)
    multi: dict[str, list[str]] = field(default_factory=dict)  # repeated query parameters
    body: dict[str, Any] = field(default_factory=dict)
    base_url: str = "http://127.0.0.1/"


# ── signupUrls and the signup page ───────────────────────────────────────────────────────────


def project_check(call: Call) -> None:
    """403 PERMISSION_DENIED unless ``projectId`` is the sandbox's project (``mamori-sandbox``)."""
    if call.query.get("projectId") != PROJECT_ID:
        raise ApiError(
            "PERMISSION_DENIED",
            f"The caller does not have permission on project {call.query.get('projectId')!r}.",
        )


def signup_url_create(call: Call) -> dict[str, Any]:
    """signupUrls.create → ``SignupUrl{name: "signupUrls/C<16 hex>", url: <base>signup/<id>}``."""
    project_check(call)
    callback = call.query.get("callbackUrl", "")
    if urlsplit(callback).scheme not in ("http", "https"):
        raise invalid("callback_url", "callbackUrl must be an http or https URL.")
    signup_id = "C" + secrets.token_hex(8)
    with call.store.write() as db:
        db.execute(
            "INSERT INTO signup_url VALUES (?, ?, ?, ?)",
            (signup_id, callback, call.query.get("adminEmail", ""), time.time()),
        )
    return {"name": f"signupUrls/{signup_id}", "url": f"{call.base_url}signup/{signup_id}"}


def signup_confirm(store: Store, signup_id: str, organization: str) -> str | None:
    """The callback URL with ``enterpriseToken`` appended (its query kept), or None if unknown.

    What Google's signup page does once the person has signed up: a new enterprise token, good
    for one ``enterprises.create`` with this signup URL's name.
    """
    rows = store.read("SELECT callback_url FROM signup_url WHERE id = ?", (signup_id,))
    if not rows:
        return None
    token = "E" + secrets.token_urlsafe(24)
    with store.write() as db:
        db.execute(
            "INSERT INTO enterprise_token (token, signup_id, organization) VALUES (?, ?, ?)",
            (token, signup_id, organization),
        )
    parts = urlsplit(rows[0]["callback_url"])
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("enterpriseToken", token)]
    return urlunsplit(parts._replace(query=urlencode(query)))


# ── enterprises ──────────────────────────────────────────────────────────────────────────────

ENTERPRISE_READ_ONLY = (
    "name",
    "enterpriseType",
    "managedGooglePlayAccountsEnterpriseType",
    "managedGoogleDomainType",
)
TOPIC = re.compile(r"^projects/[^/]+/topics/[^/]+$")


def enterprise_fields() -> list[str]:
    """The fields of ``Enterprise`` a caller may set (the discovery schema minus read-only)."""
    schema = common.discovery()["schemas"]["Enterprise"]["properties"]
    return [name for name in schema if name not in ENTERPRISE_READ_ONLY]


def enterprise_body_check(body: dict[str, Any]) -> None:
    """400 INVALID_ARGUMENT for an unknown field, a long name, a bad topic or notification type."""
    for name in body:
        if name not in enterprise_fields() and name not in ENTERPRISE_READ_ONLY:
            raise invalid(
                "enterprise",
                f"Invalid JSON payload received. Unknown name \"{name}\" at 'enterprise': "
                "Cannot find field.",
            )
    if len(str(body.get("enterpriseDisplayName", ""))) > 100:
        raise invalid("enterprise.enterprise_display_name", "Display name is too long (100).")
    topic = body.get("pubsubTopic")
    if topic and not TOPIC.match(str(topic)):
        raise invalid(
            "enterprise.pubsub_topic", "pubsubTopic must be projects/{project}/topics/{topic}."
        )
    allowed = common.enum_values("Enterprise", "enabledNotificationTypes")
    for kind in body.get("enabledNotificationTypes") or []:
        if kind not in allowed:
            raise invalid(
                "enterprise.enabled_notification_types",
                f"Invalid value at 'enterprise.enabled_notification_types' ({kind!r}).",
            )


def enterprise_create(call: Call) -> dict[str, Any]:
    """enterprises.create: a customer-managed enterprise from a signup's enterprise token.

    Refused (400 INVALID_ARGUMENT) when the token is unknown, already used, or was not issued
    for ``signupUrlName``; ``agreementAccepted`` is refused (deprecated, "do not set" for
    customer-managed enterprises). ``enterpriseDisplayName`` defaults to the organization name
    typed on the signup page.
    """
    project_check(call)
    if call.query.get("agreementAccepted", "false") != "false":
        raise invalid("agreement_accepted", "Do not set agreementAccepted.")
    enterprise_body_check(call.body)
    token = call.query.get("enterpriseToken", "")
    signup_id = call.query.get("signupUrlName", "").removeprefix("signupUrls/")
    enterprise_id = "LC0" + common.new_id(7)
    with call.store.write() as db:
        row = db.execute(
            "SELECT organization FROM enterprise_token WHERE token = ? AND signup_id = ? "
            "AND used = 0",
            (token, signup_id),
        ).fetchone()
        if row is None:
            raise invalid("enterprise_token", "The enterprise token is invalid or already used.")
        db.execute("UPDATE enterprise_token SET used = 1 WHERE token = ?", (token,))
        body = {
            **{key: value for key, value in call.body.items() if key in enterprise_fields()},
            "name": f"enterprises/{enterprise_id}",
            "enterpriseType": "MANAGED_GOOGLE_PLAY_ACCOUNTS_ENTERPRISE",
            "managedGooglePlayAccountsEnterpriseType": "CUSTOMER_MANAGED",
        }
        body.setdefault("enterpriseDisplayName", row["organization"])
        db.execute("INSERT INTO enterprise VALUES (?, ?)", (enterprise_id, json.dumps(body)))
    return body


def enterprise_load(store: Store, enterprise_id: str) -> dict[str, Any]:
    """The stored ``Enterprise``; 404 NOT_FOUND when there is none."""
    rows = store.read("SELECT body FROM enterprise WHERE id = ?", (enterprise_id,))
    if not rows:
        raise not_found()
    body: dict[str, Any] = json.loads(rows[0]["body"])
    return body


def enterprise_get(call: Call) -> dict[str, Any]:
    """enterprises.get."""
    return enterprise_load(call.store, call.path["enterprise"])


def enterprise_patch(call: Call) -> dict[str, Any]:
    """enterprises.patch: the ``updateMask`` fields (all modifiable ones without it) from the body.

    A field in the mask but not in the body is cleared (how Mamori unbinds: pubsubTopic and
    enabledNotificationTypes). A read-only or unknown field in the mask: 400 INVALID_ARGUMENT.
    """
    body = enterprise_load(call.store, call.path["enterprise"])
    enterprise_body_check(call.body)
    mask = common.update_mask(call.query)
    for name in mask or []:
        if name not in enterprise_fields():
            raise invalid("update_mask", f"Field {name!r} cannot be updated.")
    for name in enterprise_fields() if mask is None else mask:
        if name in call.body:
            body[name] = call.body[name]
        else:
            body.pop(name, None)
    body.setdefault("enterpriseDisplayName", "")
    with call.store.write() as db:
        db.execute(
            "UPDATE enterprise SET body = ? WHERE id = ?",
            (json.dumps(body), call.path["enterprise"]),
        )
    return body


def enterprise_delete(call: Call) -> dict[str, Any]:
    """enterprises.delete: refused for a customer-managed enterprise, as Google refuses it."""
    enterprise_load(call.store, call.path["enterprise"])
    raise precondition(
        "Deleting a customer-managed enterprise is not supported: only EMM-managed "
        "enterprises can be deleted through the API."
    )


# ── policies ─────────────────────────────────────────────────────────────────────────────────


def policy_name(enterprise_id: str, policy_id: str) -> str:
    """``enterprises/{e}/policies/{p}``."""
    return f"enterprises/{enterprise_id}/policies/{policy_id}"


def policy_load(store: Store, enterprise_id: str, policy_id: str) -> dict[str, Any] | None:
    """The stored ``Policy`` (with ``name`` and ``version``), or None."""
    rows = store.read(
        "SELECT body FROM policy WHERE enterprise_id = ? AND id = ?", (enterprise_id, policy_id)
    )
    return json.loads(rows[0]["body"]) if rows else None


def policy_patch(call: Call) -> dict[str, Any]:
    """enterprises.policies.patch: creates a missing policy; without updateMask replaces it all.

    ``version`` (int64 as a string) is the server's: 1 at creation, +1 on each patch. Devices
    that use the policy apply the new version at once (a virtual device is always online;
    ``devices.policy_apply``).
    """
    from mamori.android.sandbox.devices import policy_apply
    from mamori.android.sandbox.validation import policy_check

    enterprise_id, policy_id = call.path["enterprise"], call.path["policy"]
    enterprise_load(call.store, enterprise_id)
    policy_check(call.body)
    mask = common.update_mask(call.query)
    with call.store.write() as db:
        row = db.execute(
            "SELECT body FROM policy WHERE enterprise_id = ? AND id = ?",
            (enterprise_id, policy_id),
        ).fetchone()
        old: dict[str, Any] = json.loads(row["body"]) if row else {}
        if mask is None:
            new = dict(call.body)
        else:
            new = dict(old)
            for name in mask:
                if name in call.body:
                    new[name] = call.body[name]
                else:
                    new.pop(name, None)
        new["name"] = policy_name(enterprise_id, policy_id)
        new["version"] = str(int(old.get("version", "0")) + 1)
        db.execute(
            "INSERT INTO policy (enterprise_id, id, body) VALUES (?, ?, ?) "
            "ON CONFLICT (enterprise_id, id) DO UPDATE SET body = excluded.body",
            (enterprise_id, policy_id, json.dumps(new)),
        )
        policy_apply(db, enterprise_id, policy_id, int(new["version"]))
    return new


def policy_get(call: Call) -> dict[str, Any]:
    """enterprises.policies.get; 404 for a policy that does not exist."""
    enterprise_load(call.store, call.path["enterprise"])
    policy = policy_load(call.store, call.path["enterprise"], call.path["policy"])
    if policy is None:
        raise not_found()
    return policy


def policy_list(call: Call) -> dict[str, Any]:
    """enterprises.policies.list: ``{policies[], nextPageToken}``, 10 by default, 100 at most."""
    enterprise_load(call.store, call.path["enterprise"])
    size = common.page_size(call.query)
    rows = call.store.read(
        "SELECT seq, body FROM policy WHERE enterprise_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (call.path["enterprise"], common.page_after(call.query), size + 1),
    )
    page, token = common.paged(rows, size)
    answer: dict[str, Any] = {"policies": [json.loads(row["body"]) for row in page]}
    if token:
        answer["nextPageToken"] = token
    return answer


def policy_delete(call: Call) -> dict[str, Any]:
    """enterprises.policies.delete: refused (400 FAILED_PRECONDITION) while a device uses it."""
    enterprise_id, policy_id = call.path["enterprise"], call.path["policy"]
    enterprise_load(call.store, enterprise_id)
    with call.store.write() as db:
        if (
            db.execute(
                "SELECT 1 FROM policy WHERE enterprise_id = ? AND id = ?",
                (enterprise_id, policy_id),
            ).fetchone()
            is None
        ):
            raise not_found()
        if db.execute(
            "SELECT 1 FROM device WHERE enterprise_id = ? AND policy_id = ? LIMIT 1",
            (enterprise_id, policy_id),
        ).fetchone():
            raise precondition("Policy cannot be deleted: it is referenced by one or more devices.")
        db.execute(
            "DELETE FROM policy WHERE enterprise_id = ? AND id = ?", (enterprise_id, policy_id)
        )
    return {}


# ── enrollment tokens ────────────────────────────────────────────────────────────────────────

DPC = "com.google.android.apps.work.clouddpc"
# The four extras of the QR code Google returns (ANDROID.md part 6).
QR_EXTRAS = {
    "android.app.extra.PROVISIONING_DEVICE_ADMIN_COMPONENT_NAME": (
        f"{DPC}/.receivers.CloudDeviceAdminReceiver"
    ),
    "android.app.extra.PROVISIONING_DEVICE_ADMIN_SIGNATURE_CHECKSUM": (
        "I5YvS0O5hXY46mb01BlRjq4oJJGs2kuUcHvVkAPEXlg"
    ),
    "android.app.extra.PROVISIONING_DEVICE_ADMIN_PACKAGE_DOWNLOAD_LOCATION": (
        "https://play.google.com/managed/downloadManagingApp?identifier=setup"
    ),
}
TOKEN_EXTRA = f"{DPC}.EXTRA_ENROLLMENT_TOKEN"
# What get and list return: "only a partial view" (ANDROID.md 2.4).
TOKEN_VIEW = ("name", "expirationTimestamp", "allowPersonalUsage", "value", "qrCode")
MAX_ADDITIONAL_DATA = 1024  # characters


def qr_code(value: str) -> str:
    """The ``qrCode`` JSON string: the provisioning extras with the token in the admin extras."""
    extras = {
        **QR_EXTRAS,
        "android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE": {TOKEN_EXTRA: value},
    }
    return json.dumps(extras, separators=(",", ":"))


def token_policy(enterprise_id: str, policy: Any) -> str | None:
    """``policyName`` as a full name (a bare id is accepted); 400 for another enterprise's."""
    if not policy:
        return None
    text = str(policy)
    if "/" not in text:
        return policy_name(enterprise_id, text)
    if not text.startswith(f"enterprises/{enterprise_id}/policies/") or text.count("/") != 3:
        raise invalid("enrollment_token.policy_name", f"Invalid policy name {text!r}.")
    return text


def token_create(call: Call) -> dict[str, Any]:
    """enterprises.enrollmentTokens.create → the whole ``EnrollmentToken``.

    ``duration`` 1 minute to Durations.MAX_VALUE, default 3600s; ``additionalData`` at most
    1,024 characters; ``allowPersonalUsage`` one of the schema's values. Each refusal is a 400
    INVALID_ARGUMENT naming the field. ``value`` is 20 capital letters (typed on a personal
    device); the expiration is coerced to Timestamps.MAX_VALUE.
    """
    enterprise_id = call.path["enterprise"]
    enterprise_load(call.store, enterprise_id)
    body = call.body
    seconds = common.duration_seconds(body.get("duration", "3600s"), "enrollment_token.duration")
    if not 60 <= seconds <= common.MAX_DURATION:
        raise invalid("enrollment_token.duration", "duration must be 1 minute to ~10,000 years.")
    additional = str(body.get("additionalData", ""))
    if len(additional) > MAX_ADDITIONAL_DATA:
        raise invalid(
            "enrollment_token.additional_data",
            f"additionalData is longer than {MAX_ADDITIONAL_DATA} characters.",
        )
    usage = body.get("allowPersonalUsage", "ALLOW_PERSONAL_USAGE_UNSPECIFIED")
    if usage not in common.enum_values("EnrollmentToken", "allowPersonalUsage"):
        raise invalid(
            "enrollment_token.allow_personal_usage",
            f"Invalid value at 'enrollment_token.allow_personal_usage' ({usage!r}).",
        )
    token_id = secrets.token_urlsafe(30)
    value = "".join(secrets.choice(string.ascii_uppercase) for _ in range(20))
    expires = min(time.time() + seconds, common.MAX_TIMESTAMP)
    token: dict[str, Any] = {
        "name": f"enterprises/{enterprise_id}/enrollmentTokens/{token_id}",
        "value": value,
        "duration": f"{seconds:g}s",
        "expirationTimestamp": common.rfc3339(expires),
        "allowPersonalUsage": usage,
        "oneTimeOnly": bool(body.get("oneTimeOnly", False)),
        "qrCode": qr_code(value),
    }
    policy = token_policy(enterprise_id, body.get("policyName"))
    if policy:
        token["policyName"] = policy
    if additional:
        token["additionalData"] = additional
    with call.store.write() as db:
        db.execute(
            "INSERT INTO enrollment_token (enterprise_id, id, value, body, expires) "
            "VALUES (?, ?, ?, ?, ?)",
            (enterprise_id, token_id, value, json.dumps(token), expires),
        )
    return token


ACTIVE_TOKEN = "deleted = 0 AND used = 0 AND expires > ?"  # noqa: S105 - SQL


def token_get(call: Call) -> dict[str, Any]:
    """enterprises.enrollmentTokens.get: an active token's five fields; 404 otherwise."""
    rows = call.store.read(
        f"SELECT body FROM enrollment_token WHERE enterprise_id = ? AND id = ? AND {ACTIVE_TOKEN}",  # noqa: S608
        (call.path["enterprise"], call.path["token"], time.time()),
    )
    if not rows:
        raise not_found()
    return token_view(json.loads(rows[0]["body"]))


def token_view(token: dict[str, Any]) -> dict[str, Any]:
    """The partial view get and list return (``TOKEN_VIEW``)."""
    return {key: token[key] for key in TOKEN_VIEW if key in token}


def token_list(call: Call) -> dict[str, Any]:
    """enterprises.enrollmentTokens.list: active tokens only, five fields, 10 a page (max 100)."""
    enterprise_load(call.store, call.path["enterprise"])
    size = common.page_size(call.query)
    rows = call.store.read(
        f"SELECT seq, body FROM enrollment_token WHERE enterprise_id = ? AND {ACTIVE_TOKEN} "  # noqa: S608
        "AND seq > ? ORDER BY seq LIMIT ?",
        (call.path["enterprise"], time.time(), common.page_after(call.query), size + 1),
    )
    page, next_token = common.paged(rows, size)
    answer: dict[str, Any] = {"enrollmentTokens": [token_view(json.loads(r["body"])) for r in page]}
    if next_token:
        answer["nextPageToken"] = next_token
    return answer


def token_delete(call: Call) -> dict[str, Any]:
    """enterprises.enrollmentTokens.delete: the token can no longer enroll; 404 if unknown."""
    with call.store.write() as db:
        done = db.execute(
            "UPDATE enrollment_token SET deleted = 1 WHERE enterprise_id = ? AND id = ? "
            "AND deleted = 0",
            (call.path["enterprise"], call.path["token"]),
        ).rowcount
    if not done:
        raise not_found()
    return {}
