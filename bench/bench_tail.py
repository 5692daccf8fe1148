"""The follower on a backlog: how it reads new hits, and what folding them costs.

On a throwaway PostgreSQL holding 200,000 hits (20 devices), three comparisons,
variants taking turns, medians of the rounds, ratios to the first variant:

1. Reading: the counters' chunks, 20,000 rows at a time, with received_at
   (psycopg and Django parse each timestamp in Python) or with received_ns
   (follow.tail.EpochNs: the database sends an integer). CPU of this process.
2. Keeping up: hits keep arriving, 5,000 at a time (50 uploads of 100), and
   after each the counters catch up (follow.tail.catch_up), as the follower
   does under load: every catch-up is a new range of commit_xids, past the
   table's statistics (taken when it held the first 10,000 rows; autovacuum
   is off for the table, so they stay so, as between autovacuum's analyses).
   As before (the reference: a range's first chunk asks for ids above 0, and
   PostgreSQL plans each chunk as it likes), or as follow.tail reads now (a
   range starts at its first id, found through the BRIN index, and each chunk
   walks the id index from the mark). 40 catch-ups per variant and round;
   wall time and CPU of this process and of PostgreSQL during the catch-ups.
3. Keeping up while VACUUM holds the table: the same, as follow.tail reads
   now, with another connection holding the lock VACUUM takes (SHARE UPDATE
   EXCLUSIVE), so the follower cannot summarize the BRIN index. Trying before
   every range, each try waiting its 100 ms lock timeout (the reference, as
   before), or trying again SUMMARIZE_RETRY_S after a refusal (now).

    .venv/bin/python bench/bench_tail.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cpu
from bench.bench_dashboard import BENCH_KEY
from crowdray.process import crowdray, service_env
from crowdray.testing.postgres import ThrowawayPostgres

ROWS, CHUNK, DEVICES = 200_000, 20_000, 20
STEPS, STEP = 40, 5_000  # keeping up: rows arrive STEP at a time
READS = {
    "received_at (timestamps parsed in Python)": ("device_id", "t_ns", "lat", "lon", "received_at"),
    "received_ns (epoch ns from the database)": ("device_id", "t_ns", "lat", "lon", "received_ns"),
}


def store(device: Any, first: int, n: int) -> None:
    from ingest.store import insert_hits

    now = time.time_ns()
    for start in range(first, first + n, 100):
        seqs = list(range(start, start + 100))
        insert_hits(
            device.id,
            {
                "seq": seqs,
                "t_ns": [now - 10**6 * (s % 60_000) for s in seqs],
                "lat": [46.2] * 100,
                "lon": [6.1] * 100,
            },
        )


def fill() -> Any:
    """Store ROWS hits, the statistics taken after the first device's; returns a device."""
    from django.db import connection

    from ingest.models import Device

    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE ingest_hit SET (autovacuum_enabled = false)")
    for n in range(DEVICES):
        if n == 1:
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE ingest_hit")
        store(Device.register()[0], 0, ROWS // DEVICES)
    return Device.register()[0]


def cpu_per_1e5(fields: tuple[str, ...]) -> float:
    """CPU seconds of this process per 10^5 rows, reading every row once."""
    from follow import tail
    from ingest.models import ConsumerMark

    ConsumerMark.objects.filter(consumer="bench").delete()
    start, n = time.process_time(), 0
    while n < ROWS:
        chunk = tail.next_chunk("bench", "hits", fields, CHUNK)
        assert chunk is not None
        n += len(chunk.columns["t_ns"])
        tail.save_mark("bench", "hits", chunk.done, 0)
    return (time.process_time() - start) / n * 1e5


def summarized(dsn: str) -> None:
    """Every variant starts with the BRIN index covering the whole table.

    Without it a variant would inherit the pages its predecessor left
    unsummarized (with VACUUM's lock held, or with the old read, nothing
    summarizes them), and pay for reading them.
    """
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT brin_summarize_new_values('ingest_hit_commit_xid'::regclass)")


@contextlib.contextmanager
def vacuum_holding(dsn: str) -> Iterator[None]:
    """The hits table locked by another connection as VACUUM locks it, until the block ends."""
    with psycopg.connect(dsn) as conn:
        conn.execute("LOCK TABLE ingest_hit IN SHARE UPDATE EXCLUSIVE MODE")
        yield
        conn.rollback()


def keeping_up(
    device: Any, first_seq: int, before: bool, retry_s: float | None = None
) -> tuple[float, float, float]:
    """Wall, this process's CPU and PostgreSQL's CPU seconds per 10^5 rows folded.

    retry_s: seconds before the follower tries summarizing again after VACUUM's lock
    stopped it (follow.tail.SUMMARIZE_RETRY_S); None leaves it as it is.
    """
    from follow import tail
    from follow.counters import Counters

    tail.catch_up(Counters())
    tail._not_before.clear()
    steer, first_id, retry = tail._planner, tail._first_id, dict(tail.SUMMARIZE_RETRY_S)
    if before:
        tail._planner = lambda *_: contextlib.nullcontext()  # type: ignore[assignment]
        tail._first_id = lambda stream, lo, hi: (
            1 if tail._between(stream, lo, hi).exists() else None
        )
    if retry_s is not None:
        tail.SUMMARIZE_RETRY_S["busy"] = retry_s
    took = own = postgres = 0.0
    n = 0
    try:
        for step in range(STEPS):
            store(device, first_seq + step * STEP, STEP)
            start, cpu_start, snap = time.perf_counter(), time.process_time(), cpu.snapshot()
            n += sum((tail.catch_up(Counters()) or {}).values())
            took += time.perf_counter() - start
            own += time.process_time() - cpu_start
            postgres += cpu.used(snap, cpu.snapshot())["postgres"]
    finally:
        tail._planner, tail._first_id = steer, first_id
        tail.SUMMARIZE_RETRY_S.update(retry)
    assert n == STEPS * STEP, n
    return took / n * 1e5, own / n * 1e5, postgres / n * 1e5


def report(name: str, values: list[float], reference: float) -> None:
    median = statistics.median(values)
    rounds = " / ".join(f"{v:.3f}" for v in values)
    print(f"  {name}: {median:.3f} s per 10^5 rows ({median / reference:.2f}x; rounds {rounds})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with ThrowawayPostgres(durable=False) as pg:
        crowdray(
            "migrate",
            "--verbosity",
            "0",
            env=service_env(DATABASE_URL=pg.url, SECRET_KEY=BENCH_KEY),
        )
        os.environ.update(
            DATABASE_URL=pg.url, SECRET_KEY=BENCH_KEY, DJANGO_SETTINGS_MODULE="crowdray.settings"
        )
        import django

        django.setup()
        device, seq = fill(), 0
        times: dict[str, list[float]] = {name: [] for name in READS}
        folds: dict[str, list[tuple[float, float, float]]] = {PLANS[0]: [], PLANS[1]: []}
        held: dict[str, list[tuple[float, float, float]]] = {RETRIES[0]: [], RETRIES[1]: []}
        for _ in range(args.rounds):
            for name, fields in READS.items():
                times[name].append(cpu_per_1e5(fields))
            for before, name in zip((True, False), PLANS, strict=True):
                summarized(pg.url)
                folds[name].append(keeping_up(device, seq, before))
                seq += STEPS * STEP
            for retry_s, name in zip((0.0, None), RETRIES, strict=True):
                summarized(pg.url)
                with vacuum_holding(pg.url):
                    held[name].append(keeping_up(device, seq, before=False, retry_s=retry_s))
                seq += STEPS * STEP
    print("Reading the counters' columns, CPU of the reading process:")
    reference = statistics.median(next(iter(times.values())))
    for name, values in times.items():
        report(name, values, reference)
    print(f"Keeping up with hits arriving {STEP:,} at a time:")
    compare(folds, PLANS)
    print("The same, while another connection holds the table as VACUUM does:")
    compare(held, RETRIES)


def compare(figures: dict[str, list[tuple[float, float, float]]], names: tuple[str, str]) -> None:
    for i, what in enumerate(("wall time", "CPU of the follower", "CPU of PostgreSQL")):
        reference = statistics.median(f[i] for f in figures[names[0]])
        for name in names:
            report(f"{name}, {what}", [f[i] for f in figures[name]], reference)


PLANS = ("as before (the reference)", "from the range's first id, along the id index")
RETRIES = (
    "trying to summarize before every range (the reference)",
    "trying again 10 s after a refusal",
)


if __name__ == "__main__":
    main()
