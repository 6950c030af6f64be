"""Operation-log retention: each contract may keep its log for a number of months only.

The setting (``LogChain.retention_months``, null: kept forever; ``LogChain.archive``) is changed
by ``log_settings_update`` (Settings → Operation log, ``PUT /api/v1/settings/log``). A daily job
(``log_retention_run``) removes, per contract with a retention, the entries older than the
**cutoff**: the start (00:00 UTC) of the month ``retention_months`` months before the current
month in UTC. Whole months go; at least ``retention_months`` whole months are kept, and the
current one.

How the chain stays verifiable: entries are removed from the oldest up, in batches, each batch
in one transaction that locks the contract's ``LogChain`` row (``FOR UPDATE``, as writers do),
deletes the batch and moves the kept start (``first_seq``: the oldest kept entry's number;
``first_prev_digest``: its link, the removed entry's digest). ``log_chain_verify`` walks from
there. A run killed between batches leaves a shorter prefix removed, and a chain that verifies;
the next run goes on. A part of the chain that does not verify (a break: tampering, a key no
longer configured) is never removed: the run stops before it and logs an error.

Archives: with ``archive`` on (the default), each month's entries are first written to
``MAMORI_AUDIT_ARCHIVE_DIR/<domain>/<YYYY-MM>.jsonl.gz``: gzip'd JSON lines, one per entry,
every column (``ARCHIVE_COLUMNS``; ``created_at`` in ISO 8601 UTC), in number order. The file
is written under a temporary name, flushed to disk, then linked into place; an existing file is
never overwritten (a re-run after an interrupted one writes ``<YYYY-MM>.2.jsonl.gz``, which
may repeat entries of the first). ``archive_verify`` checks a file's digests and links and its
link to the kept chain (``mamori audit verify-archive FILE``).

One operation-log entry per contract and run that removed anything
(``contract.log_retention_applied``, the system as actor).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import gzip
import itertools
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mamori.audit.audit_actions import LogAction
from mamori.audit.models import LogChain, LogEntry
from mamori.audit.services import (
    UnknownKey,
    _entry_break,
    entry_digest,
    log_record,
)
from mamori.audit.targets import Target, TargetType
from mamori.contracts.models import Contract
from mamori.core.access import OutOfScope, authorize
from mamori.core.actor import Actor

logger = logging.getLogger("mamori.audit.retention")

RETENTION_MIN, RETENTION_MAX = 1, 1200  # months (a hundred years)
SETTINGS_PERMISSION = "settings.change"  # as Settings → Security: System administrators
JOB = "audit.log_retention"
EVERY = datetime.timedelta(days=1)
BATCH = 2000  # entries deleted per transaction (the chain head's lock is held that long)
PAGE = 2000  # entries read at a time while archiving and checking

ARCHIVE_COLUMNS: tuple[str, ...] = tuple(str(f.column) for f in LogEntry._meta.concrete_fields)


# Settings ----------------------------------------------------------------------------------


def log_settings_of(contract: Contract) -> LogChain:
    """The contract's log settings and chain start: its ``LogChain`` row, or an unsaved one with
    the defaults (kept forever, archived, starting at #1) when nothing was logged yet."""
    return LogChain.objects.filter(contract_id=contract.pk).first() or LogChain(
        contract_id=contract.pk
    )


def settings_values(chain: LogChain) -> dict[str, Any]:
    """``{"retention_months": int | None, "archive": bool}``."""
    return {"retention_months": chain.retention_months, "archive": chain.archive}


def settings_errors(values: Mapping[str, Any]) -> dict[str, list[str]]:
    """A message per bad field of ``values`` (``retention_months``: null or an integer
    1 … 1200; ``archive``: a boolean); empty when they are good."""
    errors: dict[str, list[str]] = {}
    months = values.get("retention_months")
    if months is not None and (
        type(months) is not int or not RETENTION_MIN <= months <= RETENTION_MAX
    ):
        errors["retention_months"] = [
            _(
                "Give a number of months from %(min)d to %(max)d, or nothing to keep the log "
                "forever."
            )
            % {"min": RETENTION_MIN, "max": RETENTION_MAX}
        ]
    if type(values.get("archive")) is not bool:
        errors["archive"] = [_("Say whether to archive removed entries (true or false).")]
    return errors


def log_settings_update(*, actor: Actor, contract: Contract, values: Mapping[str, Any]) -> LogChain:
    """Set the contract's log retention: ``values`` has ``retention_months`` (int 1 … 1200, or
    None: kept forever) and ``archive`` (bool). ``settings.change`` (System administrators).
    ``ValidationError`` naming each bad field, changing nothing. One operation-log entry with
    the values before and after; none when nothing changed. Takes effect at the next daily run
    (``log_retention_run``)."""
    if actor.account is not None and actor.account.contract_id != contract.pk:
        raise OutOfScope
    authorize(actor, SETTINGS_PERMISSION)
    errors = settings_errors(values)
    if errors:
        raise ValidationError(errors)
    clean = {"retention_months": values["retention_months"], "archive": values["archive"]}
    with transaction.atomic():
        # The row writers create on a contract's first entry; made here if none was logged yet.
        LogChain.objects.bulk_create([LogChain(contract_id=contract.pk)], ignore_conflicts=True)
        chain = LogChain.objects.select_for_update().get(contract_id=contract.pk)
        before = settings_values(chain)
        if before == clean:
            return chain
        LogChain.objects.filter(pk=chain.pk).update(**clean)
        chain.retention_months, chain.archive = clean["retention_months"], clean["archive"]
        changed = [key for key in clean if before[key] != clean[key]]
        log_record(
            contract=contract,
            actor=actor,
            action=LogAction.SETTINGS_CHANGED,
            target=Target(TargetType.CONTRACT, contract.pk, contract.domain),
            before={key: before[key] for key in changed},
            after={key: clean[key] for key in changed},
        )
    return chain


def retention_cutoff(now: datetime.datetime, months: int) -> datetime.datetime:
    """The start (00:00 UTC) of the month ``months`` months before ``now``'s month in UTC:
    entries older than it are removed. ``2026-05-17``, 1 → ``2026-04-01T00:00Z``."""
    utc = now.astimezone(datetime.UTC)
    index = utc.year * 12 + (utc.month - 1) - months
    return datetime.datetime(index // 12, index % 12 + 1, 1, tzinfo=datetime.UTC)


def retention_next_run(now: datetime.datetime | None = None) -> datetime.datetime:
    """When the daily job's next slot starts (00:00 UTC; workers claim it within a minute)."""
    from mamori.core.work.periodic import EPOCH

    now = now or timezone.now()
    return EPOCH + ((now - EPOCH) // EVERY + 1) * EVERY


def oldest_kept(contract: Contract) -> datetime.datetime | None:
    """The time of the contract's oldest kept entry, or None for an empty log."""
    return (
        LogEntry.objects.filter(contract_id=contract.pk)
        .order_by("seq")
        .values_list("created_at", flat=True)
        .first()
    )


# The job -----------------------------------------------------------------------------------


@dataclasses.dataclass
class RetentionResult:
    """What one run did for one contract: entries removed, archive files written (paths
    relative to the archive directory), the cutoff, and why it stopped early ("" if it did
    not)."""

    contract_id: int
    domain: str
    cutoff: datetime.datetime
    removed: int = 0
    archives: list[str] = dataclasses.field(default_factory=list)
    stopped: str = ""


def log_retention_run(*, now: datetime.datetime | None = None) -> list[RetentionResult]:
    """Apply every contract's retention (those with ``retention_months`` set), by contract id.

    Idempotent: a second run with nothing older than the cutoff removes nothing and logs
    nothing. A contract whose archive cannot be written (``OSError``: nothing of that month is
    removed) is logged as an error and stopped (``RetentionResult.stopped``); the others go on.
    """
    now = now or timezone.now()
    chains = (
        LogChain.objects.filter(retention_months__isnull=False)
        .select_related("contract")
        .order_by("contract_id")
    )
    return [log_retention_apply(chain.contract, now=now) for chain in chains]


def log_retention_apply(
    contract: Contract, *, now: datetime.datetime | None = None
) -> RetentionResult:
    """Remove the contract's entries older than its cutoff, month by month (archived first when
    ``archive`` is on), and write one ``contract.log_retention_applied`` entry when any were removed.
    Nothing happens without a retention."""
    now = now or timezone.now()
    chain = log_settings_of(contract)
    months = chain.retention_months
    result = RetentionResult(contract.pk, contract.domain, now)
    if months is None or chain._state.adding:
        return result
    result.cutoff = retention_cutoff(now, months)
    try:
        while not result.stopped:
            if _month_remove(contract, result, archive=chain.archive) is None:
                break
    except OSError as exc:
        result.stopped = f"an archive file cannot be written: {exc}"
        logger.error("Log retention of %s: %s", contract.domain, result.stopped)
    if result.removed:
        with transaction.atomic():
            head = LogChain.objects.get(pk=contract.pk)
            log_record(
                contract=contract,
                actor=Actor.system(),
                action=LogAction.RETENTION_APPLIED,
                target=Target(TargetType.CONTRACT, contract.pk, contract.domain),
                after={
                    "removed": result.removed,
                    "cutoff": result.cutoff.isoformat(),
                    "retention_months": months,
                    "first_seq": head.first_seq,
                    "archives": result.archives,
                },
            )
    return result


def _month_start(moment: datetime.datetime) -> datetime.datetime:
    utc = moment.astimezone(datetime.UTC)
    return datetime.datetime(utc.year, utc.month, 1, tzinfo=datetime.UTC)


def _month_remove(contract: Contract, result: RetentionResult, *, archive: bool) -> str | None:
    """Remove the run of entries at the chain's kept start that fall in the start entry's month
    and before the cutoff; return the month ("YYYY-MM"), or None when nothing is left to remove.
    Sets ``result.stopped`` at a break or a concurrent run."""
    chain = LogChain.objects.get(pk=contract.pk)
    start, prev = chain.first_seq, chain.first_prev_digest
    first = (
        LogEntry.objects.filter(contract_id=contract.pk, seq=start)
        .values_list("created_at", flat=True)
        .first()
    )
    if first is None or first >= result.cutoff:
        return None
    month_start = _month_start(first)
    month = month_start.strftime("%Y-%m")
    following = _month_start(month_start + datetime.timedelta(days=32))
    end_time = min(following, result.cutoff)
    writer = _ArchiveWriter(contract.domain, month) if archive else None
    try:
        last = _month_walk(contract, result, start, prev, end_time, writer)
        if last < start:
            if writer:
                writer.discard()
            return None
        name = writer.finish() if writer else ""
    except BaseException:
        if writer:
            writer.discard()
        raise
    if name:
        result.archives.append(name)
    for batch_start in range(start, last + 1, BATCH):
        batch_end = min(batch_start + BATCH - 1, last)
        if not _batch_delete(contract, batch_start, batch_end, before=end_time):
            result.stopped = "another run moved the chain's start"
            logger.warning("Log retention of %s: %s", contract.domain, result.stopped)
            break
        result.removed += batch_end - batch_start + 1
    return month


def _month_walk(
    contract: Contract,
    result: RetentionResult,
    start: int,
    prev: str,
    end_time: datetime.datetime,
    writer: _ArchiveWriter | None,
) -> int:
    """Check (number, link, digest) and archive the entries from ``start`` older than
    ``end_time``; return the last such entry's number (``start - 1``: none). Stops before a
    break, setting ``result.stopped``."""
    seq, expected_prev, keyed = start, prev, False
    while True:
        page = list(
            LogEntry.objects.filter(
                contract_id=contract.pk, seq__gte=seq, seq__lt=seq + PAGE
            ).order_by("seq")
        )
        for entry in page:
            if entry.created_at >= end_time:
                return seq - 1
            reason = (
                f"entry #{seq} is missing"
                if entry.seq != seq
                else "its link to the previous entry does not match"
                if entry.prev_digest != expected_prev
                else _entry_break(entry, keyed)
            )
            if reason:
                result.stopped = (
                    f"the chain breaks at #{seq} ({reason}); nothing from there on is removed"
                )
                logger.error("Log retention of %s: %s", contract.domain, result.stopped)
                return seq - 1
            if writer:
                writer.add(entry)
            expected_prev, seq, keyed = entry.digest, seq + 1, keyed or bool(entry.key_id)
        if len(page) < PAGE:
            return seq - 1


def _batch_delete(contract: Contract, start: int, end: int, *, before: datetime.datetime) -> bool:
    """Delete entries ``start`` … ``end`` (all older than ``before``: the bound lets a table
    partitioned by time skip the other partitions) and move the kept start past them, in one
    transaction under the chain head's lock; False (nothing changed) when the start moved
    meanwhile or an entry of the range is gone."""
    with transaction.atomic():
        chain = LogChain.objects.select_for_update().get(pk=contract.pk)
        if chain.first_seq != start:
            return False
        digest = (
            LogEntry.objects.filter(contract_id=contract.pk, seq=end)
            .values_list("digest", flat=True)
            .first()
        )
        entries = LogEntry.objects.filter(
            contract_id=contract.pk, seq__gte=start, seq__lte=end, created_at__lt=before
        )
        deleted, _by_model = entries.delete()
        if digest is None or deleted != end - start + 1:
            transaction.set_rollback(True)
            return False
        LogChain.objects.filter(pk=chain.pk).update(first_seq=end + 1, first_prev_digest=digest)
    return True


# Archive files -----------------------------------------------------------------------------


def archive_dir() -> Path:
    return Path(settings.MAMORI_AUDIT_ARCHIVE_DIR)


def archive_line(entry: LogEntry) -> dict[str, Any]:
    """An entry as one archive line: every column, ``created_at`` in ISO 8601 UTC."""
    line = {column: getattr(entry, column) for column in ARCHIVE_COLUMNS}
    line["created_at"] = entry.created_at.astimezone(datetime.UTC).isoformat()
    return line


def archive_entry(line: Mapping[str, Any]) -> LogEntry:
    """``archive_line``'s inverse (an unsaved entry); ``ValueError`` for a line that is not
    one."""
    if not isinstance(line, Mapping) or set(line) != set(ARCHIVE_COLUMNS):
        raise ValueError("not an archived operation-log entry (its columns differ)")
    values = dict(line)
    if not isinstance(values["created_at"], str) or type(values["seq"]) is not int:
        raise ValueError("its number or time has the wrong type")
    created_at = datetime.datetime.fromisoformat(values["created_at"])
    if created_at.tzinfo is None:
        raise ValueError("its time has no offset")
    values["created_at"] = created_at
    return LogEntry(**values)


class _ArchiveWriter:
    """One month's archive file, written under a temporary name and linked into place."""

    def __init__(self, domain: str, month: str) -> None:
        self.directory = archive_dir() / domain
        self.domain, self.month = domain, month
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{month}.", suffix=".tmp")
        self.tmp = Path(tmp)
        self.raw: IO[bytes] = os.fdopen(fd, "wb")
        self.gz = gzip.GzipFile(fileobj=self.raw, mode="wb", mtime=0)

    def add(self, entry: LogEntry) -> None:
        text = json.dumps(archive_line(entry), ensure_ascii=False, sort_keys=True, default=str)
        self.gz.write(f"{text}\n".encode())

    def finish(self) -> str:
        """Flush to disk and link into place under the first free name; the name relative to
        the archive directory."""
        self.gz.close()
        self.raw.flush()
        os.fsync(self.raw.fileno())
        self.raw.close()
        for n in itertools.count(1):
            name = f"{self.month}.jsonl.gz" if n == 1 else f"{self.month}.{n}.jsonl.gz"
            try:
                os.link(self.tmp, self.directory / name)  # never replaces an existing file
            except FileExistsError:
                continue
            break
        self.tmp.unlink()
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return f"{self.domain}/{name}"

    def discard(self) -> None:
        for stream in (self.gz, self.raw):
            with contextlib.suppress(OSError):
                stream.close()
        self.tmp.unlink(missing_ok=True)


def archive_read(path: str | Path) -> Iterator[LogEntry]:
    """The entries of an archive file, in its order. ``OSError`` (incl. a damaged gzip),
    ``ValueError`` for a line that is not an archived entry (``json.JSONDecodeError`` is one)."""
    with gzip.open(path, "rt", encoding="utf-8") as file:
        for text in file:
            if text.strip():
                yield archive_entry(json.loads(text))


def archive_verify(path: str | Path) -> list[str]:
    """What does not hold in an archive file (sentences; empty: it verifies): each entry's
    digest, the numbers and links inside the file, and its link to what follows it when that
    is in the database (the kept chain's start, or a kept entry). Entries of a contract that no
    longer exists are checked inside the file only. ``OSError``, ``ValueError`` as
    ``archive_read``; ``ImproperlyConfigured`` without an audit key."""
    problems: list[str] = []
    last: LogEntry | None = None
    for entry in archive_read(path):
        if last is not None:
            if entry.contract_id != last.contract_id:
                problems.append(f"entry #{entry.seq} is of another contract")
                break
            if entry.seq != last.seq + 1:
                problems.append(f"entry #{last.seq + 1} is missing (next is #{entry.seq})")
            elif entry.prev_digest != last.digest:
                problems.append(
                    f"entry #{entry.seq}: its link to the previous entry does not match"
                )
        try:
            if entry_digest(entry) != entry.digest:
                problems.append(f"entry #{entry.seq}: its contents do not match its digest")
        except UnknownKey:
            problems.append(
                f"entry #{entry.seq}: it was signed with the audit key {entry.key_id!r}, "
                "which is not configured"
            )
        last = entry
    if last is None:
        return ["the file holds no entries"]
    chain = LogChain.objects.filter(contract_id=last.contract_id).first()
    following = LogEntry.objects.filter(contract_id=last.contract_id, seq=last.seq + 1).first()
    if chain is not None and chain.first_seq == last.seq + 1:
        if chain.first_prev_digest != last.digest:
            problems.append(
                f"its last entry #{last.seq} is not the one the kept chain starts after"
            )
    elif following is not None and following.prev_digest != last.digest:
        problems.append(f"the kept entry #{following.seq} does not link to its last entry")
    return problems
