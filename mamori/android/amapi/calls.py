"""Every AMAPI method Mamori uses: the only place that knows AMAPI's names, paths and shapes.

Each call builds its request on this thread's client (``client.service``), takes one unit of the
deployment-wide budget (``limiter``), sends it once, and maps failures to ``AmapiError``
(``errors``). Shapes are AMAPI's JSON as the discovery document ``androidmanagement.v1.json``
(rev. 20261104) gives them; ANDROID.md 2.1 lists the methods, paths and parameters.

Inline calls (a person waits: ``signup_url_create``, ``enterprise_create``,
``enrollment_token_create``, ``enrollment_token_delete``) use ``MAMORI_AMAPI_INLINE_TIMEOUT``,
wait at most a few seconds for the budget, and are tried again at most once, at once, when
that is safe. Every other call uses ``MAMORI_AMAPI_TIMEOUT`` and is not retried here: a work
handler turns its ``AmapiError`` into the work layer's retry or failure (``work.work_retry``).
"""

from __future__ import annotations

import datetime
import hashlib
import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils import timezone

from mamori.android import hooks
from mamori.android.amapi import client
from mamori.android.amapi.errors import AmapiError, AmapiUnavailable, from_exception
from mamori.android.amapi.limiter import quota_acquire
from mamori.core.metrics import AMAPI_CALLS

# Waits for the budget: a person waits a few seconds at most; a worker sleeps only briefly
# and otherwise gives its work back to the queue (AmapiUnavailable QUOTA_IN_USE).
INLINE_QUOTA_WAIT = 5.0
QUEUED_QUOTA_WAIT = 1.0
# The one quick retry of an inline call that may be repeated.
INLINE_RETRY_PAUSE = 1.0
# Clock difference allowed between this host and Google when matching times (reconciliation).
CLOCK_SKEW = datetime.timedelta(seconds=10)
# EnrollmentToken.duration's maximum: protobuf Durations.MAX_VALUE (discovery document).
DURATION_MAX = "315576000000s"
COMMAND_DURATION_DEFAULT = 600  # seconds (Command.duration, ANDROID.md 2.2)
NOTIFICATION_TYPES = ["ENROLLMENT", "STATUS_REPORT", "COMMAND", "USAGE_LOGS"]
PAGE_SIZE = 100  # the largest page devices.list and enrollmentTokens.list give (ANDROID.md 2.1)

Request = Callable[[Any], Any]


def configured() -> bool:
    """Whether ``MAMORI_AMAPI_CREDENTIALS`` names a key file that exists."""
    try:
        client.key_file()
    except AmapiError:
        return False
    return True


def project_id() -> str:
    """``MAMORI_AMAPI_PROJECT_ID``, else the key file's ``project_id``.

    Raises ``AmapiNotConfigured`` when neither gives one.
    """
    return settings.MAMORI_AMAPI_PROJECT_ID or client.key_project_id()


def pubsub_topic() -> str:
    """``MAMORI_PUBSUB_TOPIC`` (``projects/{project}/topics/{topic}``, ANDROID.md 2.5); may be ""."""
    return str(settings.MAMORI_PUBSUB_TOPIC)


def _execute(
    method: str, build: Request, *, inline: bool, contract_id: int | None
) -> dict[str, Any]:
    """Build, count against the budget, send once; raise ``AmapiError`` for every failure."""
    timeout = settings.MAMORI_AMAPI_INLINE_TIMEOUT if inline else settings.MAMORI_AMAPI_TIMEOUT
    request = build(client.service(timeout))
    wait = quota_acquire(contract_id, max_wait=INLINE_QUOTA_WAIT if inline else QUEUED_QUOTA_WAIT)
    if wait:
        raise AmapiUnavailable(
            "Mamori's share of the project's AMAPI quota is in use",
            code="QUOTA_IN_USE",
            retry_after=wait,
            method=method,
        )
    try:
        result = request.execute(num_retries=0)
    except Exception as exc:
        mapped = from_exception(exc, method)
        AMAPI_CALLS.labels(method, str(getattr(mapped, "code", "") or "error")[:40]).inc()
        if mapped is None:
            raise
        hooks.enterprise_answered(contract_id, method, mapped)
        raise mapped from exc
    AMAPI_CALLS.labels(method, "ok").inc()
    hooks.enterprise_answered(contract_id, method, None)
    return result if isinstance(result, dict) else {}


def _once_more(method: str, build: Request, *, contract_id: int | None) -> dict[str, Any]:
    """An inline call that may be repeated: a second try after a short pause, not after a 429."""
    try:
        return _execute(method, build, inline=True, contract_id=contract_id)
    except AmapiUnavailable as error:
        if error.status == 429 or error.code == "QUOTA_IN_USE":
            raise
    time.sleep(INLINE_RETRY_PAUSE)
    return _execute(method, build, inline=True, contract_id=contract_id)


def _paged(build: Callable[[Any, str | None], Any], token: str | None) -> Request:
    return lambda service: build(service, token)


def _all_pages(
    method: str, build: Callable[[Any, str | None], Any], key: str, *, contract_id: int | None
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = _execute(method, _paged(build, token), inline=False, contract_id=contract_id)
        items.extend(page.get(key) or [])
        token = page.get("nextPageToken")
        if not token:
            return items


# ── Signup and enterprises ───────────────────────────────────────────────────────────────────


def signup_url_create(
    *, callback_url: str, admin_email: str | None = None, contract_id: int | None = None
) -> dict[str, Any]:
    """``signupUrls.create`` (inline) → ``{"name": "signupUrls/…", "url": "https://…"}``.

    Repeating it is harmless (a second URL), so it is tried once more after a failure that may
    pass. Raises ``AmapiError``.
    """
    params: dict[str, Any] = {"projectId": project_id(), "callbackUrl": callback_url}
    if admin_email:
        params["adminEmail"] = admin_email
    return _once_more(
        "signupUrls.create",
        lambda s: s.signupUrls().create(**params),
        contract_id=contract_id,
    )


def enterprise_create(
    *,
    signup_url_name: str,
    enterprise_token: str,
    display_name: str,
    contract_id: int | None = None,
) -> dict[str, Any]:
    """``enterprises.create`` (inline) → the ``Enterprise`` (``name``: ``enterprises/…``).

    Body: ``enterpriseDisplayName``, ``pubsubTopic`` (``pubsub_topic()``, left out when empty)
    and ``enabledNotificationTypes`` ENROLLMENT, STATUS_REPORT, COMMAND, USAGE_LOGS.
    ``agreementAccepted`` is never sent (deprecated for customer-managed enterprises).
    **Never retried**: it is not idempotent and the signup token is single-use (ANDROID.md 4);
    the person starts again from the signup. Raises ``AmapiError``.
    """
    body: dict[str, Any] = {
        "enterpriseDisplayName": display_name,
        "enabledNotificationTypes": NOTIFICATION_TYPES,
    }
    if pubsub_topic():
        body["pubsubTopic"] = pubsub_topic()
    return _execute(
        "enterprises.create",
        lambda s: s.enterprises().create(
            projectId=project_id(),
            signupUrlName=signup_url_name,
            enterpriseToken=enterprise_token,
            body=body,
        ),
        inline=True,
        contract_id=contract_id,
    )


def enterprise_get(name: str, *, contract_id: int | None = None) -> dict[str, Any]:
    """``enterprises.get`` → ``Enterprise``. ``AmapiNotFound`` when it is gone."""
    return _execute(
        "enterprises.get",
        lambda s: s.enterprises().get(name=name),
        inline=False,
        contract_id=contract_id,
    )


def enterprise_patch(
    name: str, body: dict[str, Any], *, update_mask: str, contract_id: int | None = None
) -> dict[str, Any]:
    """``enterprises.patch`` of the fields in ``update_mask`` (comma-separated) → ``Enterprise``.

    Unbinding clears ``pubsubTopic`` and ``enabledNotificationTypes`` this way (ANDROID.md 2.1).
    Idempotent. Raises ``AmapiError``.
    """
    return _execute(
        "enterprises.patch",
        lambda s: s.enterprises().patch(name=name, updateMask=update_mask, body=body),
        inline=False,
        contract_id=contract_id,
    )


# ── Enrollment tokens ────────────────────────────────────────────────────────────────────────


def _timestamp(value: object) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        # Google's nanoseconds: keep the microseconds Python can hold.
        text = str(value)
        head, _, tail = text.partition(".")
        try:
            return datetime.datetime.fromisoformat(f"{head}.{tail[:6]}+00:00")
        except ValueError:
            return None


def enrollment_token_create(
    enterprise: str,
    *,
    duration_seconds: int | None,
    one_time: bool,
    allow_personal_usage: str,
    policy_name: str | None,
    additional_data: str,
    contract_id: int | None = None,
) -> dict[str, Any]:
    """``enterprises.enrollmentTokens.create`` (inline) → ``EnrollmentToken``.

    Returns ``name``, ``value``, ``qrCode`` (a JSON string, for the QR as is),
    ``expirationTimestamp`` and the fields sent. ``duration_seconds`` None means no expiry:
    AMAPI's largest duration is sent (``Durations.MAX_VALUE``, ANDROID.md 2.4).
    ``allow_personal_usage``: PERSONAL_USAGE_ALLOWED, PERSONAL_USAGE_DISALLOWED or
    PERSONAL_USAGE_DISALLOWED_USERLESS. ``additional_data`` (≤ 1,024 characters) comes back as
    ``Device.enrollmentTokenData``.

    A lost answer is reconciled, not repeated: see ``_token_reconcile``. Raises ``AmapiError``.
    """
    body: dict[str, Any] = {
        "duration": f"{duration_seconds}s" if duration_seconds is not None else DURATION_MAX,
        "oneTimeOnly": one_time,
        "allowPersonalUsage": allow_personal_usage,
        "additionalData": additional_data,
    }
    if policy_name:
        body["policyName"] = policy_name

    def build(s: Any) -> Any:
        return s.enterprises().enrollmentTokens().create(parent=enterprise, body=body)

    method = "enterprises.enrollmentTokens.create"
    sent = timezone.now()
    try:
        return _execute(method, build, inline=True, contract_id=contract_id)
    except AmapiUnavailable as error:
        if error.status == 429 or error.code == "QUOTA_IN_USE":
            raise
        if error.answer_lost:
            found = _token_reconcile(enterprise, body, sent, contract_id=contract_id)
            if found == "ambiguous":
                raise
            if isinstance(found, dict):
                return {**body, **found}
    time.sleep(INLINE_RETRY_PAUSE)
    return _execute(method, build, inline=True, contract_id=contract_id)


def _token_reconcile(
    enterprise: str,
    body: dict[str, Any],
    sent: datetime.datetime,
    *,
    contract_id: int | None,
) -> dict[str, Any] | str | None:
    """Find the token a lost ``create`` made: the token, ``None`` (not made) or ``"ambiguous"``.

    ``get``/``list`` show only ``name``, ``value``, ``qrCode``, ``expirationTimestamp`` and
    ``allowPersonalUsage`` (ANDROID.md 2.4), so ``additionalData`` cannot be matched. The rule:
    same ``allowPersonalUsage``, and ``expirationTimestamp`` within
    ``[sent + duration, now + duration]`` widened by ``CLOCK_SKEW`` (for no expiry: Google
    coerces it to Timestamps.MAX_VALUE, year 9999). Exactly one such token is the one; none:
    not made; several (another token of the same kind created in those seconds): ambiguous.
    """
    tokens = enrollment_token_list(enterprise, contract_id=contract_id)
    if body["duration"] == DURATION_MAX:
        earliest = datetime.datetime(9999, 1, 1, tzinfo=datetime.UTC)
        latest = datetime.datetime.max.replace(tzinfo=datetime.UTC)
    else:
        duration = datetime.timedelta(seconds=int(body["duration"][:-1]))
        earliest = sent + duration - CLOCK_SKEW
        latest = timezone.now() + duration + CLOCK_SKEW
    found = [
        token
        for token in tokens
        if token.get("allowPersonalUsage") == body["allowPersonalUsage"]
        and (expires := _timestamp(token.get("expirationTimestamp"))) is not None
        and earliest <= expires <= latest
    ]
    if len(found) > 1:
        return "ambiguous"
    return found[0] if found else None


def enrollment_token_delete(name: str, *, contract_id: int | None = None) -> None:
    """``enterprises.enrollmentTokens.delete`` (inline; idempotent: tried once more).

    ``AmapiNotFound`` when the token is already gone (expired or deleted).
    """
    _once_more(
        "enterprises.enrollmentTokens.delete",
        lambda s: s.enterprises().enrollmentTokens().delete(name=name),
        contract_id=contract_id,
    )


def enrollment_token_list(enterprise: str, *, contract_id: int | None = None) -> list[dict]:
    """``enterprises.enrollmentTokens.list``, every page: the active tokens, partial view only."""
    return _all_pages(
        "enterprises.enrollmentTokens.list",
        lambda s, token: (
            s.enterprises()
            .enrollmentTokens()
            .list(parent=enterprise, pageSize=PAGE_SIZE, pageToken=token)
        ),
        "enrollmentTokens",
        contract_id=contract_id,
    )


# ── Policies ─────────────────────────────────────────────────────────────────────────────────


def policy_patch(
    name: str, policy: dict[str, Any], *, contract_id: int | None = None
) -> dict[str, Any]:
    """``enterprises.policies.patch`` without ``updateMask``: creates or replaces the whole policy.

    ``name``: ``enterprises/{e}/policies/{p}``. Returns the ``Policy`` with Google's ``version``
    (an int64 string). Idempotent. Raises ``AmapiError`` (``AmapiRefused`` with
    ``field_violations`` for an ``INVALID_ARGUMENT``).
    """
    return _execute(
        "enterprises.policies.patch",
        lambda s: s.enterprises().policies().patch(name=name, body=policy),
        inline=False,
        contract_id=contract_id,
    )


def policy_get(name: str, *, contract_id: int | None = None) -> dict[str, Any]:
    """``enterprises.policies.get`` → ``Policy``; ``AmapiNotFound`` when there is none."""
    return _execute(
        "enterprises.policies.get",
        lambda s: s.enterprises().policies().get(name=name),
        inline=False,
        contract_id=contract_id,
    )


def policy_list(enterprise: str, *, contract_id: int | None = None) -> list[dict]:
    """``enterprises.policies.list``, every page → ``[Policy]``."""
    return _all_pages(
        "enterprises.policies.list",
        lambda s, token: (
            s.enterprises().policies().list(parent=enterprise, pageSize=PAGE_SIZE, pageToken=token)
        ),
        "policies",
        contract_id=contract_id,
    )


def policy_delete(name: str, *, contract_id: int | None = None) -> None:
    """``enterprises.policies.delete``; refused (``AmapiRefused``) while a device uses it."""
    _execute(
        "enterprises.policies.delete",
        lambda s: s.enterprises().policies().delete(name=name),
        inline=False,
        contract_id=contract_id,
    )


# ── Devices ──────────────────────────────────────────────────────────────────────────────────


def device_list(
    enterprise: str,
    *,
    page_size: int = PAGE_SIZE,
    page_token: str | None = None,
    contract_id: int | None = None,
) -> tuple[list[dict], str | None]:
    """One page of ``enterprises.devices.list`` → ``([Device], next page token or None)``.

    ``page_size`` at most 100 (larger is coerced to 100 by Google). One call per page: a caller
    walking 100,000 devices spends 1,000 calls of the budget, so it pages from durable work.
    """
    page = _execute(
        "enterprises.devices.list",
        lambda s: (
            s.enterprises()
            .devices()
            .list(parent=enterprise, pageSize=page_size, pageToken=page_token)
        ),
        inline=False,
        contract_id=contract_id,
    )
    return list(page.get("devices") or []), page.get("nextPageToken") or None


def device_get(name: str, *, contract_id: int | None = None) -> dict[str, Any]:
    """``enterprises.devices.get`` → ``Device``; ``AmapiNotFound`` once deleted."""
    return _execute(
        "enterprises.devices.get",
        lambda s: s.enterprises().devices().get(name=name),
        inline=False,
        contract_id=contract_id,
    )


def device_patch(
    name: str, body: dict[str, Any], *, update_mask: str, contract_id: int | None = None
) -> dict[str, Any]:
    """``enterprises.devices.patch`` → ``Device``.

    Only ``state`` (ACTIVE/DISABLED), ``policyName`` and ``disabledReason`` can change
    (ANDROID.md 2.3). Idempotent.
    """
    return _execute(
        "enterprises.devices.patch",
        lambda s: s.enterprises().devices().patch(name=name, updateMask=update_mask, body=body),
        inline=False,
        contract_id=contract_id,
    )


def device_delete(
    name: str,
    *,
    wipe_data_flags: tuple[str, ...] | list[str] = (),
    wipe_reason_message: str | None = None,
    contract_id: int | None = None,
) -> None:
    """``enterprises.devices.delete``: wipes (best effort) and forgets the device.

    ``wipe_data_flags``: PRESERVE_RESET_PROTECTION_DATA, WIPE_EXTERNAL_STORAGE, WIPE_ESIMS;
    ``wipe_reason_message`` ≤ 200 characters, shown on personal devices only (ANDROID.md 2.1).
    Idempotent in effect: repeating it after a lost answer gives ``AmapiNotFound``.
    """
    params: dict[str, Any] = {"name": name}
    if wipe_data_flags:
        params["wipeDataFlags"] = list(wipe_data_flags)
    if wipe_reason_message:
        params["wipeReasonMessage"] = wipe_reason_message
    _execute(
        "enterprises.devices.delete",
        lambda s: s.enterprises().devices().delete(**params),
        inline=False,
        contract_id=contract_id,
    )


# ── Commands and operations ──────────────────────────────────────────────────────────────────


def _seconds(duration: object) -> Decimal | None:
    try:
        return Decimal(str(duration).removesuffix("s"))
    except InvalidOperation:
        return None


def command_marked(command: dict[str, Any], marker: str) -> dict[str, Any]:
    """``command`` with ``marker`` written into the nanoseconds of its ``duration``.

    The Command schema has no field of the caller's own (ANDROID.md 2.2), but ``duration`` is
    echoed in the ``Operation``'s ``metadata``: ``"600s"`` becomes ``"600.000000123s"`` (123 from
    a hash of ``marker``), a nanosecond longer for the device, and a mark the reconciliation can
    find. Whether Google echoes the nanoseconds as sent is [unverified]; the sandbox does.
    """
    seconds = _seconds(command.get("duration", f"{COMMAND_DURATION_DEFAULT}s"))
    whole = int(seconds) if seconds is not None else COMMAND_DURATION_DEFAULT
    nanos = int.from_bytes(hashlib.sha256(marker.encode()).digest()[:8], "big") % 999_999_999 + 1
    return {**command, "duration": f"{whole}.{nanos:09d}s"}


def _command_type(command: dict[str, Any]) -> str:
    return str(command.get("type") or "")


def _operation_matches(
    operation: dict[str, Any], command: dict[str, Any], since: datetime.datetime
) -> bool:
    """The matching rule of a lost ``issueCommand``: see ``device_issue_command``."""
    sent = operation.get("metadata") or {}
    if _command_type(command) and sent.get("type") != _command_type(command):
        return False
    if "." in str(command.get("duration", "")):
        return _seconds(sent.get("duration")) == _seconds(command["duration"])
    created = _timestamp(sent.get("createTime"))
    return created is not None and created >= since - CLOCK_SKEW


def _operation_find(
    device: str, command: dict[str, Any], since: datetime.datetime, contract_id: int | None
) -> dict[str, Any] | None:
    for operation in operation_list(device, contract_id=contract_id):
        if _operation_matches(operation, command, since):
            return operation
    return None


def device_issue_command(
    name: str,
    command: dict[str, Any],
    *,
    marker: str | None = None,
    sent_after: datetime.datetime | None = None,
    contract_id: int | None = None,
    inline: bool = False,
) -> dict[str, Any]:
    """``enterprises.devices.issueCommand`` → the ``Operation`` (``metadata``: the Command).

    ``inline``: a person waits (a new password is sent only this way, never stored): the
    inline timeout and budget wait apply, as for the other inline calls.

    Not idempotent: a command whose answer was lost is **reconciled, not repeated**. The
    device's operations are listed and one is taken for this command when its
    ``metadata.type`` is the command's and — with a ``marker`` (any stable string, e.g. the
    work id) — its ``metadata.duration`` carries the marker (``command_marked``), or — without
    one — its ``metadata.createTime`` is at or after the send (less ``CLOCK_SKEW``; any such
    command of the same type then counts as this one).

    - A lost answer (timeout, connection broken after sending): reconciled at once; found →
      returned; not found → ``AmapiUnavailable`` (``answer_lost``) for the caller to retry.
    - ``sent_after``: an earlier attempt may have been sent after this time (a retried work
      item: pass its ``created_at`` when ``attempts > 1``): reconciled *before* sending.

    ``newPassword`` may be echoed in the returned metadata [unverified]: never store it.
    Raises ``AmapiError``.
    """
    if marker:
        command = command_marked(command, marker)
    if sent_after is not None:
        found = _operation_find(name, command, sent_after, contract_id)
        if found is not None:
            return found
    sent = timezone.now()
    try:
        return _execute(
            "enterprises.devices.issueCommand",
            lambda s: s.enterprises().devices().issueCommand(name=name, body=command),
            inline=inline,
            contract_id=contract_id,
        )
    except AmapiUnavailable as error:
        if not error.answer_lost:
            raise
        found = _operation_find(name, command, sent, contract_id)
        if found is None:
            raise
        return found


def operation_get(name: str, *, contract_id: int | None = None) -> dict[str, Any]:
    """``enterprises.devices.operations.get`` → ``Operation``; ``AmapiNotFound`` once dropped."""
    return _execute(
        "enterprises.devices.operations.get",
        lambda s: s.enterprises().devices().operations().get(name=name),
        inline=False,
        contract_id=contract_id,
    )


def operation_list(device_name: str, *, contract_id: int | None = None) -> list[dict]:
    """``enterprises.devices.operations.list`` of one device, every page → ``[Operation]``.

    The method's ``name`` is ``{device}/operations`` (ANDROID.md 2.1).
    """
    return _all_pages(
        "enterprises.devices.operations.list",
        lambda s, token: (
            s.enterprises()
            .devices()
            .operations()
            .list(name=f"{device_name}/operations", pageSize=PAGE_SIZE, pageToken=token)
        ),
        "operations",
        contract_id=contract_id,
    )


def operation_cancel(name: str, *, contract_id: int | None = None) -> None:
    """``enterprises.devices.operations.cancel`` (best effort: ``Operation.error.code`` 1 after)."""
    _execute(
        "enterprises.devices.operations.cancel",
        lambda s: s.enterprises().devices().operations().cancel(name=name),
        inline=False,
        contract_id=contract_id,
    )
