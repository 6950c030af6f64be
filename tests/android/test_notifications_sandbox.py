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
from tests.conftest import OrgCast, cast_create, run_work

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


@pytest.mark.django_db(transaction=True)
def test_the_sandboxs_own_push_with_its_oidc_token_reaches_the_device_list(
    amapi_sandbox: Any, live_server: Any, settings: Any
) -> None:
    """The sandbox pushes to the running panel as Pub/Sub would: its OIDC token is verified by
    the production verifier against the sandbox's certificates URL (ANDROID.md 3.3, approach B)."""
    from mamori.android.notifications import verify
    from mamori.android.notifications.apply import inbox_drain
    from mamori.android.notifications.models import InboxMessage
    from mamori.android.sandbox.keys import CLIENT_EMAIL
    from tests.android.push_receiver import wait_until
    from tests.conftest import orgs_create

    orgs = orgs_create(cast_create())
    audience = f"{live_server.url}/pubsub/amapi"
    settings.MAMORI_PUBSUB_PUSH_SECRET = SECRET
    settings.MAMORI_PUBSUB_AUDIENCE = audience
    settings.MAMORI_PUBSUB_SERVICE_ACCOUNT = CLIENT_EMAIL
    settings.MAMORI_PUBSUB_CERTS_URL = amapi_sandbox.server.certs_url
    old = verify.verifier_set(verify.PushVerifier())
    try:
        name = sandbox_enterprise(amapi_sandbox)
        Enterprise.objects.create(contract=orgs.cast.a, name=name, display_name="Alpha Inc.")
        token = services.enrollment_token_create(
            actor=Actor(account=orgs.cast.a1), organization=orgs.dev, one_time=True
        )
        amapi_sandbox.push_to(f"{audience}/{SECRET}", audience=audience, email=CLIENT_EMAIL)
        (device_name,) = amapi_sandbox.enroll(token.value, count=1)
        wait_until(lambda: InboxMessage.objects.filter(notification_type="ENROLLMENT").exists())
        inbox_drain(seconds=5)
        device = Device.objects.get(name=device_name)
        assert (device.organization, device.contract) == (orgs.dev, orgs.cast.a)
        token.refresh_from_db()
        assert token.used_at is not None
        # A push whose token names another audience is refused: nothing more is stored.
        stored = InboxMessage.objects.count()
        amapi_sandbox.push_to(f"{audience}/{SECRET}", audience="https://elsewhere.example")
        amapi_sandbox.enroll(
            services.enrollment_token_create(
                actor=Actor(account=orgs.cast.a1), organization=orgs.dev, one_time=True
            ).value
        )
        wait_until(lambda: any(d.status == 401 for d in list(amapi_sandbox.pusher.delivered)), 20)
        assert InboxMessage.objects.count() == stored
    finally:
        amapi_sandbox.push_to(None)
        verify.verifier_set(old)
