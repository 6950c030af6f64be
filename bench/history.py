"""A synthetic two-year operation log, written as COPY text rows in time order.

Pure Python and deterministic for a seed. Rows come out in global time order with increasing ids,
so each contract's entries are scattered over the heap as they are in production (a contract's
page of 50 entries touches ~50 heap pages, not 4), and ``seq`` increases per contract.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import random
from collections.abc import Iterator, Sequence

# The COPY column list; every row and template below follows this order.
COLUMNS = (
    "id",
    "contract_id",
    "seq",
    "created_at",
    "request_id",
    "prev_digest",
    "digest",
    "actor_id",
    "actor_kind",
    "actor_name",
    "actor_account_name",
    "actor_privilege",
    "ip",
    "user_agent",
    "action",
    "target_type",
    "target_id",
    "target_label",
    "before",
    "after",
    "result",
)
NULL = r"\N"
HOUR_US = 3_600_000_000
JST = datetime.timezone(datetime.timedelta(hours=9))

USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "mamori-cli/0.1 python-httpx/0.28.1",
)

# (action, relative weight) of an account's own entries; all the weights below are on one scale.
ACCOUNT_ACTIONS = (
    ("account.login", 400),
    ("account.logout", 260),
    ("account.password_changed", 20),
    ("api_token.created", 12),
    ("api_token.revoked", 6),
)
# Entries without an actor id: failed logins are recorded for an anonymous visitor.
ANONYMOUS_ACTIONS = (("account.login_failed", 90), ("account.locked_out", 4))
SYSTEM_ACTIONS = (("contract.registration_mail_issued", 3),)
OPERATOR_ACTIONS = (("contract.suspended", 1), ("contract.resumed", 1))
TEMPLATES_PER_CONTRACT = 256  # a weighted pool; a row picks one with getrandbits(8)


@dataclasses.dataclass(frozen=True)
class Actor:
    """One account of a contract, as the log's name snapshot sees it."""

    id: int
    name: str  # account name
    person: str  # the user's name
    privilege: str
    weight: float  # how much of the contract's activity is this account's


@dataclasses.dataclass(frozen=True)
class ContractHistory:
    id: int
    domain: str
    entries: int
    actors: Sequence[Actor]


@dataclasses.dataclass
class ChainHead:
    last_seq: int = 0
    last_digest: str = "0" * 64


def _field(value: object) -> str:
    """One COPY text field: None is NULL; tabs, newlines and backslashes are escaped."""
    if value is None:
        return NULL
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _tail(
    *,
    actor: Actor | None,
    kind: str,
    ip: str | None,
    agent: str,
    action: str,
    target: tuple[str, str, str],
    before: object,
    after: object,
    result: str,
) -> str:
    """Columns actor_id … result of one kind of entry, pre-rendered once per contract."""
    values = (
        actor.id if actor else None,
        kind,
        actor.person if actor else "",
        actor.name if actor else "",
        actor.privilege if actor else "",
        ip,
        agent,
        action,
        *target,
        before,
        after,
        result,
    )
    return "\t".join(_field(str(v) if isinstance(v, int) else v) for v in values)


def _account_tail(rng: random.Random, c: ContractHistory, actor: Actor, action: str) -> str:
    ip = (
        f"203.0.113.{rng.randrange(1, 255)}"
        if rng.random() < 0.8
        else f"2001:db8::{rng.randrange(1, 0xFFFF):x}"
    )
    agent = rng.choice(USER_AGENTS[:4])
    target = ("account", str(actor.id), actor.name)
    after: object = None
    if action.startswith("api_token"):
        token_id = str(rng.randrange(1, 50_000))
        target = ("api_token", token_id, rng.choice(("CI", "asset sync", "MDM export", "監視")))
        if action == "api_token.created":
            after = {
                "name": target[2],
                "prefix": "mamori_" + f"{rng.getrandbits(24):06x}",
                "expires_at": "2026-03-01T09:00:00+00:00",
            }
    return _tail(
        actor=actor,
        kind="account",
        ip=ip,
        agent=agent,
        action=action,
        target=target,
        before=None,
        after=after,
        result="success",
    )


def _other_tail(rng: random.Random, c: ContractHistory, action: str) -> str:
    admin = c.actors[0]
    if action in ("account.login_failed", "account.locked_out"):
        who = rng.choice(c.actors)
        after = (
            {"reason": "invalid"} if action == "account.login_failed" else {"locked_minutes": 15}
        )
        return _tail(
            actor=None,
            kind="anonymous",
            ip=f"198.51.100.{rng.randrange(1, 255)}",
            agent=rng.choice(USER_AGENTS),
            action=action,
            target=("account", str(who.id), who.name),
            before=None,
            after=after,
            result="failure",
        )
    if action == "contract.registration_mail_issued":
        return _tail(
            actor=None,
            kind="operator",
            ip=None,
            agent="",
            action=action,
            target=("account", str(admin.id), admin.name),
            before=None,
            after={"to": f"admin@{c.domain}.example.jp", "mail_id": rng.randrange(1, 9999)},
            result="success",
        )
    status = ("active", "suspended") if action == "contract.suspended" else ("suspended", "active")
    return _tail(
        actor=None,
        kind="operator",
        ip=None,
        agent="",
        action=action,
        target=("contract", str(c.id), c.domain),
        before={"status": status[0]},
        after={"status": status[1]},
        result="success",
    )


def contract_templates(rng: random.Random, c: ContractHistory) -> list[str]:
    """A pool of pre-rendered row tails whose frequencies follow the action and actor weights."""
    kinds: list[tuple[float, str]] = []
    total_weight = sum(a.weight for a in c.actors)
    for action, weight in ACCOUNT_ACTIONS:
        for actor in c.actors:
            kinds.append(
                (weight * actor.weight / total_weight, _account_tail(rng, c, actor, action))
            )
    for action, weight in ANONYMOUS_ACTIONS + SYSTEM_ACTIONS + OPERATOR_ACTIONS:
        kinds.extend((weight / 4, _other_tail(rng, c, action)) for _ in range(4))
    weights = [w for w, _ in kinds]
    # A few rare kinds may get no slot in a small pool; fine for a benchmark.
    return rng.choices([t for _, t in kinds], weights=weights, k=TEMPLATES_PER_CONTRACT)


def created_tail(c: ContractHistory) -> str:
    """The first entry of every contract, as contract_create writes it."""
    return _tail(
        actor=None,
        kind="operator",
        ip=None,
        agent="",
        action="contract.created",
        target=("contract", str(c.id), c.domain),
        before=None,
        after={"domain": c.domain, "account": "admin", "language": "ja", "timezone": "Asia/Tokyo"},
        result="success",
    )


def hour_weight(start: datetime.datetime, progress: float) -> float:
    """Office hours in Japan on weekdays, little at night and at weekends, growing over time."""
    local = start.astimezone(JST)
    hour = local.hour
    daily = 1.0 if 9 <= hour < 19 else 0.45 if 7 <= hour < 23 else 0.08
    weekly = 0.25 if local.weekday() >= 5 else 1.0
    return daily * weekly * (0.7 + 0.6 * progress)


def hourly_counts(first_hour: datetime.datetime, hours: int, total: int) -> list[int]:
    """How many entries fall into each hour; the counts add up to ``total`` exactly."""
    weights = [
        hour_weight(first_hour + datetime.timedelta(hours=h), h / hours) for h in range(hours)
    ]
    scale = total / sum(weights)
    counts, carried, acc = [], 0, 0.0
    for w in weights:
        acc += w * scale
        n = round(acc) - carried
        counts.append(n)
        carried += n
    return counts


class HistoryWriter:
    """Produces the COPY text of every contract's log, hour by hour, oldest first."""

    def __init__(
        self, contracts: Sequence[ContractHistory], end: datetime.datetime, days: int, seed: int
    ) -> None:
        self.rng = random.Random(seed)
        self.contracts = contracts
        self.first_hour = (end - datetime.timedelta(days=days)).replace(
            minute=0, second=0, microsecond=0
        )
        self.hours = days * 24
        self.total = sum(c.entries for c in contracts)
        self.heads = [ChainHead() for _ in contracts]
        self.templates = [contract_templates(self.rng, c) for c in contracts]
        self.created = [created_tail(c) for c in contracts]
        self.cum_weights = self._cumulative([c.entries for c in contracts])
        # Placeholder digests: 64 hex characters like the real ones; the chain is not benchmarked.
        self.digests = [f"{self.rng.getrandbits(256):064x}" for _ in range(4096)]

    @staticmethod
    def _cumulative(values: Sequence[int]) -> list[int]:
        out, acc = [], 0
        for v in values:
            acc += v
            out.append(acc)
        return out

    def chunks(self) -> Iterator[tuple[int, str]]:
        """(rows so far, text) about every hour of history; the text is ready for COPY."""
        next_id = 1
        counts = hourly_counts(self.first_hour, self.hours, self.total)
        for h, n in enumerate(counts):
            if n:
                hour = self.first_hour + datetime.timedelta(hours=h)
                yield next_id - 1 + n, self._hour_rows(hour, n, next_id)
                next_id += n

    def _hour_rows(self, hour: datetime.datetime, n: int, first_id: int) -> str:
        rng = self.rng
        rand_bits = rng.getrandbits
        prefix = hour.strftime("%Y-%m-%d %H:")
        offsets = sorted(rand_bits(32) % HOUR_US for _ in range(n))
        # A contract is drawn in proportion to its planned size; the total per contract is
        # therefore approximate, which is what a real log looks like too.
        owners = rng.choices(range(len(self.contracts)), cum_weights=self.cum_weights, k=n)
        heads, templates, created, digests = self.heads, self.templates, self.created, self.digests
        contracts = self.contracts
        lines = []
        entry_id = first_id
        for off, ci in zip(offsets, owners, strict=True):
            head = heads[ci]
            seq = head.last_seq + 1
            digest = digests[entry_id & 4095]
            tail = created[ci] if seq == 1 else templates[ci][rand_bits(8)]
            minute, rest = divmod(off, 60_000_000)
            second, micro = divmod(rest, 1_000_000)
            lines.append(
                f"{entry_id}\t{contracts[ci].id}\t{seq}\t{prefix}{minute:02d}:{second:02d}."
                f"{micro:06d}+00\t{rand_bits(128):032x}\t{head.last_digest}\t{digest}\t{tail}\n"
            )
            head.last_seq, head.last_digest = seq, digest
            entry_id += 1
        return "".join(lines)
