"""Device commands in the API: a device's commands, issue one, read one, cancel one, issue one
to many devices (a job), read and cancel a job. The same selectors and services as the pages.

Registered in ``mamori.api.api`` before any ``/devices/{id}`` route, so that
``/devices/commands`` is never taken for a device id."""

from __future__ import annotations

import datetime
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from pydantic import Field

from mamori.android.commands import selectors, services
from mamori.android.commands.definitions import ALL, MAX_PACKAGES, WIPE_REASON_MAX
from mamori.android.commands.lifecycle import command_reason
from mamori.android.models import Command, CommandJob
from mamori.core.access import Principal, permission_require
from mamori.core.actor import Actor, ActorKind
from mamori.core.inputs import InputSchema

router = Router(tags=["Device commands"])

CommandName = Literal[
    "LOCK",
    "RESET_PASSWORD",
    "REBOOT",
    "START_LOST_MODE",
    "STOP_LOST_MODE",
    "CLEAR_APP_DATA",
    "RELINQUISH_OWNERSHIP",
    "WIPE",
]
Status_ = Literal["registered", "sent", "succeeded", "failed", "expired", "cancelled"]


def _me(request: HttpRequest) -> Principal:
    return request.auth  # type: ignore[attr-defined]


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request, kind=ActorKind.API)


class Parameters(InputSchema):
    """Every command's parameters; each type takes its own (others are refused)."""

    new_password: str | None = Field(
        None, max_length=128, description="RESET_PASSWORD; never stored"
    )
    confirmation: str | None = Field(
        None, max_length=128, description="RESET_PASSWORD: the same again"
    )
    require_entry: bool | None = None
    lock_now: bool | None = None
    do_not_ask_credentials_on_boot: bool | None = None
    message: str | None = Field(None, max_length=1000, description="START_LOST_MODE")
    phone_number: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=254)
    street_address: str | None = Field(None, max_length=500)
    organization: str | None = Field(None, max_length=200, description="START_LOST_MODE")
    package_names: list[str] | None = Field(
        None, max_length=MAX_PACKAGES, description="CLEAR_APP_DATA: packages from the device's apps"
    )
    confirm_serial: str | None = Field(
        None, max_length=100, description="WIPE: the device's serial number"
    )
    preserve_reset_protection_data: bool | None = None
    wipe_external_storage: bool | None = None
    wipe_esims: bool | None = None
    reason: str | None = Field(
        None, max_length=WIPE_REASON_MAX, description="WIPE, shown on personal devices"
    )


class CommandIn(Parameters):
    type: CommandName


class BulkIn(Parameters):
    type: CommandName
    device_ids: list[int] | None = Field(None, max_length=services.BULK_MAX)
    organization_id: int | None = None
    include_sub_organizations: bool = True
    confirm_count: int | None = Field(None, description="WIPE of several devices: their number")


class CommandOut(Schema):
    id: int
    device_id: int
    type: str
    status: Status_
    params: dict[str, Any] = Field(description="the parameters kept (never a password)")
    operation_name: str = Field(description="AMAPI's operation, once sent")
    error_code: str
    error: str = Field(description="why it failed, in the account's language")
    result: dict[str, Any] = Field(description="the command-specific status AMAPI reported")
    job_id: int | None
    created_at: datetime.datetime
    sent_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    expires_at: datetime.datetime | None
    cancel_requested: bool


class JobOut(Schema):
    id: int
    type: str
    total: int
    progress: dict[str, int] = Field(description="commands per status")
    skipped: list[dict[str, Any]] = Field(description="devices that did not get it, and why")
    created_at: datetime.datetime
    cancelled_at: datetime.datetime | None
    finished_at: datetime.datetime | None


def _out(command: Command) -> CommandOut:
    return CommandOut(
        id=command.pk,
        device_id=command.device_id,
        type=command.type,
        status=command.status,  # type: ignore[arg-type]
        params=command.params,
        operation_name=command.operation_name,
        error_code=command.error_code,
        error=command_reason(command),
        result=command.result,
        job_id=command.job_id,
        created_at=command.created_at,
        sent_at=command.sent_at,
        finished_at=command.finished_at,
        expires_at=command.expires_at,
        cancel_requested=command.cancel_requested_at is not None,
    )


def _job_out(job: CommandJob) -> JobOut:
    return JobOut(
        id=job.pk,
        type=job.type,
        total=job.total,
        progress=selectors.job_progress(job),
        skipped=job.skipped,
        created_at=job.created_at,
        cancelled_at=job.cancelled_at,
        finished_at=job.finished_at,
    )


def _code(amapi_type: str) -> str:
    return next(c.code for c in ALL if c.amapi_type == amapi_type)


def _values(payload: Parameters, code: str) -> dict[str, Any]:
    """The parameters given for command ``code``; one it does not take is refused."""
    kind = selectors.command_kind(code)
    given = {
        k: getattr(payload, k) for k in payload.model_fields_set if k in Parameters.model_fields
    }
    given = {k: v for k, v in given.items() if v is not None}
    foreign = sorted(set(given) - set(kind.parameters.model_fields))
    if foreign:
        raise ValidationError(
            {name: [_("This command has no such parameter.")] for name in foreign}
        )
    return given


# Bulk first: "devices/commands" must not be read as a device id.
@router.post("/devices/commands", response={201: JobOut}, summary="Issue a command to many devices")
def bulk_issue(request: HttpRequest, payload: BulkIn) -> Status[JobOut]:
    """``device_ids`` or ``organization_id`` (with its sub-organizations unless
    ``include_sub_organizations`` is false), not both (422 ``invalid`` naming the two). Devices
    that cannot take the command are skipped and listed; RESET_PASSWORD cannot be issued in
    bulk."""
    me = _me(request)
    code = _code(payload.type)
    kind = selectors.command_kind(code)
    if payload.organization_id is None and not payload.device_ids:
        raise ValidationError({"device_ids": [_("Give device_ids or organization_id.")]})
    if payload.organization_id is not None and payload.device_ids is not None:
        said = _("Give one of them: device_ids or organization_id.")
        raise ValidationError({"device_ids": [said], "organization_id": [said]})
    devices = selectors.bulk_devices(
        me,
        kind,
        device_ids=payload.device_ids or (),
        organization_id=payload.organization_id,
        subtree=payload.include_sub_organizations,
    )
    job = services.command_job_create(
        actor=_actor(request),
        contract=me.contract,  # type: ignore[attr-defined]
        code=code,
        devices=devices,
        values=_values(payload, code),
        confirm_count=payload.confirm_count,
    )
    return Status(201, _job_out(job))


@router.get(
    "/devices/{device_id}/commands", response=list[CommandOut], summary="A device's commands"
)
def device_commands(request: HttpRequest, device_id: int) -> list[CommandOut]:
    """Newest first, at most 200."""
    return [_out(c) for c in selectors.device_commands(_me(request), device_id)[:200]]


@router.post("/devices/{device_id}/commands", response={201: CommandOut}, summary="Issue a command")
def device_command_issue(
    request: HttpRequest, device_id: int, payload: CommandIn
) -> Status[CommandOut]:
    """Sent once the device's earlier commands have finished; RESET_PASSWORD is sent at once
    (its answer says whether it reached Google) and only when no command is ahead of it."""
    code = _code(payload.type)
    device, _kind = selectors.command_device_get(_me(request), device_id, code)
    command = services.command_issue(
        actor=_actor(request), device=device, code=code, values=_values(payload, code)
    )
    return Status(201, _out(selectors.command_get(_me(request), command.pk)))


@router.get("/commands/{command_id}", response=CommandOut, summary="A command")
def command_detail(request: HttpRequest, command_id: int) -> CommandOut:
    return _out(selectors.command_get(_me(request), command_id))


@router.post(
    "/commands/{command_id}/cancel", response={202: CommandOut}, summary="Cancel a command"
)
def command_cancel(request: HttpRequest, command_id: int) -> Status[CommandOut]:
    """Not sent yet: cancelled at once. Sent: cancelled at AMAPI, best effort (the command ends
    as its operation does)."""
    me = _me(request)
    services.command_cancel(actor=_actor(request), command=selectors.command_get(me, command_id))
    return Status(202, _out(selectors.command_get(me, command_id)))


@router.get("/jobs/{job_id}", response=JobOut, summary="A bulk command and its progress")
def job_detail(request: HttpRequest, job_id: int) -> JobOut:
    return _job_out(selectors.job_get(_me(request), job_id))


@router.post("/jobs/{job_id}/cancel", response={202: JobOut}, summary="Cancel a bulk command")
def job_cancel(request: HttpRequest, job_id: int) -> Status[JobOut]:
    """Its commands not sent yet are cancelled; AMAPI is asked to cancel its sent ones (best
    effort: they may still be carried out). One operation-log entry for the job."""
    me = _me(request)
    services.command_job_cancel(actor=_actor(request), job=selectors.job_get(me, job_id))
    return Status(202, _job_out(selectors.job_get(me, job_id)))


class CommandSettings(InputSchema):
    command_expiry_days: int = Field(
        description="how long a command waits for its device, 1 … 365 days (default 7)"
    )


@router.get("/android/command-settings", response=CommandSettings, summary="Command settings")
def command_settings(request: HttpRequest) -> CommandSettings:
    """System administrators only."""
    me = _me(request)
    permission_require(me, "android.manage")
    return CommandSettings(command_expiry_days=me.contract.command_expiry_days)  # type: ignore[attr-defined]


@router.put("/android/command-settings", response=CommandSettings, summary="Change them")
def command_settings_update(request: HttpRequest, payload: CommandSettings) -> CommandSettings:
    me = _me(request)
    contract = me.contract  # type: ignore[attr-defined]
    services.command_expiry_update(
        actor=_actor(request), contract=contract, days=payload.command_expiry_days
    )
    return CommandSettings(command_expiry_days=contract.command_expiry_days)
