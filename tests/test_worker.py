"""``mamori worker`` as separate processes against the test database: killed mid-task (the work
is done once by another worker), stopped with SIGTERM (the current task finishes), and cut off
from its database (it waits, and works again when the database is back).

Workers here use short leases (3 s, renewed every second; recovery every second) so that the
suite stays fast; with the defaults (30 s, 10 s, 15 s) the same recovery takes under a minute.
Set MAMORI_WORKER_TESTS_DEFAULT_TIMINGS=1 to run these tests with the defaults.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from mamori.accounts.models import Account
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from mamori.core.models import Work
from mamori.directory.models import User
from mamori.outbox.models import OutboundMail
from mamori.outbox.services import mail_queue
from mamori.users_csv import services as services_csv
from mamori.users_csv.models import UserImport
from tests.conftest import open_contract
from tests.private_database import private_database
from tests.smtp import SmtpServer
from tests.test_contracts import CREATE

ROOT_DIR = Path(__file__).resolve().parent.parent
FAST = {
    "MAMORI_WORK_LEASE_SECONDS": "2",
    "MAMORI_WORK_RENEW_SECONDS": "0.5",
    "MAMORI_WORK_RECOVER_EVERY_SECONDS": "1",
    "MAMORI_WORK_LOST_AFTER_SECONDS": "5",
}
RECOVERY_LIMIT = 60  # seconds: "done by another worker within a minute"


def test_database_url() -> str:
    """The URL of the test database, for a worker in another process."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    password = f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else ""
    return f"postgres://{quote(s['USER'])}{password}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


test_database_url.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def worker_env(tmp_path: Path, *, database_url: str, email_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mamori.settings",
        "DATABASE_URL": database_url,
        "EMAIL_URL": email_url,
        "MAMORI_VAR_DIR": str(tmp_path / "var"),
        "MAMORI_SECRET_KEY": "worker-tests",
        "MAMORI_MAIL_RETRY_BASE_SECONDS": "1",
        "MAMORI_LOG_LEVEL": "INFO",
    }
    if not os.environ.get("MAMORI_WORKER_TESTS_DEFAULT_TIMINGS"):
        env.update(FAST)
    return env


class WorkerProcess:
    """A ``mamori worker`` (or ``tests.slow_worker``) process, its output in ``log``."""

    def __init__(self, env: dict[str, str], log: Path, *, slow: bool = False) -> None:
        module = ["tests.slow_worker"] if slow else ["mamori.cli", "worker"]
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", *module, "--interval", "0.2", "--no-startup-delay"],
                env=env,
                cwd=ROOT_DIR,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; returns its exit code."""
        self.process.terminate()
        return self.process.wait(30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def workers() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    try:
        yield started
    finally:
        for worker in started:
            if worker.alive:
                worker.kill()


def wait_until(condition: Callable[[], object], timeout: float = RECOVERY_LIMIT) -> float:
    """Poll until ``condition()`` is true; returns the seconds it took (fails after timeout)."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"not within {timeout} s"
        time.sleep(0.1)
    return time.monotonic() - started


# Killed mid-task ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_mail_in_flight_when_its_worker_is_killed_is_sent_once_by_another_worker(
    tmp_path: Path,
) -> None:
    server = SmtpServer().start()
    server.collector.stall()  # the server answers nothing: the worker hangs at EHLO
    env = worker_env(
        tmp_path, database_url=test_database_url(), email_url=f"smtp://127.0.0.1:{server.port}"
    )
    mail = mail_queue(
        contract=None, kind="test", to="someone@example.com", subject="Hello", body="secret 42"
    )
    try:
        with workers() as started:
            started.append(WorkerProcess(env, tmp_path / "first.log"))
            assert server.collector.stalling.wait(30)
            assert Work.objects.values_list("status", "attempts").get(pk=mail.work_id) == (
                "running",
                1,
            )
            started[0].kill()
            server.collector.unstall()

            started.append(WorkerProcess(env, tmp_path / "second.log"))
            took = wait_until(lambda: len(server.messages) >= 1)
            time.sleep(2)  # a second copy would arrive meanwhile
            assert started[1].stop() == 0
    finally:
        server.stop()

    assert took < RECOVERY_LIMIT
    assert [m["To"] for m in server.messages] == ["someone@example.com"]
    mail.refresh_from_db()
    assert (mail.status, mail.attempts, mail.body) == ("sent", 2, "")


@pytest.mark.django_db(transaction=True)
def test_an_import_killed_mid_check_and_mid_run_is_finished_once_by_other_workers(
    tmp_path: Path,
) -> None:
    admin = open_contract("alpha", "アルファ株式会社", language="en")
    env = worker_env(
        tmp_path, database_url=test_database_url(), email_url=f"file://{tmp_path / 'mail'}"
    )
    env["MAMORI_TEST_ROW_SECONDS"] = "1"
    rows = "".join(f"アルファ株式会社,社員 {n},,E{n},e{n}@alpha.example:main\n" for n in range(5))
    text = "organization,name,furigana,employee_code,emails\n" + rows
    actor = Actor(account=admin)
    user_import = services_csv.user_import_start(
        actor=actor,
        contract=admin.contract,
        filename="users.csv",
        file=io.BytesIO(text.encode()),
        mode="add",
    )

    def status() -> str:
        return UserImport.objects.values_list("status", flat=True).get(pk=user_import.pk)

    def killed_mid_step(kind: str, done: str) -> tuple[float, Work]:
        marker = tmp_path / f"{kind}.began"
        with workers() as started:
            started.append(
                WorkerProcess(
                    {**env, "MAMORI_TEST_MARKER": str(marker)}, tmp_path / "slow.log", slow=True
                )
            )
            wait_until(marker.exists, timeout=30)
            started[0].kill()
            assert status() != done
            started.append(WorkerProcess(env, tmp_path / "other.log"))
            took = wait_until(lambda: status() == done)
            assert started[1].stop() == 0
        return took, Work.objects.get(kind=kind)

    check_took, check = killed_mid_step(services_csv.CHECK, "ready")
    services_csv.user_import_apply(
        actor=actor, user_import=UserImport.objects.get(pk=user_import.pk)
    )
    run_took, run = killed_mid_step(services_csv.RUN, "done")

    assert check_took < RECOVERY_LIMIT and run_took < RECOVERY_LIMIT
    assert (check.status, check.attempts, run.status, run.attempts) == ("done", 2, "done", 2)
    assert sorted(User.objects.filter(name__startswith="社員").values_list("name", flat=True)) == [
        f"社員 {n}" for n in range(5)
    ]
    assert LogEntry.objects.filter(action="user.imported").count() == 1
    assert UserImport.objects.get(pk=user_import.pk).summary["result"]["created"] == 5
    assert Account.objects.filter(contract=admin.contract).count() == 1


# Stopped ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_sigterm_lets_the_current_task_finish_and_then_stops_the_worker(tmp_path: Path) -> None:
    server = SmtpServer().start()
    server.collector.stall()
    env = worker_env(
        tmp_path, database_url=test_database_url(), email_url=f"smtp://127.0.0.1:{server.port}"
    )
    mail = mail_queue(contract=None, kind="test", to="someone@example.com", subject="Hi", body="b")
    try:
        with workers() as started:
            worker = WorkerProcess(env, tmp_path / "worker.log")
            started.append(worker)
            assert server.collector.stalling.wait(30)
            worker.process.terminate()
            time.sleep(1)
            assert worker.alive  # still delivering
            server.collector.unstall()
            assert worker.process.wait(30) == 0
    finally:
        server.stop()

    assert len(server.messages) == 1
    assert OutboundMail.objects.get(pk=mail.pk).status == "sent"
    assert "stopping after the current task" in worker.output()


# A database outage --------------------------------------------------------------------------


def mamori(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "mamori.cli", *args],
        env=env,
        cwd=ROOT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_worker_survives_a_database_outage_and_does_the_work_submitted_after_it(
    tmp_path: Path,
) -> None:
    database = private_database(connection.vendor)  # the suite's kind of database
    server = SmtpServer().start()
    env = worker_env(
        tmp_path, database_url=database.url, email_url=f"smtp://127.0.0.1:{server.port}"
    )
    try:
        database.create()
        mamori(env, "migrate", "--noinput")
        with workers() as started:
            worker = WorkerProcess(env, tmp_path / "worker.log")
            started.append(worker)
            mamori(env, *CREATE)
            wait_until(lambda: len(server.messages) == 1, timeout=30)

            database.stop()
            wait_until(lambda: "database unavailable" in worker.output(), timeout=30)
            time.sleep(2.5)  # a few of its tries fail meanwhile (1 s, then 2 s apart)
            assert worker.alive
            database.start()

            mamori(env, "contract", "resend-registration", "acme")  # submitted after the return
            wait_until(lambda: len(server.messages) == 2)
            assert worker.alive
            assert worker.stop() == 0
    finally:
        server.stop()
        database.remove()

    output = worker.output()
    assert output.count("database unavailable") == 1  # once per outage, not once per try
    assert output.count("database available again") == 1
    assert [m["To"] for m in server.messages] == ["yamada@acme.example"] * 2
