"""The Spark job's core and energy fit and its scrambled copies, around the shared Python.

- with_fits: each candidate's member hits and the devices live at its time
  (exposure blocks within the fit radius, met through cells of the fit radius)
  go to coincidence.reconstruct.fit_rows, one candidate per group.
- scrambled: every device's hit times shifted by coincidence.calibration.scramble_device.
- counts: the chance report's counts (coincidence.calibration) from Spark frames.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import from_arrow_schema

from coincidence import chance
from coincidence.calibration import (
    COUNT_COLUMNS,
    model_counts,
    observed_counts,
    scramble_device,
)
from coincidence.cores import cylinders, lam_columns
from coincidence.neighbours import CELLS, haversine_col, reach_cells, with_home_cell
from coincidence.params import Params
from coincidence.reconstruct import (
    FIT_INPUT,
    FIT_OUTPUT,
    fit_radius_m,
    fit_rows,
    fit_window_s,
    hit_reach_m,
)
from vocab.contracts import RECONSTRUCTION, SHOWER_SCHEMA

FIT_SPARK = from_arrow_schema(
    pa.schema(
        [
            SHOWER_SCHEMA.field("shower_id"),
            *(SHOWER_SCHEMA.field(c) for c in RECONSTRUCTION),
            ("fit_status", pa.string()),
        ]
    )
)
COUNTS_SPARK = "radius_m double, k long, n double"


def fit_input(
    showers: DataFrame, hits: DataFrame, devices: DataFrame, blocks: DataFrame, params: Params
) -> DataFrame:
    """FIT_INPUT rows: members and devices live nearby at the candidate's time.

    A live device with a hit within one window of the candidate's time fired.
    """
    rate = devices.select("device_id", "rate")
    fired = showers.select("shower_id", F.explode("hit_ids").alias("hit_id"))
    # The members are few: they go to every task, and the hits stay where they are.
    fired = hits.select("hit_id", "device_id", "lat", "lon").join(F.broadcast(fired), "hit_id")
    where = showers.select(
        "shower_id", "t_ns", F.col("lat").alias("s_lat"), F.col("lon").alias("s_lon")
    )
    # Members count where silent phones do: within the fit radius (reconstruct's docstring).
    fired = fired.join(where, "shower_id").where(
        haversine_col(F.col("s_lat"), F.col("s_lon"), F.col("lat"), F.col("lon"))
        <= fit_radius_m(params)
    )
    fired = fired.withColumn("fired", F.lit(True))
    # Blocks meet candidates through cells as small as the fit radius: at 1,000 phones
    # per km^2 a partitioning cell holds ~10^5 blocks, a cell of the fit radius ~250.
    grid = replace(params, cell_m=fit_radius_m(params), radius_m=fit_radius_m(params))
    reach = showers.select(F.col("shower_id").alias("cid"), "lat", "lon").mapInArrow(
        reach_cells(grid), CELLS
    )
    where = where.join(reach.withColumnRenamed("cid", "shower_id"), "shower_id")
    placed = blocks.mapInArrow(
        with_home_cell(grid),
        T.StructType([*blocks.schema.fields, T.StructField("cell", T.LongType())]),
    )
    live = placed.join(F.broadcast(where), "cell").where(
        (F.col("start_ns") <= F.col("t_ns"))
        & (F.col("t_ns") < F.col("end_ns"))
        & (
            haversine_col(F.col("s_lat"), F.col("s_lon"), F.col("lat"), F.col("lon"))
            <= fit_radius_m(params)
        )
    )
    live = live.select("shower_id", "device_id", "lat", "lon", "t_ns")
    hit = _hit_near(showers, hits, params)
    live = live.join(hit, ["shower_id", "device_id"], "left").select(
        "shower_id", "device_id", "lat", "lon", F.coalesce("hit", F.lit(False)).alias("fired")
    )
    rows = fired.select("shower_id", "device_id", "lat", "lon", "fired").unionByName(live)
    rows = rows.join(rate, "device_id", "left")
    chance = F.coalesce("rate", F.lit(0.0)) * fit_window_s(params)
    return rows.select(*FIT_INPUT[:-1], chance.alias("chance"))


def _hit_near(showers: DataFrame, hits: DataFrame, params: Params) -> DataFrame:
    """(shower_id, device_id, hit) for each device with a hit near a shower in time and place.

    Near: within one window of its time and hit_reach_m of its centroid. The
    showers are few: their window-long time slots go to every task, and the hits
    meet them there, with no shuffle of the hits; only the few near in place
    reach the shuffle that follows.
    """
    window_ns = params.window_ns

    def slot(t: str) -> Column:  # integer floor division: t_ns > 0
        return F.expr(f"({t}) div {window_ns}")

    wanted = showers.select(
        "shower_id",
        F.col("t_ns").alias("s_t"),
        F.col("lat").alias("s_lat"),
        F.col("lon").alias("s_lon"),
        F.explode(F.sequence(slot(f"t_ns - {window_ns}"), slot(f"t_ns + {window_ns}"))).alias(
            "slot"
        ),
    )
    keyed = hits.select("device_id", "t_ns", "lat", "lon", slot("t_ns").alias("slot"))
    distance = haversine_col(F.col("s_lat"), F.col("s_lon"), F.col("lat"), F.col("lon"))
    near = keyed.join(F.broadcast(wanted), "slot").where(
        (F.abs(F.col("t_ns") - F.col("s_t")) <= window_ns)
        & (distance <= hit_reach_m(fit_radius_m(params), params.radius_m))
    )
    return near.select("shower_id", "device_id").distinct().withColumn("hit", F.lit(True))


def _fits(params: Params) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def run(rows: pd.DataFrame) -> pd.DataFrame:
        return fit_rows(rows, params)[FIT_OUTPUT]

    return run


def with_fits(
    showers: DataFrame, hits: DataFrame, devices: DataFrame, blocks: DataFrame, params: Params
) -> DataFrame:
    """Showers with the reconstruction columns filled (null where the fit did not converge)."""
    rows = fit_input(showers, hits, devices, blocks, params)
    fits = rows.groupBy("shower_id").applyInPandas(_fits(params), FIT_SPARK)
    plain = showers.drop(*RECONSTRUCTION)
    return plain.join(fits.drop("fit_status"), "shower_id", "left").select(*SHOWER_SCHEMA.names)


def _scrambler(
    span: tuple[int, int], seed: int
) -> Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame]:
    def run(device_hits: pd.DataFrame, device_blocks: pd.DataFrame) -> pd.DataFrame:
        if device_hits.empty:
            return device_hits
        device = str(device_hits["device_id"].iloc[0])
        times = device_hits["t_ns"].to_numpy(np.int64)
        moved = scramble_device(
            times, device, device_blocks if len(device_blocks) else None, span, seed
        )
        return device_hits.assign(t_ns=moved)

    return run


def scrambled(
    hits: DataFrame, blocks: DataFrame | None, span: tuple[int, int], seed: int
) -> DataFrame:
    """Hits with every device's times scrambled along its live time (or the span)."""
    schema = hits.schema
    if blocks is None:
        empty = pd.DataFrame(columns=["start_ns", "end_ns"])
        run = _scrambler(span, seed)
        return hits.groupBy("device_id").applyInPandas(lambda h: run(h, empty), schema)
    own = blocks.select("device_id", "start_ns", "end_ns")
    grouped = hits.groupBy("device_id").cogroup(own.groupBy("device_id"))
    return grouped.applyInPandas(_scrambler(span, seed), schema)


def observed(members: DataFrame, params: Params) -> DataFrame:
    """COUNT_COLUMNS of the seed groups' cylinders (members: label and the hit columns)."""

    def run(batch: pd.DataFrame) -> pd.DataFrame:
        return observed_counts(cylinders(batch, params), params).astype({"n": "float64"})

    groups = members.withColumn("grp", F.pmod(F.xxhash64("label"), F.lit(64)))
    counts = groups.groupBy("grp").applyInPandas(run, COUNTS_SPARK)
    return counts.groupBy("radius_m", "k").agg(F.sum("n").alias("n"))


def modelled(hoods: DataFrame, devices: DataFrame, params: Params) -> DataFrame:
    """COUNT_COLUMNS of the model's expected chance cylinders, summed over devices."""
    cols = ["n", *lam_columns(params)]

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            yield model_counts(batch[cols], params)

    table = hoods.join(devices.select("device_id", "n"), "device_id").select(*cols)
    counts = table.mapInPandas(run, COUNTS_SPARK)
    return counts.groupBy("radius_m", "k").agg(F.sum("n").alias("n"))


def candidate_counts(showers: DataFrame, params: Params) -> dict[int, int]:
    """coincidence.chance.candidate_counts of a Spark frame (candidates are few)."""
    return chance.candidate_counts(showers.select("n_devices").toPandas(), params)


def to_pandas(counts: DataFrame) -> pd.DataFrame:
    """A COUNT_COLUMNS Spark frame as pandas, ordered like coincidence.calibration's."""
    frame = counts.toPandas()[COUNT_COLUMNS]
    return frame.sort_values(["radius_m", "k"]).reset_index(drop=True)
