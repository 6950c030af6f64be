"""The operation log's HMAC keys: kept outside the database, several at once for rotation.

``MAMORI_AUDIT_KEY`` holds ``id:secret`` pairs separated by commas (or whitespace), newest first:
``k2:9f…,k1:3c…``. The first key signs new entries and checkpoints; every key listed verifies
what was signed with it, so a retired key stays listed for as long as its entries must verify.
``MAMORI_AUDIT_KEY_FILE`` names a file with the same text instead (a mounted secret). An id is
1-16 letters, digits, ``_`` or ``-``; a secret is at least 32 characters without commas or
whitespace (``python -c "import secrets; print('k1:' + secrets.token_urlsafe(32))"``).

Without either, a debug run (``MAMORI_DEBUG``) makes a key once and keeps it in
``var/audit-key``, as the secret key is kept; anything else refuses to write or verify the log
(``ImproperlyConfigured``), and ``mamori check --deploy`` reports it.

Entries written before keys existed have the key id ``""``: plain SHA-256, which anyone can
recompute. See ``mamori.audit.services`` for what each digest covers.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import re
import secrets
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
MIN_SECRET_CHARS = 32
DEV_KEY_FILE = "audit-key"


@dataclasses.dataclass(frozen=True)
class AuditKey:
    """One HMAC-SHA256 key: its id (stored with each entry and checkpoint) and its secret."""

    id: str
    secret: bytes = dataclasses.field(repr=False)

    def sign(self, message: bytes) -> str:
        """HMAC-SHA256 of ``message``, 64 lowercase hex characters."""
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()


def audit_keys_parse(text: str) -> tuple[AuditKey, ...]:
    """Read ``id:secret[,id:secret…]`` (newest first); ``ImproperlyConfigured`` says what is wrong
    without quoting a secret."""
    keys: list[AuditKey] = []
    for n, item in enumerate(re.split(r"[,\s]+", text.strip()), start=1):
        key_id, sep, secret = item.partition(":")
        if not sep or not KEY_ID.match(key_id):
            raise ImproperlyConfigured(
                f"Audit key {n} must be 'id:secret' with an id of 1-16 letters, digits, _ or -"
            )
        if len(secret) < MIN_SECRET_CHARS:
            raise ImproperlyConfigured(
                f"Audit key {key_id!r} is too short: at least {MIN_SECRET_CHARS} characters"
            )
        if any(k.id == key_id for k in keys):
            raise ImproperlyConfigured(f"Audit key id {key_id!r} is listed twice")
        keys.append(AuditKey(key_id, secret.encode()))
    if not keys:
        raise ImproperlyConfigured("No audit key given")
    return tuple(keys)


def _dev_key_text(var_dir: Path) -> str:
    path = var_dir / DEV_KEY_FILE
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(f"dev:{secrets.token_urlsafe(32)}\n")
    return path.read_text()


@functools.cache
def _keys(text: str, debug: bool, var_dir: str) -> tuple[AuditKey, ...]:
    # MAMORI_AUDIT_KEY_FILE is read by the settings (core.env.env_secret), into MAMORI_AUDIT_KEY.
    if not text:
        if not debug:
            raise ImproperlyConfigured(
                "MAMORI_AUDIT_KEY (or MAMORI_AUDIT_KEY_FILE) is required: the operation log's "
                "digests are keyed with it"
            )
        text = _dev_key_text(Path(var_dir))
    return audit_keys_parse(text)


def audit_keys() -> tuple[AuditKey, ...]:
    """The configured keys, newest (the signing one) first; read once per distinct setting."""
    return _keys(
        getattr(settings, "MAMORI_AUDIT_KEY", ""),
        settings.DEBUG,
        str(getattr(settings, "VAR_DIR", "var")),
    )


def audit_signing_key() -> AuditKey:
    """The key new entries and checkpoints are signed with: the first one listed."""
    return audit_keys()[0]


def audit_key_get(key_id: str) -> AuditKey | None:
    """The key with this id, or ``None`` when it is not configured (retired too early, or forged)."""
    return next((k for k in audit_keys() if k.id == key_id), None)
