"""The batch search's tile stage taken apart: getting hits into Python, and the work.

The candidates step copies each hit to the tiles (20 km cell x 10-min bucket)
that need it (coincidence.links.halo_rows, a Python mapInArrow), shuffles the
copies into tiles and hands each tile to pandas (groupBy().applyInPandas), where
coincidence.spark_cores finds its eligible cylinders. This bench simulates
bench_million's town (1,000 phones/km², 0.5 hits a minute) and times, on
`local[2]`, in turns:

- keys: the hits with their phone's 64-bit key (built-in functions only);
- halo: the same through the halo copies;
- hand-over: the halo copies shuffled into tiles and handed to a pandas
  function that does nothing;
- stage: the real tile stage (coincidence.spark_cores.eligible).

Each figure's ratio to the real stage says how much of it that part is. The
phones' neighbourhood sums are set to the town's typical values
(bench_tiles.TYPICAL_LAM, TYPICAL_HOOD): they decide which few cylinders are
eligible, not the work. The first round warms the Python workers and is left
out of the medians.

    .venv/bin/python bench/bench_tile_stage.py [--phones 1e6] [--hits 5e6] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_million import network
from bench.bench_tiles import TYPICAL_HOOD, TYPICAL_LAM
from coincidence.cores import hood_columns, lam_columns
from coincidence.links import halo_rows, halo_schema
from coincidence.params import Params
from coincidence.session import build_session
from coincidence.spark_cores import by_key, device_key, eligible
from simulator.output import simulate_to_dir


def _nothing(tile: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"rows": [len(tile)]}).iloc[0:0]


def parts(hits: DataFrame, params: Params) -> dict[str, Callable[[], int]]:
    """The four runs, each counting its rows (a count makes Spark run the whole plan)."""
    hoods = (
        hits.select("device_id")
        .distinct()
        .select(
            "device_id",
            *(F.lit(v).alias(c) for c, v in zip(lam_columns(params), TYPICAL_LAM, strict=True)),
            *(F.lit(v).alias(c) for c, v in zip(hood_columns(params), TYPICAL_HOOD, strict=True)),
        )
    )
    keyed = by_key(hoods, params)
    points = hits.select("hit_id", device_key(keyed.salt).alias("device_id"), "t_ns", "lat", "lon")
    tiled = points.mapInArrow(halo_rows(params, both_ways=True), halo_schema(points))
    handed = tiled.groupBy("cell", "bucket").applyInPandas(_nothing, "rows long")
    return {
        "keys (built-in functions)": points.count,
        "halo copies (Python mapInArrow)": tiled.count,
        "halo, shuffle into tiles, hand-over to pandas": handed.count,
        "the real tile stage": lambda: eligible(hits, keyed, params).count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--phones", type=float, default=1e6)
    parser.add_argument("--hits", type=float, default=5e6)
    parser.add_argument("--rounds", type=int, default=3, help="the first one warms up")
    args = parser.parse_args()
    if args.rounds < 2:
        parser.error("--rounds must be at least 2: the first one warms up")
    params = Params()
    with tempfile.TemporaryDirectory(prefix="bench-tile-stage-") as work:
        simulate_to_dir(network(int(args.phones), int(args.hits)), Path(work), progress=False)
        spark = build_session("local[2]", shuffle_partitions=8)
        try:
            hits = spark.read.parquet(str(Path(work) / "hits.parquet"))
            hits = hits.select("hit_id", "device_id", "t_ns", "lat", "lon").cache()
            n = hits.count()
            runs = parts(hits, params)
            times: dict[str, list[float]] = {name: [] for name in runs}
            for _ in range(args.rounds):
                for name, run in runs.items():
                    started = time.perf_counter()
                    run()
                    times[name].append(time.perf_counter() - started)
        finally:
            spark.stop()
    medians = {name: statistics.median(t[1:]) for name, t in times.items()}
    stage = medians["the real tile stage"]
    print(
        f"{n:,} hits of {int(args.phones):,} phones on local[2], medians of rounds 2-{args.rounds}"
    )
    for name, seconds in medians.items():
        print(
            f"{name}: {seconds:.1f} s, {seconds / n * 1e6:.2f} µs a hit, "
            f"{seconds / stage:.2f} of the real stage"
        )


if __name__ == "__main__":
    main()
