"""Make a read cold: PostgreSQL's buffers and the kernel's page cache emptied of the database.

For ``python -m bench --cold PGDATA``: the benchmark's database on a PostgreSQL cluster of its
own (``initdb``/``pg_ctl`` in a directory, never the machine's shared server, which must not be
restarted). ``make_cold`` checkpoints, restarts the cluster (its shared buffers are gone) and
drops the cluster's files from the page cache: all of the kernel's clean pages
(``/proc/sys/vm/drop_caches``) where that is writable (root on the machine), otherwise
``posix_fadvise(POSIX_FADV_DONTNEED)`` on every file of the data directory (clean pages only:
hence the checkpoint first).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import psycopg


def _pg_ctl() -> str:
    found = shutil.which("pg_ctl")
    if found:
        return found
    bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
    return str(Path(bindir.stdout.strip()) / "pg_ctl")


def _as_owner(data: Path, *command: str) -> None:
    # pg_ctl refuses root: run it as the data directory's owner.
    prefix = []
    if os.geteuid() == 0:
        import pwd

        prefix = ["runuser", "-u", pwd.getpwuid(data.stat().st_uid).pw_name, "--"]
    # No pipes: the server pg_ctl starts would hold them open, and run() would wait for ever.
    subprocess.run(
        [*prefix, *command],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=300,
    )


def _page_cache_drop(data: Path) -> str:
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
        return "drop_caches"
    except OSError:
        pass
    for path in data.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
    return "fadvise"


def make_cold(url: str, data: Path) -> str:
    """Checkpoint, restart the cluster in ``data`` (``pg_ctl restart -m fast``) and drop its
    files from the page cache; returns how the cache was dropped. The cluster must be the one
    ``url`` names (checked against its ``data_directory``; ``RuntimeError`` otherwise)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
        if row is None or Path(row[0]).resolve() != data.resolve():
            raise RuntimeError(f"--cold {data}: the database's cluster lives in {row and row[0]}")
        conn.execute("CHECKPOINT")
    log = data / "cold-restart.log"  # the server's output from now on
    _as_owner(data, _pg_ctl(), "-D", str(data), "-l", str(log), "-m", "fast", "-w", "restart")
    return _page_cache_drop(data)
