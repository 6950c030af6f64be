"""Durable AMAPI work: publishing a profile's policy, turning an unbound enterprise's
notifications off, deleting a deleted profile's policy. Handlers take ids, re-read their rows
and are safe to run twice (``policies.patch`` without ``updateMask`` replaces the whole policy)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from mamori.android import amapi
from mamori.android.models import Enterprise, Profile, PublishState
from mamori.android.services import (
    NOTIFICATIONS_MASK,
    NOTIFICATIONS_OFF,
    POLICY_DELETE,
    PUBLISH,
    RELEASE,
)
from mamori.core.actor import Actor
from mamori.core.models import Work
from mamori.core.work import Failure, WorkFailed, work_handler


def policy_publish(work: Work, actor: Actor) -> str:
    """Send the profile's current version to AMAPI and record AMAPI's version, or Google's
    refusal (with its field violations) on the profile."""
    profile = (
        Profile.objects.select_related("current").filter(pk=work.payload["profile_id"]).first()
    )
    if profile is None or profile.current is None:
        return "gone"
    enterprise = Enterprise.objects.filter(contract_id=profile.contract_id).first()
    if enterprise is None:
        Profile.objects.filter(pk=profile.pk).update(publish_state=PublishState.UNPUBLISHED)
        return "unbound"
    number = profile.current.number
    try:
        answer = amapi.policy_patch(
            profile.policy_name(enterprise), profile.current.policy, contract_id=profile.contract_id
        )
    except amapi.AmapiUnavailable as exc:
        raise amapi.work_retry(exc, work) from exc
    except amapi.AmapiError as exc:
        Profile.objects.filter(pk=profile.pk).update(
            publish_state=PublishState.FAILED,
            publish_error=exc.message or exc.code,
            publish_violations=[list(v) for v in exc.field_violations],
        )
        raise WorkFailed(exc.message or exc.code) from exc
    with transaction.atomic():
        # Saved again meanwhile: this version is out, the next publication sends the newer.
        Profile.objects.filter(pk=profile.pk).update(
            publish_state=PublishState.PUBLISHED,
            published_number=number,
            published_version=str(answer.get("version", "")),
            published_at=timezone.now(),
            publish_error="",
            publish_violations=[],
        )
    return "published"


def policy_publish_failed(work: Work, failure: Failure) -> None:
    """Retries ran out (Google unreachable for long): the profile shows the failure."""
    Profile.objects.filter(
        pk=work.payload.get("profile_id"), publish_state=PublishState.PENDING
    ).update(publish_state=PublishState.FAILED, publish_error=failure.reason[:2000])


def enterprise_release(work: Work, actor: Actor) -> str:
    """Clear an unbound enterprise's Pub/Sub topic and notification types."""
    try:
        amapi.enterprise_patch(
            work.payload["enterprise"],
            NOTIFICATIONS_OFF,
            update_mask=NOTIFICATIONS_MASK,
            contract_id=work.contract_id,
        )
    except amapi.AmapiNotFound:
        return "gone"
    except amapi.AmapiUnavailable as exc:
        raise amapi.work_retry(exc, work) from exc
    except amapi.AmapiError as exc:
        raise WorkFailed(exc.message or exc.code) from exc
    return "released"


def policy_delete(work: Work, actor: Actor) -> str:
    """Delete a deleted profile's policy (AMAPI refuses while a device uses it)."""
    try:
        amapi.policy_delete(work.payload["name"], contract_id=work.contract_id)
    except amapi.AmapiNotFound:
        return "gone"
    except amapi.AmapiUnavailable as exc:
        raise amapi.work_retry(exc, work) from exc
    except amapi.AmapiError as exc:
        raise WorkFailed(exc.message or exc.code) from exc
    return "deleted"


def register() -> None:
    """Called from ``AndroidConfig.ready()``."""
    work_handler(PUBLISH, retry=amapi.work_retry_policy(), on_failure=policy_publish_failed)(
        policy_publish
    )
    work_handler(RELEASE, retry=amapi.work_retry_policy())(enterprise_release)
    work_handler(POLICY_DELETE, retry=amapi.work_retry_policy())(policy_delete)
