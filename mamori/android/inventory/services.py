"""Writes a person makes to a device: move it to another organization or user, its note, and
removing it (AMAPI ``devices.delete``, which attempts a wipe and forgets the device).

Each is one function ``<noun>_<verb>(*, actor, …)`` (CONTRIBUTING): it authorizes, validates,
owns its transaction and writes one operation-log entry last in it. The call to Google is
durable work submitted in the same transaction (the app's ``android.device_delete``), made
after commit.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mamori.android import hooks
from mamori.android.audit_actions import AndroidAction
from mamori.android.device_policy import devices_policy_sync
from mamori.android.models import Device, DeviceState
from mamori.android.permissions import DEVICES_CHANGE, DEVICES_REMOVE
from mamori.android.services import DEVICE_DELETE
from mamori.audit.services import Target, TargetType, log_record
from mamori.core.access import OutOfScope, authorize
from mamori.core.actor import Actor
from mamori.core.fields import length_errors
from mamori.core.text import control_character, line_break, nfkc
from mamori.core.work import work_submit
from mamori.directory.models import Organization, User


def device_target(device: Device) -> Target:
    """The operation log's name for a device: its id and serial number (or AMAPI id)."""
    return Target(TargetType.DEVICE, device.pk, str(device))


def device_label(device: Device) -> str:
    """What a person types to confirm removing the device: its serial number, else the last
    part of AMAPI's device name."""
    return str(device)


def _require_live(device: Device) -> None:
    if device.deleted_at is not None or device.applied_state == DeviceState.DELETED:
        raise ValidationError(_("This device has been removed."))


def device_move(
    *, actor: Actor, device: Device, organization: Organization, user: User | None
) -> None:
    """Give the device another organization and/or user (``user=None``: no user). Its profile
    follows the organization (``devices_policy_sync``: a durable ``devices.patch``).

    Both organizations (and the user's) must be in the actor's scope (``OutOfScope``, a 404)
    with ``devices.change`` (403); the user must be of the contract."""
    authorize(actor, DEVICES_CHANGE, device.organization, organization)
    if organization.contract_id != device.contract_id:
        raise OutOfScope
    if user is not None:
        if user.contract_id != device.contract_id:
            raise OutOfScope
        authorize(actor, DEVICES_CHANGE, user.organization)
    _require_live(device)
    if organization.pk == device.organization_id and (user.pk if user else None) == device.user_id:
        return
    before = _placement(device)
    with transaction.atomic():
        Device.objects.filter(pk=device.pk).update(
            organization=organization, user=user, updated_at=timezone.now()
        )
        device.organization, device.user = organization, user
        devices_policy_sync(actor, device.contract_id, [device.pk])
        hooks.devices_changed([device.pk])
        hooks.devices_moved([device.pk], organization.pk)  # its alerts follow it
        log_record(
            contract=organization.contract,
            actor=actor,
            action=AndroidAction.DEVICE_MOVED,
            target=device_target(device),
            before=before,
            after=_placement(device),
            organization_id=organization.pk,
        )


def _placement(device: Device) -> dict[str, Any]:
    return {
        "organization": device.organization.name,
        "user": device.user.name if device.user else None,
    }


def device_note_set(*, actor: Actor, device: Device, note: str) -> None:
    """Replace the device's note (one line, at most 200 characters)."""
    authorize(actor, DEVICES_CHANGE, device.organization)
    note = nfkc(note).strip()
    errors = length_errors(Device, {"note": note})
    if errors:
        raise ValidationError(errors)
    if control_character(note) or line_break(note):
        raise ValidationError(
            {"note": [_("Control characters (such as NUL or a tab) are not allowed.")]}
        )
    if note == device.note:
        return
    with transaction.atomic():
        before = device.note
        Device.objects.filter(pk=device.pk).update(note=note, updated_at=timezone.now())
        device.note = note
        log_record(
            contract=device.organization.contract,
            actor=actor,
            action=AndroidAction.DEVICE_NOTE_SET,
            target=device_target(device),
            before={"note": before},
            after={"note": note},
            organization_id=device.organization_id,
        )


def device_remove(*, actor: Actor, device: Device, confirm: str) -> None:
    """Remove the device: marked deleted at once (``deleted_at``, state DELETED) and told to
    Google by durable work (``devices.delete``: "wipes (best effort) and forgets the device",
    ANDROID.md 2.1). ``confirm`` must be the device's serial number (or AMAPI id) as typed.

    ``devices.remove`` in the device's organization; a removed device is refused."""
    authorize(actor, DEVICES_REMOVE, device.organization)
    _require_live(device)
    if nfkc(confirm).strip().casefold() != device_label(device).casefold():
        raise ValidationError(
            {
                "confirm": [
                    _("Type %(label)s to confirm that the device is removed.")
                    % {"label": device_label(device)}
                ]
            }
        )
    with transaction.atomic():
        now = timezone.now()
        Device.objects.filter(pk=device.pk).update(
            deleted_at=now, applied_state=DeviceState.DELETED, updated_at=now
        )
        before = {
            "device_name": device.name,
            "serial_number": device.serial_number,
            "state": device.applied_state,
            **_placement(device),
        }
        device.deleted_at, device.applied_state = now, DeviceState.DELETED
        hooks.devices_changed([device.pk], removed_by_mamori=True)
        # The app's devices.delete work (mamori.android.work): by AMAPI name, as the unbinding
        # sends it; Google not knowing the device any more is done.
        work_submit(
            kind=DEVICE_DELETE,
            payload={"name": device.name},
            actor=actor,
            contract_id=device.contract_id,
        )
        log_record(
            contract=device.organization.contract,
            actor=actor,
            action=AndroidAction.DEVICE_REMOVED,
            target=device_target(device),
            before=before,
            organization_id=device.organization_id,
        )
