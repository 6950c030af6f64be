"""Administering a user's Mamori account (the seed's "Mamori account → Edit"), disabling, enabling
and deleting it, and looking after its API tokens."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mamori.accounts.forms.administration import AccountForm
from mamori.accounts.models import ACCOUNT_FIELDS, Account, PermissionScheme
from mamori.accounts.selectors import (
    account_token_get,
    account_tokens_of,
    managed_account_get,
    schemes_assignable_by,
    user_account_get,
)
from mamori.accounts.services import administration, tokens
from mamori.accounts.services.administration import AccountData
from mamori.core.actor import Actor
from mamori.core.decorators import account_required
from mamori.core.fields import values_of
from mamori.core.forms import add_service_errors
from mamori.directory.selectors import (
    organization_tree,
    organizations_visible_to,
)


def _me(request: HttpRequest) -> Account:
    return request.user  # type: ignore[return-value]


def _url(request: HttpRequest, name: str, **kwargs: Any) -> str:
    return reverse(f"panel:{name}", kwargs={"domain": request.contract.domain, **kwargs})  # type: ignore[attr-defined]


def _account_data(
    me: Account, form: AccountForm, schemes: list[PermissionScheme], action: str
) -> AccountData:
    data = form.cleaned_data
    chosen = set(data["scope_organizations"])
    return AccountData(
        **{f: data[f] for f in ACCOUNT_FIELDS},
        scope_organizations=tuple(
            organizations_visible_to(me, action).filter(pk__in=chosen).order_by("pk")
        ),
        scheme=next((s for s in schemes if s.pk == data["scheme"]), None),
    )


@account_required
def account_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    """The seed's "Mamori account → Edit": create the user's account, or change it."""
    me = _me(request)
    user, account = user_account_get(me, user_id, "save")
    action = "accounts.change" if account else "accounts.add"
    tree = organization_tree(me, action)
    schemes = list(schemes_assignable_by(me))
    if account is None:
        initial: dict[str, Any] = {
            "language": me.language,
            "timezone": me.timezone,
        }
    else:
        initial = values_of(account, ACCOUNT_FIELDS)
        initial["scope_organizations"] = [o.pk for o in account.scope_organizations.all()]
        initial["scheme"] = account.scheme_id
    form = AccountForm(request.POST or None, initial=initial, organizations=tree, schemes=schemes)
    if me.privilege != Account.Privilege.SYSTEM_ADMIN and (account is None or account.pk != me.pk):
        # Only what this administrator can grant is offered (the service refuses the rest).
        form.fields["privilege"].choices = [  # type: ignore[attr-defined]
            c
            for c in form.fields["privilege"].choices  # type: ignore[attr-defined]
            if c[0] in ("", Account.Privilege.OPERATOR)
        ]
    if request.method == "POST" and form.is_valid():
        actor = Actor.from_request(request)
        data = _account_data(me, form, schemes, action)
        password, confirmation = form.cleaned_data["password"], form.cleaned_data["confirmation"]
        try:
            if account is None:
                administration.account_create(
                    actor=actor, user=user, data=data, password=password, confirmation=confirmation
                )
            else:
                administration.account_update(
                    actor=actor,
                    account=account,
                    data=data,
                    password=password,
                    confirmation=confirmation,
                )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, _("The Mamori account of %(name)s has been saved.") % {"name": user.name}
            )
            return HttpResponseRedirect(_url(request, "user_detail", user_id=user.pk))
    return render(
        request,
        "accounts/account_form.html",
        {
            "form": form,
            "user_obj": user,
            "account": account,
            "tab": "users",
        },
    )


def _account_action(request: HttpRequest, user_id: int, action: str) -> HttpResponse:
    me = _me(request)
    _user, account = user_account_get(me, user_id, "delete" if action == "delete" else "change")
    if account is None:
        return HttpResponseRedirect(_url(request, "user_detail", user_id=user_id))
    service = {
        "disable": administration.account_disable,
        "enable": administration.account_enable,
        "delete": administration.account_delete,
    }[action]
    try:
        service(actor=Actor.from_request(request), account=account)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        done = {
            "disable": _("The Mamori account %(account)s has been disabled."),
            "enable": _("The Mamori account %(account)s has been enabled."),
            "delete": _("The Mamori account %(account)s has been deleted."),
        }[action]
        messages.success(request, done % {"account": account.name})
    return HttpResponseRedirect(_url(request, "user_detail", user_id=user_id))


@require_POST
@account_required
def account_disable(request: HttpRequest, user_id: int) -> HttpResponse:
    return _account_action(request, user_id, "disable")


@require_POST
@account_required
def account_enable(request: HttpRequest, user_id: int) -> HttpResponse:
    return _account_action(request, user_id, "enable")


@require_POST
@account_required
def account_delete(request: HttpRequest, user_id: int) -> HttpResponse:
    return _account_action(request, user_id, "delete")


@account_required
def account_tokens(request: HttpRequest, user_id: int) -> HttpResponse:
    """The API tokens of a user's Mamori account, for an administrator who manages it: when
    each was made, last used and expires, and a button to revoke each usable one."""
    me = _me(request)
    account = managed_account_get(me, user_id)
    return render(
        request,
        "accounts/account_tokens.html",
        {
            "user_obj": account.user,
            "account": account,
            "tokens": account_tokens_of(me, account),
            "tab": "users",
        },
    )


@require_POST
@account_required
def account_token_revoke(request: HttpRequest, user_id: int, token_id: int) -> HttpResponse:
    """Revoke one of a managed account's API tokens."""
    me = _me(request)
    account = managed_account_get(me, user_id)
    token = account_token_get(me, account, token_id)
    tokens.api_token_revoke(actor=Actor.from_request(request), token=token)
    messages.success(request, _("The token “%(name)s” has been revoked.") % {"name": token.name})
    return HttpResponseRedirect(_url(request, "account_tokens", user_id=user_id))
