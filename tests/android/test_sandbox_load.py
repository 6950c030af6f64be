"""``mamori amapi-sandbox load``: STATUS_REPORT pushes at a steady rate, a few seconds' worth.

What is checked is what the benchmark relies on: the rate is kept, every message is distinct and
Pub/Sub's, the body is a realistic Device (several KB, application reports), a device's
``lastStatusReportTime`` advances, the one token verifies, and the measurements add up.
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from typing import Any

import google.auth.transport.requests
import pytest
from google.oauth2 import id_token

from mamori.android.sandbox import load
from tests.android.push_receiver import Receiver, receiver
from tests.android.sandbox import AmapiSandbox
from tests.android.test_sandbox import bind

__all__ = ["receiver"]


def test_load_pushes_realistic_reports_at_the_rate_asked(
    amapi_sandbox: AmapiSandbox, receiver: Receiver
) -> None:
    amapi = amapi_sandbox.client()
    enterprise = bind(amapi_sandbox, amapi)
    result = load.run(
        var_dir=amapi_sandbox.server.var_dir,
        devices=30,
        rate=40,
        seconds=1.5,
        push_url=receiver.url,
        threads=3,
    )
    assert result["enterprise"] == enterprise["name"] and result["devices"] == 30
    assert result["sent"] == 60 == len(receiver.received)
    assert (result["acked"], result["errors"], result["statuses"]) == (60, 0, {204: 60})
    assert 30 <= result["rate"] <= 41
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert result["cpu_seconds"] > 0 and 0 < result["cpu_share"] < 2
    assert result["body_bytes"] > 6000

    ids = [item.body["message"]["messageId"] for item in receiver.received]
    assert len(set(ids)) == 60
    times: dict[str, list[str]] = defaultdict(list)
    for kind, device, message in sorted(receiver.messages(), key=lambda m: m[2]["publishTime"]):
        assert kind == "STATUS_REPORT"
        assert device["lastStatusReportTime"] == message["publishTime"]
        times[device["name"]].append(device["lastStatusReportTime"])
    assert len(times) == 30 and all(len(t) == 2 and t[0] < t[1] for t in times.values())
    sample: dict[str, Any] = receiver.messages()[0][1]
    assert sample["name"].startswith(f"{enterprise['name']}/devices/")
    assert len(sample["applicationReports"]) >= load.APPS
    assert sample["hardwareInfo"]["serialNumber"] and sample["softwareInfo"]["androidVersion"]
    body = receiver.received[0].body
    assert base64.b64decode(body["message"]["data"]).startswith(b'{"name":')
    assert body["subscription"] == "projects/mamori-sandbox/subscriptions/mamori-push"

    tokens = {item.headers["Authorization"] for item in receiver.received}
    assert len(tokens) == 1
    claims = id_token.verify_token(
        tokens.pop().removeprefix("Bearer "),
        google.auth.transport.requests.Request(),
        audience=receiver.url,
        certs_url=amapi_sandbox.certs_url,
    )
    assert claims["email_verified"] is True

    # the devices are reused, and silent for serve
    again = load.run(var_dir=amapi_sandbox.server.var_dir, devices=30, rate=20, seconds=0.2,
                     push_url=receiver.url)  # fmt: skip
    assert again["sent"] == 4 and again["acked"] == 4
    rows = amapi_sandbox.store.read("SELECT next_report FROM device")
    assert len(rows) == 30 and {row["next_report"] for row in rows} == {None}


def test_load_counts_refusals_and_refuses_what_is_not_on_this_machine(
    amapi_sandbox: AmapiSandbox, receiver: Receiver
) -> None:
    receiver.answers = [500, 403]
    result = load.run(var_dir=amapi_sandbox.server.var_dir, devices=3, rate=20, seconds=0.25,
                      push_url=receiver.url, threads=1)  # fmt: skip
    assert result["sent"] == 5 and result["errors"] == 2
    assert result["statuses"] == {204: 3, 403: 1, 500: 1}
    assert json.loads(amapi_sandbox.store.read("SELECT body FROM enterprise")[0]["body"])[
        "pubsubTopic"
    ]  # an enterprise was made for the load
    receiver.close_each = True  # a server without keep-alive: a connection per message
    closing = load.run(var_dir=amapi_sandbox.server.var_dir, devices=3, rate=20, seconds=0.25,
                       push_url=receiver.url, threads=2)  # fmt: skip
    assert (closing["sent"], closing["acked"]) == (5, 5)
    with pytest.raises(load.LoadRefused, match="loopback"):
        load.run(var_dir=amapi_sandbox.server.var_dir, devices=1, rate=1, seconds=1,
                 push_url="http://mamori.invalid/pubsub/amapi/x")  # fmt: skip
    with pytest.raises(load.LoadRefused, match="enterprises/LC0nope"):
        load.run(var_dir=amapi_sandbox.server.var_dir, devices=1, rate=1, seconds=1,
                 push_url=receiver.url, enterprise="enterprises/LC0nope")  # fmt: skip
