"""The cores in Spark, in steps that never hold all the hits at once (coincidence.cores).

At 1,000 phones per km² nearly every hit is linked to another, so the hits
cannot be cut into independent groups. The cores are found in three steps, each
giving what coincidence.cores.find_cores gives in one process:

1. Eligible cylinders, per tile (spatial cell x time bucket). Each hit is copied
   to every cell within radius_m of it, and to the neighbouring bucket when it
   lies within one window of its bucket's edge (coincidence.links.halo_rows), so
   a tile holds every hit linked to the hits at home in it. Only those home hits
   anchor cylinders there: each cylinder is computed once, exactly. The tiles
   carry a hit's id, time and place and a 64-bit key of its device: the devices'
   neighbourhood sums reach each Python worker once, by broadcast, as a table
   sorted by that key (Neighbourhoods), so the hits need no join to find them.
2. The greedy choice, in one call, over the eligible cylinders only: a few per
   1,000 hits.
3. The footprints, in one pass over the hits: the hits in the time reach of a
   core (few) are kept with their columns; a core's own hits are among them,
   and each other hit within reach of a core goes to the core of first priority
   that reaches it. Claims do not change any core's reach, so this minimum is
   what the reference's claims in priority order give.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from pyspark import Broadcast
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from coincidence.cores import (
    CORES,
    ELIGIBLE,
    Floats,
    Ints,
    core_input,
    core_summaries,
    eligible_in_slices,
    hood_columns,
    lam_columns,
    take_cores,
)
from coincidence.footprint import in_reach
from coincidence.links import halo_rows, halo_schema
from coincidence.neighbours import ArrowBatches
from coincidence.params import Params
from vocab.contracts import HIT_COLUMNS, SHOWER_SCHEMA

SHOWER_SPARK = from_arrow_schema(SHOWER_SCHEMA)
# Candidates are summarised in about this many Python calls.
_SUMMARY_CALLS = 64


# Seeds of the device key tried in turn. Two of n devices share a 64-bit key with
# odds ~n^2 / 2^65 (3e-8 for 10^6 devices), so the first nearly always serves.
_SALTS = 4


def device_key(salt: int) -> Column:
    """A 64-bit key of device_id: Spark's xxhash64 of (salt, device_id)."""
    return F.xxhash64(F.lit(salt), F.col("device_id"))


@dataclass(frozen=True)
class Neighbourhoods:
    """The devices' Lambda_d(r) and H_d(r) (lam then hood columns), by device_key(salt).

    salt: a seed under which no two of the devices share a key; table: on every
    Python worker, (keys, sorted; sums, row k holding the sums of keys[k]).
    """

    salt: int
    table: Broadcast[tuple[Ints, Floats]]


def by_key(hoods: DataFrame, params: Params) -> Neighbourhoods:
    """Neighbourhoods from device_neighbourhoods' rows: 72 bytes a device on each worker.

    The keys of every salt tried come in the one collect; the first salt whose
    keys are all distinct is kept, so a hit's key finds its own device's row.
    """
    columns = [*lam_columns(params), *hood_columns(params)]
    keyed = hoods.select(
        *(device_key(salt).alias(f"key{salt}") for salt in range(_SALTS)), *columns
    ).toArrow()
    sums = np.column_stack([keyed[c].to_numpy() for c in columns]).astype(np.float64)
    for salt in range(_SALTS):
        keys = keyed[f"key{salt}"].to_numpy()
        order = np.argsort(keys)
        if not np.any(np.diff(keys[order]) == 0):
            table = (keys[order], sums[order])
            return Neighbourhoods(salt, hoods.sparkSession.sparkContext.broadcast(table))
    raise RuntimeError(f"device ids share 64-bit keys under each of {_SALTS} seeds")


def _eligible(
    params: Params, table: Broadcast[tuple[Ints, Floats]]
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    names = [*lam_columns(params), *hood_columns(params)]

    def run(tile: pd.DataFrame) -> pd.DataFrame:
        keys, sums = table.value
        key = tile["device_id"].to_numpy(np.int64)
        row = np.searchsorted(keys, key)
        if not np.array_equal(keys.take(row, mode="clip"), key):
            raise ValueError("a hit's device has no neighbourhood sums")
        # In the tiles a device is told apart by its row alone.
        found = sums[row]
        tile = tile.assign(device_id=row, **{name: found[:, k] for k, name in enumerate(names)})
        return eligible_in_slices(tile[core_input(params)], params, tile["home"].to_numpy(bool))

    return run


def eligible(hits: DataFrame, hoods: Neighbourhoods, params: Params) -> DataFrame:
    """ELIGIBLE cylinders of the hits (HIT_COLUMNS), one tile at a time."""
    points = hits.select("hit_id", device_key(hoods.salt).alias("device_id"), "t_ns", "lat", "lon")
    tiled = points.mapInArrow(halo_rows(params, both_ways=True), halo_schema(points))
    return tiled.groupBy("cell", "bucket").applyInPandas(_eligible(params, hoods.table), ELIGIBLE)


def cores(hits: DataFrame, hoods: Neighbourhoods, params: Params) -> DataFrame:
    """CORES: the greedy choice over all the eligible cylinders, in one call."""
    return eligible(hits, hoods, params).groupBy().applyInPandas(take_cores, CORES)


def _within_reach(params: Params) -> ArrowBatches:
    """MapInArrow: the rows (lat, lon, c_lat, c_lon) within radius_m of their core's centroid."""

    def keep(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            lat, lon, c_lat, c_lon = (
                batch.column(c).to_numpy() for c in ("lat", "lon", "c_lat", "c_lon")
            )
            ok = in_reach(lat, lon, c_lat, c_lon, params)
            yield batch.filter(pa.array(ok))

    return keep


def near_cores(hits: DataFrame, taken: DataFrame, params: Params) -> DataFrame:
    """(priority, HIT_COLUMNS, c_lat, c_lon) of every hit in the time reach of a core.

    The cores are few: their window-long time slots go to every task (a core's
    reach spans at most four), and the hits meet them there with no shuffle.
    """
    w = params.window_ns
    slots = F.sequence(F.expr(f"reach_lo_ns div {w}"), F.expr(f"reach_hi_ns div {w}"))
    reach = taken.select(
        "priority", "reach_lo_ns", "reach_hi_ns", "c_lat", "c_lon", F.explode(slots).alias("slot")
    )
    slotted = hits.select(*HIT_COLUMNS, F.expr(f"t_ns div {w}").alias("slot"))
    near = slotted.join(F.broadcast(reach), "slot").where(
        F.col("t_ns").between(F.col("reach_lo_ns"), F.col("reach_hi_ns"))
    )
    return near.select("priority", *HIT_COLUMNS, "c_lat", "c_lon")


def candidate_rows(hits: DataFrame, taken: DataFrame, params: Params) -> DataFrame:
    """(priority, is_core, HIT_COLUMNS) of each core's hits and the footprint hits it claims.

    A core's own hits lie in its time reach. Every other hit in reach goes to the
    core of first priority whose centroid is within radius_m of it.
    """
    near = near_cores(hits, taken, params).localCheckpoint()
    core_hits = F.broadcast(taken.select("priority", F.explode("members").alias("hit_id")))
    core = near.join(core_hits, ["priority", "hit_id"]).select(
        "priority", F.lit(True).alias("is_core"), *HIT_COLUMNS
    )
    rest = near.join(core_hits.select("hit_id"), "hit_id", "left_anti")
    rest = rest.mapInArrow(_within_reach(params), rest.schema)
    first = rest.groupBy("hit_id").agg(F.min(F.struct("priority", *HIT_COLUMNS[1:])).alias("m"))
    foot = first.select(
        F.col("m.priority").alias("priority"),
        F.lit(False).alias("is_core"),
        "hit_id",
        *(F.col(f"m.{c}").alias(c) for c in HIT_COLUMNS[1:]),
    )
    return core.unionByName(foot)


def _summaries(params: Params) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def run(rows: pd.DataFrame) -> pd.DataFrame:
        return core_summaries(rows.drop(columns="grp"), params)

    return run


def find_candidates(hits: DataFrame, hoods: DataFrame, params: Params) -> DataFrame:
    """The candidates (SHOWER_SCHEMA, reconstruction empty) of the hits.

    hits: every hit searched (HIT_COLUMNS; kept by the caller, as it is read
    twice); hoods: coincidence.neighbours.device_neighbourhoods of their devices.
    """
    members = hits.select(*HIT_COLUMNS)
    taken = cores(members, by_key(hoods, params), params).localCheckpoint()
    rows = candidate_rows(members, taken, params)
    rows = rows.join(F.broadcast(taken.select("priority", "expected")), "priority")
    grp = F.pmod(F.xxhash64("priority"), F.lit(_SUMMARY_CALLS))
    return (
        rows.withColumn("grp", grp).groupBy("grp").applyInPandas(_summaries(params), SHOWER_SPARK)
    )
