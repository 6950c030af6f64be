"""Heavy reads on a PostgreSQL streaming replica (issue 11): ``DATABASE_REPLICA_URL``.

Only the views marked ``@replica_reads`` (pages whose reads tolerate a second of lag: the
operation log and its CSV export, the device and user lists and their exports, the alert list)
read from the replica, and only:

- outside any transaction on the primary (a read inside a write's transaction stays with it);
- when the person did not just change something: every successful unsafe request (POST, PUT,
  PATCH, DELETE answered below 400) sets the cookie ``mamori_wrote`` for
  ``MAMORI_REPLICA_STICKY_SECONDS`` (5), and while the browser sends it their reads stay on the
  primary (read-your-writes: what was just saved is on the next page);
- while the replica answers: a view that fails on it with a connection error runs again on the
  primary (these views only read), and the failure is logged.

Writes, migrations and every other read go to the primary (``default``). The API's lists stay on
the primary: a token client keeps no cookie to carry read-your-writes.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar, Token
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse

REPLICA = "replica"
WROTE_COOKIE = "mamori_wrote"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_on_replica: ContextVar[bool] = ContextVar("replica_reads", default=False)
logger = logging.getLogger("mamori.replica")


def replica_configured() -> bool:
    """Whether ``DATABASE_REPLICA_URL`` gave a replica."""
    return REPLICA in settings.DATABASES


class ReplicaRouter:
    """Django's database router (``DATABASE_ROUTERS``): reads of a ``@replica_reads`` view to
    the replica outside transactions, everything else to the primary; only the primary is
    migrated (the replica follows it)."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        if _on_replica.get() and not connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the same data on both

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


def _streamed(chunks: Iterable[Any]) -> Iterator[Any]:
    """A streaming response's chunks, made with reads on the replica (they run after the view
    returned, as the server sends them)."""
    iterator = iter(chunks)
    while True:
        token = _on_replica.set(True)
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        finally:
            _on_replica.reset(token)
        yield chunk


def replica_reads[**P](
    view: Callable[P, HttpResponseBase],
) -> Callable[P, HttpResponseBase]:
    """Mark a view (``view(request, …)``) whose reads may come from the replica (see the
    module); without a replica, or after a recent write, it reads the primary."""

    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        request = args[0]
        assert isinstance(request, HttpRequest)
        if not replica_configured() or WROTE_COOKIE in request.COOKIES:
            return view(*args, **kwargs)
        token: Token[bool] | None = _on_replica.set(True)
        try:
            response = view(*args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            logger.warning("The replica failed; reading the primary instead: %s", exc)
            _on_replica.reset(token)  # type: ignore[arg-type]  # set just above
            token = None
            return view(*args, **kwargs)
        finally:
            if token is not None:
                _on_replica.reset(token)
        if isinstance(response, StreamingHttpResponse) and not response.is_async:
            response.streaming_content = _streamed(response.streaming_content)  # type: ignore[arg-type]
        return response

    return wrapped


class RecentWriteMiddleware:
    """Set ``mamori_wrote`` after a successful unsafe request, so the next reads of that browser
    stay on the primary for ``MAMORI_REPLICA_STICKY_SECONDS`` (read-your-writes). Only with a
    replica."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if (
            replica_configured()
            and request.method not in SAFE_METHODS
            and response.status_code < 400
        ):
            seconds = settings.MAMORI_REPLICA_STICKY_SECONDS
            response.set_cookie(
                WROTE_COOKIE,
                str(int(time.time())),
                max_age=seconds,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
