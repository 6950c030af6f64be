"""``mamori demo``: open the demo contract on the first start and say how to log in."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from mamori.contracts.models import Contract
from mamori.core.actor import Actor
from mamori.core.links import login_url
from mamori.outbox.backends import mail_directory
from mamori.provider import services

DEMO_DOMAIN = "demo"
DEMO_EMAIL = "demo-admin@example.com"


class Command(BaseCommand):
    help = "Open the demo contract if it does not exist, and print how to log in."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--cli",
            default="mamori",
            help="how to call mamori in the commands printed (make run passes .venv/bin/mamori)",
        )

    def handle(self, *args: Any, cli: str, **options: Any) -> None:
        contract = Contract.objects.filter(domain=DEMO_DOMAIN).first()
        if contract is None:
            contract = services.contract_create(
                actor=Actor.operator(),
                domain=DEMO_DOMAIN,
                company_name="デモ株式会社",
                contact_name="見本 花子",
                contact_furigana="ミホン ハナコ",
                contact_email=DEMO_EMAIL,
            )
            self.stdout.write("Opened the demo contract.")
        account = services.registration_account(contract)
        resend = f"{cli} contract resend-registration {contract.domain}"
        if mail_directory() is not None:
            show = f"{cli} mail show --latest --to {contract.contact_email}"
        else:
            show = f"the mail to {contract.contact_email}"
        lines = [("Log in at:", login_url(contract.domain))]
        if account is None:
            lines.append(("Account:", f"none left for the contact person: {resend} says so"))
        elif account.must_change_password:
            # A password the panel has not seen replaced yet: the newest registration mail's.
            lines += [
                ("Account:", account.name),
                ("Password:", f"in the registration mail (the worker sends it): {show}"),
                ("Lost it?", f"{resend}   (mails a new one)"),
            ]
        else:
            lines += [
                ("Account:", account.name),
                ("Password:", "the one you chose at the first login"),
                ("Lost it?", f"{resend}   (mails a new one), then: {show}"),
            ]
        self.stdout.write("")
        for label, value in lines:
            self.stdout.write(f"  {label:<14} {value}")
