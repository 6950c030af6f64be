"""``enterprise_unbound`` end to end with the AMAPI sandbox (issue 10): the customer's
administrator removes Mamori as the enterprise's EMM in Google's console (the sandbox's
``enterprise NAME --revoke-access``), so Google refuses every call about the enterprise with
403 PERMISSION_DENIED. The next call Mamori makes (here the periodic device reconciliation)
opens one important alert and mails it at once through a real SMTP server; when access is
restored, the next call that succeeds clears it."""

from __future__ import annotations

import datetime

import pytest
import time_machine
from django.utils import timezone

from mamori.alerts.models import Alert, AlertKind, AlertLevel
from mamori.android import amapi
from mamori.android.notifications.reconcile import devices_reconcile
from mamori.android.sandbox.controls import ControlRefused, enterprise_access
from tests.alerts_data import settings_set
from tests.android.push_receiver import receiver
from tests.android.sandbox import AmapiSandbox
from tests.android.test_alerts_mail_flow import mailed
from tests.android.test_alerts_sandbox import deliver, fleet, history
from tests.android.test_sandbox_cli import mamori
from tests.android.test_sandbox_devices import FULLY_MANAGED, Fleet
from tests.conftest import OrgCast
from tests.smtp import SmtpServer, body_of
from tests.test_alert_mail import _recipients

__all__ = ["fleet", "receiver"]

pytestmark = pytest.mark.django_db
K, L = AlertKind, AlertLevel


def unbound() -> list[tuple[int, bool]]:
    """``(level, open)`` of each ``enterprise_unbound`` alert."""
    rows = Alert.objects.filter(kind=K.ENTERPRISE_UNBOUND).order_by("pk")
    return [(a.level, a.cleared_at is None) for a in rows]


def test_revoked_access_opens_one_important_alert_mailed_at_once_and_restoring_clears_it(
    fleet: Fleet, amapi_sandbox: AmapiSandbox, orgs: OrgCast, smtp_server: SmtpServer
) -> None:
    _recipients(orgs.cast)  # A1 (ja) and Eve (en) hold the support option
    settings_set(orgs, mail_immediately=["enterprise_unbound"])
    deliver(fleet, fleet.enroll(FULLY_MANAGED, password=True))
    name = fleet.enterprise["name"]
    assert devices_reconcile()["pages"] == 1
    assert unbound() == []

    enterprise_access(amapi_sandbox.store, name, revoked=True)
    with pytest.raises(amapi.AmapiRefused):
        amapi.enterprise_get(name, contract_id=orgs.cast.a.pk)
    assert unbound() == [(L.IMPORTANT, True)]
    alert = Alert.objects.get(kind=K.ENTERPRISE_UNBOUND)
    assert (alert.contract_id, alert.device_id, alert.organization_id) == (
        orgs.cast.a.pk,
        None,
        None,
    )
    assert alert.details["code"] == "PERMISSION_DENIED"
    # The periodic reconciliation is refused as well: still one alert, not a second.
    later = timezone.now() + datetime.timedelta(hours=7)
    assert devices_reconcile(later)["pages"] == 0
    assert unbound() == [(L.IMPORTANT, True)]

    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=1), tick=False):
        messages = mailed(smtp_server, 2)
    assert sorted(m["To"] for m in messages) == ["admin@alpha.example", "eve@alpha.example"]
    english = next(m for m in messages if m["To"] == "eve@alpha.example")
    japanese = next(m for m in messages if m["To"] == "admin@alpha.example")
    assert english["Subject"] == "[Mamori] Important: Android Enterprise binding broken"
    assert japanese["Subject"] == "[Mamori] 重要: Android Enterprise の連携切れ"
    assert "Settings → Android Enterprise: http://testserver/alpha/settings/android/" in body_of(
        english
    )
    assert "Device:" not in body_of(english) and "binding broken" not in body_of(japanese)

    enterprise_access(amapi_sandbox.store, name, revoked=False)
    assert amapi.enterprise_get(name, contract_id=orgs.cast.a.pk)["name"] == name
    assert unbound() == [(L.IMPORTANT, False)]
    assert history(K.ENTERPRISE_UNBOUND) == ["opened", "cleared"]


def test_the_sandbox_command_revokes_and_restores_an_enterprises_access(
    amapi_sandbox: AmapiSandbox, fleet: Fleet
) -> None:
    var = amapi_sandbox.server.var_dir
    name = fleet.enterprise["name"]
    revoked = mamori("amapi-sandbox", "enterprise", name, "--revoke-access", var=var)
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip() == (
        f"{name}: access revoked (every call is 403 PERMISSION_DENIED)."
    )
    policies = fleet.amapi.enterprises().policies()
    with pytest.raises(Exception) as refused:
        policies.list(parent=name).execute()
    assert refused.value.resp.status == 403  # type: ignore[attr-defined]
    assert "The caller does not have permission" in str(refused.value)

    restored = mamori("amapi-sandbox", "enterprise", name.split("/")[1], "--restore-access",
                      var=var)  # fmt: skip
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.strip() == f"{name}: access restored."
    assert [p["name"] for p in policies.list(parent=name).execute()["policies"]] == [
        f"{name}/policies/default"
    ]

    neither = mamori("amapi-sandbox", "enterprise", name, var=var)
    assert neither.returncode != 0
    assert "one of the arguments --revoke-access --restore-access is required" in neither.stderr
    with pytest.raises(ControlRefused, match=r"No enterprise is named 'enterprises/LCnope'\."):
        enterprise_access(amapi_sandbox.store, "enterprises/LCnope", revoked=True)
    unknown = mamori("amapi-sandbox", "enterprise", "LCnope", "--revoke-access", var=var)
    assert unknown.returncode == 1
    assert "No enterprise is named 'LCnope'." in unknown.stderr
