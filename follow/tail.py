"""A commit-safe tail of the hits and exposure tables, one mark per consumer.

Rows become visible in commit order, and on PostgreSQL that is not id order:
an upload that took ids 100-199 may commit after one that took 200-299. So the
tail does not follow ids alone. On PostgreSQL every row carries the id of the
transaction that wrote it (column `commit_xid`, added by migration 0005), and
every transaction older than the current snapshot's xmin has finished: no row
with commit_xid < xmin can still appear. A consumer takes the rows with
lo <= commit_xid < hi, where hi was xmin when the range began, in id order a
chunk at a time, then starts the next range at hi. On SQLite writers take
turns, so commit order is id order and a row's position is its id.

A consumer's mark (ConsumerMark) is (lo, hi, last_id): every row with position
below lo is done, and of the range [lo, hi) the rows with id <= last_id are.
A consumer moves its mark in the same transaction as its effect, or its effect
is idempotent, so a follower killed at any point and restarted counts nothing
twice and skips nothing. One process at a time works a consumer: on
PostgreSQL an advisory lock, on SQLite a lock file, both released when the
process dies.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.db import DatabaseError, OperationalError, connection, models, transaction
from django.db.models import BigIntegerField, BooleanField, Func, Min
from django.db.models.expressions import RawSQL

from ingest.models import ConsumerMark, ExposureBlock, Hit

log = logging.getLogger(__name__)
STREAMS: dict[str, type[models.Model]] = {"hits": Hit, "exposures": ExposureBlock}


@dataclass
class Mark:
    lo: int = 0
    hi: int | None = None
    last_id: int = 0


@dataclass
class Chunk:
    """Rows of one stream as columns, and the mark once they are done."""

    stream: str
    columns: dict[str, list[Any]]
    done: Mark

    @property
    def n(self) -> int:
        return len(next(iter(self.columns.values()), []))


def _position(model: type[models.Model]) -> str:
    table = connection.ops.quote_name(model._meta.db_table)
    column = "commit_xid" if connection.vendor == "postgresql" else "id"
    return f"{table}.{column}"


def horizon(stream: str) -> int:
    """Every row at a position below this has committed (or never will)."""
    model = STREAMS[stream]
    if connection.vendor == "postgresql":
        sql = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
    else:
        sql = f"SELECT COALESCE(MAX(id), 0) + 1 FROM {model._meta.db_table}"
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return int(cursor.fetchone()[0])


def _between(stream: str, lo: int, hi: int | None) -> models.QuerySet[Any]:
    model = STREAMS[stream]
    pos = _position(model)
    if hi is None:
        where = RawSQL(f"{pos} >= %s", (lo,), output_field=BooleanField())  # noqa: S611
    else:
        where = RawSQL(f"{pos} >= %s AND {pos} < %s", (lo, hi), output_field=BooleanField())  # noqa: S611
    return model._default_manager.filter(where)


def done_rows(stream: str, mark: Mark) -> models.QuerySet[Any]:
    """The rows of a stream that a consumer at this mark has done (module docstring)."""
    model = STREAMS[stream]
    pos, table = _position(model), connection.ops.quote_name(model._meta.db_table)
    args: tuple[int, ...]
    if mark.hi is None:
        sql, args = f"{pos} < %s", (mark.lo,)
    else:
        sql = f"({pos} < %s OR ({pos} < %s AND {table}.id <= %s))"
        args = (mark.lo, mark.hi, mark.last_id)
    return model._default_manager.filter(RawSQL(sql, args, output_field=BooleanField()))  # noqa: S611


def read_mark(consumer: str, stream: str) -> Mark:
    row = ConsumerMark.objects.filter(consumer=consumer, stream=stream).first()
    return Mark(row.lo, row.hi, row.last_id) if row else Mark()


def save_mark(consumer: str, stream: str, mark: Mark, rows: int) -> None:
    """Record a consumer's progress (inside the transaction of its effect)."""
    updated = ConsumerMark.objects.filter(consumer=consumer, stream=stream).update(
        lo=mark.lo,
        hi=mark.hi,
        last_id=mark.last_id,
        rows=models.F("rows") + rows,
        updated_at=datetime.now(UTC),
    )
    if not updated:
        ConsumerMark.objects.create(
            consumer=consumer,
            stream=stream,
            lo=mark.lo,
            hi=mark.hi,
            last_id=mark.last_id,
            rows=rows,
        )


class EpochNs(Func):
    """A DateTimeField as integer epoch nanoseconds, computed by the database.

    The follower reads received_at this way: parsing each row's timestamp in
    Python took 36 % of its time folding a backlog (py-spy). Exact to the
    column's microsecond on both databases.
    """

    output_field = BigIntegerField()

    def get_db_converters(self, connection: Any) -> list[Any]:
        # Both databases send an integer: Django's int() on every row, the only
        # converter left on PostgreSQL, was 28 % of reading a chunk (cProfile).
        return []

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = "(EXTRACT(EPOCH FROM %(expressions)s) * 1000000000)::bigint"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django keeps "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC: seconds, then the microseconds.
        # (strftime's %s would read as a query parameter.) ROUND makes whole seconds exact.
        template = (
            "(CAST(ROUND((julianday(substr(%(expressions)s, 1, 19)) - 2440587.5) * 86400)"
            " AS INTEGER) * 1000000000"
            " + CAST(substr(%(expressions)s, 21, 6) AS INTEGER) * 1000)"
        )
        return self.as_sql(compiler, connection, template=template, **extra)


# Fields a consumer may ask for that the database computes from a column.
DERIVED = {"received_ns": EpochNs("received_at")}


@contextmanager
def _planner(*settings: str) -> Iterator[None]:
    """Run queries with PostgreSQL's planner steered by `SET LOCAL` settings.

    Fresh commit_xids lie past the column's statistics, and a BRIN index gives
    the planner no actual bounds, so it guesses that a range of them holds a
    few rows, whatever the range holds. Left alone it sorted the whole rest of
    the range for every chunk: 87 ms a chunk of a 200,000-row backlog, not 2-4
    (EXPLAIN ANALYZE), and the follower's database time grew with its lag.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in settings:
            cursor.execute(f"SET LOCAL {setting}")
        yield


# After a refused summarizing, seconds before the next try. A VACUUM holds the
# lock for its whole run (seconds to minutes on a big table) and summarizes at
# its end; trying before every range cost the follower 100 ms in every 140-420
# ms under bench_ingest's load (its log). A role that may not summarize stays so.
SUMMARIZE_RETRY_S = {"busy": 10.0, "refused": 600.0}
_not_before: dict[str, float] = {}  # index -> time.monotonic() of the next try


def _summarize(stream: str) -> None:
    """Have the commit_xid BRIN index cover the pages written since the last call.

    A BRIN index knows nothing of pages written since it was last summarized
    (by VACUUM, or this), so finding a range through it reads all of them: the
    follower's database time grew with the table between two autovacuums.
    Summarizing costs a read of the new pages only. If VACUUM holds the lock
    it needs, it is summarizing already: skip, for SUMMARIZE_RETRY_S. Any other
    refusal (a role that does not own the table) only costs speed, so it is
    logged, not raised.
    """
    index = f"{STREAMS[stream]._meta.db_table}_commit_xid"  # migration 0005
    if time.monotonic() < _not_before.get(index, 0.0):
        return
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '100ms'")
            # The tables are partitioned by day (ingest.days): summarize each day's index.
            cursor.execute(
                "SELECT sum(brin_summarize_new_values(inhrelid)) FROM pg_inherits "
                "WHERE inhparent = %s::regclass",
                [index],
            )
    except OperationalError as exc:
        _not_before[index] = time.monotonic() + SUMMARIZE_RETRY_S["busy"]
        log.info(
            "%s not summarized now, next try in %.0f s: %s", index, SUMMARIZE_RETRY_S["busy"], exc
        )
    except DatabaseError as exc:
        _not_before[index] = time.monotonic() + SUMMARIZE_RETRY_S["refused"]
        log.warning("%s not summarized, the follower reads slower: %s", index, exc)


def _first_id(stream: str, lo: int, hi: int) -> int | None:
    """The smallest id in [lo, hi), found through the BRIN index (None: the range is empty)."""
    if connection.vendor == "postgresql":
        _summarize(stream)
    # Walking the id index from the table's first row would read all of it.
    with _planner("enable_indexscan = off", "enable_seqscan = off"):
        first = _between(stream, lo, hi).aggregate(first=Min("id"))["first"]
    return None if first is None else int(first)


def next_chunk(consumer: str, stream: str, fields: tuple[str, ...], size: int) -> Chunk | None:
    """The next rows the consumer has not done, or None when it is caught up."""
    mark = read_mark(consumer, stream)
    if mark.hi is None:
        hi = horizon(stream)
        first = _first_id(stream, mark.lo, hi) if hi > mark.lo else None
        if first is None:
            return None
        # The range is recorded before any effect, so a redo after a crash
        # takes exactly the same rows (the lake export names files by them).
        mark = Mark(mark.lo, hi, first - 1)
        save_mark(consumer, stream, mark, 0)
    derived = {name: DERIVED[name] for name in fields if name in DERIVED}
    query = (
        _between(stream, mark.lo, mark.hi)
        .annotate(**derived)
        .filter(id__gt=mark.last_id)
        .order_by("id")
        .values_list("id", *fields)[:size]
    )
    with _planner("enable_sort = off"):  # walk the id index from last_id, stop at the chunk's end
        rows = list(query)
    done = Mark(mark.lo, mark.hi, rows[-1][0]) if len(rows) == size else Mark(mark.hi or 0)
    columns = {name: [r[i + 1] for r in rows] for i, name in enumerate(fields)}
    columns["id"] = [r[0] for r in rows]
    return Chunk(stream, columns, done)


@dataclass
class Lag:
    rows: int
    seconds: float


def lag(consumer: str, stream: str) -> Lag:
    """Rows the consumer has not done yet, and how long the oldest has waited."""
    mark = read_mark(consumer, stream)
    if mark.hi is None:
        pending = _between(stream, mark.lo, None)
    else:
        pending = _between(stream, mark.lo, mark.hi).filter(id__gt=mark.last_id) | _between(
            stream, mark.hi, None
        )
    oldest = pending.aggregate(t=Min("received_at"))["t"]
    seconds = 0.0 if oldest is None else max(0.0, time.time() - oldest.timestamp())
    return Lag(pending.count(), round(seconds, 1))


def _lock_key(consumer: str) -> int:
    digest = hashlib.sha256(f"crowdray-consumer:{consumer}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def exclusive(consumer: str) -> Iterator[bool]:
    """Yields whether this process may work the consumer now (another may hold it)."""
    key = _lock_key(consumer)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            got = bool(cursor.fetchone()[0])
        try:
            yield got
        finally:
            if got:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        return
    name = str(connection.settings_dict["NAME"])
    path = (
        Path(tempfile.gettempdir()) / f"crowdray-{_lock_key(name + consumer) & 0xFFFFFFFF:08x}.lock"
    )
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Consumer:
    """Something done once with every new row: counters, the lake, the search index.

    `streams` names the streams it reads and the columns it needs of each. With
    `transactional`, fold() runs in the transaction that moves the mark; else
    fold() must be idempotent (it may run again for the same chunk after a crash).
    """

    name = ""
    streams: dict[str, tuple[str, ...]] = {}
    interval_s = 1.0
    chunk_rows = 5000
    transactional = True
    own_thread = False  # slow work (a search) runs beside the others, never in their way

    def prepare(self) -> None:
        """Called before each catch-up, holding the consumer's lock."""

    def fold(self, chunk: Chunk) -> None:
        raise NotImplementedError

    def tick(self) -> None:
        """Called after each catch-up, holding the consumer's lock: work due on time, not rows."""

    def last_tick_ns(self) -> int | None:
        """For a consumer that reads no rows: when its tick last did its work (health)."""
        return None


def step(consumer: Consumer, stream: str) -> int | None:
    """Fold one chunk into the consumer; the rows it held, or None when caught up."""
    chunk = next_chunk(consumer.name, stream, consumer.streams[stream], consumer.chunk_rows)
    if chunk is None:
        return None
    if consumer.transactional:
        with transaction.atomic():
            consumer.fold(chunk)
            save_mark(consumer.name, stream, chunk.done, chunk.n)
    else:
        consumer.fold(chunk)
        save_mark(consumer.name, stream, chunk.done, chunk.n)
    return chunk.n


def catch_up(
    consumer: Consumer,
    max_chunks: int | None = None,
    progress: Callable[[int], object] = lambda _: None,
) -> dict[str, int] | None:
    """Fold everything new into the consumer (at most max_chunks per stream).

    Returns the rows folded per stream, or None when another process holds
    the consumer.
    """
    done = dict.fromkeys(consumer.streams, 0)
    with exclusive(consumer.name) as mine:
        if not mine:
            return None
        consumer.prepare()
        for stream in consumer.streams:
            chunks = 0
            while max_chunks is None or chunks < max_chunks:
                n = step(consumer, stream)
                if n is None:
                    break
                done[stream] += n
                chunks += 1
                progress(n)
        consumer.tick()
    return done
