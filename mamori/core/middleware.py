import re
import time
import uuid
import zoneinfo
from collections.abc import Callable
from typing import Any

from django.contrib.auth import logout
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone, translation
from django.views.defaults import page_not_found

from mamori.contracts.models import Contract

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Give every request an id (or keep a well-formed one from the proxy) for logs and replies."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        request.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id  # type: ignore[attr-defined]
        return response


class ContractMiddleware:
    """Resolve the contract from the URL once per request and hold the session to it.

    Panel URLs are ``/<domain>/…``. Another contract's URL is a 404 for a logged-in account, so
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
        contract = Contract.objects.filter(domain=domain).first()
        if contract is None:
            raise Http404
        account = request.user
        if account.is_authenticated and account.contract_id != contract.pk:
            raise Http404
        request.contract = contract  # type: ignore[attr-defined]
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # A scoped selector or a service that cannot find an object in the person's contract and
        # organizations: a 404, never a page that confirms the object exists.
        if isinstance(exception, ObjectDoesNotExist):
            return page_not_found(request, Http404())
        return None


class SessionIdleMiddleware:
    """Push a logged-in session's expiry forward at most once a minute.

    ``SESSION_COOKIE_AGE`` is then an idle timeout (to within a minute) without an UPDATE of the
    session row on every request, which ``SESSION_SAVE_EVERY_REQUEST`` would cost.
    """

    TOUCH_EVERY = 60

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and request.user.is_authenticated:
            now = int(time.time())
            if now - session.get("touched", 0) >= self.TOUCH_EVERY:
                session["touched"] = now  # modified: saved with a new expiry
        return self.get_response(request)
