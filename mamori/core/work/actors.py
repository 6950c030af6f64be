"""Who deferred work acts for, rebuilt when it runs.

The work row keeps ``Actor.serialize()``. An actor without an account (the system, the
operator) is rebuilt as it was; one with an account is rebuilt by the loader the accounts app
registers, which refuses an account that is gone or disabled or whose contract is suspended.
Core knows no account model, hence the registration.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from mamori.core.actor import Actor, ActorKind


class ActorRefused(Exception):
    """The account the work acts for may no longer act; ``reason`` says why, for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


ActorLoader = Callable[[dict[str, Any]], Actor]
_loader: list[ActorLoader] = []


def actor_loader(loader: ActorLoader) -> ActorLoader:
    """Register the function that rebuilds an actor with an account from its serialized form.

    ``loader(data)`` returns the ``Actor`` or raises ``ActorRefused``. One loader only.
    """
    if _loader and _loader[0] is not loader:
        raise ImproperlyConfigured("An actor loader is registered already")
    _loader[:] = [loader]
    return loader


def actor_rebuild(data: dict[str, Any]) -> Actor:
    """The actor of a work row as it is now; ``ActorRefused`` when it may not act any more.

    Work an account asked for is done later by Mamori for that account: its actor is
    ``ActorKind.ON_BEHALF`` with the account (checked again, as it is now) and the request it
    came in (IP address, user agent, request id), so the log names both.
    """
    if data.get("account") is None:
        return Actor.deserialize(data)
    if not _loader:
        raise ImproperlyConfigured("No actor loader is registered (see mamori.accounts.apps)")
    return dataclasses.replace(_loader[0](data), kind=ActorKind.ON_BEHALF)
