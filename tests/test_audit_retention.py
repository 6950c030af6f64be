"""Operation-log retention (issue 11 point 4): the setting, the daily job, the archives, and
verification of what is kept.

Old entries are made by moving the clock (time-machine); each run is made at a moved clock too,
so that the run's own entry has the time it would have."""

from __future__ import annotations

import datetime
import gzip
import io
import json
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from mamori.accounts.audit_actions import AccountAction
from mamori.audit import retention
from mamori.audit.audit_actions import LogAction
from mamori.audit.models import LogChain, LogEntry
from mamori.audit.retention import (
    archive_read,
    archive_verify,
    log_retention_run,
    log_settings_update,
    retention_cutoff,
    retention_next_run,
)
from mamori.audit.services import log_chain_verify, log_record
from mamori.contracts.models import Contract
from mamori.core.actor import Actor
from mamori.core.work.periodic import periodic_jobs
from tests.conftest import Cast, OrgCast, api_client, cast_create, logged_in

pytestmark = pytest.mark.django_db

UTC = datetime.UTC


def at(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


def record(contract: Contract, account, n: int, when: datetime.datetime) -> None:
    with time_machine.travel(when, tick=False):
        for _ in range(n):
            log_record(contract=contract, actor=Actor(account=account), action=AccountAction.LOGOUT)


def run(when: datetime.datetime) -> list[retention.RetentionResult]:
    with time_machine.travel(when, tick=False):
        return log_retention_run()


def keep(cast: Cast, months: int | None, *, archive: bool = True, contract=None) -> None:
    contract = contract or cast.a
    with time_machine.travel(at(2025, 12, 1), tick=False):
        log_settings_update(
            actor=Actor.system(),
            contract=contract,
            values={"retention_months": months, "archive": archive},
        )


@pytest.fixture(autouse=True)
def _archive_dir(settings, tmp_path: Path) -> Path:
    settings.MAMORI_AUDIT_ARCHIVE_DIR = str(tmp_path / "archive")
    return tmp_path / "archive"


@pytest.fixture
def cast(db: None) -> Cast:
    """The contracts opened in November 2025 (their first entries are that month's)."""
    with time_machine.travel(at(2025, 11, 1), tick=False):
        return cast_create()


@pytest.fixture
def history(cast: Cast) -> int:
    """A: the contract's opening entries (November), the setting's entry (December), 3 in
    January, 2 in February, 2 in March; B the same but kept forever. The number of A's entries
    before January."""
    keep(cast, 1)
    k = LogEntry.objects.filter(contract=cast.a).count()
    for contract, account in ((cast.a, cast.a1), (cast.b, cast.b1)):
        record(contract, account, 3, at(2026, 1, 15))
        record(contract, account, 2, at(2026, 2, 10))
        record(contract, account, 2, at(2026, 3, 5))
    return k


def seqs(contract: Contract) -> list[int]:
    return list(
        LogEntry.objects.filter(contract=contract).order_by("seq").values_list("seq", flat=True)
    )


def test_the_cutoff_is_the_start_of_the_month_n_months_before_in_utc() -> None:
    assert retention_cutoff(at(2026, 5, 17, 12), 1) == at(2026, 4, 1)
    assert retention_cutoff(at(2026, 1, 31, 23, 59), 1) == at(2025, 12, 1)
    assert retention_cutoff(at(2026, 3, 1), 14) == at(2025, 1, 1)
    # 2026-05-01 08:00 in Tokyo is still April in UTC: months are counted in UTC.
    tokyo = datetime.datetime(2026, 5, 1, 8, tzinfo=datetime.timezone(datetime.timedelta(hours=9)))
    assert retention_cutoff(tokyo, 1) == at(2026, 3, 1)
    assert retention_cutoff(at(2026, 3, 1), 1200) == at(1926, 3, 1)
    assert retention_next_run(at(2026, 3, 1, 10)) == at(2026, 3, 2)


def test_retention_removes_only_the_older_months_of_that_contract_and_archives_them(
    cast: Cast, history: int, _archive_dir: Path
) -> None:
    k = history
    b_before = list(LogEntry.objects.filter(contract=cast.b).values_list("seq", "digest"))
    (result,) = run(at(2026, 3, 20))  # cutoff 2026-02-01: November to January go
    assert (result.removed, result.cutoff, result.stopped) == (k + 3, at(2026, 2, 1), "")
    assert result.archives == [
        "alpha/2025-11.jsonl.gz",
        "alpha/2025-12.jsonl.gz",
        "alpha/2026-01.jsonl.gz",
    ]
    # Kept: February and March, and the run's own entry.
    assert seqs(cast.a) == list(range(k + 4, k + 9))
    chain = LogChain.objects.get(contract=cast.a)
    assert chain.first_seq == k + 4
    assert list(LogEntry.objects.filter(contract=cast.b).values_list("seq", "digest")) == b_before

    november = list(archive_read(_archive_dir / "alpha/2025-11.jsonl.gz"))
    december = list(archive_read(_archive_dir / "alpha/2025-12.jsonl.gz"))
    january = list(archive_read(_archive_dir / "alpha/2026-01.jsonl.gz"))
    assert [e.seq for e in november] == list(range(1, k))
    assert [e.seq for e in december] == [k] and december[0].action == LogAction.SETTINGS_CHANGED
    assert [e.seq for e in january] == [k + 1, k + 2, k + 3]
    assert chain.first_prev_digest == january[-1].digest
    with gzip.open(_archive_dir / "alpha/2026-01.jsonl.gz", "rt") as file:
        line = json.loads(file.readline())
    assert {"id", "seq", "created_at", "prev_digest", "digest", "key_id", "contract_id"} <= set(
        line
    )
    assert line["created_at"] == "2026-01-15T00:00:00+00:00"
    for name in result.archives:
        assert archive_verify(_archive_dir / name) == []

    assert log_chain_verify(cast.a) is None and log_chain_verify(cast.b) is None
    entry = LogEntry.objects.get(contract=cast.a, seq=k + 8)
    assert (entry.action, entry.actor_kind, entry.actor_id) == (
        LogAction.RETENTION_APPLIED,
        "system",
        None,
    )
    assert entry.after == {
        "removed": k + 3,
        "cutoff": "2026-02-01T00:00:00+00:00",
        "retention_months": 1,
        "first_seq": k + 4,
        "archives": result.archives,
    }


def test_a_second_run_removes_nothing_and_logs_nothing(cast: Cast, history: int) -> None:
    run(at(2026, 3, 20))
    count = LogEntry.objects.filter(contract=cast.a).count()
    (again,) = run(at(2026, 3, 21))
    assert (again.removed, again.archives) == (0, [])
    assert LogEntry.objects.filter(contract=cast.a).count() == count
    assert LogEntry.objects.filter(action=LogAction.RETENTION_APPLIED).count() == 1
    # A month later, February goes too; the chain still verifies from its new start.
    (april,) = run(at(2026, 4, 2))
    assert april.removed == 2 and seqs(cast.a)[0] == history + 6
    assert log_chain_verify(cast.a) is None


def test_the_daily_job_is_registered_and_runs_the_retention(cast: Cast, history: int) -> None:
    from mamori.audit.work import retention_job

    job = next(j for j in periodic_jobs() if j.name == "audit.log_retention")
    assert job.period == datetime.timedelta(days=1)
    with time_machine.travel(at(2026, 3, 20), tick=False):
        outcome = retention_job(None, Actor.system())  # type: ignore[arg-type]
    assert outcome == f"removed: alpha {history + 3}"


def test_tampering_after_retention_is_still_detected(cast: Cast, history: int) -> None:
    run(at(2026, 3, 20))
    kept = history + 5
    LogEntry.objects.filter(contract=cast.a, seq=kept).update(after={"x": 1})
    chain_break = log_chain_verify(cast.a)
    assert chain_break is not None and chain_break.seq == kept
    LogEntry.objects.filter(contract=cast.a, seq=kept).update(after=None)
    assert log_chain_verify(cast.a) is None
    # The start moved back (to hide that the kept chain was cut): entry #1 is missing.
    LogChain.objects.filter(contract=cast.a).update(first_seq=1)
    chain_break = log_chain_verify(cast.a)
    assert chain_break is not None and "#1 is missing" in chain_break.reason


def test_an_entry_older_than_the_kept_start_is_a_break(
    cast: Cast, history: int, _archive_dir: Path
) -> None:
    run(at(2026, 3, 20))
    january = list(archive_read(_archive_dir / "alpha/2026-01.jsonl.gz"))
    january[-1].save(force_insert=True)  # put back
    chain_break = log_chain_verify(cast.a)
    assert chain_break is not None and chain_break.seq == history + 3
    assert "older than the kept start" in chain_break.reason


def test_a_broken_part_is_never_removed(cast: Cast, history: int) -> None:
    broken = history + 2
    LogEntry.objects.filter(contract=cast.a, seq=broken).update(target_label="rewritten")
    (result,) = run(at(2026, 3, 20))
    assert result.removed == broken - 1 and f"#{broken}" in result.stopped
    assert seqs(cast.a)[:2] == [broken, broken + 1]
    chain_break = log_chain_verify(cast.a)
    assert chain_break is not None and chain_break.seq == broken  # still there to be found


def test_a_run_killed_midway_leaves_a_chain_that_verifies_and_the_next_run_goes_on(
    cast: Cast, history: int, monkeypatch: pytest.MonkeyPatch, _archive_dir: Path
) -> None:
    k = history
    monkeypatch.setattr(retention, "BATCH", 2)
    real = retention._batch_delete
    calls = []

    def dying(contract, start, end, **kwargs):
        calls.append(start)
        if start == k + 3:
            raise KeyboardInterrupt  # the worker killed between batches
        return real(contract, start, end, **kwargs)

    monkeypatch.setattr(retention, "_batch_delete", dying)
    with pytest.raises(KeyboardInterrupt):
        run(at(2026, 3, 20))
    # November, December and January's first batch went; #k+3 is kept, the chain verifies.
    assert calls[-2:] == [k + 1, k + 3]
    assert seqs(cast.a)[0] == k + 3
    assert log_chain_verify(cast.a) is None
    monkeypatch.setattr(retention, "_batch_delete", real)
    (result,) = run(at(2026, 3, 20))
    assert result.removed == 1 and result.archives == ["alpha/2026-01.2.jsonl.gz"]
    # The first file is kept as it was; the second holds what was left of January.
    first = archive_read(_archive_dir / "alpha/2026-01.jsonl.gz")
    assert [e.seq for e in first] == [k + 1, k + 2, k + 3]
    assert [e.seq for e in archive_read(_archive_dir / "alpha/2026-01.2.jsonl.gz")] == [k + 3]
    assert log_chain_verify(cast.a) is None


def test_without_archive_nothing_is_written(cast: Cast, history: int, _archive_dir: Path) -> None:
    keep(cast, 1, archive=False)  # its entry is the newest (numbered after March's)
    (result,) = run(at(2026, 3, 20))
    assert result.removed == history + 3 and result.archives == []
    assert not any(_archive_dir.rglob("*.gz"))
    assert log_chain_verify(cast.a) is None


def verify_archive(*files: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", "verify-archive", *map(str, files), stdout=out, stderr=err)
    except CommandError:
        return 1, out.getvalue() + err.getvalue()
    return 0, out.getvalue() + err.getvalue()


def test_the_audit_command_verifies_archives_and_the_kept_chain(
    cast: Cast, history: int, _archive_dir: Path
) -> None:
    out = io.StringIO()
    with time_machine.travel(at(2026, 3, 20), tick=False):
        call_command("audit", "retention", stdout=out)
    assert (
        f"alpha: {history + 3} entries removed, archived in alpha/2025-11.jsonl.gz"
        in out.getvalue()
    )
    call_command("audit", "verify", stdout=io.StringIO())  # raises when broken
    files = sorted((_archive_dir / "alpha").glob("*.gz"))
    assert verify_archive(*files)[0] == 0
    # An archived entry rewritten: its digest no longer matches.
    path = _archive_dir / "alpha/2026-01.jsonl.gz"
    original = path.read_bytes()
    lines = gzip.decompress(original).decode().splitlines()
    edited = json.loads(lines[1]) | {"target_label": "someone else"}
    lines[1] = json.dumps(edited)
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    code, text = verify_archive(path)
    assert code == 1 and f"entry #{history + 2}: its contents do not match its digest" in text
    # The file as written, and the kept chain's link to it changed in the database.
    path.write_bytes(original)
    assert verify_archive(path)[0] == 0
    LogChain.objects.filter(contract=cast.a).update(first_prev_digest="f" * 64)
    code, text = verify_archive(path)
    assert code == 1 and "not the one the kept chain starts after" in text
    assert verify_archive(_archive_dir / "nothing.gz")[0] == 1


# The setting -------------------------------------------------------------------------------


@pytest.mark.parametrize("months", [0, 1201, -1, True, "12", 1.5])
def test_the_service_refuses_months_out_of_bounds(cast: Cast, months: object) -> None:
    with pytest.raises(ValidationError) as caught:
        log_settings_update(
            actor=Actor(account=cast.a1),
            contract=cast.a,
            values={"retention_months": months, "archive": True},
        )
    assert "retention_months" in caught.value.message_dict
    assert not LogEntry.objects.filter(action=LogAction.SETTINGS_CHANGED).exists()


def test_a_change_of_the_setting_is_one_log_entry_and_none_when_unchanged(cast: Cast) -> None:
    values = {"retention_months": 24, "archive": False}
    log_settings_update(actor=Actor(account=cast.a1), contract=cast.a, values=values)
    log_settings_update(actor=Actor(account=cast.a1), contract=cast.a, values=values)
    (entry,) = LogEntry.objects.filter(action=LogAction.SETTINGS_CHANGED)
    assert (entry.before, entry.after) == (
        {"retention_months": None, "archive": True},
        {"retention_months": 24, "archive": False},
    )
    assert log_chain_verify(cast.a) is None


@pytest.mark.parametrize("account", ["a1", "b1"])  # Japanese, English
def test_the_settings_page_shows_and_saves(cast: Cast, account: str) -> None:
    me = getattr(cast, account)
    url = f"/{me.contract.domain}/settings/log/"
    client = logged_in(me)
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="log-settings"' in html and 'id="settings-log"' in html
    assert 'id="log-next-run"' in html and 'name="retention_months"' in html
    saved = client.post(url, {"retention_months": "24", "archive": "on"})
    assert saved.status_code == 302 and saved["Location"] == url
    chain = LogChain.objects.get(contract=me.contract)
    assert (chain.retention_months, chain.archive) == (24, True)
    html = client.get(url).content.decode()
    assert "2" in html.split('id="log-retention-now"')[1].split("</p>")[0]
    # Empty: forever again; archive unchecked.
    assert client.post(url, {"retention_months": ""}).status_code == 302
    chain.refresh_from_db()
    assert (chain.retention_months, chain.archive) == (None, False)
    assert (
        LogEntry.objects.filter(contract=me.contract, action=LogAction.SETTINGS_CHANGED).count()
        == 2
    )


@pytest.mark.parametrize("account", ["a1", "b1"])
@pytest.mark.parametrize("months", ["0", "1201", "abc", "1.5"])
def test_the_settings_page_refuses_bad_months(cast: Cast, account: str, months: str) -> None:
    me = getattr(cast, account)
    response = logged_in(me).post(
        f"/{me.contract.domain}/settings/log/", {"retention_months": months, "archive": "on"}
    )
    assert response.status_code == 200
    assert 'id="id_retention_months-error"' in response.content.decode()
    assert not LogChain.objects.filter(contract=me.contract, retention_months__isnull=False)
    assert not LogEntry.objects.filter(action=LogAction.SETTINGS_CHANGED).exists()


@pytest.mark.parametrize("who", ["a2", "a3", "a4"])
def test_only_system_administrators_see_and_change_the_settings(orgs: OrgCast, who: str) -> None:
    account = getattr(orgs, who)
    client = logged_in(account)
    assert client.get("/alpha/settings/log/").status_code == 403
    assert client.post("/alpha/settings/log/", {"retention_months": "1"}).status_code == 403
    token = api_client(account)
    assert token.get("/api/v1/settings/log").status_code == 403
    body = {"retention_months": 1, "archive": True}
    assert (
        token.put("/api/v1/settings/log", body, content_type="application/json").status_code == 403
    )
    assert not LogChain.objects.filter(retention_months__isnull=False).exists()
    assert "settings-log" not in logged_in(account).get("/alpha/settings/").content.decode()


def test_the_api_reads_and_changes_the_settings(cast: Cast) -> None:
    client = api_client(cast.a1)
    assert client.get("/api/v1/settings/log").json() == {"retention_months": None, "archive": True}
    body = {"retention_months": 36, "archive": False}
    response = client.put("/api/v1/settings/log", body, content_type="application/json")
    assert response.status_code == 200 and response.json() == body
    assert client.get("/api/v1/settings/log").json() == body
    (entry,) = LogEntry.objects.filter(action=LogAction.SETTINGS_CHANGED)
    assert entry.actor_kind == "api"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"retention_months": 0, "archive": True}, "invalid"),
        ({"retention_months": 1201, "archive": True}, "invalid"),
        ({"retention_months": "12", "archive": True}, "invalid_request"),
        ({"retention_months": 12, "archive": "yes"}, "invalid_request"),
        ({"retention_months": 12}, "invalid_request"),
        ({"retention_months": 12, "archive": True, "keep": "all"}, "invalid_request"),
    ],
)
def test_the_api_refuses_bad_settings(cast: Cast, body: dict, code: str) -> None:
    response = api_client(cast.a1).put(
        "/api/v1/settings/log", body, content_type="application/json"
    )
    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert any(d["field"] in ("retention_months", "archive", "keep") for d in error["details"])
    assert not LogChain.objects.filter(retention_months__isnull=False).exists()


def test_an_archive_that_cannot_be_written_stops_that_contract_only(
    cast: Cast, history: int, _archive_dir: Path
) -> None:
    keep(cast, 1, contract=cast.b)
    _archive_dir.mkdir(parents=True)
    (_archive_dir / "alpha").write_text("a file where the directory should be")
    older = LogEntry.objects.filter(contract=cast.b, created_at__lt=at(2026, 2, 1)).count()
    a, b = run(at(2026, 3, 20))
    # B: its opening entries and January's (its setting's entry, numbered after March's, stays).
    assert (a.removed, b.removed) == (0, older - 1)
    assert seqs(cast.b)[0] == b.removed + 1
    assert "cannot be written" in a.stopped and b.stopped == ""
    assert seqs(cast.a)[0] == 1
    assert log_chain_verify(cast.a) is None and log_chain_verify(cast.b) is None
