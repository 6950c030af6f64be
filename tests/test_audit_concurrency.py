import threading

import pytest
from django.db import close_old_connections, connection

from mamori.audit.models import LogEntry
from mamori.audit.services import log_chain_verify, log_record
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
