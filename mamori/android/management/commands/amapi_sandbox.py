"""``mamori amapi-sandbox serve | enroll | device | enterprise | load``: the AMAPI sandbox.

A development and test tool: an emulator of the part of Google's Android Management API that
Mamori uses, on loopback, so that signup, profiles, enrollment, devices, commands and Pub/Sub
notifications run on one machine without a Google account (``mamori/android/sandbox/``). Also
reachable as ``mamori amapi_sandbox``.

``serve`` pushes to ``--push-url``, by default ``{MAMORI_BASE_URL}/pubsub/amapi/
{MAMORI_PUBSUB_PUSH_SECRET}`` (read like every setting: the environment, then ``.env``); with no
secret and no ``--push-url`` it pushes nothing. The tokens' audience is
``MAMORI_PUBSUB_AUDIENCE`` (else the push URL), their e-mail ``MAMORI_PUBSUB_SERVICE_ACCOUNT``
(else the sandbox key's).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from argparse import ArgumentParser
from dataclasses import fields
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mamori.android.sandbox import load
from mamori.android.sandbox.catalogue import model_names
from mamori.android.sandbox.controls import (
    ControlRefused,
    Controls,
    device_control,
    enterprise_access,
)
from mamori.android.sandbox.enroll import EnrollRefused, enroll
from mamori.android.sandbox.server import SandboxServer
from mamori.android.sandbox.store import STATE_FILE_NAME, Store

NOT_GOOGLE = (
    "The AMAPI sandbox is a development and test tool, not Google: with MAMORI_DEBUG off it "
    "starts only with --i-know-this-is-not-google."
)


def setting(name: str) -> str:
    """A Mamori setting the sandbox borrows: Django's settings, else the environment (``.env``
    is loaded into it before settings are read), else ``""``."""
    return str(getattr(settings, name, "") or os.environ.get(name, "") or "")


def push_url_default() -> str | None:
    """``{MAMORI_BASE_URL}/pubsub/amapi/{MAMORI_PUBSUB_PUSH_SECRET}``, or None without a secret."""
    secret = setting("MAMORI_PUBSUB_PUSH_SECRET")
    if not secret:
        return None
    base = (setting("MAMORI_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
    return f"{base}/pubsub/amapi/{secret}"


def shown(url: str | None) -> str:
    """A push URL for the terminal, its secret (the last path segment) hidden."""
    if not url:
        return "nowhere (no --push-url, no MAMORI_PUBSUB_PUSH_SECRET)"
    head, _, _ = url.rpartition("/")
    return f"{head}/…"


def rate(value: str) -> float:
    """A share between 0 and 1 (``--duplicate-rate``)."""
    number = float(value)
    if not 0 <= number <= 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "The AMAPI sandbox: an emulator of Google's Android Management API on loopback, with "
        "virtual devices that report and run commands, and Pub/Sub push notifications, for "
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
            help="enrolled devices allowed in the project (Google's default is 500; the sandbox's default is 0: no cap)",
        )
        serve.add_argument(
            "--i-know-this-is-not-google",
            action="store_true",
            dest="not_google",
            help="start even with MAMORI_DEBUG off",
        )
        serve.add_argument("--verbose", action="store_true", help="log every request")
        serve.add_argument(
            "--report-interval",
            type=float,
            default=900.0,
            metavar="SECONDS",
            help="seconds between a device's STATUS_REPORTs, jittered ±10 %% (default 900); "
            "a device also reports at once after any change",
        )
        serve.add_argument(
            "--command-delay",
            type=float,
            default=1.0,
            metavar="SECONDS",
            help="seconds before a device picks up an issued command (default 1)",
        )
        serve.add_argument(
            "--push-url",
            help="where Pub/Sub notifications are pushed (default: "
            "MAMORI_BASE_URL/pubsub/amapi/MAMORI_PUBSUB_PUSH_SECRET; none without the secret)",
        )
        serve.add_argument(
            "--duplicate-rate",
            type=rate,
            default=0.0,
            metavar="SHARE",
            help="share of messages delivered twice, 0 to 1 (e.g. 0.1)",
        )
        serve.add_argument(
            "--reorder", action="store_true", help="shuffle deliveries within small windows"
        )
        enroll_parser = sub.add_parser(
            "enroll",
            help="Enroll virtual devices with an enrollment token; prints their names.",
        )
        enroll_parser.add_argument("--token", required=True, help="the token's value")
        enroll_parser.add_argument(
            "--count", type=int, default=1, help="how many devices to enroll (default 1)"
        )
        enroll_parser.add_argument("--model", help=f"one of {', '.join(model_names())}")
        enroll_parser.add_argument(
            "--password", action="store_true", help="the devices have a screen-lock password"
        )
        enroll_parser.add_argument(
            "--personal",
            action="store_true",
            help="personally-owned devices (default: company-owned, as after a QR scan)",
        )

        device = sub.add_parser(
            "device",
            help="Act on a virtual device as its user or its surroundings would (a running "
            "serve sees the change on its next turn).",
        )
        device.add_argument("name", help="enterprises/E/devices/D, or the device id D")
        device.add_argument(
            "--stop-reporting",
            action="store_true",
            help="go silent (offline): no reports, commands wait and expire",
        )
        device.add_argument(
            "--resume-reporting", action="store_true", help="come back online and report"
        )
        device.add_argument(
            "--posture",
            choices=["secure", "at-risk", "compromised"],
            type=lambda value: value.replace("_", "-"),
            help="the securityPosture it reports: secure (SECURE again: undoes the others), "
            "at-risk (AT_RISK, UNKNOWN_OS) or compromised (POTENTIALLY_COMPROMISED, "
            "COMPROMISED_OS)",
        )
        device.add_argument(
            "--compromised",
            action="store_true",
            help="the same as --posture compromised",
        )
        device.add_argument(
            "--remove-work-profile",
            action="store_true",
            help="the user removes the work profile (or resets the phone): the device vanishes "
            "without telling the server",
        )
        device.add_argument(
            "--battery", type=float, metavar="N", help="battery level in percent (0-100)"
        )
        device.add_argument("--report-now", action="store_true", help="send a STATUS_REPORT now")
        enterprise = sub.add_parser(
            "enterprise",
            help="Act on an enterprise as its administrator would in Google's console (a "
            "running serve sees the change at once).",
        )
        enterprise.add_argument("name", help="enterprises/E, or the enterprise id E")
        access = enterprise.add_mutually_exclusive_group(required=True)
        access.add_argument(
            "--revoke-access",
            action="store_true",
            help="remove Mamori as the enterprise's EMM: every call about it is 403 "
            "PERMISSION_DENIED",
        )
        access.add_argument("--restore-access", action="store_true", help="undo --revoke-access")
        load_parser = sub.add_parser(
            "load",
            help="Push STATUS_REPORTs of many devices at a steady rate (the benchmark's load); "
            "prints the measurements as JSON.",
        )
        load_parser.add_argument(
            "--devices",
            type=int,
            default=100_000,
            help="virtual devices (enrolled if missing; default 100000)",
        )
        load_parser.add_argument("--rate", type=float, required=True, help="messages per second")
        load_parser.add_argument("--seconds", type=float, required=True, help="how long")
        load_parser.add_argument("--push-url", help="default as for serve")
        load_parser.add_argument("--enterprise", help="enterprises/E (default: the newest)")
        load_parser.add_argument("--threads", type=int, default=8,
                                 help="connections sending at once (default 8)")  # fmt: skip

    def handle(self, *args: Any, subcommand: str, **options: Any) -> None:
        var_dir = Path(settings.VAR_DIR)
        {
            "serve": self.serve,
            "enroll": self.enroll,
            "device": self.device,
            "enterprise": self.enterprise,
            "load": self.load,
        }[subcommand](var_dir, options)

    def serve(self, var_dir: Path, options: dict[str, Any]) -> None:
        if not settings.DEBUG and not options["not_google"]:
            raise CommandError(NOT_GOOGLE)
        if options["quota"] < 1 or options["device_cap"] < 0:
            raise CommandError("--quota must be at least 1 and --device-cap at least 0.")
        if options["report_interval"] <= 0 or options["command_delay"] < 0:
            raise CommandError("--report-interval must be positive and --command-delay at least 0.")
        push_url = options["push_url"] or push_url_default()
        try:
            server = SandboxServer(
                var_dir,
                options["host"],
                options["port"],
                verbose=options["verbose"],
                report_interval=options["report_interval"],
                command_delay=options["command_delay"],
                push_url=push_url,
                push={
                    "audience": setting("MAMORI_PUBSUB_AUDIENCE") or None,
                    "email": setting("MAMORI_PUBSUB_SERVICE_ACCOUNT") or None,
                    "duplicate_rate": options["duplicate_rate"],
                    "reorder": options["reorder"],
                },
            )
        except (ValueError, OSError) as exc:
            raise CommandError(f"The AMAPI sandbox cannot start: {exc}") from exc
        server.store.limits_set(quota=options["quota"], device_cap=options["device_cap"])
        # make run stops it with SIGTERM: leave as after Ctrl-C, without a traceback.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        self.stdout.write(
            f"AMAPI sandbox (not Google) at {server.endpoint}\n"
            f"  key file: {server.key_file}\n  state:    {server.store.path}\n"
            f"  certs:    {server.certs_url}\n  pushes to {shown(push_url)}"
        )
        self.stdout.flush()  # a pipe (make run's log, a test) sees it before the first request
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server.server_close()

    def enroll(self, var_dir: Path, options: dict[str, Any]) -> None:
        store = self.state(var_dir)
        try:
            names = enroll(
                store,
                options["token"],
                options["count"],
                model=options["model"],
                password=options["password"],
                personal=options["personal"],
            )
        except EnrollRefused as refused:
            raise CommandError(f"Enrollment refused: {refused}") from refused
        self.stdout.write("\n".join(names))

    def device(self, var_dir: Path, options: dict[str, Any]) -> None:
        store = self.state(var_dir)
        if options["posture"]:
            options["posture"] = options["posture"].replace("-", "_")  # the POSTURES key
        controls = Controls(**{field.name: options[field.name] for field in fields(Controls)})
        try:
            self.stdout.write(device_control(store, options["name"], controls))
        except ControlRefused as refused:
            raise CommandError(str(refused)) from refused

    def enterprise(self, var_dir: Path, options: dict[str, Any]) -> None:
        store = self.state(var_dir)
        try:
            self.stdout.write(
                enterprise_access(store, options["name"], revoked=options["revoke_access"])
            )
        except ControlRefused as refused:
            raise CommandError(str(refused)) from refused

    def load(self, var_dir: Path, options: dict[str, Any]) -> None:
        self.state(var_dir)
        push_url = options["push_url"] or push_url_default()
        if not push_url:
            raise CommandError("No push URL: give --push-url or set MAMORI_PUBSUB_PUSH_SECRET.")
        try:
            result = load.run(
                var_dir=var_dir,
                devices=options["devices"],
                rate=options["rate"],
                seconds=options["seconds"],
                push_url=push_url,
                enterprise=options["enterprise"],
                threads=options["threads"],
                audience=setting("MAMORI_PUBSUB_AUDIENCE") or None,
                email=setting("MAMORI_PUBSUB_SERVICE_ACCOUNT") or None,
            )
        except load.LoadRefused as refused:
            raise CommandError(str(refused)) from refused
        self.stdout.write(json.dumps(result, indent=2))

    def state(self, var_dir: Path) -> Store:
        """The state file's store; CommandError when serve never ran here."""
        state = var_dir / STATE_FILE_NAME
        if not state.is_file():
            raise CommandError(
                f"No sandbox state at {state}: start `mamori amapi-sandbox serve` first."
            )
        return Store(state)
