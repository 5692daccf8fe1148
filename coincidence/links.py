"""Seed groups in Spark: hits linked in time and space, joined into connected groups.

Partitioning: every hit is copied to each spatial cell within radius_m of it
and, when it lies within one window of its time bucket's start, to the previous
bucket too (the halo). Each (cell, bucket) is sorted by time and swept; a linked
pair is emitted only from the cell and bucket that are home to its earlier hit,
where its later hit is always present, so each pair is found exactly once.
Connected components of the pairs (the seed groups) are found by label
propagation with pointer jumping.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from coincidence.geo import CellGrid
from coincidence.neighbours import ArrowBatches
from coincidence.params import Params
from coincidence.sweep import linked_pairs, local_components

_LABELS = "hit_id long, label long"


def halo_rows(params: Params, both_ways: bool = False) -> ArrowBatches:
    """MapInArrow function: each hit once per (cell, bucket) that needs it.

    Output: cell, bucket, home (the hit's own cell and bucket), then every input
    column (which must hold t_ns, lat, lon). both_ways: hits within one window of
    their bucket's end go to the next bucket too, so that a tile also holds every
    hit linked before its own (the cores' touch).
    """
    grid = CellGrid(params.cell_m)
    window, bucket_ns = params.window_ns, params.bucket_ns

    def explode(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            lat = batch.column("lat").to_numpy()
            lon = batch.column("lon").to_numpy()
            t = batch.column("t_ns").to_numpy()
            point, cell = grid.reach(lat, lon, params.radius_m)
            home_cell = cell == grid.home(lat, lon)[point]
            bucket = t[point] // bucket_ns
            # Hits within one window of their bucket's start also go to the previous bucket.
            early = np.nonzero((t[point] - bucket * bucket_ns) < window)[0]
            late = np.nonzero(both_ways & ((bucket + 1) * bucket_ns - t[point] <= window))[0]
            rows = np.concatenate([np.arange(len(point)), early, late])
            buckets = np.concatenate([bucket, bucket[early] - 1, bucket[late] + 1])
            home = np.concatenate([home_cell, np.zeros(len(early) + len(late), dtype=bool)])
            copies = batch.take(pa.array(point[rows]))
            yield pa.RecordBatch.from_arrays(
                [pa.array(cell[rows]), pa.array(buckets), pa.array(home), *copies.columns],
                names=["cell", "bucket", "home", *copies.schema.names],
            )

    return explode


def halo_schema(frame: DataFrame) -> T.StructType:
    """The schema of halo_rows over `frame`: cell, bucket, home, then frame's columns."""
    keys = [
        T.StructField("cell", T.LongType()),
        T.StructField("bucket", T.LongType()),
        T.StructField("home", T.BooleanType()),
    ]
    return T.StructType(keys + list(frame.schema.fields))


def sweep_rows(params: Params) -> ArrowBatches:
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
        i, j, _ = linked_pairs(
            key,
            table.column("t_ns").to_numpy(),
            table.column("lat").to_numpy(),
            table.column("lon").to_numpy(),
            params.window_ns,
            params.radius_m,
            from_mask=table.column("home").to_numpy(zero_copy_only=False),
        )
        hit_id, label = local_components(table.column("hit_id").to_numpy(), i, j)
        yield pa.RecordBatch.from_pydict({"hit_id": hit_id, "label": label})

    return sweep


def _keyed_arrow() -> pa.Schema:
    return pa.schema(
        [
            ("cell", pa.int64()),
            ("bucket", pa.int64()),
            ("home", pa.bool_()),
            ("hit_id", pa.int64()),
            ("t_ns", pa.int64()),
            ("lat", pa.float64()),
            ("lon", pa.float64()),
        ]
    )


def local_labels(hits: DataFrame, params: Params) -> DataFrame:
    """(hit_id, label) per partition; a hit near a cell or bucket edge may have several."""
    points = hits.select("hit_id", "t_ns", "lat", "lon")
    keyed = points.mapInArrow(halo_rows(params), halo_schema(points))
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


def seed_members(hits: DataFrame, params: Params) -> DataFrame:
    """Hits (with their label) of the seed groups holding at least min_devices devices."""
    labels = global_labels(local_labels(hits, params))
    members = labels.join(hits, "hit_id")
    enough = members.groupBy("label").agg(F.countDistinct("device_id").alias("nd"))
    keep = enough.where(F.col("nd") >= params.min_devices).select("label")
    return members.join(keep, "label")
