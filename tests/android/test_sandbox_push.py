"""The sandbox's Pub/Sub push: Pub/Sub's body, its OIDC token, redelivery, duplicates, order.

A ``Receiver`` (tests/android/push_receiver.py) stands in for Mamori's endpoint over real HTTP;
tokens are verified with google-auth itself against the sandbox's certificates URL, as Mamori's
production verifier does (ANDROID.md 3.3, approach B).
"""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
from typing import Any

import google.auth.transport.requests
import pytest
from google.auth import exceptions as auth_exceptions
from google.auth import jwt
from google.oauth2 import id_token

from mamori.android.sandbox import keys
from mamori.android.sandbox.push import Pusher, TokenCache
from tests.android.push_receiver import SECRET, Receiver, receiver, wait_until
from tests.android.sandbox import AmapiSandbox
from tests.android.test_sandbox import bind, token_make

__all__ = ["receiver"]

ALL_KINDS = ["ENROLLMENT", "STATUS_REPORT", "COMMAND", "USAGE_LOGS"]
RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def amapi(amapi_sandbox: AmapiSandbox) -> Any:
    return amapi_sandbox.client()


def enterprise_with(amapi_sandbox: AmapiSandbox, amapi: Any, kinds: list[str]) -> dict:
    """A bound enterprise whose enabled notification types are ``kinds``."""
    enterprise = bind(amapi_sandbox, amapi)
    amapi.enterprises().patch(
        name=enterprise["name"],
        updateMask="enabledNotificationTypes",
        body={"enabledNotificationTypes": kinds},
    ).execute()
    return enterprise


def closed_port_url() -> str:
    """A loopback URL nothing listens on (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/pubsub/amapi/x"


def test_push_body_is_pubsubs_and_its_token_verifies_with_google_auth(
    amapi_sandbox: AmapiSandbox, amapi: Any, receiver: Receiver
) -> None:
    enterprise = enterprise_with(amapi_sandbox, amapi, ALL_KINDS)
    amapi_sandbox.push_to(receiver.url)
    (name,) = amapi_sandbox.enroll(token_make(amapi, enterprise)["value"])

    wait_until(lambda: len(receiver.received) >= 2)
    first, second = receiver.received[:2]  # in publish order, without --reorder
    assert first.path == f"/pubsub/amapi/{SECRET}"
    assert set(first.body) == {"message", "subscription"}
    assert first.body["subscription"] == "projects/mamori-sandbox/subscriptions/mamori-push"
    message = first.body["message"]
    assert set(message) == {
        "attributes", "data", "messageId", "message_id", "publishTime", "publish_time"
    }  # fmt: skip
    assert message["attributes"] == {"notificationType": "ENROLLMENT"}
    assert message["messageId"] == message["message_id"] and message["messageId"].isdigit()
    assert message["publishTime"] == message["publish_time"]
    assert RFC3339_Z.match(message["publishTime"])
    device = json.loads(base64.b64decode(message["data"]).decode("utf-8"))
    assert device["name"] == name and device["state"] == "PROVISIONING"
    assert second.body["message"]["attributes"] == {"notificationType": "STATUS_REPORT"}
    assert second.body["message"]["messageId"] != message["messageId"]
    assert first.headers["Content-Type"] == "application/json"

    scheme, _, token = first.headers["Authorization"].partition(" ")
    assert scheme == "Bearer"
    key = json.loads(amapi_sandbox.key_file.read_text())
    assert jwt.decode_header(token) == {"alg": "RS256", "typ": "JWT", "kid": key["private_key_id"]}
    request = google.auth.transport.requests.Request()
    claims = id_token.verify_token(
        token, request, audience=receiver.url, certs_url=amapi_sandbox.certs_url
    )
    assert claims["iss"] == "https://accounts.google.com"
    assert claims["email"] == key["client_email"] and claims["email_verified"] is True
    assert claims["sub"] == claims["azp"] == key["client_id"]
    assert claims["exp"] - claims["iat"] == 3600
    # one token for every push, as Pub/Sub reuses one for up to an hour
    assert second.headers["Authorization"] == first.headers["Authorization"]
    with pytest.raises(ValueError, match="audience"):
        id_token.verify_token(token, request, audience="https://other/", certs_url=amapi_sandbox.certs_url)  # fmt: skip


def test_audience_and_email_follow_the_settings_and_a_forged_token_is_refused(
    amapi_sandbox: AmapiSandbox, amapi: Any, receiver: Receiver
) -> None:
    enterprise = enterprise_with(amapi_sandbox, amapi, ["ENROLLMENT"])
    amapi_sandbox.push_to(
        receiver.url,
        audience="https://mamori.example/pubsub",
        email="push@p.iam.gserviceaccount.com",
    )
    amapi_sandbox.enroll(token_make(amapi, enterprise)["value"])
    wait_until(lambda: receiver.received)
    token = receiver.received[0].headers["Authorization"].removeprefix("Bearer ")
    request = google.auth.transport.requests.Request()
    claims = id_token.verify_token(
        token, request, audience="https://mamori.example/pubsub", certs_url=amapi_sandbox.certs_url
    )
    assert claims["email"] == "push@p.iam.gserviceaccount.com"

    # another key under the sandbox's kid: google-auth cannot verify the signature
    other = keys._new_key() | {"private_key_id": jwt.decode_header(token)["kid"]}
    forged = keys.oidc_token(other, "https://mamori.example/pubsub")
    with pytest.raises((ValueError, auth_exceptions.GoogleAuthError)):
        id_token.verify_token(
            forged, request, audience="https://mamori.example/pubsub",
            certs_url=amapi_sandbox.certs_url,
        )  # fmt: skip


def test_certs_url_serves_a_self_signed_certificate_of_the_key(amapi_sandbox: AmapiSandbox) -> None:
    request = google.auth.transport.requests.Request()
    response = request(amapi_sandbox.certs_url)
    certs = json.loads(response.data)
    key = json.loads(amapi_sandbox.key_file.read_text())
    assert list(certs) == [key["private_key_id"]]
    assert certs[key["private_key_id"]].startswith("-----BEGIN CERTIFICATE-----")
    assert json.loads(request(amapi_sandbox.certs_url).data) == certs  # made once


def test_only_enabled_types_are_pushed_and_nothing_without_a_topic(
    amapi_sandbox: AmapiSandbox, amapi: Any, receiver: Receiver
) -> None:
    enterprise = enterprise_with(amapi_sandbox, amapi, ["STATUS_REPORT"])
    amapi_sandbox.push_to(receiver.url)
    amapi_sandbox.enroll(token_make(amapi, enterprise)["value"])
    wait_until(lambda: receiver.received)
    amapi_sandbox.devices.turn()
    assert [kind for kind, _, _ in receiver.messages()] == ["STATUS_REPORT"]

    amapi.enterprises().patch(
        name=enterprise["name"], updateMask="pubsubTopic", body={}
    ).execute()  # fmt: skip
    amapi_sandbox.enroll(token_make(amapi, enterprise)["value"])
    amapi_sandbox.devices.turn()
    amapi_sandbox.pusher.deliver_due()
    assert len(receiver.received) == 1
    assert amapi_sandbox.store.read("SELECT COUNT(*) AS n FROM push")[0]["n"] == 0


def test_unacknowledged_messages_are_redelivered_with_backoff_until_a_2xx(
    amapi_sandbox: AmapiSandbox, amapi: Any, receiver: Receiver
) -> None:
    enterprise = enterprise_with(amapi_sandbox, amapi, ["ENROLLMENT"])
    amapi_sandbox.push_to(closed_port_url(), min_backoff=0.05, max_backoff=0.2)
    amapi_sandbox.enroll(token_make(amapi, enterprise)["value"])
    refused = wait_until(lambda: [d for d in amapi_sandbox.pusher.delivered if d.status == 0])
    queued = amapi_sandbox.store.read("SELECT attempts FROM push")
    assert len(queued) == 1 and queued[0]["attempts"] >= 1 and refused

    receiver.answers = [500, 503, 429]
    amapi_sandbox.push_to(receiver.url)
    wait_until(lambda: len(receiver.received) == 4)
    ids = {item.body["message"]["messageId"] for item in receiver.received}
    assert len(ids) == 1  # the same message, four times: three refusals, then 204
    wait_until(lambda: not amapi_sandbox.store.read("SELECT 1 FROM push"))
    statuses = [d.status for d in amapi_sandbox.pusher.delivered if d.status]
    assert statuses == [500, 503, 429, 204]


def test_backoff_doubles_from_the_minimum_up_to_the_maximum(amapi_sandbox: AmapiSandbox) -> None:
    pusher = Pusher(amapi_sandbox.store, json.loads(amapi_sandbox.key_file.read_text()), None)
    try:
        assert [pusher.backoff(n) for n in (1, 2, 3, 6, 7, 30)] == [1, 2, 4, 32, 60, 60]
    finally:
        pusher.close()


def test_duplicate_rate_one_delivers_every_message_twice(
    amapi_sandbox: AmapiSandbox, amapi: Any, receiver: Receiver
) -> None:
    enterprise = enterprise_with(amapi_sandbox, amapi, ["ENROLLMENT"])
    amapi_sandbox.push_to(receiver.url, duplicate_rate=1.0)
    amapi_sandbox.enroll(token_make(amapi, enterprise)["value"], count=3)
    wait_until(lambda: len(receiver.received) == 6)
    ids = [item.body["message"]["messageId"] for item in receiver.received]
    assert len(set(ids)) == 3 and all(ids.count(ident) == 2 for ident in ids)


def test_delivery_keeps_publish_order_unless_told_to_reorder_and_loses_nothing(
    amapi_sandbox: AmapiSandbox, amapi: Any, receiver: Receiver
) -> None:
    enterprise = enterprise_with(amapi_sandbox, amapi, ["ENROLLMENT"])
    token = token_make(amapi, enterprise)["value"]

    def published_and_delivered(reorder: bool) -> tuple[list[str], list[str]]:
        receiver.received.clear()
        amapi_sandbox.pusher.stop()  # hold the queue while it fills
        try:
            amapi_sandbox.enroll(token, count=40)
            published = [row["message_id"] for row in
                         amapi_sandbox.store.read("SELECT message_id FROM push ORDER BY seq")]  # fmt: skip
            amapi_sandbox.push_to(receiver.url, reorder=reorder)
            amapi_sandbox.pusher.deliver_due()  # one round, by hand
        finally:
            amapi_sandbox.pusher.start()
        return published, [item.body["message"]["messageId"] for item in receiver.received]

    published, delivered = published_and_delivered(reorder=False)
    assert delivered == published and len(published) == 40
    published, delivered = published_and_delivered(reorder=True)
    assert sorted(delivered) == sorted(published) and len(published) == 40
    assert delivered != published


def test_reorder_schedules_each_message_within_its_window_of_five(
    amapi_sandbox: AmapiSandbox,
) -> None:
    pusher = Pusher(amapi_sandbox.store, json.loads(amapi_sandbox.key_file.read_text()), None)
    rows = [(seq, b"") for seq in range(40)]
    try:
        assert pusher.schedule(rows) == rows  # in order unless told
        pusher.reorder = True
        orders = [[seq for seq, _ in pusher.schedule(rows)] for _ in range(3)]
    finally:
        pusher.close()
    for order in orders:
        assert sorted(order) == list(range(40))
        assert all(seq // 5 == index // 5 for index, seq in enumerate(order))
    assert any(order != list(range(40)) for order in orders)


def test_a_restart_keeps_what_was_not_delivered(
    amapi_sandbox: AmapiSandbox, amapi: Any, receiver: Receiver
) -> None:
    enterprise = enterprise_with(amapi_sandbox, amapi, ["ENROLLMENT"])
    amapi_sandbox.push_to(closed_port_url(), min_backoff=0.05)
    (name,) = amapi_sandbox.enroll(token_make(amapi, enterprise)["value"])
    wait_until(lambda: amapi_sandbox.pusher.delivered)
    amapi_sandbox.pusher.stop()
    try:
        # another process (a restarted serve) reads the same state file
        from mamori.android.sandbox.store import Store

        store = Store(amapi_sandbox.store.path)
        again = Pusher(store, json.loads(amapi_sandbox.key_file.read_text()), receiver.url)
        try:
            wait_until(lambda: again.deliver_due(now=10**10) or receiver.received)
        finally:
            again.close()
    finally:
        amapi_sandbox.pusher.start()
    ((kind, device, _),) = receiver.messages()
    assert (kind, device["name"]) == ("ENROLLMENT", name)


def test_a_slow_endpoint_does_not_hold_up_the_api(
    amapi_sandbox: AmapiSandbox, amapi: Any, receiver: Receiver
) -> None:
    enterprise = enterprise_with(amapi_sandbox, amapi, ["ENROLLMENT"])
    receiver.hold = threading.Event()
    amapi_sandbox.push_to(receiver.url)
    try:
        amapi_sandbox.enroll(token_make(amapi, enterprise)["value"])
        assert receiver.waiting.wait(timeout=20)  # a push is in flight, unanswered
        assert amapi.enterprises().get(name=enterprise["name"]).execute()["name"]
        assert receiver.received == []
    finally:
        receiver.hold.set()
    wait_until(lambda: receiver.received)


def test_one_token_is_reused_until_it_is_55_minutes_old(amapi_sandbox: AmapiSandbox) -> None:
    cache = TokenCache(json.loads(amapi_sandbox.key_file.read_text()), "https://a/", None)
    first = cache.token()
    assert cache.token() == first
    made = cache._made
    cache._made -= 54 * 60  # 54 minutes old: still the one
    assert cache.token() == first and cache._made == made - 54 * 60
    cache._made -= 60  # 55 minutes old: a new one
    cache.token()
    assert cache._made >= made
