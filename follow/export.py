"""Export hits and exposure blocks to the Parquet lake.

Hits go to LAKE/date=YYYY-MM-DD/hour=HH/*.parquet, exposure blocks to
LAKE/exposures/date=YYYY-MM-DD/*.parquet (by the date of the block's end), by
the same rules.

Incremental export is a consumer of the follower's commit-safe tail
(follow.tail), named `lake:<absolute path>`: its mark in the database says
which hits and blocks are in the lake. Each chunk of new rows is written into its
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

from follow.tail import Chunk, Consumer, catch_up
from ingest.days import OnlyInLakeError, only_in_lake
from ingest.models import ConsumerMark, ExposureBlock, Hit
from vocab.contracts import EXPOSURE_SCHEMA, EXPOSURES_DIR, HIT_SCHEMA, lake_partition

log = logging.getLogger(__name__)
Row = tuple[Any, ...]  # one hit as FIELDS
CHUNK = 200_000
# The hit contract's columns as Hit model fields (hit_id is the row id).
FIELDS = tuple("id" if name == "hit_id" else name for name in HIT_SCHEMA.names)
BLOCK_FIELDS = ("id", *EXPOSURE_SCHEMA.names)  # id: the row's, for file names only
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
        self.streams = {"hits": FIELDS[1:], "exposures": BLOCK_FIELDS[1:]}
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
        if chunk.stream == "exposures":
            rows = list(zip(*(chunk.columns[f] for f in BLOCK_FIELDS), strict=True))
            name = f"exposures-{rows[0][0]:020d}-{rows[-1][0]:020d}"
            self.files += _write_blocks(self.lake, rows, name)
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


def _block_table(rows: list[Row]) -> pa.Table:
    cols = list(zip(*rows, strict=True))[1:]  # without the row id
    data = dict(zip(EXPOSURE_SCHEMA.names, cols, strict=True))
    data["block_id"] = [str(b) for b in data["block_id"]]
    data["device_id"] = [str(d) for d in data["device_id"]]
    return pa.table(data, schema=EXPOSURE_SCHEMA)


def _write_blocks(lake: Path, rows: list[Row], name: str) -> int:
    """Write blocks (BLOCK_FIELDS) into LAKE/exposures/date=<end date>/ under `name`."""
    end = BLOCK_FIELDS.index("end_ns")
    by_day: dict[str, list[Row]] = {}
    for row in rows:
        by_day.setdefault(lake_partition(row[end])[0], []).append(row)
    staged = []
    for day, day_rows in sorted(by_day.items()):
        folder = lake / EXPOSURES_DIR / f"date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{name}.{uuid.uuid4().hex}.tmp"
        pq.write_table(_block_table(day_rows), tmp)
        staged.append(tmp)
    for tmp in staged:  # as for hits: renamed only once all are written
        os.replace(tmp, tmp.parent / f"{name}.parquet")
    return len(staged)


def _range_rows(since: int | None, until: int | None, blocks: bool = False) -> Iterator[list[Row]]:
    """Hits with t_ns in [since, until), or blocks with end_ns in it, a chunk at a time."""
    qs: Any = (ExposureBlock if blocks else Hit).objects.all()
    field = "end_ns" if blocks else "t_ns"
    if since is not None:
        qs = qs.filter(**{f"{field}__gte": since})
    if until is not None:
        qs = qs.filter(**{f"{field}__lt": until})
    batch: list[Row] = []
    fields = BLOCK_FIELDS if blocks else FIELDS
    for row in qs.order_by("id").values_list(*fields).iterator(chunk_size=CHUNK):
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
    """Export new hits and blocks (or, with since/until, that time range once); returns counts."""
    lake.mkdir(parents=True, exist_ok=True)
    if since is not None or until is not None:
        for model, what in ((Hit, "hits"), (ExposureBlock, "exposure blocks")):
            try:
                only_in_lake(model, since, what)
            except OnlyInLakeError as exc:
                raise LakeError(str(exc)) from None
        counts = {"hits": 0, "exposures": 0, "files": 0}
        for stream, write in (("hits", _write), ("exposures", _write_blocks)):
            for rows in _range_rows(since, until, blocks=stream == "exposures"):
                counts["files"] += write(lake, rows, f"range-{since}-{until}-{rows[0][0]:020d}")
                counts[stream] += len(rows)
                progress(len(rows))
        return counts
    consumer = LakeExport(lake)
    done = catch_up(consumer, progress=progress)
    if done is None:
        raise LakeError(f"another process is exporting to {lake} right now; try again later")
    log.info(
        "export to %s: %d hits and %d exposure blocks in %d files",
        lake,
        done["hits"],
        done["exposures"],
        consumer.files,
    )
    return {"hits": done["hits"], "exposures": done["exposures"], "files": consumer.files}
