"""Bulk commands: the devices that cannot take a command are skipped with the reason, a wipe of
several needs their count typed, progress is counted from the commands, a job can be
cancelled; and against the real sandbox, 1,000 devices under a low quota never exceed it and
finish while another contract's single command is sent within seconds."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ValidationError

from mamori.android import amapi
from mamori.android.amapi import client
from mamori.android.amapi.limiter import budget
from mamori.android.commands import selectors, services
from mamori.android.models import Command, CommandJob, CommandStatus, Device, DeviceKind
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from mamori.directory.models import Organization
from tests.android.command_devices import FakeCommands, enterprise_of, fake_commands, make_device
from tests.conftest import Cast, OrgCast, api_client, logged_in, run_work, run_worker


@pytest.mark.django_db
def test_a_bulk_command_skips_devices_that_cannot_take_it_and_says_why(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    managed = [make_device(orgs.tokyo) for _ in range(2)]
    personal = make_device(orgs.sales, kind="personal", serial="PERSONAL1")
    page = logged_in(orgs.cast.a1).get(
        f"/alpha/devices/commands/bulk/?organization={orgs.sales.pk}&command=reboot"
    )
    assert (page.context["eligible"], page.context["skipped_count"]) == (2, 1)
    response = logged_in(orgs.cast.a1).post(
        f"/alpha/devices/commands/bulk/?organization={orgs.sales.pk}&command=reboot"
    )
    job = CommandJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/alpha/devices/jobs/{job.pk}/"
    assert (job.type, job.total) == ("REBOOT", 2)
    assert [s["device_id"] for s in job.skipped] == [personal.pk]
    assert sorted(Command.objects.values_list("device_id", flat=True)) == [d.pk for d in managed]
    entries = list(
        LogEntry.objects.filter(action__in=["command_job.created", "command.issued"])
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert entries == ["command_job.created", "command.issued", "command.issued"]
    assert run_work("android.command_job") == ["done"]
    assert [body["type"] for _, body in fake_commands.issued] == ["REBOOT", "REBOOT"]
    body = api_client(orgs.cast.a1).get(f"/api/v1/jobs/{job.pk}").json()
    assert body["progress"] == {
        "registered": 0,
        "sent": 2,
        "succeeded": 0,
        "failed": 0,
        "expired": 0,
        "cancelled": 0,
    }


@pytest.mark.django_db
def test_a_wipe_of_several_devices_needs_their_count_typed(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    ids = [make_device(orgs.tokyo).pk for _ in range(3)]
    client = api_client(orgs.cast.a1)
    body: dict[str, Any] = {"type": "WIPE", "device_ids": ids}
    for wrong in (None, 2):
        refused = client.post(
            "/api/v1/devices/commands",
            {**body, "confirm_count": wrong},
            content_type="application/json",
        )
        assert refused.status_code == 422
        assert refused.json()["error"]["details"][0]["field"] == "confirm_count"
    assert CommandJob.objects.count() == 0
    made = client.post(
        "/api/v1/devices/commands", {**body, "confirm_count": 3}, content_type="application/json"
    )
    assert made.status_code == 201 and made.json()["total"] == 3


@pytest.mark.django_db
def test_a_new_password_cannot_be_issued_in_bulk(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    device = make_device(orgs.tokyo)
    with pytest.raises(ValidationError):
        services.command_job_create(
            actor=Actor(account=orgs.cast.a1),
            contract=orgs.cast.a,
            code="reset_password",
            devices=[device],
            values={"new_password": "Abcdef12", "confirmation": "Abcdef12"},
        )
    assert CommandJob.objects.count() == 0


@pytest.mark.django_db
def test_cancelling_a_job_is_one_entry_cancels_what_is_not_sent_and_asks_google_for_the_rest(
    orgs: OrgCast, fake_commands: FakeCommands, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mamori.android.commands import work

    monkeypatch.setattr(work, "SLICE", 2)
    devices = [make_device(orgs.tokyo) for _ in range(5)]
    job = services.command_job_create(
        actor=Actor(account=orgs.cast.a1), contract=orgs.cast.a, code="lock", devices=devices
    )
    # A single command of the last device waits behind its job's command.
    single = services.command_issue(
        actor=Actor(account=orgs.cast.a1), device=devices[-1], code="reboot", values={}
    )
    run_work("android.command_job")  # the first slice: 2 sent
    entries = LogEntry.objects.count()
    response = logged_in(orgs.cast.a1).post(f"/alpha/devices/jobs/{job.pk}/cancel/", follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "未送信のコマンド 3 件を取り消しました。"
        "送信済みのコマンド 2 件の取り消しを Google に依頼しました。"
    ]
    # One change, one entry: the job's, with both counts.
    assert LogEntry.objects.count() == entries + 1
    entry = LogEntry.objects.get(action="command_job.cancelled")
    assert (entry.actor_account_name, entry.target_id, entry.after) == (
        orgs.cast.a1.name,
        str(job.pk),
        {"cancelled": 3, "cancel_requested": 2},
    )
    shown = logged_in(orgs.cast.a1).get(f"/alpha/logs/{entry.pk}/").content.decode()
    assert "一括デバイスコマンド取り消し" in shown
    assert "取り消したコマンド" in shown and "Google に取り消しを依頼した送信済みコマンド" in shown
    assert selectors.job_progress(job) | {} == {
        "registered": 0,
        "sent": 2,
        "succeeded": 0,
        "failed": 0,
        "expired": 0,
        "cancelled": 3,
    }
    cancelled = Command.objects.filter(job=job, status=CommandStatus.CANCELLED)
    assert set(cancelled.values_list("error_code", flat=True)) == {"JOB_CANCELLED"}
    assert all(c.finished_at is not None for c in cancelled)
    sent = Command.objects.filter(job=job, status=CommandStatus.SENT)
    assert all(c.cancel_requested_at is not None for c in sent)
    assert run_work("android.command_job") == ["done"]  # the next slice stops
    assert len(fake_commands.issued) == 2
    # Google is asked to cancel the sent ones (best effort); each ends as its operation does.
    assert run_work("android.command_cancel") == ["done", "done"]
    assert [c for c, _ in fake_commands.calls if c == "cancel"] == ["cancel", "cancel"]
    assert selectors.job_progress(job)["cancelled"] == 5
    assert LogEntry.objects.filter(action="command.cancelled").count() == 2  # the system's
    # The single command behind a cancelled one goes now.
    assert run_work("android.command_send") == ["done"]
    single.refresh_from_db()
    assert single.status == CommandStatus.SENT
    page = logged_in(orgs.cast.a1).get(f"/alpha/devices/jobs/{job.pk}/", HTTP_HX_REQUEST="true")
    assert page.templates[0].name == "android/commands/job_progress.html"
    assert 'data-status="cancelled">5<' in page.content.decode()


# The real sandbox, a low quota --------------------------------------------------------------

QUOTA, WINDOW = 100, 3.0  # 90 budgeted per 3 s: 1,000 commands take about 35 s
DEVICES = 1000


def _enterprise(sandbox: Any, name: str) -> str:
    signup = amapi.signup_url_create(callback_url="http://testserver/cb")
    token = parse_qs(urlsplit(sandbox.confirm_signup(signup["url"], name)).query)
    return str(
        amapi.enterprise_create(
            signup_url_name=signup["name"],
            enterprise_token=token["enterpriseToken"][0],
            display_name=name,
        )["name"]
    )


def _enrolled(sandbox: Any, contract: Any, count: int) -> list[Device]:
    """``count`` sandbox devices enrolled in a new enterprise of ``contract``, and Mamori's rows."""
    name = _enterprise(sandbox, contract.domain)
    enterprise = enterprise_of(contract, name)
    token = amapi.enrollment_token_create(
        name,
        duration_seconds=3600,
        one_time=False,
        allow_personal_usage="PERSONAL_USAGE_DISALLOWED",
        policy_name=None,
        additional_data="{}",
    )
    root = Organization.objects.get(contract=contract, parent=None)
    return Device.objects.bulk_create(
        Device(
            contract=contract,
            enterprise=enterprise,
            name=device_name,
            organization=root,
            kind=DeviceKind.FULLY_MANAGED,
            management_mode="DEVICE_OWNER",
            ownership="COMPANY_OWNED",
            applied_state="ACTIVE",
            api_level=34,
            serial_number=device_name.rsplit("/", 1)[-1],
        )
        for device_name in sandbox.enroll(token["value"], count)
    )


@pytest.mark.django_db(transaction=True)
def test_a_thousand_device_lock_keeps_the_quota_and_another_contracts_lock_goes_within_seconds(
    cast: Cast, amapi_sandbox: Any, settings: Any
) -> None:
    settings.MAMORI_AMAPI_QUOTA = QUOTA
    settings.MAMORI_AMAPI_QUOTA_WINDOW_SECONDS = WINDOW
    amapi_sandbox.limits(device_cap=0)
    client.forget()
    alpha = _enrolled(amapi_sandbox, cast.a, DEVICES)
    (bravo,) = _enrolled(amapi_sandbox, cast.b, 1)
    amapi_sandbox.limits(quota=QUOTA, quota_window=WINDOW)
    started = time.time()
    job = services.command_job_create(
        actor=Actor(account=cast.a1), contract=cast.a, code="lock", devices=alpha
    )
    single, issued_at = None, 0.0
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        run_worker(max_tasks=1)  # a task at a time, so that the test can act meanwhile
        sent = Command.objects.filter(job=job, status=CommandStatus.SENT).count()
        if single is None and sent >= 300:
            single = services.command_issue(actor=Actor(account=cast.b1), device=bravo, code="lock")
            issued_at = time.time()
        if sent == DEVICES and single is not None:
            single.refresh_from_db()
            if single.status == CommandStatus.SENT:
                break
        time.sleep(0.05)
    client.forget()
    assert Command.objects.filter(job=job, status=CommandStatus.SENT).count() == DEVICES
    assert single is not None
    single.refresh_from_db()
    assert single.status == CommandStatus.SENT
    # Sent within seconds, not after the backlog (700 more commands: about 25 s).
    assert single.sent_at.timestamp() - issued_at <= 5.0
    assert single.sent_at < Command.objects.filter(job=job).order_by("-sent_at").first().sent_at
    seen = [
        s for s in amapi_sandbox.request_log() if s.path.startswith("/v1/") and s.time >= started
    ]
    assert all(s.status != 429 for s in seen)  # the sandbox never had to refuse
    commands = [s.time for s in seen if s.path.endswith(":issueCommand")]
    assert len(commands) == DEVICES + 1  # each sent once
    at = [s.time for s in seen]
    assert max(sum(1 for t in at if s <= t < s + WINDOW) for s in at) <= QUOTA
    # Mamori's own budget, per aligned window, as the sandbox saw the calls: a call the limiter
    # granted in a window's last instant may reach the sandbox in the next one, so one slot's
    # worth of slack (the quota itself, above, is the hard limit).
    per_window: dict[int, int] = {}
    for t in at:
        per_window[int(t // WINDOW)] = per_window.get(int(t // WINDOW), 0) + 1
    assert max(per_window.values()) <= budget().per_window + budget().per_slot


__all__ = ["fake_commands"]
