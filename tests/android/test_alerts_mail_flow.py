"""Issue 10's alert flows joined end to end: the AMAPI sandbox's virtual device, Mamori's
detector and periodic jobs, the durable work and a real SMTP server (aiosmtpd).

- a device stops reporting: with thresholds of 1 and 2 hours and the clock moved on
  (time-machine), the periodic check makes it a caution, then a warning; each is one mail per
  recipient (support-option System administrators' main addresses only, each in their
  language); it reports again → the alert clears; the next daily summary lists it opened and
  cleared;
- a profile requires a password and the device has none: with grace 0, a warning and a mail at
  once; RESET_PASSWORD → compliant → cleared, and no mail for the clearing.

Time moves with ``tick=True`` wherever the sandbox must run (its devices and pusher read the
clock), and is frozen where only Mamori's jobs run.
"""

from __future__ import annotations

import contextlib
import datetime
import zoneinfo
from email.message import EmailMessage

import pytest
import time_machine
from django.utils import timezone

from mamori.alerts.mail import GATHER
from mamori.alerts.models import Alert, AlertEvent, AlertKind, AlertLevel, AlertMail
from mamori.alerts.summary import JOB as SUMMARY_JOB
from mamori.android.models import Device
from mamori.android.sandbox.controls import Controls, device_control
from mamori.core.work import periodic_jobs
from mamori.core.work.periodic import periodic_claim
from mamori.outbox.models import OutboundMail
from tests.alerts_data import settings_set
from tests.android.push_receiver import receiver
from tests.android.sandbox import AmapiSandbox
from tests.android.test_alerts_sandbox import alerts, deliver, fleet, history, password_reset
from tests.android.test_sandbox_devices import FULLY_MANAGED, Fleet
from tests.conftest import OrgCast, run_work
from tests.smtp import SmtpServer, body_of
from tests.test_alert_mail import _recipients

__all__ = ["fleet", "receiver"]

pytestmark = pytest.mark.django_db
K, L = AlertKind, AlertLevel
TOKYO, NEW_YORK = zoneinfo.ZoneInfo("Asia/Tokyo"), zoneinfo.ZoneInfo("America/New_York")
ADMIN, EVE = "admin@alpha.example", "eve@alpha.example"


def job_run(name: str) -> list[str]:
    """Claim the current slot of the periodic job ``name`` as a worker's ticker would, and run
    its work; each outcome's status."""
    job = next(j for j in periodic_jobs() if j.name == name)
    assert periodic_claim(job, job.slot(timezone.now()))
    return run_work(name)


def mailed(smtp: SmtpServer, count: int) -> list[EmailMessage]:
    """Run the due gathering work and the outbox's deliveries as a worker would; the ``count``
    messages the SMTP server then holds (all of them, oldest first)."""
    run_work(GATHER)
    assert set(run_work("mail.deliver")) == {"done"}
    messages = smtp.collector.wait_for(count)
    assert len(messages) == count
    return messages


def local(moment: datetime.datetime, zone: zoneinfo.ZoneInfo) -> str:
    at = moment.astimezone(zone)
    return f"{at:%Y-%m-%d %H:%M} {at.tzname()}"


def _clear_of_summary_slot() -> contextlib.AbstractContextManager[object]:
    """The clock moved (ticking) to just after the next 10:00 Tokyo when that is less than
    three hours away; otherwise left alone."""
    now = timezone.now()
    slot = datetime.datetime.combine(now.astimezone(TOKYO).date(), datetime.time(10), TOKYO)
    if slot <= now:
        slot += datetime.timedelta(days=1)
    if slot - now >= datetime.timedelta(hours=3):
        return contextlib.nullcontext()
    return time_machine.travel(slot + datetime.timedelta(minutes=1), tick=True)


def test_a_silent_device_is_mailed_at_caution_and_warning_and_summarised_once_cleared(
    fleet: Fleet, amapi_sandbox: AmapiSandbox, orgs: OrgCast, smtp_server: SmtpServer
) -> None:
    _recipients(orgs.cast)  # A1 (ja) and Eve (en) hold the option; Dan disabled, Sam without
    settings_set(orgs, mail_immediately=["no_report"], caution_hours=1, warning_hours=2)
    # The story takes under three hours of the clock from its start; it starts just after a
    # summary's 10:00 Tokyo when one would fall inside it (the next summary then covers all of
    # it, whatever the time of day the suite runs at).
    with _clear_of_summary_slot():
        name = fleet.enroll(FULLY_MANAGED, password=True)
        deliver(fleet, name)
        serial = str(Device.objects.get(name=name))
        device_control(amapi_sandbox.store, name, Controls(stop_reporting=True))
        start = timezone.now().replace(second=0, microsecond=0)

    with time_machine.travel(start + datetime.timedelta(minutes=30), tick=False):
        assert job_run("alerts.check") == ["done"]
        assert alerts(K.NO_REPORT) == []
    with time_machine.travel(start + datetime.timedelta(minutes=90), tick=False):
        assert job_run("alerts.check") == ["done"]
        assert alerts(K.NO_REPORT) == [(L.CAUTION, True)]
    with time_machine.travel(start + datetime.timedelta(minutes=91), tick=False):
        caution = {m["To"]: m for m in mailed(smtp_server, 2)}
    with time_machine.travel(start + datetime.timedelta(minutes=150), tick=False):
        assert job_run("alerts.check") == ["done"]
        assert alerts(K.NO_REPORT) == [(L.WARNING, True)]
    with time_machine.travel(start + datetime.timedelta(minutes=151), tick=False):
        warning = {m["To"]: m for m in mailed(smtp_server, 4)[2:]}

    # One mail per recipient and level, to the two main addresses only.
    assert sorted(caution) == sorted(warning) == [ADMIN, EVE]
    assert [m["To"] for m in smtp_server.messages].count(EVE) == 2
    assert caution[ADMIN]["Subject"] == f"[Mamori] 注意: {serial} の状態報告なし"
    assert caution[EVE]["Subject"] == f"[Mamori] Caution: No status report on {serial}"
    assert warning[EVE]["Subject"] == f"[Mamori] Risen to Warning: No status report on {serial}"
    assert warning[ADMIN]["Subject"] == f"[Mamori] 警告に上昇: {serial} の状態報告なし"
    opened_at = start + datetime.timedelta(minutes=90)
    assert "[注意] 状態報告なし: 発生" in body_of(caution[ADMIN])
    assert local(opened_at, TOKYO) in body_of(caution[ADMIN])
    assert "[Caution] No status report: Opened" in body_of(caution[EVE])
    assert local(opened_at, NEW_YORK) in body_of(caution[EVE])
    assert "Risen from Caution to Warning" in body_of(warning[EVE])
    assert "[警告] 状態報告なし: 注意から警告に上昇" in body_of(warning[ADMIN])
    alert = Alert.objects.get(kind=K.NO_REPORT)
    assert f"http://testserver/alpha/devices/alerts/{alert.pk}/" in body_of(warning[EVE])
    # Each mail says what the alert's page says: its sentence (as at the event), the device,
    # since when, what clears it, and why the recipient is mailed.
    assert "The device has sent no status report for 1 hour.\r\n" in body_of(caution[EVE])
    assert "The device has sent no status report for 2 hours.\r\n" in body_of(warning[EVE])
    assert "デバイスから 1 時間状態報告が届いていません。" in body_of(caution[ADMIN])
    assert f"Device: {serial} (" in body_of(warning[EVE])
    assert f"Open since: {local(opened_at, NEW_YORK)}" in body_of(warning[EVE])
    assert "It clears when the device reports again." in body_of(warning[EVE])
    assert f"You receive this mail at {EVE}, the main e-mail address" in body_of(warning[EVE])
    assert "Times are in your timezone (America/New_York)" in body_of(warning[EVE])
    assert set(AlertMail.objects.values_list("to", "event__action")) == {
        (ADMIN, "opened"),
        (EVE, "opened"),
        (ADMIN, "risen"),
        (EVE, "risen"),
    }

    # It reports again (the sandbox runs on the moved clock): the alert clears, no mail.
    with time_machine.travel(start + datetime.timedelta(minutes=160), tick=True):
        reports = len(fleet.reports(name))
        device_control(amapi_sandbox.store, name, Controls(resume_reporting=True))
        deliver(fleet, name, reports + 1)
        assert alerts(K.NO_REPORT) == [(L.WARNING, False)]
    assert history(K.NO_REPORT) == ["opened", "risen", "cleared"]
    assert AlertMail.objects.count() == 4

    # The next daily summary (10:00 Tokyo) lists it opened, risen and cleared, none still open.
    cleared_at = Alert.objects.get(kind=K.NO_REPORT).cleared_at
    assert cleared_at is not None
    day = cleared_at.astimezone(TOKYO).date()
    due = datetime.datetime.combine(day, datetime.time(10), tzinfo=TOKYO)
    if due <= cleared_at:
        due += datetime.timedelta(days=1)
    with time_machine.travel(due + datetime.timedelta(seconds=5), tick=False):
        assert job_run(SUMMARY_JOB) == ["done"]
        assert set(run_work("mail.deliver")) == {"done"}
    summaries = {m["To"]: m for m in smtp_server.collector.wait_for(6)[4:]}
    assert sorted(summaries) == [ADMIN, EVE]
    assert summaries[EVE]["Subject"] == (
        f"[Mamori] Daily alert summary for {due.date().isoformat()}: 0 open"
    )
    en, ja = body_of(summaries[EVE]), body_of(summaries[ADMIN])
    for section in ("== Opened (1) ==", "== Risen (1) ==", "== Cleared (1) =="):
        assert section in en
    assert "Still open" not in en
    assert f"- No status report: {serial}" in en
    assert "  The device has sent no status report for " in en  # each line's sentence
    assert "  The device sent no status report for " in en  # the clearing's, in the past
    assert "All alerts (Devices → Alerts): http://testserver/alpha/devices/alerts/\r\n" in en
    assert f"Cleared {local(cleared_at, NEW_YORK)}" in en
    for section in ("== 発生 (1) ==", "== 上昇 (1) ==", "== 解除 (1) =="):
        assert section in ja
    assert summaries[ADMIN]["Subject"] == (
        f"[Mamori] {due.date().isoformat()} のアラート日次サマリー（発生中 0 件）"
    )
    assert local(cleared_at, TOKYO) in ja
    told = AlertMail.objects.filter(channel="summary").values_list("to", "event__action")
    assert sorted(told) == sorted(
        (to, action) for to in (ADMIN, EVE) for action in ("opened", "risen", "cleared")
    )
    assert not OutboundMail.objects.exclude(to__in=[ADMIN, EVE]).exists()


def test_a_device_without_the_required_password_is_mailed_at_once_until_reset_password(
    fleet: Fleet, orgs: OrgCast, smtp_server: SmtpServer
) -> None:
    _recipients(orgs.cast)
    settings_set(orgs, mail_immediately=["non_compliant"], non_compliance_grace_minutes=0)
    name = fleet.enroll(FULLY_MANAGED)  # no screen lock; the policy requires one
    deliver(fleet, name)
    alert = Alert.objects.get(kind=K.NON_COMPLIANT)
    assert (alert.level, alert.cleared_at) == (L.WARNING, None)
    serial = str(alert.device)

    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=1), tick=False):
        mails = {m["To"]: m for m in mailed(smtp_server, 2)}
    assert sorted(mails) == [ADMIN, EVE]
    assert mails[EVE]["Subject"] == f"[Mamori] Warning: Not compliant on {serial}"
    assert mails[ADMIN]["Subject"] == f"[Mamori] 警告: {serial} の非準拠"
    assert "[Warning] Not compliant: Opened" in body_of(mails[EVE])
    assert "[警告] 非準拠: 発生" in body_of(mails[ADMIN])
    # The sentence and the reasons in plain words, as the alert's page gives them.
    model = Device.objects.get(name=name).model
    assert (
        f"The device does not comply with its profile (1 reason).\r\nDevice: {serial} ({model})"
    ) in body_of(mails[EVE])
    assert (
        "Why the device is not compliant:\r\n"
        "- Password policy: The user has to do something on the device (for example set a "
        "password). [USER_ACTION]\r\n"
    ) in body_of(mails[EVE])
    assert "非準拠の理由：\r\n- パスワードポリシー: " in body_of(mails[ADMIN])

    password_reset(fleet, name)
    assert alerts(K.NON_COMPLIANT) == [(L.WARNING, False)]
    assert history(K.NON_COMPLIANT) == ["opened", "cleared"]
    assert list(AlertEvent.objects.filter(action="cleared").values_list("alert", flat=True)) == [
        alert.pk
    ]
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=1), tick=False):
        assert run_work(GATHER) == []
    assert AlertMail.objects.count() == 2
    assert len(smtp_server.messages) == 2
