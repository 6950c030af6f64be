"""Development mail a newcomer can read: one ``.eml`` file per mail, UTF-8 as written, and
``mamori mail show`` printing a stored mail decoded."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.mail import EmailMessage
from django.core.management import CommandError
from django.test import override_settings

from mamori.outbox.backends import EmlFileBackend, stored_mail_find
from mamori.outbox.models import OutboundMail
from mamori.settings import mailer_from_url
from tests.conftest import mail_field, run_worker
from tests.smtp import SmtpServer
from tests.test_contracts import CREATE, cli

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def mail_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "mail"
    with override_settings(MAILERS={"default": mailer_from_url(f"file://{directory}")}):
        yield directory


def test_a_file_mail_url_writes_readable_eml_files(tmp_path: Path) -> None:
    assert mailer_from_url(f"file://{tmp_path}") == {
        "BACKEND": "mamori.outbox.backends.EmlFileBackend",
        "OPTIONS": {"file_path": str(tmp_path)},
    }


def test_the_registration_mail_is_a_file_a_person_can_cat(mail_dir: Path) -> None:
    cli(*CREATE)
    run_worker()

    (path,) = mail_dir.iterdir()
    mail_id = OutboundMail.objects.get().pk
    assert path.name.endswith(f"-{mail_id}.eml")
    text = path.read_bytes().decode("utf-8")  # every byte is UTF-8 text: no base64, no =?utf-8?
    assert "Subject: [Mamori] 登録完了のお知らせ\n" in text
    assert 'Content-Type: text/plain; charset="utf-8"\n' in text
    assert "Content-Transfer-Encoding: 8bit\n" in text
    assert "To: yamada@acme.example\n" in text
    assert f"X-Mamori-Mail-Id: {mail_id}\n" in text
    assert "ACME株式会社\n山田 太郎 様\n" in text
    assert "アカウント: admin\n" in text
    assert "=?utf-8?" not in text.lower()
    # A mail client reads the same message.
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert mail_field(parsed.get_content(), "パスワード:") in text


def test_a_long_japanese_line_stays_8bit_text(tmp_path: Path) -> None:
    from django.core.mail import EmailMessage

    line = "お知らせ" * 60  # 720 bytes of UTF-8 on one line
    backend = EmlFileBackend(file_path=str(tmp_path))
    backend.send_messages([EmailMessage("件名", f"{line}\n", "a@example.com", ["b@example.com"])])

    text = next(tmp_path.glob("*.eml")).read_text(encoding="utf-8")
    assert "Content-Transfer-Encoding: 8bit\n" in text
    assert f"\n{line}\n" in text
    assert "Subject: 件名\n" in text


def test_mail_show_latest_prints_the_newest_mail_to_an_address_decoded(mail_dir: Path) -> None:
    cli(*CREATE)
    run_worker()
    cli("contract", "resend-registration", "acme")
    run_worker()
    first, second = OutboundMail.objects.order_by("pk")

    shown = cli("mail", "show", "--latest", "--to", "YAMADA@acme.example")

    lines = shown.splitlines()
    assert lines[0].startswith(f"Mail {second.pk}  (")
    assert lines[0].endswith(f"-{second.pk}.eml)")
    assert "To:       yamada@acme.example" in lines
    assert "Subject:  [Mamori] 登録完了のお知らせ" in lines
    assert "アカウント: admin" in lines
    newest_password = mail_field(shown, "パスワード:")
    # By its ID, the older one, with another password.
    older = cli("mail", "show", str(first.pk))
    assert older.splitlines()[0].startswith(f"Mail {first.pk}  (")
    assert mail_field(older, "パスワード:") != newest_password
    # No argument: the newest mail of all.
    assert cli("mail", "show").splitlines()[0] == lines[0]


def test_mail_show_names_what_it_did_not_find(mail_dir: Path) -> None:
    cli(*CREATE)
    run_worker()

    with pytest.raises(CommandError, match=r"^No mail to nobody@example\.com under .*mail\.$"):
        cli("mail", "show", "--to", "nobody@example.com")
    with pytest.raises(CommandError, match=r"^No mail with ID 999 under "):
        cli("mail", "show", "999")


def test_mail_show_says_when_the_mail_is_still_waiting_for_the_worker(mail_dir: Path) -> None:
    cli(*CREATE)  # no worker has run: the mail is pending

    with pytest.raises(CommandError, match="A matching mail is waiting to be sent: is the worker"):
        cli("mail", "show", "--latest", "--to", "yamada@acme.example")

    run_worker()
    cli("contract", "resend-registration", "acme")  # a newer one, pending
    shown = cli("mail", "show", "--latest")
    newer = OutboundMail.objects.order_by("pk").last()
    assert newer is not None
    assert f"A newer mail is still waiting to be sent (ID {newer.pk})" in shown


def test_mail_show_reads_the_log_files_djangos_file_backend_wrote(mail_dir: Path) -> None:
    from django.core.mail import EmailMessage

    mail_dir.mkdir(parents=True)
    messages = [
        EmailMessage("最初", "一通目\n", "a@example.com", ["b@example.com"]),
        EmailMessage("二番目", "二通目\n", "a@example.com", ["b@example.com"]),
    ]
    raw = b"".join(m.message().as_bytes() + b"\n" + b"-" * 79 + b"\n" for m in messages)
    (mail_dir / "20250101-000000-1.log").write_bytes(raw)  # base64 bodies, as before

    shown = cli("mail", "show")

    assert "Subject:  二番目" in shown.splitlines()
    assert shown.rstrip().endswith("二通目")
    stored = stored_mail_find(mail_dir, to="b@example.com")
    assert stored is not None and stored.text() == "二通目\n"


def test_without_mail_files_mail_show_reads_the_outbox(smtp_server: SmtpServer) -> None:
    cli(*CREATE)

    waiting = cli("mail", "show", "--to", "yamada@acme.example")
    assert waiting.splitlines()[0] == f"Mail {OutboundMail.objects.get().pk}  (pending)"
    assert "アカウント: admin" in waiting

    run_worker()
    sent = cli("mail", "show", "--latest")
    assert sent.splitlines()[0].endswith("(sent)")
    assert "The outbox keeps a body only until the mail is sent." in sent
    assert "パスワード" not in sent


def test_a_command_piped_into_head_stops_without_a_traceback(tmp_path: Path) -> None:
    """`mamori mail show | head` closes the pipe before a long mail is printed: the command
    stops quietly, with no BrokenPipeError for the person."""
    mail_dir = tmp_path / "mail"
    long_mail = EmailMessage("件名", "本文の一行\n" * 40_000, to=["a@example.com"])
    EmlFileBackend(file_path=str(mail_dir)).send_messages([long_mail])
    env = {
        **os.environ,
        "MAMORI_DEBUG": "1",
        "MAMORI_VAR_DIR": str(tmp_path),
        "MAMORI_ENV_FILE": "",
        "EMAIL_URL": f"file://{mail_dir}",
    }
    # As `| head -n 1` does: read one line, then close the pipe while the command still writes.
    process = subprocess.Popen(
        [sys.executable, "-m", "mamori.cli", "mail", "show"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline().decode()
    process.stdout.close()
    errors = process.stderr.read().decode()
    process.wait(timeout=60)
    assert first.startswith("Mail ")
    assert "Traceback" not in errors and "BrokenPipe" not in errors
