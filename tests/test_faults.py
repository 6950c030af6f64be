"""Faults a production deployment survives (issue 11), with ``mamori serve`` in front of a
database of the test's own (``tests.private_database``: a PostgreSQL cluster started with
``pg_ctl`` on a free port on the PostgreSQL run, an SQLite file moved away on the SQLite run).

- The database restarted (PostgreSQL's fast mode) under a stream of requests: each request
  during the outage is answered 503 (never a 500) within 5 s, and every request after it
  succeeds without restarting Mamori (persistent connections are health-checked before reuse).
- One of two ``mamori serve`` processes behind nginx (the repository's
  ``deploy/nginx/mamori.conf``) killed with SIGKILL during a stream of API writes: every
  request answered 2xx is stored, once; the few in flight get a clean 502 and, retried, are
  done or refused as done already; nginx sends the rest to the other process.

A worker killed mid-task and the database going away under the worker are in
``tests/test_worker.py``; the SMTP server down, in ``tests/test_mail.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from bench.nginx import nginx_start
from tests.android.push_receiver import wait_until
from tests.private_database import private_database
from tests.smtp import free_port
from tests.test_contracts import CREATE
from tests.test_deploy_settings import PRODUCTION
from tests.test_worker import mamori

MAMORI = str(Path(sys.executable).parent / "mamori")
ROOT = Path(__file__).resolve().parent.parent
ANSWER_LIMIT = 5.0  # seconds: an outage is a quick 503, not a hang


def production_env(tmp_path: Path, database: object) -> dict[str, str]:
    """The environment of ``mamori`` processes in production mode on ``database``."""
    return {
        "PATH": "/usr/bin:/bin",
        "MAMORI_ENV_FILE": "",
        "MAMORI_VAR_DIR": str(tmp_path / "var"),
        **PRODUCTION,
        "MAMORI_BASE_URL": "http://127.0.0.1:8000",
        "MAMORI_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database.url,  # type: ignore[attr-defined]
        "MAMORI_LOG_LEVEL": "WARNING",
    }


def serve(env: dict[str, str], tmp_path: Path, port: int) -> subprocess.Popen:
    """``mamori serve`` on ``port`` (1 process of 4 threads) in a process group of its own,
    its output in ``serve-<port>.log``."""
    return subprocess.Popen(
        [MAMORI, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / f"serve-{port}.log", "wb"),
        start_new_session=True,
    )


def run_python(env: dict[str, str], code: str) -> str:
    env = {**env, "DJANGO_SETTINGS_MODULE": "mamori.settings"}
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


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
    env = production_env(tmp_path, database)
    port = free_port()
    server = None
    try:
        database.create()
        mamori(env, "migrate", "--noinput")
        mamori(env, *CREATE)
        server = serve(env, tmp_path, port)
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
    assert statuses == {200, 503}, (statuses, (tmp_path / f"serve-{port}.log").read_text()[-3000:])
    slowest = max(took for _, _, took in answers)
    assert slowest < ANSWER_LIMIT
    after = [status for began, status, _ in answers if began > back]
    assert after and set(after) == {200}
    log = (tmp_path / f"serve-{port}.log").read_text()
    assert "Internal Server Error" not in log


SETUP = r"""
import django; django.setup()
from mamori.accounts.models import Account
from mamori.accounts.services.tokens import api_token_create
from mamori.core.actor import Actor
from mamori.directory.models import Organization
admin = Account.objects.get(contract__domain="acme")
admin.must_change_password = False
admin.save()
_, raw = api_token_create(actor=Actor.operator(), account=admin, name="faults", expires_in_days=1)
root = Organization.objects.get(contract=admin.contract, parent=None)
print(raw, root.pk)
"""
NAMES = r"""
import django, json; django.setup()
from mamori.directory.models import Organization
print(json.dumps(list(Organization.objects.filter(name__startswith="部署 ").values_list("name", flat=True))))
"""


def post_json(url: str, token: str, body: dict[str, object]) -> int:
    request = urllib.request.Request(  # noqa: S310 - a loopback http URL
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 599


@pytest.mark.django_db
def test_a_web_process_killed_behind_nginx_loses_no_answered_request(tmp_path: Path) -> None:
    database = private_database(connection.vendor)
    env = production_env(tmp_path, database)
    ports = (free_port(), free_port())
    front = free_port()
    servers: list[subprocess.Popen] = []
    proxy = None
    try:
        database.create()
        mamori(env, "migrate", "--noinput")
        mamori(env, *CREATE)
        token, root = run_python(env, SETUP).split()
        for port in ports:
            servers.append(serve(env, tmp_path, port))
        proxy = nginx_start(tmp_path / "nginx", front, ports)
        base = f"http://127.0.0.1:{front}"
        wait_until(lambda: status_of(f"{base}/readyz")[0] == 200, timeout=30)
        for port in ports:
            wait_until(lambda port=port: status_of(f"http://127.0.0.1:{port}/readyz")[0] == 200)

        sent: list[tuple[str, int, float]] = []  # (name, status, when)
        stop = threading.Event()
        counter = iter(range(100_000))

        def stream() -> None:
            while not stop.is_set():
                name = f"部署 {next(counter)}"
                status = post_json(f"{base}/api/v1/organizations", token,
                                   {"parent_id": int(root), "name": name})  # fmt: skip
                sent.append((name, status, time.monotonic()))

        clients = [threading.Thread(target=stream) for _ in range(4)]
        for client in clients:
            client.start()
        time.sleep(1.5)
        os.killpg(servers[0].pid, signal.SIGKILL)  # granian's main process and its worker
        killed = time.monotonic()
        time.sleep(3)
        stop.set()
        for client in clients:
            client.join(timeout=60)
        answered = {name for name, status, _ in sent if status == 201}
        failed = [name for name, status, _ in sent if status != 201]
        retried = {name: post_json(f"{base}/api/v1/organizations", token,
                                   {"parent_id": int(root), "name": name}) for name in failed}  # fmt: skip
        stored = json.loads(run_python(env, NAMES))
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait(timeout=30)
        for server in servers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        database.remove()

    statuses = {status for _, status, _ in sent}
    assert statuses <= {201, 502}, statuses  # a clean failure, never a 500
    assert answered <= set(stored)  # every request answered 2xx was stored
    assert len(stored) == len(set(stored))  # and once
    # A failure is retried: done now, or refused as done already (it was stored before the
    # process died): either way, nothing twice and nothing lost.
    assert set(retried.values()) <= {201, 422}
    assert set(stored) == answered | set(failed)
    after = [status for _, status, when in sent if when > killed + 1]
    assert after and set(after) == {201}  # nginx routes around the dead process
