"""The account's own page: who it is, its password and its API tokens."""

import datetime

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mamori.accounts.forms.auth import ApiTokenForm, PasswordChangeForm, PreferencesForm
from mamori.accounts.models import Account
from mamori.accounts.selectors import api_token_get, api_tokens_of
from mamori.accounts.services import tokens
from mamori.accounts.services.passwords import password_change
from mamori.accounts.services.preferences import account_preferences_update
from mamori.core.actor import Actor
from mamori.core.decorators import account_required
from mamori.core.forms import add_service_errors


@account_required
def account_page(request: HttpRequest) -> HttpResponse:
    """The account's own page: who it is, its password and its API tokens."""
    account: Account = request.user  # type: ignore[assignment]
    password_form = PasswordChangeForm(prefix="pw")
    token_form = ApiTokenForm(prefix="token")
    preferences = {"language": account.language, "timezone": account.timezone}
    preferences_form = PreferencesForm(initial=preferences, prefix="pref")
    new_token = None
    if request.method == "POST" and "preferences" in request.POST:
        preferences_form = PreferencesForm(request.POST, initial=preferences, prefix="pref")
        if preferences_form.is_valid():
            try:
                account_preferences_update(
                    actor=Actor.from_request(request),
                    account=account,
                    **preferences_form.cleaned_data,
                )
            except ValidationError as exc:
                add_service_errors(preferences_form, exc)
            else:
                # The next page is in the new language and timezone (ContractMiddleware reads
                # them from the account on every request).
                translation.activate(account.language)
                messages.success(request, _("Your language and timezone have been saved."))
                return HttpResponseRedirect(request.path)
    elif request.method == "POST" and "pw-new_password" in request.POST:
        password_form = PasswordChangeForm(request.POST, prefix="pw")
        if password_form.is_valid():
            try:
                password_change(
                    actor=Actor.from_request(request),
                    account=account,
                    **password_form.cleaned_data,
                )
            except ValidationError as exc:
                add_service_errors(password_form, exc)
            else:
                update_session_auth_hash(request, account)
                messages.success(request, _("Your password has been changed."))
                return HttpResponseRedirect(request.path)
    elif request.method == "POST":
        token_form = ApiTokenForm(request.POST, prefix="token")
        if token_form.is_valid():
            try:
                _token, new_token = tokens.api_token_create(
                    actor=Actor.from_request(request), account=account, **token_form.cleaned_data
                )
            except ValidationError as exc:
                add_service_errors(token_form, exc)
            else:
                token_form = ApiTokenForm(prefix="token")
    return render(
        request,
        "accounts/account.html",
        {
            "account": account,
            "password_form": password_form,
            "token_form": token_form,
            "preferences_form": preferences_form,
            "tokens": api_tokens_of(account),
            "new_token": new_token,
            "two_factor_since": _local(account.totp_confirmed_at),
            "tab": "account",
        },
    )


def _local(moment: datetime.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z") if moment else ""


@account_required
@require_POST
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    account: Account = request.user  # type: ignore[assignment]
    token = api_token_get(account, pk)
    tokens.api_token_revoke(actor=Actor.from_request(request), token=token)
    messages.success(request, _("The token “%(name)s” has been revoked.") % {"name": token.name})
    return HttpResponseRedirect(
        reverse("panel:account", kwargs={"domain": account.contract.domain})
    )
