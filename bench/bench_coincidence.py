"""Coincidence benchmark: the Spark job (local[2]) against the NumPy reference.

Builds hit sets of 10^6 and 10^7 hits (20 cities of 500 phones, 0.7 hits/min each,
plus injected showers; the span grows with N so the density stays the same) with
one exposure block per phone over the whole span, runs both implementations on
the same Parquet files with the core and energy fit, checks they agree, and
prints wall time, hits/s, the Spark/reference ratio, the 10x scaling, and the
seconds spent on the scan and on the fit in each.
Goals: Spark >= 50% of the reference's hits/s at 10^7; 10x hits <= 12x time.

    .venv/bin/python bench/bench_coincidence.py [--sizes 1e6 1e7] [--master local[2]]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import SparkSession

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coincidence import job
from coincidence.geo import EARTH_RADIUS_M
from coincidence.params import Params
from coincidence.reference import find_showers
from coincidence.session import build_session
from vocab.units import s_to_ns

T0 = 1_790_000_000_000_000_000
RATE_HZ = 0.7 / 60
N_CITIES, PER_CITY = 20, 500


def make_blocks(hits: pa.Table) -> pa.Table:
    """One exposure block per phone, over the whole span, at its mean position."""
    frame = hits.to_pandas()
    per = frame.groupby("device_id").agg(lat=("lat", "mean"), lon=("lon", "mean")).reset_index()
    per["start_ns"] = int(frame["t_ns"].min())
    per["end_ns"] = int(frame["t_ns"].max()) + 1
    return pa.Table.from_pandas(per, preserve_index=False)


def make_hits(n_hits: int, seed: int = 1) -> pa.Table:
    """About n_hits hits in the hit contract: background plus 1 shower per 1000 hits."""
    rng = np.random.default_rng(seed)
    n_dev = N_CITIES * PER_CITY
    span_s = n_hits / (n_dev * RATE_HZ)
    city_lat = rng.uniform(-60, 70, N_CITIES)
    city_lon = rng.uniform(-180, 180, N_CITIES)
    city = np.repeat(np.arange(N_CITIES), PER_CITY)
    north, east = rng.normal(0, 3000, (2, n_dev))
    lat = city_lat[city] + np.degrees(north / EARTH_RADIUS_M)
    lon = city_lon[city] + np.degrees(east / (EARTH_RADIUS_M * np.cos(np.radians(city_lat[city]))))
    lon = (lon + 180) % 360 - 180
    counts = rng.poisson(RATE_HZ * span_s, n_dev)
    dev = np.repeat(np.arange(n_dev), counts)
    t = T0 + rng.integers(0, s_to_ns(span_s), len(dev))
    # Showers: all phones within 500 m of a random phone fire within a few ms.
    n_showers = max(1, n_hits // 1000)
    cores = rng.integers(0, n_dev, n_showers)
    t_sh = T0 + rng.integers(0, s_to_ns(span_s), n_showers)
    extra_dev, extra_t = [], []
    for core, tc in zip(cores, t_sh, strict=True):
        same = np.nonzero(city == city[core])[0]
        d = np.hypot(north[same] - north[core], east[same] - east[core])
        fired = same[d < 500]
        extra_dev.append(fired)
        extra_t.append(tc + rng.normal(0, 3e6, len(fired)).astype(np.int64))
    dev = np.concatenate([dev, *extra_dev])
    t = np.concatenate([t, *extra_t])
    order = rng.permutation(len(dev))
    dev, t = dev[order], t[order]
    ids = rng.choice(4 * len(dev), size=len(dev), replace=False).astype(np.int64)
    return pa.table(
        {
            "hit_id": ids,
            "device_id": pa.array([f"d{d}" for d in range(n_dev)]).take(pa.array(dev)),
            "t_ns": t,
            "lat": lat[dev],
            "lon": lon[dev],
        }
    )


Run = tuple[float, list[str], dict[str, float]]  # seconds, candidate ids, scan and fit seconds


def run_reference(path: Path, blocks: Path, params: Params) -> Run:
    start = time.perf_counter()
    showers = find_showers(pq.read_table(path), params, pq.read_table(blocks).to_pandas())
    return time.perf_counter() - start, sorted(showers.shower_id), showers.attrs["timings_s"]


def run_spark(spark: SparkSession, path: Path, blocks: Path, out: Path, params: Params) -> Run:
    start = time.perf_counter()
    summary = job.main(spark, str(path), out, params, exposures=str(blocks))
    elapsed = time.perf_counter() - start
    ids = pq.read_table(out / "showers", columns=["shower_id"]).column(0).to_pylist()
    timings = summary["timings_s"]
    return elapsed, sorted(ids), {"scan": timings["search"], "fit": timings["fit"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="crowdray-bench-"))
    params = Params()
    spark = build_session(args.master, driver_memory="8g")
    # Warm up the JVM and the Python workers so the first size is not charged for them.
    warm = make_hits(20_000)
    warm_blocks = _write(make_blocks(warm), work / "warm-blocks.parquet")
    run_spark(spark, _write(warm, work / "warm.parquet"), warm_blocks, work / "warm", params)
    results = []
    try:
        for size in (int(s) for s in args.sizes):
            hits = make_hits(size)
            path = _write(hits, work / f"hits-{size}.parquet")
            blocks = _write(make_blocks(hits), work / f"blocks-{size}.parquet")
            n = pq.read_metadata(path).num_rows
            ref_s, ref_ids, ref_t = run_reference(path, blocks, params)
            spark_s, spark_ids, spark_t = run_spark(
                spark, path, blocks, work / f"out-{size}", params
            )
            agree = ref_ids == spark_ids
            results.append((n, ref_s, spark_s))
            print(
                f"{n:>12,} hits  reference {ref_s:7.1f} s {n / ref_s:>11,.0f} hits/s  "
                f"spark {spark_s:7.1f} s {n / spark_s:>11,.0f} hits/s  "
                f"spark/reference {ref_s / spark_s:5.1%}  candidates {len(ref_ids):,}  "
                f"agree {'yes' if agree else 'NO'}"
            )
            print(
                f"{'':>12}       scan / fit: reference {ref_t['scan']:.1f} / {ref_t['fit']:.1f} s"
                f"  spark {spark_t['scan']:.1f} / {spark_t['fit']:.1f} s"
            )
            if not agree:
                sys.exit(1)
        if len(results) >= 2:
            (n0, r0, s0), (n1, r1, s1) = results[0], results[-1]
            print(
                f"scaling {n1 / n0:.0f}x hits: spark {s1 / s0:.1f}x time, "
                f"reference {r1 / r0:.1f}x time (goal <= 12x)"
            )
    finally:
        spark.stop()
        shutil.rmtree(work, ignore_errors=True)


def _write(table: pa.Table, path: Path) -> Path:
    pq.write_table(table, path, row_group_size=1_000_000)
    return path


if __name__ == "__main__":
    main()
