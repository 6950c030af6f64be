"""Devices pages: the list (filters in the URL, keyset pages, counts, the selection for bulk
commands), its CSV, a device's page, and moving, annotating and removing a device."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from mamori.android.hooks import device_cells, device_sections_html
from mamori.android.inventory import selectors, services
from mamori.android.inventory.export import devices_csv_chunks
from mamori.android.inventory.forms import DeviceMoveForm, DeviceNoteForm, DeviceRemoveForm
from mamori.android.inventory.page import command_rows, device_sections
from mamori.android.inventory.rows import device_rows_html
from mamori.android.models import DeviceKind, DeviceState
from mamori.android.selectors import enterprise_bound
from mamori.core.access import Principal, has_permission
from mamori.core.actor import Actor
from mamori.core.decorators import account_required
from mamori.core.forms import add_service_errors
from mamori.core.replica import replica_reads
from mamori.core.widgets import FastSelect
from mamori.directory.forms import organization_options
from mamori.directory.models import Organization
from mamori.directory.selectors import organization_get, organization_tree, user_named

PAGE_SIZES = (25, 50, 100)
PAGE_SIZE = 50
FILTERS = ("q", "org", "sub", "state", "compliance", "kind", "model", "android", "silent")


def _me(request: HttpRequest) -> Principal:
    return request.user  # type: ignore[return-value]


def _url(request: HttpRequest, name: str, **kwargs: Any) -> str:
    return reverse(f"panel:{name}", kwargs={"domain": request.contract.domain, **kwargs})  # type: ignore[attr-defined]


def _optional_url(request: HttpRequest, name: str, **kwargs: Any) -> str:
    """The URL of a page another part of Android Enterprise adds (bulk commands, a command's
    form); ``""`` while it is not there."""
    try:
        return _url(request, name, **kwargs)
    except NoReverseMatch:
        return ""


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value and len(value) < 12 else None
    except ValueError:
        return None


def _organization(request: HttpRequest, params: QueryDict) -> Organization | None:
    """The organization named by ``org``; one the account cannot see is a 404."""
    wanted = _int(params.get("org"))
    return organization_get(_me(request), wanted, "devices.view") if wanted is not None else None


def device_query(request: HttpRequest, params: QueryDict) -> selectors.DeviceQuery:
    """The list's filters from the URL; a value it cannot read is left out (a hand-edited URL
    shows the list unfiltered by it, not an error page)."""
    state = params.get("state", "")
    compliance = params.get("compliance", "")
    kind = params.get("kind", "")
    sort = params.get("sort", "")
    silent = _int(params.get("silent"))
    return selectors.DeviceQuery(
        search=_text(params.get("q", "")),
        organization=_organization(request, params),
        include_sub_organizations=params.get("sub", "1") != "0",
        state=state if state in DeviceState.values else "",
        compliance=compliance if compliance in selectors.COMPLIANCE else "",
        kind=kind if kind in DeviceKind.values else "",
        model=_text(params.get("model", "")),
        android_version=_text(params.get("android", "")),
        silent_hours=silent if silent and 0 < silent <= selectors.SILENT_HOURS_MAX else None,
        ids=tuple(i for i in (_int(v) for v in params.getlist("device")) if i is not None),
        sort=sort if sort.removeprefix("-") in selectors.DEVICE_SORTS else "",
    )


def _text(value: str) -> str:
    return value[: selectors.SEARCH_MAX].replace("\x00", "")


SORTABLE = (
    "serial_number",
    "user",
    "organization",
    "android_version",
    "kind",
    "state",
    "compliance",
    "posture",
    "battery",
    "profile",
    "last_report",
    "enrolled",
)


def _sort_links(params: QueryDict, current: str) -> dict[str, dict[str, str]]:
    """Per column: the link that sorts by it (reversed when it is the current order) and, for
    the current column, its direction for aria-sort and the arrow."""
    links = {}
    for column in SORTABLE:
        query = params.copy()
        query.pop("after", None)
        active = current.removeprefix("-") == column
        query["sort"] = f"-{column}" if active and not current.startswith("-") else column
        aria = ("descending" if current.startswith("-") else "ascending") if active else ""
        links[column] = {
            "url": f"?{query.urlencode()}",
            "aria": aria,
            "arrow": {"ascending": " ▲", "descending": " ▼"}.get(aria, ""),
        }
    return links


def _count_links(params: QueryDict, counts: list[selectors.Count]) -> list[dict[str, Any]]:
    links = []
    for count in counts:
        query = params.copy()
        for key in ("after", "state", "compliance"):
            query.pop(key, None)
        query[count.key] = count.value
        links.append(
            {
                "count": count,
                "url": f"?{query.urlencode()}",
                "active": params.get(count.key) == count.value,
            }
        )
    return links


def _organization_select(me: Principal, query: selectors.DeviceQuery) -> str:
    """The organization filter's ``<select>``, written once per version of the tree (a
    thousand organizations are not rendered option by option)."""
    options = organization_options(me, "devices.view").with_first("", _("All organizations"))
    selected = query.organization.pk if query.organization is not None else ""
    return FastSelect(choices=options).render(
        "org", selected, attrs={"id": "org", "class": "form-select"}
    )


@require_safe
@account_required
@replica_reads
def devices_list(request: HttpRequest) -> HttpResponse:
    """Devices: the inventory of the account's organizations, filtered, sorted and paged as the
    URL says, with counts per state and compliance at the top."""
    me = _me(request)
    selectors.devices_visible_to(me)  # refused (403) before anything else is read
    tree = organization_tree(me, "devices.view")
    query = device_query(request, request.GET)
    size = _int(request.GET.get("size"))
    size = size if size in PAGE_SIZES else PAGE_SIZE
    after = request.GET.get("after", "")[:200]
    page = selectors.device_page(me, query, tree, after=after, size=size)
    params = request.GET.copy()
    params.pop("after", None)
    bulk_url = _optional_url(request, "device_bulk_command")
    export = has_permission(me, "devices.view")
    columns = device_cells(me, [row.pk for row in page.rows])
    return render(
        request,
        "android/devices/list.html",
        {
            "query": query,
            "page": page,
            "rows_html": device_rows_html(
                page.rows,
                _url(request, "devices"),
                _url(request, "users"),
                bulk=bool(bulk_url),
                extra=[cells for _, cells in columns],
            ),
            "extra_headers": [header for header, _ in columns],
            "colspan": 13 + len(columns),
            "counts": _count_links(params, selectors.device_counts(me, query)),
            "count_limit": f"{selectors.COUNT_LIMIT:,}",
            "params": params.urlencode(),
            "sorts": _sort_links(params, query.sort),
            "org_select": _organization_select(me, query),
            "states": DeviceState.choices,
            "kinds": DeviceKind.choices,
            "compliances": list(selectors.compliance_labels().items()),
            "page_sizes": PAGE_SIZES,
            "page_size": size,
            "first_page": not after,
            "bulk_url": bulk_url,
            "export_url": _url(request, "devices_export") if export else "",
            "zone_name": timezone.get_current_timezone_name(),
            "tab": "devices",
            "section": "devices",
            "bound": enterprise_bound(me),
        },
    )


@require_safe
@account_required
@replica_reads
def devices_export(request: HttpRequest) -> StreamingHttpResponse:
    """The devices of the list's filters (or the chosen ones) as CSV: UTF-8 with BOM, times in
    the viewer's timezone, streamed."""
    me = _me(request)
    selectors.devices_visible_to(me)  # refused here, not in the middle of the stream
    return csv_response(me, device_query(request, request.GET))


def csv_response(me: Principal, query: selectors.DeviceQuery) -> StreamingHttpResponse:
    """The streamed CSV answer of the page and the API."""
    response = StreamingHttpResponse(
        devices_csv_chunks(me, query), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    domain = me.contract.domain  # type: ignore[attr-defined]
    response["Content-Disposition"] = f'attachment; filename="mamori-devices-{domain}-{stamp}.csv"'
    return response


# A device's page ------------------------------------------------------------------------------


@require_safe
@account_required
def device_detail(request: HttpRequest, device_id: int) -> HttpResponse:
    """Everything Mamori knows of a device, from its newest report: hardware, software, network,
    memory, battery, apps, compliance with its reasons in words, its profile, security posture,
    commands, usage-log events and operation-log entries; the actions the account may take."""
    me = _me(request)
    device = selectors.device_get(me, device_id)
    if request.headers.get("HX-Target") == "device-command-history":
        # The command history alone, polled every 2 s while a command is not final.
        return render(
            request,
            "android/devices/command_history.html",
            {"device": device, **_command_history(me, device)},
        )
    context = device_sections(me, device)
    return render(
        request,
        "android/devices/detail.html",
        {
            **context,
            "commands_card": _commands_card(request, me, device),
            **_command_history(me, device, context["commands"]),
            "note_form": DeviceNoteForm(initial={"note": device.note}),
            "remove_form": DeviceRemoveForm(),
            "confirm_label": services.device_label(device),
            "extra_sections": device_sections_html(request, device),
            "devices_url": _url(request, "devices"),
            "zone_name": timezone.get_current_timezone_name(),
            "tab": "devices",
        },
    )


def _command_history(
    me: Principal, device: Any, rows: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The command history's context: its rows (``page.command_rows``), whether it polls (a
    command registered or sent), and the timezone its times are in."""
    rows = command_rows(me, device) if rows is None else rows
    return {
        "commands": rows,
        "commands_polling": any(not row["done"] for row in rows),
        "zone_name": timezone.get_current_timezone_name(),
    }


def _commands_card(request: HttpRequest, me: Principal, device: Any) -> list[dict[str, Any]]:
    """Each registered command (``core.commands``) with its link, or why it is disabled; none
    for a device no longer managed."""
    from mamori.core.commands import commands

    if device.deleted_at is not None:
        return []  # the page says once that no command can be sent
    rows = []
    for command in commands.all():
        url = _optional_url(request, "device_command", device_id=device.pk, code=command.code)
        reasons = list(command.unmet(device))
        if command.permission not in me.permissions:
            reasons.append(_("Your admin privilege does not allow this command."))
        if not url:
            reasons.append(_("This command is not available yet."))
        rows.append({"label": str(command.label), "url": url, "reasons": reasons})
    return rows


def _back(request: HttpRequest, device_id: int) -> HttpResponseRedirect:
    return HttpResponseRedirect(_url(request, "device_detail", device_id=device_id))


@account_required
def device_move(request: HttpRequest, device_id: int) -> HttpResponse:
    """Move the device to another organization and/or user (its profile follows)."""
    me = _me(request)
    device = selectors.device_get(me, device_id, "change")
    organizations = organization_options(me, "devices.change")
    data = request.POST if request.method == "POST" else None
    initial = {
        "organization": device.organization_id,
        "user": (device.user.employee_code or device.user.main_address_key) if device.user else "",
    }
    form = DeviceMoveForm(data, initial=initial, organizations=organizations)
    if data is not None and form.is_valid():
        organization = organization_get(me, form.cleaned_data["organization"], "devices.change")
        text = form.cleaned_data["user"].strip()
        user = user_named(me, text, "devices.change") if text else None
        if text and user is None:
            form.add_error("user", _("No user with this employee code or e-mail address."))
        else:
            try:
                services.device_move(
                    actor=Actor.from_request(request),
                    device=device,
                    organization=organization,
                    user=user,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The device has been moved."))
                return _back(request, device_id)
    return render(
        request,
        "android/devices/move.html",
        {"form": form, "device": device, "tab": "devices"},
    )


@require_POST
@account_required
def device_note(request: HttpRequest, device_id: int) -> HttpResponse:
    """Save the device's note."""
    device = selectors.device_get(_me(request), device_id, "change")
    form = DeviceNoteForm(request.POST)
    if not form.is_valid():
        for message in form.errors.get("note", []):
            messages.error(request, str(message))
        return _back(request, device_id)
    try:
        services.device_note_set(
            actor=Actor.from_request(request), device=device, note=form.cleaned_data["note"]
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The note has been saved."))
    return _back(request, device_id)


@require_POST
@account_required
def device_remove(request: HttpRequest, device_id: int) -> HttpResponse:
    """Remove the device (``devices.delete`` at Google, by the worker) after its serial number
    was typed."""
    device = selectors.device_get(_me(request), device_id, "remove")
    form = DeviceRemoveForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("Type the serial number to confirm."))
        services.device_remove(
            actor=Actor.from_request(request), device=device, confirm=form.cleaned_data["confirm"]
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request,
            _("%(device)s has been removed; Google is told to wipe and forget it.")
            % {"device": services.device_label(device)},
        )
    return _back(request, device_id)
