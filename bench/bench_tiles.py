"""One dense tile of the batch search: its eligible cylinders whole, and in time slices.

The candidates step of `crowdray coincidence` finds the eligible cylinders tile
by tile (a 20 km cell by a 10-minute bucket), in one Python call per tile. At
10^6 phones and 1,000 phones/km² a tile holds about 2 million hits. This bench
simulates a town of 10^5 always-on phones (bench_million's network) for an
hour, cuts it into 20 km cells by 1-hour buckets, so that a tile is as large as
the job's at 10^6 phones, takes the largest, and times in turns:

- whole: eligible_cylinders(cylinders(tile)), the reference;
- slices: eligible_in_slices(tile), the job's way (SLICE_ROWS hits a slice,
  or --rows).

Both must give the same cylinders (the tile's size does not change them). The
phones' neighbourhood sums are set to values typical of the town (they decide
which few cylinders are eligible, not the work), so the figures are the tile's
work alone, on one core.

    .venv/bin/python bench/bench_tiles.py [--phones 1e5] [--hits 3e6] [--bucket-s 3600]
        [--rows 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_million import network
from coincidence.cores import (
    SLICE_ROWS,
    core_input,
    cylinders,
    eligible_cylinders,
    eligible_in_slices,
    hood_columns,
    lam_columns,
)
from coincidence.links import halo_rows
from coincidence.params import Params
from simulator.output import simulate_to_dir

# Lambda_d(r) and H_d(r) per scanned radius (125, 250, 500, 1,000 m) of a phone
# in a 10-minute tile at 1,000 phones/km² and 0.5 hits a minute.
TYPICAL_LAM = (0.02, 0.08, 0.3, 1.3)
TYPICAL_HOOD = (300.0, 1200.0, 5000.0, 20000.0)


def largest_tile(hits: pa.Table, params: Params) -> tuple[pd.DataFrame, np.ndarray]:
    """The core_input columns and home flags of the tile holding the most hits."""
    codes = pd.factorize(hits["device_id"].to_numpy(zero_copy_only=False))[0]
    hits = hits.set_column(1, "device_id", pa.array(codes.astype(np.int64)))
    batches = halo_rows(params, both_ways=True)(iter(hits.to_batches()))
    tiles = pa.Table.from_batches(list(batches)).to_pandas()
    cell, bucket = tiles.groupby(["cell", "bucket"]).size().idxmax()
    tile = tiles[(tiles.cell == cell) & (tiles.bucket == bucket)].reset_index(drop=True)
    tile = tile.assign(
        **dict(zip(lam_columns(params), TYPICAL_LAM, strict=True)),
        **dict(zip(hood_columns(params), TYPICAL_HOOD, strict=True)),
    )
    return tile[core_input(params)], tile["home"].to_numpy(bool)


def _whole(tile: pd.DataFrame, home: np.ndarray, params: Params) -> pd.DataFrame:
    cyl = cylinders(tile.assign(home=home), params)
    return eligible_cylinders(cyl, params, only=cyl.hits["home"].to_numpy(bool))


def _canonical(df: pd.DataFrame) -> pd.DataFrame:
    out = df.sort_values(["anchor", "q"]).reset_index(drop=True)
    for column in ("members", "touch"):
        out[column] = [sorted(m.tolist()) for m in out[column]]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--phones", type=float, default=1e5)
    parser.add_argument("--hits", type=float, default=3e6)
    parser.add_argument("--bucket-s", type=float, default=3600.0)
    parser.add_argument("--rows", type=int, default=SLICE_ROWS, help="hits per slice")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    params = Params(bucket_s=args.bucket_s)
    with tempfile.TemporaryDirectory(prefix="bench-tiles-") as work:
        simulate_to_dir(network(int(args.phones), int(args.hits)), Path(work), progress=False)
        hits = pq.read_table(
            Path(work) / "hits.parquet", columns=["hit_id", "device_id", "t_ns", "lat", "lon"]
        )
    tile, home = largest_tile(hits, params)
    runs: dict[str, Callable[[], pd.DataFrame]] = {
        "whole": lambda: _whole(tile, home, params),
        "slices": lambda: eligible_in_slices(tile, params, home, rows=args.rows),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    out: dict[str, pd.DataFrame] = {}
    for _ in range(args.rounds):
        for name, run in runs.items():
            started = time.perf_counter()
            out[name] = run()
            times[name].append(time.perf_counter() - started)
    if not _canonical(out["slices"]).equals(_canonical(out["whole"])):
        raise SystemExit("the slices gave other cylinders than the whole tile")
    whole, sliced = (statistics.median(times[name]) for name in ("whole", "slices"))
    print(
        f"largest tile: {len(tile):,} hits ({int(home.sum()):,} at home), "
        f"{len(out['whole']):,} eligible cylinders, the same both ways"
    )
    print(f"whole (the reference): {whole:.2f} s, {whole / len(tile) * 1e6:.2f} µs a hit")
    print(f"slices of {args.rows:,} hits: {sliced:.2f} s, {sliced / len(tile) * 1e6:.2f} µs a hit")
    print(f"slices / whole: {sliced / whole:.2f} (medians of {args.rounds} rounds in turns)")


if __name__ == "__main__":
    main()
