import io
import re

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from mamori.accounts.models import Account
from mamori.audit.models import LogEntry
from mamori.contracts.models import Contract
from mamori.core.text import columns
from mamori.directory.models import Organization, User, UserEmail
from mamori.outbox.models import OutboundMail
from tests.conftest import mail_field, run_worker

pytestmark = pytest.mark.django_db(transaction=True)

CREATE = [
    "contract",
    "create",
    "--domain",
    "acme",
    "--company",
    "ACME株式会社",
    "--contact-name",
    "山田 太郎",
    "--contact-furigana",
    "やまだ ﾀﾛｳ",
    "--contact-email",
    "yamada@acme.example",
]


def cli(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


def test_contract_create_opens_everything_the_contact_person_needs() -> None:
    output = cli(*CREATE)

    contract = Contract.objects.get(domain="acme")
    root = Organization.objects.get(contract=contract)
    user = User.objects.get(contract=contract)
    account = Account.objects.get(contract=contract)
    assert (contract.company_name, contract.status) == ("ACME株式会社", "active")
    assert root.parent is None and root.name == "ACME株式会社"
    assert (user.name, user.furigana, user.organization) == (
        "山田 太郎",
        "ヤマダ\u3000タロウ",
        root,
    )
    assert list(UserEmail.objects.filter(user=user).values_list("address", "category")) == [
        ("yamada@acme.example", "main")
    ]
    assert (account.user, account.privilege, account.language, account.timezone) == (
        user,
        "system_admin",
        "ja",
        "Asia/Tokyo",
    )
    assert account.must_change_password and account.has_usable_password()
    assert "http://testserver/acme/login/" in output
    assert [e.action for e in LogEntry.objects.filter(contract=contract).order_by("seq")] == [
        "contract.created",
        "contract.registration_mail_issued",
    ]


def test_registration_mail_carries_login_url_account_and_password_in_the_contacts_language() -> (
    None
):
    cli(*CREATE, "--language", "en", "--timezone", "Europe/London")
    run_worker()

    (message,) = mail.outbox
    body = message.body
    assert message.subject == "[Mamori] Registration complete"
    assert message.to == ["yamada@acme.example"]
    assert "\nhttp://testserver/acme/login/\n" in body
    assert mail_field(body, "Account:") == "admin"
    password = mail_field(body, "Password:")
    assert Account.objects.get(contract__domain="acme").check_password(password)
    assert Account.objects.get(contract__domain="acme").timezone == "Europe/London"


def test_japanese_registration_mail() -> None:
    cli(*CREATE)
    run_worker()

    (message,) = mail.outbox
    assert message.subject == "[Mamori] 登録完了のお知らせ"
    assert mail_field(message.body, "アカウント:") == "admin"
    assert len(mail_field(message.body, "パスワード:")) == 16


def test_password_never_reaches_terminal_log_or_outbox_after_delivery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    output = cli(*CREATE)
    run_worker()
    password = mail_field(mail.outbox[0].body, "パスワード:")

    assert password not in output
    assert password not in caplog.text
    assert password not in cli("mail", "outbox")
    assert all(password not in repr(e.__dict__) for e in LogEntry.objects.all())
    assert OutboundMail.objects.get().body == ""


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("ab", "3 to 63 characters"),
        ("a" * 64, "3 to 63 characters"),
        ("ac me", "lowercase"),
        ("ac_me", "lowercase"),
        ("-acme", "starts and ends"),
        ("api", "reserved"),
        ("アクメ", "lowercase"),
    ],
)
def test_bad_usage_domain_is_refused_and_nothing_is_created(domain: str, message: str) -> None:
    args = list(CREATE)
    del args[args.index("--domain") : args.index("--domain") + 2]
    args.append(f"--domain={domain}")
    with pytest.raises(CommandError, match=message):
        cli(*args)
    assert not Contract.objects.exists()
    assert not User.objects.exists()
    assert not OutboundMail.objects.exists()
    assert not LogEntry.objects.exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--company", "x" * 201, "company_name: At most 200 characters."),
        ("--contact-name", "x" * 5000, "contact_name: At most 200 characters."),
        ("--company", "ACME\x01", "company_name: Control characters"),
        ("--contact-name", "山田\x00太郎", "contact_name: Control characters"),
    ],
)
def test_an_over_long_or_control_character_name_is_named_and_nothing_is_created(
    option: str, value: str, message: str
) -> None:
    args = list(CREATE)
    args[args.index(option) + 1] = value
    with pytest.raises(CommandError, match=re.escape(message)):
        cli(*args)
    assert not Contract.objects.exists()
    assert not LogEntry.objects.exists()


def test_a_usage_domain_typed_in_capitals_or_full_width_is_stored_in_lowercase() -> None:
    args = list(CREATE)
    args[args.index("acme")] = "ＡＣＭＥ"
    assert "/acme/login/" in cli(*args)
    assert Contract.objects.get().domain == "acme"
    cli("contract", "suspend", "ACME")
    assert Contract.objects.get().status == "suspended"


def test_taken_usage_domain_is_refused() -> None:
    cli(*CREATE)
    with pytest.raises(CommandError, match="already in use"):
        cli(*CREATE)
    assert Contract.objects.count() == 1
    assert User.objects.count() == 1


def test_bad_contact_details_are_each_named() -> None:
    args = list(CREATE)
    args[args.index("やまだ ﾀﾛｳ")] = "Yamada"
    args[args.index("yamada@acme.example")] = "not-an-address"
    with pytest.raises(CommandError) as info:
        cli(*args, "--timezone", "Mars/Olympus")
    text = str(info.value)
    assert "contact_furigana: Furigana must be written in katakana" in text
    assert "contact_email: Enter a valid email address." in text
    assert "Mars/Olympus" in text
    assert not Contract.objects.exists()


def test_contract_list_shows_every_contract() -> None:
    cli(*CREATE)
    output = cli("contract", "list")
    assert output.splitlines()[0].split() == [
        "DOMAIN",
        "STATUS",
        "COMPANY",
        "CONTACT",
        "CREATED",
        "(UTC)",
    ]
    header, row = output.splitlines()[:2]
    # Columns line up in a terminal, where each kanji takes two columns.
    assert columns(header[: header.index("CONTACT")]) == columns(row[: row.index("yamada@")])
    assert output.splitlines()[1].split()[:4] == [
        "acme",
        "active",
        "ACME株式会社",
        "yamada@acme.example",
    ]


def test_resend_registration_issues_a_new_password_and_the_old_one_stops_working() -> None:
    cli(*CREATE)
    run_worker()
    first = mail_field(mail.outbox[0].body, "パスワード:")

    cli("contract", "resend-registration", "acme")
    run_worker()

    second = mail_field(mail.outbox[1].body, "パスワード:")
    account = Account.objects.get(contract__domain="acme")
    assert first != second
    assert account.check_password(second) and not account.check_password(first)
    assert account.must_change_password
    assert LogEntry.objects.filter(action="contract.registration_mail_issued").count() == 2


def test_suspend_and_resume_are_logged_and_unknown_domains_refused() -> None:
    cli(*CREATE)
    cli("contract", "suspend", "acme")
    assert Contract.objects.get().status == "suspended"
    cli("contract", "resume", "acme")
    assert Contract.objects.get().status == "active"
    entries = LogEntry.objects.filter(
        action__in=["contract.suspended", "contract.resumed"]
    ).order_by("seq")
    assert [(e.action, e.actor_kind, e.before, e.after) for e in entries] == [
        ("contract.suspended", "operator", {"status": "active"}, {"status": "suspended"}),
        ("contract.resumed", "operator", {"status": "suspended"}, {"status": "active"}),
    ]
    with pytest.raises(CommandError, match="No contract has the usage domain 'nope'"):
        cli("contract", "suspend", "nope")
