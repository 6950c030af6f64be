import csv
import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from mamori.accounts.audit_actions import AccountAction
from mamori.accounts.models import Account
from mamori.audit.models import LogEntry
from mamori.audit.registry import action_get
from mamori.audit.selectors import LOG_ORDER, LogFilter, log_page
from mamori.audit.services import Target, log_chain_verify, log_record, redact
from mamori.core.actor import Actor
from mamori.directory.models import Organization, User
from tests.conftest import Cast, logged_in, shared_cast

pytestmark = pytest.mark.django_db

NOON_UTC = datetime.datetime(2026, 11, 24, 0, 15, 2, tzinfo=datetime.UTC)  # 09:15:02 in Tokyo


def second_viewer(cast: Cast, *, tz: str, language: str = "en") -> Account:
    user = User.objects.create(
        contract=cast.a, organization=Organization.objects.get(contract=cast.a), name="Jane Roe"
    )
    return Account.objects.create(
        contract=cast.a,
        user=user,
        name="jane",
        privilege="system_admin",
        language=language,
        timezone=tz,
    )


def record(cast: Cast, action: str = "account.login", **kwargs) -> LogEntry:
    return log_record(
        contract=cast.a, actor=Actor(account=cast.a1, ip="192.0.2.1"), action=action, **kwargs
    )


def verify(domain: str | None = None) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", "verify", *([domain] if domain else []), stdout=out, stderr=err)
    except CommandError:
        return 1, out.getvalue() + err.getvalue()
    return 0, out.getvalue() + err.getvalue()


class TestHashChain:
    def test_an_untouched_log_verifies(self, cast: Cast) -> None:
        for _ in range(3):
            record(cast)
        assert verify() == (0, "alpha: OK\nbravo: OK\n")

    def test_an_altered_entry_is_named(self, cast: Cast) -> None:
        entries = [record(cast) for _ in range(3)]
        LogEntry.objects.filter(pk=entries[1].pk).update(ip="198.51.100.66")
        code, output = verify("alpha")
        seq = entries[1].seq
        assert code == 1
        assert (
            f"alpha: BROKEN at entry #{seq} (id {entries[1].pk}): its contents do not match its digest"
            in output
        )

    def test_a_deleted_entry_in_the_middle_is_named(self, cast: Cast) -> None:
        entries = [record(cast) for _ in range(3)]
        entries[1].delete()
        code, output = verify("alpha")
        assert code == 1
        assert f"entry #{entries[1].seq} is missing (next present is #{entries[2].seq}" in output

    def test_a_deleted_latest_entry_is_named(self, cast: Cast) -> None:
        entries = [record(cast) for _ in range(3)]
        entries[2].delete()
        code, output = verify("alpha")
        assert code == 1
        assert (
            f"entry #{entries[2].seq} is missing (the chain was recorded up to #{entries[2].seq})"
            in output
        )

    def test_a_rewritten_entry_with_a_fresh_digest_breaks_the_next_link(self, cast: Cast) -> None:
        from mamori.audit.services import entry_digest

        entries = [record(cast) for _ in range(3)]
        forged = LogEntry.objects.get(pk=entries[1].pk)
        forged.target_label = "nothing to see"
        forged.digest = entry_digest(forged)
        forged.save()
        chain_break = log_chain_verify(cast.a)
        assert chain_break is not None
        assert (chain_break.seq, chain_break.entry_id) == (entries[2].seq, entries[2].pk)

    def test_other_contracts_chains_are_independent(self, cast: Cast) -> None:
        record(cast).delete()
        assert verify("bravo") == (0, "bravo: OK\n")


def test_secrets_are_redacted_in_before_and_after_values() -> None:
    """By the action's allow-list: no allow-list names a secret, so none is ever kept."""
    allowed = action_get(AccountAction.ACCOUNT_UPDATED).after
    assert redact(
        {"name": "x", "password": "p", "nested": {"totp_secret": "s", "ok": 1}, "api_token": "t"},
        allowed,
    ) == {"name": "x"}


class TestLogScreen:
    def test_times_are_shown_in_each_viewers_timezone_with_the_zone_named(self, cast: Cast) -> None:
        entry = record(cast, target=Target("account", cast.a1.pk, "admin"))
        LogEntry.objects.filter(pk=entry.pk).update(created_at=NOON_UTC)
        tokyo = logged_in(cast.a1).get("/alpha/logs/").content.decode()
        new_york = (
            logged_in(second_viewer(cast, tz="America/New_York"))
            .get("/alpha/logs/")
            .content.decode()
        )
        assert "2026-11-24 09:15:02 JST" in tokyo
        assert "2026-11-23 19:15:02 EST" in new_york
        assert "Times are shown in America/New_York." in new_york

    def test_filters_by_time_range_entered_in_the_viewers_timezone(self, cast: Cast) -> None:
        inside, outside = record(cast), record(cast)
        LogEntry.objects.filter(pk=inside.pk).update(created_at=NOON_UTC)
        LogEntry.objects.filter(pk=outside.pk).update(
            created_at=NOON_UTC + datetime.timedelta(hours=2)
        )
        client = logged_in(cast.a1)  # Asia/Tokyo: 09:00-10:00 JST is 00:00-01:00 UTC
        page = client.get(
            "/alpha/logs/", {"since": "2026-11-24T09:00", "until": "2026-11-24T10:00"}
        )
        assert [e.pk for e in page.context["page"].entries] == [inside.pk]

    def test_filters_by_account_and_action(self, cast: Cast) -> None:
        jane = second_viewer(cast, tz="UTC")
        mine = record(cast, action="account.logout")
        log_record(contract=cast.a, actor=Actor(account=jane), action="account.logout")
        client = logged_in(cast.a1)
        page = client.get("/alpha/logs/", {"actor": cast.a1.pk, "action": "account.logout"})
        assert [e.pk for e in page.context["page"].entries] == [mine.pk]

    def test_invalid_filters_say_so_and_show_nothing(self, cast: Cast) -> None:
        record(cast)
        response = logged_in(cast.a1).get(
            "/alpha/logs/",
            {"since": "2026-11-24T10:00", "until": "2026-11-24T09:00", "action": "nope"},
        )
        assert response.context["page"] is None and response.context["rows"] is None
        assert response.context["form"].errors.keys() == {"until", "action"}
        html = response.content.decode()
        assert 'class="alert alert-danger error-summary" role="alert"' in html
        assert 'table class="table table-vcenter card-table log"' not in html

    def test_keyset_pages_walk_the_whole_log_newest_first_without_overlap(self, cast: Cast) -> None:
        entries = [record(cast) for _ in range(12)]
        # Several entries at the same instant: the id breaks the tie.
        LogEntry.objects.filter(pk__in=[e.pk for e in entries[3:9]]).update(created_at=NOON_UTC)
        expected = list(
            LogEntry.objects.filter(contract=cast.a)
            .order_by("-created_at", "-id")
            .values_list("pk", flat=True)
        )
        seen, cursor = [], None
        while True:
            page = log_page(cast.a1, LogFilter(), before=cursor, size=5)
            seen += [e.pk for e in page.entries]
            if page.older is None:
                break
            cursor = LOG_ORDER.decode(page.older)
        assert seen == expected
        back = log_page(
            cast.a1,
            LogFilter(),
            after=LOG_ORDER.position(LogEntry.objects.get(pk=expected[7])),
            size=5,
        )
        assert [e.pk for e in back.entries] == expected[2:7]

    def test_the_page_runs_a_fixed_number_of_queries(
        self, cast: Cast, django_assert_max_num_queries
    ) -> None:
        for _ in range(60):
            record(cast)
        client = logged_in(cast.a1)
        with django_assert_max_num_queries(9):  # one: the navigation's open important alerts
            client.get("/alpha/logs/")

    def test_entry_detail_shows_before_and_after(self, cast: Cast) -> None:
        entry = record(
            cast,
            action="contract.suspended",
            before={"status": "active"},
            after={"status": "suspended"},
        )
        cast.a1.language = "en"
        cast.a1.save(update_fields=["language"])
        response = logged_in(cast.a1).get(f"/alpha/logs/{entry.pk}/")
        rows = [(c.label, c.before, c.after) for c in response.context["changes"]]
        assert rows == [("Status", "Active", "Suspended")]
        html = response.content.decode()
        assert "&#x27;" not in html and "{&#x27;" not in html

    def test_entries_cannot_be_changed_through_the_panel(self, cast: Cast) -> None:
        entry = record(cast)
        client = logged_in(cast.a1)
        assert client.post(f"/alpha/logs/{entry.pk}/").status_code == 405
        assert client.delete(f"/alpha/logs/{entry.pk}/").status_code == 405


def export(client: Client, **params: str) -> list[list[str]]:
    response = client.get("/alpha/logs/export.csv", params)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_csv_export_in_two_viewers_timezones_and_languages(cast: Cast) -> None:
    entry = record(cast, target=Target("account", cast.a1.pk, "admin"))
    LogEntry.objects.filter(pk=entry.pk).update(created_at=NOON_UTC)
    tokyo = export(logged_in(cast.a1))
    new_york = export(logged_in(second_viewer(cast, tz="America/New_York")))
    assert tokyo[0][:3] == ["日時", "操作者", "アカウント"]
    assert new_york[0][:3] == ["Time", "Actor", "Account"]
    row = next(r for r in new_york[1:] if r[-1] == str(entry.pk))
    assert row[0] == "2026-11-23T19:15:02-05:00"
    assert row[1:9] == [
        "alpha 管理者",
        "admin",
        "System administrator",
        "192.0.2.1",
        "",
        "",
        "account.login",
        "Logged in",
    ]
    assert next(r for r in tokyo[1:] if r[-1] == str(entry.pk))[0] == "2026-11-24T09:15:02+09:00"


def test_csv_export_writes_addresses_as_the_log_page_shows_them(cast: Cast) -> None:
    # PostgreSQL hands the export the address as text (host(ip)): no prefix length, IPv6
    # compressed, an IPv4-mapped one as Python prints it.
    shown = ["2001:db8::1", "192.0.2.77", "::ffff:192.0.2.5"]
    for ip in ["2001:0db8:0000:0000:0000:0000:0000:0001", "192.0.2.77", "::ffff:192.0.2.5"]:
        log_record(
            contract=cast.a, actor=Actor(ip=ip), action="account.login_failed", success=False
        )
    rows = export(logged_in(cast.a1), action="account.login_failed")
    assert [r[4] for r in rows[1:4]] == list(reversed(shown))
    page = logged_in(cast.a1).get("/alpha/logs/", {"action": "account.login_failed"})
    for ip in shown:
        assert ip in page.content.decode()


def test_csv_export_follows_the_filters(cast: Cast) -> None:
    record(cast, action="account.logout")
    rows = export(logged_in(cast.a1), action="account.logout")
    assert [r[7] for r in rows[1:]] == ["account.logout"]


def test_csv_export_writes_before_and_after_as_readable_json(cast: Cast) -> None:
    record(
        cast, action="organization.renamed", before={"name": "営業部"}, after={"name": "営業本部"}
    )
    row = next(r for r in export(logged_in(cast.a1), action="organization.renamed")[1:])
    assert (row[13], row[14]) == ('{"name": "営業部"}', '{"name": "営業本部"}')


def test_csv_export_does_not_let_a_cell_become_a_spreadsheet_formula(cast: Cast) -> None:
    log_record(
        contract=cast.a,
        actor=Actor(ip="192.0.2.9", user_agent='=HYPERLINK("http://x.example","click")'),
        action="account.login_failed",
        target=Target("account", None, "+cmd|' /C calc'!A0"),
        success=False,
    )
    row = next(r for r in export(logged_in(cast.a1), action="account.login_failed")[1:])
    assert row[5] == '\'=HYPERLINK("http://x.example","click")'
    assert row[11] == "'+cmd|' /C calc'!A0"


# Built once for the module (see conftest).
cast = shared_cast
