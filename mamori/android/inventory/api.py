"""Devices in the API: the list with the page's filters, one device, moving and annotating it,
removing it, and the CSV export. The same selectors and services as the pages."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.http import HttpRequest, StreamingHttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from mamori.android.inventory import selectors, services
from mamori.android.inventory.views import csv_response
from mamori.android.models import Device
from mamori.core.access import Principal
from mamori.core.actor import Actor, ActorKind
from mamori.core.fields import annotation_of, text_field
from mamori.core.inputs import InputSchema
from mamori.core.keyset import Position
from mamori.directory.selectors import organization_get, user_get

router = Router(tags=["Devices"])


def _me(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request, kind=ActorKind.API)


class DeviceOut(Schema):
    """A device as the API gives it: AMAPI's facts copied from its newest report, Mamori's organization and user."""

    id: int
    name: str = Field(description="AMAPI's enterprises/{e}/devices/{d}")
    serial_number: str = Field(
        description="hardwareInfo.serialNumber (the enterprise-specific id on personal devices)"
    )
    model: str
    android_version: str
    security_patch_level: str
    kind: annotation_of(Device, "kind")  # type: ignore[valid-type]
    state: annotation_of(Device, "applied_state")  # type: ignore[valid-type]
    policy_compliant: bool | None = Field(description="null until the device reports it")
    security_posture: str = Field(description="SECURE, AT_RISK, POTENTIALLY_COMPROMISED or empty")
    battery_level: int | None = Field(description="percent")
    applied_policy_version: int | None
    profile_status: str = Field(
        description="current: the organization's profile at its newest published version; "
        "behind: another policy or an older version; unknown: not reported yet"
    )
    organization_id: int
    user_id: int | None
    note: str
    last_status_report_at: datetime.datetime | None
    enrolled_at: datetime.datetime | None
    removed_at: datetime.datetime | None


class DevicePageOut(Schema):
    """One page of devices."""

    items: list[DeviceOut]
    next_cursor: str | None = Field(description="pass it as after= for the next page")


class DevicePatchIn(InputSchema):
    """What PATCH changes: the fields given, the others stay."""

    organization_id: int | None = Field(None, description="move the device there")
    user_id: int | None = Field(None, description="its user; null: no user")
    note: str | None = text_field(Device, "note", None)


def _out(device: Device, status: str) -> DeviceOut:
    return DeviceOut(
        id=device.pk,
        name=device.name,
        serial_number=device.serial_number,
        model=device.model,
        android_version=device.android_version,
        security_patch_level=device.security_patch_level,
        kind=device.kind,
        state=device.applied_state,
        policy_compliant=device.policy_compliant,
        security_posture=device.security_posture,
        battery_level=device.battery_level,
        applied_policy_version=device.applied_policy_version,
        profile_status=status,
        organization_id=device.organization_id,
        user_id=device.user_id,
        note=device.note,
        last_status_report_at=device.last_status_report_at,
        enrolled_at=device.enrolled_at,
        removed_at=device.deleted_at,
    )


def _outs(me: Principal, devices: list[Device]) -> list[DeviceOut]:
    """Devices with their profile status: two queries whatever their number."""
    from mamori.directory.selectors import organization_tree

    tree = organization_tree(me, "devices.view")
    records = [
        {
            "id": d.pk,
            "organization_id": d.organization_id,
            "applied_policy_name": d.applied_policy_name,
            "applied_policy_version": d.applied_policy_version,
        }
        for d in devices
    ]
    states = selectors.profile_states(me, records, tree)
    return [_out(d, states[d.pk][0]) for d in devices]


def _query(
    me: Principal,
    q: str,
    organization_id: int | None,
    include_sub_organizations: bool,
    state: str,
    compliance: str,
    kind: str,
    model: str,
    android_version: str,
    silent_hours: int | None,
    sort: str,
) -> selectors.DeviceQuery:
    return selectors.device_query_check(
        selectors.DeviceQuery(
            search=q,
            organization=organization_get(me, organization_id, "devices.view")
            if organization_id is not None
            else None,
            include_sub_organizations=include_sub_organizations,
            state=state,
            compliance=compliance,
            kind=kind,
            model=model,
            android_version=android_version,
            silent_hours=silent_hours,
            sort=sort,
        )
    )


class DeviceFilters(Schema):
    """The Devices page's filters, as query parameters."""

    q: str = Field(
        "", description="a serial number, a device id, or a user's name, furigana or employee code"
    )
    organization_id: int | None = None
    include_sub_organizations: bool = True
    state: str = Field(
        "",
        description="ACTIVE, PROVISIONING, LOST, DISABLED, DELETED…; "
        "empty: every state but DELETED",
    )
    compliance: str = Field("", description="yes, no or unknown")
    kind: str = Field(
        "", description="fully_managed, company_work_profile, personal_work_profile or dedicated"
    )
    model: str = ""
    android_version: str = ""
    silent_hours: int | None = Field(
        None, description="no status report for more than this many hours (or none ever)"
    )
    sort: str = Field(
        "",
        description="a column (name, serial_number, user, organization, "
        "model, android_version, kind, state, compliance, posture, battery, "
        "profile, last_report, enrolled), '-' first for descending; empty: newest "
        "first",
    )


def _filters_query(me: Principal, f: DeviceFilters) -> selectors.DeviceQuery:
    return _query(
        me,
        f.q,
        f.organization_id,
        f.include_sub_organizations,
        f.state,
        f.compliance,
        f.kind,
        f.model,
        f.android_version,
        f.silent_hours,
        f.sort,
    )


@router.get("/devices", response=DevicePageOut, summary="Devices")
def devices(
    request: HttpRequest,
    filters: Query[DeviceFilters],
    after: str | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> DevicePageOut:
    """The devices of the token account's organizations with the Devices page's filters, in
    ``sort`` order; page with ``next_cursor``."""
    me = _me(request)
    query = _filters_query(me, filters)
    order = selectors.device_order(query.sort)
    found = selectors.devices_ordered(selectors.devices_filtered(me, query), order)
    if after:
        found = order.after(found, order.decode(after, field="after"))
    rows = list(found[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = order.encode(Position(getattr(last, order.field), last.pk))
    return DevicePageOut(items=_outs(me, rows[:limit]), next_cursor=next_cursor)


@router.get("/devices/export", summary="Devices as CSV (UTF-8 with BOM)")
def export(request: HttpRequest, filters: Query[DeviceFilters]) -> StreamingHttpResponse:
    """The Devices page's columns, times in the token account's timezone."""
    me = _me(request)
    selectors.devices_visible_to(me)  # refused here, not in the middle of the stream
    return csv_response(me, _filters_query(me, filters))


@router.get("/devices/{device_id}", response=DeviceOut, summary="One device")
def device_detail(request: HttpRequest, device_id: int) -> DeviceOut:
    """Another contract's device, or one outside the token account's organizations, is a 404."""

    me = _me(request)
    return _outs(me, [selectors.device_get(me, device_id)])[0]


@router.patch("/devices/{device_id}", response=DeviceOut, summary="Move or annotate a device")
def device_update(request: HttpRequest, device_id: int, payload: DevicePatchIn) -> DeviceOut:
    """``organization_id`` and ``user_id`` move the device (its profile follows the
    organization); ``note`` replaces its note. Fields left out stay as they are."""
    me = _me(request)
    device = selectors.device_get(me, device_id, "change")
    given = payload.model_fields_set
    actor = _actor(request)
    if "organization_id" in given and payload.organization_id is None:
        raise ValidationError({"organization_id": [_("A device always has an organization.")]})
    if given & {"organization_id", "user_id"}:
        organization = (
            organization_get(me, payload.organization_id, "devices.change")
            if payload.organization_id is not None
            else device.organization
        )
        if "user_id" in given:
            user = user_get(me, payload.user_id, "view") if payload.user_id is not None else None
        else:
            user = device.user
        services.device_move(actor=actor, device=device, organization=organization, user=user)
    if "note" in given and payload.note is not None:
        services.device_note_set(actor=actor, device=device, note=payload.note)
    return _outs(me, [selectors.device_get(me, device_id)])[0]


@router.delete("/devices/{device_id}", response={204: None}, summary="Remove a device")
def device_remove(request: HttpRequest, device_id: int) -> Status[None]:
    """``devices.delete`` at Google (by the worker: it attempts a wipe and forgets the device);
    the device is marked removed at once. A removed device is a 422."""
    me = _me(request)
    device = selectors.device_get(me, device_id, "remove")
    services.device_remove(
        actor=_actor(request), device=device, confirm=services.device_label(device)
    )
    return Status(204, None)
