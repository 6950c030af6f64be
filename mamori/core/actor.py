"""Who is doing something, and from where: what every service function needs to log it."""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.http import HttpRequest

if TYPE_CHECKING:
    from mamori.core.access import Principal


class ActorKind(StrEnum):
    """Who made a change, as the operation log records it (``LogEntry.actor_kind``).

    ``ON_BEHALF`` is work the system does for a person later (a bulk job, a scheduled command):
    the entry names both the system as the doer and the account that asked for it.
    """

    ACCOUNT = "account"  # a person in the panel
    API = "api"  # an API client with a person's token
    OPERATOR = "operator"  # the service operator's command line
    ANONYMOUS = "anonymous"  # not logged in (a failed login)
    SYSTEM = "system"  # Mamori itself (periodic jobs, device notifications)
    ON_BEHALF = "on_behalf"  # Mamori, doing what an account asked for earlier


@dataclasses.dataclass(frozen=True, kw_only=True)
class Actor:
    """The person, API client or operator behind a change, with the request it came in."""

    account: Principal | None = None
    kind: ActorKind = ActorKind.ACCOUNT
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""

    @classmethod
    def operator(cls) -> Actor:
        return cls(kind=ActorKind.OPERATOR)

    @classmethod
    def system(cls) -> Actor:
        return cls(kind=ActorKind.SYSTEM)

    @classmethod
    def from_request(cls, request: HttpRequest, *, kind: ActorKind | None = None) -> Actor:
        user = getattr(request, "user", None)
        account = user if user is not None and user.is_authenticated else None
        return cls(
            account=account,
            kind=kind or (ActorKind.ACCOUNT if account else ActorKind.ANONYMOUS),
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", "")[:400],
            request_id=getattr(request, "request_id", ""),
        )

    def serialize(self) -> dict[str, Any]:
        """Plain values to store with deferred work; ``deserialize`` rebuilds the actor."""
        return {
            "account": self.account.pk if self.account is not None else None,
            # The account's language when it asked: the reason its work was refused reads in it
            # even if the account is gone by then.
            "language": self.account.language if self.account is not None else None,
            "kind": str(self.kind),
            "ip": self.ip,
            "user_agent": self.user_agent,
            "request_id": self.request_id,
        }

    @classmethod
    def deserialize(cls, data: dict[str, Any], *, account: Principal | None = None) -> Actor:
        """The actor ``serialize`` stored, with ``account`` loaded by the caller (or none)."""
        return cls(
            account=account,
            kind=ActorKind(data.get("kind", ActorKind.SYSTEM)),
            ip=data.get("ip"),
            user_agent=data.get("user_agent", ""),
            request_id=data.get("request_id", ""),
        )


def client_ip(request: HttpRequest) -> str | None:
    """The client's address; X-Forwarded-For is believed only for configured proxies."""
    trusted = settings.MAMORI_TRUSTED_PROXIES
    if trusted:
        forwarded = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= trusted:
            return forwarded[-trusted]
    return request.META.get("REMOTE_ADDR") or None
