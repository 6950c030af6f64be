"""A database of its own that a test may stop, start and restart (issue 11's fault tests, the
worker's outage test): a PostgreSQL cluster made by ``initdb`` in a temporary directory and run
by ``pg_ctl`` on a free port — never the machine's shared server — or an SQLite file moved away.

Also a streaming replica of such a cluster (``pg_basebackup``), for the read-replica tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.smtp import free_port


class PrivateDatabase:
    """A database of its own that a test may stop and start: a PostgreSQL cluster (``pg_ctl``)
    on a free port, or an SQLite file that is moved away (a directory takes its place)."""

    def __init__(self, vendor: str, directory: Path) -> None:
        self.vendor, self.directory = vendor, directory
        self.port = free_port()
        self.path = directory / "mamori.sqlite3"
        self.data = directory / "pgdata"

    @property
    def url(self) -> str:
        if self.vendor == "sqlite":
            return f"sqlite:///{self.path}"
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def create(self) -> None:
        if self.vendor == "postgresql":
            _as_postgres(_pg("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust")
            self.start()

    def start(self) -> None:
        if self.vendor == "sqlite":
            self.path.rmdir()
            # A worker may have made an empty file there meanwhile: the real one replaces it.
            self.path.with_suffix(".away").rename(self.path)
            return
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off"
        _as_postgres(
            _pg("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.data / "log"),
            "-w",
            "-o",
            options,
            "start",
        )

    def stop(self) -> None:
        if self.vendor == "sqlite":
            # A directory in the file's place: SQLite cannot open it ("unable to open").
            gone = self.path.with_suffix(".gone")
            gone.mkdir()
            self.path.rename(self.path.with_suffix(".away"))
            while True:
                try:
                    gone.rename(self.path)
                    return
                except NotADirectoryError:  # a worker made an empty file there meanwhile
                    self.path.unlink(missing_ok=True)
        _as_postgres(_pg("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        """PostgreSQL's ``pg_ctl restart -m fast`` (connections are cut, the server is back when
        it returns); for SQLite, ``stop`` then ``start``."""
        if self.vendor == "sqlite":
            self.stop()
            self.start()
            return
        _as_postgres(_pg("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.start()

    def standby(self) -> PrivateDatabase:
        """A streaming replica of this running PostgreSQL cluster (``pg_basebackup -R``, so it
        starts as a hot standby following it), started on a port of its own."""
        replica = private_database("postgresql")
        _as_postgres(
            _pg("pg_basebackup"),
            "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            "-D", str(replica.data), "-R", "-X", "stream", "--no-sync",
        )  # fmt: skip
        replica.start()
        return replica

    def remove(self) -> None:
        if self.vendor == "postgresql" and (self.data / "postmaster.pid").exists():
            _as_postgres(_pg("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.directory, ignore_errors=True)


def _pg(program: str) -> str:
    found = shutil.which(program)
    if found:
        return found
    bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
    return str(Path(bindir.stdout.strip()) / program)


def _as_postgres(*command: str) -> None:
    # initdb and postgres refuse to run as root.
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run([*prefix, *command], check=True, capture_output=True, timeout=120)


def private_database(vendor: str) -> PrivateDatabase:
    """A ``PrivateDatabase`` of ``vendor`` (``"postgresql"`` or ``"sqlite"``) in a new directory
    under the system's temporary one (which the ``postgres`` user can reach when tests run as
    root); ``create()`` it, and ``remove()`` it when done."""
    directory = Path(tempfile.mkdtemp(prefix="mamori-private-db-"))
    if vendor == "postgresql" and os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    return PrivateDatabase(vendor, directory)
