"""``mamori contract …``: the service operator opens and manages contracts."""

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from mamori.contracts.models import Contract, domain_key
from mamori.core.actor import Actor
from mamori.core.links import command_as_typed, login_url
from mamori.core.text import columns
from mamori.provider import services


def validation_error_text(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "\n".join(
            f"{field}: {message}"
            for field, messages in exc.message_dict.items()
            for message in messages
        )
    return "\n".join(exc.messages)


class Command(BaseCommand):
    help = "Open, list, suspend and resume contracts, and re-send the registration mail."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        create = sub.add_parser("create", help="Open a contract and mail its contact person.")
        create.add_argument("--domain", required=True, help="usage domain, e.g. acme")
        create.add_argument("--company", required=True, help="company name")
        create.add_argument("--contact-name", required=True)
        create.add_argument("--contact-furigana", required=True, help="katakana reading")
        create.add_argument("--contact-email", required=True)
        create.add_argument("--language", default="ja", choices=["ja", "en"])
        create.add_argument(
            "--timezone",
            default="Asia/Tokyo",
            help="IANA timezone (any capitalisation), or JST, UTC+9…",
        )
        sub.add_parser("list", help="List contracts.")
        for name, text in (
            ("resend-registration", "Issue a new password and mail it to the contact person."),
            ("suspend", "Stop the contract's accounts from logging in."),
            ("resume", "Let the contract's accounts log in again."),
        ):
            sub.add_parser(name, help=text).add_argument("domain")

    def handle(self, *args: Any, subcommand: str, **options: Any) -> None:
        translation.activate(
            "en"
        )  # the operator's console speaks English; mail follows the contact
        try:
            getattr(self, "do_" + subcommand.replace("-", "_"))(**options)
        except ValidationError as exc:
            raise CommandError(validation_error_text(exc)) from None

    def _contract(self, domain: str) -> Contract:
        contract = Contract.objects.filter(domain=domain_key(domain)).first()
        if contract is None:
            raise CommandError(f"No contract has the usage domain {domain!r}.")
        return contract

    def do_create(self, **o: Any) -> None:
        contract = services.contract_create(
            actor=Actor.operator(),
            domain=o["domain"],
            company_name=o["company"],
            contact_name=o["contact_name"],
            contact_furigana=o["contact_furigana"],
            contact_email=o["contact_email"],
            language=o["language"],
            timezone_name=o["timezone"],
        )
        self.stdout.write(f"Contract {contract.domain} opened for {contract.company_name}.")
        self.stdout.write(f"Login URL: {login_url(contract.domain)}")
        cli = command_as_typed()
        self.stdout.write(
            f"The registration mail to {contract.contact_email} is queued: `{cli} mail outbox` "
            f"shows it, `{cli} mail show --latest` prints it once sent."
        )

    def do_list(self, **o: Any) -> None:
        rows = [("DOMAIN", "STATUS", "COMPANY", "CONTACT", "CREATED (UTC)")]
        for c in Contract.objects.order_by("domain"):
            rows.append(
                (
                    c.domain,
                    c.status,
                    c.company_name,
                    c.contact_email,
                    c.created_at.strftime("%Y-%m-%d %H:%M"),
                )
            )
        widths = [max(columns(r[i]) for r in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write(
                "  ".join(
                    v + " " * (w - columns(v)) for v, w in zip(row, widths, strict=True)
                ).rstrip()
            )

    def do_resend_registration(self, **o: Any) -> None:
        contract = self._contract(o["domain"])
        services.registration_resend(actor=Actor.operator(), contract=contract)
        self.stdout.write(
            f"A new password for {contract.domain} is being mailed to {contract.contact_email}."
        )

    def do_suspend(self, **o: Any) -> None:
        contract = self._contract(o["domain"])
        services.contract_suspend(actor=Actor.operator(), contract=contract)
        self.stdout.write(f"Contract {contract.domain} is suspended.")

    def do_resume(self, **o: Any) -> None:
        contract = self._contract(o["domain"])
        services.contract_resume(actor=Actor.operator(), contract=contract)
        self.stdout.write(f"Contract {contract.domain} is active.")
