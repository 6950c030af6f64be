"""``mamori amapi-sandbox serve`` and ``mamori amapi-sandbox enroll``: the AMAPI sandbox.

A development and test tool: an emulator of the part of Google's Android Management API that
Mamori uses, on loopback, so that signup, profiles and enrollment run on one machine without a
Google account (``mamori/android/sandbox/``). Also reachable as ``mamori amapi_sandbox``.
"""

from __future__ import annotations

import signal
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mamori.android.sandbox.catalogue import model_names
from mamori.android.sandbox.enroll import EnrollRefused, enroll
from mamori.android.sandbox.server import SandboxServer
from mamori.android.sandbox.store import STATE_FILE_NAME, Store

NOT_GOOGLE = (
    "The AMAPI sandbox is a development and test tool, not Google: with MAMORI_DEBUG off it "
    "starts only with --i-know-this-is-not-google."
)


class Command(BaseCommand):
    help = (
        "The AMAPI sandbox: an emulator of Google's Android Management API on loopback, for "
        "development and tests (never for production)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        serve = sub.add_parser(
            "serve",
            help="Serve AMAPI v1 at http://HOST:PORT/ and write the key file "
            "$MAMORI_VAR_DIR/amapi-sandbox-key.json (state: amapi-sandbox.sqlite3 beside it).",
        )
        serve.add_argument("--port", type=int, default=8765)
        serve.add_argument("--host", default="127.0.0.1", help="a loopback address")
        serve.add_argument(
            "--quota",
            type=int,
            default=1000,
            help="API queries allowed per 100 s (sliding window); more get 429 RESOURCE_EXHAUSTED",
        )
        serve.add_argument(
            "--device-cap",
            type=int,
            default=0,
            help="enrolled devices allowed in the project (Google's default is 500; 0: no cap)",
        )
        serve.add_argument(
            "--i-know-this-is-not-google",
            action="store_true",
            dest="not_google",
            help="start even with MAMORI_DEBUG off",
        )
        serve.add_argument("--verbose", action="store_true", help="log every request")
        enroll_parser = sub.add_parser(
            "enroll",
            help="Enroll virtual devices with an enrollment token; prints their names.",
        )
        enroll_parser.add_argument("--token", required=True, help="the token's value")
        enroll_parser.add_argument("--count", type=int, default=1)
        enroll_parser.add_argument("--model", help=f"one of {', '.join(model_names())}")
        enroll_parser.add_argument(
            "--password", action="store_true", help="the devices have a screen-lock password"
        )
        enroll_parser.add_argument(
            "--personal",
            action="store_true",
            help="personally-owned devices (default: company-owned, as after a QR scan)",
        )

    def handle(self, *args: Any, subcommand: str, **options: Any) -> None:
        var_dir = Path(settings.VAR_DIR)
        if subcommand == "serve":
            self.serve(var_dir, options)
        else:
            self.enroll(var_dir, options)

    def serve(self, var_dir: Path, options: dict[str, Any]) -> None:
        if not settings.DEBUG and not options["not_google"]:
            raise CommandError(NOT_GOOGLE)
        if options["quota"] < 1 or options["device_cap"] < 0:
            raise CommandError("--quota must be at least 1 and --device-cap at least 0.")
        try:
            server = SandboxServer(
                var_dir, options["host"], options["port"], verbose=options["verbose"]
            )
        except (ValueError, OSError) as exc:
            raise CommandError(f"The AMAPI sandbox cannot start: {exc}") from exc
        server.store.limits_set(quota=options["quota"], device_cap=options["device_cap"])
        # make run stops it with SIGTERM: leave as after Ctrl-C, without a traceback.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        self.stdout.write(
            f"AMAPI sandbox (not Google) at {server.endpoint}\n"
            f"  key file: {server.key_file}\n  state:    {server.store.path}"
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server.server_close()

    def enroll(self, var_dir: Path, options: dict[str, Any]) -> None:
        state = var_dir / STATE_FILE_NAME
        if not state.is_file():
            raise CommandError(
                f"No sandbox state at {state}: start `mamori amapi-sandbox serve` first."
            )
        try:
            names = enroll(
                Store(state),
                options["token"],
                options["count"],
                model=options["model"],
                password=options["password"],
                personal=options["personal"],
            )
        except EnrollRefused as refused:
            raise CommandError(f"Enrollment refused: {refused}") from refused
        self.stdout.write("\n".join(names))
