"""The cores in Spark, in steps that never hold all the hits at once (coincidence.cores).

At 1,000 phones per km² nearly every hit is linked to another, so the hits
cannot be cut into independent groups. The cores are found in three steps, each
giving what coincidence.cores.find_cores gives in one process:

1. Eligible cylinders, per tile (spatial cell x time bucket). Each hit is copied
   to every cell within radius_m of it, and to the neighbouring bucket when it
   lies within one window of its bucket's edge (coincidence.links.halo_rows), so
   a tile holds every hit linked to the hits at home in it. Only those home hits
   anchor cylinders there: each cylinder is computed once, exactly.
2. The greedy choice, in one call, over the eligible cylinders only: a few per
   1,000 hits.
3. The footprints: each non-core hit within reach of a core goes to the core of
   first priority that reaches it. Claims do not change any core's reach, so
   this minimum is what the reference's claims in priority order give.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from coincidence.cores import (
    CORES,
    ELIGIBLE,
    core_input,
    core_summaries,
    cylinders,
    eligible_cylinders,
    take_cores,
)
from coincidence.footprint import in_reach
from coincidence.links import halo_rows, halo_schema
from coincidence.neighbours import ArrowBatches
from coincidence.params import Params
from vocab.contracts import SHOWER_SCHEMA

SHOWER_SPARK = from_arrow_schema(SHOWER_SCHEMA)
_CLAIM = "hit_id long, priority long"
# Candidates are summarised in about this many Python calls.
_SUMMARY_CALLS = 64


def _eligible(params: Params) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def run(tile: pd.DataFrame) -> pd.DataFrame:
        cyl = cylinders(tile[[*core_input(params), "home"]], params)
        return eligible_cylinders(cyl, params, only=cyl.hits["home"].to_numpy(bool))

    return run


def eligible(members: DataFrame, params: Params) -> DataFrame:
    """ELIGIBLE cylinders of the members (core_input columns), one tile at a time."""
    tiled = members.mapInArrow(halo_rows(params, both_ways=True), halo_schema(members))
    return tiled.groupBy("cell", "bucket").applyInPandas(_eligible(params), ELIGIBLE)


def cores(members: DataFrame, params: Params) -> DataFrame:
    """CORES: the greedy choice over all the eligible cylinders, in one call."""
    return eligible(members, params).groupBy().applyInPandas(take_cores, CORES)


def _within_reach(params: Params) -> ArrowBatches:
    def keep(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            df = batch.to_pandas()
            ok = in_reach(
                df["lat"].to_numpy(),
                df["lon"].to_numpy(),
                df["c_lat"].to_numpy(),
                df["c_lon"].to_numpy(),
                params,
            )
            yield pa.RecordBatch.from_pandas(
                df.loc[ok, ["hit_id", "priority"]], preserve_index=False
            )

    return keep


def claims(members: DataFrame, taken: DataFrame, core_hits: DataFrame, params: Params) -> DataFrame:
    """(hit_id, priority): footprint hits and the core that claims each.

    Met through time slots one window long: a core's reach spans at most four.
    """
    w = params.window_ns
    reach = taken.select(
        "priority",
        "reach_lo_ns",
        "reach_hi_ns",
        "c_lat",
        "c_lon",
        F.explode(F.sequence(F.expr(f"reach_lo_ns div {w}"), F.expr(f"reach_hi_ns div {w}"))).alias(
            "slot"
        ),
    )
    slotted = members.select("hit_id", "t_ns", "lat", "lon", F.expr(f"t_ns div {w}").alias("slot"))
    near = slotted.join(F.broadcast(reach), "slot").where(
        F.col("t_ns").between(F.col("reach_lo_ns"), F.col("reach_hi_ns"))
    )
    near = near.join(core_hits.select("hit_id"), "hit_id", "left_anti")
    kept = near.select("hit_id", "priority", "lat", "lon", "c_lat", "c_lon")
    kept = kept.mapInArrow(_within_reach(params), _CLAIM)
    return kept.groupBy("hit_id").agg(F.min("priority").alias("priority"))


def _summaries(params: Params) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def run(rows: pd.DataFrame) -> pd.DataFrame:
        return core_summaries(rows.drop(columns="grp"), params)

    return run


def find_candidates(members: DataFrame, params: Params) -> DataFrame:
    """The candidates (SHOWER_SCHEMA, reconstruction empty) of the hits.

    members: the core_input(params) columns of every hit searched.
    """
    members = members.localCheckpoint()
    taken = cores(members, params).localCheckpoint()
    core_hits = taken.select("priority", F.explode("members").alias("hit_id"))
    foot = claims(members, taken, core_hits, params)
    rows = core_hits.withColumn("is_core", F.lit(True)).unionByName(
        foot.withColumn("is_core", F.lit(False))
    )
    rows = rows.join(taken.select("priority", "expected"), "priority")
    rows = rows.join(members.select("hit_id", "device_id", "t_ns", "lat", "lon"), "hit_id")
    grp = F.pmod(F.xxhash64("priority"), F.lit(_SUMMARY_CALLS))
    return (
        rows.withColumn("grp", grp).groupBy("grp").applyInPandas(_summaries(params), SHOWER_SPARK)
    )
