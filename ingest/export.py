"""Export hits to the Parquet lake (LAKE/date=YYYY-MM-DD/hour=HH/*.parquet).

Incremental: LAKE/_state.json remembers the last exported hit id. A run takes
the hits with last_id < id <= hi, where hi is the largest id received at least
CROWDRAY_EXPORT_SETTLE_S ago (uploads commit within that time, so no smaller id
can still appear). It first records the range as pending, writes each
partition's file aside and renames it into place under a name made of the id
range, then records last_id = hi. An interrupted run leaves the range pending
and the next run redoes exactly that range, replacing the same files: no hit is
exported twice or skipped, and late uploads for an hour already exported get a
file of their own in that hour.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.db.models import Max

from ingest.models import Hit
from vocab.contracts import HIT_SCHEMA, lake_partition

log = logging.getLogger(__name__)
Row = tuple[Any, ...]  # one hit as FIELDS
STATE = "_state.json"
CHUNK = 200_000
# The hit contract's columns as Hit model fields (hit_id is the row id).
FIELDS = ["id" if name == "hit_id" else name for name in HIT_SCHEMA.names]


def read_state(lake: Path) -> dict[str, Any]:
    path = lake / STATE
    return json.loads(path.read_text()) if path.exists() else {"last_id": 0, "pending": None}


def write_state(lake: Path, state: dict[str, Any]) -> None:
    tmp = lake / f".{STATE}.{uuid.uuid4().hex}"
    tmp.write_text(json.dumps(state))
    os.replace(tmp, lake / STATE)


def settled_max_id(after: int) -> int:
    """The largest hit id received at least CROWDRAY_EXPORT_SETTLE_S ago (or `after`)."""
    cutoff = datetime.now(UTC) - timedelta(seconds=settings.CROWDRAY_EXPORT_SETTLE_S)
    found = Hit.objects.filter(id__gt=after, received_at__lt=cutoff).aggregate(m=Max("id"))["m"]
    return found or after


def _rows(lo: int, hi: int, since: int | None, until: int | None) -> Iterator[list[Row]]:
    qs = Hit.objects.filter(id__gt=lo, id__lte=hi)
    if since is not None:
        qs = qs.filter(t_ns__gte=since)
    if until is not None:
        qs = qs.filter(t_ns__lt=until)
    batch: list[Row] = []
    for row in qs.order_by("id").values_list(*FIELDS).iterator(chunk_size=CHUNK):
        batch.append(row)
        if len(batch) >= CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _table(rows: list[Row]) -> pa.Table:
    cols = list(zip(*rows, strict=True))
    data = dict(zip(HIT_SCHEMA.names, cols, strict=True))
    data["device_id"] = [str(d) for d in data["device_id"]]
    return pa.table(data, schema=HIT_SCHEMA)


def _write_partitions(lake: Path, rows: list[Row], name: str) -> list[Path]:
    """Write rows into their hour partitions, aside first; return the temporary files."""
    by_part: dict[tuple[str, int], list[Row]] = {}
    for row in rows:
        by_part.setdefault(lake_partition(row[2]), []).append(row)
    staged = []
    for (day, hour), part_rows in sorted(by_part.items()):
        folder = lake / f"date={day}" / f"hour={hour:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name}.{uuid.uuid4().hex}.tmp"
        pq.write_table(_table(part_rows), tmp)
        staged.append(tmp)
    return staged


def _place(staged: list[Path], name: str) -> None:
    for tmp in staged:
        os.replace(tmp, tmp.parent / f"{name}.parquet")


def export(
    lake: Path,
    since: int | None = None,
    until: int | None = None,
    progress: Callable[[int], object] = lambda _: None,
) -> dict[str, Any]:
    """Export new hits (or, with since/until, that time range once); returns counts."""
    lake.mkdir(parents=True, exist_ok=True)
    if since is not None or until is not None:
        hi = Hit.objects.aggregate(m=Max("id"))["m"] or 0
        return _export_range(lake, 0, hi, since, until, f"range-{since}-{until}", progress)
    state = read_state(lake)
    if state["pending"]:
        lo, hi = state["pending"]["lo"], state["pending"]["hi"]
    else:
        lo, hi = state["last_id"], settled_max_id(state["last_id"])
        if hi <= lo:
            return {"hits": 0, "files": 0, "last_id": lo}
        write_state(lake, {"last_id": lo, "pending": {"lo": lo, "hi": hi}})
    counts = _export_range(lake, lo, hi, None, None, "part", progress)
    write_state(lake, {"last_id": hi, "pending": None})
    log.info("export to %s: ids %d..%d, %d hits in %d files", lake, lo + 1, hi, counts["hits"],
             counts["files"])  # fmt: skip
    return {**counts, "last_id": hi}


def _export_range(
    lake: Path,
    lo: int,
    hi: int,
    since: int | None,
    until: int | None,
    prefix: str,
    progress: Callable[[int], object],
) -> dict[str, Any]:
    hits = files = 0
    for rows in _rows(lo, hi, since, until):
        # Files are named by their id range, so redoing a range replaces them, never adds.
        name = f"{prefix}-{rows[0][0]:020d}-{rows[-1][0]:020d}"
        staged = _write_partitions(lake, rows, name)
        _place(staged, name)
        hits += len(rows)
        files += len(staged)
        progress(len(rows))
    return {"hits": hits, "files": files}
