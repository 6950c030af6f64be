"""The panel's pages as issue 7 asks: the home page, the user list (sorts, counts, page sizes,
bulk actions, long values), the log entry's changes and filters, Settings, an account's own
language and timezone, timezones as people type them, and the organization tree's order."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from mamori.accounts.models import Account, PermissionScheme
from mamori.audit.models import LogEntry
from mamori.core.access import catalogue
from mamori.core.actor import Actor
from mamori.core.timezones import timezone_display, timezone_parse
from mamori.directory.models import Organization, User
from mamori.directory.ordering import reading_key
from mamori.directory.services import organization_create
from tests.conftest import OrgCast, logged_in, make_account, make_user

pytestmark = pytest.mark.django_db


def en(account: Account) -> Client:
    account.language = "en"
    account.save(update_fields=["language"])
    return logged_in(account)


class TestHome:
    def test_counts_and_recent_entries_are_scoped_like_the_lists(self, orgs: OrgCast) -> None:
        system = logged_in(orgs.cast.a1).get("/alpha/").context["summary"]
        assert (system.users, system.organizations) == (
            User.objects.filter(contract=orgs.cast.a).count(),
            4,
        )
        assert system.accounts == Account.objects.filter(contract=orgs.cast.a).count()
        department = logged_in(orgs.a2).get("/alpha/").context["summary"]
        assert (department.users, department.organizations) == (3, 2)  # 営業部 and 東京
        shown = {r.pk for r in department.recent}
        about = LogEntry.objects.filter(pk__in=shown).values_list("organization__path", flat=True)
        assert all(path.startswith(orgs.sales.path) for path in about)

    def test_an_operator_sees_no_log_and_no_accounts(self, orgs: OrgCast) -> None:
        summary = logged_in(orgs.a3).get("/alpha/").context["summary"]
        assert (summary.accounts, summary.recent) == (None, None)
        assert summary.users == 3


class TestUserList:
    @pytest.mark.parametrize(
        "sort",
        [
            "name",
            "-name",
            "furigana",
            "-furigana",
            "employee_code",
            "-employee_code",
            "organization",
            "-organization",
        ],
    )
    def test_every_sort_walks_every_user_once_by_keyset_pages(
        self, orgs: OrgCast, sort: str
    ) -> None:
        for n in range(30):
            user = make_user(
                orgs.tokyo if n % 2 else orgs.dev, f"追加 {n % 7}", f"x{n}@alpha.example", "ツイカ"
            )
            User.objects.filter(pk=user.pk).update(employee_code=f"E{n % 5}{n:02d}")
        client = logged_in(orgs.cast.a1)
        field = {"organization": ["organization_id", "furigana"]}.get(
            sort.lstrip("-"), [sort.lstrip("-")]
        )
        sign = "-" if sort.startswith("-") else ""
        expected = list(
            User.objects.filter(contract=orgs.cast.a)
            .order_by(*(sign + f for f in field), sign + "id")
            .values_list("pk", flat=True)
        )
        seen, params = [], {"sort": sort, "size": "25"}
        while True:
            page = client.get("/alpha/users/", params).context["page"]
            seen += [row.pk for row in page.rows]
            if not page.next_cursor:
                break
            params = {"sort": sort, "size": "25", "after": page.next_cursor}
        assert seen == expected

    def test_sort_links_keep_the_filters_and_reverse_the_current_column(
        self, orgs: OrgCast
    ) -> None:
        response = logged_in(orgs.cast.a1).get(
            "/alpha/users/", {"org": orgs.sales.pk, "q": "サ", "sort": "name", "size": "100"}
        )
        links = response.context["sorts"]
        assert links["name"]["url"] == f"?org={orgs.sales.pk}&q=%E3%82%B5&sort=-name&size=100"
        assert links["name"]["aria"] == "ascending"
        assert links["furigana"]["url"].endswith("sort=furigana&size=100")
        assert 'aria-sort="ascending"' in response.content.decode()

    def test_page_sizes_are_25_50_or_100(self, orgs: OrgCast) -> None:
        client = logged_in(orgs.cast.a1)
        assert client.get("/alpha/users/", {"size": "25"}).context["page_size"] == 25
        assert client.get("/alpha/users/", {"size": "100"}).context["page_size"] == 100
        assert client.get("/alpha/users/", {"size": "100000"}).context["page_size"] == 50

    def test_the_count_is_exact_from_kept_counts_and_capped_for_searches(
        self, orgs: OrgCast, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        client = en(orgs.cast.a1)
        total = User.objects.filter(contract=orgs.cast.a).count()
        page = client.get("/alpha/users/").context["page"]
        assert (page.total, page.total_exact) == (total, True)
        sales = client.get("/alpha/users/", {"org": orgs.sales.pk, "sub": "0"}).context["page"]
        assert (sales.total, sales.total_exact) == (2, True)
        monkeypatch.setattr("mamori.directory.selectors.COUNT_LIMIT", 1)
        monkeypatch.setattr("mamori.directory.views.COUNT_LIMIT", 1)
        response = client.get("/alpha/users/", {"q": "alpha.example"})
        assert (response.context["page"].total, response.context["page"].total_exact) == (2, False)
        assert "More than 1 users" in response.content.decode()

    def test_long_values_are_cut_with_the_whole_value_on_hover(self, orgs: OrgCast) -> None:
        name = "長" * 200
        make_user(orgs.tokyo, name, "long@alpha.example")
        osaka = organization_create(actor=Actor.operator(), parent=orgs.dev, name="東京")
        make_user(osaka, "別の 東京", "other@alpha.example")
        response = logged_in(orgs.cast.a1).get("/alpha/users/")
        html = response.content.decode()
        assert f'class="cell-text" title="{name}">{name}</a>' in html
        rows = {row.name: row for row in response.context["page"].rows}
        assert rows[name].organization == "… / 営業部 / 東京"
        assert rows["別の 東京"].organization == "… / 開発部 / 東京"
        assert rows[name].organization_path == "アルファ株式会社 / 営業部 / 東京"


class TestBulkActions:
    def test_move_goes_through_the_service_with_one_entry_per_user(self, orgs: OrgCast) -> None:
        chosen = [orgs.sato.pk, orgs.suzuki.pk]
        response = logged_in(orgs.cast.a1).post(
            "/alpha/users/bulk/",
            {
                "action": "move",
                "user": chosen,
                "organization": orgs.sales.pk,
                "next": "/alpha/users/?q=x",
            },
        )
        assert response["Location"] == "/alpha/users/?q=x"
        assert set(User.objects.filter(pk__in=chosen).values_list("organization", flat=True)) == {
            orgs.sales.pk
        }
        entries = LogEntry.objects.filter(
            action="user.updated", target_id__in=[str(p) for p in chosen]
        )
        assert sorted(((e.before, e.after) for e in entries), key=str) == [
            ({"organization": "東京"}, {"organization": "営業部"}),
            ({"organization": "開発部"}, {"organization": "営業部"}),
        ]
        counts = dict(
            Organization.objects.filter(contract=orgs.cast.a).values_list("name", "user_count")
        )
        assert (counts["営業部"], counts["東京"], counts["開発部"]) == (4, 0, 1)

    def test_move_first_asks_where_to_on_a_page_of_its_own(self, orgs: OrgCast) -> None:
        response = logged_in(orgs.cast.a1).post(
            "/alpha/users/bulk/", {"action": "move", "user": [orgs.sato.pk]}
        )
        html = response.content.decode()
        assert response.status_code == 200
        assert f'<input type="hidden" name="user" value="{orgs.sato.pk}">' in html
        assert f'<option value="{orgs.dev.pk}">' in html and 'name="organization"' in html
        assert User.objects.get(pk=orgs.sato.pk).organization_id == orgs.tokyo.pk

    def test_delete_is_all_or_nothing(self, orgs: OrgCast) -> None:
        with_account = orgs.a2.user_id
        before = LogEntry.objects.count()
        response = en(orgs.cast.a1).post(
            "/alpha/users/bulk/", {"action": "delete", "user": [orgs.sato.pk, with_account]}
        )
        assert response.status_code == 302
        assert User.objects.filter(pk__in=[orgs.sato.pk, with_account]).count() == 2
        assert LogEntry.objects.count() == before
        logged_in(orgs.cast.a1).post(
            "/alpha/users/bulk/", {"action": "delete", "user": [orgs.sato.pk, orgs.suzuki.pk]}
        )
        assert not User.objects.filter(pk__in=[orgs.sato.pk, orgs.suzuki.pk]).exists()
        assert LogEntry.objects.filter(action="user.deleted").count() == 2

    def test_users_outside_the_scope_are_not_found_and_nothing_changes(self, orgs: OrgCast) -> None:
        response = logged_in(orgs.a2).post(
            "/alpha/users/bulk/", {"action": "delete", "user": [orgs.sato.pk, orgs.suzuki.pk]}
        )
        assert response.status_code == 404
        assert User.objects.filter(pk__in=[orgs.sato.pk, orgs.suzuki.pk]).count() == 2

    def test_export_the_selection(self, orgs: OrgCast) -> None:
        response = logged_in(orgs.cast.a1).get(
            "/alpha/users/export.csv", {"user": [orgs.sato.pk], "selection": "1"}
        )
        rows = list(
            csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig")))
        )
        assert [row[1] for row in rows[1:]] == ["佐藤 花子"]


class TestLogPage:
    def test_changes_read_as_labels_and_values_never_python(self, orgs: OrgCast) -> None:
        Client().post("/alpha/login/", {"account": "admin", "password": "wrong-password-1"})
        entry = LogEntry.objects.filter(action="account.login_failed").latest("seq")
        response = logged_in(orgs.cast.a1).get(f"/alpha/logs/{entry.pk}/")
        assert [(c.label, c.after) for c in response.context["changes"]] == [
            ("理由", "アカウントまたはパスワードの誤り")
        ]
        account = LogEntry.objects.filter(action="account.created").latest("seq")
        html = logged_in(orgs.cast.a1).get(f"/alpha/logs/{account.pk}/").content.decode()
        for python in ("True", "False", "None", "&#x27;", "{", "account "):
            assert python not in html.split('id="main"')[1], python
        assert "カスタム管理者" in html and "Mamori アカウント: shiro" in html

    def test_organization_filter_is_scoped_and_actions_are_grouped(self, orgs: OrgCast) -> None:
        form = logged_in(orgs.a2).get("/alpha/logs/").context["form"]
        assert [label.strip("\u3000") for _v, label in form.fields["organization"].choices[1:]] == [
            "営業部",
            "東京",
        ]
        groups = [label for label, _ in form.fields["action"].choices[1:]]
        assert {"User", "Organization", "Mamori account"} <= set(groups)  # A2 reads English
        entries = logged_in(orgs.cast.a1).get("/alpha/logs/", {"organization": orgs.tokyo.pk})
        shown = LogEntry.objects.filter(pk__in=[r.pk for r in entries.context["rows"]])
        assert shown and all(e.organization_id == orgs.tokyo.pk for e in shown)

    def test_until_before_from_is_a_message(self, orgs: OrgCast) -> None:
        response = logged_in(orgs.cast.a1).get(
            "/alpha/logs/", {"since": "2026-01-02T00:00", "until": "2026-01-01T00:00"}
        )
        html = response.content.decode()
        assert "「終了日時」には「開始日時」より後の日時を指定してください。" in html
        assert 'role="alert"' in html and response.context["rows"] is None


class TestSettings:
    def test_every_section_links_to_every_other(self, orgs: OrgCast) -> None:
        client = logged_in(orgs.cast.a1)
        sections = ["/alpha/settings/", "/alpha/settings/security/", "/alpha/settings/schemes/"]
        for url in [*sections, "/alpha/settings/schemes/new/"]:
            html = client.get(url).content.decode()
            for other in sections:
                assert f'href="{other}"' in html, (url, other)

    def test_the_scheme_form_is_a_screen_by_action_grid(self, orgs: OrgCast) -> None:
        client = logged_in(orgs.cast.a1)
        form = client.get("/alpha/settings/schemes/new/").context["form"]
        columns, rows = form.grid()
        assert [screen for screen, _cells in rows] == [
            str(s.label)
            for s in catalogue.screens()
            if any(not p.system_only for p in s.permissions)
        ]
        assert all(len(cells) == len(columns) for _screen, cells in rows)
        client.post(
            "/alpha/settings/schemes/new/",
            {"name": "閲覧のみ", "permissions": ["users.view", "logs.view"]},
        )
        saved = PermissionScheme.objects.get(name="閲覧のみ")
        assert sorted(saved.permissions) == ["logs.view", "users.view"]
        page = client.get(f"/alpha/settings/schemes/{saved.pk}/").content.decode()
        assert 'name="permissions" value="users.view" id="perm-users.view"' in page


class TestOwnPreferences:
    def test_any_account_changes_its_language_and_timezone_and_the_page_follows(
        self, orgs: OrgCast
    ) -> None:
        client = logged_in(orgs.a3)  # an Operator, whose privilege gives it nothing else
        response = client.post(
            "/alpha/account/",
            {"preferences": "1", "pref-language": "ja", "pref-timezone": "UTC+9"},
        )
        assert response.status_code == 302
        account = Account.objects.get(pk=orgs.a3.pk)
        assert (account.language, account.timezone) == ("ja", "Etc/GMT-9")
        entry = LogEntry.objects.get(action="account.preferences_changed")
        assert (entry.before, entry.after) == (
            {"language": "en", "timezone": "Asia/Tokyo"},
            {"language": "ja", "timezone": "Etc/GMT-9"},
        )
        follow = client.get("/alpha/account/")
        assert '<html lang="ja">' in follow.content.decode()
        assert "言語とタイムゾーンを保存しました。" in follow.content.decode()
        # The log shows the fixed zone as people write it, not IANA's inverted name.
        page = logged_in(orgs.cast.a1).get(f"/alpha/logs/{entry.pk}/").content.decode()
        assert "UTC+09:00" in page and "Etc/GMT-9" not in page


class TestTimezones:
    @pytest.mark.parametrize(
        ("typed", "zone"),
        [
            ("Asia/Tokyo", "Asia/Tokyo"),
            ("asia/tokyo", "Asia/Tokyo"),
            ("ASIA/TOKYO", "Asia/Tokyo"),
            ("JST", "Asia/Tokyo"),
            ("jst", "Asia/Tokyo"),
            ("UTC+9", "Etc/GMT-9"),
            ("UTC+09:00", "Etc/GMT-9"),
            ("+09:00", "Etc/GMT-9"),
            ("GMT-5", "Etc/GMT+5"),
            ("utc", "UTC"),
            ("america/new_york", "America/New_York"),
            ("America/New York", "America/New_York"),
            ("new york", "America/New_York"),
            ("Tokyo", "Asia/Tokyo"),
            ("東京", "Asia/Tokyo"),
        ],
    )
    def test_what_people_type_is_read(self, typed: str, zone: str) -> None:
        assert timezone_parse(typed) == zone

    @pytest.mark.parametrize(
        ("zone", "shown"),
        [("Etc/GMT-9", "UTC+09:00"), ("Etc/GMT+5", "UTC-05:00"), ("Asia/Tokyo", "Asia/Tokyo")],
    )
    def test_a_fixed_zone_is_shown_as_people_write_it_and_read_back(
        self, zone: str, shown: str
    ) -> None:
        assert timezone_display(zone) == shown
        assert timezone_parse(shown) == zone

    @pytest.mark.parametrize("typed", ["Mars/Olympus", "UTC+5:30", "UTC+15", "", "IST"])
    def test_anything_else_is_refused(self, typed: str) -> None:
        with pytest.raises(ValidationError):
            timezone_parse(typed)

    def test_the_account_form_the_api_and_the_cli_use_it(self, orgs: OrgCast) -> None:
        from tests.conftest import api_client
        from tests.test_contracts import cli

        account = make_account(
            make_user(orgs.tokyo, "時差 太郎", "jisa@alpha.example"),
            "jisa",
            "operator",
            timezone="jst",
        )
        assert account.timezone == "Asia/Tokyo"
        response = api_client(orgs.cast.a1).put(
            f"/api/v1/users/{account.user_id}/account",
            {"name": "jisa", "privilege": "operator", "timezone": "utc+9", "language": "en"},
            content_type="application/json",
        )
        assert response.status_code == 200, response.content
        assert Account.objects.get(pk=account.pk).timezone == "Etc/GMT-9"
        cli(
            "contract",
            "create",
            "--domain",
            "tzco",
            "--company",
            "TZ",
            "--contact-name",
            "時差",
            "--contact-furigana",
            "ジサ",
            "--contact-email",
            "a@tz.example",
            "--timezone",
            "asia/seoul",
        )
        assert Account.objects.get(contract__domain="tzco").timezone == "Asia/Seoul"


class TestOrganizationOrder:
    def test_reading_order_not_code_point_order(self) -> None:
        names = ["東京", "大阪", "営業部", "開発部", "総務部", "ｱｶｳﾝﾄ", "あいう"]
        assert sorted(names, key=reading_key)[:4] == ["あいう", "ｱｶｳﾝﾄ", "営業部", "開発部"]

    def test_up_and_down_set_the_order_and_are_logged(self, orgs: OrgCast) -> None:
        client = logged_in(orgs.cast.a1)
        names = lambda: [n.name for n in client.get("/alpha/users/").context["tree"]]  # noqa: E731
        assert names() == ["アルファ株式会社", "営業部", "開発部"]
        client.post(f"/alpha/orgs/{orgs.dev.pk}/up/")
        assert names() == ["アルファ株式会社", "開発部", "営業部"]
        entry = LogEntry.objects.get(action="organization.reordered")
        assert (entry.before, entry.after) == ({"position": 2}, {"position": 1})
        organization_create(actor=Actor.operator(), parent=orgs.root, name="あ総務")
        assert names() == ["アルファ株式会社", "開発部", "営業部", "あ総務"]
        client.post(f"/alpha/orgs/{orgs.dev.pk}/down/")
        assert names() == ["アルファ株式会社", "営業部", "開発部", "あ総務"]

    def test_delete_is_offered_only_for_an_empty_organization(self, orgs: OrgCast) -> None:
        client = logged_in(orgs.cast.a1)
        full = client.get("/alpha/users/", {"org": orgs.sales.pk}).content.decode()
        assert "この組織を削除" not in full and 'id="org-delete-hint"' in full
        empty = organization_create(actor=Actor.operator(), parent=orgs.root, name="空")
        html = client.get("/alpha/users/", {"org": empty.pk}).content.decode()
        assert "この組織を削除" in html and ">下位組織を追加</button>" in html
