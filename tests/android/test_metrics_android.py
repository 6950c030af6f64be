"""The Android metrics (issue 11) with the AMAPI sandbox: each call to Google counted by method
and outcome, each Pub/Sub notification by type and what the apply worker decided."""

from __future__ import annotations

import pytest
from django.test import Client

from mamori.android import amapi
from mamori.android.notifications.apply import inbox_drain
from mamori.android.notifications.store import push_store
from mamori.android.sandbox.controls import enterprise_access
from tests.android.pubsub import body
from tests.android.push_receiver import receiver
from tests.android.sandbox import AmapiSandbox
from tests.android.test_alerts_sandbox import deliver, fleet
from tests.android.test_sandbox_devices import FULLY_MANAGED, Fleet
from tests.conftest import OrgCast
from tests.test_metrics import sample

__all__ = ["fleet", "receiver"]

pytestmark = pytest.mark.django_db


def test_amapi_calls_and_pubsub_messages_are_counted(
    fleet: Fleet, amapi_sandbox: AmapiSandbox, orgs: OrgCast, django_capture_on_commit_callbacks
) -> None:
    name = fleet.enterprise["name"]
    get = {"method": "enterprises.get"}
    ok, denied = (
        sample("mamori_amapi_calls_total", **get, status="ok"),
        sample("mamori_amapi_calls_total", **get, status="PERMISSION_DENIED"),
    )
    amapi.enterprise_get(name, contract_id=orgs.cast.a.pk)
    enterprise_access(amapi_sandbox.store, name, revoked=True)
    with pytest.raises(amapi.AmapiRefused):
        amapi.enterprise_get(name, contract_id=orgs.cast.a.pk)
    assert sample("mamori_amapi_calls_total", **get, status="ok") == ok + 1
    assert sample("mamori_amapi_calls_total", **get, status="PERMISSION_DENIED") == denied + 1
    enterprise_access(amapi_sandbox.store, name, revoked=False)

    applied = sample("mamori_pubsub_messages_total", type="STATUS_REPORT", outcome="applied")
    # Counted when the batch commits (the test's transaction never does: its callbacks run).
    with django_capture_on_commit_callbacks(execute=True):
        deliver(fleet, fleet.enroll(FULLY_MANAGED, password=True))
    assert (
        sample("mamori_pubsub_messages_total", type="STATUS_REPORT", outcome="applied")
        == applied + 1
    )
    odd = sample("mamori_pubsub_messages_total", type="other", outcome="unknown_type")
    push_store(body("SOMETHING_NEW", {"name": f"{name}/devices/x"}))
    with django_capture_on_commit_callbacks(execute=True):
        inbox_drain(seconds=5)
    assert sample("mamori_pubsub_messages_total", type="other", outcome="unknown_type") == odd + 1
    text = Client().get("/metrics").content.decode()
    assert 'mamori_amapi_calls_total{method="enterprises.get",status="ok"}' in text
    assert 'mamori_pubsub_messages_total{outcome="applied",type="STATUS_REPORT"}' in text
