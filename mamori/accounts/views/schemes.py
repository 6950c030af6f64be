"""Settings → custom permission schemes."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from mamori.accounts.forms.administration import SchemeForm
from mamori.accounts.models import Account
from mamori.accounts.selectors import scheme_get, schemes_visible_to
from mamori.accounts.services.schemes import scheme_create, scheme_delete, scheme_update
from mamori.core.actor import Actor
from mamori.core.decorators import account_required
from mamori.core.forms import add_service_errors


@require_safe
@account_required
def schemes_list(request: HttpRequest) -> HttpResponse:
    """Settings → custom permission schemes."""
    account: Account = request.user  # type: ignore[assignment]
    schemes = schemes_visible_to(account).annotate(account_count=Count("accounts"))
    return render(request, "accounts/schemes.html", {"schemes": schemes, "tab": "settings"})


@account_required
def scheme_edit(request: HttpRequest, scheme_id: int | None = None) -> HttpResponse:
    account: Account = request.user  # type: ignore[assignment]
    if scheme_id is None:
        schemes_visible_to(account)  # a new scheme: refused without the permission
    scheme = scheme_get(account, scheme_id) if scheme_id else None
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
        "accounts/scheme_form.html",
        {"form": form, "scheme": scheme, "tab": "settings"},
    )


@require_POST
@account_required
def scheme_remove(request: HttpRequest, scheme_id: int) -> HttpResponse:
    account: Account = request.user  # type: ignore[assignment]
    scheme = scheme_get(account, scheme_id)
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
