"""Mamori accounts: the seed's step 2, the support option, and the safety rails."""

import pytest
from django.test import Client
from django.utils import translation

from mamori.accounts.models import Account
from mamori.accounts.services.administration import AccountData, account_update
from mamori.accounts.services.tokens import api_token_create
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from tests.conftest import (
    PASSWORD,
    Cast,
    OrgCast,
    logged_in,
    make_account,
    make_user,
    shared_orgs,
    shared_orgs_cast,
)

pytestmark = pytest.mark.django_db

GOOD = "Sakura-no-hana-2026"


def account_form(**extra: str) -> dict:
    data = {
        "name": "hanako",
        "password": GOOD,
        "confirmation": GOOD,
        "privilege": "system_admin",
        "support_option": "on",
        "language": "en",
        "timezone": "America/New_York",
    }
    data.update(extra)
    return {k: v for k, v in data.items() if v is not None}


def en(account: Account) -> Client:
    account.language = "en"
    account.save()
    return logged_in(account)


def support_holders(contract) -> int:
    return Account.objects.filter(contract=contract, support_option=True).count()


class TestCreateAccount:
    def test_the_form_is_labelled_as_the_seed_names_it(self, orgs: OrgCast) -> None:
        html = logged_in(orgs.cast.a1).get(f"/alpha/users/{orgs.sato.pk}/account/").content.decode()
        for label in (
            "アカウント名",
            "パスワード",
            "確認用パスワード",
            "管理権限",
            "言語",
            "タイムゾーン",
        ):
            assert f">{label}</label>" in html, label
        assert "サポートオプション" in html and "お知らせメール受信" in html
        # The grouped timezone list, the account's zone chosen, as a person reads it.
        assert '<option value="Asia/Tokyo" selected>(UTC+09:00) 東京</option>' in html

    def test_a_system_administrator_with_the_support_option(self, orgs: OrgCast) -> None:
        response = logged_in(orgs.cast.a1).post(
            f"/alpha/users/{orgs.sato.pk}/account/", account_form()
        )
        assert response["Location"] == f"/alpha/users/{orgs.sato.pk}/"
        account = Account.objects.get(user=orgs.sato)
        assert (
            account.name,
            account.privilege,
            account.support_option,
            account.language,
            account.timezone,
        ) == ("hanako", "system_admin", True, "en", "America/New_York")
        assert account.check_password(GOOD)
        entry = LogEntry.objects.get(action="account.created", target_id=str(account.pk))
        assert entry.after["support_option"] is True and "password" not in entry.after
        assert GOOD not in repr(entry.__dict__)
        # and they can log in with it
        login = Client().post("/alpha/login/", {"account": "hanako", "password": GOOD})
        assert login.status_code == 302

    @pytest.mark.parametrize(
        ("extra", "field", "message"),
        [
            ({"name": ""}, "name", "Account name is required."),
            ({"name": "ADMIN"}, "name", "The account name “ADMIN” is already in use."),
            ({"password": "", "confirmation": ""}, "password", "Enter a password."),
            (
                {"confirmation": "something-else-1"},
                "confirmation",
                "The two passwords do not match.",
            ),
            (
                {"password": "hanako-1234", "confirmation": "hanako-1234"},
                "password",
                "The password must not contain the account name.",
            ),
            (
                {"timezone": "Mars/Olympus"},
                "timezone",
                "“Mars/Olympus” is not a timezone. Give a city (Tokyo), an IANA name (Asia/Tokyo), an abbreviation (JST, KST, HKT, SGT, UTC, GMT, Z, PST, PDT, EST, EDT, CET, BST, AEST) or a whole-hour UTC offset (UTC+9, -05:00).",
            ),
            (
                {"privilege": "department_admin"},
                "scope_organizations",
                "Choose at least one organization this account manages.",
            ),
            (
                {"privilege": "custom_admin", "scope_all": "on"},
                "scheme",
                "Choose a permission scheme for a custom administrator.",
            ),
        ],
    )
    def test_bad_input_is_named_and_nothing_is_created(
        self, orgs: OrgCast, extra: dict, field: str, message: str
    ) -> None:
        response = en(orgs.cast.a1).post(
            f"/alpha/users/{orgs.sato.pk}/account/", account_form(**extra)
        )
        assert response.status_code == 200
        assert message in response.context["form"].errors[field]
        assert not Account.objects.filter(user=orgs.sato).exists()
        assert not LogEntry.objects.filter(action="account.created", actor_kind="account").exists()

    def test_the_support_option_needs_the_system_administrator_privilege(
        self, orgs: OrgCast
    ) -> None:
        logged_in(orgs.cast.a1).post(
            f"/alpha/users/{orgs.sato.pk}/account/",
            account_form(privilege="operator", receive_notice_mail="on"),
        )
        account = Account.objects.get(user=orgs.sato)
        assert (account.privilege, account.support_option, account.receive_notice_mail) == (
            "operator",
            False,
            False,
        )


class TestSupportOption:
    def fill(self, orgs: OrgCast, holders: int) -> None:
        for n in range(holders):
            user = make_user(orgs.root, f"Holder {n}", f"holder{n}@alpha.example")
            make_account(user, f"holder{n}", "system_admin", support_option=True)

    def test_the_sixth_support_option_is_refused_naming_the_limit(self, orgs: OrgCast) -> None:
        self.fill(orgs, 5)
        response = en(orgs.cast.a1).post(f"/alpha/users/{orgs.sato.pk}/account/", account_form())
        assert response.context["form"].errors["support_option"] == [
            "At most 5 accounts per contract can have the support option, and 5 already do."
        ]
        assert not Account.objects.filter(user=orgs.sato).exists()
        assert support_holders(orgs.cast.a) == 5

    def test_a_holder_keeps_it_when_saving_at_the_limit(self, orgs: OrgCast) -> None:
        self.fill(orgs, 5)
        holder = Account.objects.get(name="holder0")
        account_update(
            actor=Actor(account=orgs.cast.a1),
            account=holder,
            data=AccountData(
                name="holder0",
                privilege="system_admin",
                support_option=True,
                language="ja",
                timezone="UTC",
            ),
        )
        holder.refresh_from_db()
        assert holder.support_option and holder.timezone == "UTC"

    def test_removing_the_system_administrator_privilege_removes_the_support_option(
        self, orgs: OrgCast
    ) -> None:
        self.fill(orgs, 1)
        holder = Account.objects.get(name="holder0")
        logged_in(orgs.cast.a1).post(
            f"/alpha/users/{holder.user_id}/account/",
            account_form(name="holder0", password="", confirmation="", privilege="operator"),
        )
        holder.refresh_from_db()
        assert (holder.privilege, holder.support_option) == ("operator", False)
        assert "Holder 0" not in logged_in(orgs.cast.a1).get("/alpha/settings/").content.decode()

    def test_settings_shows_how_many_and_who(self, orgs: OrgCast) -> None:
        self.fill(orgs, 2)
        html = logged_in(orgs.cast.a1).get("/alpha/settings/").content.decode()
        assert "2 / 5" in html and "Holder 0, Holder 1" in html


class TestSafetyRails:
    def test_the_last_system_administrator_cannot_be_demoted_disabled_or_deleted(
        self, cast: Cast
    ) -> None:
        from django.core.exceptions import ValidationError

        from mamori.accounts.services.administration import account_delete, account_disable

        operator = Actor.operator()  # the CLI bypasses privileges: only the rail stands in the way
        data = AccountData(name="admin", privilege="operator", language="ja", timezone="Asia/Tokyo")
        for attempt in (
            lambda: account_update(actor=operator, account=cast.a1, data=data),
            lambda: account_disable(actor=operator, account=cast.a1),
            lambda: account_delete(actor=operator, account=cast.a1),
        ):
            with (
                translation.override("en"),
                pytest.raises(
                    ValidationError,
                    match="admin is the contract's last enabled System administrator",
                ),
            ):
                attempt()
        cast.a1.refresh_from_db()
        assert (cast.a1.privilege, cast.a1.is_active) == ("system_admin", True)
        assert not LogEntry.objects.filter(
            action__in=["account.updated", "account.disabled", "account.deleted"]
        ).exists()

    def test_a_disabled_administrator_does_not_count(self, orgs: OrgCast) -> None:
        from django.core.exceptions import ValidationError

        from mamori.accounts.services.administration import account_disable

        second = make_account(orgs.sato, "second", "system_admin")
        account_disable(actor=Actor(account=orgs.cast.a1), account=second)
        with (
            translation.override("en"),
            pytest.raises(ValidationError, match="last enabled System administrator"),
        ):
            account_disable(actor=Actor.operator(), account=orgs.cast.a1)

    def test_nobody_disables_their_own_account(self, orgs: OrgCast) -> None:
        make_account(orgs.sato, "second", "system_admin")
        response = en(orgs.cast.a1).post(
            f"/alpha/users/{orgs.cast.a1.user_id}/account/disable/", follow=True
        )
        assert "You cannot disable your own account." in response.content.decode()
        orgs.cast.a1.refresh_from_db()
        assert orgs.cast.a1.is_active

    def test_nobody_raises_their_own_privilege(self, orgs: OrgCast) -> None:
        response = en(orgs.a2).post(
            f"/alpha/users/{orgs.a2.user_id}/account/",
            account_form(
                name="jiro",
                password="",
                confirmation="",
                privilege="system_admin",
                support_option=None,
            ),
        )
        assert response.context["form"].errors["privilege"] == [
            "You cannot change your own privilege or scope. Ask another System administrator."
        ]
        orgs.a2.refresh_from_db()
        assert orgs.a2.privilege == "department_admin"

    def test_a_system_administrator_cannot_change_their_own_privilege_either(
        self, orgs: OrgCast
    ) -> None:
        make_account(orgs.sato, "second", "system_admin")
        response = en(orgs.cast.a1).post(
            f"/alpha/users/{orgs.cast.a1.user_id}/account/",
            account_form(
                name="admin",
                password="",
                confirmation="",
                privilege="operator",
                support_option=None,
            ),
        )
        assert response.context["form"].errors["privilege"] == [
            "You cannot change your own privilege or scope. Ask another System administrator."
        ]

    def test_language_and_timezone_of_your_own_account_can_change(self, cast: Cast) -> None:
        response = logged_in(cast.a1).post(
            f"/alpha/users/{cast.a1.user_id}/account/",
            account_form(
                name="admin",
                password="",
                confirmation="",
                support_option=None,
                timezone="Europe/Paris",
            ),
        )
        assert response.status_code == 302
        cast.a1.refresh_from_db()
        assert (cast.a1.timezone, cast.a1.language) == ("Europe/Paris", "en")


class TestDisable:
    def test_a_disabled_account_loses_its_sessions_and_tokens_at_once(self, orgs: OrgCast) -> None:
        session = Client()
        session.post("/alpha/login/", {"account": "jiro", "password": PASSWORD})
        _, raw = api_token_create(
            actor=Actor(account=orgs.a2), account=orgs.a2, name="t", expires_in_days=7
        )
        api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert session.get("/alpha/users/").status_code == 200
        assert api.get("/api/v1/me").status_code == 200

        logged_in(orgs.cast.a1).post(f"/alpha/users/{orgs.a2.user_id}/account/disable/")

        assert session.get("/alpha/users/")["Location"].startswith("/alpha/login/")
        assert api.get("/api/v1/me").status_code == 401
        login = Client(HTTP_ACCEPT_LANGUAGE="en").post(
            "/alpha/login/", {"account": "jiro", "password": PASSWORD}
        )
        assert "This account is disabled." in login.content.decode()
        assert (
            LogEntry.objects.filter(action="account.disabled", target_id=str(orgs.a2.pk)).count()
            == 1
        )

        # Its tokens were revoked for good: enabling the account again does not bring them back.
        logged_in(orgs.cast.a1).post(f"/alpha/users/{orgs.a2.user_id}/account/enable/")
        assert api.get("/api/v1/me").status_code == 401

    def test_deleting_the_account_lets_the_user_be_deleted(self, orgs: OrgCast) -> None:
        client = logged_in(orgs.cast.a1)
        client.post(f"/alpha/users/{orgs.a3.user_id}/account/delete/")
        assert not Account.objects.filter(pk=orgs.a3.pk).exists()
        client.post(f"/alpha/users/{orgs.a3.user_id}/delete/")
        assert not orgs.a3.user.__class__.objects.filter(pk=orgs.a3.user_id).exists()
        # the log keeps the name of the deleted account
        assert LogEntry.objects.get(action="account.deleted").target_label == "saburo"


class TestDepartmentAdministrator:
    def test_creates_operators_in_its_organizations(self, orgs: OrgCast) -> None:
        response = logged_in(orgs.a2).post(
            f"/alpha/users/{orgs.sato.pk}/account/",
            account_form(privilege="operator", support_option=None),
        )
        assert response.status_code == 302
        assert Account.objects.get(user=orgs.sato).privilege == "operator"

    def test_cannot_create_other_privileges(self, orgs: OrgCast) -> None:
        response = en(orgs.a2).post(
            f"/alpha/users/{orgs.sato.pk}/account/",
            account_form(
                privilege="department_admin",
                scope_organizations=str(orgs.tokyo.pk),
                support_option=None,
            ),
        )
        # Only Operator is offered; a forged choice is refused like any value not on the list.
        offered = [c[0] for c in response.context["form"].fields["privilege"].choices]
        assert offered == ["", "operator"]
        assert response.context["form"].errors["privilege"] == [
            "Choose Admin privilege from the list."
        ]
        assert not Account.objects.filter(user=orgs.sato).exists()

    def test_a_new_account_has_no_privilege_chosen_for_it(self, orgs: OrgCast) -> None:
        form = en(orgs.cast.a1).get(f"/alpha/users/{orgs.sato.pk}/account/").context["form"]
        assert form["privilege"].value() is None
        response = en(orgs.cast.a1).post(
            f"/alpha/users/{orgs.sato.pk}/account/",
            account_form(privilege="", support_option=None),
        )
        assert response.context["form"].errors["privilege"] == ["Admin privilege: choose one."]
        assert not Account.objects.filter(user=orgs.sato).exists()

    def test_cannot_touch_a_system_administrator(self, orgs: OrgCast) -> None:
        admin = make_account(orgs.sato, "tokyo-admin", "system_admin")
        before = Account.objects.filter(pk=admin.pk).values().get()
        response = logged_in(orgs.a2).post(f"/alpha/users/{orgs.sato.pk}/account/disable/")
        assert response.status_code == 403
        response = logged_in(orgs.a2).post(
            f"/alpha/users/{orgs.sato.pk}/account/",
            account_form(name="tokyo-admin", password="", confirmation="", privilege="operator"),
        )
        assert response.status_code == 403
        assert Account.objects.filter(pk=admin.pk).values().get() == before

    def test_users_outside_its_organizations_are_not_found(self, orgs: OrgCast) -> None:
        client = logged_in(orgs.a2)
        assert client.get(f"/alpha/users/{orgs.suzuki.pk}/").status_code == 404
        assert (
            client.post(
                f"/alpha/users/{orgs.suzuki.pk}/account/", account_form(privilege="operator")
            ).status_code
            == 404
        )
        assert not Account.objects.filter(user=orgs.suzuki).exists()
        names = {u.name for u in client.get("/alpha/users/").context["page"].rows}
        assert names == {"部門 次郎", "操作 三郎", "佐藤 花子"}

    def test_sees_only_log_entries_about_its_organizations(self, orgs: OrgCast) -> None:
        logged_in(orgs.cast.a1).post(f"/alpha/orgs/{orgs.dev.pk}/rename/", {"name": "開発本部"})
        logged_in(orgs.cast.a1).post(f"/alpha/orgs/{orgs.tokyo.pk}/rename/", {"name": "東京支店"})
        entries = logged_in(orgs.a2).get("/alpha/logs/").context["page"].entries
        labels = [e.target_label for e in entries if e.action == "organization.renamed"]
        assert labels == ["東京支店"]


class TestNobodyReachesAWiderScope:
    """A Department administrator manages Operators only: not another administrator's account
    (even one whose user sits in its organizations), nor an administrator's person record."""

    @pytest.fixture
    def wide(self, orgs: OrgCast) -> Account:
        # A department administrator of the whole company, whose user sits in 東京 (A2's scope).
        return make_account(orgs.sato, "wide", "department_admin", scope=(orgs.root,))

    def state(self, account: Account) -> tuple:
        account.refresh_from_db()
        user = account.user
        return (
            account.privilege,
            account.password,
            account.is_active,
            user.name,
            list(user.emails.values_list("address", flat=True)),
        )

    def test_cannot_demote_re_password_disable_or_delete_a_wider_administrator(
        self, orgs: OrgCast, wide: Account
    ) -> None:
        before = self.state(wide)
        client = logged_in(orgs.a2)
        takeover = account_form(name="wide", privilege="operator", support_option=None)
        assert client.post(f"/alpha/users/{orgs.sato.pk}/account/", takeover).status_code == 403
        assert client.post(f"/alpha/users/{orgs.sato.pk}/account/disable/").status_code == 403
        assert client.post(f"/alpha/users/{orgs.sato.pk}/account/delete/").status_code == 403
        assert self.state(wide) == before

    def test_cannot_change_an_administrators_person_record(
        self, orgs: OrgCast, wide: Account
    ) -> None:
        before = self.state(wide)
        form = {
            "name": "佐藤 花子",
            "organization": orgs.tokyo.pk,
            "emails-TOTAL_FORMS": "1",
            "emails-INITIAL_FORMS": "0",
            "emails-0-address": "evil@attacker.example",
            "emails-0-category": "main",
        }
        assert (
            logged_in(orgs.a2).post(f"/alpha/users/{orgs.sato.pk}/edit/", form).status_code == 403
        )
        assert self.state(wide) == before
        # an Operator's record is the department administrator's to keep
        operator_user = orgs.a3.user
        form["name"], form["organization"], form["emails-0-address"] = (
            "操作 三郎",
            orgs.sales.pk,
            "saburo2@alpha.example",
        )
        assert (
            logged_in(orgs.a2).post(f"/alpha/users/{operator_user.pk}/edit/", form).status_code
            == 302
        )

    def test_a_system_administrator_still_can(self, orgs: OrgCast, wide: Account) -> None:
        response = logged_in(orgs.cast.a1).post(f"/alpha/users/{orgs.sato.pk}/account/disable/")
        assert response.status_code == 302
        wide.refresh_from_db()
        assert not wide.is_active


# Built once for the module (see conftest).
orgs, cast = shared_orgs, shared_orgs_cast
