"""``mamori audit verify [domain]``: check the operation log's hash chains."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mamori.audit.services import log_chain_verify
from mamori.contracts.models import Contract


class Command(BaseCommand):
    help = "Verify that no operation-log entry was altered or removed."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        verify = sub.add_parser("verify", help="Walk each contract's chain (or one contract's).")
        verify.add_argument("domain", nargs="?")

    def handle(self, *args: Any, subcommand: str, domain: str | None, **options: Any) -> None:
        contracts = Contract.objects.order_by("domain")
        if domain:
            contracts = contracts.filter(domain=domain)
            if not contracts.exists():
                raise CommandError(f"No contract has the usage domain {domain!r}.")
        broken = 0
        for contract in contracts:
            chain_break = log_chain_verify(contract)
            if chain_break is None:
                self.stdout.write(f"{contract.domain}: OK")
                continue
            broken += 1
            where = f"entry #{chain_break.seq}"
            if chain_break.entry_id is not None:
                where += f" (id {chain_break.entry_id})"
            self.stderr.write(f"{contract.domain}: BROKEN at {where}: {chain_break.reason}")
        if broken:
            raise CommandError(f"{broken} contract log(s) failed verification.")
