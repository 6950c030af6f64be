"""End to end with the AMAPI sandbox over HTTP: a virtual device enrolled with a Mamori token,
its ENROLLMENT pushed (the body built from the sandbox's own ``Device``, as Pub/Sub would carry
it), applied by the worker into the token's organization; then the ``devices.list`` walk finds
a device whose notification was lost, and the device deleted at Google."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from mamori.android import amapi, services
from mamori.android.models import Device, DeviceState, Enterprise, PersonalUsage
from mamori.android.notifications.reconcile import devices_reconcile
from mamori.android.notifications.store import APPLY
from mamori.core.actor import Actor
from tests.android.pubsub import PUSH_URL, SECRET, body
from tests.android.test_gateway import _enterprise as sandbox_enterprise
from tests.conftest import OrgCast, run_work

pytestmark = pytest.mark.django_db


def test_a_sandbox_device_enrolls_into_the_tokens_organization_and_is_reconciled(
    orgs: OrgCast, amapi_sandbox: Any, settings: Any
) -> None:
    settings.MAMORI_PUBSUB_PUSH_SECRET = SECRET
    settings.MAMORI_PUBSUB_AUDIENCE = ""
    name = sandbox_enterprise(amapi_sandbox)
    Enterprise.objects.create(contract=orgs.cast.a, name=name, display_name="Alpha Inc.")
    token = services.enrollment_token_create(
        actor=Actor(account=orgs.cast.a1),
        organization=orgs.tokyo,
        user=orgs.sato,
        allow_personal_usage=PersonalUsage.DISALLOWED,
        one_time=False,
    )
    first = amapi_sandbox.enroll(token.value, count=1)[0]
    resource = amapi.device_get(first)
    response = Client().post(
        PUSH_URL, data=body("ENROLLMENT", resource), content_type="application/json"
    )
    assert response.status_code == 204
    assert run_work(APPLY) == ["done"]
    device = Device.objects.get(name=first)
    assert (device.organization, device.user, device.token) == (orgs.tokyo, orgs.sato, token)
    assert device.serial_number == resource["hardwareInfo"]["serialNumber"]
    assert device.kind == "fully_managed"
    # A second device whose ENROLLMENT was lost, and the first deleted at Google.
    second = amapi_sandbox.enroll(token.value, count=1)[0]
    amapi.device_delete(first)
    counts = devices_reconcile()
    assert counts == {"pages": 1, "created": 1, "updated": 0, "deleted": 1}
    device.refresh_from_db()
    assert device.applied_state == DeviceState.DELETED and device.deleted_at is not None
    found = Device.objects.get(name=second)
    assert (found.organization, found.user) == (orgs.tokyo, orgs.sato)
