"""Prometheus metrics (issue 11), with the ``prometheus-client`` library, served at ``/metrics``
to the addresses of ``MAMORI_METRICS_ALLOW``.

Counted where they happen, in every process:

- ``mamori_http_requests_total{route, method, status}`` and
  ``mamori_http_request_duration_seconds{route}`` (a histogram): ``MetricsMiddleware``, the
  outermost. ``route`` is the URL pattern (``<slug:domain>/devices/<int:device_id>/``), never
  the path: a path carries ids and the Pub/Sub push's secret; unresolved paths are ``unmatched``.
- ``mamori_amapi_calls_total{method, status}``: each call to Google (``android.amapi.calls``);
  ``status`` is ``ok`` or the google.rpc code.
- ``mamori_pubsub_messages_total{type, outcome}``: each notification the apply worker decided
  (``applied``, ``waiting``, or the reason it was set aside), counted after its batch commits.

Read from the database when scraped (the database is the truth; any process can answer):
``mamori_work_pending`` and ``mamori_work_oldest_pending_seconds`` (durable work due and not
taken: the task queue's depth and the age of its oldest item), ``mamori_outbox_pending`` (mail
waiting for SMTP).

The processes of one host share their counters through files in ``MAMORI_METRICS_DIR``
(prometheus-client's multiprocess mode, which the settings switch on before the library is
imported): granian's processes, ``mamori worker``. ``mamori serve`` removes the files of
processes that are gone when it starts.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Min
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from mamori.core.actor import client_ip
from mamori.core.door import json_error

REQUESTS = Counter(
    "mamori_http_requests",
    "HTTP requests answered, by URL pattern, method and status.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "mamori_http_request_duration_seconds",
    "Time to answer an HTTP request, by URL pattern.",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
AMAPI_CALLS = Counter(
    "mamori_amapi_calls",
    "Calls to Google's Android Management API, by method and outcome (ok or the google.rpc code).",
    ["method", "status"],
)
PUBSUB_MESSAGES = Counter(
    "mamori_pubsub_messages",
    "Pub/Sub notifications the apply worker decided, by notification type and outcome.",
    ["type", "outcome"],
)
logger = logging.getLogger("mamori.metrics")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class DatabaseCollector(Collector):
    """The gauges read from the database at each scrape (see the module)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The gauges; none when the database cannot be read (the counters are still served,
        and ``/readyz`` says what is wrong)."""
        from mamori.core.models import Work

        try:
            due = Work.objects.filter(status="pending", next_attempt_at__lte=timezone.now())
            pending = due.count()
            oldest = due.aggregate(at=Min("next_attempt_at"))["at"]
            mail = Work.objects.filter(kind="mail.deliver", status__in=["pending", "running"])
            outbox = mail.count()
        except DatabaseError as exc:  # a line, not a traceback at every scrape of an outage
            logger.warning("Metrics: the database could not be read: %s", exc)
            return
        yield GaugeMetricFamily(
            "mamori_work_pending", "Durable work due and not yet taken by a worker.", pending
        )
        yield GaugeMetricFamily(
            "mamori_work_oldest_pending_seconds",
            "How long the oldest durable work due has waited for a worker (0: none).",
            (timezone.now() - oldest).total_seconds() if oldest else 0.0,
        )
        yield GaugeMetricFamily(
            "mamori_outbox_pending", "Mail waiting in the outbox (pending or being sent).", outbox
        )


def _allowed(request: HttpRequest) -> bool:
    address = client_ip(request)
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net) for net in settings.MAMORI_METRICS_ALLOW)


def metrics_view(request: HttpRequest) -> HttpResponseBase:
    """``GET /metrics``: the Prometheus text format; 403 (JSON) from an address outside
    ``MAMORI_METRICS_ALLOW``, 405 for another method."""
    if request.method not in ("GET", "HEAD"):
        refused = json_error(405, "method_not_allowed", "Method not allowed.")
        refused["Allow"] = "GET, HEAD"
        return refused
    if not _allowed(request):
        return json_error(403, "forbidden", "Metrics are not served to this address.")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    body = generate_latest(registry)
    extra = CollectorRegistry()
    extra.register(DatabaseCollector())
    body += generate_latest(extra)
    response = HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


class MetricsMiddleware:
    """Count and time every request (the outermost middleware, so the door's and the panel's
    alike). The route is the resolved URL pattern, or ``unmatched``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = (match.route or match.view_name) if match is not None else "unmatched"
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(route, method, str(response.status_code)).inc()
        LATENCY.labels(route).observe(time.perf_counter() - started)
        return response


def stale_files_remove(directory: str) -> int:
    """Remove the multiprocess files of processes that no longer run (their pid ends the file
    name: ``counter_1234.db``); returns how many. Counters of those processes are lost, which
    Prometheus reads as a counter reset."""
    removed = 0
    for path in Path(directory).glob("*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
            removed += 1
        except PermissionError:
            pass  # another user's live process
    return removed
