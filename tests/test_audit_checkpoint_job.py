"""Checkpoints as a periodic job, and their delivery to an operator's webhook (a real HTTP server)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mamori.audit.checkpoints import checkpoint_file_read
from mamori.audit.work import CHECKPOINT_JOB, WEBHOOK
from mamori.core.models import Work
from mamori.core.work import periodic_jobs
from tests.conftest import Cast, run_work, shared_cast

pytestmark = pytest.mark.django_db


class Collector(http.server.ThreadingHTTPServer):
    """A SIEM collector answering ``status`` to every POST and keeping the bodies."""

    def __init__(self) -> None:
        self.bodies: list[object] = []
        self.status = 204

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(handler) -> None:
                length = int(handler.headers["Content-Length"])
                self.bodies.append(json.loads(handler.rfile.read(length)))
                handler.send_response(self.status)
                handler.end_headers()

            def log_message(handler, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/checkpoints"


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def checkpoint_file(settings, tmp_path: Path) -> Path:
    settings.MAMORI_AUDIT_CHECKPOINT_FILE = str(tmp_path / "checkpoints.jsonl")
    return tmp_path / "checkpoints.jsonl"


def checkpoint_job_run() -> None:
    Work.objects.create(kind=CHECKPOINT_JOB, payload={"slot": "test"}, actor={"kind": "system"})
    assert run_work(CHECKPOINT_JOB) == ["done"]


def test_checkpoints_are_a_periodic_job_every_few_minutes() -> None:
    job = next(j for j in periodic_jobs() if j.name == CHECKPOINT_JOB)
    assert job.every.total_seconds() == 5 * 60


def test_the_job_writes_a_signed_checkpoint_of_each_chain_that_moved(
    cast: Cast, checkpoint_file: Path
) -> None:
    checkpoint_job_run()
    checkpoints, problems = checkpoint_file_read(checkpoint_file)
    assert problems == []
    assert {c.domain for c in checkpoints} == {"alpha", "bravo"}
    checkpoint_job_run()  # nothing moved since: nothing new
    assert len(checkpoint_file_read(checkpoint_file)[0]) == 2
    assert not Work.objects.filter(kind=WEBHOOK).exists()  # no webhook configured


def test_with_a_webhook_the_signed_lines_are_posted_once(
    cast: Cast, checkpoint_file: Path, collector: Collector, settings
) -> None:
    settings.MAMORI_AUDIT_CHECKPOINT_WEBHOOK = collector.url
    checkpoint_job_run()
    assert run_work(WEBHOOK) == ["done"]
    (posted,) = collector.bodies
    written = [json.loads(line) for line in checkpoint_file.read_text().splitlines()]
    assert posted == written  # the same signed records the file has


def test_a_collector_that_is_down_is_tried_again_and_one_that_refuses_fails_with_the_reason(
    cast: Cast, checkpoint_file: Path, collector: Collector, settings
) -> None:
    settings.MAMORI_AUDIT_CHECKPOINT_WEBHOOK = collector.url
    collector.status = 503
    checkpoint_job_run()
    assert run_work(WEBHOOK) == ["retry"]
    work = Work.objects.get(kind=WEBHOOK)
    assert (work.status, work.attempts) == ("pending", 1)
    collector.status = 404
    Work.objects.filter(pk=work.pk).update(next_attempt_at=work.created_at)
    assert run_work(WEBHOOK) == ["failed"]
    work.refresh_from_db()
    assert work.status == "failed"
    assert "404" in work.last_error


# Built once for the module (see conftest).
cast = shared_cast
