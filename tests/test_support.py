"""The support option's notice mail (``mamori notice send``) and support inquiries (pages and API)."""

import datetime
import io
import pathlib

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client

from mamori.accounts.models import Account
from mamori.accounts.services.tokens import api_token_create
from mamori.audit.models import LogEntry
from mamori.contracts.models import Contract
from mamori.core.actor import Actor
from mamori.directory.models import Organization, User, UserEmail
from mamori.outbox.models import OutboundMail
from mamori.support.models import Inquiry
from mamori.support.services import inquiry_send
from tests.conftest import Cast, logged_in, run_worker
from tests.smtp import SmtpServer, body_of

pytestmark = pytest.mark.django_db

NOON_UTC = datetime.datetime(2026, 11, 24, 3, 0, tzinfo=datetime.UTC)


def give_support_option(account: Account, *, notice: bool = True, **changes: str) -> Account:
    """As a System administrator would through the account form (the limit is tested there)."""
    account.support_option = True
    account.receive_notice_mail = notice
    for field, value in changes.items():
        setattr(account, field, value)
    account.save()
    return account


def another_account(
    contract: Contract,
    name: str,
    email: str,
    *,
    privilege: str = "system_admin",
    language: str = "en",
    timezone: str = "Asia/Tokyo",
    **flags: bool,
) -> Account:
    user = User.objects.create(
        contract=contract,
        organization=Organization.objects.get(contract=contract, parent=None),
        name=name.title(),
    )
    UserEmail.objects.create(user=user, address=email, category="main")
    return Account.objects.create(
        contract=contract,
        user=user,
        name=name,
        privilege=privilege,
        language=language,
        timezone=timezone,
        **flags,
    )


def cli(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.fixture
def bodies(tmp_path: pathlib.Path) -> dict[str, str]:
    ja = tmp_path / "ja.txt"
    ja.write_text("12月1日 2:00〜4:00 にメンテナンスを行います。\n", encoding="utf-8")
    en = tmp_path / "en.txt"
    en.write_text("Maintenance on 1 December, 2:00-4:00 JST.\n", encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_text(" \n\n", encoding="utf-8")
    return {"ja": str(ja), "en": str(en), "empty": str(empty), "missing": str(tmp_path / "no")}


def send_args(bodies: dict[str, str], *extra: str) -> list[str]:
    return [
        "notice",
        "send",
        "--subject-ja",
        "[Mamori] メンテナンスのお知らせ",
        "--subject-en",
        "[Mamori] Scheduled maintenance",
        "--body-file-ja",
        bodies["ja"],
        "--body-file-en",
        bodies["en"],
        *extra,
    ]


def notice_entries() -> list[tuple[str, str, dict]]:
    return [
        (e.contract.domain, e.actor_kind, e.after)
        for e in LogEntry.objects.filter(action="notice.sent").order_by("contract__domain")
    ]


@pytest.fixture
def delivered(cast: Cast) -> Cast:
    """The cast with its registration mail delivered and out of the way."""
    run_worker()
    mail.outbox.clear()
    return cast


@pytest.mark.django_db(transaction=True)
class TestNoticeMail:
    @pytest.fixture(autouse=True)
    def _registration_delivered(self, delivered: Cast) -> None:
        pass

    def test_notice_reaches_only_opted_in_support_option_accounts_in_their_language_at_the_main_address(
        self, cast: Cast, bodies: dict[str, str]
    ) -> None:
        give_support_option(cast.a1)  # Japanese
        give_support_option(cast.b1)  # English
        UserEmail.objects.create(user=cast.a1.user, address="work@alpha.example", category="work")
        another_account(
            cast.a, "optout", "optout@alpha.example", support_option=True, receive_notice_mail=False
        )
        another_account(cast.a, "nosupport", "nosupport@alpha.example", receive_notice_mail=True)

        output = cli(*send_args(bodies))
        run_worker()

        assert sorted((m.to[0], m.subject) for m in mail.outbox) == [
            ("admin@alpha.example", "[Mamori] メンテナンスのお知らせ"),
            ("admin@bravo.example", "[Mamori] Scheduled maintenance"),
        ]
        by_to = {m.to[0]: m.body for m in mail.outbox}
        assert by_to["admin@alpha.example"].startswith(
            "12月1日 2:00〜4:00 にメンテナンスを行います。\n"
        )
        assert by_to["admin@bravo.example"].startswith(
            "Maintenance on 1 December, 2:00-4:00 JST.\n"
        )
        assert "alpha: 1 mail(s) queued" in output
        assert "bravo: 1 mail(s) queued" in output
        assert "2 notice mail(s) queued for 2 contract(s)" in output
        after = {
            "subject_ja": "[Mamori] メンテナンスのお知らせ",
            "subject_en": "[Mamori] Scheduled maintenance",
            "recipients": 1,
        }
        assert notice_entries() == [("alpha", "operator", after), ("bravo", "operator", after)]
        assert all("メンテナンスを行います" not in repr(e.__dict__) for e in LogEntry.objects.all())

    def test_a_notice_in_one_language_goes_to_everyone_in_it_and_the_command_says_so(
        self, cast: Cast, bodies: dict[str, str]
    ) -> None:
        give_support_option(cast.a1)
        give_support_option(cast.b1)

        output = cli(
            "notice",
            "send",
            "--subject-en",
            "Scheduled maintenance",
            "--body-file-en",
            bodies["en"],
        )
        run_worker()

        assert "Only English was given: every recipient gets the English notice." in output
        assert sorted((m.to[0], m.subject) for m in mail.outbox) == [
            ("admin@alpha.example", "Scheduled maintenance"),
            ("admin@bravo.example", "Scheduled maintenance"),
        ]
        assert all(m.body.startswith("Maintenance on 1 December") for m in mail.outbox)

    def test_a_notice_for_one_domain_reaches_only_that_contract(
        self, cast: Cast, bodies: dict[str, str]
    ) -> None:
        give_support_option(cast.a1)
        give_support_option(cast.b1)

        output = cli(*send_args(bodies, "--domain", "bravo"))
        run_worker()

        assert [m.to for m in mail.outbox] == [["admin@bravo.example"]]
        assert "alpha" not in output
        assert [domain for domain, _, _ in notice_entries()] == ["bravo"]

    def test_disabled_accounts_and_suspended_contracts_are_skipped(
        self, cast: Cast, bodies: dict[str, str]
    ) -> None:
        give_support_option(cast.a1, is_active=False)
        give_support_option(cast.b1)
        Contract.objects.filter(pk=cast.b.pk).update(status="suspended")

        output = cli(*send_args(bodies))
        run_worker()

        assert mail.outbox == []
        assert OutboundMail.objects.filter(kind="notice").count() == 0
        assert notice_entries() == []
        assert "0 notice mail(s) queued for 0 contract(s)" in output

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (
                ["--subject-en", "Hi", "--body-file-en", "{missing}"],
                "--body-file-en: there is no file",
            ),
            (
                ["--subject-en", "Hi", "--body-file-en", "{empty}"],
                "--body-file-en: {empty} is empty.",
            ),
            (["--subject-en", " ", "--body-file-en", "{en}"], "--subject-en: Enter a subject."),
            (["--subject-en", "Hi"], "--body-file-en: Enter a message."),
            (["--body-file-ja", "{ja}"], "--subject-ja: Enter a subject."),
            ([], "Give the notice in Japanese, in English or in both"),
            (
                ["--subject-en", "Hi", "--body-file-en", "{en}", "--domain", "nosuch"],
                "--domain: No contract has the usage domain “nosuch”.",
            ),
        ],
    )
    def test_bad_input_is_refused_with_a_clear_message_and_queues_nothing(
        self, cast: Cast, bodies: dict[str, str], args: list[str], message: str
    ) -> None:
        give_support_option(cast.a1)
        give_support_option(cast.b1)
        entries = LogEntry.objects.count()

        with pytest.raises(CommandError) as refused:
            cli("notice", "send", *(a.format(**bodies) for a in args))

        assert message.format(**bodies) in str(refused.value)
        assert OutboundMail.objects.filter(kind="notice").count() == 0
        assert LogEntry.objects.count() == entries

    def test_a_dry_run_counts_the_recipients_and_sends_nothing(
        self, cast: Cast, bodies: dict[str, str]
    ) -> None:
        give_support_option(cast.a1)
        another_account(
            cast.a, "second", "second@alpha.example", support_option=True, receive_notice_mail=True
        )
        entries = LogEntry.objects.count()

        output = cli(*send_args(bodies, "--dry-run"))
        run_worker()

        assert "alpha: 2 mail(s) would be queued" in output
        assert "Dry run: 2 mail(s) for 1 contract(s); none sent." in output
        assert (mail.outbox, OutboundMail.objects.filter(kind="notice").count()) == ([], 0)
        assert LogEntry.objects.count() == entries

    def test_a_notice_arrives_at_a_real_smtp_server(
        self, cast: Cast, bodies: dict[str, str], smtp_server: SmtpServer
    ) -> None:
        give_support_option(cast.b1)

        cli(*send_args(bodies))
        run_worker()

        (message,) = smtp_server.collector.wait_for(1)
        assert (message["To"], message["Subject"]) == (
            "admin@bravo.example",
            "[Mamori] Scheduled maintenance",
        )
        assert "Maintenance on 1 December, 2:00-4:00 JST." in body_of(message)
        assert OutboundMail.objects.get(kind="notice").status == "sent"


# Support inquiries in the panel --------------------------------------------------------------


@pytest.fixture
def supporter(cast: Cast) -> Account:
    """A1, with the support option, reading the panel in English."""
    return give_support_option(cast.a1, language="en")


def nothing_sent() -> bool:
    return not (
        Inquiry.objects.exists()
        or OutboundMail.objects.filter(kind__startswith="inquiry").exists()
        or LogEntry.objects.filter(action="inquiry.sent").exists()
    )


FORM = {"category": "trouble", "subject": "Lost mode does not end", "body": "Step 1\nStep 2\n"}


class TestInquiryPages:
    def test_an_account_without_the_support_option_is_refused_and_does_not_see_the_link(
        self, cast: Cast, supporter: Account
    ) -> None:
        jane = logged_in(another_account(cast.a, "jane", "jane@alpha.example"))

        assert jane.get("/alpha/support/").status_code == 403
        assert jane.get("/alpha/support/new/").status_code == 403
        assert jane.post("/alpha/support/new/", FORM).status_code == 403
        assert nothing_sent()
        assert 'href="/alpha/support/"' not in jane.get("/alpha/settings/").content.decode()
        assert (
            'href="/alpha/support/"'
            in logged_in(supporter).get("/alpha/settings/").content.decode()
        )

    def test_only_a_system_administrator_counts_as_holding_the_support_option(
        self, cast: Cast
    ) -> None:
        # A row changed by hand: the pages still follow the rule the account services enforce.
        operator = another_account(
            cast.a, "op", "op@alpha.example", privilege="operator", support_option=True
        )
        assert logged_in(operator).get("/alpha/support/new/").status_code == 403
        assert logged_in(operator).post("/alpha/support/new/", FORM).status_code == 403
        assert nothing_sent()

    def test_a_sent_inquiry_is_stored_logged_without_its_message_and_shown(
        self, cast: Cast, supporter: Account
    ) -> None:
        client = logged_in(supporter)
        assert client.get("/alpha/support/new/").status_code == 200

        response = client.post("/alpha/support/new/", FORM)

        inquiry = Inquiry.objects.get()
        assert response.status_code == 302
        assert response["Location"] == f"/alpha/support/{inquiry.pk}/"
        assert (
            inquiry.contract,
            inquiry.account,
            inquiry.sender_name,
            inquiry.sender_email,
            inquiry.category,
            inquiry.subject,
            inquiry.body,
        ) == (
            cast.a,
            supporter,
            "alpha 管理者",
            "admin@alpha.example",
            "trouble",
            FORM["subject"],
            "Step 1\nStep 2",
        )
        entry = LogEntry.objects.get(action="inquiry.sent")
        assert (entry.actor_id, entry.target_type, entry.target_label) == (
            supporter.pk,
            "inquiry",
            inquiry.reference,
        )
        assert entry.after == {
            "reference": inquiry.reference,
            "category": "trouble",
            "subject": "Lost mode does not end",
        }
        assert "Step 1" not in repr(entry.__dict__)
        assert sorted(
            OutboundMail.objects.filter(kind__startswith="inquiry").values_list("kind", "to")
        ) == [
            ("inquiry", "support@mamori.invalid"),
            ("inquiry_confirmation", "admin@alpha.example"),
        ]
        page = client.get(response["Location"]).content.decode()
        assert f"Your inquiry {inquiry.reference} has been sent." in page
        assert "Step 1\nStep 2" in page

    @pytest.mark.parametrize(
        ("data", "field", "message"),
        [
            ({**FORM, "category": ""}, "category", "Category: choose one."),
            ({**FORM, "category": "billing"}, "category", "Choose Category from the list."),
            ({**FORM, "subject": "  "}, "subject", "Subject is required."),
            ({**FORM, "body": "\n  \n"}, "body", "Enter a message."),
            (
                {**FORM, "subject": "x" * 201},
                "subject",
                "Subject is at most 200 characters (now 201).",
            ),
        ],
    )
    def test_the_form_refuses_bad_input_and_sends_nothing(
        self, supporter: Account, data: dict, field: str, message: str
    ) -> None:
        response = logged_in(supporter).post("/alpha/support/new/", data)

        assert response.status_code == 200
        assert list(response.context["form"].errors) == [field]
        assert message in response.context["form"].errors[field][0]
        assert nothing_sent()

    def test_the_list_shows_the_contracts_inquiries_newest_first_in_the_viewers_timezone(
        self, cast: Cast, supporter: Account
    ) -> None:
        older = inquiry_send(
            actor=Actor(account=supporter), category="usage", subject="First", body="a"
        )
        newer = inquiry_send(
            actor=Actor(account=supporter), category="other", subject="Second", body="b"
        )
        Inquiry.objects.filter(pk=older.pk).update(created_at=NOON_UTC)
        Inquiry.objects.filter(pk=newer.pk).update(
            created_at=NOON_UTC + datetime.timedelta(hours=1)
        )
        viewer = another_account(
            cast.a,
            "ny",
            "ny@alpha.example",
            timezone="America/New_York",
            support_option=True,
        )

        response = logged_in(viewer).get("/alpha/support/")

        assert [i.pk for i in response.context["page"]] == [newer.pk, older.pk]
        page = response.content.decode()
        assert "2026-11-23 23:00 EST" in page  # newer, 04:00 UTC
        assert "2026-11-23 22:00 EST" in page
        assert "Times are shown in America/New_York." in page
        assert "alpha 管理者" in page and "How to use" in page and "Second" in page
        assert newer.reference in page and "New inquiry" in page
        detail = logged_in(supporter).get(f"/alpha/support/{older.pk}/").content.decode()
        assert "2026-11-24 12:00:00 JST" in detail


@pytest.mark.django_db(transaction=True)
def test_both_inquiry_mails_arrive_with_the_right_recipients(
    delivered: Cast, settings: object
) -> None:
    cast = delivered
    settings.MAMORI_SUPPORT_EMAIL = "desk@mamori.example"  # type: ignore[attr-defined]
    sender = give_support_option(cast.a1, language="en")
    UserEmail.objects.create(user=sender.user, address="work@alpha.example", category="work")

    logged_in(sender).post("/alpha/support/new/", FORM)
    run_worker()

    inquiry = Inquiry.objects.get()
    desk, confirmation = sorted(mail.outbox, key=lambda m: m.to[0] != "desk@mamori.example")
    assert desk.to == ["desk@mamori.example"]
    assert inquiry.reference in desk.subject and "Lost mode does not end" in desk.subject
    for line in (
        f"{inquiry.reference}",
        # The desk's mail is in the service's own language (settings.LANGUAGE_CODE, Japanese).
        "契約: アルファ株式会社（alpha）",
        "送信者: alpha 管理者（アカウント admin）",
        "admin@alpha.example",
        "Lost mode does not end",
        "Step 1\nStep 2",
    ):
        assert line in desk.body
    assert confirmation.to == ["admin@alpha.example"]
    assert confirmation.subject == f"[Mamori] We received your inquiry ({inquiry.reference})"
    assert "Step 1\nStep 2" in confirmation.body
    assert f"http://testserver/alpha/support/{inquiry.pk}/" in confirmation.body
    assert "Category: Trouble or error" in confirmation.body


# Support inquiries in the API ----------------------------------------------------------------


def api_for(account: Account) -> Client:
    _, raw = api_token_create(
        actor=Actor(account=account), account=account, name="ci", expires_in_days=7
    )
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


class TestInquiryApi:
    def test_an_inquiry_is_created_listed_and_read(self, supporter: Account) -> None:
        client = api_for(supporter)

        created = client.post("/api/v1/inquiries", FORM, content_type="application/json")

        assert created.status_code == 201
        inquiry = Inquiry.objects.get()
        body = created.json()
        assert {
            k: body[k]
            for k in (
                "id",
                "reference",
                "sender_email",
                "category",
                "category_label",
                "subject",
                "body",
            )
        } == {
            "id": inquiry.pk,
            "reference": inquiry.reference,
            "sender_email": "admin@alpha.example",
            "category": "trouble",
            "category_label": "Trouble or error",
            "subject": "Lost mode does not end",
            "body": "Step 1\nStep 2",
        }
        assert body["local_time"].endswith("+09:00")
        assert LogEntry.objects.get(action="inquiry.sent").actor_kind == "api"
        assert OutboundMail.objects.filter(kind__startswith="inquiry").count() == 2
        listed = client.get("/api/v1/inquiries").json()
        assert [i["reference"] for i in listed["items"]] == [inquiry.reference]
        assert "body" not in listed["items"][0] and listed["next_cursor"] is None
        assert client.get(f"/api/v1/inquiries/{inquiry.pk}").json()["body"] == "Step 1\nStep 2"

    def test_the_list_pages_newest_first_with_a_cursor(self, supporter: Account) -> None:
        sent = [
            inquiry_send(actor=Actor(account=supporter), category="usage", subject=s, body="x")
            for s in ("one", "two", "three")
        ]
        client = api_for(supporter)

        first = client.get("/api/v1/inquiries", {"limit": 2}).json()
        second = client.get(
            "/api/v1/inquiries", {"limit": 2, "before": first["next_cursor"]}
        ).json()

        assert [i["subject"] for i in first["items"]] == ["three", "two"]
        assert [i["subject"] for i in second["items"]] == ["one"]
        assert second["next_cursor"] is None
        assert {i["id"] for i in first["items"] + second["items"]} == {i.pk for i in sent}
        bad = client.get("/api/v1/inquiries", {"before": "nonsense"})
        assert (bad.status_code, bad.json()["error"]["code"]) == (422, "invalid")

    def test_an_account_without_the_support_option_gets_403_and_nothing_changes(
        self, cast: Cast, supporter: Account
    ) -> None:
        existing = inquiry_send(
            actor=Actor(account=supporter), category="usage", subject="s", body="b"
        )
        client = api_for(another_account(cast.a, "jane", "jane@alpha.example"))
        before = list(Inquiry.objects.values_list("pk", "subject"))
        mails = OutboundMail.objects.count()

        for response in (
            client.get("/api/v1/inquiries"),
            client.get(f"/api/v1/inquiries/{existing.pk}"),
            client.post("/api/v1/inquiries", FORM, content_type="application/json"),
        ):
            assert response.status_code == 403
            assert response.json()["error"] == {
                "code": "forbidden",
                "message": "Only accounts with the support option can use support inquiries.",
            }
        assert list(Inquiry.objects.values_list("pk", "subject")) == before
        assert OutboundMail.objects.count() == mails

    def test_an_invalid_inquiry_is_refused_with_422_and_nothing_is_stored(
        self, supporter: Account
    ) -> None:
        response = api_for(supporter).post(
            "/api/v1/inquiries",
            {"category": "billing", "subject": "a\nb", "body": " "},
            content_type="application/json",
        )

        assert response.status_code == 422
        assert response.json()["error"]["details"] == [
            {"field": "category", "message": "Choose a category."},
            {"field": "subject", "message": "The subject must be one line."},
            {"field": "body", "message": "Enter a message."},
        ]
        assert nothing_sent()
