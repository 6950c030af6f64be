"""The ceiling of ``bench.pubsub``: a public-door view doing one indexed INSERT per request.

Served through the same middleware and door as ``/pubsub/amapi/<secret>`` (``PublicDoorMiddleware``
answers it, JSON errors), it reads the body as the push endpoint does and inserts one row with a
unique key into ``bench_ceiling`` (made by the bench), then answers 204: the least a Django view
on this server can do that writes to PostgreSQL.
"""

from __future__ import annotations

import secrets

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path

from mamori.public_urls import urlpatterns as public_urlpatterns

TABLE = "bench_ceiling"
CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, key text NOT NULL UNIQUE, "
    "size int NOT NULL, received_at timestamptz NOT NULL DEFAULT now())"
)


def ceiling(request: HttpRequest) -> HttpResponse:
    """Read the body, insert one row (a unique indexed key), answer 204."""
    body = request.body
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (key, size) VALUES (%s, %s)",
            [secrets.token_hex(12), len(body)],
        )
    return HttpResponse(status=204)


urlpatterns = [path("ceiling", ceiling), *public_urlpatterns]
