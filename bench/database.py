"""The benchmark's own PostgreSQL database: create it, recognise it, wipe it, migrate it."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/mamori_bench"
# Written by the fill when it has finished; a database without it is not (fully) filled.
MARKER_TABLE = "bench_fill"


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def maintenance_url(url: str) -> str:
    """The same server, database ``postgres``: CREATE/DROP DATABASE cannot run inside the target."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres"))


def connect(url: str, **kwargs: object) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True, **kwargs)  # type: ignore[arg-type]


def exists(url: str) -> bool:
    with connect(maintenance_url(url)) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database_name(url)])
        return row.fetchone() is not None


def create(url: str) -> None:
    with connect(maintenance_url(url)) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database_name(url))))


def drop(url: str) -> None:
    with connect(maintenance_url(url)) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(database_name(url))
            )
        )


def fill_state(url: str) -> dict[str, int] | None:
    """What the last finished fill made, or None if there was none.

    Raises when the database holds contracts but no marker table: then it is somebody's real
    database, and the benchmark must not wipe it.
    """
    with connect(url) as conn:
        tables = {
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        if MARKER_TABLE not in tables:
            if (
                "contracts_contract" in tables
                and conn.execute("SELECT EXISTS (SELECT 1 FROM contracts_contract)").fetchone()[0]
            ):  # type: ignore[index]
                raise SystemExit(
                    f"Refusing to use {database_name(url)!r}: it holds contracts that the benchmark "
                    "did not make. Pass --database-url with a database of its own."
                )
            return None
        row = conn.execute(
            f"SELECT entries, contracts, bench_entries, seconds FROM {MARKER_TABLE}"
        ).fetchone()
    if row is None:
        return None
    return {"entries": row[0], "contracts": row[1], "bench_entries": row[2], "seconds": row[3]}


def marker_create(conn: psycopg.Connection) -> None:
    """Mark the database as the benchmark's before filling it, so an interrupted fill is redone."""
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (entries bigint, contracts int, "
        "bench_entries bigint, seconds int, filled_at timestamptz DEFAULT now())"
    )


def marker_write(
    conn: psycopg.Connection, *, entries: int, contracts: int, bench_entries: int, seconds: float
) -> None:
    conn.execute(f"DELETE FROM {MARKER_TABLE}")
    conn.execute(
        f"INSERT INTO {MARKER_TABLE} (entries, contracts, bench_entries, seconds) "
        "VALUES (%s, %s, %s, %s)",
        [entries, contracts, bench_entries, round(seconds)],
    )


# The bench runs with debug off, as production does, and so needs a secret key; its database
# is thrown away, so a fixed, public one will do (set MAMORI_SECRET_KEY to use another).
BENCH_SECRET_KEY = "bench-only-not-a-secret-4e0f6a2d9b8c"


def bench_environment() -> None:
    """Give this process the settings every bench entry point shares (debug off, a key)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mamori.settings")
    os.environ.setdefault("MAMORI_DEBUG", "0")
    if "MAMORI_SECRET_KEY_FILE" not in os.environ:
        os.environ.setdefault("MAMORI_SECRET_KEY", BENCH_SECRET_KEY)


def django_setup(url: str) -> None:
    """Point the project's settings at the bench database, then start Django and migrate."""
    os.environ["DATABASE_URL"] = url
    bench_environment()
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
