"""Insert benchmark: what each part of the hits table costs one 100-hit upload's INSERT.

On a throwaway PostgreSQL (fsync on), one client runs the upload's statement
(INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING) 300 times per
variant and round, each its own transaction: the table as migrated (and the
same rows by COPY, the upload's first try), with a
foreign key constraint to the devices table added back (what migration 0006
removed), and without the follower's commit_xid index (a BRIN index), and with a B-tree
index in its place. Prints the median ms
per 100 hits and the ratio to the table as migrated.

    .venv/bin/python bench/bench_insert.py [--batches 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_dashboard import BENCH_KEY
from crowdray.process import crowdray, service_env
from crowdray.testing.postgres import ThrowawayPostgres
from ingest.pg_arrays import copy_rows

INSERT = (
    "INSERT INTO ingest_hit (device_id, received_at, seq, t_ns, lat, lon) "
    "SELECT %b::uuid, %b::timestamptz, u.* FROM unnest(%b::bigint[], %b::bigint[], "
    "%b::float8[], %b::float8[]) AS u ON CONFLICT (device_id, seq, t_ns) DO NOTHING RETURNING 1"
)


COPY = "COPY ingest_hit (device_id, received_at, seq, t_ns, lat, lon) FROM STDIN (FORMAT BINARY)"


def ms_per_batch(
    conn: psycopg.Connection[Any], device: uuid.UUID, batches: int, copy: bool = False
) -> float:
    """Mean ms per 100-hit batch; copy: by the upload's COPY instead of the INSERT."""
    seq0 = int(conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM ingest_hit").fetchone()[0])  # type: ignore[index]
    start = time.perf_counter()
    for b in range(batches):
        seqs = list(range(seq0 + 100 * b, seq0 + 100 * (b + 1)))
        now = time.time_ns()
        columns: dict[str, list[Any]] = {
            "seq": seqs,
            "t_ns": [now] * 100,
            "lat": [46.2] * 100,
            "lon": [6.1] * 100,
        }
        if copy:
            rows = copy_rows(device, datetime.now(UTC), columns)
            with conn.cursor() as cur, cur.copy(COPY) as stream:
                stream.write(rows or b"")
        else:
            conn.execute(INSERT, [device, datetime.now(UTC), *columns.values()]).fetchall()
    return (time.perf_counter() - start) / batches * 1000


VARIANTS = {
    "as migrated": ([], []),
    "with a foreign key to the devices": (
        [
            (
                "ALTER TABLE ingest_hit ADD CONSTRAINT bench_fk FOREIGN KEY (device_id) "
                "REFERENCES ingest_device (id)"
            )
        ],
        ["ALTER TABLE ingest_hit DROP CONSTRAINT bench_fk"],
    ),
    "without the commit_xid index": (
        ["DROP INDEX ingest_hit_commit_xid"],
        ["CREATE INDEX ingest_hit_commit_xid ON ingest_hit (commit_xid, id)"],
    ),
    "with a B-tree (commit_xid, id) index instead": (
        [
            "DROP INDEX ingest_hit_commit_xid",
            "CREATE INDEX ingest_hit_commit_xid ON ingest_hit (commit_xid, id)",
        ],
        [
            "DROP INDEX ingest_hit_commit_xid",
            "CREATE INDEX ingest_hit_commit_xid ON ingest_hit USING brin (commit_xid)",
        ],
    ),
    # The upload's first try (ingest.store): the same rows by COPY, no ON CONFLICT.
    "as migrated, by COPY": ([], []),
}
COPY_VARIANT = "as migrated, by COPY"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    env = service_env(DATABASE_URL="", SECRET_KEY=BENCH_KEY)
    with ThrowawayPostgres(durable=True) as pg:
        crowdray("migrate", "--verbosity", "0", env={**env, "DATABASE_URL": pg.url})
        with psycopg.connect(pg.url, autocommit=True) as conn:
            device = uuid.uuid4()
            conn.execute(
                "INSERT INTO ingest_device (id, token_hash, model, os, app_version, created_at, "
                "is_active) VALUES (%s, 'bench', '', '', '', now(), true)",
                [device],
            )
            ms_per_batch(conn, device, 100)  # warm up
            # Variants take turns, so the table's growth and the server's
            # checkpoints fall on all of them alike; the median is reported.
            times: dict[str, list[float]] = {name: [] for name in VARIANTS}
            for _ in range(args.rounds):
                for name, (setup, undo) in VARIANTS.items():
                    for sql in setup:
                        conn.execute(sql)
                    copy = name == COPY_VARIANT
                    times[name].append(ms_per_batch(conn, device, args.batches, copy))
                    for sql in undo:
                        conn.execute(sql)
    base = statistics.median(times["as migrated"])
    for name, values in times.items():
        ms = statistics.median(values)
        print(f"{name}: {ms:.2f} ms per 100 hits ({ms / base:.2f}x), rounds {values}")


if __name__ == "__main__":
    main()
