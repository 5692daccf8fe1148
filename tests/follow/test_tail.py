"""The follower's commit-safe tail: marks, crashes, concurrent commits, lag, one worker."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection, connections, transaction

from follow import tail
from follow.counters import Counters
from follow.follower import run_all, status
from ingest.models import ConsumerMark, Hit, Minute
from ingest.store import insert_hits
from tests.factories import make_device
from vocab.units import NS_PER_MIN

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
T0 = 1_790_000_000_000_000_000 // NS_PER_MIN * NS_PER_MIN
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def store(n: int, first_seq: int = 0, device: Any = None) -> Any:
    device = device or make_device()[0]
    insert_hits(
        device.id,
        {
            "seq": list(range(first_seq, first_seq + n)),
            "t_ns": [T0 + i for i in range(n)],
            "lat": [46.2] * n,
            "lon": [6.1] * n,
        },
    )
    return device


def counted() -> int:
    return sum(Minute.objects.values_list("hits", flat=True))


class Recorder(tail.Consumer):
    """Remembers every hit id it is given, in small chunks."""

    name = "recorder"
    streams = {"hits": ("seq",)}
    chunk_rows = 3

    def __init__(self) -> None:
        self.ids: list[int] = []

    def fold(self, chunk: tail.Chunk) -> None:
        self.ids += chunk.columns["id"]


def test_a_consumer_gets_every_row_once_in_small_chunks_across_runs():
    store(7)
    recorder = Recorder()
    assert tail.catch_up(recorder) == {"hits": 7}
    store(5, first_seq=100)
    assert tail.catch_up(recorder) == {"hits": 5}
    assert tail.catch_up(recorder) == {"hits": 0}
    assert len(recorder.ids) == len(set(recorder.ids)) == 12
    assert ConsumerMark.objects.get(consumer="recorder").rows == 12


def test_a_follower_killed_mid_fold_counts_nothing_twice_and_skips_nothing():
    store(10)
    counters = Counters()
    counters.chunk_rows = 3
    real_fold, calls = counters.fold, []

    def dies_on_the_third_chunk(chunk: tail.Chunk) -> None:
        calls.append(chunk.n)
        real_fold(chunk)  # the counters are written ...
        if len(calls) == 3:
            raise KeyboardInterrupt  # ... and the process dies before the commit

    counters.fold = dies_on_the_third_chunk  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        tail.catch_up(counters)
    assert counted() == 6  # two chunks committed, the third rolled back with its mark
    assert tail.catch_up(Counters()) == {"hits": 4, "exposures": 0}
    assert counted() == 10


def test_an_idempotent_consumer_killed_before_its_mark_moves_gets_the_same_chunk_again():
    store(5)
    recorder = Recorder()
    real_save = tail.save_mark
    saves = []

    def dies_before_the_second_chunk_is_marked(*args: Any) -> None:
        saves.append(args)
        if len(saves) == 3:  # the range, the first chunk, then here
            raise KeyboardInterrupt
        real_save(*args)

    tail.save_mark = dies_before_the_second_chunk_is_marked  # type: ignore[assignment]
    try:
        with pytest.raises(KeyboardInterrupt):
            tail.catch_up(recorder)
    finally:
        tail.save_mark = real_save
    seen = list(recorder.ids)
    tail.catch_up(recorder)
    assert recorder.ids[len(seen) :][:2] == seen[3:5]  # the same two rows again
    assert sorted(set(recorder.ids)) == sorted(seen[:3] + seen[3:5])


def test_only_one_process_works_a_consumer_at_a_time():
    store(2)
    with tail.exclusive("counters") as mine:
        assert mine
        result: list[Any] = []
        # Another process is simulated by another thread with its own connection.
        other = threading.Thread(target=lambda: result.append(_catch_up_elsewhere()))
        other.start()
        other.join()
    assert result == [None]
    assert tail.catch_up(Counters()) == {"hits": 2, "exposures": 0}


def _catch_up_elsewhere() -> Any:
    try:
        return tail.catch_up(Counters())
    finally:
        connections.close_all()


def test_status_shows_the_rows_not_yet_folded_and_then_none():
    store(4)
    lag = status()["counters"]
    assert lag["rows"] == 4 and lag["folded"] == 0 and lag["seconds"] >= 0
    tail.catch_up(Counters())
    lag = status()["counters"]
    assert (lag["rows"], lag["seconds"], lag["folded"]) == (0, 0.0, 4)


@pytest.mark.postgres_only
def test_an_upload_that_commits_late_is_still_counted_once():
    """Ids are taken in one order and committed in another; the tail waits for the slow one."""
    device = make_device()[0]
    held, release, done = threading.Event(), threading.Event(), threading.Event()

    def slow_upload() -> None:
        try:
            with transaction.atomic():
                store(3, first_seq=0, device=device)  # takes the smaller ids ...
                held.set()
                release.wait(30)  # ... and commits last
        finally:
            connections.close_all()
            done.set()

    thread = threading.Thread(target=slow_upload)
    thread.start()
    assert held.wait(30)
    store(5, first_seq=100, device=device)  # larger ids, committed first
    first = tail.catch_up(Counters())
    assert first is not None and first["hits"] == 0  # nothing is safe while an older upload runs
    release.set()
    assert done.wait(30)
    thread.join()
    tail.catch_up(Counters())
    assert counted() == 8
    tail.catch_up(Counters())
    assert counted() == 8
    assert connection.vendor == "postgresql"


@contextmanager
def held_as_vacuum_holds_it() -> Iterator[dict[str, bool]]:
    """The hits table locked by another connection as VACUUM locks it, until the block ends.

    Yields what happened: whether the block ended within 10 s.
    """
    holding, release, outcome = threading.Event(), threading.Event(), {}

    def vacuum_like() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {Hit._meta.db_table} IN SHARE UPDATE EXCLUSIVE MODE")
                holding.set()
                outcome["released in time"] = release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=vacuum_like)
    thread.start()
    assert holding.wait(30)
    try:
        yield outcome
    finally:
        release.set()
        thread.join()


@pytest.mark.postgres_only
def test_a_vacuum_holding_the_hits_table_does_not_stop_the_follower():
    """The follower summarizes the commit_xid BRIN index, which VACUUM's lock blocks: it skips."""
    store(4)
    with held_as_vacuum_holds_it() as outcome:
        assert tail.catch_up(Counters()) == {"hits": 4, "exposures": 0}
    assert outcome == {"released in time": True}  # the follower did not wait for the lock
    store(2, first_seq=100)
    tail.catch_up(Counters())
    assert counted() == 6


@pytest.fixture(autouse=True)
def _summarizing_not_put_off() -> Any:
    """Each test starts, and leaves the next, with no summarizing put off."""
    tail._not_before.clear()
    yield
    tail._not_before.clear()


def summarize_now() -> int:
    """Page ranges of the hits' BRIN index that were left unsummarized."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sum(brin_summarize_new_values(inhrelid)) FROM pg_inherits "
            "WHERE inhparent = 'ingest_hit_commit_xid'::regclass"
        )
        return int(cursor.fetchone()[0] or 0)


@pytest.mark.postgres_only
def test_while_vacuum_holds_the_index_the_follower_waits_once_then_tries_again_later(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    """One 100 ms wait per VACUUM, not one per range; summarizing resumes after the delay."""
    monkeypatch.setitem(tail.SUMMARIZE_RETRY_S, "busy", 1.0)
    caplog.set_level(logging.INFO, logger="follow.tail")
    with held_as_vacuum_holds_it():
        for n in range(3):  # three ranges while the lock is held
            store(2, first_seq=10 * n)
            assert tail.catch_up(Counters()) == {"hits": 2, "exposures": 0}
    skipped = [r for r in caplog.records if "not summarized now" in r.getMessage()]
    assert len(skipped) == 1
    time.sleep(1.1)
    store(30_000, first_seq=100)  # new page ranges (128 pages each), past the summarized ones
    assert tail.catch_up(Counters()) == {"hits": 30_000, "exposures": 0}
    assert summarize_now() == 0  # the follower summarized them


@pytest.mark.postgres_only
def test_a_follower_whose_role_does_not_own_the_tables_still_counts_every_hit(
    caplog: pytest.LogCaptureFixture,
):
    """Only an owner may summarize the BRIN index; without it the follower is slower, not wrong.

    It says so once, not before every range.
    """
    device = store(3)
    with connection.cursor() as cursor:
        cursor.execute(
            "DO $$ BEGIN CREATE ROLE crowdray_follower_test; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        )
        cursor.execute("GRANT ALL ON ALL TABLES IN SCHEMA public TO crowdray_follower_test")
        cursor.execute("GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO crowdray_follower_test")
        cursor.execute("SET ROLE crowdray_follower_test")
    try:
        assert tail.catch_up(Counters()) == {"hits": 3, "exposures": 0}
        store(2, first_seq=100, device=device)
        assert tail.catch_up(Counters()) == {"hits": 2, "exposures": 0}
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
    assert counted() == 5
    warned = [r for r in caplog.records if "not summarized, the follower reads slower" in r.msg]
    assert len(warned) == 2  # once for each table's index


class Stuck(tail.Consumer):
    """A consumer in its own thread whose first fold waits until released: a long search."""

    name = "stuck"
    streams = {"hits": ("seq",)}
    own_thread = True

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()

    def fold(self, chunk: tail.Chunk) -> None:
        self.entered.set()
        assert self.release.wait(60)


@pytest.mark.postgres_only
def test_a_consumer_in_its_own_thread_never_holds_back_the_counters():
    """PostgreSQL only: SQLite's test database lives in memory.

    There a reader in one thread locks a table against writers in another without
    waiting. serve's SQLite is a file, where they wait (test_follow_live runs the
    live thread beside the counters).
    """
    stuck, stop = Stuck(), threading.Event()
    follower = threading.Thread(target=run_all, args=([Counters(0.05), stuck], stop))
    follower.start()
    try:
        store(5)
        assert stuck.entered.wait(30)
        store(7, first_seq=100)  # arrives while the stuck consumer is mid-fold
        deadline = time.monotonic() + 30
        while counted() < 12 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert counted() == 12 and not stuck.release.is_set()
    finally:
        stuck.release.set()
        stop.set()
        follower.join(30)
    assert not follower.is_alive()
    assert ConsumerMark.objects.get(consumer="stuck").rows == 12


def test_received_ns_is_received_at_to_the_microsecond():
    device = store(3)
    times = [
        datetime(2026, 11, 23, 21, 30, 5, 123456, tzinfo=UTC),
        datetime(2026, 11, 23, 21, 30, 6, tzinfo=UTC),  # stored without a fraction
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ]
    for seq, when in enumerate(times):
        Hit.objects.filter(device=device, seq=seq).update(received_at=when)
    chunk = tail.next_chunk("probe", "hits", ("seq", "received_ns"), 10)
    assert chunk is not None
    got = dict(zip(chunk.columns["seq"], chunk.columns["received_ns"], strict=True))
    assert got == {
        seq: (when - EPOCH) // timedelta(microseconds=1) * 1000 for seq, when in enumerate(times)
    }
