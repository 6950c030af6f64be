"""Faults a production deployment survives (issue 11), with ``mamori serve`` in front of a
database of the test's own (``tests.private_database``: a PostgreSQL cluster started with
``pg_ctl`` on a free port on the PostgreSQL run, an SQLite file moved away on the SQLite run).

- The database restarted (PostgreSQL's fast mode) under a stream of requests: each request
  during the outage is answered 503 (never a 500) within 5 s, and every request after it
  succeeds without restarting Mamori (persistent connections are health-checked before reuse).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from tests.android.push_receiver import wait_until
from tests.private_database import private_database
from tests.smtp import free_port
from tests.test_contracts import CREATE
from tests.test_deploy_settings import PRODUCTION
from tests.test_worker import mamori

MAMORI = str(Path(sys.executable).parent / "mamori")
ANSWER_LIMIT = 5.0  # seconds: an outage is a quick 503, not a hang


def status_of(url: str) -> tuple[int, float]:
    """The status of a GET of ``url`` and the seconds it took (599 when nothing answered)."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback http
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError:
        status = 599
    return status, time.monotonic() - started


@pytest.mark.django_db
def test_a_database_restart_under_load_is_503s_then_every_request_succeeds(
    tmp_path: Path,
) -> None:
    database = private_database(connection.vendor)
    env = {
        "PATH": "/usr/bin:/bin",
        "MAMORI_ENV_FILE": "",
        "MAMORI_VAR_DIR": str(tmp_path / "var"),
        **PRODUCTION,
        "MAMORI_BASE_URL": "http://127.0.0.1:8000",
        "MAMORI_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database.url,
        "MAMORI_LOG_LEVEL": "WARNING",
    }
    port = free_port()
    server = None
    try:
        database.create()
        mamori(env, "migrate", "--noinput")
        mamori(env, *CREATE)
        server = subprocess.Popen(
            [MAMORI, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / "serve.log", "wb"),  # noqa: SIM115 - the child keeps it
        )
        page = f"http://127.0.0.1:{port}/acme/login/"  # reads the contract: the database
        wait_until(lambda: status_of(page)[0] == 200, timeout=30)

        answers: list[tuple[float, int, float]] = []  # (started, status, seconds)
        stop = threading.Event()

        def stream() -> None:
            while not stop.is_set():
                began = time.monotonic()
                status, took = status_of(page)
                answers.append((began, status, took))

        clients = [threading.Thread(target=stream) for _ in range(3)]
        for client in clients:
            client.start()
        time.sleep(1)
        database.stop()
        time.sleep(3)
        database.start()
        back = time.monotonic()
        time.sleep(3)
        stop.set()
        for client in clients:
            client.join(timeout=60)
        assert server.poll() is None  # still the same process
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        database.remove()

    statuses = {status for _, status, _ in answers}
    assert statuses == {200, 503}, (statuses, (tmp_path / "serve.log").read_text()[-3000:])
    slowest = max(took for _, _, took in answers)
    assert slowest < ANSWER_LIMIT
    after = [status for began, status, _ in answers if began > back]
    assert after and set(after) == {200}
    log = (tmp_path / "serve.log").read_text()
    assert "Internal Server Error" not in log
