"""Durable AMAPI work: publishing a profile's policy (Google's answer logged by the system),
turning an unbound enterprise's notifications off, deleting a deleted profile's policy and the
enrollment tokens of a deleted organization. Handlers take ids, re-read their rows
and are safe to run twice (``policies.patch`` without ``updateMask`` replaces the whole policy)."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mamori.android import amapi
from mamori.android.audit_actions import AndroidAction
from mamori.android.models import Enterprise, Profile, PublishState
from mamori.android.services import (
    DEVICE_DELETE,
    NOTIFICATIONS_MASK,
    NOTIFICATIONS_OFF,
    POLICY_DELETE,
    PUBLISH,
    RELEASE,
    TOKEN_DELETE,
)
from mamori.audit.services import Target, TargetType, log_record
from mamori.core.actor import Actor
from mamori.core.models import Work
from mamori.core.work import Failure, WorkFailed, work_handler


def _publish_record(
    profile: Profile, number: int | None, *, version: str = "", reason: str = ""
) -> None:
    """The system's log entry of Google's answer to a publication: accepted with AMAPI's
    version, or refused (``reason``). Last in the transaction that records the state."""
    log_record(
        contract=profile.contract,
        actor=Actor.system(),
        action=AndroidAction.PROFILE_PUBLISH_FAILED
        if reason
        else AndroidAction.PROFILE_PUBLISH_ACCEPTED,
        target=Target(TargetType.POLICY, profile.pk, profile.name),
        after={"version": number, "google_answer": reason}
        if reason
        else {"version": number, "google_version": version},
        success=not reason,
    )


def _publish_failed(profile: Profile, number: int | None, error: amapi.AmapiError) -> None:
    with transaction.atomic():
        Profile.objects.filter(pk=profile.pk).update(
            publish_state=PublishState.FAILED,
            publish_error=error.message or error.code,
            publish_violations=[list(v) for v in error.field_violations],
        )
        _publish_record(profile, number, reason=error.message or error.code)


def policy_publish(work: Work, actor: Actor) -> str:
    """Send the profile's current version to AMAPI and record AMAPI's version, or Google's
    refusal (with its field violations) on the profile, each with the system's log entry."""
    profile = (
        Profile.objects.select_related("current", "contract")
        .filter(pk=work.payload["profile_id"])
        .first()
    )
    if profile is None or profile.current is None:
        return "gone"
    number = profile.current.number
    enterprise = Enterprise.objects.filter(contract_id=profile.contract_id).first()
    if enterprise is None:
        with transaction.atomic():
            Profile.objects.filter(pk=profile.pk).update(publish_state=PublishState.UNPUBLISHED)
            _publish_record(
                profile, number, reason=_("The contract is not bound to Android Enterprise.")
            )
        return "unbound"
    try:
        answer = amapi.policy_patch(
            profile.policy_name(enterprise), profile.current.policy, contract_id=profile.contract_id
        )
    except amapi.AmapiUnavailable as exc:
        raise amapi.work_retry(exc, work) from exc
    except amapi.AmapiError as exc:
        _publish_failed(profile, number, exc)
        raise WorkFailed(exc.message or exc.code) from exc
    version = str(answer.get("version", ""))
    with transaction.atomic():
        # Saved again meanwhile: this version is out, the next publication sends the newer.
        Profile.objects.filter(pk=profile.pk).update(
            publish_state=PublishState.PUBLISHED,
            published_number=number,
            published_version=version,
            published_at=timezone.now(),
            publish_error="",
            publish_violations=[],
        )
        _publish_record(profile, number, version=version)
    return "published"


def policy_publish_failed(work: Work, failure: Failure) -> None:
    """Retries ran out (Google unreachable for long): the profile shows the failure."""
    profile = (
        Profile.objects.select_related("current", "contract")
        .filter(pk=work.payload.get("profile_id"), publish_state=PublishState.PENDING)
        .first()
    )
    if profile is None:
        return
    with transaction.atomic():
        Profile.objects.filter(pk=profile.pk).update(
            publish_state=PublishState.FAILED, publish_error=failure.reason[:2000]
        )
        _publish_record(
            profile, profile.current.number if profile.current else None, reason=failure.reason
        )


def enrollment_token_delete(work: Work, actor: Actor) -> str:
    """Delete at Google a token Mamori no longer has (its organization was deleted)."""
    return _google_call(
        work,
        lambda: amapi.enrollment_token_delete(work.payload["name"], contract_id=work.contract_id),
        "deleted",
    )


def _google_call(work: Work, call: Callable[[], object], done: str) -> str:
    """Run the AMAPI ``call`` of ``work``: ``done``, or ``"gone"`` when Google no longer has
    its object; retried while Google is unavailable (``amapi.work_retry``); failed for good,
    with Google's message, when Google refuses it."""
    try:
        call()
    except amapi.AmapiNotFound:
        return "gone"
    except amapi.AmapiUnavailable as exc:
        raise amapi.work_retry(exc, work) from exc
    except amapi.AmapiError as exc:
        raise WorkFailed(exc.message or exc.code) from exc
    return done


def device_delete(work: Work, actor: Actor) -> str:
    """``devices.delete`` (a wipe attempt) of a device Mamori forgets with its enterprise."""
    return _google_call(
        work,
        lambda: amapi.device_delete(work.payload["name"], contract_id=work.contract_id),
        "deleted",
    )


def enterprise_release(work: Work, actor: Actor) -> str:
    """Clear an unbound enterprise's Pub/Sub topic and notification types."""
    return _google_call(
        work,
        lambda: amapi.enterprise_patch(
            work.payload["enterprise"],
            NOTIFICATIONS_OFF,
            update_mask=NOTIFICATIONS_MASK,
            contract_id=work.contract_id,
        ),
        "released",
    )


def policy_delete(work: Work, actor: Actor) -> str:
    """Delete a deleted profile's policy (AMAPI refuses while a device uses it)."""
    return _google_call(
        work,
        lambda: amapi.policy_delete(work.payload["name"], contract_id=work.contract_id),
        "deleted",
    )


def register() -> None:
    """Called from ``AndroidConfig.ready()``."""
    work_handler(PUBLISH, retry=amapi.work_retry_policy(), on_failure=policy_publish_failed)(
        policy_publish
    )
    work_handler(RELEASE, retry=amapi.work_retry_policy())(enterprise_release)
    work_handler(POLICY_DELETE, retry=amapi.work_retry_policy())(policy_delete)
    work_handler(TOKEN_DELETE, retry=amapi.work_retry_policy())(enrollment_token_delete)
    work_handler(DEVICE_DELETE, retry=amapi.work_retry_policy())(device_delete)
