"""The page an invitation mail links to: an imported account chooses its first password."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from mamori.accounts.forms.auth import PasswordSetForm
from mamori.accounts.models import Account
from mamori.accounts.services.invitations import (
    InvitationInvalid,
    invitation_accept,
    invitation_account,
)
from mamori.core.actor import Actor
from mamori.core.forms import add_service_errors


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def password_set(request: HttpRequest, token: str) -> HttpResponse:
    contract = request.contract  # type: ignore[attr-defined]
    account = invitation_account(contract, token)
    if account is None:
        return _invalid(request)
    with translation.override(account.language):  # the language its mail was written in
        return _password_form(request, account, token)


def _password_form(request: HttpRequest, account: Account, token: str) -> HttpResponse:
    contract = account.contract
    form = PasswordSetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation_accept(
                actor=Actor.from_request(request),
                contract=contract,
                token=token,
                **form.cleaned_data,
            )
        except InvitationInvalid:
            return _invalid(request)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, _("Your password has been set. Log in with your account and new password.")
            )
            return HttpResponseRedirect(reverse("panel:login", kwargs={"domain": contract.domain}))
    return render(
        request, "accounts/password_set.html", {"valid": True, "form": form, "account": account}
    )


def _invalid(request: HttpRequest) -> HttpResponse:
    # Forged, expired, used, or another contract's: all the same "not found", with a way on.
    return render(request, "accounts/password_set.html", {"valid": False}, status=404)
