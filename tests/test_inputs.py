"""Correctness found by trying inputs (issue 7, points 13–18): e-mail rows, searches and
normalisation, account names as identifiers, invisible characters and mail that can never be
sent, one main address per contract and a double-clicked Save, CSV round trips.

The concurrent cases and the migrations on existing data are in ``test_inputs_concurrency``.
"""

from __future__ import annotations

import re
import smtplib

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from mamori.accounts.models import Account, LoginFailure
from mamori.accounts.services.administration import AccountData, account_create, account_update
from mamori.audit.models import LogEntry
from mamori.core.actor import Actor
from mamori.core.models import Submission, Work
from mamori.core.once import once_prune_job
from mamori.directory.models import Organization, User, UserEmail
from mamori.directory.selectors import UserQuery, user_named, users_search
from mamori.directory.services import (
    UserData,
    organization_create,
    organization_rename,
    user_create,
    user_update,
)
from mamori.outbox.models import OutboundMail
from mamori.outbox.services import mail_queue
from mamori.support.models import Inquiry
from mamori.support.services import inquiry_send, notice_send
from tests.conftest import (
    PASSWORD,
    Cast,
    OrgCast,
    api_client,
    logged_in,
    make_account,
    make_user,
    run_work,
    shared_orgs,
    shared_orgs_cast,
)
from tests.test_users_csv import check, csv_text, export, import_all, snapshot

pytestmark = pytest.mark.django_db

orgs, cast = shared_orgs, shared_orgs_cast
ROOT = "アルファ株式会社"
OPERATOR = Actor.operator()


@pytest.fixture(autouse=True)
def _english(shared_orgs: OrgCast) -> None:
    """Messages are read in English here (the Japanese catalogue has them all)."""
    Account.objects.filter(contract=shared_orgs.cast.a).update(language="en")
    shared_orgs.cast.a1.language = "en"


def add_form(organization: Organization, **extra: str) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "新人 太郎",
        "furigana": "しんじん たろう",
        "organization": organization.pk,
        "emails-TOTAL_FORMS": "1",
        "emails-INITIAL_FORMS": "0",
        "emails-0-address": "shinjin@alpha.example",
        "emails-0-category": "main",
    }
    data.update(extra)
    return data


def api_post(client: Client, url: str, body: dict, method: str = "post"):
    return getattr(client, method)(url, body, content_type="application/json")


def data_of(organization: Organization, name: str, *emails: tuple[str, str], **fields: str):
    return UserData(organization=organization, name=name, emails=emails, **fields)


def users_found(account: Account, text: str) -> list[str]:
    return [u.name for u in users_search(account, UserQuery(search=text))]


def state(contract_id: int) -> tuple:
    """Everything a refused save could have changed."""
    return (
        sorted(
            User.objects.filter(contract_id=contract_id).values_list(
                "pk", "name", "employee_code", "main_address_key"
            )
        ),
        sorted(
            UserEmail.objects.filter(user__contract_id=contract_id).values_list(
                "user_id", "address", "category"
            )
        ),
        sorted(Account.objects.filter(contract_id=contract_id).values_list("pk", "name")),
        sorted(Organization.objects.filter(contract_id=contract_id).values_list("pk", "name")),
        LogEntry.objects.filter(contract_id=contract_id).count(),
    )


# 13. The e-mail rows of the user form -------------------------------------------------------


def _select(html: str, name: str) -> str:
    match = re.search(rf'<select name="{re.escape(name)}"[^>]*>.*?</select>', html, re.S)
    assert match, f"no select {name}"
    return match.group(0)


def _input(html: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*>', html)
    assert match, f"no input {name}"
    return match.group(0)


def test_a_new_users_first_address_row_is_main(orgs: OrgCast) -> None:
    html = logged_in(orgs.cast.a1).get("/alpha/users/add/").content.decode()
    assert '<option value="main" selected>Main</option>' in _select(html, "emails-0-category")


def test_an_added_address_row_is_empty_unmarked_and_has_no_category(orgs: OrgCast) -> None:
    before = state(orgs.cast.a.pk)
    form = add_form(orgs.sales, add_email="1")
    response = logged_in(orgs.cast.a1).post("/alpha/users/add/", form)

    html = response.content.decode()
    assert response.status_code == 200
    new_category = _select(html, "emails-1-category")
    assert re.findall(r"<option[^>]*selected[^>]*>", new_category) == ['<option value="" selected>']
    assert "required" not in new_category
    assert "required" not in _input(html, "emails-1-address")
    assert 'value="' not in _input(html, "emails-1-address")
    # What was typed stays, the first row still main; nothing is marked wrong.
    assert 'value="shinjin@alpha.example"' in _input(html, "emails-0-address")
    assert '<option value="main" selected>' in _select(html, "emails-0-category")
    assert 'class="error-text"' not in html
    assert state(orgs.cast.a.pk) == before


def test_adding_a_row_to_an_empty_form_marks_nothing_wrong(orgs: OrgCast) -> None:
    response = logged_in(orgs.cast.a1).post(
        "/alpha/users/add/",
        {"emails-TOTAL_FORMS": "1", "emails-INITIAL_FORMS": "0", "add_email": "1"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert not response.context["form"].errors
    assert "Please check the following." not in html and "is required" not in html
    assert "Choose a category" in _select(html, "emails-1-category")
    assert "---------" not in html


def test_an_added_row_on_the_edit_page_has_no_category_either(orgs: OrgCast) -> None:
    form = {
        "name": orgs.sato.name,
        "furigana": orgs.sato.furigana,
        "organization": orgs.tokyo.pk,
        "emails-TOTAL_FORMS": "1",
        "emails-INITIAL_FORMS": "1",
        "emails-0-address": "sato@alpha.example",
        "emails-0-category": "main",
        "add_email": "1",
    }
    html = logged_in(orgs.cast.a1).post(f"/alpha/users/{orgs.sato.pk}/edit/", form).content.decode()
    assert re.findall(r"<option[^>]*selected[^>]*>", _select(html, "emails-1-category")) == [
        '<option value="" selected>'
    ]


def test_an_address_typed_in_an_added_row_without_a_category_is_named_on_that_row(
    orgs: OrgCast,
) -> None:
    before = state(orgs.cast.a.pk)
    form = add_form(
        orgs.sales,
        **{
            "emails-TOTAL_FORMS": "3",
            "emails-1-address": "",
            "emails-1-category": "",
            "emails-2-address": "home@example.com",
            "emails-2-category": "",
        },
    )
    response = logged_in(orgs.cast.a1).post("/alpha/users/add/", form)

    rows = response.context["formset"].forms
    assert [dict(r.errors) for r in rows] == [{}, {}, {"category": ["Choose a category."]}]
    assert state(orgs.cast.a.pk) == before


def test_empty_rows_are_left_out_and_errors_stay_on_the_row_they_are_about(
    orgs: OrgCast,
) -> None:
    form = add_form(
        orgs.sales,
        **{
            "emails-TOTAL_FORMS": "3",
            "emails-0-address": "",
            "emails-0-category": "",
            "emails-1-address": "bad address",
            "emails-1-category": "work",
            "emails-2-address": "shinjin@alpha.example",
            "emails-2-category": "main",
        },
    )
    rows = logged_in(orgs.cast.a1).post("/alpha/users/add/", form).context["formset"].forms
    assert [dict(r.errors) for r in rows] == [
        {},
        {"address": ["“bad address” is not a valid e-mail address."]},
        {},
    ]


# 14. Searches and normalisation -------------------------------------------------------------


@pytest.mark.parametrize("stored", ["田中 太郎", "田中　太郎", "田中太郎"])
@pytest.mark.parametrize("typed", ["田中 太郎", "田中　太郎", "田中太郎", " 田中  太郎 "])
def test_a_name_is_found_however_its_spaces_are_typed(
    orgs: OrgCast, stored: str, typed: str
) -> None:
    make_user(orgs.dev, stored, "tanaka@alpha.example")
    assert users_found(orgs.cast.a1, typed) == [stored]


@pytest.mark.parametrize(
    "typed", ["スズキイチロウ", "すずきいちろう", "ｽｽﾞｷｲﾁﾛｳ", "スズキ　イチ", "ｽｽﾞｷ"]
)
def test_a_reading_typed_without_its_spaces_finds_the_furigana(orgs: OrgCast, typed: str) -> None:
    assert orgs.suzuki.furigana == "スズキ\u3000イチロウ"
    assert users_found(orgs.cast.a1, typed) == ["鈴木 一郎"]


def test_a_reading_matches_from_the_start_only(orgs: OrgCast) -> None:
    assert users_found(orgs.cast.a1, "イチロウ") == []


@pytest.mark.parametrize("typed", ["ｔａｒｏ", "TARO", "Ｔａｒｏ　Ｙａｍａｄａ", "taroyamada"])
def test_full_width_letters_and_any_case_find_a_latin_name(orgs: OrgCast, typed: str) -> None:
    make_user(orgs.dev, "Taro Yamada", "t.yamada@alpha.example")
    assert users_found(orgs.cast.a1, typed) == ["Taro Yamada"]


def test_a_full_width_address_search_finds_the_address(orgs: OrgCast) -> None:
    assert users_found(orgs.cast.a1, "ｓｕｚｕｋｉ＠ａｌｐｈａ") == ["鈴木 一郎"]


def test_an_employee_code_is_stored_in_nfkc_and_found_in_either_width(orgs: OrgCast) -> None:
    user = user_create(
        actor=OPERATOR,
        data=data_of(
            orgs.dev, "山田 花子", ("hanako@alpha.example", "main"), employee_code=" Ｅ０００１ "
        ),
    )
    user.refresh_from_db()
    assert user.employee_code == "E0001"
    assert users_found(orgs.cast.a1, "E0001") == ["山田 花子"]
    assert users_found(orgs.cast.a1, "Ｅ０００１") == ["山田 花子"]
    assert users_found(orgs.cast.a1, "e0001") == ["山田 花子"]  # in any letter case


@pytest.mark.parametrize("second", ["E0001", "Ｅ０００１", "Ｅ0001"])
def test_an_employee_code_in_another_width_is_a_duplicate(orgs: OrgCast, second: str) -> None:
    user_create(
        actor=OPERATOR,
        data=data_of(orgs.dev, "一人目", ("one@alpha.example", "main"), employee_code="Ｅ０００１"),
    )
    before = state(orgs.cast.a.pk)
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        user_create(
            actor=OPERATOR,
            data=data_of(orgs.dev, "二人目", ("two@alpha.example", "main"), employee_code=second),
        )
    assert refused.value.message_dict == {
        "employee_code": ["The employee code “E0001” is already used by another user."]
    }
    assert state(orgs.cast.a.pk) == before


def test_an_employee_code_that_nfkc_makes_too_long_is_refused(orgs: OrgCast) -> None:
    before = state(orgs.cast.a.pk)
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        user_create(
            actor=OPERATOR,
            data=data_of(orgs.dev, "長い", ("long@alpha.example", "main"), employee_code="㍿" * 20),
        )
    assert refused.value.message_dict == {"employee_code": ["At most 64 characters."]}
    assert state(orgs.cast.a.pk) == before


def test_the_api_stores_an_employee_code_in_nfkc(orgs: OrgCast) -> None:
    body = {
        "organization_id": orgs.dev.pk,
        "name": "API 太郎",
        "employee_code": "Ａ１２",
        "emails": [{"address": "api@alpha.example", "category": "main"}],
    }
    client = api_client(orgs.cast.a1)
    created = api_post(client, "/api/v1/users", body)
    assert (created.status_code, created.json()["employee_code"]) == (201, "A12")
    again = api_post(
        client,
        "/api/v1/users",
        body | {"emails": [{"address": "api2@alpha.example", "category": "main"}]},
    )
    assert again.status_code == 422
    assert again.json()["error"]["details"] == [
        {
            "field": "employee_code",
            "message": "The employee code “A12” is already used by another user.",
        }
    ]


def test_a_csv_import_stores_codes_in_nfkc_keeps_the_search_keys_and_finds_duplicates(
    orgs: OrgCast,
) -> None:
    rows = [
        [ROOT + " / 開発部", "木村　拓也", "きむら たくや", "Ｋ００７", "kimura@alpha.example:main"]
    ]
    import_all(orgs.cast.a1, csv_text(rows))
    user = User.objects.get(name="木村　拓也")
    assert (user.employee_code, user.name_key, user.furigana_key, user.main_address_key) == (
        "K007",
        "木村拓也",
        "キムラタクヤ",
        "kimura@alpha.example",
    )
    assert users_found(orgs.cast.a1, "木村 拓也") == ["木村　拓也"]
    assert users_found(orgs.cast.a1, "キムラタク") == ["木村　拓也"]
    again = check(
        orgs.cast.a1,
        csv_text([[ROOT, "別人", "", "K007", "other@alpha.example:main"]]),
    )
    assert again.errors == [
        {
            "row": 2,
            "column": "employee_code",
            "message": "The employee code “K007” is already used by another user.",
        }
    ]


def test_a_csv_code_too_long_is_named_once(orgs: OrgCast) -> None:
    user_import = check(
        orgs.cast.a1, csv_text([[ROOT, "長", "", "E" * 65, "l@alpha.example:main"]])
    )
    assert user_import.errors == [
        {"row": 2, "column": "employee_code", "message": "At most 64 characters."}
    ]


# 15. Account names are identifiers ----------------------------------------------------------


def post_login(name: str, password: str = PASSWORD):
    return Client(HTTP_ACCEPT_LANGUAGE="en").post(
        "/alpha/login/", {"account": name, "password": password}
    )


@pytest.mark.parametrize("typed", ["Admin", "ADMIN", "Ａｄｍｉｎ", " admin "])
def test_an_account_name_in_another_case_or_width_logs_in(cast: Cast, typed: str) -> None:
    response = post_login(typed)
    assert (response.status_code, response["Location"]) == (302, "/alpha/")
    entry = LogEntry.objects.filter(action="account.login").latest("pk")
    assert entry.target_id == str(cast.a1.pk)


def test_five_logins_as_Admin_with_the_right_password_do_not_lock_admin(cast: Cast) -> None:
    assert [post_login("Admin").status_code for _ in range(5)] == [302] * 5
    assert post_login("admin").status_code == 302
    assert LoginFailure.objects.count() == 0
    assert not LogEntry.objects.filter(action="account.locked_out").exists()


def test_failures_in_any_case_count_against_one_name(cast: Cast) -> None:
    names = ["admin", "Admin", "ADMIN", "Ａｄｍｉｎ", "aDmIn"]
    assert [post_login(n, "wrong-password-123").status_code for n in names] == [200] * 4 + [429]
    assert post_login("admin").status_code == 429  # locked, the right password too
    assert set(LoginFailure.objects.values_list("account_name", flat=True)) == {"admin"}


def account_data(name: str, **extra: object) -> AccountData:
    return AccountData(name=name, privilege="operator", language="en", **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize("taken", ["ADMIN", "Admin", "Ａｄｍｉｎ"])
def test_an_account_name_taken_in_another_case_is_refused(orgs: OrgCast, taken: str) -> None:
    before = state(orgs.cast.a.pk)
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        account_create(
            actor=Actor(account=orgs.cast.a1),
            user=orgs.suzuki,
            data=account_data(taken),
            password=PASSWORD,
            confirmation=PASSWORD,
        )
    normalised = "Admin" if taken == "Ａｄｍｉｎ" else taken
    assert refused.value.message_dict == {
        "name": [f"The account name “{normalised}” is already in use."]
    }
    assert state(orgs.cast.a.pk) == before


def test_an_account_name_is_stored_in_nfkc(orgs: OrgCast) -> None:
    account = make_account(orgs.suzuki, "ｓｕｚｕｋｉ．１", "operator")
    assert account.name == "suzuki.1"


LOOK_ALIKES = [
    ("\u0430dmin", "а", "U+0430"),  # a Cyrillic а
    ("ad\u200bmin", "", "U+200B"),  # a zero-width space
    ("\u202eadmin", "", "U+202E"),  # a right-to-left override
    ("admin\u0301", "ń", "U+0144"),  # n and a combining acute accent: NFKC makes one letter
    ("x\u0301", "", "U+0301"),  # a combining acute accent on its own
    ("ad min", "", "U+0020"),
    ("山田", "山", "U+5C71"),
]


@pytest.mark.parametrize(("name", "shown", "code"), LOOK_ALIKES)
def test_look_alike_and_invisible_account_names_are_refused(
    orgs: OrgCast, name: str, shown: str, code: str
) -> None:
    before = state(orgs.cast.a.pk)
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        account_create(
            actor=Actor(account=orgs.cast.a1),
            user=orgs.suzuki,
            data=account_data(name),
            password=PASSWORD,
            confirmation=PASSWORD,
        )
    rule = (
        "An account name can contain only the letters A–Z and a–z, digits and . _ - @ (no "
        "spaces or other characters). "
    )
    it = (
        f"It contains “{shown}” ({code})."
        if shown
        else (f"It contains a space, a mark or an invisible character ({code}).")
    )
    assert refused.value.message_dict == {"name": [rule + it]}
    assert state(orgs.cast.a.pk) == before


def test_the_panel_refuses_a_look_alike_account_name_on_its_field(orgs: OrgCast) -> None:
    before = state(orgs.cast.a.pk)
    form = {
        "name": "ad\u200bmin",
        "password": "Sakura-no-hana-2026",
        "confirmation": "Sakura-no-hana-2026",
        "privilege": "operator",
        "language": "en",
        "timezone": "Asia/Tokyo",
    }
    response = logged_in(orgs.cast.a1).post(f"/alpha/users/{orgs.suzuki.pk}/account/", form)
    assert response.context["form"].errors["name"] == [
        "An account name can contain only the letters A–Z and a–z, digits and . _ - @ (no "
        "spaces or other characters). It contains a space, a mark or an invisible character "
        "(U+200B)."
    ]
    assert state(orgs.cast.a.pk) == before


def test_the_api_refuses_a_look_alike_account_name(orgs: OrgCast) -> None:
    client = api_client(orgs.cast.a1)
    before = state(orgs.cast.a.pk)
    body = {
        "name": "\u0430dmin",
        "privilege": "operator",
        "password": PASSWORD,
        "confirmation": PASSWORD,
        "language": "en",
        "timezone": "Asia/Tokyo",
    }
    response = api_post(client, f"/api/v1/users/{orgs.suzuki.pk}/account", body, "put")
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {
            "field": "name",
            "message": "An account name can contain only the letters A–Z and a–z, digits and . _ "
            "- @ (no spaces or other characters). It contains “а” (U+0430).",
        }
    ]
    assert state(orgs.cast.a.pk) == before


def test_a_csv_import_refuses_look_alike_and_case_variant_account_names(orgs: OrgCast) -> None:
    header = ["organization", "name", "emails", "account_name", "privilege"]
    rows = [
        [ROOT, "一", "one@alpha.example:main", "\u0430dmin", "operator"],
        [ROOT, "二", "two@alpha.example:main", "JIRO", "operator"],
        [ROOT, "三", "three@alpha.example:main", "newname", "operator"],
        [ROOT, "四", "four@alpha.example:main", "NewName", "operator"],
    ]
    before = snapshot(orgs.cast.a)
    user_import = check(orgs.cast.a1, csv_text(rows, header))
    assert [(e["row"], e["column"], e["message"]) for e in user_import.errors] == [
        (
            2,
            "account_name",
            "An account name can contain only the letters A–Z and a–z, digits and . _ - @ (no "
            "spaces or other characters). It contains “а” (U+0430).",
        ),
        (3, "account_name", "The account name “JIRO” is already in use."),
        (5, "account_name", "The account name “NewName” is also on row 4."),
    ]
    assert snapshot(orgs.cast.a) == before


def test_an_existing_name_outside_the_rule_can_be_kept_but_not_given(orgs: OrgCast) -> None:
    Account.objects.filter(pk=orgs.a3.pk).update(name="操作")  # saved before the rule
    a3 = Account.objects.get(pk=orgs.a3.pk)
    account_update(actor=Actor(account=orgs.cast.a1), account=a3, data=account_data("操作"))
    assert post_login("操作").status_code == 302
    with translation.override("en"), pytest.raises(ValidationError):
        account_update(actor=Actor(account=orgs.cast.a1), account=a3, data=account_data("操作2"))
    assert Account.objects.get(pk=orgs.a3.pk).name == "操作"


# 16. Invisible characters, line separators, mail that can never be sent ----------------------

# Where each is put: at the end, the spaces among them are stripped like any space.
INVISIBLE = [
    (ch, code, where)
    for ch, code, ends in [
        ("\u200f", "U+200F", True),  # right-to-left mark
        ("\u200b", "U+200B", True),  # zero-width space
        ("\ufeff", "U+FEFF", True),  # byte-order mark
        ("\u202e", "U+202E", True),  # right-to-left override
        ("\u00a0", "U+00A0", False),  # no-break space
        ("\u2028", "U+2028", False),  # line separator
        ("\x00", "U+0000", True),
    ]
    for where in ["local", "domain", *(["end"] if ends else [])]
]


@pytest.mark.parametrize(("ch", "code", "where"), INVISIBLE)
def test_an_address_with_an_invisible_character_is_refused_by_the_service(
    orgs: OrgCast, ch: str, code: str, where: str
) -> None:
    address = {
        "local": f"ta{ch}ro@alpha.example",
        "domain": f"taro@alp{ch}ha.example",
        "end": f"taro@alpha.example{ch}",
    }[where]
    before = state(orgs.cast.a.pk)
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        user_create(actor=OPERATOR, data=data_of(orgs.dev, "太郎", (address, "main")))
    assert refused.value.message_dict == {
        "emails.0.address": [
            f"“{address}” contains an invisible character ({code}). Type the address again "
            "instead of pasting it."
        ]
    }
    assert state(orgs.cast.a.pk) == before


def test_the_panel_names_the_invisible_character_on_its_row(orgs: OrgCast) -> None:
    before = state(orgs.cast.a.pk)
    form = add_form(orgs.sales, **{"emails-0-address": "shinjin@alpha\u200b.example"})
    rows = logged_in(orgs.cast.a1).post("/alpha/users/add/", form).context["formset"].forms
    assert rows[0].errors["address"] == [
        "“shinjin@alpha\u200b.example” contains an invisible character (U+200B). Type the "
        "address again instead of pasting it."
    ]
    assert state(orgs.cast.a.pk) == before


def test_the_api_refuses_an_address_with_a_byte_order_mark(orgs: OrgCast) -> None:
    client = api_client(orgs.cast.a1)
    before = state(orgs.cast.a.pk)
    body = {
        "organization_id": orgs.dev.pk,
        "name": "API 次郎",
        "emails": [{"address": "\ufeffjiro2@alpha.example", "category": "main"}],
    }
    response = api_post(client, "/api/v1/users", body)
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {
            "field": "emails.0.address",
            "message": "“\ufeffjiro2@alpha.example” contains an invisible character (U+FEFF). "
            "Type the address again instead of pasting it.",
        }
    ]
    assert state(orgs.cast.a.pk) == before


def test_a_csv_import_refuses_an_address_with_a_right_to_left_mark(orgs: OrgCast) -> None:
    before = snapshot(orgs.cast.a)
    user_import = check(
        orgs.cast.a1, csv_text([[ROOT, "右", "", "", "migi@alpha.exa\u200fmple:main"]])
    )
    assert user_import.errors == [
        {
            "row": 2,
            "column": "emails",
            "message": "“migi@alpha.exa\u200fmple” contains an invisible character (U+200F). "
            "Type the address again instead of pasting it.",
        }
    ]
    assert snapshot(orgs.cast.a) == before


def test_a_new_contracts_contact_address_and_company_name_follow_the_same_rules(
    cast: Cast,
) -> None:
    from mamori.contracts.models import Contract
    from mamori.provider.services import contract_create

    contracts = Contract.objects.count()
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        contract_create(
            actor=OPERATOR,
            domain="charlie",
            company_name="チャーリー / 本社",
            contact_name="担当 者",
            contact_furigana="タントウ シャ",
            contact_email="tantou@charlie\u200b.example",
        )
    assert refused.value.message_dict == {
        "company_name": [
            "An organization name cannot contain “ / ” (a slash between spaces): the users CSV "
            "separates the organizations of a path with it. Write the slash without spaces, as "
            "in “チャーリー/本社”."
        ],
        "contact_email": [
            "“tantou@charlie\u200b.example” contains an invisible character (U+200B). Type the "
            "address again instead of pasting it."
        ],
    }
    assert Contract.objects.count() == contracts


@pytest.fixture
def supporter(orgs: OrgCast) -> Account:
    a1 = orgs.cast.a1
    a1.support_option = True
    a1.save()
    return a1


LINE_SEPARATORS = ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\r\n", "\x1e"]


@pytest.mark.parametrize("separator", LINE_SEPARATORS)
def test_an_inquiry_subject_with_a_line_separator_is_refused_and_nothing_is_sent(
    supporter: Account, separator: str
) -> None:
    mails, inquiries = OutboundMail.objects.count(), Inquiry.objects.count()
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        inquiry_send(
            actor=Actor(account=supporter),
            category="usage",
            subject=f"Help{separator}Bcc: everyone@example.com",
            body="Please.",
        )
    assert refused.value.message_dict == {"subject": ["The subject must be one line."]}
    assert (OutboundMail.objects.count(), Inquiry.objects.count()) == (mails, inquiries)


def test_the_api_refuses_an_inquiry_subject_with_a_line_separator(supporter: Account) -> None:
    response = api_post(
        api_client(supporter),
        "/api/v1/inquiries",
        {"category": "usage", "subject": "a\u2028b", "body": "Please."},
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {"field": "subject", "message": "The subject must be one line."}
    ]
    assert not Inquiry.objects.exists()


def test_a_notice_subject_with_a_line_separator_is_refused(supporter: Account) -> None:
    mails = OutboundMail.objects.count()
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        notice_send(
            actor=OPERATOR,
            subject_ja="お知らせ\u2028続き",
            subject_en="",
            body_ja="本文",
            body_en="",
        )
    assert refused.value.message_dict == {"subject_ja": ["The subject must be one line."]}
    assert OutboundMail.objects.count() == mails


@pytest.fixture
def outbox_empty(cast: Cast) -> None:
    """The cast's registration mails delivered: only a test's own mail waits."""
    run_work("mail.deliver")


def outbox_failed() -> list[str]:
    from io import StringIO

    out = StringIO()
    call_command("mail", "outbox", "--failed", stdout=out)
    return out.getvalue().splitlines()[1:]


@pytest.mark.parametrize("separator", LINE_SEPARATORS)
def test_a_mail_the_library_cannot_build_fails_at_once_with_its_reason(
    cast: Cast, outbox_empty: None, separator: str
) -> None:
    mail = mail_queue(
        contract=cast.a, kind="test", to="x@example.com", subject=f"a{separator}b", body="secret"
    )
    assert run_work("mail.deliver") == ["failed"]
    mail.refresh_from_db()
    assert (mail.status, mail.attempts, mail.body, mail.sent_at) == ("failed", 1, "", None)
    assert mail.last_error == (
        "The mail cannot be built: ValueError: Header values may not contain linefeed or "
        "carriage return characters"
    )
    (row,) = outbox_failed()  # the subject's separator shown escaped, the row whole
    escaped = "".join(f"\\u{ord(ch):04x}" for ch in separator)
    assert row.split()[:6] == [str(mail.pk), "failed", "1", "-", "x@example.com", f"a{escaped}b"]
    assert row.endswith(mail.last_error[:80].rstrip())
    assert Work.objects.get(pk=mail.work_id).status == "failed"


def test_a_mail_to_an_address_the_library_cannot_encode_fails_at_once(
    cast: Cast, outbox_empty: None, smtp_server
) -> None:
    mail = mail_queue(contract=cast.a, kind="test", to="tä@example.com", subject="s", body="b")
    assert run_work("mail.deliver") == ["failed"]
    mail.refresh_from_db()
    assert (mail.status, mail.attempts) == ("failed", 1)
    assert mail.last_error == (
        "The mail cannot be sent: ValueError: Invalid address 'tä@example.com': local-part "
        "contains non-ASCII characters)"
    )
    assert smtp_server.messages == []


@pytest.mark.parametrize(
    ("code", "outcome", "error"),
    [
        (554, "failed", "The message was refused: 554 5.6.0 Message rejected"),
        (451, "retry", "SMTPDataError: 451 5.6.0 Message rejected"),
    ],
)
def test_a_message_refused_by_the_server_fails_for_good_only_on_a_5xx_reply(
    cast: Cast,
    outbox_empty: None,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    outcome: str,
    error: str,
) -> None:
    def refuse(self: object) -> int:
        raise smtplib.SMTPDataError(code, b"5.6.0 Message rejected")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    mail = mail_queue(contract=cast.a, kind="test", to="x@example.com", subject="s", body="b")
    assert run_work("mail.deliver") == [outcome]
    mail.refresh_from_db()
    assert (mail.status, mail.attempts, mail.last_error) == (
        "failed" if outcome == "failed" else "pending",
        1,
        error,
    )


# 17. One main address per contract, a double-clicked Save ---------------------------------


@pytest.mark.parametrize(
    "typed", ["sato@alpha.example", "SATO@Alpha.Example", " Sato@alpha.example"]
)
def test_another_users_main_address_in_any_case_is_refused(orgs: OrgCast, typed: str) -> None:
    before = state(orgs.cast.a.pk)
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        user_create(actor=OPERATOR, data=data_of(orgs.dev, "佐藤 二号", (typed, "main")))
    assert refused.value.message_dict == {
        "emails.0.address": [
            f"“{typed.strip()}” is already the main e-mail address of another user."
        ]
    }
    assert state(orgs.cast.a.pk) == before


def test_another_users_main_address_may_be_a_work_address(orgs: OrgCast) -> None:
    user = user_create(
        actor=OPERATOR,
        data=data_of(
            orgs.dev, "共有", ("own@alpha.example", "main"), ("SATO@alpha.example", "work")
        ),
    )
    assert user.main_address_key == "own@alpha.example"


def test_a_user_keeps_their_own_main_address_when_saved_in_another_case(orgs: OrgCast) -> None:
    user_update(
        actor=OPERATOR,
        user=orgs.sato,
        data=data_of(orgs.tokyo, orgs.sato.name, ("SATO@alpha.example", "main")),
    )
    orgs.sato.refresh_from_db()
    assert orgs.sato.main_address_key == "sato@alpha.example"


def test_moving_a_main_address_to_another_user_is_refused_on_update(orgs: OrgCast) -> None:
    before = state(orgs.cast.a.pk)
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        user_update(
            actor=OPERATOR,
            user=orgs.suzuki,
            data=data_of(orgs.dev, orgs.suzuki.name, ("Sato@alpha.example", "main")),
        )
    assert refused.value.message_dict == {
        "emails.0.address": [
            "“Sato@alpha.example” is already the main e-mail address of another user."
        ]
    }
    assert state(orgs.cast.a.pk) == before


def test_another_contracts_main_address_is_no_concern(orgs: OrgCast) -> None:
    bravo_root = Organization.objects.get(contract=orgs.cast.b, parent=None)
    user = user_create(
        actor=OPERATOR, data=data_of(bravo_root, "Sato", ("sato@alpha.example", "main"))
    )
    assert user.contract_id == orgs.cast.b.pk


def test_the_panel_and_the_api_refuse_a_taken_main_address(orgs: OrgCast) -> None:
    client = api_client(orgs.cast.a1)
    before = state(orgs.cast.a.pk)
    form = add_form(orgs.sales, **{"emails-0-address": "SUZUKI@alpha.example"})
    rows = logged_in(orgs.cast.a1).post("/alpha/users/add/", form).context["formset"].forms
    message = "“SUZUKI@alpha.example” is already the main e-mail address of another user."
    assert rows[0].errors["address"] == [message]
    body = {
        "organization_id": orgs.dev.pk,
        "name": "API",
        "emails": [{"address": "SUZUKI@alpha.example", "category": "main"}],
    }
    response = api_post(client, "/api/v1/users", body)
    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {"field": "emails.0.address", "message": message}
    ]
    assert state(orgs.cast.a.pk) == before


def test_a_csv_import_refuses_a_taken_main_address_and_two_rows_sharing_one(
    orgs: OrgCast,
) -> None:
    before = snapshot(orgs.cast.a)
    rows = [
        [ROOT, "別の佐藤", "", "", "SATO@alpha.example:main"],
        [ROOT, "新一", "", "", "new@alpha.example:main"],
        [ROOT, "新二", "", "", "NEW@alpha.example:main"],
    ]
    user_import = check(orgs.cast.a1, csv_text(rows), mode="upsert")
    assert user_import.errors == [
        {
            "row": 2,
            "column": "emails",
            "message": "“SATO@alpha.example” is already the main e-mail address of another user.",
        },
        {
            "row": 4,
            "column": "emails",
            "message": "Row 3 has the same main e-mail address “NEW@alpha.example”. Two users "
            "cannot share a main address.",
        },
    ]
    assert snapshot(orgs.cast.a) == before


def form_token(client: Client) -> str:
    html = client.get("/alpha/users/add/").content.decode()
    match = re.search(r'name="form_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_the_same_add_user_post_twice_adds_one_user_and_shows_it(orgs: OrgCast) -> None:
    client = logged_in(orgs.cast.a1)
    form = add_form(orgs.sales, form_token=form_token(client))
    first = client.post("/alpha/users/add/", form, follow=True)
    user = User.objects.get(name="新人 太郎")
    assert first.redirect_chain == [(f"/alpha/users/{user.pk}/", 302)]
    before = state(orgs.cast.a.pk)

    second = client.post("/alpha/users/add/", form, follow=True)

    assert second.redirect_chain == [(f"/alpha/users/{user.pk}/", 302)]
    assert [str(m) for m in second.context["messages"]] == [
        "This form was already saved: the user was added once, not twice."
    ]
    assert state(orgs.cast.a.pk) == before


def test_a_form_refused_by_its_checks_is_saved_with_the_same_token_once_corrected(
    orgs: OrgCast,
) -> None:
    client = logged_in(orgs.cast.a1)
    token = form_token(client)
    refused = client.post(
        "/alpha/users/add/", add_form(orgs.sales, form_token=token, furigana="Shinjin")
    )
    assert refused.status_code == 200
    assert f'value="{token}"' in refused.content.decode()  # the form keeps its token
    saved = client.post("/alpha/users/add/", add_form(orgs.sales, form_token=token))
    assert saved.status_code == 302
    assert User.objects.filter(name="新人 太郎").count() == 1


def test_a_token_is_one_accounts_and_another_form_gets_another(orgs: OrgCast) -> None:
    client = logged_in(orgs.cast.a1)
    assert form_token(client) != form_token(client)
    token = form_token(client)
    client.post("/alpha/users/add/", add_form(orgs.sales, form_token=token))
    other = logged_in(orgs.a2).post(
        "/alpha/users/add/",
        add_form(
            orgs.sales, form_token=token, name="別人", **{"emails-0-address": "b@alpha.example"}
        ),
    )
    assert other.status_code == 302
    assert User.objects.filter(name="別人").count() == 1


def test_the_once_prune_job_forgets_tokens_older_than_a_day(cast: Cast) -> None:
    import datetime

    from django.utils import timezone

    old = Submission.objects.create(
        key="users.add:1:old", created_at=timezone.now() - datetime.timedelta(days=1, minutes=1)
    )
    new = Submission.objects.create(key="users.add:1:new")
    assert once_prune_job(Work(kind="core.once.prune"), OPERATOR) == "deleted 1"
    assert list(Submission.objects.values_list("pk", flat=True)) == [new.pk]
    assert not Submission.objects.filter(pk=old.pk).exists()


# 18. CSV round trips ------------------------------------------------------------------------


@pytest.fixture
def yamada(orgs: OrgCast) -> User:
    return user_create(
        actor=OPERATOR,
        data=data_of(
            orgs.dev, "山田 太郎", ("yamada@alpha.example", "main"), employee_code="00123"
        ),
    )


def test_a_code_that_lost_its_leading_zeros_is_flagged_with_the_likely_cause(
    orgs: OrgCast, yamada: User
) -> None:
    before = snapshot(orgs.cast.a)
    rows = [[ROOT + " / 開発部", "山田 太郎", "", "123", "yamada@alpha.example:main"]]
    user_import = check(orgs.cast.a1, csv_text(rows), mode="upsert")
    assert user_import.status == "invalid"
    assert user_import.errors == [
        {
            "row": 2,
            "column": "employee_code",
            "message": "This row gives the employee code “123”, and “山田 太郎” (main e-mail "
            "address “yamada@alpha.example”) has “00123”: a spreadsheet probably removed the "
            "leading zeros (Excel reads 00123 as the number 123). Importing it would add a "
            "second “山田 太郎”. Format the employee_code column as text in the spreadsheet, or "
            "write “00123”.",
        }
    ]
    assert snapshot(orgs.cast.a) == before


def test_a_shortened_code_of_the_same_name_is_flagged_even_with_another_address(
    orgs: OrgCast, yamada: User
) -> None:
    rows = [[ROOT + " / 開発部", "山田 太郎", "", "123", "taro.yamada@alpha.example:main"]]
    user_import = check(orgs.cast.a1, csv_text(rows), mode="upsert")
    assert [(e["column"], e["message"][:52]) for e in user_import.errors] == [
        ("employee_code", "This row gives the employee code “123”, and “山田 太郎” ")
    ]


def test_another_code_with_an_existing_main_address_says_whose_address_it_is(
    orgs: OrgCast, yamada: User
) -> None:
    rows = [[ROOT + " / 開発部", "山田 太郎", "", "E9", "YAMADA@alpha.example:main"]]
    user_import = check(orgs.cast.a1, csv_text(rows), mode="upsert")
    assert user_import.errors == [
        {
            "row": 2,
            "column": "employee_code",
            "message": "The main e-mail address “yamada@alpha.example” belongs to “山田 太郎”, "
            "whose employee code is “00123”, not “E9”. If this is the same person, write "
            "“00123” (change a code on the user's page); two users cannot share a main address.",
        }
    ]


def test_the_right_code_updates_the_user(orgs: OrgCast, yamada: User) -> None:
    rows = [[ROOT + " / 開発部", "山田 太郎", "", "00123", "yamada@alpha.example:main"]]
    import_all(orgs.cast.a1, csv_text(rows), "upsert")
    assert User.objects.filter(name="山田 太郎").count() == 1


@pytest.mark.parametrize("name", ["営業 / 企画", "営業 /", "/ 企画", "営業\u3000/\u3000企画"])
def test_an_organization_name_with_the_path_separator_is_refused_everywhere(
    orgs: OrgCast, name: str
) -> None:
    client = api_client(orgs.cast.a1)
    before = state(orgs.cast.a.pk)
    message = (
        "An organization name cannot contain “ / ” (a slash between spaces): the users CSV "
        "separates the organizations of a path with it. Write the slash without spaces, as in "
    )
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        organization_create(actor=OPERATOR, parent=orgs.sales, name=name)
    assert refused.value.messages[0].startswith(message)
    with translation.override("en"), pytest.raises(ValidationError):
        organization_rename(actor=OPERATOR, organization=orgs.root, name=name)
    response = api_post(client, "/api/v1/organizations", {"parent_id": orgs.dev.pk, "name": name})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["message"].startswith(message)
    assert state(orgs.cast.a.pk) == before


def test_the_refusal_shows_the_name_without_the_spaces(orgs: OrgCast) -> None:
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        organization_create(actor=OPERATOR, parent=orgs.sales, name="営業 / 企画")
    assert refused.value.messages[0].endswith("as in “営業/企画”.")


@pytest.mark.parametrize("name", ["営業/企画", "A/B", "営業 /企画", "1/2 課"])
def test_a_slash_that_is_not_a_separator_is_a_name(orgs: OrgCast, name: str) -> None:
    organization = organization_create(actor=OPERATOR, parent=orgs.sales, name=name)
    make_user(organization, "斜線 太郎", "slash@alpha.example")
    exported = export(logged_in(orgs.cast.a1), "/alpha/users/export.csv?q=斜線")
    assert exported.splitlines()[1].startswith(f"{ROOT} / 営業部 / {name},")
    user_import = import_all(orgs.cast.a1, exported.removeprefix("\ufeff"), "upsert")
    assert user_import.summary["result"]["organizations_created"] == 0
    assert User.objects.get(name="斜線 太郎").organization_id == organization.pk


def test_an_existing_name_holding_the_separator_still_round_trips(orgs: OrgCast) -> None:
    legacy = organization_create(actor=OPERATOR, parent=orgs.sales, name="営業企画")
    Organization.objects.filter(pk=legacy.pk).update(name="営業 / 企画")  # saved before the rule
    make_user(legacy, "旧名", "kyumei@alpha.example")
    client = logged_in(orgs.cast.a1)
    exported = export(client, "/alpha/users/export.csv?q=旧名")
    before = snapshot(orgs.cast.a)

    user_import = import_all(orgs.cast.a1, exported.removeprefix("\ufeff"), "upsert")

    assert user_import.summary["result"] == {
        "created": 0,
        "updated": 0,
        "unchanged": 1,
        "organizations_created": 0,
        "accounts_created": 0,
        "invitations_sent": 0,
    }
    assert User.objects.get(name="旧名").organization_id == legacy.pk
    assert snapshot(orgs.cast.a)[:4] == before[:4]
    assert export(client, "/alpha/users/export.csv?q=旧名") == exported


def test_a_csv_path_that_would_create_an_organization_with_the_separator_is_refused(
    orgs: OrgCast,
) -> None:
    rows = [[ROOT + " / 営業部 / 新 / ", "誰か", "", "", "dareka@alpha.example:main"]]
    user_import = check(orgs.cast.a1, csv_text(rows))
    assert [e["column"] for e in user_import.errors] == ["organization"]


@pytest.mark.parametrize(
    ("lines", "row", "line", "column"),
    [
        # Open to the end of the file: every row after it would have vanished.
        (
            [
                '"アルファ株式会社,一,ichi@alpha.example:main',
                "アルファ株式会社,二,ni@alpha.example:main",
            ],
            2,
            2,
            "organization",
        ),
        (
            [
                "アルファ株式会社,一,ichi@alpha.example:main",
                'アルファ株式会社,"二,ni@alpha.example:main',
                "アルファ株式会社,三,san@alpha.example:main",
            ],
            3,
            3,
            "name",
        ),
        # Closed by a quote further down: the rows between were read into one cell.
        (
            [
                'アルファ株式会社,一,"ichi@alpha.example:main',
                'アルファ株式会社,二,ni@alpha.example:main"',
                "アルファ株式会社,三,san@alpha.example:main",
            ],
            2,
            2,
            "emails",
        ),
    ],
)
def test_an_unclosed_quote_is_reported_with_its_row(
    orgs: OrgCast, lines: list[str], row: int, line: int, column: str
) -> None:
    before = snapshot(orgs.cast.a)
    text = "organization,name,emails\n" + "\n".join(lines) + "\n"
    user_import = check(orgs.cast.a1, text)
    assert user_import.status == "invalid"
    assert user_import.errors == [
        {
            "row": 1,
            "column": "",
            "message": f"Row {row} (line {line} of the file): the “{column}” cell runs over "
            'several lines, so a quote (") in it is probably not closed, and the lines after '
            "it were read into that cell. Close or remove the quote; a cell cannot hold a line "
            "break.",
        }
    ]
    assert snapshot(orgs.cast.a) == before


def test_a_user_name_with_a_line_separator_is_refused(orgs: OrgCast) -> None:
    before = state(orgs.cast.a.pk)
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        user_create(
            actor=OPERATOR, data=data_of(orgs.dev, "改行\u2028名", ("kai@alpha.example", "main"))
        )
    assert refused.value.message_dict == {
        "name": ["Control characters (such as NUL or a tab) are not allowed."]
    }
    assert state(orgs.cast.a.pk) == before


def test_no_text_box_cuts_what_is_pasted_into_it(orgs: OrgCast) -> None:
    """Browsers count an emoji as two towards maxlength and cut a paste silently: the pages set
    none. The server counts characters: 200 with emoji are kept whole, 201 are refused."""
    client = logged_in(orgs.cast.a1)
    assert "maxlength" not in client.get("/alpha/users/add/").content.decode()
    name = "😀" * 100 + "長い名前" * 25  # 200 characters, 300 UTF-16 units
    client.post("/alpha/users/add/", add_form(orgs.sales, name=name))
    assert User.objects.filter(name=name).exists()
    before = state(orgs.cast.a.pk)
    refused = client.post(
        "/alpha/users/add/",
        add_form(orgs.sales, name=name + "長", **{"emails-0-address": "other@alpha.example"}),
    )
    assert "at most 200 characters" in refused.content.decode()
    assert state(orgs.cast.a.pk) == before


def test_a_user_is_named_by_code_or_main_address_as_the_search_reads_them(orgs: OrgCast) -> None:
    """``user_named`` (the enrollment token form's user box): employee codes in any width and
    case, main addresses in any case, and only users of the account's organizations."""
    User.objects.filter(pk=orgs.sato.pk).update(employee_code="E0042")
    for typed in ("E0042", "e0042", "Ｅ００４２", " SATO@alpha.example "):
        assert user_named(orgs.a2, typed) == orgs.sato, typed
    assert user_named(orgs.a2, "suzuki@alpha.example") is None  # outside A2's organizations
    assert user_named(orgs.cast.a1, "suzuki@alpha.example") == orgs.suzuki
    assert user_named(orgs.a2, "  ") is None
