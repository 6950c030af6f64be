"""The pages of commands and bulk jobs as a person sees them: a command's page and the device
page's command history refresh themselves (htmx, every 2 s) until the command is final; a bulk
job's page shows the share of each status, lists its devices, and refreshes while it runs."""

from __future__ import annotations

import re
from typing import Any

import pytest

from mamori.android.commands import services
from mamori.android.commands.lifecycle import operation_apply
from mamori.android.models import Command, CommandStatus, Device
from mamori.core.actor import Actor
from tests.android.command_devices import FakeCommands, fake_commands, make_device
from tests.conftest import OrgCast, logged_in, run_work

pytestmark = pytest.mark.django_db
POLL = 'hx-trigger="every 2s"'
__all__ = ["fake_commands"]


def issue(account: Any, device: Any, code: str = "lock") -> Command:
    return services.command_issue(actor=Actor(account=account), device=device, code=code, values={})


def test_a_commands_page_refreshes_itself_until_the_command_is_final(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    command = issue(orgs.cast.a1, make_device(orgs.tokyo))
    client = logged_in(orgs.cast.a1)
    url = f"/alpha/devices/commands/{command.pk}/"
    page = client.get(url).content.decode()
    assert "htmx.min.js" in page and POLL in page and f'hx-get="{url}"' in page
    # htmx gets the changing part alone: registered, then sent, still polling.
    part = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert part.lstrip().startswith('<div id="command-state"')
    assert "<title>" not in part and POLL in part and "status-registered" in part
    run_work("android.command_send")
    part = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert POLL in part and "status-sent" in part
    command.refresh_from_db()
    operation_apply(fake_commands.finish(command.operation_name))
    part = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert POLL not in part and "status-succeeded" in part and "成功" in part
    assert POLL not in client.get(url).content.decode()


def test_the_device_pages_command_history_refreshes_itself_while_a_command_is_not_final(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    device = make_device(orgs.tokyo)
    client = logged_in(orgs.cast.a1)
    url = f"/alpha/devices/{device.pk}/"
    history = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "device-command-history"}
    assert POLL not in client.get(url).content.decode()  # no command: nothing to wait for
    command = issue(orgs.cast.a1, device)
    page = client.get(url).content.decode()
    assert "htmx.min.js" in page and POLL in page
    part = client.get(url, **history).content.decode()
    assert part.lstrip().startswith('<section class="card mb-3" id="device-command-history"')
    assert POLL in part and f'href="/alpha/devices/commands/{command.pk}/"' in part
    assert "device-summary" not in part  # the history alone
    run_work("android.command_send")
    command.refresh_from_db()
    assert POLL in client.get(url, **history).content.decode()
    operation_apply(fake_commands.finish(command.operation_name))
    part = client.get(url, **history).content.decode()
    assert POLL not in part and "bg-green-lt" in part


# A bulk job's page --------------------------------------------------------------------------


def job_of(orgs: OrgCast, devices: list[Any], code: str = "lock") -> Any:
    return services.command_job_create(
        actor=Actor(account=orgs.cast.a1), contract=orgs.cast.a, code=code, devices=devices
    )


def segments(page: str) -> dict[str, tuple[int, int]]:
    """``{status: (x, width)}`` of the bar's segments in a job's page."""
    found = re.findall(r'data-segment="(\w+)" x="(\d+)" y="0" width="(\d+)"', page)
    return {status: (int(x), int(width)) for status, x, width in found}


def test_the_bar_gives_each_status_its_share_to_the_thousandth() -> None:
    from mamori.android.commands.views import job_bar

    bar = job_bar({"succeeded": 1, "failed": 1, "registered": 1, "sent": 0})
    assert [(s["status"], s["x"], s["width"], s["count"]) for s in bar] == [
        ("succeeded", 0, 333, 1),
        ("failed", 333, 334, 1),
        ("expired", 667, 0, 0),
        ("cancelled", 667, 0, 0),
        ("sent", 667, 0, 0),
        ("registered", 667, 333, 1),
    ]
    assert [s["width"] for s in job_bar({})] == [0] * 6


def test_a_cancelled_jobs_bar_shows_what_succeeded_was_cancelled_and_is_still_sent(
    orgs: OrgCast, fake_commands: FakeCommands, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mamori.android.commands import work

    monkeypatch.setattr(work, "SLICE", 2)
    job = job_of(orgs, [make_device(orgs.tokyo) for _ in range(4)])
    run_work("android.command_job")  # the first slice: 2 sent
    first = Command.objects.filter(job=job, status=CommandStatus.SENT).order_by("pk").first()
    assert first is not None
    operation_apply(fake_commands.finish(first.operation_name))
    client = logged_in(orgs.cast.a1)
    assert client.post(f"/alpha/devices/jobs/{job.pk}/cancel/").status_code == 302
    page = client.get(f"/alpha/devices/jobs/{job.pk}/").content.decode()
    assert segments(page) == {"succeeded": (0, 250), "cancelled": (250, 500), "sent": (750, 250)}
    assert 'data-status="succeeded">1<' in page and 'data-status="registered">0<' in page
    # One command is still on its way: the page keeps refreshing itself.
    assert POLL in page and f'hx-get="/alpha/devices/jobs/{job.pk}/"' in page
    second = Command.objects.get(job=job, status=CommandStatus.SENT)
    operation_apply(fake_commands.finish(second.operation_name, error={"code": 13}))
    page = client.get(f"/alpha/devices/jobs/{job.pk}/").content.decode()
    assert segments(page) == {
        "succeeded": (0, 250),
        "failed": (250, 250),
        "cancelled": (500, 500),
    }
    assert POLL not in page


def test_a_jobs_page_lists_its_devices_in_pages_of_100_with_a_status_filter(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    devices = [make_device(orgs.tokyo) for _ in range(130)]
    job = job_of(orgs, devices)
    commands = list(Command.objects.filter(job=job).order_by("pk"))
    Command.objects.filter(pk__in=[c.pk for c in commands[:3]]).update(
        status=CommandStatus.FAILED, error_code="API_LEVEL"
    )
    client = logged_in(orgs.cast.a1)
    url = f"/alpha/devices/jobs/{job.pk}/"
    first = client.get(url)
    shown = [c.pk for c in first.context["page"].commands]
    assert shown == [c.pk for c in commands[:100]]
    page = first.content.decode()
    assert f'href="/alpha/devices/commands/{commands[0].pk}/"' in page
    assert f'href="/alpha/devices/{devices[0].pk}/"' in page and str(devices[0]) in page
    cursor = first.context["page"].next_cursor
    assert cursor and f'href="{url}?after={cursor}"' in page
    second = client.get(f"{url}?after={cursor}")
    assert [c.pk for c in second.context["page"].commands] == [c.pk for c in commands[100:]]
    assert second.context["page"].next_cursor is None
    # The filter: the failed ones alone, with their reason in words; polled with the filter.
    failed = client.get(f"{url}?status=failed")
    assert [c.pk for c in failed.context["page"].commands] == [c.pk for c in commands[:3]]
    text = failed.content.decode()
    assert text.count('<tr data-status="failed">') == 3 and POLL in text
    assert f'hx-get="{url}?status=failed"' in text
    assert "Android" in text  # API_LEVEL: "this Android version does not support…"
    # A status that is not one, or a mangled cursor, shows the first page of all.
    odd = client.get(f"{url}?status=nope&after=%%%")
    assert [c.pk for c in odd.context["page"].commands] == [c.pk for c in commands[:100]]
    none = client.get(f"{url}?status=expired").content.decode()
    assert 'id="job-no-devices"' in none


def test_the_bulk_confirm_page_names_the_organization_its_subtree_and_the_count(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    make_device(orgs.tokyo)
    make_device(orgs.sales)
    client = logged_in(orgs.cast.a1)
    base = "/alpha/devices/commands/bulk/?command=lock&organization="
    page = client.get(f"{base}{orgs.sales.pk}").content.decode()
    assert "営業部 とその下位組織のすべてのデバイスが対象です。" in page
    assert "2 台のデバイスにこのコマンドを発行します。" in page
    page = client.get(f"{base}{orgs.sales.pk}&subtree=0").content.decode()
    assert "営業部 のデバイスが対象です（下位組織は含みません）。" in page
    assert "1 台のデバイスにこのコマンドを発行します。" in page
    ids = "&".join(f"device={d.pk}" for d in Device.objects.all())
    page = client.get(f"/alpha/devices/commands/bulk/?command=lock&{ids}").content.decode()
    assert "デバイス一覧で選んだデバイスが対象です。" in page


def test_a_command_cancelled_with_its_job_shows_the_job_in_its_chain_and_history(
    orgs: OrgCast, fake_commands: FakeCommands
) -> None:
    from mamori.android.commands.services import command_job_cancel
    from mamori.audit.models import LogEntry

    device = make_device(orgs.tokyo)
    job = job_of(orgs, [device, make_device(orgs.tokyo)])
    command = Command.objects.get(job=job, device=device)
    done = command_job_cancel(actor=Actor(account=orgs.cast.a1), job=job)
    assert (done.cancelled, done.asked) == (2, 0)
    assert not LogEntry.objects.filter(action="command.cancelled").exists()
    client = logged_in(orgs.cast.a1)
    page = client.get(f"/alpha/devices/commands/{command.pk}/").content.decode()
    assert "status-cancelled" in page and POLL not in page
    assert "一括デバイスコマンドとともに取り消されました。" in page  # the reason
    assert f'href="/alpha/devices/jobs/{job.pk}/"' in page
    chain = re.findall(r"<li><time>[^<]*</time> · ([^·]+) · ([^<]+)</li>", page)
    assert [(a.strip(), who.strip()) for a, who in chain] == [
        ("デバイスコマンド発行", "alpha 管理者 (admin)"),
        ("一括デバイスコマンド取り消し", "alpha 管理者 (admin)"),
    ]
    history = client.get(
        f"/alpha/devices/{device.pk}/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="device-command-history",
    ).content.decode()
    assert f"（一括コマンド #{job.pk}）" in history
    assert "一括デバイスコマンドとともに取り消されました。" in history
