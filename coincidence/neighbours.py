"""Per-device figures in Spark: position, rate, and the neighbourhood sums of the background.

Devices meet each other (and candidates meet devices) through the same
spatial cells as the hits: a point's home cell, or every cell within radius_m.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pyarrow as pa
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from coincidence.cores import hood_columns, lam_columns
from coincidence.geo import EARTH_RADIUS_M, CellGrid
from coincidence.params import Params

CELLS = "cid string, cell long"


# A mapInArrow function: record batches in, record batches out.
ArrowBatches = Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]


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
        "device_id",
        "n",
        F.degrees(F.atan2("z", F.hypot("x", "y"))).alias("lat"),
        F.degrees(F.atan2("y", "x")).alias("lon"),
    )


def cell_column(params: Params, reach: bool) -> ArrowBatches:
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


def haversine_col(lat1: Column, lon1: Column, lat2: Column, lon2: Column) -> Column:
    """The haversine of coincidence.geo as a Spark expression (metres)."""
    dlon = F.radians(F.pmod(lon2 - lon1 + 180.0, F.lit(360.0)) - 180.0)
    a = F.pow(F.sin((F.radians(lat2) - F.radians(lat1)) / 2), 2) + F.cos(F.radians(lat1)) * F.cos(
        F.radians(lat2)
    ) * F.pow(F.sin(dlon / 2), 2)
    return 2 * EARTH_RADIUS_M * F.asin(F.sqrt(F.least(F.greatest(a, F.lit(0.0)), F.lit(1.0))))


def device_neighbourhoods(devices: DataFrame, params: Params) -> DataFrame:
    """(device_id, lam_q..., hood_q...): coincidence.background's Lambda_d(r) and H_d(r).

    devices: device_id, lat, lon (mean position), n (hits in the span), live_s.
    Pairs of devices meet through the same cells as everything else.
    """
    window_s = params.window_ms / 1000.0
    d = devices.select(
        "device_id",
        "lat",
        "lon",
        "n",
        (-F.expm1(-F.col("n") / F.col("live_s") * window_s)).alias("p"),
    )
    reach = d.select(F.col("device_id").alias("cid"), "lat", "lon").mapInArrow(
        cell_column(params, reach=True), CELLS
    )
    home = d.select(F.col("device_id").alias("cid"), "lat", "lon").mapInArrow(
        cell_column(params, reach=False), CELLS
    )
    a = d.select(*(F.col(c).alias(f"a_{c}") for c in ("device_id", "lat", "lon")))
    a = a.join(reach.withColumnRenamed("cid", "a_device_id"), "a_device_id")
    b = d.select(*(F.col(c).alias(f"b_{c}") for c in ("device_id", "lat", "lon", "n", "p")))
    b = b.join(home.withColumnRenamed("cid", "b_device_id"), "b_device_id")
    pairs = a.join(b, "cell").withColumn(
        "dist", haversine_col(F.col("a_lat"), F.col("a_lon"), F.col("b_lat"), F.col("b_lon"))
    )
    pairs = pairs.where(F.col("dist") <= params.radius_m)
    other = F.col("b_device_id") != F.col("a_device_id")
    sums = []
    names = zip(lam_columns(params), hood_columns(params), params.radii_m, strict=True)
    for lam_name, hood_name, radius in names:
        inside = F.col("dist") <= radius
        sums.append(F.sum(F.when(other & inside, F.col("b_p")).otherwise(0.0)).alias(lam_name))
        hood = F.sum(F.when(inside, F.col("b_n")).otherwise(0)).cast("double")
        sums.append(hood.alias(hood_name))
    totals = pairs.groupBy("a_device_id").agg(*sums)
    return totals.withColumnRenamed("a_device_id", "device_id")
