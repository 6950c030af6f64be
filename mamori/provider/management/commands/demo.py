"""``mamori demo``: open the demo contract on the first start and say how to log in."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from mamori.contracts.models import Contract
from mamori.core.actor import Actor
from mamori.core.links import login_url
from mamori.provider import services

DEMO_DOMAIN = "demo"


class Command(BaseCommand):
    help = "Open the demo contract if it does not exist, and print how to log in."

    def handle(self, *args: Any, **options: Any) -> None:
        contract = Contract.objects.filter(domain=DEMO_DOMAIN).first()
        if contract is None:
            contract = services.contract_create(
                actor=Actor.operator(),
                domain=DEMO_DOMAIN,
                company_name="デモ株式会社",
                contact_name="見本 花子",
                contact_furigana="ミホン ハナコ",
                contact_email="demo-admin@example.com",
            )
            self.stdout.write("Opened the demo contract.")
        mailer: dict[str, Any] = settings.MAILERS["default"]
        where = mailer.get("OPTIONS", {}).get("file_path")
        self.stdout.write("")
        self.stdout.write(f"  Log in at:        {login_url(contract.domain)}")
        self.stdout.write(f"  Account:          {services.INITIAL_ACCOUNT_NAME}")
        if where:
            self.stdout.write(f"  Password:         in the registration mail under {where}/")
        else:
            self.stdout.write(
                f"  Password:         in the registration mail ({settings.EMAIL_URL})"
            )
        self.stdout.write(
            "  New password:     mamori contract resend-registration demo  (mails a new one)"
        )
        self.stdout.write("")
