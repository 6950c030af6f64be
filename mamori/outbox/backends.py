"""Development mail as files a person can read: one ``.eml`` file per message under ``var/mail/``.

Django's file backend cannot be configured to do this: it names its files ``.log``, appends every
message of a connection to one file, and writes with the default e-mail policy, which puts a
Japanese text part in base64 and its subject in RFC 2047 words. ``EmlFileBackend`` writes each
message to its own ``.eml`` file with UTF-8 headers (RFC 6532) and an 8bit UTF-8 text part, so
``cat`` shows the subject and the body as they were written, and any mail client opens the file.

``stored_mails`` reads such a directory back (and the ``.log`` files of Django's backend, from
before), newest first: what ``mamori mail show`` prints.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import os
import re
import secrets
from collections.abc import Iterator, Sequence
from email.message import EmailMessage as ParsedMessage
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, InvalidMailer
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

# UTF-8 in headers and 8bit bodies; lines up to RFC 5322's 998 octets stay as they are (the
# default 78 sends any longer line of Japanese text to base64).
READABLE = email.policy.default.clone(utf8=True, max_line_length=998)
MAIL_ID_HEADER = "X-Mamori-Mail-Id"
_DJANGO_SEPARATOR = re.compile(rb"\n-{79}\n")
FILE_BACKENDS = frozenset(
    {"mamori.outbox.backends.EmlFileBackend", "django.core.mail.backends.filebased.EmailBackend"}
)


class EmlFileBackend(BaseEmailBackend):
    """Write each message to ``<file_path>/<UTC time>-<mail id>.eml``, readable as it is.

    ``OPTIONS``: ``file_path``, the directory (made if missing). The file is written whole under a
    temporary name and then renamed, so a reader never sees half a message. Raises
    ``InvalidMailer`` when the directory cannot be made or written.
    """

    def __init__(
        self, *, file_path: str | None = None, alias: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(alias=alias, **kwargs)
        if not file_path:
            raise InvalidMailer("OPTIONS must define 'file_path'.", alias=alias)
        self.file_path = Path(file_path).absolute()
        try:
            self.file_path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidMailer(
                f"Could not make 'file_path' {self.file_path} ({exc})", alias=alias
            ) from None
        if not os.access(self.file_path, os.W_OK):
            raise InvalidMailer(f"'file_path' is not writable: {self.file_path}", alias=alias)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        """Write each message to a file of its own; returns how many were written."""
        for message in email_messages:
            self._write(message)
        return len(email_messages)

    def _write(self, message: EmailMessage) -> Path:
        data = message.message(policy=READABLE).as_bytes()
        mail_id = re.sub(r"[^0-9A-Za-z-]", "", str(message.extra_headers.get(MAIL_ID_HEADER, "")))
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
        name = f"{stamp}-{mail_id or secrets.token_hex(4)}.eml"
        partial = self.file_path / f".{name}.partial"
        partial.write_bytes(data)
        final = self.file_path / name
        os.replace(partial, final)
        return final


def mail_directory() -> Path | None:
    """The directory the default mailer writes files to, or ``None`` when it sends them.

    Either mailer of ``EMAIL_URL=file://…``: ours, or Django's file backend.
    """
    mailer: dict[str, Any] = settings.MAILERS.get("default", {})
    backend = mailer.get("BACKEND", "")
    path = mailer.get("OPTIONS", {}).get("file_path")
    if path and backend in FILE_BACKENDS:
        return Path(path)
    return None


@dataclasses.dataclass(frozen=True)
class StoredMail:
    """A message read back from a mail file: where it is and its parsed, decoded form."""

    path: Path
    message: ParsedMessage

    @property
    def mail_id(self) -> str:
        """The outbox id (``mamori mail outbox``'s ID) the message carries, or ``""``."""
        return str(self.message.get(MAIL_ID_HEADER, ""))

    @property
    def recipients(self) -> list[str]:
        """The addresses of ``To`` and ``Cc``, lowercase."""
        found: list[str] = []
        for header in ("To", "Cc"):
            value = self.message.get(header)
            if value is not None:
                found += [a.addr_spec.lower() for a in getattr(value, "addresses", ())]
        return found

    def text(self) -> str:
        """The plain-text part decoded (``""`` when the message has none)."""
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""


def stored_mails(directory: Path) -> Iterator[StoredMail]:
    """The messages of ``directory``'s ``.eml`` and ``.log`` files, newest first.

    A file's name starts with its UTC time, so newest first is reverse name order; a ``.log`` of
    Django's file backend may hold several messages (newest last in the file).
    """
    if not directory.is_dir():
        return
    files = [p for p in directory.iterdir() if p.suffix in (".eml", ".log") and p.is_file()]
    for path in sorted(files, key=lambda p: p.name, reverse=True):
        chunks = [path.read_bytes()]
        if path.suffix == ".log":
            chunks = [c for c in _DJANGO_SEPARATOR.split(chunks[0]) if c.strip()]
        for chunk in reversed(chunks):
            message = email.message_from_bytes(chunk, policy=email.policy.default)
            yield StoredMail(path, message)


def stored_mail_find(directory: Path, *, mail_id: str = "", to: str = "") -> StoredMail | None:
    """The newest stored message with the outbox id ``mail_id`` and sent to ``to`` (any case),
    each only when given; ``None`` when no message matches."""
    for stored in stored_mails(directory):
        if mail_id and stored.mail_id != mail_id:
            continue
        if to and to.lower() not in stored.recipients:
            continue
        return stored
    return None
