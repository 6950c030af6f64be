"""``mamori audit verify [domain] [--checkpoints FILE]``, ``mamori audit verify-archive FILE…``,
``mamori audit checkpoint`` and ``mamori audit retention``."""

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from mamori.audit.checkpoints import Checkpoint, audit_checkpoint_write, checkpoint_file_read
from mamori.audit.retention import archive_verify, log_retention_run
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
        archive = sub.add_parser(
            "verify-archive",
            help="Check archive files of removed entries (digests, links, the link to the log).",
        )
        archive.add_argument("files", nargs="+", metavar="FILE")
        sub.add_parser(
            "retention", help="Apply each contract's log retention now (as the daily job does)."
        )

    def handle(self, *args: Any, subcommand: str, **options: Any) -> None:
        try:
            if subcommand == "checkpoint":
                self._checkpoint(options["file"])
            elif subcommand == "verify-archive":
                self._verify_archive(options["files"])
            elif subcommand == "retention":
                self._retention()
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

    def _verify_archive(self, files: list[str]) -> None:
        broken = 0
        for name in files:
            try:
                problems = archive_verify(name)
            except (OSError, ValueError, EOFError) as exc:
                problems = [f"it cannot be read as an archive ({exc})"]
            for problem in problems:
                self.stderr.write(f"{name}: BROKEN: {problem}")
            if not problems:
                self.stdout.write(f"{name}: OK")
            broken += bool(problems)
        if broken:
            raise CommandError(f"{broken} archive file(s) do not verify.")

    def _retention(self) -> None:
        try:
            results = log_retention_run()
        except OSError as exc:
            raise CommandError(f"An archive file cannot be written: {exc}") from exc
        for result in results:
            line = f"{result.domain}: {result.removed} entries removed"
            if result.archives:
                line += f", archived in {', '.join(result.archives)}"
            elif result.removed:
                line += " (archiving is off for this contract)"
            else:
                line += " (nothing older than the cutoff)"
            self.stdout.write(line)
            if result.stopped:
                self.stderr.write(f"{result.domain}: stopped: {result.stopped}")
        if not results:
            self.stdout.write("No contract has a log retention.")

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
