"""Hits and exposure blocks by UTC day: on PostgreSQL each day is a partition of its own.

A million phones send 7.2 x 10^8 hits a day. With a partition per day
(declarative partitioning, by t_ns for hits and by end_ns for blocks, the
lake's own split), a day leaves the database as one DROP TABLE once the lake
holds it (follow.retention), and readers of a time range touch only its days.

- A day's partition is made before its rows arrive: the follower makes today's
  and the next two days' ahead, and an upload makes any day it needs that is
  missing (a fresh database, a backlog). A row that finds no day of its own
  (a direct ORM insert, a bench) lands in the DEFAULT partition; making its day
  later moves it there, so no row is ever refused for want of a partition.
- A unique key on a partitioned table must hold the partition's column, so
  the idempotency keys are (device, seq, t_ns) and (device, block_id, end_ns):
  a retry resends the same hit or block and matches.
- The days that left are recorded (ArchivedDay); readers reaching before them
  say that those days are only in the lake (`only_in_lake`).

On SQLite there are no partitions and nothing leaves the database.
"""

from __future__ import annotations

import logging
from datetime import date

from django.db import connection, models, transaction

from ingest.models import ArchivedDay, ExposureBlock, Hit
from vocab.contracts import lake_partition
from vocab.units import NS_PER_DAY

log = logging.getLogger(__name__)
# Each partitioned table's partition column.
KEYS: dict[type[models.Model], str] = {Hit: "t_ns", ExposureBlock: "end_ns"}
_EPOCH = date(1970, 1, 1).toordinal()
_known: set[tuple[str, int]] = set()  # days this process saw made (outside a transaction)


class OnlyInLakeError(ValueError):
    """A time range reaches days that left the database for the lake."""


def partitioned() -> bool:
    return connection.vendor == "postgresql"


def day_of(t_ns: int) -> int:
    """The UTC epoch day of a time in ns."""
    return t_ns // NS_PER_DAY


def day_text(day: int) -> str:
    """The day as the lake names its partitions (YYYY-MM-DD)."""
    return lake_partition(day * NS_PER_DAY)[0]


def partition_name(table: str, day: int) -> str:
    return f"{table}_d{day_text(day).replace('-', '')}"


def default_name(table: str) -> str:
    return f"{table}_default"


def held_days(model: type[models.Model]) -> set[int]:
    """The days that have a partition of their own."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [table],
        )
        names = [row[0] for row in cursor.fetchall()]
    prefix = f"{table}_d"
    return {
        date.fromisoformat(n[len(prefix) :]).toordinal() - _EPOCH
        for n in names
        if n.startswith(prefix) and n[len(prefix) :].isdigit()
    }


def ensure_days(model: type[models.Model], lo_ns: int, hi_ns: int) -> None:
    """Make sure each UTC day from lo_ns to hi_ns (both included) has its partition."""
    if not partitioned():
        return
    table = model._meta.db_table
    days = [d for d in range(day_of(lo_ns), day_of(hi_ns) + 1) if (table, d) not in _known]
    if not days:
        return
    for day in sorted(set(days) - held_days(model)):
        make_day(table, KEYS[model], day)
    # Inside a transaction a day found may have been made by it, and go if it rolls back.
    if not connection.in_atomic_block:
        _known.update((table, d) for d in days)


def make_day(table: str, key: str, day: int) -> None:
    """Give one day its partition, moving in any rows of it the DEFAULT partition holds."""
    part, default = partition_name(table, day), default_name(table)
    lo, hi = day * NS_PER_DAY, (day + 1) * NS_PER_DAY
    with transaction.atomic(), connection.cursor() as cursor:
        # Uploads of one new day race to make it: one makes it, the others find it.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"crowdray-days:{table}"])
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [part])
        if cursor.fetchone()[0]:
            return
        # LIKE + ATTACH rather than PARTITION OF: attaching locks the parent less
        # (SHARE UPDATE EXCLUSIVE), and the DEFAULT rows can be moved in between.
        cursor.execute(f'CREATE TABLE "{part}" (LIKE "{table}" INCLUDING DEFAULTS)')
        cursor.execute(
            f'WITH moved AS (DELETE FROM "{default}" WHERE {key} >= %s AND {key} < %s '
            f'RETURNING *) INSERT INTO "{part}" SELECT * FROM moved',
            [lo, hi],
        )
        if cursor.rowcount:
            log.info("%s: %d rows moved from %s", part, cursor.rowcount, default)
        cursor.execute(
            f'ALTER TABLE "{table}" ATTACH PARTITION "{part}" FOR VALUES FROM (%s) TO (%s)',
            [lo, hi],
        )
    log.info("made partition %s (%s)", part, day_text(day))


def drop_day(model: type[models.Model], day: int, rows: int) -> None:
    """Drop one day's partition and record it (follow.retention decides when)."""
    table = model._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{partition_name(table, day)}"')
        ArchivedDay.objects.create(table=table, day=day, rows=rows)
    _known.discard((table, day))


def held_since_ns(model: type[models.Model]) -> int | None:
    """Where the database's days of a table begin, if any day left it; else None."""
    newest = (
        ArchivedDay.objects.filter(table=model._meta.db_table)
        .aggregate(newest=models.Max("day"))
        .get("newest")
    )
    return None if newest is None else (int(newest) + 1) * NS_PER_DAY


def left_for_lake(model: type[models.Model], t_ns: int) -> bool:
    """Whether t_ns falls in a day of the table that left the database for the lake."""
    held = held_since_ns(model)
    return held is not None and t_ns < held


def only_in_lake(model: type[models.Model], since_ns: int | None, what: str) -> None:
    """Raise OnlyInLakeError if [since_ns, ...) reaches days that left the database."""
    held = held_since_ns(model)
    if held is None or (since_ns is not None and since_ns >= held):
        return
    raise OnlyInLakeError(
        f"{what} before {day_text(day_of(held))} are only in the lake now (the database "
        f"keeps CROWDRAY_DB_RETENTION_DAYS days): start at {day_text(day_of(held))} or later, "
        "or read the lake's Parquet"
    )
