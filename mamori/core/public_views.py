"""Core's views at the public door (see ``mamori/core/door.py``): no session, JSON only."""

from __future__ import annotations

import logging

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.tasks import task_backends
from django.views.decorators.http import require_http_methods

logger = logging.getLogger("mamori.door")
_migrated = False  # once every migration was seen applied, this process does not look again


def _answer(body: dict[str, object], status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "HEAD"])
def healthz(request: HttpRequest) -> JsonResponse:
    """``GET /healthz``: the process is up and answers (a liveness probe): 200 ``{"ok": true}``,
    touching nothing else, so a database outage does not make an orchestrator restart every
    process; whether the process can serve is ``/readyz``. Never cached."""
    return _answer({"ok": True})


def _database() -> str:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _migrations() -> str:
    """ "ok", or "pending" while a migration of the code is not applied (a deployment midway)."""
    global _migrated
    if not _migrated:
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        _migrated = not executor.migration_plan(executor.loader.graph.leaf_nodes())
    return "ok" if _migrated else "pending"


def _queue() -> str:
    """The task backend's own check: ``django_tasks_db`` keeps its queue in the database (reached
    above); a backend of a distributed queue answers for its broker."""
    backend = task_backends["default"]
    check = getattr(backend, "check_reachable", None)
    if check is not None:
        check()
    return "ok"


@require_http_methods(["GET", "HEAD"])
def readyz(request: HttpRequest) -> JsonResponse:
    """``GET /readyz``: whether this process can serve (a load balancer's readiness check).

    200 ``{"ok": true, "database": "ok", "migrations": "ok", "queue": "ok"}``; 503 with
    ``"ok": false`` and the part that failed: ``database`` ``"unreachable"`` (the error logged,
    never shown; the other parts then ``"unknown"``), ``migrations`` ``"pending"`` (the code is
    newer than the database: run ``mamori migrate``), ``queue`` ``"unreachable"``. Never cached.
    """
    body: dict[str, object] = {"database": "unknown", "migrations": "unknown", "queue": "unknown"}
    try:
        body["database"] = _database()
        body["migrations"] = _migrations()
    except DatabaseError:
        logger.warning("Readiness check: the database is unreachable", exc_info=True)
        body["database"] = "unreachable"
    else:
        try:
            body["queue"] = _queue()
        except Exception:
            logger.warning("Readiness check: the task queue is unreachable", exc_info=True)
            body["queue"] = "unreachable"
    ok = all(value == "ok" for value in body.values())
    return _answer({"ok": ok, **body}, 200 if ok else 503)
