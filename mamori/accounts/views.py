from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from mamori.accounts import services
from mamori.accounts.forms import ApiTokenForm, LoginForm, PasswordChangeForm, PasswordSetForm
from mamori.accounts.models import Account
from mamori.accounts.selectors import api_token_get, api_tokens_of
from mamori.accounts.services import LoginOutcome
from mamori.core.actor import Actor
from mamori.core.decorators import account_required
from mamori.core.forms import add_service_errors
from mamori.core.shortcuts import scoped_or_404


def _outcome_message(outcome: LoginOutcome) -> str:
    lock_minutes = max(settings.MAMORI_LOGIN_LOCK_SECONDS // 60, 1)
    return {
        LoginOutcome.INVALID: _("The account or password is incorrect."),
        LoginOutcome.INVALID_CODE: _("The authentication code is incorrect."),
        LoginOutcome.LOCKED: ngettext(
            "Too many failed logins for this account. Try again in %(minutes)d minute.",
            "Too many failed logins for this account. Try again in %(minutes)d minutes.",
            lock_minutes,
        )
        % {"minutes": lock_minutes},
        LoginOutcome.IP_LIMITED: _("Too many failed logins from your network. Try again later."),
        LoginOutcome.DISABLED: _(
            "This account is disabled. Ask a System administrator of your contract."
        ),
        LoginOutcome.SUSPENDED: _(
            "Use of this contract is suspended. Contact your service provider."
        ),
    }[outcome]


def _login(request: HttpRequest, fixed_domain: str | None) -> HttpResponse:
    form = LoginForm(request.POST or None, fixed_domain=fixed_domain)
    status = 200
    if request.method == "POST" and form.is_valid():
        domain = fixed_domain or form.cleaned_data["domain"].strip().lower()
        result = services.login_attempt(
            request,
            actor=Actor.from_request(request),
            domain=domain,
            name=form.cleaned_data["account"],
            password=form.cleaned_data["password"],
        )
        if result.outcome == LoginOutcome.OK:
            return HttpResponseRedirect(_after_login_url(request, domain))
        if result.outcome == LoginOutcome.TWO_FACTOR:
            return HttpResponseRedirect(_code_step_url(request, domain))
        form.add_error(None, _outcome_message(result.outcome))
        if result.outcome in (LoginOutcome.LOCKED, LoginOutcome.IP_LIMITED):
            status = 429
    return render(
        request,
        "accounts/login.html",
        {"form": form, "fixed_domain": fixed_domain, "next": request.GET.get("next", "")},
        status=status,
    )


def _code_step_url(request: HttpRequest, domain: str) -> str:
    """The authentication code page; the wanted page goes along (checked when it is used)."""
    url = reverse("panel:login_verify", kwargs={"domain": domain})
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    return f"{url}?{urlencode({'next': wanted})}" if wanted else url


def _after_login_url(request: HttpRequest, domain: str) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    home = reverse("panel:home", kwargs={"domain": domain})
    safe = url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()})
    return wanted if safe and wanted.startswith(f"/{domain}/") else home


def general_login(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return HttpResponseRedirect(
            reverse("panel:home", kwargs={"domain": request.user.contract.domain})  # type: ignore[union-attr]
        )
    return _login(request, fixed_domain=None)


def contract_login(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return HttpResponseRedirect(
            reverse("panel:home", kwargs={"domain": request.contract.domain})
        )  # type: ignore[attr-defined]
    return _login(request, fixed_domain=request.contract.domain)  # type: ignore[attr-defined]


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    domain = request.contract.domain  # type: ignore[attr-defined]
    services.logout_record(request, actor=Actor.from_request(request))
    return HttpResponseRedirect(reverse("panel:login", kwargs={"domain": domain}))


def password_change_required(request: HttpRequest) -> HttpResponse:
    """The page a password issued by mail leads to: choose your own before anything else."""
    domain = request.contract.domain  # type: ignore[attr-defined]
    if not request.user.is_authenticated:
        return HttpResponseRedirect(reverse("panel:login", kwargs={"domain": domain}))
    account: Account = request.user  # type: ignore[assignment]
    if not account.must_change_password:
        return HttpResponseRedirect(reverse("panel:home", kwargs={"domain": domain}))
    form = PasswordSetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_change(
                actor=Actor.from_request(request), account=account, **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            update_session_auth_hash(request, account)
            messages.success(request, _("Your password has been changed."))
            return HttpResponseRedirect(reverse("panel:home", kwargs={"domain": domain}))
    return render(request, "accounts/password_change.html", {"form": form, "forced": True})


@account_required
def account_page(request: HttpRequest) -> HttpResponse:
    """The account's own page: who it is, its password and its API tokens."""
    account: Account = request.user  # type: ignore[assignment]
    password_form = PasswordChangeForm(prefix="pw")
    token_form = ApiTokenForm(prefix="token")
    new_token = None
    if request.method == "POST" and "pw-new_password" in request.POST:
        password_form = PasswordChangeForm(request.POST, prefix="pw")
        if password_form.is_valid():
            try:
                services.password_change(
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
                _token, new_token = services.api_token_create(
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
            "tokens": api_tokens_of(account),
            "new_token": new_token,
        },
    )


@account_required
@require_POST
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    account: Account = request.user  # type: ignore[assignment]
    token = scoped_or_404(api_token_get, account, pk)
    services.api_token_revoke(actor=Actor.from_request(request), token=token)
    messages.success(request, _("The token “%(name)s” has been revoked.") % {"name": token.name})
    return HttpResponseRedirect(
        reverse("panel:account", kwargs={"domain": account.contract.domain})
    )
