"""Pages of two-step verification: the account's own setup, the login step, the contract setting
and an administrator's reset."""

from urllib.parse import quote, urlencode

import segno
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mamori.accounts.forms.two_factor import ContractSecurityForm, TwoFactorCodeForm
from mamori.accounts.models import Account
from mamori.accounts.selectors import contract_security_of
from mamori.accounts.services import two_factor
from mamori.accounts.services.login import LoginOutcome
from mamori.accounts.views.login import after_login_url, login_outcome_message
from mamori.core.access import NotFound
from mamori.core.actor import Actor
from mamori.core.decorators import account_required, two_factor_setup_page
from mamori.core.forms import add_service_errors
from mamori.directory.selectors import user_get

SETUP_SESSION_KEY = "mamori.two_factor_setup"


def _url(request: HttpRequest, name: str) -> str:
    return reverse(f"panel:{name}", kwargs={"domain": request.contract.domain})  # type: ignore[attr-defined]


# The account's own page --------------------------------------------------------------------


def _manage_page(
    request: HttpRequest,
    *,
    off_form: TwoFactorCodeForm | None = None,
    codes_form: TwoFactorCodeForm | None = None,
) -> HttpResponse:
    account: Account = request.user  # type: ignore[assignment]
    return render(
        request,
        "accounts/two_factor.html",
        {
            "account": account,
            "off_form": off_form or TwoFactorCodeForm(prefix="off"),
            "codes_form": codes_form or TwoFactorCodeForm(prefix="codes"),
            "remaining": two_factor.backup_codes_remaining(account),
            "total": two_factor.BACKUP_CODE_COUNT,
            "since": timezone.localtime(account.totp_confirmed_at).strftime("%Y-%m-%d %H:%M %Z")
            if account.totp_confirmed_at
            else "",
            "tab": "account",
        },
    )


@account_required
def two_factor_page(request: HttpRequest) -> HttpResponse:
    """Whether two-step verification is on, and the buttons to turn it on or off."""
    return _manage_page(request)


def _setup_secret(request: HttpRequest, account: Account) -> two_factor.TwoFactorSetup:
    # Kept in the session until confirmed, so that reloading the page keeps the QR code the
    # person may already have scanned.
    kept = request.session.get(SETUP_SESSION_KEY)
    if isinstance(kept, dict) and kept.get("account") == account.pk:
        secret = str(kept["secret"])
        return two_factor.TwoFactorSetup(secret, two_factor.provisioning_uri(account, secret))
    setup = two_factor.two_factor_begin(account=account)
    request.session[SETUP_SESSION_KEY] = {"account": account.pk, "secret": setup.secret}
    return setup


@account_required
@two_factor_setup_page
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Turn on: scan the QR code, type the code the app shows, receive the backup codes."""
    account: Account = request.user  # type: ignore[assignment]
    if account.two_factor_enabled:
        return HttpResponseRedirect(_url(request, "two_factor"))
    setup = _setup_secret(request, account)
    form = TwoFactorCodeForm(request.POST or None, app_only=True)
    if request.method == "POST" and form.is_valid():
        try:
            codes = two_factor.two_factor_confirm(
                actor=Actor.from_request(request),
                account=account,
                secret=setup.secret,
                code=form.cleaned_data["code"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            request.session.pop(SETUP_SESSION_KEY, None)
            return _codes_page(request, account, codes, turned_on=True)
    qr = segno.make(setup.uri, error="m")
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "qr_svg": mark_safe(  # noqa: S308 -- drawn by segno from our own URI; it escapes the title
                qr.svg_inline(scale=5, title=_("QR code for your authenticator app"), svgclass="qr")
            ),
            "secret_groups": [setup.secret[i : i + 4] for i in range(0, len(setup.secret), 4)],
            "label": f"{account.contract.domain}:{account.name}",
            "issuer": two_factor.ISSUER,
            "required": account.contract.require_two_factor,
        },
    )


def _codes_page(
    request: HttpRequest, account: Account, codes: list[str], *, turned_on: bool
) -> HttpResponse:
    """The backup codes, this once. The download is a data: link made here, so the codes are not
    kept anywhere on the server, not even in the session."""
    label = f"{account.contract.domain}:{account.name}"
    text = "\n".join(
        [
            _("Mamori backup codes for %(label)s") % {"label": label},
            _("Each code works once, instead of a code from your authenticator app."),
            "",
            *codes,
            "",
        ]
    )
    response = render(
        request,
        "accounts/two_factor_codes.html",
        {
            "codes": codes,
            "turned_on": turned_on,
            "download_href": "data:text/plain;charset=utf-8," + quote(text),
            "download_name": f"mamori-backup-codes-{account.contract.domain}-{slugify(account.name) or account.pk}.txt",
        },
    )
    response["Cache-Control"] = "no-store"  # not kept by the browser's cache either
    return response


@account_required
@require_POST
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    account: Account = request.user  # type: ignore[assignment]
    form = TwoFactorCodeForm(request.POST, prefix="off")
    if form.is_valid():
        try:
            two_factor.two_factor_disable(
                actor=Actor.from_request(request), account=account, code=form.cleaned_data["code"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Two-step verification is now off."))
            return HttpResponseRedirect(_url(request, "account"))
    return _manage_page(request, off_form=form)


@account_required
@require_POST
def backup_codes_regenerate(request: HttpRequest) -> HttpResponse:
    account: Account = request.user  # type: ignore[assignment]
    form = TwoFactorCodeForm(request.POST, prefix="codes")
    if form.is_valid():
        try:
            codes = two_factor.backup_codes_regenerate(
                actor=Actor.from_request(request), account=account, code=form.cleaned_data["code"]
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _codes_page(request, account, codes, turned_on=False)
    return _manage_page(request, codes_form=form)


# Logging in: the second step ---------------------------------------------------------------


def _login_again(request: HttpRequest) -> HttpResponse:
    messages.error(
        request,
        _("The login was not finished in time. Enter your account and password again."),
    )
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    query = f"?{urlencode({'next': wanted})}" if wanted else ""
    return HttpResponseRedirect(_url(request, "login") + query)


def login_verify(request: HttpRequest) -> HttpResponse:
    """After the right password: the authentication code (from the app, or a backup code)."""
    contract = request.contract  # type: ignore[attr-defined]
    if request.user.is_authenticated:
        return HttpResponseRedirect(_url(request, "home"))
    if two_factor.login_pending_account(request, contract) is None:
        return _login_again(request)
    form = TwoFactorCodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        result = two_factor.login_verify(
            request,
            actor=Actor.from_request(request),
            contract=contract,
            code=form.cleaned_data["code"],
        )
        if result.outcome == LoginOutcome.OK:
            return HttpResponseRedirect(after_login_url(request, contract.domain))
        if result.outcome == LoginOutcome.EXPIRED:
            return _login_again(request)
        form.add_error(None, login_outcome_message(result.outcome))
        if result.outcome in (LoginOutcome.LOCKED, LoginOutcome.IP_LIMITED):
            status = 429
    return render(
        request,
        "accounts/two_factor_verify.html",
        {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")},
        status=status,
    )


# Administrators ----------------------------------------------------------------------------


@account_required
def settings_security(request: HttpRequest) -> HttpResponse:
    """Settings → Security: whether every account of the contract must use two-step verification."""
    account: Account = request.user  # type: ignore[assignment]
    actor = Actor.from_request(request)
    security = contract_security_of(account)
    contract = security.contract
    form = ContractSecurityForm(
        request.POST or None, initial={"require_two_factor": contract.require_two_factor}
    )
    if request.method == "POST" and form.is_valid():
        try:
            two_factor.contract_security_update(
                actor=actor,
                contract=contract,
                require_two_factor=form.cleaned_data["require_two_factor"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The security settings have been saved."))
            return HttpResponseRedirect(request.path)
    return render(
        request,
        "accounts/two_factor_settings.html",
        {"form": form, "tab": "settings", "total": security.accounts, "enabled": security.enabled},
    )


def _back_url(request: HttpRequest) -> str:
    """Where the reset button was (a page of this contract), or the panel's home."""
    wanted = request.POST.get("next", "")
    domain = request.contract.domain  # type: ignore[attr-defined]
    safe = url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()})
    return wanted if safe and wanted.startswith(f"/{domain}/") else _url(request, "home")


@account_required
@require_POST
def two_factor_reset(request: HttpRequest, user_id: int) -> HttpResponse:
    """A System administrator clears another account's two-step verification."""
    me: Account = request.user  # type: ignore[assignment]
    user = user_get(me, user_id, "accounts.reset_two_factor")
    account = getattr(user, "account", None)
    if account is None:
        raise NotFound
    try:
        two_factor.two_factor_reset(actor=Actor.from_request(request), account=account)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Two-step verification of %(name)s has been reset.") % {"name": user.name},
        )
    return HttpResponseRedirect(_back_url(request))
