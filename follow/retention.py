"""The follower's `days` consumer: PostgreSQL's partitions by day, made ahead and retired.

Every 10 minutes it makes the partitions of today and the next
two days (ingest.days), so uploads never wait to make one. With
CROWDRAY_DB_RETENTION_DAYS > 0 it also drops each day of hits and of exposure
blocks that is older than that, but only when the lake holds the day:
- the lake export's mark has done every row of the day (follow.tail), and
- the lake's files of that day hold exactly as many rows as the partition.
A day that fails either test stays, and the reason is logged; it is tried
again on the next turn. The test and the drop see the same rows: the drop
locks the partition and checks that its largest id did not move since the
count (ids only grow, and rows are never deleted but by this).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pyarrow.parquet as pq
from django.db import connection, models, transaction

from follow.tail import Consumer, done_rows, read_mark
from ingest.days import KEYS, day_of, day_text, drop_day, ensure_days, held_days, partition_name
from ingest.models import ExposureBlock, Hit
from vocab.contracts import EXPOSURES_DIR
from vocab.units import NS_PER_DAY

log = logging.getLogger(__name__)
DAYS_AHEAD = 2
STREAM = {Hit: "hits", ExposureBlock: "exposures"}
LOCK_TIMEOUT = "10s"  # the drop waits this long for readers of the day, then tries next turn


def lake_rows(lake: Path, model: type[models.Model], day: int) -> int:
    """Rows the follower's export wrote into the lake for one day (its files' footers)."""
    if model is Hit:
        files = (lake / f"date={day_text(day)}").glob("hour=*/hits-*.parquet")
    else:
        files = (lake / EXPOSURES_DIR / f"date={day_text(day)}").glob("exposures-*.parquet")
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def why_kept(lake: Path, model: type[models.Model], day: int) -> tuple[str | None, int, int]:
    """(None, rows, largest id) when the lake holds the whole day; else (the reason, ...)."""
    key = KEYS[model]
    lo, hi = day * NS_PER_DAY, (day + 1) * NS_PER_DAY
    rows = model._default_manager.filter(**{f"{key}__gte": lo, f"{key}__lt": hi})
    stats = rows.aggregate(n=models.Count("id"), top=models.Max("id"))
    n, top = int(stats["n"]), int(stats["top"] or 0)
    mark = read_mark(f"lake:{lake}", STREAM[model])
    exported = done_rows(STREAM[model], mark).filter(**{f"{key}__gte": lo, f"{key}__lt": hi})
    if (done := exported.count()) != n:
        return f"the lake export has done {done} of its {n} rows", n, top
    if (in_lake := lake_rows(lake, model, day)) != n:
        return f"the lake's files hold {in_lake} rows, the database {n}", n, top
    return None, n, top


def retire(lake: Path, model: type[models.Model], day: int) -> bool:
    """Drop one day of a table if the lake holds it; True if it left the database."""
    table = model._meta.db_table
    ensure_days(model, day * NS_PER_DAY, day * NS_PER_DAY)  # rows of it in DEFAULT move in
    reason, n, top = why_kept(lake, model, day)
    if reason is None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            part = partition_name(table, day)
            cursor.execute(f'LOCK TABLE "{part}" IN ACCESS EXCLUSIVE MODE')
            cursor.execute(f'SELECT COALESCE(max(id), 0) FROM "{part}"')
            if int(cursor.fetchone()[0]) == top:
                drop_day(model, day, n)
                log.info(
                    "%s %s left the database: the lake holds its %d rows", table, day_text(day), n
                )
                return True
            reason = "rows arrived while it was checked"
    log.warning("%s %s kept past its retention: %s", table, day_text(day), reason)
    return False


class DayPartitions(Consumer):
    """Makes the coming days' partitions; with a retention, retires the old days."""

    name = "days"
    streams: dict[str, tuple[str, ...]] = {}

    def __init__(self, retention_days: int, lake: Path | None, interval_s: float = 600.0) -> None:
        if retention_days and lake is None:
            raise ValueError("a retention needs the follower's lake")
        self.retention_days, self.lake, self.interval_s = retention_days, lake, interval_s

    def tick(self) -> None:
        now = time.time_ns()
        for model in KEYS:
            ensure_days(model, now, now + DAYS_AHEAD * NS_PER_DAY)
            if self.retention_days and self.lake is not None:
                # A day leaves once all of it is older than the retention.
                last = day_of(now) - self.retention_days - 1
                for day in sorted(d for d in held_days(model) if d <= last):
                    retire(self.lake, model, day)
