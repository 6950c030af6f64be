"""CSV import of 100,000 users, timed: ``python -m bench.users_import [--database-url URL]``.

Opens a fresh contract in a migrated PostgreSQL database, writes a CSV of ``--users`` users (two
e-mail addresses each, one in ``--accounts-every`` with an Operator account) in ``--organizations``
organizations ``--depth`` levels deep, none of which exist yet, and runs the import's check and the
import itself directly (not through HTTP or the task queue), printing the seconds each took.

    createdb -h 127.0.0.1 -U postgres mamori_users_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mamori_users_bench .venv/bin/mamori migrate
    .venv/bin/python -m bench.users_import
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import time

from bench import database

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mamori_users_bench"
FAMILY = (
    ("佐藤", "さとう"),
    ("鈴木", "すずき"),
    ("高橋", "タカハシ"),
    ("田中", "ﾀﾅｶ"),
    ("伊藤", "イトウ"),
)
GIVEN = (
    ("太郎", "タロウ"),
    ("花子", "はなこ"),
    ("健", "ケン"),
    ("美咲", "ミサキ"),
    ("翔", "ショウ"),
)


def organization_paths(root: str, organizations: int, depth: int) -> list[str]:
    """``organizations`` paths below the root: chains of ``depth`` levels (the root is level 0)."""
    paths = []
    for chain in range(organizations // depth):
        names = [root]
        for level in range(1, depth + 1):
            names.append(f"第{chain:03d}本部" if level == 1 else f"L{level}課{chain:03d}")
            paths.append(" / ".join(names))
    return paths


def users_csv(root: str, *, users: int, organizations: int, depth: int, accounts_every: int) -> str:
    paths = organization_paths(root, organizations, depth)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "organization",
            "name",
            "furigana",
            "employee_code",
            "title",
            "phone",
            "emails",
            "account_name",
            "privilege",
            "language",
            "timezone",
        ]
    )
    for n in range(users):
        (family, family_kana), (given, given_kana) = FAMILY[n % 5], GIVEN[n // 5 % 5]
        account = n % accounts_every == 0
        writer.writerow(
            [
                paths[n % len(paths)],
                f"{family} {given}{n}",
                f"{family_kana} {given_kana}",
                f"E{n:06d}",
                "主任" if n % 10 == 0 else "",
                f"03-{n % 10000:04d}-{n % 7777:04d}",
                f"user{n}@bench.example:main;u{n}@work.example:work",
                f"op{n}" if account else "",
                "operator" if account else "",
                "ja" if account else "",
                "Asia/Tokyo" if account else "",
            ]
        )
    return buffer.getvalue()


def _run_step(kind: str, import_id: int) -> None:
    """Run the import's work of ``kind`` here, as a worker would."""
    from mamori.core.models import Work
    from mamori.core.work import work_run

    outcome = work_run(Work.objects.get(kind=kind, payload__import=import_id).pk)
    assert outcome.status == "done", outcome


def run(*, users: int, organizations: int, depth: int, accounts_every: int) -> dict[str, object]:
    from mamori.accounts.models import Account
    from mamori.core.actor import Actor
    from mamori.provider.services import contract_create
    from mamori.users_csv import services as services_csv
    from mamori.users_csv.models import UserImport

    domain = f"csvbench{int(time.time())}"
    contract = contract_create(
        actor=Actor.operator(),
        domain=domain,
        company_name="ベンチ株式会社",
        contact_name="管理 者",
        contact_furigana="カンリ シャ",
        contact_email=f"admin@{domain}.example",
    )
    admin = Account.objects.select_related("contract", "user__organization").get(contract=contract)
    text = users_csv(
        contract.company_name,
        users=users,
        organizations=organizations,
        depth=depth,
        accounts_every=accounts_every,
    )
    actor = Actor(account=admin)
    started = time.perf_counter()
    user_import = services_csv.user_import_start(
        actor=actor,
        contract=contract,
        filename="bench.csv",
        file=io.BytesIO(text.encode("utf-8-sig")),
        mode=UserImport.Mode.ADD,
    )
    uploaded = time.perf_counter()
    _run_step(services_csv.CHECK, user_import.pk)
    checked = time.perf_counter()
    user_import.refresh_from_db()
    assert user_import.status == UserImport.Status.READY, user_import.errors[:5]
    services_csv.user_import_apply(actor=actor, user_import=user_import)
    _run_step(services_csv.RUN, user_import.pk)
    imported = time.perf_counter()
    user_import.refresh_from_db()
    assert user_import.status == UserImport.Status.DONE, user_import.summary
    return {
        "contract": domain,
        "upload": uploaded - started,
        "check": checked - uploaded,
        "import": imported - checked,
        "total": imported - started,
        **user_import.summary["result"],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.users_import", description=__doc__)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--organizations", type=int, default=1000)
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--accounts-every", type=int, default=100)
    args = parser.parse_args(argv)
    os.environ["DATABASE_URL"] = args.database_url
    # The check and the import are called directly; invitation mails stay in the outbox.
    os.environ["MAMORI_TASK_BACKEND"] = "django.tasks.backends.dummy.DummyBackend"
    database.bench_environment()
    import django

    django.setup()
    result = run(
        users=args.users,
        organizations=args.organizations,
        depth=args.depth,
        accounts_every=args.accounts_every,
    )
    for key, value in result.items():
        print(f"{key:>22}: {value:.2f} s" if isinstance(value, float) else f"{key:>22}: {value}")


if __name__ == "__main__":
    main()
