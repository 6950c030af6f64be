"""What apps above ``android`` learn from it, and add to its pages, without ``android`` knowing
them (issue 10: ``alerts`` registers here in its ``AppConfig.ready()``; android never imports
it).

Events (called in the transaction that made the change, so a listener's writes commit or roll
back with it; a listener reads in a fixed number of queries per call, whatever the number of
devices — the apply worker calls it once per batch of up to 1,000):

- ``devices_changed(device_ids, removed_by_mamori=…)``: devices' state changed — a batch of
  reports applied (``notifications.apply``), the reconciliation's page or its "not listed, so
  gone" (``notifications.reconcile``), a device Mamori removed (``inventory.services``);
- ``command_finished(command)``: a command reached a final status (``commands.lifecycle``);
- ``enterprise_answered(contract_id, method, error)``: a gateway call about a contract's
  enterprise succeeded (``error`` None) or failed (``amapi.calls``).

Page parts:

- ``device_column_register``: a column of the device list (header, and the cells of one page's
  devices in one query);
- ``devices_nav_register``: a section of the Devices tab's navigation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from django.utils.functional import Promise

from mamori.core.access import Principal

if TYPE_CHECKING:
    from mamori.android.models import Command

DevicesListener = Callable[[Sequence[int], bool], None]
CommandListener = Callable[["Command"], None]
EnterpriseListener = Callable[[int, str, Exception | None], None]

_devices: dict[str, DevicesListener] = {}
_commands: dict[str, CommandListener] = {}
_enterprise: dict[str, EnterpriseListener] = {}


def devices_changed_register(key: str, fn: DevicesListener) -> None:
    """Call ``fn(device_ids, removed_by_mamori)`` whenever devices change (see the module);
    registering ``key`` again replaces it."""
    _devices[key] = fn


def command_finished_register(key: str, fn: CommandListener) -> None:
    """Call ``fn(command)`` when a command reaches a final status (its row saved)."""
    _commands[key] = fn


def enterprise_answered_register(key: str, fn: EnterpriseListener) -> None:
    """Call ``fn(contract_id, method, error)`` after each gateway call made for a contract:
    ``error`` is the ``AmapiError`` raised, or None when the call succeeded."""
    _enterprise[key] = fn


def devices_changed(device_ids: Sequence[int], *, removed_by_mamori: bool = False) -> None:
    """Tell the listeners that ``device_ids`` changed (in the caller's transaction).
    ``removed_by_mamori``: a person removed them in Mamori (not a device leaving by itself)."""
    ids = sorted(set(device_ids))
    if not ids:
        return
    for fn in _devices.values():
        fn(ids, removed_by_mamori)


def command_finished(command: Command) -> None:
    """Tell the listeners that ``command`` finished (in the caller's transaction)."""
    for fn in _commands.values():
        fn(command)


def enterprise_answered(contract_id: int | None, method: str, error: Exception | None) -> None:
    """Tell the listeners how a gateway call for ``contract_id`` went (nothing without one)."""
    if contract_id is None:
        return
    for fn in _enterprise.values():
        fn(contract_id, method, error)


# ── Page parts ─────────────────────────────────────────────────────────────────────────────────


@dataclasses.dataclass(frozen=True)
class DeviceColumn:
    """A column of the device list: ``cells(account, device_ids)`` returns ``{id: html}`` (HTML
    escaped by the provider; a missing id shows "—") in a fixed number of queries."""

    key: str
    header: Promise | str
    cells: Callable[[Principal, Sequence[int]], dict[int, str]]


@dataclasses.dataclass(frozen=True)
class DevicesNavItem:
    """A section of the Devices tab: ``url_name`` in the ``panel`` namespace (taking
    ``domain``), shown to accounts with ``permission``; ``badge(account)`` is a count shown
    beside it (0: none), in a fixed number of queries."""

    section: str
    label: Promise | str
    url_name: str
    permission: str
    badge: Callable[[Principal], int] | None = None


_columns: dict[str, DeviceColumn] = {}
_nav: dict[str, DevicesNavItem] = {}


def device_column_register(column: DeviceColumn) -> None:
    """Add a column to the device list (after android's own)."""
    _columns[column.key] = column


def device_columns() -> list[DeviceColumn]:
    """The registered columns, in registration order."""
    return list(_columns.values())


def devices_nav_register(item: DevicesNavItem) -> None:
    """Add a section to the Devices tab's navigation (after android's own)."""
    _nav[item.section] = item


def devices_nav_items() -> list[DevicesNavItem]:
    """The registered sections, in registration order."""
    return list(_nav.values())


def device_cells(account: Principal, device_ids: Sequence[int]) -> list[tuple[str, dict[int, Any]]]:
    """``[(header, {device id: cell html})]`` of every registered column for one page."""
    ids = list(device_ids)
    return [(str(c.header), c.cells(account, ids) if ids else {}) for c in _columns.values()]
