"""``mamori serve`` (issue 11): the production server refuses debug and a bad address, serves
the application with several processes whose metrics add up, and on SIGTERM lets a request in flight finish before it
stops."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from tests.android.push_receiver import wait_until
from tests.smtp import free_port
from tests.test_deploy_settings import PRODUCTION

MAMORI = str(Path(sys.executable).parent / "mamori")
ROOT = Path(__file__).resolve().parent.parent


def environment(tmp_path: Path, **variables: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "MAMORI_ENV_FILE": "",
        "MAMORI_VAR_DIR": str(tmp_path / "var"),
        "MAMORI_BASE_URL": "http://127.0.0.1:8000",
        **{k: v for k, v in PRODUCTION.items() if k != "MAMORI_BASE_URL"},
        **variables,
    }


def run(tmp_path: Path, *args: str, **variables: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "var").mkdir(exist_ok=True)  # the system checks open the SQLite file
    return subprocess.run(
        [MAMORI, "serve", *args],
        cwd=tmp_path,
        env=environment(tmp_path, **variables),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serve_refuses_debug_and_a_bad_address_or_count(tmp_path: Path) -> None:
    debug = run(tmp_path, MAMORI_DEBUG="1")
    assert debug.returncode == 1
    assert "MAMORI_DEBUG is on: `mamori serve` is the production server" in debug.stderr
    address = run(tmp_path, "--bind", "8000")
    assert address.returncode == 1
    assert "--bind '8000' is not host:port (e.g. 127.0.0.1:8000)." in address.stderr
    workers = run(tmp_path, "--workers", "0")
    assert workers.returncode == 1
    assert "--workers must be at least 1." in workers.stderr


def test_serve_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    env = environment(tmp_path)
    del env["MAMORI_SECRET_KEY"]
    result = subprocess.run(
        [MAMORI, "serve"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "MAMORI_SECRET_KEY is not set" in result.stderr


def test_serve_refuses_to_start_without_the_audit_key(tmp_path: Path) -> None:
    # Every logged change (a login among them) would fail with a 500 while /readyz said ok.
    result = run(tmp_path, MAMORI_AUDIT_KEY="")
    assert result.returncode == 1
    assert "audit.E002" in result.stderr
    assert "MAMORI_AUDIT_KEY (or MAMORI_AUDIT_KEY_FILE) is not set" in result.stderr


def get(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback http
        return response.status, json.loads(response.read())


def test_serve_answers_and_lets_a_request_in_flight_finish_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "var").mkdir()
    port = free_port()
    server = subprocess.Popen(
        [MAMORI, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "2"],
        cwd=tmp_path,
        env=environment(
            tmp_path,
            DJANGO_SETTINGS_MODULE="tests.serve_settings",
            PYTHONPATH=str(ROOT),
            MAMORI_LOG_FORMAT="json",
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its workers too are killed if the test fails midway
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            try:
                return get(f"{base}/healthz") == (200, {"ok": True})
            except OSError:
                return False

        wait_until(up, timeout=30)
        # Four requests at once: each process takes two (as many as its threads), so both
        # answer, and /metrics adds up what both counted.
        at_once = [threading.Thread(target=get, args=(f"{base}/slow",)) for _ in range(4)]
        for thread in at_once:
            thread.start()
        for thread in at_once:
            thread.join(timeout=20)
        with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:  # noqa: S310
            text = response.read().decode()
        assert 'mamori_http_requests_total{method="GET",route="slow",status="200"} 4.0' in text
        answers: list[tuple[int, dict]] = []
        slow = threading.Thread(target=lambda: answers.append(get(f"{base}/slow")))
        slow.start()
        time.sleep(0.5)  # the request is in flight
        server.send_signal(signal.SIGTERM)
        slow.join(timeout=10)
        assert answers == [(200, {"slow": "done"})]
        assert server.wait(timeout=15) == 0
    finally:
        if server.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
    output = server.stdout.read() if server.stdout else ""
    assert f"Mamori at http://127.0.0.1:{port}/ (2 processes × 2 threads)" in output
    assert "Traceback" not in output
    # With MAMORI_LOG_FORMAT=json every line but the command's own first one is JSON, granian's
    # (start, workers, shutdown) included.
    first, *rest = output.splitlines()
    assert first.startswith("Mamori at ")
    lines = [json.loads(line) for line in rest if line.strip()]
    assert {line.get("logger") for line in lines} >= {"_granian"}
