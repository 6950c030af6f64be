"""``/metrics`` (issue 11): Prometheus's text format for the allowed addresses alone, requests
counted by URL pattern (never by path: the Pub/Sub push's secret is in its path), the durable
work and the outbox read from the database at each scrape."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client import REGISTRY

from mamori.core.models import Work
from tests.test_door import refused_database
from tests.test_settings import KEY, assert_refused, start


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client: Client | None = None, **extra: str) -> str:
    response = (client or Client()).get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    assert response["Cache-Control"] == "no-store"
    return response.content.decode()


def test_requests_are_counted_and_timed_by_url_pattern(db: None, settings) -> None:
    settings.MAMORI_PUBSUB_PUSH_SECRET = "a-push-secret-never-in-metrics-0123456789"
    labels = {"route": "healthz", "method": "GET", "status": "200"}
    before = sample("mamori_http_requests_total", **labels)
    timed = sample("mamori_http_request_duration_seconds_count", route="healthz")
    for _ in range(3):
        Client().get("/healthz")
    Client().post("/pubsub/amapi/a-push-secret-never-in-metrics-0123456789", b"{}",
                  content_type="application/json")  # fmt: skip
    Client().get("/no-such-page-at-all/x/y/")
    assert sample("mamori_http_requests_total", **labels) == before + 3
    assert sample("mamori_http_request_duration_seconds_count", route="healthz") == timed + 3
    text = scrape()
    assert 'mamori_http_requests_total{method="GET",route="healthz",status="200"}' in text
    assert 'route="pubsub/amapi/<str:secret>"' in text
    assert "a-push-secret-never-in-metrics" not in text
    assert "no-such-page-at-all" not in text


def test_the_work_queue_and_the_outbox_are_read_from_the_database(db: None) -> None:
    now = timezone.now()
    Work.objects.create(kind="mail.deliver", next_attempt_at=now - timezone.timedelta(seconds=90))
    Work.objects.create(
        kind="users_csv.import", next_attempt_at=now - timezone.timedelta(seconds=5)
    )
    Work.objects.create(kind="later", next_attempt_at=now + timezone.timedelta(hours=1))
    Work.objects.create(kind="mail.deliver", status="done")
    lines = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in scrape().splitlines()
        if line.startswith(("mamori_work_", "mamori_outbox_"))
    }
    assert lines["mamori_work_pending"] == 2
    assert 90 <= lines["mamori_work_oldest_pending_seconds"] < 120
    assert lines["mamori_outbox_pending"] == 1


def test_metrics_are_refused_outside_the_allowed_addresses(db: None, settings) -> None:
    refused = Client().get("/metrics", REMOTE_ADDR="10.1.2.3")
    assert refused.status_code == 403
    assert json.loads(refused.content) == {
        "error": {"code": "forbidden", "message": "Metrics are not served to this address."}
    }
    settings.MAMORI_METRICS_ALLOW = ["10.0.0.0/8"]
    assert "mamori_work_pending" in scrape(REMOTE_ADDR="10.1.2.3")
    assert Client().get("/metrics").status_code == 403  # 127.0.0.1 is no longer listed
    posted = Client().post("/metrics", REMOTE_ADDR="10.1.2.3")
    assert posted.status_code == 405
    assert posted["Allow"] == "GET, HEAD"


def test_a_metrics_address_that_is_not_one_stops_the_start(tmp_path) -> None:
    result = start(tmp_path, MAMORI_SECRET_KEY=KEY, MAMORI_METRICS_ALLOW="10.0.0.0/8,localhost")
    assert_refused(
        result, "MAMORI_METRICS_ALLOW: 'localhost' is not an address or network (10.0.0.0/8)."
    )


@pytest.mark.parametrize("header", ["1.2.3.4", "127.0.0.1"])
def test_a_forwarded_address_is_believed_only_behind_a_trusted_proxy(
    db: None, settings, header: str
) -> None:
    # Without a trusted proxy, X-Forwarded-For is whatever the client wrote: ignored.
    assert Client().get("/metrics", HTTP_X_FORWARDED_FOR=header).status_code == 200
    settings.MAMORI_TRUSTED_PROXIES = 1
    status = Client().get("/metrics", HTTP_X_FORWARDED_FOR=header).status_code
    assert status == (200 if header == "127.0.0.1" else 403)


def test_without_the_database_the_counters_are_still_served(db: None, caplog) -> None:
    Client().get("/healthz")
    with refused_database():
        text = scrape()
    assert "mamori_http_requests_total" in text
    assert "mamori_work_pending" not in text
    assert "Metrics: the database could not be read: connection to server failed" in caplog.text
