"""CSV pages of Users/Org: upload a file, follow its check and import, export users."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from mamori.accounts.models import Account
from mamori.core.actor import Actor
from mamori.core.decorators import account_required
from mamori.core.forms import add_service_errors
from mamori.core.replica import replica_reads
from mamori.directory.models import Organization
from mamori.directory.selectors import UserQuery, organization_get, users_visible_to
from mamori.users_csv import format as csv_format
from mamori.users_csv import services as services_csv
from mamori.users_csv.export import users_csv_chunks
from mamori.users_csv.forms import UserImportForm
from mamori.users_csv.models import UserImport
from mamori.users_csv.selectors import user_import_get, user_imports_of

RECENT_IMPORTS = 10


def _detail_url(request: HttpRequest, user_import: UserImport) -> str:
    return reverse(
        "panel:user_import_detail",
        kwargs={"domain": request.contract.domain, "import_id": user_import.pk},  # type: ignore[attr-defined]
    )


@require_http_methods(["GET", "HEAD", "POST"])
@account_required
def users_import(request: HttpRequest) -> HttpResponse:
    """Upload a CSV; its check runs in the background and its page follows it."""
    me: Account = request.user  # type: ignore[assignment]
    imports = user_imports_of(me)  # refused without the permission
    form = UserImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            user_import = services_csv.user_import_start(
                actor=Actor.from_request(request),
                contract=request.contract,  # type: ignore[attr-defined]
                filename=upload.name,
                file=upload,
                mode=form.cleaned_data["mode"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return HttpResponseRedirect(_detail_url(request, user_import))
    return render(
        request,
        "users_csv/import.html",
        {
            "form": form,
            "columns": csv_format.COLUMNS,
            "imports": imports[:RECENT_IMPORTS],
            "tab": "users",
        },
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@account_required
def user_import_detail(request: HttpRequest, import_id: int) -> HttpResponse:
    """An import's status, progress and report; POST is the confirmation that imports it.

    The page polls itself (htmx, every second) for the status part alone while work is under way.
    """
    me: Account = request.user  # type: ignore[assignment]
    user_import = user_import_get(me, import_id)
    if request.method == "POST":
        try:
            services_csv.user_import_apply(
                actor=Actor.from_request(request), user_import=user_import
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return HttpResponseRedirect(_detail_url(request, user_import))
    context = {"user_import": user_import, "tab": "users", **_progress(user_import)}
    if request.headers.get("HX-Request"):
        return render(request, "users_csv/import_progress.html", context)
    return render(request, "users_csv/import_detail.html", context)


def _progress(user_import: UserImport) -> dict[str, object]:
    busy = user_import.status in (UserImport.Status.CHECKING, UserImport.Status.RUNNING)
    total = user_import.total_rows
    plan = user_import.summary.get("plan", {})
    return {
        "busy": busy,
        "percent": (100 * user_import.processed_rows // total) if total else 0,
        "plan": plan,
        "error_count": plan.get("errors") or len(user_import.errors),
        "result": user_import.summary.get("result", {}),
        "failure": user_import.summary.get("error", ""),
    }


@require_safe
@account_required
@replica_reads
def users_export(request: HttpRequest) -> StreamingHttpResponse:
    """The users the account may see, with the user list's filters (q, org, sub), as CSV."""
    me: Account = request.user  # type: ignore[assignment]
    users_visible_to(me, "export")  # refused here, not in the middle of the stream
    query = UserQuery(
        search=request.GET.get("q", "")[:100],
        organization=_organization(request, me),
        include_sub_organizations=request.GET.get("sub", "1") != "0",
        # "Export the selection" of the user list: the chosen users only.
        ids=tuple(int(v) for v in request.GET.getlist("user") if v.isdigit()),
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(
        users_csv_chunks(me, query), content_type="text/csv; charset=utf-8"
    )
    filename = f"mamori-users-{me.contract.domain}-{stamp}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _organization(request: HttpRequest, me: Account) -> Organization | None:
    value = request.GET.get("org", "")
    if not value:
        return None
    return organization_get(me, int(value) if value.isdigit() else 0, "users.export")
