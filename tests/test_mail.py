import datetime

import pytest
from django.utils import timezone

from mamori.core.models import Work
from mamori.core.work import work_recover
from mamori.outbox.models import OutboundMail
from mamori.outbox.services import retry_delay
from tests.conftest import mail_field, run_worker, smtp_mailers
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
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.all().delete()  # as if the worker died holding the task
    Work.objects.update(next_attempt_at=timezone.now() - datetime.timedelta(minutes=5))
    assert work_recover() == 1
    run_worker()
    assert OutboundMail.objects.get().status == "sent"


def test_the_worker_itself_finds_a_lost_delivery_task(settings: object) -> None:
    cli(*CREATE)
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.all().delete()
    Work.objects.update(next_attempt_at=timezone.now() - datetime.timedelta(minutes=5))
    run_worker()  # its recovery job queues the mail again, and it runs it
    assert OutboundMail.objects.get().status == "sent"
