import datetime
from collections.abc import Mapping

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from mamori.audit.changes import change_rows, target_text
from mamori.audit.export import log_csv_chunks
from mamori.audit.forms import LogFilterForm, LogSettingsForm, organization_filter
from mamori.audit.retention import (
    RETENTION_MAX,
    SETTINGS_PERMISSION,
    log_settings_of,
    log_settings_update,
    oldest_kept,
    retention_cutoff,
    retention_next_run,
    settings_values,
)
from mamori.audit.selectors import (
    LOG_ORDER,
    log_actors_of,
    log_entries_visible_to,
    log_entry_get,
    log_page,
    log_rows,
)
from mamori.contracts.middleware import contract_of
from mamori.core.access import Principal, permission_require
from mamori.core.actor import Actor
from mamori.core.decorators import account_required
from mamori.core.forms import add_service_errors
from mamori.core.keyset import Position
from mamori.core.replica import replica_reads

FILTERS = ("since", "until", "actor", "action", "organization")


def log_filter_form(account: Principal, params: Mapping[str, str]) -> LogFilterForm:
    """The log screen's filter form for ``account``, bound to the filters among ``params`` (a
    query string's values; other names are ignored). Also what ``bench`` measures."""
    data = {k: v for k, v in params.items() if k in FILTERS}
    return LogFilterForm(
        data,
        accounts=log_actors_of(account).values_list("pk", "name", "user__name"),
        organizations=organization_filter(account),
    )


def _filter_form(request: HttpRequest, account: Principal) -> LogFilterForm:
    return log_filter_form(account, request.GET)


def _position(request: HttpRequest, name: str) -> Position | None:
    """A page link's cursor; a mangled one starts from the newest entries."""
    try:
        return LOG_ORDER.decode(request.GET[name]) if request.GET.get(name) else None
    except ValidationError:
        return None


def _logs_url(request: HttpRequest) -> str:
    return reverse("panel:logs", kwargs={"domain": contract_of(request).domain})


@require_safe
@account_required
@replica_reads
def log_list(request: HttpRequest) -> HttpResponse:
    account: Principal = request.user  # type: ignore[assignment]
    form = _filter_form(request, account)
    page = rows = None
    if form.is_valid():  # an impossible filter ("Until" before "From") is a message, not a list
        page = log_page(
            account,
            form.log_filter(),
            before=_position(request, "before"),
            after=_position(request, "after"),
        )
        rows = log_rows(page.entries)
    query = request.GET.copy()
    for key in ("before", "after"):
        query.pop(key, None)
    return render(
        request,
        "audit/log_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "query": query.urlencode(),
            "logs_url": _logs_url(request),
            "zone_name": timezone.get_current_timezone_name(),
            "tab": "logs",
        },
    )


@require_safe
@account_required
def log_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account: Principal = request.user  # type: ignore[assignment]
    entry = log_entry_get(account, pk)
    moment = timezone.localtime(entry.created_at)
    return render(
        request,
        "audit/log_detail.html",
        {
            "entry": entry,
            "time": moment.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "target": target_text(entry.target_type, entry.target_label, entry.target_id),
            "changes": change_rows(entry.before, entry.after),
            "logs_url": _logs_url(request),
            "tab": "logs",
        },
    )


@require_safe
@account_required
@replica_reads
def log_export(request: HttpRequest) -> HttpResponseBase:
    account: Principal = request.user  # type: ignore[assignment]
    log_entries_visible_to(account, "export")  # refused here, not in the middle of the stream
    form = _filter_form(request, account)
    if not form.is_valid():
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(
        log_csv_chunks(account, form.log_filter()), content_type="text/csv; charset=utf-8"
    )
    filename = f"mamori-log-{contract_of(request).domain}-{stamp}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _local(moment: datetime.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z") if moment else ""


@account_required
def log_settings(request: HttpRequest) -> HttpResponse:
    """Settings → Operation log: the contract's retention (System administrators, as Settings
    → Security), with the oldest kept entry's time and the next daily run."""
    account: Principal = request.user  # type: ignore[assignment]
    permission_require(account, SETTINGS_PERMISSION)
    contract = contract_of(request)
    data = request.POST if request.method == "POST" else None
    saved = log_settings_of(contract)
    form = LogSettingsForm(data, initial=settings_values(saved))
    if data is not None and form.is_valid():
        try:
            log_settings_update(
                actor=Actor.from_request(request), contract=contract, values=form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The operation log settings have been saved."))
            return HttpResponseRedirect(
                reverse("panel:log_settings", kwargs={"domain": contract.domain})
            )
    next_run = retention_next_run()
    months = saved.retention_months
    return render(
        request,
        "audit/log_settings.html",
        {
            "form": form,
            "saved_months": months,
            "retention_max": RETENTION_MAX,
            "oldest": _local(oldest_kept(contract)),
            "next_run": _local(next_run),
            "next_cutoff": retention_cutoff(next_run, months).strftime("%Y-%m-%d %H:%M UTC")
            if months
            else "",
            "first_seq": saved.first_seq,
            "tab": "settings",
            "section": "log",
        },
    )
