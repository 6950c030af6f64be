"""A device's policy follows its organization (Android Enterprise 1 of 3, point 3).

Whatever changes which profile a device should have (an ENROLLMENT whose token's policy is not
the organization's, a device moved to another organization, a profile assigned to or taken from
an organization) calls ``devices_policy_sync`` in its own transaction. It records the wanted
policy on each device (``Device.policy_name``) and submits one durable ``devices.patch``
(``policyName``) per device whose policy changes: each costs one AMAPI call, paced by the
deployment-wide limiter like every call from work. The caller's operation-log entry covers the
change; the work only tells Google.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from mamori.android import amapi
from mamori.android.models import Device, DeviceState, Enterprise, OrganizationProfile, Profile
from mamori.core.actor import Actor
from mamori.core.models import Work
from mamori.core.work import WorkRetry, work_handler, work_submit_many

DEVICE_POLICY = "android.device_policy"


def _wanted_by_organization(contract_id: int, organization_ids: set[int]) -> dict[int, int | None]:
    """``{organization id: profile id or None}``: each organization's own profile, else its
    nearest ancestor's. Two queries whatever the number of organizations."""
    from mamori.directory.models import Organization

    paths = dict(
        Organization.objects.filter(contract_id=contract_id, pk__in=organization_ids).values_list(
            "pk", "path"
        )
    )
    own = dict(
        OrganizationProfile.objects.filter(contract_id=contract_id).values_list(
            "organization_id", "profile_id"
        )
    )
    wanted: dict[int, int | None] = {}
    for pk, path in paths.items():
        chain = [int(p) for p in path.strip("/").split("/")]
        holder = next((o for o in reversed(chain) if o in own), None)
        wanted[pk] = own[holder] if holder is not None else None
    return wanted


def devices_policy_sync(actor: Actor, contract_id: int, device_ids: Iterable[int]) -> int:
    """In the caller's transaction: give each live device of ``device_ids`` (of contract
    ``contract_id``) the policy of its organization's profile, and submit one
    ``android.device_policy`` work per device whose ``policy_name`` changes.

    Devices without a wanted profile (no organization up the tree has one) keep theirs; deleted
    devices are left alone. Returns the number of devices changed.
    """
    enterprise = Enterprise.objects.filter(contract_id=contract_id).first()
    if enterprise is None:
        return 0
    devices = list(
        Device.objects.filter(contract_id=contract_id, pk__in=list(device_ids))
        .exclude(applied_state=DeviceState.DELETED)
        .values_list("pk", "organization_id", "policy_name")
        .order_by("pk")
    )
    if not devices:
        return 0
    wanted = _wanted_by_organization(contract_id, {org for _, org, _ in devices})
    profiles = {
        p.pk: p.policy_name(enterprise)
        for p in Profile.objects.filter(pk__in={v for v in wanted.values() if v is not None})
    }
    changes: dict[str, list[int]] = {}
    for pk, organization_id, current in devices:
        profile_id = wanted.get(organization_id)
        name = profiles.get(profile_id) if profile_id is not None else None
        if name and name != current:
            changes.setdefault(name, []).append(pk)
    for name, pks in changes.items():
        Device.objects.filter(pk__in=pks).update(policy_name=name)
    changed = sorted(pk for pks in changes.values() for pk in pks)
    if changed:
        work_submit_many(
            kind=DEVICE_POLICY,
            payloads=[{"device_id": pk} for pk in changed],
            actor=actor,
            contract_id=contract_id,
        )
    return len(changed)


def device_policy_patch(work: Work, actor: Actor) -> str:
    """Send a device's wanted policy to AMAPI (``devices.patch`` ``updateMask=policyName``).

    Reads the device again: it sends what the device should have now (a later change wins), and
    nothing once the device is gone. Idempotent. Returns ``"patched"`` or ``"gone"``.
    """
    device = (
        Device.objects.filter(pk=work.payload["device_id"])
        .exclude(applied_state=DeviceState.DELETED)
        .only("name", "policy_name", "contract_id")
        .first()
    )
    if device is None or not device.policy_name:
        return "gone"
    profile_id = device.policy_name.rsplit("/mamori-", 1)[-1]
    if (
        profile_id.isdigit()
        and Profile.objects.filter(pk=int(profile_id), published_number__isnull=True).exists()
    ):
        # Its profile's first publication is still on its way (assigned unpublished profiles
        # are published then): Google would refuse a policy it does not have yet.
        raise WorkRetry("the profile is not published yet", delay=datetime.timedelta(seconds=30))
    try:
        amapi.device_patch(
            device.name,
            {"policyName": device.policy_name},
            update_mask="policyName",
            contract_id=device.contract_id,
        )
    except amapi.AmapiNotFound:
        return "gone"
    except amapi.AmapiError as exc:
        raise amapi.work_retry(exc, work) from exc
    return "patched"


def register() -> None:
    """Called from ``AndroidConfig.ready()``."""
    work_handler(DEVICE_POLICY, retry=amapi.work_retry_policy())(device_policy_patch)
