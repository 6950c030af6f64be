"""``mamori audit verify [domain] [--checkpoints FILE]`` and ``mamori audit checkpoint``."""

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from mamori.audit.checkpoints import Checkpoint, audit_checkpoint_write, checkpoint_file_read
from mamori.audit.services import log_chain_verify
from mamori.contracts.models import Contract


class Command(BaseCommand):
    help = "Verify the operation log's chains, or write a signed checkpoint of their heads."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        verify = sub.add_parser("verify", help="Walk each contract's chain (or one contract's).")
        verify.add_argument("domain", nargs="?")
        verify.add_argument(
            "--checkpoints",
            metavar="FILE",
            help="Also check the chains against the signed checkpoints in FILE (JSON lines).",
        )
        checkpoint = sub.add_parser(
            "checkpoint", help="Append a signed checkpoint of every chain head that moved."
        )
        checkpoint.add_argument("--file", help="Instead of MAMORI_AUDIT_CHECKPOINT_FILE.")

    def handle(self, *args: Any, subcommand: str, **options: Any) -> None:
        try:
            if subcommand == "checkpoint":
                self._checkpoint(options["file"])
            else:
                self._verify(options["domain"], options["checkpoints"])
        except ImproperlyConfigured as exc:  # no audit key: say so, without a traceback
            raise CommandError(str(exc)) from exc

    def _checkpoint(self, path: str | None) -> None:
        try:
            written = audit_checkpoint_write(path=path)
        except OSError as exc:
            raise CommandError(f"The checkpoint file cannot be written: {exc}") from exc
        for checkpoint in written:
            self.stdout.write(f"{checkpoint.domain}: checkpoint at entry #{checkpoint.seq}")
        if not written:
            self.stdout.write("No chain moved since its last checkpoint.")

    def _verify(self, domain: str | None, path: str | None) -> None:
        contracts = Contract.objects.order_by("domain")
        if domain:
            contracts = contracts.filter(domain=domain)
            if not contracts.exists():
                raise CommandError(f"No contract has the usage domain {domain!r}.")
        checkpoints: list[Checkpoint] = []
        broken = 0
        if path:
            checkpoints, broken = self._checkpoints_read(path, domain)
        for contract in contracts:
            chain_break = log_chain_verify(contract, checkpoints=checkpoints)
            if chain_break is None:
                self.stdout.write(f"{contract.domain}: OK")
                continue
            broken += 1
            where = f"entry #{chain_break.seq}"
            if chain_break.entry_id is not None:
                where += f" (id {chain_break.entry_id})"
            self.stderr.write(f"{contract.domain}: BROKEN at {where}: {chain_break.reason}")
        if broken:
            raise CommandError(
                f"{broken} problem(s) found: the log or its checkpoints were altered."
            )

    def _checkpoints_read(self, path: str, domain: str | None) -> tuple[list[Checkpoint], int]:
        """The file's trustworthy checkpoints, and how many problems were reported."""
        try:
            checkpoints, problems = checkpoint_file_read(path)
        except OSError as exc:
            raise CommandError(f"The checkpoint file cannot be read: {exc}") from exc
        for problem in problems:
            where = f" ({problem.where})" if problem.where else ""
            self.stderr.write(
                f"checkpoints: BROKEN at line {problem.line}{where}: {problem.reason}"
            )
        relevant = [c for c in checkpoints if domain is None or c.domain == domain]
        known = set(
            Contract.objects.filter(pk__in={c.contract_id for c in relevant}).values_list(
                "pk", flat=True
            )
        )
        # A contract deleted with its whole log is a chain cut short to nothing.
        lost = {c.contract_id: c for c in relevant if c.contract_id not in known}
        for checkpoint in lost.values():
            self.stderr.write(
                f"checkpoints: the contract {checkpoint.domain} (id {checkpoint.contract_id}) "
                f"of the checkpoint of {checkpoint.when} has no log any more"
            )
        if not problems:
            self.stdout.write(f"checkpoints: {len(checkpoints)} read, signatures OK")
        return checkpoints, len(problems) + len(lost)
