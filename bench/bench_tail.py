"""The follower's reading of new hits: received_at as timestamps (the reference) or as epoch ns.

On a throwaway PostgreSQL holding 200,000 hits (20 devices), the counters'
chunks are read with ingest.tail.next_chunk, 20,000 rows at a time, once with
received_at (psycopg and Django parse each timestamp in Python) and once with
received_ns (ingest.tail.EpochNs: the database sends an integer). The two
take turns; prints this process's CPU seconds per 10^5 rows for each, the
median of the rounds, and the ratio to the reference.

    .venv/bin/python bench/bench_tail.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_dashboard import BENCH_KEY
from crowdray.process import crowdray, service_env
from crowdray.testing.postgres import ThrowawayPostgres

ROWS, CHUNK, DEVICES = 200_000, 20_000, 20
READS = {
    "received_at (timestamps parsed in Python)": ("device_id", "t_ns", "lat", "lon", "received_at"),
    "received_ns (epoch ns from the database)": ("device_id", "t_ns", "lat", "lon", "received_ns"),
}


def fill() -> None:
    from ingest.store import insert_hits
    from tests.factories import make_device

    now = time.time_ns()
    for _ in range(DEVICES):
        device = make_device()[0]
        for first in range(0, ROWS // DEVICES, 100):
            seqs = list(range(first, first + 100))
            insert_hits(device.id, {"seq": seqs, "t_ns": [now - 10**9 * s for s in seqs],
                                    "lat": [46.2] * 100, "lon": [6.1] * 100})  # fmt: skip


def cpu_per_1e5(fields: tuple[str, ...]) -> float:
    """CPU seconds of this process per 10^5 rows, reading every row once."""
    from ingest import tail
    from ingest.models import ConsumerMark

    ConsumerMark.objects.filter(consumer="bench").delete()
    start, n = time.process_time(), 0
    while n < ROWS:
        chunk = tail.next_chunk("bench", "hits", fields, CHUNK)
        assert chunk is not None
        n += len(chunk.columns["t_ns"])
        tail.save_mark("bench", "hits", chunk.done, 0)
    return (time.process_time() - start) / n * 1e5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with ThrowawayPostgres(durable=False) as pg:
        crowdray("migrate", "--verbosity", "0", env=service_env(DATABASE_URL=pg.url,
                                                                SECRET_KEY=BENCH_KEY))  # fmt: skip
        os.environ.update(DATABASE_URL=pg.url, SECRET_KEY=BENCH_KEY,
                          DJANGO_SETTINGS_MODULE="crowdray.settings")  # fmt: skip
        import django

        django.setup()
        fill()
        times: dict[str, list[float]] = {name: [] for name in READS}
        for _ in range(args.rounds):
            for name, fields in READS.items():
                times[name].append(cpu_per_1e5(fields))
    reference = statistics.median(next(iter(times.values())))
    for name, values in times.items():
        median = statistics.median(values)
        rounds = " / ".join(f"{v:.3f}" for v in values)
        print(
            f"{name}: {median:.3f} s CPU per 10^5 rows ({median / reference:.2f}x; rounds {rounds})"
        )


if __name__ == "__main__":
    main()
