"""Writing the operation log, and checking its hash chain."""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import json
from collections.abc import Iterator, Mapping
from datetime import UTC
from typing import Any

from django.db import transaction
from django.utils import timezone

from mamori.audit.models import LogChain, LogEntry
from mamori.contracts.models import Contract
from mamori.core.actor import Actor

REDACTED = "[redacted]"
# Keys whose values never reach the log, wherever they appear in before/after values.
SECRET_MARKERS = ("password", "secret", "token", "backup_code", "otp")
GENESIS = "0" * 64


@dataclasses.dataclass(frozen=True)
class Target:
    """What an entry is about: a type, an id and a label a person recognises."""

    type: str
    id: str | int | None = None
    label: str = ""


def redact(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {
        key: REDACTED
        if any(marker in key.lower() for marker in SECRET_MARKERS)
        else (redact(value) if isinstance(value, Mapping) else value)
        for key, value in values.items()
    }


def _canonical_ip(ip: str | None) -> str | None:
    return ipaddress.ip_address(ip).compressed if ip else None


def entry_digest(entry: LogEntry) -> str:
    """SHA-256 over every recorded field and the previous entry's digest."""
    payload = {
        "contract": entry.contract_id,
        "seq": entry.seq,
        "created_at": entry.created_at.astimezone(UTC).isoformat(),
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
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def log_record(
    *,
    contract: Contract,
    actor: Actor,
    action: str,
    target: Target | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    success: bool = True,
    organization_id: int | None = None,
) -> LogEntry:
    """Append one entry to the contract's log, inside the caller's transaction.

    ``organization_id`` is the organization the target belongs to; administrators scoped to
    organizations see the entries of their subtrees only.
    """
    with transaction.atomic():
        chain, _ = LogChain.objects.select_for_update().get_or_create(contract=contract)
        account = actor.account
        entry = LogEntry(
            contract=contract,
            seq=chain.last_seq + 1,
            created_at=timezone.now(),
            actor_id=account.pk if account else None,
            actor_kind=actor.kind,
            actor_name=account.display_name if account else "",
            actor_account_name=account.name if account else "",
            actor_privilege=account.privilege if account else "",
            ip=_canonical_ip(actor.ip),
            user_agent=actor.user_agent[:400],
            request_id=actor.request_id[:64],
            action=action,
            target_type=target.type if target else "",
            target_id="" if target is None or target.id is None else str(target.id),
            target_label=(target.label if target else "")[:200],
            organization_id=organization_id,
            before=redact(before),
            after=redact(after),
            result=LogEntry.Result.SUCCESS if success else LogEntry.Result.FAILURE,
            prev_digest=chain.last_digest,
        )
        # JSON values are stored and read back through the database's JSON type; digest what
        # will be read back, not the Python objects given.
        entry.before = json.loads(json.dumps(entry.before, default=str))
        entry.after = json.loads(json.dumps(entry.after, default=str))
        entry.digest = entry_digest(entry)
        entry.save(force_insert=True)
        chain.last_seq = entry.seq
        chain.last_digest = entry.digest
        chain.save(update_fields=["last_seq", "last_digest"])
    return entry


@dataclasses.dataclass(frozen=True)
class ChainBreak:
    """The first place a contract's chain does not hold."""

    contract: str
    seq: int
    entry_id: int | None
    reason: str


def log_chain_verify(contract: Contract) -> ChainBreak | None:
    """Walk the contract's entries in order; return the first that breaks the chain."""
    chain = LogChain.objects.filter(contract=contract).first()
    expected_prev, expected_seq = GENESIS, 1
    for entry in _entries_in_order(contract):
        if entry.seq != expected_seq:
            return ChainBreak(
                contract.domain,
                expected_seq,
                None,
                f"entry #{expected_seq} is missing (next present is #{entry.seq}, id {entry.pk})",
            )
        if entry.prev_digest != expected_prev:
            return ChainBreak(
                contract.domain,
                entry.seq,
                entry.pk,
                "its link to the previous entry does not match",
            )
        if entry_digest(entry) != entry.digest:
            return ChainBreak(
                contract.domain, entry.seq, entry.pk, "its contents do not match its digest"
            )
        expected_prev, expected_seq = entry.digest, entry.seq + 1
    last_seq = chain.last_seq if chain else 0
    if last_seq != expected_seq - 1 or (chain and chain.last_digest != expected_prev):
        return ChainBreak(
            contract.domain,
            expected_seq,
            None,
            f"entry #{expected_seq} is missing (the chain was recorded up to #{last_seq})",
        )
    return None


def _entries_in_order(contract: Contract) -> Iterator[LogEntry]:
    return LogEntry.objects.filter(contract=contract).order_by("seq").iterator(chunk_size=5000)
