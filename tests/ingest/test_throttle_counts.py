"""The shared throttle counts: every worker's increments land, from the first request on."""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

from ingest.throttle import SqliteCounter

WORKERS = 16


def _count_once(path: str, ready: Barrier, out: Queue[str]) -> None:
    ready.wait()  # every process opens the new file at the same moment
    try:
        out.put(str(SqliteCounter(Path(path)).increment("public:192.0.2.1:60:1", 60.0)))
    except Exception as exc:  # noqa: BLE001 - the test reports whatever a worker hit
        out.put(repr(exc))


def test_workers_that_open_a_new_count_file_together_all_count(tmp_path):
    # Without waiting out the lock, ~15 % of such openings had a worker fail.
    for round_ in range(30):
        path = str(tmp_path / f"throttle-{round_}.sqlite3")
        ready: Barrier = mp.Barrier(WORKERS)
        out: Queue[str] = mp.Queue()
        procs = [mp.Process(target=_count_once, args=(path, ready, out)) for _ in range(WORKERS)]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(30)
        counts = sorted(out.get(timeout=5) for _ in procs)
        assert counts == sorted(str(n) for n in range(1, WORKERS + 1))
