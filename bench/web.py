"""The panel as a real server in a subprocess, and a logged-in client with no extra dependencies."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from bench import database

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``mamori runserver`` with DEBUG off, on the bench database.

    ``--nothreading``: the threaded runserver starts a thread per request, and Django's
    connections are per thread, so every request would open a new PostgreSQL connection
    (PERFORMANCE.md: ~9 ms of CPU, "the most common mistake"). One thread keeps one persistent
    connection (CONN_MAX_AGE=60), like a sync gunicorn worker; the client is sequential anyway.
    """

    def __init__(self, database_url: str, env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.output = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)
        self.process: subprocess.Popen[bytes] | None = None
        self.skip_checks = env is not None
        database.bench_environment()  # the secret key, when django_setup has not run
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "MAMORI_DEBUG": "0",
            "MAMORI_LOG_LEVEL": "WARNING",
            **(env or {}),
        }

    def __enter__(self) -> Server:
        mamori = Path(sys.executable).with_name("mamori")
        # Migrate with the code the server is about to load, which may be newer than this
        # process's (the project is worked on while a long benchmark runs).
        subprocess.run(
            [
                str(mamori),
                "migrate",
                "--noinput",
                "-v",
                "0",
                *(["--skip-checks"] if self.skip_checks else []),
            ],
            cwd=PROJECT_ROOT,
            env=self.env,
            check=True,
        )
        self.process = subprocess.Popen(
            [
                str(mamori),
                "runserver",
                "--noreload",
                "--nothreading",
                # The floor's URLconf (bench.floor) puts views below <slug:domain>/ that the
                # top-level path check would refuse; the product's own checks run in make lint.
                *(["--skip-checks"] if self.skip_checks else []),
                f"127.0.0.1:{self.port}",
            ],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdout=self.output,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log_tail()}")
            try:
                urllib.request.urlopen(f"{self.base}/login/", timeout=2).read()
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        raise RuntimeError(f"the server did not answer within {timeout} s:\n{self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log_tail(self, size: int = 4000) -> str:
        self.output.seek(0)
        return self.output.read().decode(errors="replace")[-size:]

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:  # the server's traceback says more than the client's error
            print(f"--- the server's output ---\n{self.log_tail()}", file=sys.stderr)
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output.close()


class Client:
    """A browser's minimum: a cookie jar, the login form with its CSRF token, GETs."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def login(self, domain: str, account: str, password: str) -> None:
        page = self.get(f"/{domain}/login/").decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if token is None:
            raise RuntimeError("no CSRF token on the login page")
        form = urllib.parse.urlencode(
            {
                "csrfmiddlewaretoken": token.group(1),
                "account": account,
                "password": password,
            }
        ).encode()
        with self.opener.open(f"{self.base}/{domain}/login/", data=form, timeout=30) as response:
            landed = response.geturl()
            response.read()
        if landed.rstrip("/").endswith("/login"):
            raise RuntimeError(f"login as {account!r} to {domain!r} failed")

    def get(self, path: str, params: dict[str, str] | None = None) -> bytes:
        """The whole body, streamed to the end; a non-2xx answer raises."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with self.opener.open(f"{self.base}{path}{query}", timeout=120) as response:
            return response.read()
