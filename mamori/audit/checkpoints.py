"""Signed checkpoints of each contract's chain head, written outside the database.

Someone who can write to the database but has no audit key cannot forge an entry's digest, but
can delete the newest entries and move the chain head (``LogChain``) back: what is left still
verifies. A checkpoint, written at intervals to the log stream (logger
``mamori.audit.checkpoint``) and appended to a file (``MAMORI_AUDIT_CHECKPOINT_FILE``) that an
operator ships elsewhere (a SIEM), records a head where the database cannot reach it; ``mamori
audit verify --checkpoints FILE`` then finds the chain shorter than, or different from, what it
recorded.

One checkpoint is one JSON line::

    {"contract": 7, "digest": "<head digest>", "domain": "acme", "key": "k1", "seq": 1234,
     "signature": "<hex>", "time": "2026-11-24T00:15:02.123456+00:00",
     "type": "mamori.audit.checkpoint", "v": 1}

``signature`` is HMAC-SHA256, with the audit key ``key``, of ``mamori-audit-checkpoint/1``, a
newline, and the canonical JSON (sorted keys, no spaces, UTF-8) of every other field.

``audit_checkpoint_write()`` is meant to run as a periodic job (every few minutes): entries after
the last checkpoint can still be cut off undetected.
"""

from __future__ import annotations

import dataclasses
import datetime
import hmac
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from mamori.audit.keys import AuditKey, audit_key_get, audit_signing_key
from mamori.audit.models import LogChain, LogCheckpoint

logger = logging.getLogger("mamori.audit.checkpoint")

RECORD_TYPE = "mamori.audit.checkpoint"
VERSION = 1
SIGNING_DOMAIN = "mamori-audit-checkpoint/1"  # never an entry digest's (mamori-audit-entry/1)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChainHead:
    """A contract's chain head as the database holds it."""

    contract_id: int
    domain: str
    seq: int
    digest: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class Checkpoint:
    """A signed record of a contract's chain head at a time (UTC)."""

    contract_id: int
    domain: str
    seq: int
    digest: str
    time: datetime.datetime
    key_id: str
    signature: str = ""

    @property
    def when(self) -> str:
        """The time as an operator reads it in messages, UTC to the second."""
        return self.time.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    def signed_fields(self) -> dict[str, Any]:
        return {
            "type": RECORD_TYPE,
            "v": VERSION,
            "contract": self.contract_id,
            "domain": self.domain,
            "seq": self.seq,
            "digest": self.digest,
            "time": self.time.astimezone(datetime.UTC).isoformat(),
            "key": self.key_id,
        }

    def message(self) -> bytes:
        """What the signature covers."""
        body = json.dumps(
            self.signed_fields(), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        return f"{SIGNING_DOMAIN}\n{body}".encode()

    def to_json(self) -> str:
        """The checkpoint as one JSON line (without the newline)."""
        return json.dumps(
            {**self.signed_fields(), "signature": self.signature},
            sort_keys=True,
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        """Parse ``to_json``'s output; ``ValueError`` for anything else."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("type") != RECORD_TYPE or data.get("v") != 1:
            raise ValueError("not a Mamori checkpoint (version 1)")
        numbers = [data.get("contract"), data.get("seq")]
        texts = [data.get(f) for f in ("domain", "digest", "time", "key", "signature")]
        if not all(type(v) is int for v in numbers) or not all(isinstance(v, str) for v in texts):
            raise ValueError("a field is missing or has the wrong type")
        time = datetime.datetime.fromisoformat(data["time"])
        if time.tzinfo is None:
            raise ValueError("its time has no offset")
        return cls(
            contract_id=data["contract"],
            domain=data["domain"],
            seq=data["seq"],
            digest=data["digest"],
            time=time,
            key_id=data["key"],
            signature=data["signature"],
        )

    def signature_problem(self) -> str | None:
        """Why the signature does not hold (a sentence), or None when it does."""
        key = audit_key_get(self.key_id)
        if key is None:
            return f"it was signed with the audit key {self.key_id!r}, which is not configured"
        if not hmac.compare_digest(key.sign(self.message()), self.signature):
            return "its signature does not verify"
        return None


def checkpoints_build(
    heads: Iterable[ChainHead], *, key: AuditKey, now: datetime.datetime
) -> list[Checkpoint]:
    """Sign a checkpoint of each head with ``key`` at ``now`` (aware). Pure: no database, no
    file, no clock: what a periodic job, a webhook or a test builds its records with."""
    checkpoints = []
    for head in heads:
        unsigned = Checkpoint(
            contract_id=head.contract_id,
            domain=head.domain,
            seq=head.seq,
            digest=head.digest,
            time=now,
            key_id=key.id,
        )
        checkpoints.append(dataclasses.replace(unsigned, signature=key.sign(unsigned.message())))
    return checkpoints


def chain_heads_moved() -> list[ChainHead]:
    """The heads of chains that moved since their last checkpoint (or never had one), by
    contract id. A head that went *back* is also logged as an error: that is a chain cut short
    (or a database restored from a backup)."""
    last = LogCheckpoint.objects.filter(contract_id=OuterRef("contract_id"))
    rows = (
        LogChain.objects.filter(last_seq__gt=0)
        .annotate(
            mark_seq=Subquery(last.values("seq")), mark_digest=Subquery(last.values("digest"))
        )
        .filter(Q(mark_seq__isnull=True) | ~Q(mark_digest=F("last_digest")))
        .order_by("contract_id")
        .values_list("contract_id", "contract__domain", "last_seq", "last_digest", "mark_seq")
    )
    heads = []
    for contract_id, domain, seq, digest, mark_seq in rows:
        if mark_seq is not None and seq <= mark_seq:
            logger.error(
                "The log chain of %s went back from #%s to #%s since its last checkpoint",
                domain,
                mark_seq,
                seq,
            )
        heads.append(ChainHead(contract_id=contract_id, domain=domain, seq=seq, digest=digest))
    return heads


def audit_checkpoint_write(
    *, path: str | Path | None = None, now: datetime.datetime | None = None
) -> list[Checkpoint]:
    """Checkpoint every chain head that moved since its last checkpoint; return the checkpoints.

    Each goes to the logger ``mamori.audit.checkpoint`` (level INFO, the JSON line as message)
    and is appended to ``path`` (default ``MAMORI_AUDIT_CHECKPOINT_FILE``), flushed to disk
    before the database notes it as written; a failure before that writes it again next time.
    ``OSError`` when the file cannot be written; ``ImproperlyConfigured`` without an audit key.
    """
    heads = chain_heads_moved()
    if not heads:
        return []
    checkpoints = checkpoints_build(heads, key=audit_signing_key(), now=now or timezone.now())
    lines = [c.to_json() for c in checkpoints]
    target = Path(path or settings.MAMORI_AUDIT_CHECKPOINT_FILE)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("a", encoding="utf-8") as file:
        file.write("".join(f"{line}\n" for line in lines))
        file.flush()
        os.fsync(file.fileno())
    for line in lines:
        logger.info(line)
    LogCheckpoint.objects.bulk_create(
        [
            LogCheckpoint(contract_id=c.contract_id, seq=c.seq, digest=c.digest, written_at=c.time)
            for c in checkpoints
        ],
        update_conflicts=True,
        unique_fields=["contract"],
        update_fields=["seq", "digest", "written_at"],
    )
    return checkpoints


@dataclasses.dataclass(frozen=True)
class CheckpointProblem:
    """A line of a checkpoint file that cannot be trusted: its number (from 1) and why."""

    line: int
    where: str  # "acme #1234", or "" when the line could not be read
    reason: str


def checkpoint_file_read(path: str | Path) -> tuple[list[Checkpoint], list[CheckpointProblem]]:
    """The checkpoints of a file whose signatures hold, and a problem for every other line.

    Blank lines are skipped. ``OSError`` when the file cannot be read; ``ImproperlyConfigured``
    without an audit key.
    """
    good, problems = [], []
    with Path(path).open(encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                checkpoint = Checkpoint.from_json(line.rstrip("\r\n"))
            except ValueError as exc:
                problems.append(CheckpointProblem(number, "", f"it is not a checkpoint ({exc})"))
                continue
            problem = checkpoint.signature_problem()
            if problem:
                where = f"{checkpoint.domain} #{checkpoint.seq}"
                problems.append(CheckpointProblem(number, where, problem))
            else:
                good.append(checkpoint)
    return good, problems
