"""The coincidence search as a Spark job: extract -> transform(df, params) -> load.

Partitioning: every hit is copied to each spatial cell within radius_m of it
and, when it lies within one window of its time bucket's start, to the previous
bucket too (the halo). Each (cell, bucket) is sorted by time and swept; a linked
pair is emitted only from the cell and bucket that are home to its earlier hit,
where its later hit is always present, so each pair is found exactly once.
Connected components of the pairs are found by label propagation with pointer
jumping; members are summarised per component and the background is computed
from per-device counts joined through the same cells.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from coincidence.candidates import MEMBER_COLUMNS, NEIGHBOURHOOD_COLUMNS, add_background, summarize
from coincidence.geo import EARTH_RADIUS_M, CellGrid
from coincidence.params import Params
from coincidence.sweep import linked_pairs, local_components
from vocab.contracts import HIT_COLUMNS, SHOWER_SCHEMA, lake_partition
from vocab.units import NS_PER_S

log = logging.getLogger(__name__)
_KEYED = "cell long, bucket long, home boolean, hit_id long, t_ns long, lat double, lon double"
_LABELS = "hit_id long, label long"
_MEMBERS = "label long, hit_id long, device_id string, t_ns long, lat double, lon double"
_CELLS = "cid string, cell long"


def halo_rows(params: Params) -> Any:
    """MapInArrow function: each hit once per (cell, bucket) that needs it."""
    grid = CellGrid(params.cell_m)
    window, bucket_ns = params.window_ns, params.bucket_ns

    def explode(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            lat = batch.column("lat").to_numpy()
            lon = batch.column("lon").to_numpy()
            t = batch.column("t_ns").to_numpy()
            ids = batch.column("hit_id").to_numpy()
            point, cell = grid.reach(lat, lon, params.radius_m)
            home_cell = cell == grid.home(lat, lon)[point]
            bucket = t[point] // bucket_ns
            # Hits within one window of their bucket's start also go to the previous bucket.
            early = (t[point] - bucket * bucket_ns) < window
            extra = np.nonzero(early)[0]
            rows = np.concatenate([np.arange(len(point)), extra])
            buckets = np.concatenate([bucket, bucket[extra] - 1])
            home = np.concatenate([home_cell, np.zeros(len(extra), dtype=bool)])
            p = point[rows]
            yield pa.RecordBatch.from_pydict(
                {"cell": cell[rows], "bucket": buckets, "home": home, "hit_id": ids[p],
                 "t_ns": t[p], "lat": lat[p], "lon": lon[p]}
            )  # fmt: skip

    return explode


def sweep_rows(params: Params) -> Any:
    """MapInArrow over partitions sorted by (cell, bucket, t_ns, hit_id): local components.

    Emits (hit_id, label) for every linked hit, label being the smallest hit_id of
    its component among the pairs found in this partition.
    """

    def sweep(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        table = pa.Table.from_batches(list(batches), schema=_keyed_arrow())
        if table.num_rows == 0:
            return
        cell = table.column("cell").to_numpy()
        bucket = table.column("bucket").to_numpy()
        key = cell * (1 << 24) + (bucket & 0xFFFFFF)
        i, j = linked_pairs(
            key, table.column("t_ns").to_numpy(), table.column("lat").to_numpy(),
            table.column("lon").to_numpy(), params.window_ns, params.radius_m,
            from_mask=table.column("home").to_numpy(zero_copy_only=False),
        )  # fmt: skip
        hit_id, label = local_components(table.column("hit_id").to_numpy(), i, j)
        yield pa.RecordBatch.from_pydict({"hit_id": hit_id, "label": label})

    return sweep


def _keyed_arrow() -> pa.Schema:
    return pa.schema(
        [("cell", pa.int64()), ("bucket", pa.int64()), ("home", pa.bool_()),
         ("hit_id", pa.int64()), ("t_ns", pa.int64()), ("lat", pa.float64()),
         ("lon", pa.float64())]
    )  # fmt: skip


def local_labels(hits: DataFrame, params: Params) -> DataFrame:
    """(hit_id, label) per partition; a hit near a cell or bucket edge may have several."""
    keyed = hits.select("hit_id", "t_ns", "lat", "lon").mapInArrow(halo_rows(params), _KEYED)
    ordered = keyed.repartition("cell", "bucket").sortWithinPartitions(
        "cell", "bucket", "t_ns", "hit_id"
    )
    return ordered.mapInArrow(sweep_rows(params), _LABELS)


def global_labels(local: DataFrame) -> DataFrame:
    """(hit_id, label): merge the local components that share a hit across partitions."""
    local = local.localCheckpoint()
    per_hit = local.groupBy("hit_id").agg(F.min("label").alias("first"))
    # A hit with two local labels joins their components: an edge between the labels.
    merges = local.join(per_hit, "hit_id").where(F.col("label") != F.col("first"))
    merges = merges.select(F.col("label").alias("src"), F.col("first").alias("dst"))
    merges = merges.localCheckpoint()
    if merges.isEmpty():  # the usual case: no component crosses a partition
        return per_hit.withColumnRenamed("first", "label")
    roots = connected_components(merges).withColumnRenamed("hit_id", "first")
    return per_hit.join(roots, "first", "left").select(
        "hit_id", F.coalesce("label", "first").alias("label")
    )


def connected_components(edges: DataFrame) -> DataFrame:
    """(hit_id, label) for each vertex of (src, dst) edges; label = its component's smallest.

    Label propagation with pointer jumping; each round halves the longest chain
    still unlabelled, so rounds grow with the log of a component's diameter.
    """
    both = edges.select(F.col("src").alias("v"), F.col("dst").alias("u")).union(
        edges.select(F.col("dst").alias("v"), F.col("src").alias("u"))
    )
    both = both.localCheckpoint()
    labels = both.groupBy("v").agg(F.least(F.min("u"), F.first("v")).alias("label"))
    labels = labels.localCheckpoint()
    while True:
        seen = both.join(labels.withColumnRenamed("v", "u"), "u").groupBy("v")
        proposed = seen.agg(F.min("label").alias("nb"))
        new = labels.join(proposed, "v").select("v", F.least("label", "nb").alias("label"))
        # Pointer jumping: adopt the label of one's label.
        target = new.select(F.col("v").alias("t"), F.col("label").alias("tl"))
        new = new.join(target, new.label == target.t, "left").select(
            "v", F.coalesce("tl", "label").alias("label")
        )
        new = new.localCheckpoint()
        changed = new.join(labels.withColumnRenamed("label", "old"), "v")
        if changed.where(F.col("label") != F.col("old")).isEmpty():
            return new.select(F.col("v").alias("hit_id"), "label")
        labels = new


def device_stats(hits: DataFrame) -> DataFrame:
    """Per device: hit count and mean position (via unit vectors, like the reference)."""
    phi, lmb = F.radians("lat"), F.radians("lon")
    stats = hits.groupBy("device_id").agg(
        F.count("*").alias("n"),
        F.sum(F.cos(phi) * F.cos(lmb)).alias("x"),
        F.sum(F.cos(phi) * F.sin(lmb)).alias("y"),
        F.sum(F.sin(phi)).alias("z"),
    )
    return stats.select(
        "device_id", "n",
        F.degrees(F.atan2("z", F.hypot("x", "y"))).alias("lat"),
        F.degrees(F.atan2("y", "x")).alias("lon"),
    )  # fmt: skip


def cell_column(params: Params, reach: bool) -> Any:
    """MapInArrow over (cid, lat, lon): the home cell, or every cell within radius."""
    grid = CellGrid(params.cell_m)

    def cells(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            lat, lon = batch.column("lat").to_numpy(), batch.column("lon").to_numpy()
            cid = batch.column("cid")
            if reach:
                point, cell = grid.reach(lat, lon, params.radius_m)
                yield pa.RecordBatch.from_arrays(
                    [cid.take(pa.array(point)), pa.array(cell)], ["cid", "cell"]
                )
            else:
                yield pa.RecordBatch.from_arrays(
                    [cid, pa.array(grid.home(lat, lon))], ["cid", "cell"]
                )

    return cells


def haversine_col(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """The haversine of coincidence.geo as a Spark expression (metres)."""
    dlon = F.radians(F.pmod(lon2 - lon1 + 180.0, F.lit(360.0)) - 180.0)
    a = F.pow(F.sin((F.radians(lat2) - F.radians(lat1)) / 2), 2) + F.cos(F.radians(lat1)) * F.cos(
        F.radians(lat2)
    ) * F.pow(F.sin(dlon / 2), 2)
    return 2 * EARTH_RADIUS_M * F.asin(F.sqrt(F.least(F.greatest(a, F.lit(0.0)), F.lit(1.0))))


def neighbourhood_sums(showers: DataFrame, devices: DataFrame, params: Params) -> DataFrame:
    """Add nb_hits, nb_rate_hz, nb_sum_sq: sums over devices within radius of each centroid."""
    s_cells = showers.select(F.col("shower_id").alias("cid"), "lat", "lon").mapInArrow(
        cell_column(params, reach=True), _CELLS
    )
    d_cells = devices.select(F.col("device_id").alias("cid"), "lat", "lon").mapInArrow(
        cell_column(params, reach=False), _CELLS
    )
    d = devices.join(d_cells.withColumnRenamed("cid", "device_id"), "device_id")
    s = showers.select("shower_id", F.col("lat").alias("slat"), F.col("lon").alias("slon"))
    pairs = s.join(s_cells.withColumnRenamed("cid", "shower_id"), "shower_id").join(d, "cell")
    near = pairs.where(
        haversine_col(F.col("slat"), F.col("slon"), F.col("lat"), F.col("lon")) <= params.radius_m
    )
    sums = near.groupBy("shower_id").agg(
        F.sum("n").cast("double").alias("nb_hits"),
        F.sum(F.col("n") / F.col("live_s")).alias("nb_rate_hz"),
        F.sum(F.col("n") * F.col("n")).cast("double").alias("nb_sum_sq"),
    )
    return showers.join(sums, "shower_id", "left").fillna(0.0, NEIGHBOURHOOD_COLUMNS)


def _summaries(params: Params) -> Any:
    def run(members: pd.DataFrame) -> pd.DataFrame:
        return summarize(members[MEMBER_COLUMNS], params.min_devices)

    return run


def _backgrounds(params: Params) -> Any:
    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for showers in batches:
            yield add_background(showers, params)

    return run


SHOWER_SPARK = from_arrow_schema(SHOWER_SCHEMA)
SUMMARY_SPARK = from_arrow_schema(
    pa.schema(
        [f for f in SHOWER_SCHEMA if f.name not in ("expected_background", "significance_sigma")]
    )
)


def span_seconds(hits: DataFrame, params: Params) -> DataFrame:
    """One row, span_s: [since, until) when given, else first to last hit (>= one window)."""
    lo = F.lit(params.since_ns) if params.since_ns is not None else F.min("t_ns")
    hi = F.lit(params.until_ns) if params.until_ns is not None else F.max("t_ns")
    return hits.agg(
        (F.greatest(hi - lo, F.lit(params.window_ns)).cast("double") / NS_PER_S).alias("span_s")
    )


def transform(hits: DataFrame, params: Params, live: DataFrame | None = None) -> DataFrame:
    """Shower candidates (SHOWER_SCHEMA) of hits (the hit contract) under params.

    live: optional (device_id, live_s) from exposure blocks.
    """
    hits = select_span(hits, params)
    labels = global_labels(local_labels(hits, params))
    members = labels.join(hits, "hit_id")
    enough = members.groupBy("label").agg(F.countDistinct("device_id").alias("nd"))
    members = members.join(enough.where(F.col("nd") >= params.min_devices).select("label"), "label")
    groups = members.withColumn("grp", F.pmod(F.xxhash64("label"), F.lit(64)))
    # Candidates and devices are small and each is read three times below:
    # materialise them once instead of recomputing their lineage.
    showers = groups.groupBy("grp").applyInPandas(_summaries(params), SUMMARY_SPARK)
    showers = showers.localCheckpoint()
    devices = device_stats(hits).crossJoin(span_seconds(hits, params))
    if live is not None:
        devices = devices.join(live, "device_id", "left")
        devices = devices.withColumn("live_s", F.coalesce("live_s", "span_s"))
    else:
        devices = devices.withColumn("live_s", F.col("span_s"))
    devices = devices.localCheckpoint()
    with_nb = neighbourhood_sums(showers, devices, params)
    return with_nb.mapInPandas(_backgrounds(params), SHOWER_SPARK)


def select_span(hits: DataFrame, params: Params) -> DataFrame:
    out = hits.select(
        F.col("hit_id").cast("long"), F.col("device_id").cast("string"),
        F.col("t_ns").cast("long"), F.col("lat").cast("double"), F.col("lon").cast("double"),
    )  # fmt: skip
    if params.since_ns is not None:
        out = out.where(F.col("t_ns") >= params.since_ns)
    if params.until_ns is not None:
        out = out.where(F.col("t_ns") < params.until_ns)
    return out


def extract(spark: SparkSession, path: str, params: Params) -> DataFrame:
    """Hits from a Parquet file, directory, glob or the date/hour lake, pruned to the span."""
    hits = spark.read.parquet(path)
    missing = [c for c in HIT_COLUMNS if c not in hits.columns]
    if missing:
        raise ValueError(f"{path}: not in the hit contract, missing columns {', '.join(missing)}")
    if {"date", "hour"} <= set(hits.columns):
        hits = hits.where(_partition_filter(params))
    return select_span(hits, params)


def _partition_filter(params: Params) -> Any:
    """Keep lake partitions (date, hour) that can hold hits in [since, until)."""
    keep = F.lit(True)
    day, hour = F.col("date").cast("string"), F.col("hour").cast("int")
    if params.since_ns is not None:
        d0, h0 = lake_partition(params.since_ns)
        keep = keep & ((day > d0) | ((day == d0) & (hour >= h0)))
    if params.until_ns is not None:
        d1, h1 = lake_partition(params.until_ns - 1)
        keep = keep & ((day < d1) | ((day == d1) & (hour <= h1)))
    return keep


def load(showers: DataFrame, output: Path) -> int:
    """Write the shower dataset to OUTPUT/showers; return the number of candidates."""
    showers = showers.persist()
    showers.orderBy("t_ns", "shower_id").coalesce(1).write.mode("overwrite").parquet(
        str(output / "showers")
    )
    count = showers.count()
    showers.unpersist()
    return count


def live_seconds(spark: SparkSession, path: str, params: Params) -> DataFrame:
    """(device_id, live_s): each device's exposure inside the span, from its blocks."""
    blocks = spark.read.parquet(path)
    missing = {"device_id", "start_ns", "end_ns"} - set(blocks.columns)
    if missing:
        raise ValueError(f"{path}: exposure blocks need columns {', '.join(sorted(missing))}")
    start, end = F.col("start_ns"), F.col("end_ns")
    if params.since_ns is not None:
        start = F.greatest(start, F.lit(params.since_ns))
    if params.until_ns is not None:
        end = F.least(end, F.lit(params.until_ns))
    overlap = F.greatest(end - start, F.lit(0)).cast("double") / NS_PER_S
    live = blocks.groupBy(F.col("device_id").cast("string").alias("device_id"))
    return live.agg(F.sum(overlap).alias("live_s")).where(F.col("live_s") > 0)


class Counts(TypedDict):
    hits: int
    showers: int


class Timings(TypedDict):
    read: float
    total: float


class SearchSummary(TypedDict):
    """OUTPUT/summary.json: what was searched, how, and what came out."""

    input: str
    exposures: str | None
    output: str
    parameters: dict[str, Any]
    master: str
    span_ns: list[int | None]
    counts: Counts
    timings_s: Timings
    finished_at: str


def main(
    spark: SparkSession,
    input_path: str,
    output: Path,
    params: Params,
    exposures: str | None = None,
) -> SearchSummary:
    """Run the search; write OUTPUT/showers and OUTPUT/summary.json; return the summary."""
    started = time.time()
    output.mkdir(parents=True, exist_ok=True)
    hits = extract(spark, input_path, params).persist()
    bounds = hits.agg(F.count("*"), F.min("t_ns"), F.max("t_ns")).collect()[0]
    n_hits = int(bounds[0])
    span = [
        params.since_ns if params.since_ns is not None else bounds[1],
        params.until_ns if params.until_ns is not None else (bounds[2] + 1 if bounds[2] else None),
    ]
    read_s = time.time() - started
    live = live_seconds(spark, exposures, params) if exposures else None
    n_showers = load(transform(hits, params, live), output)
    hits.unpersist()
    summary: SearchSummary = {
        "input": input_path,
        "exposures": exposures,
        "output": str(output / "showers"),
        "parameters": params.as_dict(),
        "master": str(spark.sparkContext.master),
        "span_ns": span,
        "counts": {"hits": n_hits, "showers": n_showers},
        "timings_s": {"read": round(read_s, 3), "total": round(time.time() - started, 3)},
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (output / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    log.info("search %s on %s: %d hits -> %d candidates in %.1f s", input_path,
             summary["master"], n_hits, n_showers, summary["timings_s"]["total"])  # fmt: skip
    return summary
