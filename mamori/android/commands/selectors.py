"""Reads of device commands, always within the reader's contract and organizations, taking the
action (``core.access``): another contract's or organization's device, command or job is a 404;
in scope without the permission, a 403."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet

from mamori.android.commands.definitions import AndroidCommand, command_of
from mamori.android.models import Command, CommandJob, CommandStatus, Device, DeviceState
from mamori.android.permissions import DEVICES_VIEW
from mamori.core.access import NotFound, Principal, object_get, permission_require, restrict
from mamori.core.commands import commands
from mamori.core.keyset import Keyset
from mamori.directory.selectors import organization_get

DEVICE_PATH = "organization__path"


def command_kind(code: str) -> type[AndroidCommand]:
    """The command class of ``code``; ``NotFound`` for an unknown code (a URL typed by hand)."""
    try:
        return command_of(code)
    except (KeyError, AssertionError):
        raise NotFound from None


def command_device_get(
    account: Principal, device_id: int | str, code: str
) -> tuple[Device, type[AndroidCommand]]:
    """The device a command ``code`` is for, and the command: ``NotFound`` outside the account's
    contract or organizations (or for an unknown command), ``PermissionDenied`` without the
    command's permission."""
    kind = command_kind(code)
    device = object_get(
        Device.objects.select_related("organization", "user", "contract"),
        account,
        device_id,
        None,
        path_field=DEVICE_PATH,
    )
    permission_require(account, kind.permission)
    return device, kind


def commands_allowed(account: Principal) -> list[type[AndroidCommand]]:
    """The commands the account may issue, in registration order."""
    return [c for c in commands.allowed(account.permissions) if issubclass(c, AndroidCommand)]


def device_commands(account: Principal, device_id: int | str) -> QuerySet[Command]:
    """A device's commands, newest first (``devices.view``; the device must be the account's)."""
    device = object_get(
        Device.objects.all(), account, device_id, DEVICES_VIEW, path_field=DEVICE_PATH
    )
    return (
        Command.objects.filter(device=device, contract_id=account.contract_id)
        .select_related("device", "issued_by__user")
        .order_by("-pk")
    )


def command_get(account: Principal, pk: int | str) -> Command:
    """One command of the account's devices (``devices.view``)."""
    return object_get(
        Command.objects.select_related("device__organization", "issued_by__user", "contract"),
        account,
        pk,
        DEVICES_VIEW,
        path_field=f"device__{DEVICE_PATH}",
    )


def bulk_devices(
    account: Principal,
    kind: type[AndroidCommand],
    *,
    device_ids: Sequence[int | str] = (),
    organization_id: int | str | None = None,
    subtree: bool = True,
) -> QuerySet[Device]:
    """The managed devices a bulk command goes to: ``device_ids``, or those of an organization
    (with its sub-organizations when ``subtree``), within the account's scope and permission.
    An id of another contract or organization (or a device no longer managed) is a
    ``NotFound``, like a single one."""
    rows = restrict(
        Device.objects.select_related("organization", "contract"),
        account,
        kind.permission,
        path_field=DEVICE_PATH,
    ).exclude(applied_state=DeviceState.DELETED)
    if organization_id is not None:
        organization = organization_get(account, organization_id, kind.permission)
        if subtree:
            return rows.filter(organization__path__startswith=organization.path).order_by("pk")
        return rows.filter(organization=organization).order_by("pk")
    ids = set()
    for value in device_ids:
        try:
            ids.add(int(value))
        except (TypeError, ValueError):
            raise NotFound from None
    chosen = rows.filter(pk__in=ids).order_by("pk")
    if len(ids) != chosen.count():
        raise NotFound
    return chosen


def jobs_visible_to(account: Principal) -> QuerySet[CommandJob]:
    """The contract's bulk commands an account may follow: all of them for an account that
    manages every organization; the ones it issued for one scoped to some."""
    rows = restrict(CommandJob.objects.all(), account, DEVICES_VIEW, path_field=None)
    if account.scope_paths is not None:
        rows = rows.filter(created_by_id=account.pk)
    return rows.select_related("created_by__user").order_by("-pk")


def job_get(account: Principal, pk: int | str) -> CommandJob:
    """One bulk command (see ``jobs_visible_to``)."""
    try:
        return jobs_visible_to(account).get(pk=pk)
    except (CommandJob.DoesNotExist, ValueError, TypeError):
        raise NotFound from None


def job_progress(job: CommandJob) -> dict[str, int]:
    """``{status: count}`` of the job's commands, every status present (one query)."""
    counts = {status.value: 0 for status in CommandStatus}
    for row in Command.objects.filter(job=job).values("status").annotate(n=Count("pk")):
        counts[row["status"]] = row["n"]
    return counts


JOB_ORDER = Keyset("id")  # a job's commands in the order they were made (index command_by_job_id)
JOB_PAGE_SIZE = 100


@dataclasses.dataclass(frozen=True)
class JobCommandsPage:
    """One page of a job's commands (``device`` joined) and the cursor of the next, if any."""

    commands: list[Command]
    next_cursor: str | None


def job_commands_page(
    account: Principal,
    job: CommandJob,
    *,
    status: str = "",
    after: str = "",
    size: int = JOB_PAGE_SIZE,
) -> JobCommandsPage:
    """The commands of ``job`` (read through ``job_get``) on the account's devices, each with its
    device, in the order they were made: ``size`` after the cursor ``after`` (a mangled one starts
    from the first page), only those in ``status`` when it is a command status. One query."""
    rows = restrict(
        Command.objects.filter(job=job).select_related("device"),
        account,
        DEVICES_VIEW,
        path_field=f"device__{DEVICE_PATH}",
    )
    if status in CommandStatus.values:
        rows = rows.filter(status=status)
    rows = JOB_ORDER.order(rows)
    if after:
        with contextlib.suppress(ValidationError):
            rows = JOB_ORDER.after(rows, JOB_ORDER.decode(after, field="after"))
    found = list(rows[: size + 1])
    next_cursor = JOB_ORDER.encode(found[size - 1]) if len(found) > size else None
    return JobCommandsPage(commands=found[:size], next_cursor=next_cursor)
