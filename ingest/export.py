"""Export hits to the Parquet lake (LAKE/date=YYYY-MM-DD/hour=HH/*.parquet).

Incremental export is a consumer of the follower's commit-safe tail
(ingest.tail), named `lake:<absolute path>`: its mark in the database says
which hits are in the lake. Each chunk of new hits is written into its hour
partitions, aside first and then renamed into place under a name made of the
chunk's first and last hit id, and only then is the mark moved. A run killed
in between redoes exactly that chunk and replaces the same files, so no hit is
exported twice or skipped; late uploads for an hour already exported get a file
of their own in that hour. `crowdray export` catches the lake up once; `crowdray
follow` does it continuously when CROWDRAY_LAKE_DIR is set. A one-off
--since/--until export writes that time range under its own names.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.models import ConsumerMark, Hit
from ingest.tail import Chunk, Consumer, catch_up
from vocab.contracts import HIT_SCHEMA, lake_partition

log = logging.getLogger(__name__)
Row = tuple[Any, ...]  # one hit as FIELDS
CHUNK = 200_000
# The hit contract's columns as Hit model fields (hit_id is the row id).
FIELDS = tuple("id" if name == "hit_id" else name for name in HIT_SCHEMA.names)
OLD_STATE = "_state.json"  # written by exports before the follower
MARKER = "_crowdray_lake.json"  # says the database's mark for this lake is valid


class LakeError(RuntimeError):
    pass


class LakeExport(Consumer):
    """The follower's consumer that appends new hits to a Parquet lake."""

    transactional = False  # files are not in the database; rewriting a chunk is harmless
    chunk_rows = CHUNK

    def __init__(self, lake: Path, interval_s: float = 60.0) -> None:
        self.lake = lake.resolve()
        self.name = f"lake:{self.lake}"
        self.streams = {"hits": FIELDS[1:]}
        self.interval_s = interval_s
        self.files = 0

    def prepare(self) -> None:
        """A lake without our marker is new or was emptied: export it from the first hit."""
        marker = self.lake / MARKER
        if marker.exists():
            return
        self.lake.mkdir(parents=True, exist_ok=True)
        if (self.lake / OLD_STATE).exists():
            raise LakeError(
                f"{self.lake} was written by an older crowdray export ({OLD_STATE}); "
                "export into a new folder"
            )
        if ConsumerMark.objects.filter(consumer=self.name).delete()[0]:
            log.warning("%s has no %s: exporting it again from the first hit", self.lake, MARKER)
        marker.write_text(json.dumps({"consumer": self.name}) + "\n")

    def fold(self, chunk: Chunk) -> None:
        if not chunk.n:
            return
        rows = list(zip(*(chunk.columns[f] for f in FIELDS), strict=True))
        name = f"hits-{rows[0][0]:020d}-{rows[-1][0]:020d}"
        self.files += _write(self.lake, rows, name)


def _table(rows: list[Row]) -> pa.Table:
    cols = list(zip(*rows, strict=True))
    data = dict(zip(HIT_SCHEMA.names, cols, strict=True))
    data["device_id"] = [str(d) for d in data["device_id"]]
    return pa.table(data, schema=HIT_SCHEMA)


def _write(lake: Path, rows: list[Row], name: str) -> int:
    """Write rows into their hour partitions under `name`; returns the number of files."""
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
    # Renamed only once all are written: a crash leaves hidden files, never half a chunk.
    for tmp in staged:
        os.replace(tmp, tmp.parent / f"{name}.parquet")
    return len(staged)


def _range_rows(since: int | None, until: int | None) -> Iterator[list[Row]]:
    qs = Hit.objects.all()
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


def export(
    lake: Path,
    since: int | None = None,
    until: int | None = None,
    progress: Callable[[int], object] = lambda _: None,
) -> dict[str, Any]:
    """Export new hits (or, with since/until, that time range once); returns counts."""
    lake.mkdir(parents=True, exist_ok=True)
    if since is not None or until is not None:
        hits = files = 0
        for rows in _range_rows(since, until):
            files += _write(lake, rows, f"range-{since}-{until}-{rows[0][0]:020d}")
            hits += len(rows)
            progress(len(rows))
        return {"hits": hits, "files": files}
    consumer = LakeExport(lake)
    done = catch_up(consumer, progress=progress)
    if done is None:
        raise LakeError(f"another process is exporting to {lake} right now; try again later")
    log.info("export to %s: %d hits in %d files", lake, done["hits"], consumer.files)
    return {"hits": done["hits"], "files": consumer.files}
