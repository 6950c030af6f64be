"""Google's OIDC token on a push, through the production verifier (google-auth's
``verify_token``, the issuer, e-mail and ``email_verified`` checks, the caches) against a key
this test makes; only where the certificates come from differs (an injected transport)."""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.test import Client
from google.auth import _helpers as google_helpers
from google.auth import crypt, jwt

from mamori.android.notifications import verify
from mamori.android.notifications.models import InboxMessage, InboxRejected
from tests.android.pubsub import PUSH_URL, SECRET, body, device

pytestmark = pytest.mark.django_db

AUDIENCE = "https://mamori.example/pubsub/amapi"
ACCOUNT = "pubsub-push@my-emm.iam.gserviceaccount.com"
CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"


class Key:
    """An RSA key with a self-signed certificate, as Google publishes its signing keys."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
        now = datetime.datetime.now(datetime.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.private.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(self.private, hashes.SHA256())
        )

    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def sign(self, **claims: Any) -> str:
        private = self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        signer = crypt.RSASigner.from_string(private, key_id=self.kid)
        return jwt.encode(signer, claims).decode()


KEY = Key("kid-1")
OTHER = Key("kid-1")  # same key id, another key: a forged signature


class Answer:
    def __init__(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        self.status, self.data, self.headers = status, data, headers


class Certs:
    """The injected transport: Google's certificates URL answered with this test's key."""

    def __init__(self, max_age: int = 3600) -> None:
        self.urls: list[str] = []
        self.keys = {KEY.kid: KEY.pem()}
        self.max_age = max_age

    def __call__(self, url: str, method: str = "GET", **kwargs: Any) -> Answer:
        self.urls.append(url)
        if url != CERTS_URL:
            return Answer(404, b"", {})
        headers = {"Cache-Control": f"public, max-age={self.max_age}, must-revalidate"}
        return Answer(200, json.dumps(self.keys).encode(), headers)


@pytest.fixture
def certs(settings: Any) -> Iterator[Certs]:
    settings.MAMORI_PUBSUB_PUSH_SECRET = SECRET
    settings.MAMORI_PUBSUB_AUDIENCE = AUDIENCE
    settings.MAMORI_PUBSUB_SERVICE_ACCOUNT = ACCOUNT
    settings.MAMORI_PUBSUB_CERTS_URL = CERTS_URL
    transport = Certs()
    old = verify.verifier_set(verify.PushVerifier(transport=transport))
    yield transport
    verify.verifier_set(old)


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    values = {
        "iss": "https://accounts.google.com",
        "aud": AUDIENCE,
        "azp": "1234567890",
        "sub": "1234567890",
        "email": ACCOUNT,
        "email_verified": True,
        "iat": now - 10,
        "exp": now + 3600,
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def push(token: str | None, message_id: str = "1") -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    return Client().post(
        PUSH_URL,
        data=body("STATUS_REPORT", device(), message_id=message_id),
        content_type="application/json",
        **headers,
    )


def test_a_push_signed_by_google_for_mamori_is_stored(certs: Certs) -> None:
    assert push(KEY.sign(**claims())).status_code == 204
    assert InboxMessage.objects.count() == 1
    # The other spelling of Google's issuer is Google's too.
    assert push(KEY.sign(**claims(iss="accounts.google.com")), "2").status_code == 204
    # Google's clock a few seconds ahead of Mamori's: not refused.
    assert push(KEY.sign(**claims(iat=int(time.time()) + 10)), "3").status_code == 204
    assert InboxMessage.objects.count() == 3


@pytest.mark.parametrize(
    ("token", "status"),
    [
        (None, 401),
        ("", 401),
        ("not-a-jwt", 401),
        (KEY.sign(**claims(aud="https://elsewhere.example/pubsub/amapi")), 401),
        (KEY.sign(**claims(iss="https://evil.example")), 401),
        (KEY.sign(**claims(iss=None)), 401),
        (KEY.sign(**claims(iat=int(time.time()) - 7300, exp=int(time.time()) - 3700)), 401),
        (OTHER.sign(**claims()), 401),
        (Key("kid-unknown").sign(**claims()), 401),
        (KEY.sign(**claims(email="someone@my-emm.iam.gserviceaccount.com")), 403),
        (KEY.sign(**claims(email=None)), 403),
        (KEY.sign(**claims(email_verified=False)), 403),
        (KEY.sign(**claims(email_verified=None)), 403),
        (KEY.sign(**claims(email_verified="true")), 403),
    ],
    ids=[
        "no header",
        "empty",
        "not a token",
        "wrong audience",
        "wrong issuer",
        "no issuer",
        "expired",
        "forged signature",
        "unknown key",
        "wrong e-mail",
        "no e-mail",
        "e-mail not verified",
        "no email_verified",
        "email_verified a string",
    ],
)
def test_a_push_google_did_not_sign_for_mamori_is_refused_and_stores_nothing(
    certs: Certs, token: str | None, status: int
) -> None:
    response = push(token)
    assert response.status_code == status
    assert response.json()["error"]["code"] in ("token_missing", "token_invalid", "token_account")
    assert (InboxMessage.objects.count(), InboxRejected.objects.count()) == (0, 0)


def test_a_bearer_of_another_scheme_is_refused(certs: Certs) -> None:
    token = KEY.sign(**claims())
    response = Client().post(
        PUSH_URL,
        data=body("STATUS_REPORT", device()),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {token}",
    )
    assert response.status_code == 401
    assert InboxMessage.objects.count() == 0


def test_the_secret_is_checked_before_the_token(certs: Certs) -> None:
    response = Client().post(
        "/pubsub/amapi/wrong",
        data=body("STATUS_REPORT", device()),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {KEY.sign(**claims())}",
    )
    assert response.status_code == 404
    assert certs.urls == []


def test_certificates_are_fetched_once_and_verified_tokens_kept_until_they_expire(
    certs: Certs, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[str] = []
    real = verify.id_token.verify_token

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        decoded.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(verify.id_token, "verify_token", counting)
    first, second = KEY.sign(**claims()), KEY.sign(**claims(sub="other"))
    for n, token in enumerate([first, first, second, second, first]):
        assert push(token, str(n)).status_code == 204
    assert certs.urls == [CERTS_URL]  # one fetch for five pushes
    assert decoded == [first, second]  # each token verified once
    # A token past its exp is verified again (and refused).
    short = KEY.sign(**claims(exp=int(time.time()) + 2))
    assert push(short, "10").status_code == 204
    later = time.time() + 3 + verify.CLOCK_SKEW
    monkeypatch.setattr(verify.time, "time", lambda: later)
    utcnow = google_helpers.utcnow
    shift = datetime.timedelta(seconds=3 + verify.CLOCK_SKEW)
    monkeypatch.setattr(google_helpers, "utcnow", lambda: utcnow() + shift)
    assert push(short, "11").status_code == 401  # past exp by more than the clock skew
    assert decoded[-2:] == [short, short]


def test_certificates_are_fetched_again_once_their_max_age_is_over(
    certs: Certs, monkeypatch: pytest.MonkeyPatch
) -> None:
    certs.max_age = 120
    clock = [1000.0]
    monkeypatch.setattr(verify.time, "monotonic", lambda: clock[0])
    assert push(KEY.sign(**claims()), "1").status_code == 204
    clock[0] += 119
    assert push(KEY.sign(**claims(sub="2")), "2").status_code == 204
    assert len(certs.urls) == 1
    clock[0] += 2
    assert push(KEY.sign(**claims(sub="3")), "3").status_code == 204
    assert len(certs.urls) == 2


def test_a_new_signing_key_is_found_after_a_refusal(certs: Certs) -> None:
    new = Key("kid-2")
    assert push(KEY.sign(**claims()), "1").status_code == 204
    certs.keys[new.kid] = new.pem()  # Google rotated its keys; the kept answer lacks kid-2
    assert push(new.sign(**claims()), "2").status_code == 401
    assert push(new.sign(**claims()), "3").status_code == 204
    assert InboxMessage.objects.count() == 2


def test_unreachable_certificates_are_a_503_and_store_nothing(settings: Any) -> None:
    settings.MAMORI_PUBSUB_PUSH_SECRET = SECRET
    settings.MAMORI_PUBSUB_AUDIENCE = AUDIENCE
    settings.MAMORI_PUBSUB_SERVICE_ACCOUNT = ACCOUNT
    settings.MAMORI_PUBSUB_CERTS_URL = "http://127.0.0.1:9/oauth2/v1/certs"  # nothing listens
    old = verify.verifier_set(verify.PushVerifier())
    try:
        response = push(KEY.sign(**claims()))
    finally:
        verify.verifier_set(old)
    assert response.status_code == 503
    assert InboxMessage.objects.count() == 0
