from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from mamori.accounts.models import Account
from mamori.accounts.permissions import CATALOGUE, has_permission, is_system_admin
from mamori.accounts.selectors import scheme_get, schemes_of
from mamori.accounts.services import scheme_create, scheme_delete, scheme_update
from mamori.core.actor import Actor
from mamori.core.decorators import account_required
from mamori.core.forms import add_service_errors
from mamori.core.shortcuts import scoped_or_404
from mamori.directory.forms import SchemeForm
from mamori.panel.selectors import basic_information


@require_safe
@account_required
def home(request: HttpRequest) -> HttpResponse:
    """The first tab the account may open: Users/Org, else Logs, else Settings."""
    account: Account = request.user  # type: ignore[assignment]
    first = next(
        (
            page
            for permission, page in (("users.view", "users"), ("logs.view", "logs"))
            if has_permission(account, permission)
        ),
        "settings",
    )
    return HttpResponseRedirect(
        reverse(f"panel:{first}", kwargs={"domain": request.contract.domain})
    )  # type: ignore[attr-defined]


@require_safe
@account_required
def settings_basic(request: HttpRequest) -> HttpResponse:
    account: Account = request.user  # type: ignore[assignment]
    return render(
        request,
        "panel/settings_basic.html",
        {"info": basic_information(account), "tab": "settings"},
    )


def _system_admin_only(account: Account) -> None:
    if not is_system_admin(account):
        raise PermissionDenied(_("Only a System administrator can do this."))


@require_safe
@account_required
def schemes_list(request: HttpRequest) -> HttpResponse:
    """Settings → custom permission schemes."""
    account: Account = request.user  # type: ignore[assignment]
    _system_admin_only(account)
    schemes = schemes_of(account).annotate(account_count=Count("accounts"))
    return render(request, "panel/schemes.html", {"schemes": schemes, "tab": "settings"})


@account_required
def scheme_edit(request: HttpRequest, scheme_id: int | None = None) -> HttpResponse:
    account: Account = request.user  # type: ignore[assignment]
    _system_admin_only(account)
    scheme = scoped_or_404(scheme_get, account, scheme_id) if scheme_id else None
    initial = {"name": scheme.name, "permissions": scheme.permissions} if scheme else {}
    form = SchemeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        actor = Actor.from_request(request)
        name, permissions = form.cleaned_data["name"], form.cleaned_data["permissions"]
        try:
            if scheme is None:
                scheme_create(
                    actor=actor, contract=account.contract, name=name, permissions=permissions
                )
            else:
                scheme_update(actor=actor, scheme=scheme, name=name, permissions=permissions)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The scheme “%(name)s” has been saved.") % {"name": name})
            return HttpResponseRedirect(
                reverse("panel:schemes", kwargs={"domain": account.contract.domain})
            )
    return render(
        request,
        "panel/scheme_form.html",
        {"form": form, "scheme": scheme, "catalogue": CATALOGUE, "tab": "settings"},
    )


@require_POST
@account_required
def scheme_remove(request: HttpRequest, scheme_id: int) -> HttpResponse:
    account: Account = request.user  # type: ignore[assignment]
    _system_admin_only(account)
    scheme = scoped_or_404(scheme_get, account, scheme_id)
    try:
        scheme_delete(actor=Actor.from_request(request), scheme=scheme)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(
            request, _("The scheme “%(name)s” has been deleted.") % {"name": scheme.name}
        )
    return HttpResponseRedirect(
        reverse("panel:schemes", kwargs={"domain": account.contract.domain})
    )
