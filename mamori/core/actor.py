"""Who is doing something, and from where: what every service function needs to log it."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from mamori.accounts.models import Account


@dataclasses.dataclass(frozen=True, kw_only=True)
class Actor:
    """The person, API client or operator behind a change, with the request it came in."""

    account: Account | None = None
    kind: str = "account"  # account | api | operator | anonymous | system
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""

    @classmethod
    def operator(cls) -> Actor:
        return cls(kind="operator")

    @classmethod
    def system(cls) -> Actor:
        return cls(kind="system")

    @classmethod
    def from_request(cls, request: HttpRequest, *, kind: str | None = None) -> Actor:
        user = getattr(request, "user", None)
        account = user if user is not None and user.is_authenticated else None
        return cls(
            account=account,
            kind=kind or ("account" if account else "anonymous"),
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", "")[:400],
            request_id=getattr(request, "request_id", ""),
        )


def client_ip(request: HttpRequest) -> str | None:
    """The client's address; X-Forwarded-For is believed only for configured proxies."""
    from django.conf import settings

    trusted = settings.MAMORI_TRUSTED_PROXIES
    if trusted:
        forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= trusted:
            return forwarded[-trusted]
    return request.META.get("REMOTE_ADDR") or None
