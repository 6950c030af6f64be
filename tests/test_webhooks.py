"""Alert webhooks (issue 10, point 4): signed POSTs through durable work with backoff, the URL
checked at save and before each call (public addresses only, the checked address connected to),
the secret shown once and never logged, attempts listed with their status codes."""

from __future__ import annotations

import datetime
import errno
import hashlib
import hmac
import http.client
import http.server
import importlib
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from mamori.accounts.models import Account
from mamori.alerts.models import AlertKind, Webhook, WebhookAttempt, WebhookDelivery
from mamori.alerts.notices import alert_notices
from mamori.alerts.webhooks import addresses
from mamori.alerts.webhooks.services import DELIVER, failure_of, webhook_create, webhook_delete
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from mamori.core.models import Work
from mamori.directory.models import Organization
from tests.alerts import alert_change, alert_open
from tests.android.devices import make_device
from tests.conftest import Cast, api_client, logged_in, run_work

pytestmark = pytest.mark.django_db
PUBLIC = "93.184.216.34"  # a public address: accepted without a DNS lookup


class Receiver:
    """An HTTP server on 127.0.0.1 that answers the statuses given in turn (then 200) and keeps
    what it received."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers.items()), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/mamori?x=1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver(settings: object) -> Iterator[Receiver]:
    settings.MAMORI_WEBHOOK_ALLOW_PRIVATE = True  # type: ignore[attr-defined]
    server = Receiver()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _device(cast: Cast, serial: str = "SN-W"):
    return make_device(Organization.objects.get(contract=cast.a, parent=None), serial=serial)


def _resolving(monkeypatch: pytest.MonkeyPatch, answers: dict[str, str]) -> None:
    """DNS as the test says: each host name to one address."""
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: int, *args: object, **kwargs: object) -> list:
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(addresses.socket, "getaddrinfo", getaddrinfo)


def test_each_event_is_posted_signed_with_the_secret(cast: Cast, receiver: Receiver) -> None:
    webhook, secret = webhook_create(
        actor=Actor(account=cast.a1), contract=cast.a, url=receiver.url
    )
    device = _device(cast)
    alert, event = alert_open(device, kind=AlertKind.NO_REPORT)

    assert run_work(DELIVER) == ["done"]

    [(headers, body)] = receiver.received
    timestamp, v1 = (part.split("=", 1)[1] for part in headers["Mamori-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    assert hmac.compare_digest(v1, expected.hexdigest())
    assert abs(int(timestamp) - timezone.now().timestamp()) < 60
    assert headers["Mamori-Event"] == "opened"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    delivery = WebhookDelivery.objects.get()
    assert headers["Mamori-Delivery"] == str(delivery.pk)
    payload = json.loads(body)
    assert payload == {
        "event": "opened",
        "event_id": event.pk,
        "at": event.at.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
        "contract": "alpha",
        "alert": {
            "id": alert.pk,
            "kind": "no_report",
            "level": "caution",
            "previous_level": None,
            "opened_at": payload["at"],
            "cleared_at": None,
            "details": {"hours": 30},
        },
        "device": {"id": device.pk, "name": device.name, "serial_number": "SN-W"},
        "organization": {"id": device.organization_id, "name": "アルファ株式会社"},
    }
    assert (delivery.status, delivery.status_code, delivery.attempts) == ("delivered", 200, 1)
    assert webhook.secret == secret and secret.startswith("whsec_")


def test_a_500_is_retried_with_backoff_then_succeeds(cast: Cast, receiver: Receiver) -> None:
    webhook, _secret = webhook_create(
        actor=Actor(account=cast.a1), contract=cast.a, url=receiver.url
    )
    receiver.statuses = [500, 503]
    alert, _event = alert_open(_device(cast))

    assert run_work(DELIVER) == ["retry"]
    work = Work.objects.get(kind=DELIVER)
    assert datetime.timedelta(seconds=11) < work.next_attempt_at - timezone.now()
    assert work.next_attempt_at - timezone.now() <= datetime.timedelta(seconds=15)
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=16)):
        assert run_work(DELIVER) == ["retry"]
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=50)):
        assert run_work(DELIVER) == ["done"]

    delivery = WebhookDelivery.objects.get()
    assert [t.status_code for t in delivery.tries.order_by("id")] == [500, 503, 200]
    assert (delivery.status, delivery.attempts) == ("delivered", 3)
    assert len(receiver.received) == 3
    assert len({h["Mamori-Delivery"] for h, _body in receiver.received}) == 1
    page = logged_in(cast.a1).get(f"/alpha/settings/webhooks/{webhook.pk}/").content.decode()
    assert ">500</span>" in page and ">503</span>" in page and ">200</span>" in page
    assert [(n.channel, n.status, n.status_code) for n in alert_notices(alert)] == [
        ("webhook", "delivered", 200)
    ]
    api = api_client(cast.a1).get(f"/api/v1/webhooks/{webhook.pk}").json()
    assert [a["status_code"] for a in api["deliveries"][0]["attempts"]] == [500, 503, 200]


@pytest.mark.parametrize(("status", "outcome"), [(404, "failed"), (429, "retry"), (408, "retry")])
def test_a_4xx_fails_for_good_except_408_and_429(
    cast: Cast, receiver: Receiver, status: int, outcome: str
) -> None:
    webhook, _secret = webhook_create(
        actor=Actor(account=cast.a1), contract=cast.a, url=receiver.url
    )
    receiver.statuses = [status]
    alert_open(_device(cast))
    assert run_work(DELIVER) == [outcome]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == ("failed" if outcome == "failed" else "pending")
    assert delivery.status_code == status
    if outcome == "failed":
        assert delivery.last_error == "The receiver answered 404 Not Found."
        page = logged_in(cast.a1).get(f"/alpha/settings/webhooks/{webhook.pk}/").content.decode()
        assert "受信側が 404 を返しました。再送しません。" in page


def test_a_receiver_that_is_down_is_retried(cast: Cast, receiver: Receiver) -> None:
    webhook_create(actor=Actor(account=cast.a1), contract=cast.a, url=receiver.url)
    receiver.server.shutdown()
    receiver.server.server_close()
    alert_open(_device(cast))
    assert run_work(DELIVER) == ["retry"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status_code is None and "ConnectionRefusedError" in delivery.last_error
    attempt = delivery.tries.get()
    assert (attempt.status_code, attempt.reason) == (None, "refused")
    # The webhook's page says when (the viewer's timezone, named) and why, in words.
    page = logged_in(cast.a1).get(f"/alpha/settings/webhooks/{delivery.webhook_id}/")
    html = page.content.decode()
    when = timezone.localtime(attempt.at, ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d %H:%M:%S")
    assert "送信試行（Asia/Tokyo）" in html
    assert '<li data-attempt="refused"><time datetime="' in html and f">{when}</time>" in html
    assert "応答なし" in html
    assert "接続拒否：そのアドレスとポートで応答するものがありません" in html


def test_a_receiver_that_never_answers_is_a_timeout_said_in_english_to_an_english_viewer(
    cast: Cast, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that accepts the connection and says nothing; the call's timeout made short."""
    silent = socket.create_server(("127.0.0.1", 0))
    monkeypatch.setattr(addresses, "TIMEOUT_SECONDS", 0.2)
    port = silent.getsockname()[1]
    try:
        webhook, _secret = webhook_create(
            actor=Actor(account=cast.a1), contract=cast.a, url=f"http://127.0.0.1:{port}/h"
        )
        alert_open(_device(cast))
        assert run_work(DELIVER) == ["retry"]
    finally:
        silent.close()
    attempt = WebhookDelivery.objects.get().tries.get()
    assert (attempt.status_code, attempt.reason) == (None, "timeout")
    Account.objects.filter(pk=cast.a1.pk).update(language="en")
    html = logged_in(cast.a1).get(f"/alpha/settings/webhooks/{webhook.pk}/").content.decode()
    assert "Attempts (Asia/Tokyo)" in html and "No answer" in html
    assert "Timed out: the receiver did not answer in time" in html


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (TimeoutError("timed out"), "timeout"),
        (ConnectionRefusedError(111, "Connection refused"), "refused"),
        (socket.gaierror(-2, "Name or service not known"), "dns"),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), "tls"),
        (ssl.SSLError(1, "wrong version number"), "tls"),
        (ConnectionResetError(104, "Connection reset by peer"), "reset"),
        (http.client.RemoteDisconnected("Remote end closed connection"), "reset"),
        (BrokenPipeError(32, "Broken pipe"), "reset"),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), "unreachable"),
        (OSError(errno.EHOSTUNREACH, "No route to host"), "unreachable"),
        (http.client.BadStatusLine("HTTP/9 what"), "protocol"),
        (OSError(errno.EIO, "I/O error"), "network"),
        (addresses.AddressRefused("no", code="private"), "private"),
        (addresses.AddressRefused("no", code="dns"), "dns"),
        (addresses.AddressRefused("no"), "url"),
    ],
)
def test_each_failure_to_get_an_answer_has_its_reason(error: Exception, reason: str) -> None:
    assert failure_of(error) == reason


def test_attempts_recorded_before_the_reason_get_it_from_their_text(cast: Cast) -> None:
    webhook = Webhook.objects.create(contract=cast.a, url=f"https://{PUBLIC}/h", secret="s")
    _alert, event = alert_open(_device(cast))
    delivery = WebhookDelivery.objects.create(
        contract=cast.a, webhook=webhook, event=event, url=webhook.url, body="{}"
    )
    kept = {
        "TimeoutError: timed out": "timeout",
        "ConnectionRefusedError: [Errno 111] Connection refused": "refused",
        "gaierror: [Errno -2] Name or service not known": "dns",
        "The host hooks.example.test cannot be found.": "dns",
        "SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED]": "tls",
        "RemoteDisconnected: Remote end closed connection without response": "reset",
        "OSError: [Errno 113] No route to host": "unreachable",
        "BadStatusLine: HTTP/9": "protocol",
        "hooks.example.test is a private, loopback, link-local or otherwise non-public "
        "address (127.0.0.1): webhooks may only call public addresses.": "private",
        "OSError: [Errno 5] I/O error": "network",
        "Something else": "",
    }
    for error in kept:
        WebhookAttempt.objects.create(delivery=delivery, error=error)
    WebhookAttempt.objects.create(delivery=delivery, status_code=500, error="500 Oops")
    migration = importlib.import_module("mamori.alerts.migrations.0005_webhook_attempt_reason")
    migration.classify(django_apps, None)
    found = dict(delivery.tries.filter(status_code=None).values_list("error", "reason"))
    assert found == kept
    assert delivery.tries.get(status_code=500).reason == ""


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.0.1/hook",
        "http://100.64.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
def test_a_private_address_is_refused_at_save(cast: Cast, url: str) -> None:
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        webhook_create(actor=Actor(account=cast.a1), contract=cast.a, url=url)
    assert "public" in " ".join(refused.value.message_dict["url"])
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://93.184.216.34/hook", "The URL must start with https:// or http://."),
        ("https://user:pw@93.184.216.34/", "A URL with a user name or password is not accepted"),
        ("https:///hook", "The URL must name a host."),
        ("https://93.184.216.34/a b", "Enter a URL without spaces or control characters."),
        ("https://例え.jp/hook", "Enter the URL in ASCII"),
    ],
)
def test_a_url_that_cannot_be_called_is_refused_at_save(cast: Cast, url: str, message: str) -> None:
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        webhook_create(actor=Actor(account=cast.a1), contract=cast.a, url=url)
    assert refused.value.message_dict["url"][0].startswith(message)


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (socket.EAI_NONAME, "The host nosuch.example does not exist: DNS has no address for it."),
        # A machine offline: no DNS server answers, which says nothing about the name.
        (
            socket.EAI_AGAIN,
            "The name nosuch.example could not be resolved: no DNS server answered. Check this "
            "server's network and DNS settings, then try again.",
        ),
    ],
)
def test_a_name_that_does_not_resolve_says_why(
    cast: Cast, monkeypatch: pytest.MonkeyPatch, error: int, message: str
) -> None:
    def getaddrinfo(*args: object, **kwargs: object) -> list:
        raise socket.gaierror(error, "lookup failed")

    monkeypatch.setattr(addresses.socket, "getaddrinfo", getaddrinfo)
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        webhook_create(actor=Actor(account=cast.a1), contract=cast.a, url="https://nosuch.example/")
    assert refused.value.message_dict == {"url": [message]}
    assert not Webhook.objects.exists()


def test_a_name_resolving_to_a_private_address_names_the_name_and_the_address_once(
    cast: Cast, monkeypatch: pytest.MonkeyPatch
) -> None:
    _resolving(monkeypatch, {"intranet.example.test": "10.1.2.3"})
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        webhook_create(
            actor=Actor(account=cast.a1), contract=cast.a, url="https://intranet.example.test/"
        )
    assert refused.value.message_dict == {
        "url": [
            "intranet.example.test resolves to 10.1.2.3, a private, loopback, link-local or "
            "otherwise non-public address: webhooks may only call public addresses."
        ]
    }


def test_a_public_address_is_accepted_and_the_private_rule_can_be_lifted(
    cast: Cast, settings: object
) -> None:
    webhook_create(actor=Actor(account=cast.a1), contract=cast.a, url=f"https://{PUBLIC}/hook")
    settings.MAMORI_WEBHOOK_ALLOW_PRIVATE = True  # type: ignore[attr-defined]
    webhook_create(actor=Actor(account=cast.a1), contract=cast.a, url="http://10.1.2.3/hook")
    assert Webhook.objects.count() == 2


def test_a_name_that_resolves_to_a_private_address_at_send_is_refused(
    cast: Cast, receiver: Receiver, settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: public at save, loopback when called. Nothing is sent."""
    settings.MAMORI_WEBHOOK_ALLOW_PRIVATE = False  # type: ignore[attr-defined]
    _resolving(monkeypatch, {"hooks.example.test": PUBLIC})
    webhook_create(
        actor=Actor(account=cast.a1),
        contract=cast.a,
        url=f"http://hooks.example.test:{receiver.port}/hook",
    )
    _resolving(monkeypatch, {"hooks.example.test": "127.0.0.1"})
    alert_open(_device(cast))

    assert run_work(DELIVER) == ["failed"]

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed" and "127.0.0.1" in delivery.last_error
    assert delivery.tries.get().reason == "private"
    assert receiver.received == []


def test_the_call_goes_to_the_address_that_was_checked(
    cast: Cast, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The name is resolved once, checked, and that address connected to (with the name as
    Host): a second lookup could answer something else."""
    _resolving(monkeypatch, {"receiver.example.test": "127.0.0.1"})
    webhook_create(
        actor=Actor(account=cast.a1),
        contract=cast.a,
        url=f"http://receiver.example.test:{receiver.port}/hook",
    )
    alert_open(_device(cast))
    assert run_work(DELIVER) == ["done"]
    [(headers, _body)] = receiver.received
    assert headers["Host"] == f"receiver.example.test:{receiver.port}"


def test_every_event_is_sent_and_a_deleted_webhook_gets_no_more(
    cast: Cast, receiver: Receiver
) -> None:
    webhook, _secret = webhook_create(
        actor=Actor(account=cast.a1), contract=cast.a, url=receiver.url
    )
    alert, _event = alert_open(_device(cast))
    alert_change(alert, "risen", 2)
    alert_change(alert, "lowered", 1)
    assert run_work(DELIVER) == ["done"] * 3
    alert_change(alert, "cleared")
    webhook_delete(actor=Actor(account=cast.a1), webhook=webhook)
    assert run_work(DELIVER) == ["failed"]

    assert [json.loads(body)["event"] for _h, body in receiver.received] == [
        "opened",
        "risen",
        "lowered",
    ]
    assert json.loads(receiver.received[1][1])["alert"]["previous_level"] == "caution"
    last = WebhookDelivery.objects.order_by("id").last()
    assert last is not None
    assert (last.status, last.last_error) == ("failed", "The webhook was deleted.")
    assert [n.status for n in alert_notices(alert)] == ["delivered"] * 3 + ["failed"]


def test_the_secret_is_shown_once_and_never_logged(cast: Cast) -> None:
    client = logged_in(cast.a1)
    added = client.post("/alpha/settings/webhooks/", {"url": f"https://{PUBLIC}/hook"})
    webhook = Webhook.objects.get()
    assert webhook.secret in added.content.decode()
    assert webhook.secret not in client.get("/alpha/settings/webhooks/").content.decode()
    assert (
        webhook.secret not in client.get(f"/alpha/settings/webhooks/{webhook.pk}/").content.decode()
    )

    api = api_client(cast.a1)
    created = api.post(
        "/api/v1/webhooks", {"url": f"https://{PUBLIC}/other"}, content_type="application/json"
    )
    assert created.status_code == 201
    secret = created.json()["secret"]
    assert secret == Webhook.objects.get(pk=created.json()["id"]).secret
    assert "secret" not in api.get("/api/v1/webhooks").json()[0]
    assert api.delete(f"/api/v1/webhooks/{webhook.pk}").status_code == 204

    entries = LogEntry.objects.filter(action__startswith="webhook.").order_by("seq")
    assert [(e.action, e.after or e.before) for e in entries] == [
        ("webhook.created", {"url": f"https://{PUBLIC}/hook"}),
        ("webhook.created", {"url": f"https://{PUBLIC}/other"}),
        ("webhook.deleted", {"url": f"https://{PUBLIC}/hook"}),
    ]
    logged = json.dumps([(e.after, e.before) for e in entries])
    assert webhook.secret not in logged and secret not in logged


def test_the_api_refuses_a_private_url_with_a_clear_error(cast: Cast) -> None:
    response = api_client(cast.b1).post(
        "/api/v1/webhooks", {"url": "http://169.254.169.254/"}, content_type="application/json"
    )
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["details"][0]["field"] == "url"
    assert "public" in error["details"][0]["message"]
    assert not Webhook.objects.exists()


def test_the_same_url_twice_is_refused(cast: Cast) -> None:
    actor = Actor(account=cast.a1)
    webhook_create(actor=actor, contract=cast.a, url=f"https://{PUBLIC}/hook")
    with pytest.raises(ValidationError) as refused:
        webhook_create(actor=actor, contract=cast.a, url=f"https://{PUBLIC}/hook")
    assert list(refused.value.message_dict) == ["url"]
    # Another contract may use the same receiver.
    webhook_create(actor=Actor(account=cast.b1), contract=cast.b, url=f"https://{PUBLIC}/hook")
    assert Webhook.objects.count() == 2


def test_the_page_says_why_a_url_is_refused(cast: Cast) -> None:
    response = logged_in(cast.b1).post("/bravo/settings/webhooks/", {"url": "http://[::1]:8080/"})
    assert response.status_code == 200
    assert response.context["form"].errors["url"] == [
        "::1 is a private, loopback, link-local or otherwise non-public address: "
        "webhooks may only call public addresses."
    ]
    assert "webhook-secret" not in response.content.decode()
    assert not Webhook.objects.exists()
