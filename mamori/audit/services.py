"""Writing the operation log, and checking its hash chains.

Each contract's entries form a chain: entry ``seq`` carries the digest of entry ``seq - 1``
(``prev_digest``) and a digest of its own over everything it records. The digest is
HMAC-SHA256 with an audit key kept outside the database (``mamori.audit.keys``), so someone who
can write to the database but has no key cannot rewrite an entry and make it verify again.
``LogChain`` holds each chain's head (last number and digest); signed checkpoints of the heads,
kept outside the database (``mamori.audit.checkpoints``), catch a chain cut short with its head
moved back. What verification proves and what it does not: README.md, "Operation log".
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import ipaddress
import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from mamori.audit.checkpoints import Checkpoint
from mamori.audit.keys import AuditKey, audit_key_get, audit_signing_key
from mamori.audit.models import LogChain, LogEntry
from mamori.audit.registry import action_get
from mamori.audit.targets import Target, TargetType
from mamori.contracts.models import Contract
from mamori.core.actor import Actor, ActorKind

__all__ = ["LogRecord", "Target", "TargetType", "log_chain_verify", "log_record", "log_records"]

logger = logging.getLogger("mamori.audit")

GENESIS = "0" * 64
ENTRY_DOMAIN = "mamori-audit-entry/1"  # keyed digests sign this first: never a checkpoint's


@dataclasses.dataclass(frozen=True, kw_only=True)
class LogRecord:
    """One entry to append, as a service describes it (``log_record``'s keywords).

    ``action`` is a registered code (``mamori.audit.registry``); ``target`` and ``related`` name
    objects by a ``TargetType``; ``before``/``after`` are filtered by the action's allow-lists;
    ``organization_id`` is the organization the target belongs to (administrators scoped to
    organizations see only their subtrees' entries).
    """

    contract: Contract
    actor: Actor
    action: str
    target: Target | None = None
    related: Target | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    success: bool = True
    organization_id: int | None = None


# Redaction by allow-list -------------------------------------------------------------------


class _Drop:
    pass


_DROP = _Drop()


def redact(
    values: Mapping[str, Any] | None, allowed: Iterable[str], *, dropped: list[str] | None = None
) -> dict[str, Any] | None:
    """The part of ``values`` that the allow-list ``allowed`` names (paths as in
    ``mamori.audit.registry``); every other key is dropped and its path appended to ``dropped``.
    """
    if values is None:
        return None
    paths = frozenset(allowed)
    containers = frozenset(p.rsplit(".", 1)[0] for p in paths if "." in p)
    containers |= {c.rsplit(".", i)[0] for c in containers for i in range(c.count(".") + 1)}
    kept = _kept(values, "", paths, containers, dropped if dropped is not None else [])
    assert isinstance(kept, dict)
    return kept


def _kept(
    value: Any, path: str, paths: frozenset[str], containers: frozenset[str], dropped: list[str]
) -> Any:
    nested = isinstance(value, Mapping | list | tuple)
    if path and path not in paths and not (nested and path in containers):
        dropped.append(path)
        return _DROP
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            kept = _kept(item, f"{path}.{key}" if path else str(key), paths, containers, dropped)
            if kept is not _DROP:
                out[str(key)] = kept
        return out
    if isinstance(value, list | tuple):
        items = [_kept(item, path, paths, containers, dropped) for item in value]
        return [item for item in items if item is not _DROP]
    return value


# Writing -----------------------------------------------------------------------------------


def _canonical_ip(ip: str | None) -> str | None:
    return ipaddress.ip_address(ip).compressed if ip else None


def _json_value(value: Any) -> Any:
    # JSON values are stored and read back through the database's JSON type; digest what will be
    # read back, not the Python objects given.
    return json.loads(json.dumps(value, default=str))


def _canonical(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _target_checked(target: Target | None, role: str) -> Target | None:
    if target is not None and target.type not in TargetType:
        raise ValueError(f"{target.type!r} is not a TargetType (the entry's {role})")
    return target


def _entry_of(record: LogRecord) -> LogEntry:
    """An unnumbered, undigested entry: everything that needs no chain head."""
    action = action_get(record.action)
    actor, account = record.actor, record.actor.account
    kind = ActorKind(actor.kind)
    if kind == ActorKind.ON_BEHALF and account is None:
        raise ValueError("An on_behalf entry names the account it was done for")
    target = _target_checked(record.target, "target")
    related = _target_checked(record.related, "related object")
    dropped: list[str] = []
    entry = LogEntry(
        contract_id=record.contract.pk,
        actor_id=account.pk if account else None,
        actor_kind=kind.value,
        actor_name=account.display_name if account else "",
        actor_account_name=account.name if account else "",
        actor_privilege=account.privilege if account else "",
        ip=_canonical_ip(actor.ip),
        user_agent=actor.user_agent[:400],
        request_id=actor.request_id[:64],
        action=action.code,
        target_type=str(target.type) if target else "",
        target_id="" if target is None or target.id is None else str(target.id)[:64],
        target_label=(target.label if target else "")[:200],
        related_type=str(related.type) if related else "",
        related_id="" if related is None or related.id is None else str(related.id)[:64],
        organization_id=record.organization_id,
        before=_json_value(redact(record.before, action.before, dropped=dropped)),
        after=_json_value(redact(record.after, action.after, dropped=dropped)),
        result=LogEntry.Result.SUCCESS if record.success else LogEntry.Result.FAILURE,
    )
    if dropped:  # the names only: a dropped value may be the very thing that must not be logged
        logger.warning("%s: not on its allow-list, dropped: %s", action.code, ", ".join(dropped))
    return entry


def _body(entry: LogEntry) -> str:
    """Everything a keyed digest covers except the chain position (number, time, link)."""
    return _canonical(
        {
            "contract": entry.contract_id,
            "actor": entry.actor_id,
            "actor_kind": entry.actor_kind,
            "actor_name": entry.actor_name,
            "actor_account_name": entry.actor_account_name,
            "actor_privilege": entry.actor_privilege,
            "ip": _canonical_ip(entry.ip),
            "user_agent": entry.user_agent,
            "request_id": entry.request_id,
            "action": entry.action,
            "target": [entry.target_type, entry.target_id, entry.target_label],
            "related": [entry.related_type, entry.related_id],
            "organization": entry.organization_id,
            "before": entry.before,
            "after": entry.after,
            "result": entry.result,
        }
    )


def _keyed_digest(key: AuditKey, seq: int, created_at: str, prev: str, body: str) -> str:
    return key.sign("\n".join((ENTRY_DOMAIN, key.id, str(seq), created_at, prev, body)).encode())


def log_records(records: Sequence[LogRecord]) -> list[LogEntry]:
    """Append entries (of one contract or several) in one INSERT; return them in the given order.

    Call it **last in the service's transaction**, after the change it records: it locks the
    chain head of each contract involved (``SELECT … FOR UPDATE`` on ``LogChain``, in contract-id
    order, so two writers never wait for each other in a circle) and the locks are held until the
    caller's transaction commits. Everything that does not depend on the chain head (validation,
    redaction, JSON, the digest's body, the INSERT's parameters) is done before the lock; under
    it, only the numbering, one HMAC per entry, the INSERT and the heads' UPDATE. The entries are
    in the caller's transaction: rolled back with the change, never written without it.

    Within a contract, entries are numbered in the order given, all with the same time. Raises
    ``UnknownAction`` for an unregistered action, ``ValueError`` for a target type that is not a
    ``TargetType`` or an on_behalf actor without an account, ``ImproperlyConfigured`` without
    an audit key.
    """
    if not records:
        return []
    key = audit_signing_key()
    entries = [_entry_of(r) for r in records]
    for entry in entries:
        entry.key_id = key.id
    pending = sorted((_Pending(e) for e in entries), key=lambda p: p.entry.contract_id)
    with transaction.atomic(savepoint=False):
        heads = _heads_locked(sorted({e.contract_id for e in entries}))
        now = timezone.now()
        stamp = now.astimezone(datetime.UTC).isoformat()
        for p in pending:
            entry, head = p.entry, heads[p.entry.contract_id]
            entry.seq, entry.created_at = head.last_seq + 1, now
            entry.prev_digest = head.last_digest
            entry.digest = _keyed_digest(key, entry.seq, stamp, entry.prev_digest, p.body)
            head.last_seq, head.last_digest = entry.seq, entry.digest
        _insert(pending, now)
        _heads_save(list(heads.values()))
    return entries


# The INSERT is written here rather than by bulk_create, to keep the time under the lock short.
# Each entry's part of it is prepared before the lock; only the chain's columns are added under
# it. On PostgreSQL the rows travel as one JSON document (jsonb_to_recordset): for 1,000
# entries, bulk_create's per-value preparation took 0.2-0.3 s, an UNNEST of one array per column
# 0.13 s (half of it quoting the arrays in Python), a multi-row VALUES list 0.35 s; the JSON
# document 0.02 s to make and 0.06 s to insert.
_FIELDS = [f for f in LogEntry._meta.concrete_fields if not f.primary_key]
_CHAIN_COLUMNS = ("seq", "created_at", "prev_digest", "digest")


class _Pending:
    """An entry with its digest body and its row for the INSERT, the chain's columns left out:
    on PostgreSQL the start of its JSON object, elsewhere its parameters."""

    def __init__(self, entry: LogEntry) -> None:
        self.entry = entry
        self.body = _body(entry)
        if connection.vendor == "postgresql":
            # The model's own values: _entry_of made them plain JSON types (ids, text, JSON).
            values = {
                f.column: getattr(entry, f.attname)
                for f in _FIELDS
                if f.attname not in _CHAIN_COLUMNS
            }
            self.json = json.dumps(values, ensure_ascii=False)[:-1]  # the closing brace comes later
        else:
            self.params = [
                None
                if f.attname in _CHAIN_COLUMNS
                else f.get_db_prep_save(getattr(entry, f.attname), connection)
                for f in _FIELDS
            ]


def _insert(pending: list[_Pending], now: datetime.datetime) -> None:
    """Insert the numbered entries in one statement (SQLite: as many as its parameter limit
    needs), in the order given, and give them their ids."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            stamp = now.isoformat()
            rows = ",".join(
                p.json
                + json.dumps(
                    {
                        "seq": p.entry.seq,
                        "created_at": stamp,
                        "prev_digest": p.entry.prev_digest,
                        "digest": p.entry.digest,
                    }
                ).replace("{", ",", 1)
                for p in pending
            )
            cursor.execute(_insert_sql("json"), [f"[{rows}]"])
            _ids_give(pending, cursor.fetchall())
            return
        at = {f.attname: i for i, f in enumerate(_FIELDS)}
        created_at = LogEntry._meta.get_field("created_at").get_db_prep_save(now, connection)
        for p in pending:
            e = p.entry
            p.params[at["seq"]], p.params[at["created_at"]] = e.seq, created_at
            p.params[at["prev_digest"]], p.params[at["digest"]] = e.prev_digest, e.digest
        size = connection.ops.bulk_batch_size(_FIELDS, pending)
        for start in range(0, len(pending), size):
            chunk = pending[start : start + size]
            cursor.execute(_insert_sql("values", len(chunk)), [v for p in chunk for v in p.params])
            _ids_give(chunk, cursor.fetchall())


@functools.cache
def _insert_sql(form: str, rows: int = 1) -> str:
    """``INSERT … RETURNING id`` from one JSON document (PostgreSQL), or with ``rows`` VALUES
    rows. Only names from the model are written into it; every value is a parameter."""
    quote = connection.ops.quote_name
    table, pk = quote(LogEntry._meta.db_table), quote("id")
    columns = ", ".join(quote(str(f.column)) for f in _FIELDS)
    if form == "json":
        types = ", ".join(f"{quote(str(f.column))} {f.db_type(connection)}" for f in _FIELDS)
        source = (
            f"SELECT {columns} FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS ({types})) "  # noqa: S608 (see above)
            f"WITH ORDINALITY AS r({columns}, n) ORDER BY n"
        )
    else:
        source = "VALUES " + ", ".join([f"({', '.join(['%s'] * len(_FIELDS))})"] * rows)
    return f"INSERT INTO {table} ({columns}) {source} RETURNING {pk}"


def _ids_give(pending: list[_Pending], rows: list[tuple[int]]) -> None:
    # RETURNING gives the ids in the order of the rows, as bulk_create relies on too.
    for p, (pk,) in zip(pending, rows, strict=True):
        p.entry.pk = pk
        p.entry._state.adding, p.entry._state.db = False, connection.alias


def log_record(
    *,
    contract: Contract,
    actor: Actor,
    action: str,
    target: Target | None = None,
    related: Target | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    success: bool = True,
    organization_id: int | None = None,
) -> LogEntry:
    """Append one entry, last in the caller's transaction: ``log_records`` with one record."""
    record = LogRecord(
        contract=contract,
        actor=actor,
        action=action,
        target=target,
        related=related,
        before=before,
        after=after,
        success=success,
        organization_id=organization_id,
    )
    return log_records([record])[0]


def _heads_locked(contract_ids: list[int]) -> dict[int, LogChain]:
    """Lock the chain heads in contract-id order, making the ones that do not exist yet."""
    locked = LogChain.objects.select_for_update().order_by("contract_id")
    heads = {h.contract_id: h for h in locked.filter(contract_id__in=contract_ids)}
    missing = [c for c in contract_ids if c not in heads]
    if missing:  # a contract's first entry; a concurrent first writer's row is waited for
        LogChain.objects.bulk_create(
            [LogChain(contract_id=c) for c in missing], ignore_conflicts=True
        )
        heads.update({h.contract_id: h for h in locked.filter(contract_id__in=missing)})
    return heads


def _heads_save(heads: list[LogChain]) -> None:
    if len(heads) == 1:
        head = heads[0]
        LogChain.objects.filter(pk=head.pk).update(
            last_seq=head.last_seq, last_digest=head.last_digest
        )
    else:
        LogChain.objects.bulk_update(heads, ["last_seq", "last_digest"])


# Verifying ---------------------------------------------------------------------------------


class UnknownKey(LookupError):
    """An entry names an audit key id that is not configured."""


def _plain_digest(entry: LogEntry) -> str:
    """The digest of entries written before keys existed: SHA-256 that anyone can recompute."""
    payload = {
        "contract": entry.contract_id,
        "seq": entry.seq,
        "created_at": entry.created_at.astimezone(datetime.UTC).isoformat(),
        "actor": entry.actor_id,
        "actor_kind": entry.actor_kind,
        "actor_name": entry.actor_name,
        "actor_account_name": entry.actor_account_name,
        "actor_privilege": entry.actor_privilege,
        "ip": _canonical_ip(entry.ip),
        "user_agent": entry.user_agent,
        "request_id": entry.request_id,
        "action": entry.action,
        "target": [entry.target_type, entry.target_id, entry.target_label],
        "before": entry.before,
        "after": entry.after,
        "result": entry.result,
        "prev": entry.prev_digest,
    }
    if entry.organization_id is not None:  # added later: older entries keep their digest
        payload["organization"] = entry.organization_id
    return hashlib.sha256(_canonical(payload).encode()).hexdigest()


def entry_digest(entry: LogEntry) -> str:
    """The digest ``entry`` should carry: HMAC-SHA256 with the key named by its ``key_id``, or
    the plain SHA-256 of entries written before keys existed (``key_id`` ``""``).

    ``UnknownKey`` when the key id is not configured.
    """
    if not entry.key_id:
        return _plain_digest(entry)
    key = audit_key_get(entry.key_id)
    if key is None:
        raise UnknownKey(entry.key_id)
    stamp = entry.created_at.astimezone(datetime.UTC).isoformat()
    return _keyed_digest(key, entry.seq, stamp, entry.prev_digest, _body(entry))


@dataclasses.dataclass(frozen=True)
class ChainBreak:
    """The first place a contract's chain does not hold: the entry number, the entry's id when
    it exists, and why (a sentence for the operator)."""

    contract: str
    seq: int
    entry_id: int | None
    reason: str


def _entry_break(entry: LogEntry, keyed_before: bool) -> str | None:
    if not entry.key_id and (keyed_before or entry.related_type or entry.related_id):
        # Plain digests predate keys (and related objects): a plain one after a keyed one is an
        # entry rewritten by someone without the key.
        return "it has an unkeyed digest where only keyed ones can be (rewritten without the key)"
    try:
        if entry_digest(entry) != entry.digest:
            return "its contents do not match its digest"
    except UnknownKey:
        return f"it was signed with the audit key {entry.key_id!r}, which is not configured"
    return None


def log_chain_verify(
    contract: Contract, *, checkpoints: Iterable[Checkpoint] = ()
) -> ChainBreak | None:
    """Walk the contract's entries in order; return the first place the chain breaks, or None.

    Each entry must follow the previous one (number and link), match its digest, and match
    every checkpoint of this contract given (signatures are checked by the caller, see
    ``mamori.audit.checkpoints.checkpoint_file_read``); the chain must reach the head recorded in
    ``LogChain`` and the highest checkpoint. ``ImproperlyConfigured`` without an audit key.

    After retention (``mamori.audit.retention``) the chain starts at ``LogChain.first_seq``,
    linked to ``first_prev_digest`` (the last removed entry's digest) instead of #1 and
    ``GENESIS``; a checkpoint of a removed entry is not checked, but one of the last removed
    entry must match ``first_prev_digest``. An entry older than the kept start still present is
    a break: retention removes entries and moves the start in one transaction, so it cannot be
    left behind (an entry put back, or the start moved by hand).
    """
    marks = sorted((c for c in checkpoints if c.contract_id == contract.pk), key=lambda c: c.seq)
    at_seq = {c.seq: c for c in marks}
    chain = LogChain.objects.filter(contract=contract).first()
    first_seq = chain.first_seq if chain else 1
    expected_prev = chain.first_prev_digest if chain else GENESIS
    expected_seq, keyed = first_seq, False

    def broken(seq: int, entry_id: int | None, reason: str) -> ChainBreak:
        return ChainBreak(contract.domain, seq, entry_id, reason)

    stale = LogEntry.objects.filter(contract=contract, seq__lt=first_seq).order_by("seq").first()
    if stale is not None:
        return broken(
            stale.seq,
            stale.pk,
            f"it is older than the kept start of the chain (#{first_seq}), which retention removed",
        )
    mark = at_seq.get(first_seq - 1)
    if mark is not None and mark.digest != expected_prev:
        return broken(
            first_seq - 1,
            None,
            f"the kept chain's link to the removed entry #{first_seq - 1} does not match "
            f"the checkpoint of {mark.when}",
        )
    for entry in _entries_in_order(contract):
        if entry.seq != expected_seq:
            return broken(
                expected_seq,
                None,
                f"entry #{expected_seq} is missing (next present is #{entry.seq}, id {entry.pk})",
            )
        if entry.prev_digest != expected_prev:
            return broken(entry.seq, entry.pk, "its link to the previous entry does not match")
        reason = _entry_break(entry, keyed)
        if reason:
            return broken(entry.seq, entry.pk, reason)
        mark = at_seq.get(entry.seq)
        if mark is not None and mark.digest != entry.digest:
            return broken(entry.seq, entry.pk, f"it does not match the checkpoint of {mark.when}")
        expected_prev, expected_seq = entry.digest, entry.seq + 1
        keyed = keyed or bool(entry.key_id)
    last_seq = chain.last_seq if chain else 0
    if last_seq != expected_seq - 1 or (chain and chain.last_digest != expected_prev):
        return broken(
            expected_seq,
            None,
            f"entry #{expected_seq} is missing (the chain was recorded up to #{last_seq})",
        )
    if marks and marks[-1].seq >= expected_seq:
        return broken(
            expected_seq,
            None,
            f"entry #{expected_seq} is missing "
            f"(the checkpoint of {marks[-1].when} recorded the chain up to #{marks[-1].seq})",
        )
    return None


def _entries_in_order(contract: Contract) -> Iterator[LogEntry]:
    return LogEntry.objects.filter(contract=contract).order_by("seq").iterator(chunk_size=5000)
