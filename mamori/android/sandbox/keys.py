"""The sandbox's service-account key, its token endpoint's checks, and its access tokens.

The key file (``$MAMORI_VAR_DIR/amapi-sandbox-key.json``) is a real Google service-account key
(RSA 2048, the fields of a key downloaded from the Cloud console), so Mamori's production code,
``google.oauth2.service_account.Credentials.from_service_account_file(...)``, runs unchanged
against the sandbox (ANDROID.md 1.3). Its ``token_uri`` is ``http://HOST:PORT/token``. A key
file already there is kept (only ``token_uri`` follows the address), so a panel that read it
keeps working across restarts.

The token endpoint takes Google's JWT-bearer grant (RFC 7523): the assertion's RS256 signature
is checked with the key's public half, its ``iss`` must be the key's ``client_email``, its ``exp``
in the future and its ``scope`` must name AMAPI's. Its ``aud`` is not checked: google-auth always
sets ``https://oauth2.googleapis.com/token`` whatever ``token_uri`` says (ANDROID.md 1.3).

Access tokens are stateless (``ya29.sandbox.<payload>.<HMAC>``, signed with a secret kept in the
state file), valid for ``TOKEN_LIFETIME`` seconds, and survive a restart. A self-signed JWT
(``always_use_jwt_access=True``) is accepted as a bearer token too.

Pub/Sub push tokens (``oidc_token``) are the OpenID Connect ID tokens Pub/Sub attaches to a push
(ANDROID.md 3.2): RS256, signed with this key, header ``kid`` = its ``private_key_id``, claims
``iss`` ``https://accounts.google.com``, ``aud``, ``azp``, ``sub``, ``email``,
``email_verified``, ``iat``, ``exp`` = ``iat`` + 3600. Their certificate (``certificate_pem``, a
self-signed X.509 certificate of the key) is what ``/oauth2/v1/certs`` serves, in Google's
``{kid: PEM}`` shape, so google-auth's ``id_token.verify_token(certs_url=…)`` verifies them.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import crypt, jwt
from google.auth import exceptions as auth_exceptions

KEY_FILE_NAME = "amapi-sandbox-key.json"
PROJECT_ID = "mamori-sandbox"
CLIENT_EMAIL = f"mamori@{PROJECT_ID}.iam.gserviceaccount.com"
SCOPE = "https://www.googleapis.com/auth/androidmanagement"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME = 3600  # seconds, as Google's
ACCESS_TOKEN_PREFIX = "ya29.sandbox."  # noqa: S105 - a prefix, not a secret
GOOGLE_ISSUER = "https://accounts.google.com"
OIDC_LIFETIME = 3600  # seconds: a push token "can be up to one hour old" (ANDROID.md 3.2)


class GrantRefused(Exception):
    """A grant or bearer token the sandbox refuses; ``str()`` says why (OAuth wording)."""


def key_file_write(path: Path, token_uri: str) -> dict[str, Any]:
    """Write (or keep) the key file at ``path`` with ``token_uri``; returns its JSON.

    A new key is an RSA 2048 key made with ``cryptography``; the file is mode 0600.
    """
    if path.is_file():
        info: dict[str, Any] = json.loads(path.read_text())
        if info.get("token_uri") == token_uri:
            return info
    else:
        info = _new_key()
    info["token_uri"] = token_uri
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(info, indent=2) + "\n")
    os.chmod(temporary, 0o600)
    temporary.replace(path)
    return info


def _new_key() -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "type": "service_account",
        "project_id": PROJECT_ID,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": CLIENT_EMAIL,
        "client_id": str(secrets.randbelow(10**21 - 10**20) + 10**20),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
        + CLIENT_EMAIL.replace("@", "%40"),
        "universe_domain": "googleapis.com",
    }


def public_pem(info: dict[str, Any]) -> str:
    """The PEM of the public half of the key file's private key."""
    private = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def assertion_verify(assertion: str, info: dict[str, Any], certs: str) -> dict[str, Any]:
    """The claims of a JWT-bearer ``assertion`` signed by the key; raises ``GrantRefused``.

    ``certs`` is ``public_pem(info)``. Checked: signature, ``iat``/``exp``, ``iss`` = the
    key's ``client_email``, ``scope`` containing AMAPI's. Not ``aud`` (see the module docstring).
    """
    try:
        claims: dict[str, Any] = jwt.decode(assertion, certs=certs, clock_skew_in_seconds=60)
    except (auth_exceptions.GoogleAuthError, ValueError) as exc:
        raise GrantRefused(f"Invalid JWT: {exc}") from None
    if claims.get("iss") != info["client_email"]:
        raise GrantRefused("Invalid JWT: the issuer is not the sandbox's service account.")
    if "scope" in claims and SCOPE not in str(claims["scope"]).split():
        raise GrantRefused(f"Invalid scope: the assertion does not ask for {SCOPE}.")
    return claims


def access_token_make(secret: str, now: float | None = None) -> str:
    """A bearer token valid for ``TOKEN_LIFETIME`` seconds from ``now``."""
    expires = int((now or time.time()) + TOKEN_LIFETIME)
    payload = _b64(json.dumps({"exp": expires, "n": secrets.token_hex(8)}).encode())
    return f"{ACCESS_TOKEN_PREFIX}{payload}.{_mac(secret, payload)}"


def bearer_check(token: str, secret: str, info: dict[str, Any], certs: str) -> str | None:
    """``None`` when ``token`` is a valid access token or self-signed JWT, else a reason code.

    Reason codes are ``google.rpc.ErrorInfo`` reasons: ``ACCESS_TOKEN_EXPIRED``,
    ``ACCESS_TOKEN_TYPE_UNSUPPORTED``.
    """
    if token.startswith(ACCESS_TOKEN_PREFIX):
        payload, _, mac = token[len(ACCESS_TOKEN_PREFIX) :].partition(".")
        if not hmac.compare_digest(mac, _mac(secret, payload)):
            return "ACCESS_TOKEN_TYPE_UNSUPPORTED"
        try:
            expires = float(json.loads(_unb64(payload))["exp"])
        except (ValueError, KeyError, TypeError):
            return "ACCESS_TOKEN_TYPE_UNSUPPORTED"
        return None if expires > time.time() else "ACCESS_TOKEN_EXPIRED"
    if token.count(".") == 2:  # a self-signed JWT (always_use_jwt_access)
        try:
            assertion_verify(token, info, certs)
        except GrantRefused:
            return "ACCESS_TOKEN_TYPE_UNSUPPORTED"
        return None
    return "ACCESS_TOKEN_TYPE_UNSUPPORTED"


def _mac(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def certificate_pem(info: dict[str, Any]) -> str:
    """A self-signed X.509 certificate (PEM) of the key file's key, valid for ten years.

    Its subject is the key's ``client_email``, as Google's robot certificates name theirs. Each
    call makes a new certificate of the same key (both verify the same signatures): callers keep
    the one they made (``app.Sandbox`` stores it in the state file).
    """
    private = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, info["client_email"])])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .sign(private, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def oidc_token(
    info: dict[str, Any], audience: str, email: str | None = None, now: float | None = None
) -> str:
    """A Pub/Sub push OIDC token signed with the key file's key (claims: module docstring).

    ``email`` defaults to the key's ``client_email``; ``now`` (Unix seconds) to the clock.
    """
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": GOOGLE_ISSUER,
        "aud": audience,
        "azp": info["client_id"],
        "sub": info["client_id"],
        "email": email or info["client_email"],
        "email_verified": True,
        "iat": issued,
        "exp": issued + OIDC_LIFETIME,
    }
    signer = crypt.RSASigner.from_service_account_info(info)
    return jwt.encode(signer, claims).decode()
