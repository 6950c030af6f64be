"""``mamori serve``: the panel, the API and the public door under a production WSGI server.

The server is granian (Rust's hyper in front of Python's WSGI application; PERFORMANCE.md on
this kind of machine: ~1,900 requests/s against gunicorn's ~1,400 for the same view, and the
benchmarks' server since issue 9). Each of ``--workers`` processes (default: the number of
cores) runs ``--threads`` blocking threads; every thread keeps its own persistent database
connection (``MAMORI_CONN_MAX_AGE``, health-checked before reuse), so a request does not pay a
new connection (~9 ms of CPU, PERFORMANCE.md). SIGTERM (or Ctrl-C) stops accepting connections
and lets the requests in flight finish, for at most ``--graceful-seconds``.

It refuses to start with ``MAMORI_DEBUG`` on (debug pages show settings and code to anyone), on
an error of the deployment checks (``mamori check --deploy``: a missing ``MAMORI_AUDIT_KEY``) and,
like every entry point, without ``MAMORI_SECRET_KEY`` (the settings raise); Django's system
checks run first (the operation-log key, the top-level paths). Its processes add up their
metrics in ``MAMORI_METRICS_DIR`` (``core.metrics``).
"""

from __future__ import annotations

import os
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.management.base import BaseCommand, CommandError

from mamori.core.metrics import stale_files_remove

DEBUG_REFUSED = (
    "MAMORI_DEBUG is on: `mamori serve` is the production server, and debug pages show settings "
    "and code to anyone. Set MAMORI_DEBUG=0 (or use `make run` for development)."
)


def bind_parse(value: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:8000`` for IPv6) → ``(host, port)``; ``ValueError`` naming what is
    wrong."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--bind {value!r} is not host:port (e.g. 127.0.0.1:8000).")
    return host.removeprefix("[").removesuffix("]"), int(port)


class Command(BaseCommand):
    help = (
        "Serve the panel, the API and the public door with the production WSGI server "
        "(granian): --workers processes (default: the cores) of --threads threads."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port (127.0.0.1:8000)")
        parser.add_argument(
            "--workers", type=int, default=os.cpu_count() or 1, help="processes (the cores)"
        )
        parser.add_argument(
            "--threads", type=int, default=8, help="request threads per process (8)"
        )
        parser.add_argument(
            "--graceful-seconds",
            type=int,
            default=30,
            help="on SIGTERM, how long requests in flight may take to finish (30)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.DEBUG:
            raise CommandError(DEBUG_REFUSED)
        # The deployment checks' errors stop it too (a missing audit key: every logged change,
        # a login among them, would fail); their warnings are `mamori check --deploy`'s to show.
        errors = [
            message
            for message in checks.run_checks(include_deployment_checks=True)
            if message.level >= checks.ERROR and not message.is_silenced()
        ]
        if errors:
            raise CommandError("\n".join(str(message) for message in errors))
        try:
            host, port = bind_parse(options["bind"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        for name in ("workers", "threads", "graceful_seconds"):
            if options[name] < 1:
                raise CommandError(f"--{name.replace('_', '-')} must be at least 1.")
        # WhiteNoise serves the apps' own static files (WHITENOISE_USE_FINDERS) and warns when
        # the collected ones' directory is missing.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        if settings.MAMORI_METRICS_DIR:  # counters of processes that are gone (core.metrics)
            stale_files_remove(settings.MAMORI_METRICS_DIR)
        from granian import Granian
        from granian.constants import Interfaces

        self.stdout.write(
            f"Mamori at http://{options['bind']}/ ({options['workers']} processes × "
            f"{options['threads']} threads); SIGTERM or Ctrl-C stops it."
        )
        self.stdout.flush()
        Granian(
            "mamori.wsgi:application",
            address=host,
            port=port,
            interface=Interfaces.WSGI,
            workers=options["workers"],
            blocking_threads=options["threads"],
            workers_kill_timeout=options["graceful_seconds"],
            # A process takes no more requests than it has threads; the rest wait in the socket's
            # backlog, where another process may take them, rather than behind a busy one.
            backpressure=options["threads"],
            respawn_failed_workers=True,
            log_access=False,
            log_dictconfig=granian_logging(),
        ).serve()


def granian_logging() -> dict[str, Any]:
    """granian's own lines (start, workers, shutdown) through Mamori's console handler, so that
    ``MAMORI_LOG_FORMAT=json`` makes every line of the server JSON (``settings.LOGGING``)."""
    logging: dict[str, Any] = settings.LOGGING
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": logging["filters"],
        "formatters": logging["formatters"],
        "handlers": {"console": logging["handlers"]["console"]},
        "loggers": {"_granian": {"handlers": ["console"], "level": "INFO", "propagate": False}},
    }
