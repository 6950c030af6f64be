"""How much CPU other people's processes took while a case ran.

The benchmark shares 2 cores with whatever else runs on the machine (test suites, other
servers); a figure measured while they ran is not comparable. Each case records the CPU time of
every process except ours: this process, the panel server, and PostgreSQL (whose backends
serve us; another client's backend is missed, which errs on the side of a quiet verdict),
plus the CPU time the hypervisor stole for other virtual machines.
"""

from __future__ import annotations

import os
import pwd
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _postgres_uid() -> int | None:
    try:
        return pwd.getpwnam("postgres").pw_uid
    except KeyError:
        return None


def _cpu_ticks(excluded: set[int], excluded_uid: int | None) -> dict[int, int]:
    """CPU ticks (user + system) so far of every process but the excluded ones."""
    ticks = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) in excluded:
            continue
        try:
            if excluded_uid is not None and entry.stat().st_uid == excluded_uid:
                continue
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # the process ended meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()  # the name may hold spaces
        ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    return ticks


def _steal_ticks() -> int:
    """CPU time the hypervisor gave to other guests while we wanted it (/proc/stat "steal")."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    return int(fields[8]) if len(fields) > 8 else 0


class OtherLoad:
    """``with OtherLoad(server_pid) as load: ...``; then ``load.share`` of all cores."""

    def __init__(self, *pids: int) -> None:
        self.excluded = {os.getpid(), *pids}
        self.uid = _postgres_uid()
        self.share = 0.0

    def __enter__(self) -> OtherLoad:
        self.ticks = _cpu_ticks(self.excluded, self.uid)
        self.steal = _steal_ticks()
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        # Per process, so one that ended meanwhile does not count negative; its work is missed.
        after = _cpu_ticks(self.excluded, self.uid)
        ticks = sum(t - self.ticks.get(pid, 0) for pid, t in after.items())
        used = (ticks + _steal_ticks() - self.steal) / TICKS
        elapsed = time.monotonic() - self.started
        self.share = used / max(elapsed, 1e-9) / len(os.sched_getaffinity(0))
