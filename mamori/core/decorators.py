"""Decorators of panel pages (the account in ``request.user`` is any ``core.access.Principal`` with
``must_change_password`` and ``two_factor_setup_due``)."""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse


def account_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """A panel page: logged in through this contract, with a password of the account's own choice
    and, when the contract requires it, two-step verification set up."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        domain = request.contract.domain  # type: ignore[attr-defined]
        if not request.user.is_authenticated:
            login = reverse("panel:login", kwargs={"domain": domain})
            return HttpResponseRedirect(f"{login}?{urlencode({'next': request.get_full_path()})}")
        if request.user.must_change_password:
            return HttpResponseRedirect(reverse("panel:password_change", kwargs={"domain": domain}))
        if request.user.two_factor_setup_due and not getattr(view, "two_factor_setup_page", False):
            return HttpResponseRedirect(
                reverse("panel:two_factor_setup", kwargs={"domain": domain})
            )
        return view(request, *args, **kwargs)

    return wrapper


def two_factor_setup_page(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Mark the page where two-step verification is set up: reachable before it is."""
    view.two_factor_setup_page = True  # type: ignore[attr-defined]
    return view
