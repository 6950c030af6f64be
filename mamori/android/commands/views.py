"""Device command pages: a command's form for one device, a command's page (its chain in the
operation log, cancel), the bulk command page (devices chosen in the list, or an
organization), and a bulk job's page with its progress (polled by htmx while it runs)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST, require_safe

from mamori.android.commands import selectors, services
from mamori.android.commands.audit_actions import CommandAction
from mamori.android.commands.forms import CommandForm
from mamori.android.commands.lifecycle import (
    JOB_CANCELLED,
    JobCancelled,
    clearing_results,
    command_reason,
)
from mamori.android.models import COMMAND_DONE, Command, CommandStatus
from mamori.android.permissions import DEVICES_VIEW
from mamori.audit.models import LogEntry
from mamori.audit.selectors import log_entries_about
from mamori.audit.targets import TargetType
from mamori.core.access import NotFound, Principal, has_permission, permission_require
from mamori.core.actor import Actor
from mamori.core.decorators import account_required
from mamori.core.forms import PanelForm, add_service_errors
from mamori.directory.selectors import organization_get

LOG_SHOWN = 50


def _me(request: HttpRequest) -> Principal:
    return request.user  # type: ignore[return-value]


def _url(request: HttpRequest, name: str, **kwargs: Any) -> str:
    return reverse(f"panel:{name}", kwargs={"domain": request.contract.domain, **kwargs})  # type: ignore[attr-defined]


def _context(request: HttpRequest) -> dict[str, Any]:
    return {"tab": "devices", "section": "devices"}


def _after_issue(request: HttpRequest, command: Command) -> str:
    """The device's page (helper C's ``panel:device_detail``) once it exists, else the command's."""
    try:
        return _url(request, "device_detail", device_id=command.device_id)
    except NoReverseMatch:
        return _url(request, "command_detail", command_id=command.pk)


@account_required
def device_command(request: HttpRequest, device_id: int, code: str) -> HttpResponse:
    """A command's form for one device: its fields, why it cannot run (the button disabled);
    POST issues it and goes back to the device."""
    me = _me(request)
    device, kind = selectors.command_device_get(me, device_id, code)
    unmet = services.command_unmet(kind, device)
    data = request.POST if request.method == "POST" else None
    form = CommandForm(
        data,
        kind=kind,
        device=device,
        company=request.contract.company_name,  # type: ignore[attr-defined]
    )
    if data is not None and not unmet and form.is_valid():
        try:
            command = services.command_issue(
                actor=Actor.from_request(request), device=device, code=code, values=form.values()
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if command.status == CommandStatus.FAILED:
                messages.error(request, command_reason(command))
            else:
                messages.success(
                    request, _("%(command)s has been issued.") % {"command": kind.label}
                )
            return HttpResponseRedirect(_after_issue(request, command))
    return render(
        request,
        "android/commands/command_form.html",
        {"device": device, "kind": kind, "form": form, "unmet": unmet, **_context(request)},
    )


def command_chain(me: Principal, command: Command) -> list[LogEntry]:
    """The command's entries in the operation log, oldest first; for one cancelled with its
    bulk job, the job's ``command_job.cancelled`` entry takes the place of its own."""
    about = log_entries_about(me, TargetType.COMMAND, command.pk)
    if command.job_id is not None and command.error_code == JOB_CANCELLED:
        about = about | log_entries_about(me, TargetType.COMMAND_JOB, command.job_id).filter(
            action=CommandAction.JOB_CANCELLED
        )
    return list(about.order_by("created_at", "id")[:LOG_SHOWN])


@require_safe
@account_required
def command_detail(request: HttpRequest, command_id: int) -> HttpResponse:
    """A command: its parameters, status, Google's answer, and its chain in the operation log.

    While the command is not final (registered or sent) the page polls its changing part every
    2 s (htmx; an ``HX-Request`` gets that part alone), and stops once it is final."""
    me = _me(request)
    command = selectors.command_get(me, command_id)
    kind = services.command_of_type_safe(command.type)
    chain = command_chain(me, command) if has_permission(me, "logs.view") else []
    can_cancel = (
        command.status in (CommandStatus.REGISTERED, CommandStatus.SENT)
        and command.cancel_requested_at is None
        and kind is not None
        and has_permission(me, kind.permission)
    )
    context = {
        "command": command,
        "kind": kind,
        "reason": command_reason(command),
        "clearing": clearing_results(command),
        "chain": chain,
        "can_cancel": can_cancel,
        "polling": command.status not in COMMAND_DONE,
        **_context(request),
    }
    if request.headers.get("HX-Request"):  # the changing part alone, polled until final
        return render(request, "android/commands/command_state.html", context)
    return render(request, "android/commands/command_detail.html", context)


@require_POST
@account_required
def command_cancel(request: HttpRequest, command_id: int) -> HttpResponse:
    command = selectors.command_get(_me(request), command_id)
    try:
        services.command_cancel(actor=Actor.from_request(request), command=command)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The command is being cancelled."))
    return HttpResponseRedirect(_url(request, "command_detail", command_id=command.pk))


class ExpiryForm(PanelForm):
    command_expiry_days = forms.IntegerField(
        label=gettext_lazy("Device commands expire after (days)"),
        help_text=gettext_lazy(
            "A command the device has not carried out by then is dropped by Google and shown as "
            "expired. From 1 to 365 days; Google's own default is 10 minutes."
        ),
    )


@account_required
def command_settings(request: HttpRequest) -> HttpResponse:
    """Settings → Android Enterprise → device commands: how long a command waits for its
    device (System administrators only)."""
    me = _me(request)
    permission_require(me, "android.manage")
    contract = request.contract  # type: ignore[attr-defined]
    data = request.POST if request.method == "POST" else None
    form = ExpiryForm(data, initial={"command_expiry_days": contract.command_expiry_days})
    if data is not None and form.is_valid():
        try:
            services.command_expiry_update(
                actor=Actor.from_request(request),
                contract=contract,
                days=form.cleaned_data["command_expiry_days"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The setting has been saved."))
            return HttpResponseRedirect(_url(request, "command_settings"))
    return render(request, "android/commands/settings.html", {"form": form, "tab": "settings"})


# Bulk -----------------------------------------------------------------------------------------


def _selection(request: HttpRequest) -> dict[str, Any]:
    """The devices chosen, from the query: ``device=…`` (repeated) or ``organization=…``."""
    organization = request.GET.get("organization", "").strip()
    return {
        "device_ids": request.GET.getlist("device")[:10_000],
        "organization_id": organization or None,
        "subtree": request.GET.get("subtree", "1") != "0",
    }


def _organization_named(
    me: Principal, selection: dict[str, Any], permission: str, context: dict[str, Any]
) -> None:
    """The organization chosen (named on the page, with or without its subtree), if one was."""
    if selection["organization_id"] is not None:
        context["organization"] = organization_get(me, selection["organization_id"], permission)


@account_required
def bulk_command(request: HttpRequest) -> HttpResponse:
    """Choose a command for the devices chosen, fill its parameters, see how many devices will
    get it and which will not (and why); POST issues it as a job and shows the job."""
    me = _me(request)
    selection = _selection(request)
    code = request.GET.get("command", "")
    context: dict[str, Any] = {
        "commands": [c for c in selectors.commands_allowed(me) if c.bulk],
        "query": request.GET.urlencode(),
        "selection": selection,
        "code": code,
        **_context(request),
    }
    if not selection["device_ids"] and selection["organization_id"] is None:
        context["empty"] = True
        return render(request, "android/commands/bulk.html", context)
    if not code:
        if context["commands"]:  # without any command, refused before the selection is read
            _organization_named(me, selection, DEVICES_VIEW, context)
        return render(request, "android/commands/bulk.html", context)
    kind = selectors.command_kind(code)
    devices = list(selectors.bulk_devices(me, kind, **selection)[: services.BULK_MAX + 1])
    _organization_named(me, selection, kind.permission, context)
    eligible = [d for d in devices if not services.command_unmet(kind, d)]
    data = request.POST if request.method == "POST" else None
    form = CommandForm(
        data,
        kind=kind,
        company=request.contract.company_name,  # type: ignore[attr-defined]
        count=len(eligible),
    )
    if data is not None and form.is_valid():
        try:
            job = services.command_job_create(
                actor=Actor.from_request(request),
                contract=request.contract,  # type: ignore[attr-defined]
                code=code,
                devices=devices,
                values=form.values(),
                confirm_count=form.cleaned_data.get("confirm_count"),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return HttpResponseRedirect(_url(request, "command_job_detail", job_id=job.pk))
    skipped = [(d, " ".join(services.command_unmet(kind, d))) for d in devices if d not in eligible]
    context |= {
        "kind": kind,
        "form": form,
        "devices": len(devices),
        "eligible": len(eligible),
        "skipped": skipped[:100],
        "skipped_count": len(skipped),
    }
    return render(request, "android/commands/bulk.html", context)


# The bar's segments, finished first, then what is on its way: (status, label).
BAR = (
    ("succeeded", gettext_lazy("Succeeded")),
    ("failed", gettext_lazy("Failed")),
    ("expired", gettext_lazy("Expired")),
    ("cancelled", gettext_lazy("Cancelled")),
    ("sent", gettext_lazy("Sent")),
    ("registered", gettext_lazy("Waiting to be sent")),
)
BAR_WIDTH = 1000  # the SVG's units: a segment's width is its share in thousandths


def job_bar(progress: dict[str, int]) -> list[dict[str, Any]]:
    """The progress bar's segments, one a status (``BAR``): ``{"status", "label", "count",
    "x", "width"}``, ``x`` and ``width`` in thousandths of the bar, rounded so that the
    segments end exactly at ``BAR_WIDTH``. No segment when no command was made."""
    total = sum(progress.get(status, 0) for status, _label in BAR)
    segments, before = [], 0
    for status, label in BAR:
        count = progress.get(status, 0)
        start = round(BAR_WIDTH * before / total) if total else 0
        before += count
        end = round(BAR_WIDTH * before / total) if total else 0
        segments.append(
            {"status": status, "label": label, "count": count, "x": start, "width": end - start}
        )
    return segments


@require_safe
@account_required
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    """A bulk command: the share of each status in a bar, its devices with their command's
    status (keyset pages of 100, a status filter), skipped devices, cancel. While a command is
    waiting or sent, the changing part (``job_progress.html``, alone for an ``HX-Request``) is
    polled every 2 s by htmx with the same filter and page."""
    me = _me(request)
    job = selectors.job_get(me, job_id)
    progress = selectors.job_progress(job)
    status = request.GET.get("status", "")
    status = status if status in CommandStatus.values else ""
    after = request.GET.get("after", "")
    page = selectors.job_commands_page(me, job, status=status, after=after)
    kind = services.command_of_type_safe(job.type)
    context = {
        "job": job,
        "kind": kind,
        "progress": progress,
        "bar": job_bar(progress),
        "bar_width": BAR_WIDTH,
        "busy": progress["registered"] + progress["sent"] > 0,
        "page": page,
        "rows": [{"command": c, "reason": command_reason(c)} for c in page.commands],
        "after": after,
        "status": status,
        "statuses": BAR,  # the filter's choices, in the bar's order and words
        "self_url": request.get_full_path(),
        "first_url": _url(request, "command_job_detail", job_id=job.pk)
        + (f"?status={status}" if status else ""),
        "can_cancel": job.cancelled_at is None
        and progress["registered"] + progress["sent"] > 0
        and kind is not None
        and has_permission(me, kind.permission),
        **_context(request),
    }
    if request.headers.get("HX-Request"):
        return render(request, "android/commands/job_progress.html", context)
    return render(request, "android/commands/job_detail.html", context)


def job_cancelled_message(done: JobCancelled) -> str:
    """What cancelling a job did, in the person's language: both counts."""
    cancelled = ngettext(
        "%(count)d command not sent yet was cancelled.",
        "%(count)d commands not sent yet were cancelled.",
        done.cancelled,
    ) % {"count": done.cancelled}
    if not done.asked:
        return cancelled
    asked = ngettext(
        "Google was asked to cancel %(count)d command already sent.",
        "Google was asked to cancel %(count)d commands already sent.",
        done.asked,
    ) % {"count": done.asked}
    # Two sentences: a space between them in English, none in Japanese.
    return _("%(first)s %(second)s") % {"first": cancelled, "second": asked}


@require_POST
@account_required
def job_cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    job = selectors.job_get(_me(request), job_id)
    try:
        done = services.command_job_cancel(actor=Actor.from_request(request), job=job)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, job_cancelled_message(done))
    return HttpResponseRedirect(_url(request, "command_job_detail", job_id=job.pk))


__all__ = ["NotFound"]
