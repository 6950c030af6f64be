"""Users/Org: organizations and users, through the pages (the API has its own tests)."""

import pytest
from django.test import Client
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from mamori.audit.models import LogEntry
from mamori.directory.models import Organization, User, UserEmail
from mamori.directory.services import normalize_furigana
from tests.conftest import Cast, OrgCast, logged_in

pytestmark = pytest.mark.django_db


def add_user_form(organization: Organization, name: str = "佐藤 花子", **extra: str) -> dict:
    data = {
        "name": name,
        "furigana": "さとう はなこ",
        "organization": organization.pk,
        "emails-TOTAL_FORMS": "2",
        "emails-INITIAL_FORMS": "0",
        "emails-0-address": "hanako@alpha.example",
        "emails-0-category": "main",
        "emails-1-address": "hanako@home.example",
        "emails-1-category": "personal",
    }
    data.update(extra)
    return data


def en(account) -> Client:
    account.language = "en"
    account.save()
    return logged_in(account)


class TestFurigana:
    @pytest.mark.parametrize(
        ("given", "expected"),
        [
            ("ヤマダ タロウ", "ヤマダ\u3000タロウ"),
            ("やまだ　たろう", "ヤマダ\u3000タロウ"),
            ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ\u3000タロウ"),
            ("  がっこう  ", "ガッコウ"),
            ("ヴァイオリン・ケース", "ヴァイオリン・ケース"),
        ],
    )
    def test_kana_is_normalised_to_full_width_katakana(self, given: str, expected: str) -> None:
        assert normalize_furigana(given) == expected

    @pytest.mark.parametrize("bad", ["Yamada", "山田", "ヤマダ1", "ヤマダ!"])
    def test_anything_else_is_refused_with_a_message_that_says_so(self, bad: str) -> None:
        from django.core.exceptions import ValidationError

        with translation.override("en"), pytest.raises(ValidationError, match="katakana"):
            normalize_furigana(bad)

    @given(st.text(alphabet=st.characters(min_codepoint=0x3041, max_codepoint=0x3096), min_size=1))
    def test_any_hiragana_becomes_the_same_katakana(self, text: str) -> None:
        result = normalize_furigana(text)
        assert len(result) == len(text)
        assert all("\u30a1" <= c <= "\u30f6" for c in result)

    @given(
        st.text(
            alphabet=st.characters(min_codepoint=0x30A1, max_codepoint=0x30FA) | st.just(" "),
            min_size=1,
        )
    )
    def test_normalising_twice_changes_nothing(self, text: str) -> None:
        once = normalize_furigana(text)
        assert normalize_furigana(once) == once

    @given(
        st.text(
            alphabet=st.characters(categories=["Lu", "Ll", "Nd"], max_codepoint=0x2FFF), min_size=1
        )
    )
    def test_latin_letters_and_digits_are_refused(self, text: str) -> None:
        from django.core.exceptions import ValidationError

        with pytest.raises(ValidationError):
            normalize_furigana(text)


class TestAddUser:
    def test_the_form_is_labelled_as_the_seed_names_it(self, cast: Cast) -> None:
        html = logged_in(cast.a1).get("/alpha/users/add/").content.decode()
        for label in ("氏名", "フリガナ", "メールアドレス", "区分", "社員コード", "所属組織"):
            assert f">{label}</label>" in html
        assert ">メールアドレスを追加</button>" in html
        assert ">保存</button>" in html
        english = en(cast.a1).get("/alpha/users/add/").content.decode()
        for label in ("Name", "Furigana", "E-mail address", "Category"):
            assert f">{label}</label>" in english

    def test_a_user_with_two_addresses_one_main(self, orgs: OrgCast) -> None:
        response = logged_in(orgs.cast.a1).post(
            "/alpha/users/add/", add_user_form(orgs.sales, name="新人 太郎")
        )
        user = User.objects.get(name="新人 太郎")
        assert response["Location"] == f"/alpha/users/{user.pk}/"
        assert (user.furigana, user.organization) == ("サトウ\u3000ハナコ", orgs.sales)
        assert sorted(user.emails.values_list("address", "category")) == [
            ("hanako@alpha.example", "main"),
            ("hanako@home.example", "personal"),
        ]
        entry = LogEntry.objects.get(action="user.created", target_id=str(user.pk))
        assert entry.organization_id == orgs.sales.pk
        assert entry.after["emails"] == [
            "hanako@alpha.example (main)",
            "hanako@home.example (personal)",
        ]

    def test_add_e_mail_address_adds_a_row_and_keeps_what_was_typed(self, cast: Cast) -> None:
        root = Organization.objects.get(contract=cast.a, parent=None)
        data = add_user_form(root, **{"emails-TOTAL_FORMS": "1", "add_email": "1"})
        response = logged_in(cast.a1).post("/alpha/users/add/", data)
        assert response.status_code == 200
        assert len(response.context["formset"].forms) == 2
        assert 'value="hanako@alpha.example"' in response.content.decode()
        assert not User.objects.filter(name="佐藤 花子").exclude(contract=cast.b).exists()

    @pytest.mark.parametrize("count", ["abc", "-3", "99999999999999999999", ""])
    def test_a_tampered_row_count_shows_the_form_again_not_an_error(
        self, cast: Cast, count: str
    ) -> None:
        root = Organization.objects.get(contract=cast.a, parent=None)
        data = add_user_form(root, **{"emails-TOTAL_FORMS": count, "add_email": "1"})
        response = logged_in(cast.a1).post("/alpha/users/add/", data)
        assert response.status_code == 200
        assert 1 <= len(response.context["formset"].forms) <= 20
        assert not User.objects.filter(name="佐藤 花子").exists()

    @pytest.mark.parametrize(
        ("categories", "message"),
        [
            (
                ("work", "personal"),
                "Exactly one e-mail address must have the category “Main” (now: 0).",
            ),
            (
                ("main", "main"),
                "Exactly one e-mail address must have the category “Main” (now: 2).",
            ),
        ],
    )
    def test_exactly_one_main_address(self, cast: Cast, categories: tuple, message: str) -> None:
        root = Organization.objects.get(contract=cast.a, parent=None)
        data = add_user_form(
            root, **{"emails-0-category": categories[0], "emails-1-category": categories[1]}
        )
        response = en(cast.a1).post("/alpha/users/add/", data)
        assert response.status_code == 200
        assert message in response.content.decode()
        assert not User.objects.filter(name="佐藤 花子").exists()
        assert not LogEntry.objects.filter(action="user.created").exists()

    def test_bad_and_repeated_addresses_are_named_on_their_rows(self, cast: Cast) -> None:
        root = Organization.objects.get(contract=cast.a, parent=None)
        data = add_user_form(
            root,
            **{
                "emails-TOTAL_FORMS": "3",
                "emails-1-address": "not an address",
                "emails-2-address": "HANAKO@alpha.example",
                "emails-2-category": "work",
            },
        )
        response = en(cast.a1).post("/alpha/users/add/", data)
        rows = response.context["formset"].forms
        assert rows[1].errors["address"] == ["“not an address” is not a valid e-mail address."]
        assert rows[2].errors["address"] == ["“HANAKO@alpha.example” is entered twice."]
        assert not User.objects.filter(name="佐藤 花子").exists()

    def test_name_is_required(self, cast: Cast) -> None:
        root = Organization.objects.get(contract=cast.a, parent=None)
        response = en(cast.a1).post("/alpha/users/add/", add_user_form(root, name=" "))
        assert response.context["form"].errors["name"] == ["Name is required."]
        assert User.objects.filter(contract=cast.a).count() == 1

    def test_furigana_must_be_kana(self, cast: Cast) -> None:
        root = Organization.objects.get(contract=cast.a, parent=None)
        response = en(cast.a1).post("/alpha/users/add/", add_user_form(root, furigana="Sato"))
        errors = response.context["form"].errors
        assert errors["furigana"] == [
            "Furigana must be written in katakana (hiragana and half-width katakana are converted)."
        ]
        assert User.objects.filter(contract=cast.a).count() == 1

    def test_employee_code_is_unique_in_the_contract(self, orgs: OrgCast) -> None:
        orgs.suzuki.employee_code = "E001"
        orgs.suzuki.save()
        response = en(orgs.cast.a1).post(
            "/alpha/users/add/", add_user_form(orgs.sales, employee_code="E001")
        )
        assert response.context["form"].errors["employee_code"] == [
            "The employee code “E001” is already used by another user."
        ]
        # Another contract may use the same code.
        from tests.conftest import make_user

        other = make_user(
            Organization.objects.get(contract=orgs.cast.b, parent=None), "B", "b@b.example"
        )
        other.employee_code = "E001"
        other.save()


class TestUserPage:
    def test_shows_everything_and_the_account_section(self, orgs: OrgCast) -> None:
        html = logged_in(orgs.cast.a1).get(f"/alpha/users/{orgs.a2.user_id}/").content.decode()
        assert "アルファ株式会社 / 営業部" in html
        assert "jiro@alpha.example" in html
        assert "Mamori アカウント" in html and "部門管理者" in html

    def test_edit_moves_the_user_and_logs_only_what_changed(self, orgs: OrgCast) -> None:
        data = add_user_form(
            orgs.dev,
            name="佐藤 花子",
            furigana="サトウ ハナコ",
            **{"emails-TOTAL_FORMS": "1", "emails-0-address": "sato@alpha.example"},
        )
        response = logged_in(orgs.cast.a1).post(f"/alpha/users/{orgs.sato.pk}/edit/", data)
        assert response.status_code == 302
        orgs.sato.refresh_from_db()
        assert orgs.sato.organization == orgs.dev
        entry = LogEntry.objects.get(action="user.updated")
        assert (entry.before, entry.after) == ({"organization": "東京"}, {"organization": "開発部"})

    def test_a_user_with_a_mamori_account_cannot_be_deleted(self, orgs: OrgCast) -> None:
        client = en(orgs.cast.a1)
        response = client.post(f"/alpha/users/{orgs.a2.user_id}/delete/", follow=True)
        assert (
            "部門 次郎 has a Mamori account. Delete the account first." in response.content.decode()
        )
        assert User.objects.filter(pk=orgs.a2.user_id).exists()

    def test_a_user_without_an_account_is_deleted(self, orgs: OrgCast) -> None:
        response = logged_in(orgs.cast.a1).post(f"/alpha/users/{orgs.sato.pk}/delete/")
        assert response.status_code == 302
        assert not User.objects.filter(pk=orgs.sato.pk).exists()
        assert not UserEmail.objects.filter(address="sato@alpha.example").exists()
        assert LogEntry.objects.get(action="user.deleted").before["name"] == "佐藤 花子"


class TestUserList:
    def test_sorted_by_furigana_with_the_tree_and_counts(self, orgs: OrgCast) -> None:
        response = logged_in(orgs.cast.a1).get("/alpha/users/")
        names = [u.name for u in response.context["page"].rows]
        assert names == sorted(
            names, key=lambda n: User.objects.get(name=n, contract=orgs.cast.a).furigana
        )
        counts = {n.name: (n.user_count, n.subtree_count) for n in response.context["tree"]}
        assert counts == {"アルファ株式会社": (1, 6), "営業部": (2, 3), "開発部": (2, 2)}
        opened = logged_in(orgs.cast.a1).get("/alpha/users/", {"org": orgs.sales.pk})
        shown = [(n.name, n.depth, n.has_children) for n in opened.context["tree"]]
        assert shown == [
            ("アルファ株式会社", 0, True),
            ("営業部", 1, True),
            ("東京", 2, False),
            ("開発部", 1, False),
        ]

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("佐藤", ["佐藤 花子"]),
            ("さとう", ["佐藤 花子"]),
            ("ｽｽﾞｷ", ["鈴木 一郎"]),
            ("suzuki@alpha", ["鈴木 一郎"]),
            ("E042", ["鈴木 一郎"]),
            ("nobody", []),
        ],
    )
    def test_search_by_name_furigana_email_and_employee_code(
        self, orgs: OrgCast, query: str, expected: list
    ) -> None:
        orgs.suzuki.employee_code = "E042"
        orgs.suzuki.save()
        response = logged_in(orgs.cast.a1).get("/alpha/users/", {"q": query})
        assert [u.name for u in response.context["page"].rows] == expected

    def test_organization_filter_with_and_without_sub_organizations(self, orgs: OrgCast) -> None:
        client = logged_in(orgs.cast.a1)
        with_sub = client.get("/alpha/users/", {"org": orgs.sales.pk})
        without = client.get("/alpha/users/", {"org": orgs.sales.pk, "sub": "0"})
        assert {u.name for u in with_sub.context["page"].rows} == {
            "部門 次郎",
            "操作 三郎",
            "佐藤 花子",
        }
        assert {u.name for u in without.context["page"].rows} == {"部門 次郎", "操作 三郎"}

    def test_pages_walk_every_user_once(
        self, orgs: OrgCast, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr("mamori.directory.views.PAGE_SIZE", 2)
        client = logged_in(orgs.cast.a1)
        seen, params = [], {}
        while True:
            response = client.get("/alpha/users/", params)
            seen += [u.pk for u in response.context["page"].rows]
            if not response.context["page"].next_cursor:
                break
            params = {"after": response.context["page"].next_cursor}
        assert seen == list(
            User.objects.filter(contract=orgs.cast.a)
            .order_by("furigana", "id")
            .values_list("pk", flat=True)
        )

    def test_the_list_runs_a_fixed_number_of_queries(
        self, orgs: OrgCast, django_assert_max_num_queries
    ) -> None:
        client = logged_in(orgs.cast.a1)
        with django_assert_max_num_queries(10):
            client.get("/alpha/users/")


class TestOrganizations:
    def test_create_rename_move_and_delete(self, orgs: OrgCast) -> None:
        client = logged_in(orgs.cast.a1)
        client.post(f"/alpha/orgs/{orgs.dev.pk}/add/", {"name": "基盤"})
        infra = Organization.objects.get(name="基盤")
        assert infra.path == f"{orgs.dev.path}{infra.pk}/"
        client.post(f"/alpha/orgs/{infra.pk}/rename/", {"name": "基盤チーム"})
        client.post(f"/alpha/orgs/{orgs.dev.pk}/move/", {"parent": orgs.sales.pk})
        infra.refresh_from_db()
        assert infra.name == "基盤チーム"
        assert infra.path == f"{orgs.sales.path}{orgs.dev.pk}/{infra.pk}/"
        client.post(f"/alpha/orgs/{infra.pk}/delete/")
        assert not Organization.objects.filter(pk=infra.pk).exists()
        assert [
            e.action
            for e in LogEntry.objects.filter(
                action__startswith="organization.", contract=orgs.cast.a
            ).order_by("seq")
        ][-4:] == [
            "organization.created",
            "organization.renamed",
            "organization.moved",
            "organization.deleted",
        ]

    def test_an_organization_cannot_move_under_its_own_descendant(self, orgs: OrgCast) -> None:
        response = en(orgs.cast.a1).post(
            f"/alpha/orgs/{orgs.sales.pk}/move/", {"parent": orgs.tokyo.pk}, follow=True
        )
        assert (
            "An organization cannot be moved under itself or one of its sub-organizations."
            in response.content.decode()
        )
        orgs.sales.refresh_from_db()
        assert orgs.sales.parent == orgs.root

    @pytest.mark.parametrize("parent", ["", "abc", "99999999999999999999", "-1"])
    def test_a_move_without_a_valid_parent_says_so_and_moves_nothing(
        self, orgs: OrgCast, parent: str
    ) -> None:
        response = en(orgs.cast.a1).post(
            f"/alpha/orgs/{orgs.tokyo.pk}/move/", {"parent": parent}, follow=True
        )
        assert response.status_code == 200
        assert "Choose the new parent organization." in response.content.decode()
        orgs.tokyo.refresh_from_db()
        assert orgs.tokyo.parent == orgs.sales

    @pytest.mark.parametrize(
        ("which", "message"),
        [
            ("sales", "“営業部” has sub-organizations. Move or delete them first."),
            ("tokyo", "“東京” has users. Move or delete them first."),
            ("root", "The top organization cannot be deleted."),
        ],
    )
    def test_only_an_empty_organization_can_be_deleted(
        self, orgs: OrgCast, which: str, message: str
    ) -> None:
        organization = getattr(orgs, which)
        response = en(orgs.cast.a1).post(f"/alpha/orgs/{organization.pk}/delete/", follow=True)
        assert message in response.content.decode()
        assert Organization.objects.filter(pk=organization.pk).exists()

    def test_sibling_names_are_unique(self, orgs: OrgCast) -> None:
        response = en(orgs.cast.a1).post(
            f"/alpha/orgs/{orgs.root.pk}/add/", {"name": "開発部"}, follow=True
        )
        assert (
            "“アルファ株式会社” already has an organization named “開発部”."
            in response.content.decode()
        )
        assert Organization.objects.filter(name="開発部").count() == 1


def test_organization_user_counts_follow_every_change(orgs: OrgCast) -> None:
    """The tree's counts are kept on the organizations: they must equal a fresh count."""
    from django.db.models import Count

    client = logged_in(orgs.cast.a1)
    client.post("/alpha/users/add/", add_user_form(orgs.dev, name="新人"))
    data = add_user_form(
        orgs.dev,
        name="佐藤 花子",
        **{"emails-TOTAL_FORMS": "1", "emails-0-address": "sato@alpha.example"},
    )
    client.post(f"/alpha/users/{orgs.sato.pk}/edit/", data)
    client.post(f"/alpha/users/{orgs.suzuki.pk}/delete/")
    kept = dict(Organization.objects.filter(contract=orgs.cast.a).values_list("pk", "user_count"))
    counted = dict(
        User.objects.filter(contract=orgs.cast.a)
        .values_list("organization")
        .annotate(n=Count("pk"))
    )
    assert kept == {pk: counted.get(pk, 0) for pk in kept}
    assert kept[orgs.dev.pk] == 3 and kept[orgs.tokyo.pk] == 0
