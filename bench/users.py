"""``python -m bench.users``: the Users/Org list at 100,000 users in 1,000 organizations (10 levels
deep), through a real server, against the same SQL run directly.

The page's own queries (the organization tree, the user counts, one page of users, their e-mails)
are captured from Django and replayed with psycopg; the ratio compares the page's p95 with the
p95 of all of them together.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import time
from typing import Any

from bench import database, report
from bench.measure import _timed, percentile, sql_connection
from bench.web import Client, Server

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mamori_bench_users"
DOMAIN = "users-bench"
ACCOUNT = "admin"
PASSWORD = "Bench-users-2026!"
SEED = 20261123

FAMILY = [
    "サトウ",
    "スズキ",
    "タカハシ",
    "タナカ",
    "ワタナベ",
    "イトウ",
    "ヤマモト",
    "ナカムラ",
    "コバヤシ",
    "カトウ",
    "ヨシダ",
    "ヤマダ",
    "ササキ",
    "ヤマグチ",
    "マツモト",
    "イノウエ",
    "キムラ",
    "ハヤシ",
    "シミズ",
    "ヤマザキ",
]
FAMILY_KANJI = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "渡辺",
    "伊藤",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "清水",
    "山崎",
]
GIVEN = [
    ("ヒロシ", "博"),
    ("アキラ", "明"),
    ("ユウコ", "裕子"),
    ("ケンジ", "健二"),
    ("ハナコ", "花子"),
    ("タロウ", "太郎"),
    ("ミホ", "美穂"),
    ("ダイスケ", "大輔"),
    ("サクラ", "さくら"),
    ("ショウタ", "翔太"),
]


def fill(users: int, organizations: int, depth: int) -> int:
    """One contract with ``organizations`` in a tree ``depth`` levels deep and ``users`` users."""
    from django.db import transaction

    from mamori.accounts.models import Account
    from mamori.contracts.models import Contract
    from mamori.core.actor import Actor
    from mamori.core.text import fold
    from mamori.directory.models import Organization, User, UserEmail, reading_key
    from mamori.provider.services import contract_create

    existing = Contract.objects.filter(domain=DOMAIN).first()
    if existing and User.objects.filter(contract=existing).count() >= users:
        return existing.pk
    if existing:
        raise SystemExit(f"{DOMAIN!r} exists but is not filled: drop the database and run again")
    rng = random.Random(SEED)
    contract = contract_create(
        actor=Actor.operator(),
        domain=DOMAIN,
        company_name="ベンチ株式会社",
        contact_name="管理 太郎",
        contact_furigana="カンリ タロウ",
        contact_email="admin@users-bench.example",
    )
    admin = Account.objects.get(contract=contract, name=ACCOUNT)
    admin.set_password(PASSWORD)
    admin.must_change_password = False
    admin.save()
    root = Organization.objects.get(contract=contract, parent=None)
    with transaction.atomic():
        levels: list[list[Organization]] = [[root]]
        per_level = (organizations - 1) // (depth - 1)
        for level in range(1, depth):
            count = per_level if level < depth - 1 else organizations - 1 - per_level * (depth - 2)
            parents = levels[-1]
            made = Organization.objects.bulk_create(
                Organization(
                    contract=contract, parent=rng.choice(parents), name=f"部署 L{level}-{n}"
                )
                for n in range(count)
            )
            for o in made:
                o.path = f"{o.parent.path}{o.pk}/"
            Organization.objects.bulk_update(made, ["path"], batch_size=1000)
            levels.append(made)
        all_orgs = [o for level in levels for o in level]
        batch: list[User] = []
        for n in range(users):
            f = rng.randrange(len(FAMILY))
            g = rng.randrange(len(GIVEN))
            name, furigana = f"{FAMILY_KANJI[f]} {GIVEN[g][1]}", f"{FAMILY[f]}\u3000{GIVEN[g][0]}"
            batch.append(
                User(
                    contract=contract,
                    organization=rng.choice(all_orgs),
                    name=name,
                    furigana=furigana,
                    employee_code=f"E{n:06d}",
                    # bulk_create skips User.save(): the search keys as it would keep them.
                    name_key=fold(name),
                    furigana_key=reading_key(furigana),
                )
            )
        made_users = User.objects.bulk_create(batch, batch_size=5000)
        UserEmail.objects.bulk_create(
            (
                UserEmail(user=u, address=f"user{u.pk}@users-bench.example", category="main")
                for u in made_users
            ),
            batch_size=5000,
        )
    from mamori.directory.services import organization_user_counts_refresh

    organization_user_counts_refresh(contract.pk)
    with sql_connection(database_url()) as conn:
        conn.execute("VACUUM ANALYZE")
    return contract.pk


_URL = DEFAULT_URL


def database_url() -> str:
    return _URL


@dataclasses.dataclass
class Case:
    name: str
    params: dict[str, str]
    queries: list[str] = dataclasses.field(default_factory=list)


def cases(contract_id: int) -> list[Case]:
    from mamori.directory.models import Organization, User

    mid = Organization.objects.filter(contract_id=contract_id, path__regex=r"^(/\d+){4}/$").first()
    leaf = Organization.objects.filter(contract_id=contract_id).order_by("-path").first()
    users = User.objects.filter(contract_id=contract_id).order_by("furigana", "id")
    deep = users[users.count() // 2]
    from mamori.directory.selectors import USER_ORDER

    return [
        Case("first page", {}),
        Case("a page halfway through", {"after": USER_ORDER.encode(deep)}),
        Case("search: furigana prefix ヤマ", {"q": "ヤマ"}),
        Case("search: name 佐藤", {"q": "佐藤"}),
        Case("organization subtree (level 3)", {"org": str(mid.pk)}),
        Case("one organization, no sub-organizations", {"org": str(leaf.pk), "sub": "0"}),
    ]


def capture(client: Any, case: Case, domain: str) -> list[str]:
    """The SQL the page runs, minus the session and account look-ups every page shares."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/{domain}/users/", case.params)
    assert response.status_code == 200, response.status_code
    skip = ("django_session", '"accounts_account"."id" =', '"contracts_contract"."domain" =')
    return [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].startswith("SELECT") and not any(s in q["sql"] for s in skip)
    ]


def main(argv: list[str] | None = None) -> None:
    global _URL
    parser = argparse.ArgumentParser(
        prog="python -m bench.users", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--organizations", type=int, default=1_000)
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args(argv)
    _URL = args.database_url
    if not database.exists(_URL):
        database.create(_URL)
    database.django_setup(_URL)
    started = time.perf_counter()
    contract_id = fill(args.users, args.organizations, args.depth)
    fill_seconds = time.perf_counter() - started

    from django.test import Client as DjangoClient

    from mamori.accounts.models import Account

    admin = Account.objects.get(contract_id=contract_id, name=ACCOUNT)
    in_process = DjangoClient(HTTP_HOST="127.0.0.1")
    in_process.force_login(admin)
    the_cases = cases(contract_id)
    for case in the_cases:
        case.queries = capture(in_process, case, DOMAIN)

    rows = []
    with sql_connection(_URL) as conn, Server(_URL) as server:
        print(report.facts_table("Machine", report.machine_facts(conn)))
        print(f"\nfill (or check): {fill_seconds:.1f} s\n")
        client = Client(server.base)
        client.login(DOMAIN, ACCOUNT, PASSWORD)
        for case in the_cases:

            def run_sql(case: Case = case) -> None:
                with conn.cursor() as cur:
                    for sql in case.queries:
                        cur.execute(sql)
                        cur.fetchall()

            sql_times, _ = _timed(run_sql, args.requests, args.warmup)
            http_times, body = _timed(
                lambda case=case: client.get(f"/{DOMAIN}/users/", case.params),
                args.requests,
                args.warmup,
            )
            if b"users-table" not in body:
                raise RuntimeError(f"{case.name}: not the user list")
            http95, sql95 = percentile(http_times, 95) * 1000, percentile(sql_times, 95) * 1000
            ratio = http95 / sql95 if sql95 else float("inf")
            verdict = (
                "pass"
                if http95 <= 100 and ratio <= 3
                else ("pass (≤ 100 ms), ratio over 3×" if http95 <= 100 else "FAIL")
            )
            rows.append(
                (
                    case.name,
                    percentile(http_times, 50) * 1000,
                    http95,
                    percentile(sql_times, 50) * 1000,
                    sql95,
                    ratio,
                    len(case.queries),
                    verdict,
                )
            )
    print(
        "| case | HTTP p50 | HTTP p95 | SQL p50 | SQL p95 | ratio p95 | queries | target: p95 ≤ 100 ms, ≤ 3× raw |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|---|")
    for name, h50, h95, s50, s95, ratio, queries, verdict in rows:
        print(
            f"| {name} | {h50:.1f} ms | {h95:.1f} ms | {s50:.2f} ms | {s95:.2f} ms | {ratio:.1f}× | {queries} | {verdict} |"
        )


if __name__ == "__main__":
    main()
