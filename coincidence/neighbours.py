"""Per-device figures in Spark: position, rate, and the neighbourhood sums of the background.

Devices meet each other (and candidates meet devices) through the same
spatial cells as the hits: a point's home cell, or every cell within radius_m.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from coincidence.cores import hood_columns, lam_columns
from coincidence.density import device_sums, reach_m
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


def reach_cells(params: Params) -> ArrowBatches:
    """MapInArrow over (cid, lat, lon): (cid, cell) for every cell within radius of each point."""
    grid = CellGrid(params.cell_m)

    def cells(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            lat, lon = batch.column("lat").to_numpy(), batch.column("lon").to_numpy()
            point, cell = grid.reach(lat, lon, params.radius_m)
            yield pa.RecordBatch.from_arrays(
                [batch.column("cid").take(pa.array(point)), pa.array(cell)], ["cid", "cell"]
            )

    return cells


def with_home_cell(params: Params) -> ArrowBatches:
    """MapInArrow over rows with lat, lon: the same rows, with their home cell appended."""
    grid = CellGrid(params.cell_m)

    def cells(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            lat, lon = batch.column("lat").to_numpy(), batch.column("lon").to_numpy()
            home = pa.array(grid.home(lat, lon))
            yield pa.RecordBatch.from_arrays([*batch.columns, home], [*batch.schema.names, "cell"])

    return cells


def haversine_col(lat1: Column, lon1: Column, lat2: Column, lon2: Column) -> Column:
    """The haversine of coincidence.geo as a Spark expression (metres)."""
    dlon = F.radians(F.pmod(lon2 - lon1 + 180.0, F.lit(360.0)) - 180.0)
    a = F.pow(F.sin((F.radians(lat2) - F.radians(lat1)) / 2), 2) + F.cos(F.radians(lat1)) * F.cos(
        F.radians(lat2)
    ) * F.pow(F.sin(dlon / 2), 2)
    return 2 * EARTH_RADIUS_M * F.asin(F.sqrt(F.least(F.greatest(a, F.lit(0.0)), F.lit(1.0))))


def tile_column(params: Params) -> ArrowBatches:
    """MapInArrow over (cid, lat, lon): every tile a device can count in, and whether it is home.

    Tiles are the partitioning cells (cell_m); a device counts in the discs of the
    devices within density.reach_m(radius_m) of it.
    """
    grid = CellGrid(params.cell_m)

    def tiles(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            lat, lon = batch.column("lat").to_numpy(), batch.column("lon").to_numpy()
            point, cell = grid.reach(lat, lon, reach_m(params.radius_m))
            home = cell == grid.home(lat, lon)[point]
            cid = batch.column("cid").take(pa.array(point))
            yield pa.RecordBatch.from_arrays(
                [cid, pa.array(cell), pa.array(home)], ["cid", "cell", "home"]
            )

    return tiles


def tile_sums(params: Params) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """ApplyInPandas per tile: Lambda_d(r) and H_d(r) of the tile's home devices."""

    def run(tile: pd.DataFrame) -> pd.DataFrame:
        at = np.flatnonzero(tile["home"].to_numpy(bool))
        sums = device_sums(tile, at, params)
        sums.insert(0, "device_id", tile["device_id"].to_numpy()[at])
        return sums

    return run


def device_neighbourhoods(devices: DataFrame, params: Params) -> DataFrame:
    """(device_id, lam_q..., hood_q...): coincidence.background's Lambda_d(r) and H_d(r).

    devices: device_id, lat, lon (mean position), n (hits in the span), live_s.
    Each partitioning tile sums, on coincidence.density's grid, the devices that
    can count in its own devices' discs; the sums are the reference's to the bit.
    """
    d = devices.select("device_id", "lat", "lon", "n", "live_s")
    tiles = d.select(F.col("device_id").alias("cid"), "lat", "lon").mapInArrow(
        tile_column(params), "cid string, cell long, home boolean"
    )
    rows = d.join(tiles.withColumnRenamed("cid", "device_id"), "device_id")
    fields = [
        f"{name} double"
        for pair in zip(lam_columns(params), hood_columns(params), strict=True)
        for name in pair
    ]
    schema = ", ".join(["device_id string", *fields])
    return rows.groupBy("cell").applyInPandas(tile_sums(params), schema)
