"""Logging in (through the contract's URL or the general one), out, and the forced password change."""

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

from mamori.accounts.forms.auth import LoginForm, PasswordSetForm
from mamori.accounts.models import Account
from mamori.accounts.services.login import LoginOutcome, login_attempt, logout_record
from mamori.accounts.services.passwords import password_change
from mamori.contracts.middleware import contract_of
from mamori.contracts.models import domain_key
from mamori.core.actor import Actor
from mamori.core.forms import add_service_errors


def login_outcome_message(outcome: LoginOutcome) -> str:
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
        domain = fixed_domain or domain_key(form.cleaned_data["domain"])
        result = login_attempt(
            request,
            actor=Actor.from_request(request),
            domain=domain,
            name=form.cleaned_data["account"],
            password=form.cleaned_data["password"],
        )
        if result.outcome == LoginOutcome.OK:
            return HttpResponseRedirect(after_login_url(request, domain))
        if result.outcome == LoginOutcome.TWO_FACTOR:
            return HttpResponseRedirect(_code_step_url(request, domain))
        if result.outcome == LoginOutcome.INVALID and not fixed_domain:
            # Typed on the common login page: the usage domain may be what is wrong.
            form.add_error(None, _("The usage domain, account or password is incorrect."))
        else:
            form.add_error(None, login_outcome_message(result.outcome))
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


def after_login_url(request: HttpRequest, domain: str) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    home = reverse("panel:home", kwargs={"domain": domain})
    safe = url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()})
    return wanted if safe and wanted.startswith(f"/{domain}/") else home


def general_login(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return HttpResponseRedirect(
            reverse("panel:home", kwargs={"domain": request.user.contract.domain})
        )
    return _login(request, fixed_domain=None)


def contract_login(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return HttpResponseRedirect(
            reverse("panel:home", kwargs={"domain": contract_of(request).domain})
        )
    return _login(request, fixed_domain=contract_of(request).domain)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    domain = request.contract.domain  # type: ignore[attr-defined]
    logout_record(request, actor=Actor.from_request(request))
    return HttpResponseRedirect(reverse("panel:login", kwargs={"domain": domain}))


def password_change_required(request: HttpRequest) -> HttpResponse:
    """The page a password issued by mail leads to: choose your own before anything else."""
    domain = request.contract.domain  # type: ignore[attr-defined]
    if not request.user.is_authenticated:
        return HttpResponseRedirect(reverse("panel:login", kwargs={"domain": domain}))
    account: Account = request.user
    if not account.must_change_password:
        return HttpResponseRedirect(reverse("panel:home", kwargs={"domain": domain}))
    form = PasswordSetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            password_change(actor=Actor.from_request(request), account=account, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            update_session_auth_hash(request, account)
            messages.success(request, _("Your password has been changed."))
            return HttpResponseRedirect(reverse("panel:home", kwargs={"domain": domain}))
    return render(request, "accounts/password_change.html", {"form": form, "forced": True})
