"""What verification catches, and what it cannot: keyed digests, key rotation, checkpoints.

The attacker here can write to the database (edit, delete, recompute digests, move the chain
head) but does not have the audit key, nor write access to the checkpoint file.
"""

import datetime
import hashlib
import hmac
import io
import json
import logging
from pathlib import Path

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from mamori.accounts.audit_actions import AccountAction
from mamori.audit.checkpoints import (
    ChainHead,
    Checkpoint,
    audit_checkpoint_write,
    checkpoints_build,
)
from mamori.audit.keys import AuditKey, audit_keys_parse
from mamori.audit.models import LogChain, LogEntry
from mamori.audit.services import entry_digest, log_record
from mamori.contracts.models import Contract
from mamori.core.actor import Actor
from mamori.core.env import env_secret
from tests.conftest import AUDIT_KEY, Cast, shared_cast

pytestmark = pytest.mark.django_db

K1 = "k1:first-key-first-key-first-key-0001"
K2 = "k2:second-key-second-key-second-key-2"
NOW = datetime.datetime(2026, 11, 24, 0, 15, 2, tzinfo=datetime.UTC)


def record(cast: Cast, n: int = 1) -> list[LogEntry]:
    return [
        log_record(contract=cast.a, actor=Actor(account=cast.a1), action=AccountAction.LOGOUT)
        for _ in range(n)
    ]


def verify(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", "verify", *args, stdout=out, stderr=err)
    except CommandError:
        return 1, out.getvalue() + err.getvalue()
    return 0, out.getvalue() + err.getvalue()


def rewrite_from(
    contract: Contract, seq: int, *, key_id: str | None = None, **changes: object
) -> None:
    """What the attacker can do: change entry #seq, then recompute every digest from it on and
    move the head. ``key_id=""`` makes them plain SHA-256, the only digest one can make without
    the key; otherwise ``entry_digest`` uses whatever key the settings hold."""
    entries = list(LogEntry.objects.filter(contract=contract, seq__gte=seq).order_by("seq"))
    prev = LogEntry.objects.get(contract=contract, seq=seq - 1).digest if seq > 1 else "0" * 64
    for n, entry in enumerate(entries):
        for field, value in (changes if n == 0 else {}).items():
            setattr(entry, field, value)
        if key_id is not None:
            entry.key_id = key_id
        entry.prev_digest = prev
        entry.digest = prev = entry_digest(entry)
        entry.save()
    LogChain.objects.filter(contract=contract).update(last_digest=prev)


def alpha_last_seq(cast: Cast) -> int:
    return LogChain.objects.get(contract=cast.a).last_seq


class TestKeyedDigests:
    def test_new_entries_carry_the_signing_keys_id_and_verify(self, cast: Cast) -> None:
        entries = record(cast, 2)
        assert [e.key_id for e in entries] == ["test", "test"]
        assert verify() == (0, "alpha: OK\nbravo: OK\n")

    def test_an_entry_edited_with_plain_sha256_digests_recomputed_is_named(
        self, cast: Cast
    ) -> None:
        entries = record(cast, 3)
        # Without the key the attacker can only make the unkeyed digests of old entries.
        rewrite_from(cast.a, entries[1].seq, target_label="nothing to see", key_id="")
        code, output = verify("alpha")
        assert code == 1
        assert output.endswith(
            f"alpha: BROKEN at entry #{entries[1].seq} (id {entries[1].pk}): it has an unkeyed "
            "digest where only keyed ones can be (rewritten without the key)\n"
        )

    def test_an_entry_edited_with_digests_made_with_a_guessed_key_is_named(
        self, cast: Cast, settings
    ) -> None:
        entries = record(cast, 3)
        settings.MAMORI_AUDIT_KEY = "test:the-attacker-does-not-know-the-secret"
        rewrite_from(cast.a, entries[1].seq, ip="198.51.100.66")
        settings.MAMORI_AUDIT_KEY = AUDIT_KEY
        code, output = verify("alpha")
        assert code == 1
        assert output.endswith(
            f"alpha: BROKEN at entry #{entries[1].seq} (id {entries[1].pk}): "
            "its contents do not match its digest\n"
        )

    def test_keys_rotate_old_entries_verify_with_the_old_key_new_ones_with_the_new(
        self, cast: Cast, settings
    ) -> None:
        settings.MAMORI_AUDIT_KEY = f"{K1},{AUDIT_KEY}"
        old = record(cast, 2)
        settings.MAMORI_AUDIT_KEY = f"{K2},{K1},{AUDIT_KEY}"
        new = record(cast, 2)
        assert [e.key_id for e in old + new] == ["k1", "k1", "k2", "k2"]
        assert verify("alpha") == (0, "alpha: OK\n")
        # Retire k1 too early, and its entries no longer verify.
        settings.MAMORI_AUDIT_KEY = f"{K2},{AUDIT_KEY}"
        code, output = verify("alpha")
        assert code == 1
        assert output.endswith(
            f"alpha: BROKEN at entry #{old[0].seq} (id {old[0].pk}): it was signed with the "
            "audit key 'k1', which is not configured\n"
        )

    def test_entries_written_before_keys_existed_keep_verifying(self, cast: Cast) -> None:
        LogEntry.objects.filter(contract=cast.a).delete()
        LogChain.objects.filter(contract=cast.a).delete()
        legacy = record(cast, 2)
        rewrite_from(cast.a, 1, key_id="")  # as the version before keys wrote them
        later = record(cast, 1)
        assert list(
            LogEntry.objects.filter(contract=cast.a).order_by("seq").values_list("key_id", "seq")
        ) == [("", 1), ("", 2), ("test", 3)]
        assert (legacy[1].seq, later[0].seq) == (2, 3)
        assert verify("alpha") == (0, "alpha: OK\n")


class TestCheckpoints:
    def test_truncation_is_detected_with_a_checkpoint_file_and_not_without_it(
        self, cast: Cast, tmp_path: Path
    ) -> None:
        entries = record(cast, 5)
        path = tmp_path / "checkpoints.jsonl"
        audit_checkpoint_write(path=path, now=NOW)
        # The last two entries deleted, the chain head moved back: the rest is a valid chain.
        LogEntry.objects.filter(pk__in=[entries[3].pk, entries[4].pk]).delete()
        LogChain.objects.filter(contract=cast.a).update(
            last_seq=entries[2].seq, last_digest=entries[2].digest
        )
        assert verify() == (0, "alpha: OK\nbravo: OK\n")  # the database alone cannot tell
        code, output = verify("--checkpoints", str(path))
        assert code == 1
        assert output == (
            "checkpoints: 2 read, signatures OK\n"
            "bravo: OK\n"
            f"alpha: BROKEN at entry #{entries[3].seq}: entry #{entries[3].seq} is missing "
            f"(the checkpoint of 2026-11-24 00:15:02 UTC recorded the chain up to "
            f"#{entries[4].seq})\n"
        )

    def test_a_chain_rewritten_whole_without_the_key_fails_only_against_a_checkpoint(
        self, cast: Cast, tmp_path: Path
    ) -> None:
        record(cast, 2)
        path = tmp_path / "checkpoints.jsonl"
        audit_checkpoint_write(path=path, now=NOW)
        first = LogEntry.objects.get(contract=cast.a, seq=1)
        rewrite_from(cast.a, 1, target_label="rewritten", key_id="")
        # Every entry now looks written before keys existed: the limit README.md states.
        assert verify("alpha") == (0, "alpha: OK\n")
        code, output = verify("alpha", "--checkpoints", str(path))
        assert code == 1
        last = alpha_last_seq(cast)
        last_id = LogEntry.objects.get(contract=cast.a, seq=last).pk
        assert first.seq == 1
        assert output.endswith(
            f"alpha: BROKEN at entry #{last} (id {last_id}): it does not match the checkpoint "
            "of 2026-11-24 00:15:02 UTC\n"
        )

    def test_a_forged_checkpoint_is_named_by_its_line(self, cast: Cast, tmp_path: Path) -> None:
        record(cast, 2)
        path = tmp_path / "checkpoints.jsonl"
        audit_checkpoint_write(path=path, now=NOW)
        lines = path.read_text().splitlines()
        forged = json.loads(lines[0])
        forged["seq"] += 10  # claims entries that never were, to discredit the log
        unknown = {**json.loads(lines[1]), "key": "zz"}
        path.write_text("\n".join([json.dumps(forged), lines[1], json.dumps(unknown), "{"]) + "\n")
        code, output = verify("--checkpoints", str(path))
        assert code == 1
        assert [line for line in output.splitlines() if line.startswith("checkpoints:")] == [
            f"checkpoints: BROKEN at line 1 (alpha #{forged['seq']}): its signature does not verify",
            f"checkpoints: BROKEN at line 3 (bravo #{unknown['seq']}): it was signed with the "
            "audit key 'zz', which is not configured",
            "checkpoints: BROKEN at line 4: it is not a checkpoint (Expecting property name "
            "enclosed in double quotes: line 1 column 2 (char 1))",
        ]
        assert "alpha: OK" in output and "bravo: OK" in output  # the forgery is not believed

    def test_checkpoints_are_written_for_the_chains_that_moved_to_the_file_and_the_log_stream(
        self, cast: Cast, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        path = tmp_path / "checkpoints.jsonl"
        with caplog.at_level(logging.INFO, logger="mamori.audit.checkpoint"):
            first = audit_checkpoint_write(path=path, now=NOW)
            assert audit_checkpoint_write(path=path, now=NOW) == []
            record(cast)
            second = audit_checkpoint_write(path=path, now=NOW)
        assert [c.domain for c in first] == ["alpha", "bravo"]
        assert [(c.domain, c.seq) for c in second] == [("alpha", alpha_last_seq(cast))]
        lines = path.read_text().splitlines()
        assert lines == [c.to_json() for c in first + second]
        assert caplog.messages == lines
        assert [Checkpoint.from_json(line) for line in lines] == first + second

    def test_a_chain_head_that_went_back_is_logged_as_an_error(
        self, cast: Cast, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        entries = record(cast, 2)
        audit_checkpoint_write(path=tmp_path / "c.jsonl", now=NOW)
        entries[1].delete()
        LogChain.objects.filter(contract=cast.a).update(
            last_seq=entries[0].seq, last_digest=entries[0].digest
        )
        with caplog.at_level(logging.ERROR, logger="mamori.audit.checkpoint"):
            audit_checkpoint_write(path=tmp_path / "c.jsonl", now=NOW)
        assert [r.message for r in caplog.records if r.levelno == logging.ERROR] == [
            f"The log chain of alpha went back from #{entries[1].seq} to #{entries[0].seq} "
            "since its last checkpoint"
        ]

    def test_building_checkpoints_is_pure_and_signs_every_recorded_field(self) -> None:
        key = AuditKey("k9", b"k" * 32)
        head = ChainHead(contract_id=7, domain="acme", seq=12, digest="ab" * 32)
        (checkpoint,) = checkpoints_build([head], key=key, now=NOW)
        signed = (
            '{"contract":7,"digest":"' + "ab" * 32 + '","domain":"acme","key":"k9","seq":12,'
            '"time":"2026-11-24T00:15:02+00:00","type":"mamori.audit.checkpoint","v":1}'
        )
        expected = hmac.new(
            b"k" * 32, f"mamori-audit-checkpoint/1\n{signed}".encode(), hashlib.sha256
        ).hexdigest()
        assert checkpoint.signature == expected
        assert json.loads(checkpoint.to_json()) == {**json.loads(signed), "signature": expected}

    def test_the_checkpoint_command_appends_to_the_file(self, cast: Cast, tmp_path: Path) -> None:
        path = tmp_path / "deep" / "checkpoints.jsonl"
        out = io.StringIO()
        call_command("audit", "checkpoint", "--file", str(path), stdout=out)
        a, b = alpha_last_seq(cast), LogChain.objects.get(contract=cast.b).last_seq
        assert (
            out.getvalue() == f"alpha: checkpoint at entry #{a}\nbravo: checkpoint at entry #{b}\n"
        )
        assert len(path.read_text().splitlines()) == 2
        out = io.StringIO()
        call_command("audit", "checkpoint", "--file", str(path), stdout=out)
        assert out.getvalue() == "No chain moved since its last checkpoint.\n"

    def test_the_checkpoint_file_defaults_to_the_setting(
        self, cast: Cast, tmp_path: Path, settings
    ) -> None:
        settings.MAMORI_AUDIT_CHECKPOINT_FILE = str(tmp_path / "default.jsonl")
        audit_checkpoint_write(now=NOW)
        assert len((tmp_path / "default.jsonl").read_text().splitlines()) == 2


class TestKeySettings:
    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("no-colon-here-but-long-enough-for-a-key", "Audit key 1 must be 'id:secret'"),
            ("bad id:0123456789abcdef0123456789abcdef", "Audit key 1 must be 'id:secret'"),
            ("k1:short", "Audit key 'k1' is too short: at least 32 characters"),
            (f"{K1},{K1}", "Audit key id 'k1' is listed twice"),
        ],
    )
    def test_a_malformed_key_is_refused_saying_why(self, text: str, message: str) -> None:
        with pytest.raises(ImproperlyConfigured, match=message):
            audit_keys_parse(text)

    def test_several_keys_are_read_newest_first(self) -> None:
        keys = audit_keys_parse(f" {K2},\n{K1}\n")
        assert [(k.id, k.secret) for k in keys] == [
            ("k2", b"second-key-second-key-second-key-2"),
            ("k1", b"first-key-first-key-first-key-0001"),
        ]
        assert "second-key" not in repr(keys)

    def test_without_a_key_outside_debug_nothing_is_logged(self, cast: Cast, settings) -> None:
        settings.MAMORI_AUDIT_KEY = ""
        count = LogEntry.objects.count()
        with pytest.raises(ImproperlyConfigured, match="MAMORI_AUDIT_KEY"):
            record(cast)
        assert LogEntry.objects.count() == count

    def test_verify_without_a_key_outside_debug_says_what_is_missing(
        self, cast: Cast, settings
    ) -> None:
        settings.MAMORI_AUDIT_KEY = ""
        with pytest.raises(CommandError, match=r"^MAMORI_AUDIT_KEY \(or MAMORI_AUDIT_KEY_FILE\)"):
            call_command("audit", "verify", stdout=io.StringIO(), stderr=io.StringIO())

    def test_in_debug_without_a_key_one_is_made_and_kept_in_var(
        self, cast: Cast, settings, tmp_path: Path
    ) -> None:
        settings.MAMORI_AUDIT_KEY, settings.DEBUG, settings.VAR_DIR = "", True, tmp_path
        entry = record(cast)[0]
        key_file = tmp_path / "audit-key"
        assert key_file.stat().st_mode & 0o777 == 0o600
        assert key_file.read_text().startswith("dev:")
        assert entry.key_id == "dev"
        assert entry_digest(LogEntry.objects.get(pk=entry.pk)) == entry.digest

    def test_the_key_can_come_from_a_file(
        self, cast: Cast, settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        (tmp_path / "key").write_text(f"{K1}\n{AUDIT_KEY}\n")
        monkeypatch.delenv("MAMORI_AUDIT_KEY", raising=False)
        monkeypatch.setenv("MAMORI_AUDIT_KEY_FILE", str(tmp_path / "key"))
        settings.MAMORI_AUDIT_KEY = env_secret("MAMORI_AUDIT_KEY")  # as mamori/settings.py reads it
        assert record(cast)[0].key_id == "k1"
        monkeypatch.setenv("MAMORI_AUDIT_KEY", K2)
        with pytest.raises(ImproperlyConfigured, match="Both MAMORI_AUDIT_KEY and"):
            env_secret("MAMORI_AUDIT_KEY")

    def test_the_system_checks_report_a_malformed_key_and_in_deploy_a_missing_one(
        self, settings
    ) -> None:
        settings.MAMORI_AUDIT_KEY = "k1:short"
        assert [m.id for m in run_checks() if m.id.startswith("audit.")] == ["audit.E001"]
        settings.MAMORI_AUDIT_KEY = ""
        assert [m.id for m in run_checks() if m.id.startswith("audit.")] == []
        deploy = run_checks(include_deployment_checks=True)
        assert [m.id for m in deploy if m.id.startswith("audit.")] == ["audit.E002"]


# Built once for the module (see conftest).
cast = shared_cast
