from __future__ import annotations

import datetime
import zoneinfo
from typing import Any

from ninja import Schema

from mamori.accounts.models import Account
from mamori.audit.labels import actor_kind_label, actor_label
from mamori.audit.models import LogEntry
from mamori.audit.registry import action_label


class ContractOut(Schema):
    domain: str
    company_name: str


class AccountOut(Schema):
    id: int
    name: str
    user_name: str
    privilege: str
    support_option: bool
    language: str
    timezone: str

    @classmethod
    def of(cls, account: Account) -> AccountOut:
        return cls(
            id=account.pk,
            name=account.name,
            user_name=account.user.name,
            privilege=account.privilege,
            support_option=account.support_option,
            language=account.language,
            timezone=account.timezone,
        )


class MeOut(Schema):
    account: AccountOut
    contract: ContractOut


class ActorOut(Schema):
    kind: str
    id: int | None
    name: str
    account_name: str
    privilege: str
    label: str  # as the log screen shows it, e.g. "Mamori for 山田 (yamada)" for on_behalf


class TargetOut(Schema):
    type: str
    id: str
    label: str


class LogEntryOut(Schema):
    id: int
    seq: int
    time: datetime.datetime
    local_time: str
    actor: ActorOut
    ip: str | None
    user_agent: str
    request_id: str
    action: str
    action_label: str
    target: TargetOut
    before: Any
    after: Any
    result: str

    @classmethod
    def of(cls, entry: LogEntry, zone: zoneinfo.ZoneInfo) -> LogEntryOut:
        return cls(
            id=entry.pk,
            seq=entry.seq,
            time=entry.created_at,
            local_time=entry.created_at.astimezone(zone).isoformat(timespec="seconds"),
            actor=ActorOut(
                kind=entry.actor_kind,
                id=entry.actor_id,
                name=entry.actor_name or actor_kind_label(entry.actor_kind),
                account_name=entry.actor_account_name,
                privilege=entry.actor_privilege,
                label=actor_label(entry.actor_kind, entry.actor_name, entry.actor_account_name),
            ),
            ip=entry.ip,
            user_agent=entry.user_agent,
            request_id=entry.request_id,
            action=entry.action,
            action_label=action_label(entry.action),
            target=TargetOut(type=entry.target_type, id=entry.target_id, label=entry.target_label),
            before=entry.before,
            after=entry.after,
            result=entry.result,
        )


class LogPageOut(Schema):
    items: list[LogEntryOut]
    next_cursor: str | None
    prev_cursor: str | None
