from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse


def account_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A panel page: logged in through this contract, with a password of the account's own choice."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        domain = request.contract.domain  # type: ignore[attr-defined]
        if not request.user.is_authenticated:
            login = reverse("panel:login", kwargs={"domain": domain})
            return HttpResponseRedirect(f"{login}?{urlencode({'next': request.get_full_path()})}")
        if request.user.must_change_password:
            return HttpResponseRedirect(reverse("panel:password_change", kwargs={"domain": domain}))
        return view(request, *args, **kwargs)

    return wrapper
