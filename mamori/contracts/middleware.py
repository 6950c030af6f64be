"""The contract of a panel request, resolved once from its URL and held to the session's account."""

import zoneinfo
from collections.abc import Callable
from typing import Any

from django.contrib.auth import logout
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.utils import timezone, translation
from django.utils.encoding import escape_uri_path

from mamori.contracts.models import Contract


def contract_of(request: HttpRequest) -> Contract:
    """The contract ``ContractMiddleware`` resolved for a panel URL (``/<domain>/…``)."""
    contract: Contract = request.contract  # type: ignore[attr-defined]
    return contract


def lowercase_domain_redirect(request: HttpRequest, domain: str) -> HttpResponse:
    """Send ``/ACME/login/?next=…`` to ``/acme/login/?next=…``: the same URL, query string
    included, with the usage domain (the first path segment, ``domain``) in lowercase.

    Usage domains are lowercase (``domain_validator``) but people type them as they like. A GET
    or HEAD gets a 301; any other method a 308, which keeps the method and the body.
    """
    prefix = escape_uri_path(request.path[: len(request.path) - len(request.path_info)])
    rest = request.get_full_path()[len(prefix) :]  # "/ACME/login/?next=…"
    url = f"{prefix}/{domain.lower()}{rest[len(domain) + 1 :]}"
    return HttpResponsePermanentRedirect(
        url, preserve_request=request.method not in ("GET", "HEAD")
    )


class ContractMiddleware:
    """Resolve the contract from the URL once per request and hold the session to it.

    Panel URLs are ``/<domain>/…``; a domain typed with capitals is redirected to its lowercase
    URL. Another contract's URL is a 404 for a logged-in account, so
    nothing confirms that the other contract, or any of its objects, exists. The account's
    language and timezone are activated for the whole request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.contract = None  # type: ignore[attr-defined]
        account = request.user
        if account.is_authenticated and not (account.is_active and account.contract.is_active):
            logout(request)
            account = request.user
        if account.is_authenticated:
            translation.activate(account.language)
            request.LANGUAGE_CODE = account.language
            timezone.activate(zoneinfo.ZoneInfo(account.timezone))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        if "domain" not in view_kwargs:
            return None
        domain = view_kwargs.pop("domain")
        if domain != domain.lower():
            return lowercase_domain_redirect(request, domain)
        account = request.user
        if account.is_authenticated:
            # The session's account was read with its contract: no second look-up. Another
            # contract's URL is a 404, whether that contract exists or not.
            if account.contract.domain != domain:
                raise Http404
            request.contract = account.contract  # type: ignore[attr-defined]
            return None
        contract = Contract.objects.filter(domain=domain).first()
        if contract is None:
            raise Http404
        request.contract = contract  # type: ignore[attr-defined]
        return None
