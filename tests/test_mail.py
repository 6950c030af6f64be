import datetime

import pytest
from django.utils import timezone

from mamori.core.models import Work
from mamori.core.work import work_recover
from mamori.outbox.models import OutboundMail
from mamori.outbox.services import retry_delay
from tests.conftest import mail_field, run_worker, smtp_mailers
from tests.queue import queue_lose
from tests.smtp import SmtpServer, body_of, free_port
from tests.test_contracts import CREATE, cli

pytestmark = pytest.mark.django_db(transaction=True)


def test_registration_mail_arrives_at_a_real_smtp_server(smtp_server: SmtpServer) -> None:
    cli(*CREATE)
    run_worker()

    (message,) = smtp_server.collector.wait_for(1)
    assert message["Subject"] == "[Mamori] 登録完了のお知らせ"
    assert message["To"] == "yamada@acme.example"
    assert mail_field(body_of(message), "アカウント:") == "admin"
    assert OutboundMail.objects.get().status == "sent"


def test_mail_waits_while_smtp_is_down_and_arrives_once_when_it_is_back(settings: object) -> None:
    settings.MAMORI_MAIL_RETRY_BASE_SECONDS = 0  # type: ignore[attr-defined]
    server = SmtpServer(port=free_port())  # not started: connections are refused
    settings.MAILERS = smtp_mailers(server.port)  # type: ignore[attr-defined]

    cli(*CREATE)
    run_worker(max_tasks=1)  # first try fails and schedules a retry, due at once
    mail = OutboundMail.objects.get()
    assert (mail.status, mail.attempts) == ("pending", 1)
    assert "Connection refused" in mail.last_error
    assert "pending" in cli("mail", "outbox")
    run_worker(max_tasks=1)  # still down
    assert OutboundMail.objects.get().attempts == 2

    server.start()
    try:
        run_worker()
        run_worker()  # nothing left to do: no second copy
        messages = server.collector.wait_for(1)
    finally:
        server.stop()
    assert len(messages) == 1
    mail.refresh_from_db()
    assert (mail.status, mail.attempts, mail.last_error) == ("sent", 3, "")


def test_retry_waits_grow_from_under_30_seconds_to_at_most_10_minutes() -> None:
    waits = [retry_delay(n).total_seconds() for n in range(1, 12)]
    assert waits[0] <= 30
    assert waits == sorted(waits)
    assert max(waits) == 600
    assert waits[-1] == 600


def test_a_lost_delivery_task_is_queued_again_by_the_worker(settings: object) -> None:
    cli(*CREATE)
    queue_lose()  # as if the worker died holding the task
    Work.objects.update(next_attempt_at=timezone.now() - datetime.timedelta(minutes=5))
    assert work_recover() == 1
    run_worker()
    assert OutboundMail.objects.get().status == "sent"


def test_the_worker_itself_finds_a_lost_delivery_task(settings: object) -> None:
    cli(*CREATE)
    queue_lose()
    Work.objects.update(next_attempt_at=timezone.now() - datetime.timedelta(minutes=5))
    run_worker()  # its recovery job queues the mail again, and it runs it
    assert OutboundMail.objects.get().status == "sent"


def test_a_recipient_refused_for_good_fails_the_mail_with_the_reason(
    smtp_server: SmtpServer,
) -> None:
    smtp_server.collector.refuse["yamada@acme.example"] = "550 5.1.1 No such user here"
    cli(*CREATE)
    run_worker()

    mail = OutboundMail.objects.select_related("work").get()
    assert (mail.status, mail.attempts, mail.body, mail.sent_at) == ("failed", 1, "", None)
    assert mail.last_error == "The recipient was refused: 550 5.1.1 No such user here"
    assert smtp_server.messages == []
    (_header, row) = cli("mail", "outbox", "--failed").splitlines()
    assert row.split()[1:4] == ["failed", "1", "-"]
    assert row.endswith("The recipient was refused: 550 5.1.1 No such user here")
    assert len(cli("mail", "outbox", "--pending").splitlines()) == 1  # the header only


def test_a_recipient_refused_for_now_is_tried_again(
    smtp_server: SmtpServer, settings: object
) -> None:
    settings.MAMORI_MAIL_RETRY_BASE_SECONDS = 0  # type: ignore[attr-defined]
    smtp_server.collector.refuse["yamada@acme.example"] = "450 4.2.1 Mailbox busy, try later"
    cli(*CREATE)
    run_worker(max_tasks=1)

    mail = OutboundMail.objects.select_related("work").get()
    assert (mail.status, mail.attempts) == ("pending", 1)
    assert mail.last_error == "SMTPRecipientsRefused: 450 4.2.1 Mailbox busy, try later"

    del smtp_server.collector.refuse["yamada@acme.example"]
    run_worker()
    mail.refresh_from_db()
    mail.work.refresh_from_db()  # type: ignore[union-attr]
    assert (mail.status, mail.attempts, mail.body) == ("sent", 2, "")
    assert len(smtp_server.collector.wait_for(1)) == 1


def test_pending_mail_of_the_old_outbox_becomes_work_when_migrated() -> None:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("outbox", "0002_work"), ("core", "0001_initial")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    Mail = old_apps.get_model("outbox", "OutboundMail")
    due = timezone.now() - datetime.timedelta(minutes=3)
    waiting = Mail.objects.create(
        kind="registration",
        to="a@example.com",
        subject="s",
        body="b",
        status="pending",
        attempts=4,
        next_attempt_at=due,
        last_error="ConnectionRefusedError: refused",
    )
    Mail.objects.create(
        kind="registration",
        to="b@example.com",
        subject="s",
        status="sent",
        sent_at=timezone.now(),
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    mail = OutboundMail.objects.select_related("work").get(pk=waiting.pk)
    assert (mail.status, mail.attempts, mail.last_error, mail.body) == (
        "pending",
        4,
        "ConnectionRefusedError: refused",
        "b",
    )
    assert (mail.work.kind, mail.work.next_attempt_at) == ("mail.deliver", due)  # type: ignore[union-attr]
    assert OutboundMail.objects.get(to="b@example.com").status == "sent"
    assert work_recover() == 1  # its task is queued by the recovery job
