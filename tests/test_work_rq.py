"""Durable work on RQ (``MAMORI_TASK_BACKEND=rq``): the setting, the queue lost with Redis and
found again from the database, and ``mamori worker`` consuming Redis.

These run in every pass, each on a Redis database of the test process's own (``tests.queue``);
CI's third pass also runs the suite's task tests with the whole suite switched to RQ.
"""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.utils import timezone
from redis import Redis

from mamori.core.actor import Actor
from mamori.core.models import Work
from mamori.core.work import work_recover, work_submit
from mamori.core.work.tasks import work_run_task
from mamori.outbox.models import OutboundMail
from mamori.outbox.services import mail_queue
from mamori.settings import task_backend
from tests.conftest import run_worker
from tests.queue import queue_lose, queued, rq_tasks, task_backdate
from tests.smtp import SmtpServer
from tests.test_worker import WorkerProcess, test_database_url, wait_until, worker_env, workers

NOW = timezone.now


# The setting --------------------------------------------------------------------------------


def test_the_database_queue_is_the_default_and_needs_no_redis() -> None:
    assert task_backend("database", "") == (
        {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]},
        {},
    )


def test_rq_is_chosen_by_name_with_the_redis_url() -> None:
    assert task_backend("rq", "redis://:pw@10.0.0.5:6380/2") == (
        {"BACKEND": "mamori.core.work.rq.RQBackend", "QUEUES": ["default"]},
        {"default": {"URL": "redis://:pw@10.0.0.5:6380/2", "DEFAULT_TIMEOUT": -1}},
    )


def test_rq_without_a_redis_url_is_refused_naming_the_variable() -> None:
    with pytest.raises(ImproperlyConfigured, match="MAMORI_REDIS_URL"):
        task_backend("rq", "")
    with pytest.raises(ImproperlyConfigured, match="MAMORI_REDIS_URL"):
        task_backend("rq", "http://127.0.0.1:6379/0")


def test_an_unknown_backend_name_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="MAMORI_TASK_BACKEND='celery' is not valid"):
        task_backend("celery", "redis://127.0.0.1:6379/0")


# Recovery against the Redis queue -----------------------------------------------------------


def submit() -> Work:
    return work_submit(kind="mail.deliver", payload={"mail_id": 0}, actor=Actor.system())


@pytest.mark.django_db
def test_work_whose_task_waits_behind_a_backlog_in_redis_is_not_taken_for_lost(
    redis_url: str,
) -> None:
    with rq_tasks(redis_url):
        queue_lose()
        work = submit()  # in the test's transaction: its task is never queued
        long_ago = NOW() - datetime.timedelta(minutes=5)
        Work.objects.filter(pk=work.pk).update(next_attempt_at=long_ago)
        backlog = work_run_task.enqueue(0)
        task_backdate(backlog.id, long_ago)
        work_run_task.enqueue(work.pk)

        assert work_recover() == 0

        queue_lose()  # Redis restarted without persistence
        assert work_recover() == 1
        assert queued() == [(work_run_task.module_path, [work.pk])]
        assert work_recover() == 0  # due from now on: not lost again at once


@pytest.mark.django_db
def test_a_delayed_task_in_redis_counts_from_its_time_once_that_passed(redis_url: str) -> None:
    with rq_tasks(redis_url):
        queue_lose()
        work = submit()
        long_ago = NOW() - datetime.timedelta(minutes=5)
        Work.objects.filter(pk=work.pk).update(next_attempt_at=long_ago)
        work_run_task.using(run_after=long_ago).enqueue(0)  # due, not yet moved onto the queue
        work_run_task.using(run_after=NOW() + datetime.timedelta(hours=1)).enqueue(work.pk)

        assert work_recover() == 0


@pytest.mark.django_db(transaction=True)
def test_the_in_process_worker_runs_what_redis_holds_once(redis_url: str) -> None:
    with rq_tasks(redis_url):
        queue_lose()
        mail = mail_queue(contract=None, kind="test", to="a@example.com", subject="Hi", body="x")
        work_run_task.enqueue(mail.work_id)  # a second nudge of the same work

        run_worker()

        assert queued() == []
        work = Work.objects.get(pk=mail.work_id)
        assert (work.status, work.attempts) == ("done", 1)
        assert OutboundMail.objects.get(pk=mail.pk).status == "sent"


@pytest.mark.django_db
def test_readyz_says_the_queue_is_unreachable_when_redis_does_not_answer(redis_url: str) -> None:
    with rq_tasks(redis_url):
        assert Client().get("/readyz").json()["queue"] == "ok"
    with rq_tasks("redis://127.0.0.1:1/0"):
        response = Client().get("/readyz")
    assert (response.status_code, response.json()["queue"]) == (503, "unreachable")


# The queue lost, with a real worker ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_mail_whose_task_was_lost_with_redis_is_sent_once_by_a_worker_on_rq(
    tmp_path: Path, redis_url: str
) -> None:
    server = SmtpServer().start()
    env = worker_env(
        tmp_path, database_url=test_database_url(), email_url=f"smtp://127.0.0.1:{server.port}"
    )
    env.update({"MAMORI_TASK_BACKEND": "rq", "MAMORI_REDIS_URL": redis_url})
    try:
        with rq_tasks(redis_url):
            queue_lose()
            mail = mail_queue(
                contract=None, kind="test", to="someone@example.com", subject="Hi", body="42"
            )
            assert queued() == [(work_run_task.module_path, [mail.work_id])]
            Redis.from_url(redis_url).flushdb()  # Redis restarted without persistence
            assert queued() == []

            with workers() as started:
                started.append(WorkerProcess(env, tmp_path / "worker.log"))
                wait_until(lambda: len(server.messages) >= 1)
                work_run_task.enqueue(mail.work_id)  # a stale nudge arriving late
                wait_until(lambda: queued() == [])
                time.sleep(2)  # a second copy would arrive meanwhile
                assert started[0].stop() == 0
    finally:
        server.stop()

    assert [m["To"] for m in server.messages] == ["someone@example.com"]
    work = Work.objects.get(pk=mail.work_id)
    assert (work.status, work.attempts) == ("done", 1)
    assert OutboundMail.objects.get(pk=mail.pk).status == "sent"
    output = started[0].output()
    assert "started on RQ" in output
    assert "recovered 0 work(s) whose lease ran out and 1 whose task was lost" in output
