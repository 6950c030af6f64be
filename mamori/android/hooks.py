"""What apps above ``android`` learn from it, and add to its pages, without ``android`` knowing
them (issue 10: ``alerts`` registers here in its ``AppConfig.ready()``; android never imports
it).

Events (called in the transaction that made the change, so a listener's writes commit or roll
back with it; a listener reads in a fixed number of queries per call, whatever the number of
devices — the apply worker calls it once per batch of up to 1,000):

- ``devices_changed(device_ids, removed_by_mamori=…)``: devices' state changed — a batch of
  reports applied (``notifications.apply``), the reconciliation's page or its "not listed, so
  gone" (``notifications.reconcile``), a device Mamori removed (``inventory.services``);
- ``devices_moved(device_ids, organization_id)``: a person moved devices to another
  organization (``inventory.services``), besides ``devices_changed``;
- ``command_finished(command)``: a command reached a final status (``commands.lifecycle``);
- ``enterprise_answered(contract_id, method, error)``: a gateway call about a contract's
  enterprise succeeded (``error`` None) or failed (``amapi.calls``).

Page parts:

- ``device_column_register``: a column of the device list (header, and the cells of one page's
  devices in one query);
- ``devices_nav_register``: a section of the Devices tab's navigation, with an optional badge
  (``NavBadge``) that may also show on the top-level Devices tab (``devices_tab_badge``);
- ``device_section_register``: a section of a device's page;
- ``enterprise_notice_register``: a notice above Settings → Android Enterprise (the alerts'
  "binding broken").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.safestring import SafeString, mark_safe

from mamori.core.access import Principal, has_permission

if TYPE_CHECKING:
    from mamori.android.models import Command, Device

DevicesListener = Callable[[Sequence[int], bool], None]
MovedListener = Callable[[Sequence[int], int], None]
CommandListener = Callable[["Command"], None]
EnterpriseListener = Callable[[int, str, Exception | None], None]

_devices: dict[str, DevicesListener] = {}
_moved: dict[str, MovedListener] = {}
_commands: dict[str, CommandListener] = {}
_enterprise: dict[str, EnterpriseListener] = {}


def devices_changed_register(key: str, fn: DevicesListener) -> None:
    """Call ``fn(device_ids, removed_by_mamori)`` whenever devices change (see the module);
    registering ``key`` again replaces it."""
    _devices[key] = fn


def devices_moved_register(key: str, fn: MovedListener) -> None:
    """Call ``fn(device_ids, organization_id)`` when a person moves devices."""
    _moved[key] = fn


def devices_moved(device_ids: Sequence[int], organization_id: int) -> None:
    """Tell the listeners that ``device_ids`` now belong to ``organization_id`` (in the
    caller's transaction)."""
    ids = sorted(set(device_ids))
    for fn in _moved.values():
        fn(ids, organization_id)


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
class NavBadge:
    """A count beside a navigation entry: ``text`` is what shows (short: "3 important"),
    ``title`` the whole sentence (hover and screen readers: "3 important alerts open")."""

    text: str
    title: str


@dataclasses.dataclass(frozen=True)
class DevicesNavItem:
    """A section of the Devices tab: ``url_name`` in the ``panel`` namespace (taking
    ``domain``), shown to accounts with ``permission``; ``badge(request)`` is the count shown
    beside it (None: none), in at most one query per request (the provider keeps its answer on
    the request, for the top-level tab asks too); ``on_devices_tab``: the badge also shows on the
    top-level Devices tab of the navigation."""

    section: str
    label: Promise | str
    url_name: str
    permission: str
    badge: Callable[[HttpRequest], NavBadge | None] | None = None
    on_devices_tab: bool = False


@dataclasses.dataclass(frozen=True)
class DeviceSection:
    """A section of a device's page, above android's own: ``html(request, device)`` returns it
    rendered (the provider's template escapes it; "" for none) in a fixed number of queries,
    whatever the device has. The provider decides who sees it (the account of ``request``)."""

    key: str
    html: Callable[[HttpRequest, Device], str]


_columns: dict[str, DeviceColumn] = {}
_nav: dict[str, DevicesNavItem] = {}
_sections: dict[str, DeviceSection] = {}


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


def devices_tab_badge(request: HttpRequest) -> NavBadge | None:
    """The badge of the top-level Devices tab: the first ``on_devices_tab`` badge the account
    of ``request`` may see (None when there is none)."""
    account = getattr(request, "user", None)
    if account is None or not hasattr(account, "permissions"):
        return None
    shown = (
        item.badge(request)
        for item in _nav.values()
        if item.on_devices_tab and item.badge and has_permission(account, item.permission)
    )
    return next((badge for badge in shown if badge), None)


def device_section_register(section: DeviceSection) -> None:
    """Add a section to a device's page (above android's own)."""
    _sections[section.key] = section


_notices: dict[str, Callable[[HttpRequest], str]] = {}


def enterprise_notice_register(key: str, html: Callable[[HttpRequest], str]) -> None:
    """Add a notice above Settings → Android Enterprise: ``html(request)`` returns it rendered
    (escaped by the provider's template; "" for none), in a fixed number of queries."""
    _notices[key] = html


def enterprise_notices_html(request: HttpRequest) -> list[SafeString]:
    """The registered notices of Settings → Android Enterprise, rendered (empty ones left out)."""
    parts = (html(request) for html in _notices.values())
    return [mark_safe(part) for part in parts if part]  # noqa: S308 -- rendered by templates


def device_sections_html(request: HttpRequest, device: Device) -> list[SafeString]:
    """The registered sections of ``device``'s page, rendered, in registration order (empty
    ones left out)."""
    parts = (section.html(request, device) for section in _sections.values())
    return [mark_safe(html) for html in parts if html]  # noqa: S308 -- rendered by templates


def device_cells(account: Principal, device_ids: Sequence[int]) -> list[tuple[str, dict[int, Any]]]:
    """``[(header, {device id: cell html})]`` of every registered column for one page."""
    ids = list(device_ids)
    return [(str(c.header), c.cells(account, ids) if ids else {}) for c in _columns.values()]
