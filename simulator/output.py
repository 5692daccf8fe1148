"""`crowdray simulate --out DIR`: hits, truth, devices and exposures as Parquet files.

Hits stream to disk chunk by chunk; large runs become a dataset directory
(hits.parquet/part-00000.parquet, ...). The same configuration gives the same bytes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from simulator.generate import Network, SimConfig, iter_chunks
from vocab.contracts import HIT_SCHEMA
from vocab.units import NS_PER_S

HIT_FILE_SCHEMA = pa.schema(
    [
        *HIT_SCHEMA,
        pa.field("x", pa.int32()),
        pa.field("y", pa.int32()),
        pa.field("value", pa.int32()),
        pa.field("n_pixels", pa.int32()),
    ]
)
TRUTH_SCHEMA = pa.schema(
    [
        ("shower_id", pa.int64()),
        ("t_ns", pa.int64()),
        ("core_lat", pa.float64()),
        ("core_lon", pa.float64()),
        ("energy_ev", pa.float64()),
        ("zenith_deg", pa.float64()),
        ("azimuth_deg", pa.float64()),
        ("n_devices", pa.int64()),
        ("hit_ids", pa.list_(pa.int64())),
    ]
)


class HitWriter:
    """Writes hit chunks to one file, or to numbered files of at most rows_per_file rows."""

    def __init__(self, path: Path, rows_per_file: int, dataset: bool) -> None:
        self.path, self.rows_per_file, self.dataset = path, rows_per_file, dataset
        self.writer: pq.ParquetWriter | None = None
        self.rows_in_file = 0
        self.files = 0
        if dataset:
            path.mkdir(parents=True, exist_ok=True)

    def _open(self) -> pq.ParquetWriter:
        target = self.path / f"part-{self.files:05d}.parquet" if self.dataset else self.path
        self.files += 1
        self.rows_in_file = 0
        return pq.ParquetWriter(target, HIT_FILE_SCHEMA)

    def write(self, hits: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(
            hits[HIT_FILE_SCHEMA.names], HIT_FILE_SCHEMA, preserve_index=False
        )
        while table.num_rows:
            if self.writer is None or (self.dataset and self.rows_in_file >= self.rows_per_file):
                self.close()
                self.writer = self._open()
            room = self.rows_per_file - self.rows_in_file if self.dataset else table.num_rows
            self.writer.write_table(table.slice(0, room), row_group_size=1_000_000)
            self.rows_in_file += min(room, table.num_rows)
            table = table.slice(room)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        elif self.files == 0 and not self.dataset:  # no hits at all: still a valid file
            pq.write_table(HIT_FILE_SCHEMA.empty_table(), self.path)


def simulate_to_dir(
    config: SimConfig, out: Path, rows_per_file: int = 5_000_000, progress: bool | None = None
) -> dict[str, Any]:
    """Run the simulation into out/; returns counts and the hit rate."""
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    net, bounds, chunks = iter_chunks(config)
    live_s = float((net.stretch_hi - net.stretch_lo).sum()) / NS_PER_S
    expected = float(
        np.sum(net.devices.rate_hz[net.stretch_dev] * (net.stretch_hi - net.stretch_lo) / NS_PER_S)
    )
    writer = HitWriter(out / "hits.parquet", rows_per_file, dataset=expected > rows_per_file)
    block_hits = np.zeros(len(net.blocks), dtype=np.int64)
    shower_hits: dict[int, list[np.ndarray]] = {}
    shower_devices: dict[int, set[int]] = {}
    show = sys.stderr.isatty() if progress is None else progress
    n_hits = 0
    for chunk in tqdm(chunks, total=len(bounds), unit="chunk", disable=not show, desc="simulate"):
        writer.write(chunk.hits)
        n_hits += len(chunk.hits)
        np.add.at(block_hits, chunk.block_index, 1)
        from_showers = chunk.hits[chunk.hits.shower >= 0]
        for sid, group in from_showers.groupby("shower"):
            key = int(sid)  # type: ignore[arg-type]  # groupby keys of an int column are ints
            shower_hits.setdefault(key, []).append(group.hit_id.to_numpy())
            shower_devices.setdefault(key, set()).update(group.device.tolist())
    writer.close()
    _write_truth(out, net.showers, shower_hits, shower_devices)
    _write_devices(out, net)
    blocks = net.blocks.drop(columns="device").assign(n_hits=block_hits)
    pq.write_table(pa.Table.from_pandas(blocks, preserve_index=False), out / "exposures.parquet")
    elapsed = time.perf_counter() - started
    return {
        "hits": n_hits,
        "showers": len(net.showers),
        "showers_with_hits": len(shower_hits),
        "devices": len(net.devices),
        "exposure_blocks": len(blocks),
        "live_hours": round(live_s / 3600, 2),
        "seconds": round(elapsed, 2),
        "hits_per_s": round(n_hits / elapsed) if elapsed else 0,
    }


def _write_truth(
    out: Path,
    showers: pd.DataFrame,
    hits: dict[int, list[np.ndarray]],
    devices: dict[int, set[int]],
) -> None:
    truth = showers.copy()
    truth["n_devices"] = [len(devices.get(int(s), ())) for s in truth.shower_id]
    ids = [
        sorted(np.concatenate(hits[int(s)]).tolist()) if int(s) in hits else []
        for s in truth.shower_id
    ]
    truth["hit_ids"] = pd.Series(ids, index=truth.index, dtype=object)  # lists, even when empty
    table = pa.Table.from_pandas(truth[TRUTH_SCHEMA.names], TRUTH_SCHEMA, preserve_index=False)
    pq.write_table(table, out / "truth.parquet")


def _write_devices(out: Path, net: Network) -> None:
    table = net.devices.table().drop(columns=["hot_x", "hot_y"])
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), out / "devices.parquet")
