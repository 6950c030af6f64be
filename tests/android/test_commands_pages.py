"""The pages of commands and bulk jobs as a person sees them: a command's page and the device
page's command history refresh themselves (htmx, every 2 s) until the command is final; a bulk
job's page shows the share of each status, lists its devices, and refreshes while it runs."""

from __future__ import annotations

from typing import Any

import pytest

from mamori.android.commands import services
from mamori.android.commands.lifecycle import operation_apply
from mamori.android.models import Command, CommandStatus
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
