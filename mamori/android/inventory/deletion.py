"""Users/Org deletions and devices (``directory.deletion`` hooks, registered by the app):
a user or an organization that still has devices cannot be deleted (the person moves or removes
them first, issue 9 point 8); the removed devices kept for their history let go of them.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.utils.translation import ngettext

from mamori.android.models import Device, DeviceState
from mamori.audit.services import LogRecord
from mamori.core.actor import Actor
from mamori.directory.models import Organization, User


def user_devices_check(actor: Actor, users: Sequence[User]) -> list[LogRecord]:
    """Refuse (``ValidationError`` naming each user and how many devices) when any of ``users``
    has a device not removed; otherwise the removed devices forget their user (the row stays
    for its history). One query each, whatever the number of users."""
    ids = [u.pk for u in users]
    devices = Device.objects.filter(user_id__in=ids)
    held: dict[int, int] = {}
    for user_id in devices.exclude(applied_state=DeviceState.DELETED).values_list(
        "user_id", flat=True
    ):
        held[user_id] = held.get(user_id, 0) + 1
    if held:
        raise ValidationError(
            [
                ngettext(
                    "%(name)s has %(count)d device. Move it to another user or remove it first.",
                    "%(name)s has %(count)d devices. Move them to another user or remove them "
                    "first.",
                    held[u.pk],
                )
                % {"name": u.name, "count": held[u.pk]}
                for u in users
                if u.pk in held
            ]
        )
    devices.update(user=None)
    return []


def organization_devices_check(actor: Actor, organization: Organization) -> list[LogRecord]:
    """Refuse when ``organization`` has a device not removed; otherwise its removed devices
    go up to its parent organization (kept for their history)."""
    devices = Device.objects.filter(organization=organization)
    count = devices.exclude(applied_state=DeviceState.DELETED).count()
    if count:
        raise ValidationError(
            ngettext(
                "“%(name)s” has %(count)d device. Move it to another organization or remove it "
                "first.",
                "“%(name)s” has %(count)d devices. Move them to another organization or remove "
                "them first.",
                count,
            )
            % {"name": organization.name, "count": count}
        )
    if organization.parent_id is not None:
        devices.update(organization_id=organization.parent_id)
    return []
