import threading

import pytest
from django.db import close_old_connections, connection, transaction

from mamori.audit.models import LogEntry
from mamori.audit.services import LogRecord, log_chain_verify, log_record, log_records
from mamori.core.actor import Actor
from tests.conftest import Cast


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_keep_one_unbroken_chain(cast: Cast) -> None:
    """Writers in separate connections take turns on the chain head: no number twice, no fork."""
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def write() -> None:
        try:
            start.wait()
            for _ in range(10):
                log_record(contract=cast.a, actor=Actor(account=cast.a1), action="account.logout")
        except BaseException as exc:  # noqa: BLE001 - a thread reports its failure to the test
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=write) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    seqs = list(
        LogEntry.objects.filter(contract=cast.a).order_by("seq").values_list("seq", flat=True)
    )
    assert seqs == list(range(1, len(seqs) + 1))
    assert LogEntry.objects.filter(contract=cast.a, action="account.logout").count() == 40
    assert log_chain_verify(cast.a) is None


@pytest.mark.django_db(transaction=True)
def test_concurrent_batch_writers_of_two_contracts_keep_unbroken_chains_without_deadlock(
    cast: Cast,
) -> None:
    """Batches naming the two contracts in opposite orders: each locks the heads in contract-id
    order, so none waits for another in a circle, and each chain stays whole."""
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def batch(first, second) -> list[LogRecord]:
        def one(contract, account) -> LogRecord:
            return LogRecord(
                contract=contract, actor=Actor(account=account), action="account.logout"
            )

        return [one(*first)] * 10 + [one(*second)] * 10

    def write(first, second) -> None:
        try:
            start.wait()
            for _ in range(5):
                with transaction.atomic():
                    log_records(batch(first, second))
        except BaseException as exc:  # noqa: BLE001 - a thread reports its failure to the test
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    a, b = (cast.a, cast.a1), (cast.b, cast.b1)
    threads = [threading.Thread(target=write, args=pair) for pair in [(a, b), (b, a)] * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    for contract in (cast.a, cast.b):
        seqs = list(
            LogEntry.objects.filter(contract=contract).order_by("seq").values_list("seq", flat=True)
        )
        assert seqs == list(range(1, len(seqs) + 1))
        assert LogEntry.objects.filter(contract=contract, action="account.logout").count() == 200
        assert log_chain_verify(contract) is None
