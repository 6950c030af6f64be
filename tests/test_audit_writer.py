"""The operation-log writer: batches, allow-lists, related objects, enums, on_behalf labels."""

import csv
import io
import logging

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mamori.accounts.audit_actions import AccountAction
from mamori.alerts.audit_actions import AlertsAction
from mamori.alerts.webhooks.audit_actions import WebhookAction
from mamori.android.audit_actions import AndroidAction
from mamori.android.commands.audit_actions import CommandAction
from mamori.audit.audit_actions import LogAction
from mamori.audit.models import LogChain, LogEntry
from mamori.audit.registry import UnknownAction, action_choices, action_exists, action_register
from mamori.audit.selectors import log_entries_about
from mamori.audit.services import (
    LogRecord,
    Target,
    TargetType,
    log_chain_verify,
    log_record,
    log_records,
    redact,
)
from mamori.core.actor import Actor, ActorKind
from mamori.directory.audit_actions import DirectoryAction
from mamori.provider.audit_actions import ContractAction
from mamori.support.audit_actions import SupportAction
from mamori.users_csv.audit_actions import UsersCsvAction
from tests.conftest import Cast, OrgCast, api_client, logged_in, shared_cast

pytestmark = pytest.mark.django_db


def logout_of(contract, account) -> LogRecord:
    return LogRecord(contract=contract, actor=Actor(account=account), action=AccountAction.LOGOUT)


def seqs(contract) -> list[int]:
    return list(
        LogEntry.objects.filter(contract=contract).order_by("seq").values_list("seq", flat=True)
    )


class TestBatches:
    def test_a_batch_across_contracts_is_numbered_per_contract_in_the_order_given(
        self, cast: Cast
    ) -> None:
        before_a, before_b = seqs(cast.a)[-1], seqs(cast.b)[-1]
        batch = [
            logout_of(cast.b, cast.b1),
            logout_of(cast.a, cast.a1),
            logout_of(cast.b, cast.b1),
            logout_of(cast.a, cast.a1),
            logout_of(cast.a, cast.a1),
        ]
        entries = log_records(batch)
        assert [(e.contract_id, e.seq) for e in entries] == [
            (cast.b.pk, before_b + 1),
            (cast.a.pk, before_a + 1),
            (cast.b.pk, before_b + 2),
            (cast.a.pk, before_a + 2),
            (cast.a.pk, before_a + 3),
        ]
        assert [e.prev_digest for e in entries[2:]] == [
            entries[0].digest,
            entries[1].digest,
            entries[3].digest,
        ]
        assert LogChain.objects.get(contract=cast.a).last_digest == entries[4].digest
        assert LogChain.objects.get(contract=cast.b).last_digest == entries[2].digest
        assert (log_chain_verify(cast.a), log_chain_verify(cast.b)) == (None, None)
        # A missing value is SQL NULL, not JSON null: "before__isnull" finds it.
        pks = [e.pk for e in entries]
        assert LogEntry.objects.filter(pk__in=pks, before__isnull=True).count() == 5

    def test_a_batch_is_one_insert_after_the_heads_are_locked_in_contract_order(
        self, cast: Cast
    ) -> None:
        batch = [logout_of(cast.b, cast.b1), logout_of(cast.a, cast.a1)] * 50
        with CaptureQueriesContext(connection) as queries:
            log_records(batch)
        statements = [q["sql"] for q in queries.captured_queries]
        inserts = [s for s in statements if s.startswith('INSERT INTO "audit_logentry"')]
        assert "RETURNING" in inserts[0]
        assert len(inserts) == 1
        lock = statements[0]
        assert lock.startswith('SELECT "audit_logchain"')
        assert lock.endswith(
            'ORDER BY "audit_logchain"."contract_id" ASC FOR UPDATE'
            if connection.features.has_select_for_update
            else 'ORDER BY "audit_logchain"."contract_id" ASC'
        )
        assert statements.index(lock) < statements.index(inserts[0])
        assert LogEntry.objects.filter(action="account.logout").count() == 100
        # Ids follow the chain: the insert is sorted by contract, then by number.
        rows = list(LogEntry.objects.filter(action="account.logout").order_by("id"))
        assert [(e.contract_id, e.seq) for e in rows] == sorted(
            (e.contract_id, e.seq) for e in rows
        )

    def test_a_contracts_first_entry_makes_its_chain_head(self, cast: Cast) -> None:
        LogEntry.objects.filter(contract=cast.a).delete()
        LogChain.objects.filter(contract=cast.a).delete()
        entry = log_records([logout_of(cast.a, cast.a1)])[0]
        assert (entry.seq, entry.prev_digest) == (1, "0" * 64)
        assert LogChain.objects.get(contract=cast.a).last_seq == 1

    def test_an_empty_batch_writes_nothing(self, cast: Cast, django_assert_num_queries) -> None:
        with django_assert_num_queries(0):
            assert log_records([]) == []

    def test_log_record_is_the_one_entry_form_with_its_keywords(self, cast: Cast) -> None:
        entry = log_record(
            contract=cast.a,
            actor=Actor(account=cast.a1, ip="2001:db8:0:0::1"),
            action=ContractAction.CONTRACT_SUSPENDED,
            target=Target("contract", cast.a.pk, "alpha"),
            before={"status": "active"},
            after={"status": "suspended"},
            success=False,
        )
        stored = LogEntry.objects.get(pk=entry.pk)
        assert (
            stored.action,
            stored.ip,
            stored.target_type,
            stored.target_id,
            stored.before,
            stored.after,
            stored.result,
            stored.key_id,
        ) == (
            "contract.suspended",
            "2001:db8::1",
            "contract",
            str(cast.a.pk),
            {"status": "active"},
            {"status": "suspended"},
            "failure",
            "test",
        )

    def test_a_failing_batch_writes_none_of_its_entries(self, cast: Cast) -> None:
        count = LogEntry.objects.count()
        bad = LogRecord(contract=cast.a, actor=Actor(), action="account.nonsense")
        with pytest.raises(UnknownAction):
            log_records([logout_of(cast.a, cast.a1), bad])
        assert LogEntry.objects.count() == count


class TestAllowLists:
    def test_a_key_not_on_the_actions_allow_list_is_dropped_and_named_in_a_warning(
        self, cast: Cast, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.WARNING, logger="mamori.audit"):
            entry = log_record(
                contract=cast.a,
                actor=Actor(account=cast.a1),
                action=DirectoryAction.ORGANIZATION_RENAMED,
                before={"name": "営業部", "internal_note": "do not log me"},
                after={"name": "営業本部", "color": "red"},
            )
        assert LogEntry.objects.get(pk=entry.pk).before == {"name": "営業部"}
        assert LogEntry.objects.get(pk=entry.pk).after == {"name": "営業本部"}
        assert caplog.messages == [
            "organization.renamed: not on its allow-list, dropped: internal_note, color"
        ]
        assert "do not log me" not in caplog.text

    def test_secrets_never_reach_the_log_whatever_the_caller_passes(self, cast: Cast) -> None:
        entry = log_record(
            contract=cast.a,
            actor=Actor(account=cast.a1),
            action=AccountAction.ACCOUNT_UPDATED,
            before={"name": "x"},
            after={
                "name": "y",
                "password": "p",
                "nested": {"totp_secret": "s", "ok": 1},
                "api_token": "t",
                "password_changed": True,
            },
        )
        assert LogEntry.objects.get(pk=entry.pk).after == {"name": "y", "password_changed": True}

    def test_nested_values_keep_only_the_listed_paths(self) -> None:
        values = {
            "command": {"id": 7, "pin": "1234", "args": {"message": "hi", "x": 1}},
            "devices": [{"id": 1, "serial": "A"}, {"id": 2, "serial": "B"}],
            "tags": ["a", "b"],
            "whole": {"a": 1},
        }
        dropped: list[str] = []
        allowed = ("command.id", "command.args.message", "devices.id", "tags", "whole")
        assert redact(values, allowed, dropped=dropped) == {
            "command": {"id": 7, "args": {"message": "hi"}},
            "devices": [{"id": 1}, {"id": 2}],
            "tags": ["a", "b"],
            "whole": {},  # a mapping is never kept whole: its keys are listed or dropped
        }
        assert dropped == [
            "command.pin",
            "command.args.x",
            "devices.serial",
            "devices.serial",
            "whole.a",
        ]

    @pytest.mark.parametrize(
        "path", ["password", "new_password", "totp_secret", "api_token", "backup_codes", "x.pin"]
    )
    def test_an_allow_list_naming_a_secret_is_refused_at_registration(self, path: str) -> None:
        with pytest.raises(ImproperlyConfigured, match="names a secret"):
            action_register("test.secretive", "Secretive", after=(path,))
        assert not action_exists("test.secretive")

    def test_a_code_registered_twice_differently_is_refused(self) -> None:
        with pytest.raises(ImproperlyConfigured, match="already registered differently"):
            action_register(AccountAction.LOGIN, "Logged in", after=("something_else",))


class TestEnums:
    def test_an_unknown_target_type_is_refused(self, cast: Cast) -> None:
        with pytest.raises(ValueError, match="'gadget' is not a TargetType"):
            log_record(
                contract=cast.a,
                actor=Actor(account=cast.a1),
                action=AccountAction.LOGOUT,
                target=Target("gadget", 1, "x"),
            )

    def test_an_unknown_action_is_refused(self, cast: Cast) -> None:
        with pytest.raises(UnknownAction):
            log_record(contract=cast.a, actor=Actor(account=cast.a1), action="account.logged_out")

    def test_an_on_behalf_entry_without_an_account_is_refused(self, cast: Cast) -> None:
        with pytest.raises(ValueError, match="names the account"):
            log_record(
                contract=cast.a, actor=Actor(kind=ActorKind.ON_BEHALF), action=AccountAction.LOGOUT
            )

    def test_every_apps_actions_are_registered_and_offered_by_the_log_filter(self) -> None:
        codes = [code for code, _ in action_choices()]
        enums = (
            AccountAction,
            ContractAction,
            DirectoryAction,
            SupportAction,
            UsersCsvAction,
            AndroidAction,
            CommandAction,
            WebhookAction,
            AlertsAction,
            LogAction,
        )
        assert set(codes) == {str(code) for enum in enums for code in enum}
        assert len(codes) == 38 + sum(len(enum) for enum in enums[5:])


class TestRelatedObjects:
    def command_entries(self, cast: Cast) -> list[LogEntry]:
        device = Target(TargetType.DEVICE, 42, "Pixel 8")
        records = [
            LogRecord(
                contract=cast.a,
                actor=Actor(account=cast.a1),
                action=AccountAction.LOGOUT,  # any registered action: devices come later
                target=Target(TargetType.COMMAND, n, "lock"),
                related=device,
            )
            for n in (1, 2)
        ]
        records.append(
            LogRecord(
                contract=cast.a,
                actor=Actor(account=cast.a1),
                action="account.logout",
                target=device,
            )
        )
        records.append(  # another device's command
            LogRecord(
                contract=cast.a,
                actor=Actor(account=cast.a1),
                action="account.logout",
                target=Target(TargetType.COMMAND, 3, "lock"),
                related=Target(TargetType.DEVICE, 43),
            )
        )
        return log_records(records)

    def test_entries_about_an_object_are_those_naming_it_as_target_or_related(
        self, cast: Cast
    ) -> None:
        entries = self.command_entries(cast)
        found = log_entries_about(cast.a1, TargetType.DEVICE, 42).order_by("-created_at", "-id")
        assert [e.pk for e in found] == [entries[2].pk, entries[1].pk, entries[0].pk]
        stored = LogEntry.objects.get(pk=entries[0].pk)
        assert (stored.related_type, stored.related_id) == ("device", "42")

    def test_entries_about_an_object_stay_in_the_viewers_contract_and_scope(
        self, orgs: OrgCast
    ) -> None:
        cast = orgs.cast
        self.command_entries(cast)
        log_record(
            contract=cast.b,
            actor=Actor(account=cast.b1),
            action="account.logout",
            target=Target(TargetType.DEVICE, 42),
        )
        assert log_entries_about(cast.b1, TargetType.DEVICE, 42).count() == 1
        # A2 sees only entries about its organizations: these name none.
        assert log_entries_about(orgs.a2, TargetType.DEVICE, 42).count() == 0
        with pytest.raises(PermissionDenied):  # no logs.view: refused, not an empty list
            log_entries_about(orgs.a3, TargetType.DEVICE, 42)

    def test_the_query_for_entries_about_an_object_uses_the_target_and_related_indexes(
        self, cast: Cast
    ) -> None:
        # A busy contract (2,000 entries about 1,000 users) with statistics: scanning all its
        # entries is then dearer than the two indexes, as it is at 10M.
        filler = [
            LogRecord(
                contract=cast.a,
                actor=Actor(account=cast.a1),
                action=AccountAction.LOGOUT,
                target=Target(TargetType.USER, n % 1000),
                related=Target(TargetType.ORGANIZATION, n % 1000) if n % 2 else None,
            )
            for n in range(2000)
        ]
        log_records(filler[:1000])
        log_records(filler[1000:])
        self.command_entries(cast)
        query = log_entries_about(cast.a1, TargetType.DEVICE, 42).order_by("-created_at", "-id")
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE audit_logentry")
            explain = "EXPLAIN" if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN"
            cursor.execute(f"{explain} {sql}", params)
            plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
            if connection.vendor == "postgresql":
                # The log is partitioned by month: a plan names each partition's own index;
                # name the table's index it belongs to instead.
                cursor.execute(
                    "SELECT c.relname, p.relname FROM pg_inherits i "
                    "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
                    "WHERE p.relkind = 'I'"
                )
                for child, parent in cursor.fetchall():
                    plan = plan.replace(f" on {child} ", f" on {parent} ")
        assert "log_contract_target_time" in plan, plan
        assert "log_contract_related_time" in plan, plan
        assert [e.target_id for e in query] == ["42", "2", "1"]


class TestOnBehalf:
    def on_behalf_entry(self, cast: Cast) -> LogEntry:
        return log_record(
            contract=cast.a,
            actor=Actor(kind=ActorKind.ON_BEHALF, account=cast.a1),
            action=UsersCsvAction.USERS_IMPORTED,
            target=Target(TargetType.USER_IMPORT, 9, "users.csv"),
            after={"created": 3, "file": "users.csv", "mode": "add"},
        )

    def test_an_on_behalf_entry_records_the_system_as_doer_and_the_account_that_asked(
        self, cast: Cast
    ) -> None:
        entry = LogEntry.objects.get(pk=self.on_behalf_entry(cast).pk)
        assert (entry.actor_kind, entry.actor_id, entry.actor_name, entry.actor_account_name) == (
            "on_behalf",
            cast.a1.pk,
            "alpha 管理者",
            "admin",
        )

    def test_the_log_screen_names_mamori_and_the_account(self, cast: Cast) -> None:
        entry = self.on_behalf_entry(cast)
        cast.a1.language = "en"
        cast.a1.save()
        client = logged_in(cast.a1)
        assert "Mamori for alpha 管理者 (admin)" in client.get("/alpha/logs/").content.decode()
        detail = client.get(f"/alpha/logs/{entry.pk}/").content.decode()
        assert "Mamori for alpha 管理者 (admin)" in detail

    def test_the_csv_names_mamori_and_the_account(self, cast: Cast) -> None:
        entry = self.on_behalf_entry(cast)
        cast.a1.language = "en"
        cast.a1.save()
        response = logged_in(cast.a1).get("/alpha/logs/export.csv")
        body = b"".join(response.streaming_content).decode("utf-8-sig")
        row = next(r for r in csv.reader(io.StringIO(body)) if r[-1] == str(entry.pk))
        assert row[1:3] == ["Mamori for alpha 管理者", "admin"]

    def test_the_api_names_mamori_and_the_account(self, cast: Cast) -> None:
        entry = self.on_behalf_entry(cast)
        cast.a1.language = "en"
        cast.a1.save()
        item = api_client(cast.a1).get(f"/api/v1/logs/{entry.pk}").json()
        assert item["actor"] == {
            "kind": "on_behalf",
            "id": cast.a1.pk,
            "name": "alpha 管理者",
            "account_name": "admin",
            "privilege": "system_admin",
            "label": "Mamori for alpha 管理者 (admin)",
        }
        assert item["action_label"] == "Users imported from CSV"


# Built once for the module (see conftest).
cast = shared_cast
