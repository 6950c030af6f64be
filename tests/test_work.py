"""The durable-work layer (mamori.core.work): claim → commit → call → record, retries with
backoff, permanent failures, the actor checked again, fencing, recovery, periodic jobs, pruning.

Handlers of kinds ``test.*`` are registered here; they do what the ``BEHAVIOUR`` of the test
says and count their calls.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections.abc import Callable, Iterator

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mamori.accounts.models import LoginFailure
from mamori.contracts.models import Contract
from mamori.core.actor import Actor, ActorKind
from mamori.core.models import PeriodicSlot, Work
from mamori.core.work import (
    Failure,
    PeriodicTicker,
    Retry,
    WorkFailed,
    WorkRetry,
    periodic_job,
    periodic_jobs,
    work_handler,
    work_prune,
    work_recover,
    work_run,
    work_submit,
    work_submit_many,
)
from mamori.core.work.periodic import PeriodicJob, periodic_claim
from mamori.core.work.tasks import work_fan_out_task, work_run_task
from tests.conftest import Cast, run_worker
from tests.queue import queued, task_backdate

NOW = timezone.now


class Calls:
    """What the ``test.*`` handlers were asked to do, and saw."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.runs: list[tuple[int, Actor]] = []
        self.failures: list[tuple[int, Failure]] = []
        self.in_transaction: list[bool] = []
        self.behaviour: Callable[[Work], str | None] = lambda work: "ok"


CALLS = Calls()


def _handler(work: Work, actor: Actor) -> str | None:
    CALLS.runs.append((work.pk, actor))
    CALLS.in_transaction.append(connection.in_atomic_block)
    return CALLS.behaviour(work)


def _on_failure(work: Work, failure: Failure) -> None:
    CALLS.failures.append((work.pk, failure))


RETRY = Retry(base=10, cap=60, max_attempts=3, jitter=0.2)
work_handler("test.job", retry=RETRY, on_failure=_on_failure)(_handler)


@pytest.fixture(autouse=True)
def _calls() -> Iterator[Calls]:
    CALLS.reset()
    yield CALLS
    CALLS.reset()


def submit(**extra: object) -> Work:
    values: dict = {"kind": "test.job", "payload": {"n": 1}, "actor": Actor.system(), **extra}
    return work_submit(**values)


def due_now(work: Work) -> None:
    Work.objects.filter(pk=work.pk).update(next_attempt_at=NOW())


def raise_(exc: Exception) -> Callable[[Work], str | None]:
    def behaviour(work: Work) -> str | None:
        raise exc

    return behaviour


# Running ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_handler_runs_after_the_claim_is_committed_with_no_transaction_open() -> None:
    work = submit()

    outcome = work_run(work.pk)

    assert (outcome.status, outcome.result) == ("done", "ok")
    assert CALLS.in_transaction == [False]
    work.refresh_from_db()
    assert (work.status, work.attempts, work.last_error, work.lease_until) == (
        "done",
        1,
        "",
        None,
    )
    assert work.finished_at is not None


@pytest.mark.django_db
def test_running_the_same_work_twice_runs_the_handler_once() -> None:
    work = submit()

    assert work_run(work.pk).status == "done"
    assert work_run(work.pk).status == "not claimable"

    assert [pk for pk, _actor in CALLS.runs] == [work.pk]


@pytest.mark.django_db(transaction=True)
def test_two_workers_running_the_same_work_at_once_run_the_handler_once() -> None:
    work = submit()
    inside, release = threading.Event(), threading.Event()

    def slow(work: Work) -> str:
        inside.set()
        assert release.wait(10)
        return "ok"

    CALLS.behaviour = slow
    first = run_in_thread(lambda: work_run(work.pk).status)
    assert inside.wait(10)
    second = work_run(work.pk).status  # the first holds it: nothing to claim
    release.set()

    assert (first.result(), second) == ("done", "not claimable")
    assert len(CALLS.runs) == 1


@pytest.mark.django_db
def test_work_that_is_not_due_yet_is_not_run() -> None:
    work = submit(run_after=NOW() + datetime.timedelta(minutes=5))

    assert work_run(work.pk).status == "not claimable"
    assert CALLS.runs == []


@pytest.mark.django_db
def test_work_of_a_kind_without_a_handler_is_refused_when_submitted() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"test\.nobody"):
        work_submit(kind="test.nobody", payload={}, actor=Actor.system())
    assert Work.objects.count() == 0


# Failures -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_permanent_failure_is_recorded_with_its_reason_and_never_tried_again() -> None:
    CALLS.behaviour = raise_(WorkFailed("The printer is on fire."))
    work = submit()

    assert work_run(work.pk).status == "failed"
    due_now(work)
    assert work_run(work.pk).status == "not claimable"

    work.refresh_from_db()
    assert (work.status, work.attempts, work.last_error) == (
        "failed",
        1,
        "The printer is on fire.",
    )
    assert CALLS.failures == [(work.pk, Failure("The printer is on fire.", exhausted=False))]


@pytest.mark.django_db
def test_a_transient_failure_is_retried_after_the_backoff_until_the_attempts_run_out() -> None:
    CALLS.behaviour = raise_(WorkRetry("Server busy"))
    work = submit()

    before = NOW()
    outcome = work_run(work.pk)
    work.refresh_from_db()
    assert (outcome.status, work.status, work.attempts, work.last_error) == (
        "retry",
        "pending",
        1,
        "Server busy",
    )
    assert outcome.retry_at == work.next_attempt_at
    # The first wait is 10 s, less up to 20 % of jitter.
    wait = (work.next_attempt_at - before).total_seconds()
    assert 8 <= wait <= 10.5
    assert work_run(work.pk).status == "not claimable"  # not due yet

    due_now(work)
    assert work_run(work.pk).status == "retry"
    due_now(work)
    assert work_run(work.pk).status == "failed"

    work.refresh_from_db()
    assert (work.status, work.attempts, work.last_error) == ("failed", 3, "Server busy")
    assert CALLS.failures == [(work.pk, Failure("Server busy", exhausted=True))]


@pytest.mark.django_db
def test_an_unexpected_exception_is_logged_with_its_traceback_and_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    CALLS.behaviour = raise_(ZeroDivisionError("division by zero"))
    work = submit()

    with caplog.at_level(logging.ERROR, logger="mamori.core.work.run"):
        assert work_run(work.pk).status == "retry"

    work.refresh_from_db()
    assert (work.status, work.last_error) == ("pending", "ZeroDivisionError: division by zero")
    (record,) = [r for r in caplog.records if r.name == "mamori.core.work.run"]
    assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError


def test_backoff_doubles_up_to_its_cap_with_jitter_within_bounds() -> None:
    retry = Retry(base=15, cap=600, jitter=0.2)
    nominal = [retry.nominal(n).total_seconds() for n in range(1, 10)]
    assert nominal == [15, 30, 60, 120, 240, 480, 600, 600, 600]
    for attempts, expected in enumerate(nominal, start=1):
        waits = {retry.delay(attempts).total_seconds() for _ in range(200)}
        assert all(0.8 * expected <= w <= expected for w in waits)
        assert len(waits) > 100  # jittered: workers that failed together come back apart


def test_a_retry_policy_without_a_limit_is_never_exhausted() -> None:
    assert not Retry(max_attempts=None).exhausted(10_000)
    assert Retry(max_attempts=3).exhausted(3)
    assert not Retry(max_attempts=3).exhausted(2)


# The actor ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_work_keeps_who_asked_for_it_and_gets_the_account_as_it_is_now(cast: Cast) -> None:
    actor = Actor(account=cast.a1, kind=ActorKind.API, ip="192.0.2.7", request_id="r-1")
    work = submit(actor=actor, contract_id=cast.a.pk)

    assert work_run(work.pk).status == "done"

    ((_pk, seen),) = CALLS.runs
    # Done later by Mamori for the account, from the request it came in.
    assert (seen.account, seen.kind, seen.ip, seen.request_id) == (
        cast.a1,
        ActorKind.ON_BEHALF,
        "192.0.2.7",
        "r-1",
    )
    assert Work.objects.get(pk=work.pk).contract_id == cast.a.pk


@pytest.mark.django_db
def test_work_of_an_account_disabled_since_fails_with_the_reason(cast: Cast) -> None:
    cast.a1.language = "en"
    cast.a1.save()
    work = submit(actor=Actor(account=cast.a1))
    type(cast.a1).objects.filter(pk=cast.a1.pk).update(is_active=False)

    assert work_run(work.pk).status == "failed"

    reason = "The account that asked for this is disabled or deleted, so it was not done."
    assert CALLS.runs == []
    assert Work.objects.get(pk=work.pk).last_error == reason
    assert CALLS.failures == [(work.pk, Failure(reason))]


@pytest.mark.django_db
def test_work_of_an_account_deleted_since_fails_with_the_reason(cast: Cast) -> None:
    work = submit(actor=Actor(account=cast.b1))  # B1 reads English
    type(cast.b1).objects.filter(pk=cast.b1.pk).delete()

    assert work_run(work.pk).status == "failed"

    assert CALLS.runs == []
    assert Work.objects.get(pk=work.pk).last_error == (
        "The account that asked for this is disabled or deleted, so it was not done."
    )


@pytest.mark.django_db
def test_work_of_an_account_whose_contract_was_suspended_fails_with_the_reason(
    cast: Cast,
) -> None:
    work = submit(actor=Actor(account=cast.b1))
    Contract.objects.filter(pk=cast.b.pk).update(status=Contract.Status.SUSPENDED)

    assert work_run(work.pk).status == "failed"

    assert CALLS.runs == []
    assert Work.objects.get(pk=work.pk).last_error == (
        "The contract of the account that asked for this is suspended, so it was not done."
    )


# Leases, fencing, recovery ------------------------------------------------------------------


def killed_while_running(work: Work, *, ago: float = 60) -> None:
    """As if a worker had claimed ``work`` and been killed: running, its lease run out."""
    Work.objects.filter(pk=work.pk).update(
        status="running",
        attempts=1,
        claim_token="dead",
        lease_until=NOW() - datetime.timedelta(seconds=ago),
    )


@pytest.mark.django_db
def test_work_whose_lease_ran_out_is_recovered_and_run_again() -> None:
    work = submit()
    killed_while_running(work)

    assert work_recover() == 1

    work.refresh_from_db()
    assert (work.status, work.claim_token, work.lease_until) == ("pending", "", None)
    assert work.last_error == (
        "The worker running it stopped before it finished (its lease ran out)."
    )
    assert work_run(work.pk).status == "done"
    work.refresh_from_db()
    assert (work.status, work.attempts) == ("done", 2)


@pytest.mark.django_db
def test_work_whose_lease_is_still_running_is_left_alone() -> None:
    work = submit()
    killed_while_running(work, ago=-20)  # the lease runs 20 s more

    assert work_recover() == 0
    assert Work.objects.get(pk=work.pk).status == "running"


@pytest.mark.django_db
def test_work_whose_lease_ran_out_on_its_last_attempt_fails_for_good() -> None:
    work = submit()
    killed_while_running(work)
    Work.objects.filter(pk=work.pk).update(attempts=3)

    assert work_recover() == 0

    work.refresh_from_db()
    assert work.status == "failed"
    assert CALLS.failures == [
        (
            work.pk,
            Failure(
                "The worker running it stopped before it finished (its lease ran out).",
                exhausted=True,
            ),
        )
    ]


@pytest.mark.django_db
def test_a_worker_whose_work_was_handed_on_records_nothing() -> None:
    work = submit()

    def handed_on_meanwhile(work: Work) -> str:
        if len(CALLS.runs) == 1:  # the first run stalls; its lease runs out and it is recovered
            assert work_recover(now=NOW() + datetime.timedelta(minutes=5)) == 1
        return "ok"

    CALLS.behaviour = handed_on_meanwhile
    assert work_run(work.pk).status == "lost claim"
    assert Work.objects.get(pk=work.pk).status == "pending"  # as the recovery left it

    due_now(work)  # the recovery ran "5 minutes later"
    assert work_run(work.pk).status == "done"
    work.refresh_from_db()
    assert (work.status, work.attempts, len(CALLS.runs)) == ("done", 2, 2)


@pytest.mark.django_db
def test_pending_work_whose_task_was_lost_is_queued_again() -> None:
    work = submit()  # in the test's transaction: its task is never queued
    Work.objects.filter(pk=work.pk).update(next_attempt_at=NOW() - datetime.timedelta(minutes=5))

    assert work_recover() == 1

    assert queued() == [(work_run_task.module_path, [work.pk])]
    assert work_recover() == 0  # due from now on: not lost again at once


@pytest.mark.django_db
def test_pending_work_waiting_behind_a_backlog_is_not_taken_for_lost() -> None:
    work = submit()
    long_ago = NOW() - datetime.timedelta(minutes=5)
    Work.objects.filter(pk=work.pk).update(next_attempt_at=long_ago)
    backlog = work_run_task.enqueue(0)  # a task queued before it, still waiting
    task_backdate(backlog.id, long_ago)
    work_run_task.enqueue(work.pk)

    assert work_recover() == 0


# Submitting many ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_thousands_of_submissions_are_one_insert_and_a_few_tasks() -> None:
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        works = work_submit_many(
            kind="test.job", payloads=[{"n": n} for n in range(1200)], actor=Actor.system()
        )
    inserts = [q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "core_work"')]
    per_insert = connection.ops.bulk_batch_size([f.name for f in Work._meta.concrete_fields], [])
    assert len(inserts) == (1 if connection.vendor == "postgresql" else -(-1200 // per_insert))
    assert len({w.pk for w in works}) == 1200

    fan_outs = queued()
    assert [(path, len(args[0])) for path, args in fan_outs] == [
        (work_fan_out_task.module_path, 500),
        (work_fan_out_task.module_path, 500),
        (work_fan_out_task.module_path, 200),
    ]

    work_fan_out_task.call(fan_outs[0][1][0])
    assert [path for path, _ in queued()].count(work_run_task.module_path) == 500


# Periodic jobs ------------------------------------------------------------------------------


def run_in_thread(fn: Callable[[], object]) -> Result:
    result = Result()

    def target() -> None:
        try:
            result.value = fn()
        except BaseException as exc:  # noqa: BLE001 - reported by result()
            result.error = exc
        finally:
            connection.close()

    result.thread = threading.Thread(target=target)
    result.thread.start()
    return result


class Result:
    value: object = None
    error: BaseException | None = None
    thread: threading.Thread

    def result(self) -> object:
        self.thread.join(30)
        if self.error is not None:
            raise self.error
        return self.value


@pytest.mark.django_db(transaction=True)
def test_a_periodic_job_runs_once_per_slot_whatever_the_number_of_workers() -> None:
    now = NOW()
    start = threading.Barrier(6)

    def worker() -> object:
        ticker = PeriodicTicker()
        start.wait(10)
        return ticker.tick(now)

    claimed = [run_in_thread(worker) for _ in range(6)]
    names = [name for r in claimed for name in r.result()]  # type: ignore[attr-defined]

    jobs = sorted(job.name for job in periodic_jobs())
    assert sorted(names) == jobs  # each job claimed by exactly one of the six
    assert sorted(PeriodicSlot.objects.values_list("job", flat=True)) == jobs
    assert sorted(Work.objects.values_list("kind", flat=True)) == jobs
    assert all(slot.work_id for slot in PeriodicSlot.objects.all())

    assert PeriodicTicker().tick(now) == []  # the same slot, later: nothing
    later = now + datetime.timedelta(hours=1)
    assert "core.work.prune" in PeriodicTicker().tick(later)  # the next slot runs again


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_of_one_slot_make_one_work_row() -> None:
    job = PeriodicJob("test.job", datetime.timedelta(minutes=1))
    slot = job.slot(NOW())
    start = threading.Barrier(4)

    def claim() -> object:
        start.wait(10)
        return periodic_claim(job, slot)

    results = [run_in_thread(claim) for _ in range(4)]

    assert sorted(bool(r.result()) for r in results) == [False, False, False, True]
    assert Work.objects.filter(kind="test.job").count() == 1


def test_slots_are_cut_from_the_epoch_in_utc() -> None:
    job = PeriodicJob("test.job", datetime.timedelta(minutes=15))
    at = datetime.datetime(2026, 5, 1, 9, 44, 59, tzinfo=datetime.UTC)
    assert job.slot(at) == datetime.datetime(2026, 5, 1, 9, 30, tzinfo=datetime.UTC)
    assert job.slot(at + datetime.timedelta(seconds=1)) == at + datetime.timedelta(seconds=1)


def test_a_periodic_job_name_is_registered_once() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"core\.work\.prune"):
        periodic_job("core.work.prune", every=datetime.timedelta(hours=1))(_handler)


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_the_periodic_jobs_and_recovers_work_by_itself() -> None:
    work = submit()
    killed_while_running(work)

    run_worker()

    work.refresh_from_db()
    assert (work.status, work.attempts) == ("done", 2)
    assert set(Work.objects.exclude(pk=work.pk).values_list("kind", "status")) == {
        (job.name, "done") for job in periodic_jobs()
    }


# Pruning ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_finished_work_and_old_slots_are_pruned_after_the_days_kept(settings: object) -> None:
    settings.MAMORI_WORK_KEEP_DAYS = 7  # type: ignore[attr-defined]
    old = NOW() - datetime.timedelta(days=8)
    done_old, failed_old, done_new, pending_old = (submit() for _ in range(4))
    Work.objects.filter(pk__in=[done_old.pk, failed_old.pk]).update(finished_at=old)
    Work.objects.filter(pk=done_old.pk).update(status="done")
    Work.objects.filter(pk=failed_old.pk).update(status="failed")
    Work.objects.filter(pk=done_new.pk).update(status="done", finished_at=NOW())
    Work.objects.filter(pk=pending_old.pk).update(created_at=old)
    PeriodicSlot.objects.create(job="test.job", slot=old)
    PeriodicSlot.objects.create(job="test.job", slot=NOW())

    counts = work_prune()

    assert counts == {"work": 2, "slots": 1, "tasks": 0}
    assert set(Work.objects.values_list("pk", flat=True)) == {done_new.pk, pending_old.pk}
    assert PeriodicSlot.objects.count() == 1


@pytest.mark.django_db
def test_login_failures_past_the_window_and_lock_are_pruned(settings: object) -> None:
    from mamori.accounts.work import login_failures_prune

    settings.MAMORI_LOGIN_WINDOW_SECONDS = 900  # type: ignore[attr-defined]
    settings.MAMORI_LOGIN_LOCK_SECONDS = 900  # type: ignore[attr-defined]
    for minutes in (5, 29, 31, 600):
        LoginFailure.objects.create(
            domain="alpha",
            account_name="a1",
            created_at=NOW() - datetime.timedelta(minutes=minutes),
        )

    assert login_failures_prune(Work(), Actor.system()) == "deleted 2"
    assert LoginFailure.objects.count() == 2
