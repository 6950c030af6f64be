"""``mamori notice send …``: the service operator's notice mail to opted-in support-option accounts."""

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from mamori.core.actor import Actor
from mamori.support.services import notice_send

LANGUAGE_NAMES = {"ja": "Japanese", "en": "English"}
# The service's field names, as the operator typed them.
OPTIONS = {
    "subject_ja": "--subject-ja",
    "subject_en": "--subject-en",
    "body_ja": "--body-file-ja",
    "body_en": "--body-file-en",
    "domain": "--domain",
}


def read_body(path: str | None, option: str) -> str:
    """A body file's text (UTF-8, with or without BOM); '' when the option is not given."""
    if path is None:
        return ""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CommandError(f"{option}: there is no file {path}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"{option}: {path} cannot be read as UTF-8 text ({exc}).") from None
    if not text.strip():
        raise CommandError(f"{option}: {path} is empty.")
    return text


def error_text(exc: ValidationError) -> str:
    if not hasattr(exc, "error_dict"):
        return "\n".join(exc.messages)
    return "\n".join(
        f"{OPTIONS.get(field, field)}: {message}"
        for field, messages in exc.message_dict.items()
        for message in messages
    )


class Command(BaseCommand):
    help = "Send the operator's notice mail to support-option accounts that opted in to it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        send = sub.add_parser(
            "send",
            help="Mail a notice to each opted-in support-option account, in its language.",
        )
        send.add_argument("--subject-ja", help="subject for accounts in Japanese")
        send.add_argument("--subject-en", help="subject for accounts in English")
        send.add_argument("--body-file-ja", help="UTF-8 text file with the Japanese body")
        send.add_argument("--body-file-en", help="UTF-8 text file with the English body")
        send.add_argument(
            "--domain", help="only this contract's accounts (default: every contract)"
        )
        send.add_argument(
            "--dry-run", action="store_true", help="check the notice and count recipients only"
        )

    def handle(self, *args: Any, subcommand: str, **options: Any) -> None:
        translation.activate(
            "en"
        )  # the operator's console speaks English; mail follows each account
        try:
            getattr(self, "do_" + subcommand)(**options)
        except ValidationError as exc:
            raise CommandError(error_text(exc)) from None

    def do_send(self, **o: Any) -> None:
        texts = {
            "subject_ja": o["subject_ja"] or "",
            "subject_en": o["subject_en"] or "",
            "body_ja": read_body(o["body_file_ja"], "--body-file-ja"),
            "body_en": read_body(o["body_file_en"], "--body-file-en"),
        }
        reached = notice_send(
            actor=Actor.operator(), domain=o["domain"], dry_run=o["dry_run"], **texts
        )
        given = [code for code in LANGUAGE_NAMES if texts[f"subject_{code}"].strip()]
        if len(given) == 1:
            name = LANGUAGE_NAMES[given[0]]
            self.stdout.write(f"Only {name} was given: every recipient gets the {name} notice.")
        verb = "would be queued" if o["dry_run"] else "queued"
        for reach in reached:
            self.stdout.write(f"{reach.contract.domain}: {reach.recipients} mail(s) {verb}")
        total = sum(reach.recipients for reach in reached)
        if o["dry_run"]:
            self.stdout.write(
                f"Dry run: {total} mail(s) for {len(reached)} contract(s); none sent."
            )
        else:
            self.stdout.write(
                f"{total} notice mail(s) queued for {len(reached)} contract(s) "
                "(see: mamori mail outbox)."
            )
