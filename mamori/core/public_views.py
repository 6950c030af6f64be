"""Core's views at the public door (see ``mamori/core/door.py``): no session, JSON only."""

from __future__ import annotations

import logging

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_http_methods

logger = logging.getLogger("mamori.door")


@require_http_methods(["GET", "HEAD"])
def healthz(request: HttpRequest) -> JsonResponse:
    """``GET /healthz``: whether this process can serve, for a load balancer or an orchestrator.

    200 ``{"ok": true, "database": "ok"}`` when the database answers one ``SELECT 1``; 503
    ``{"ok": false, "database": "unreachable"}`` (the error logged, never shown) when it does
    not. Never cached.
    """
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.warning("Health check: the database is unreachable", exc_info=True)
        response = JsonResponse({"ok": False, "database": "unreachable"}, status=503)
    else:
        response = JsonResponse({"ok": True, "database": "ok"})
    response["Cache-Control"] = "no-store"
    return response
