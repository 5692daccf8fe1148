"""Flooding phones in Spark: each device's first max_hits_per_min hits of a minute.

The definition and why: coincidence.floods (the reference's version).
"""

from __future__ import annotations

import logging
from typing import TypedDict

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from coincidence.params import Params
from vocab.times import iso_utc
from vocab.units import NS_PER_MIN

log = logging.getLogger(__name__)


def _keyed(hits: DataFrame) -> DataFrame:
    """Hits with key (a 64-bit hash of device_id) and minute (UTC, floored like //)."""
    minute = F.expr(f"(t_ns - pmod(t_ns, {NS_PER_MIN})) div {NS_PER_MIN}")  # exact integers
    return hits.withColumns({"key": F.xxhash64("device_id"), "minute": minute})


def without_floods(hits: DataFrame, params: Params) -> DataFrame:
    """The hits the search reads: of a device's hits in a minute, its first by hit_id.

    One Spark job counts the hits per device and minute, keyed by a 64-bit hash
    of device_id to keep the shuffle's rows small (a collision only sends another
    device's minute through the same exact ranking). Only the minutes over the
    cap come back to the driver (few; none, and the hits are returned as they
    are), and only their hits are ranked.
    """
    cap = params.max_hits_per_min
    if cap <= 0:
        return hits
    keyed = _keyed(hits)
    counts = keyed.groupBy("key", "minute").count()
    over = counts.where(F.col("count") > cap).select("key", "minute").collect()
    if not over:
        return hits
    flooded = hits.sparkSession.createDataFrame(over, "key long, minute long")
    marked = F.broadcast(flooded.withColumn("flood", F.lit(True)))
    tagged = keyed.join(marked, ["key", "minute"], "left")
    by_id = Window.partitionBy("device_id", "minute").orderBy("hit_id")
    ranked = tagged.where(F.col("flood")).withColumn("rank", F.row_number().over(by_id))
    first = ranked.where(F.col("rank") <= cap)
    rest = tagged.where(F.col("flood").isNull())
    return rest.select(*hits.columns).unionByName(first.select(*hits.columns))


class FloodedMinute(TypedDict):
    device_id: str
    minute: str  # ISO 8601, UTC
    hits: int


class Floods(TypedDict):
    """Device minutes over the cap: their hits beyond it were not searched."""

    max_hits_per_min: int
    minutes: int
    devices: int
    hits_not_searched: int
    largest: list[FloodedMinute]  # at most FLOODS_LISTED, the most hits first


FLOODS_LISTED = 10


def flood_report(hits: DataFrame, params: Params) -> Floods:
    """Which devices flooded which minutes, when some did (one shuffle of all hits)."""
    counts = _keyed(hits).groupBy("device_id", "minute").count()
    cap = params.max_hits_per_min
    rows = sorted(
        counts.where(F.col("count") > cap).collect(),
        key=lambda r: (-r["count"], r["device_id"], r["minute"]),
    )
    return {
        "max_hits_per_min": cap,
        "minutes": len(rows),
        "devices": len({r["device_id"] for r in rows}),
        "hits_not_searched": sum(r["count"] - cap for r in rows),
        "largest": [
            {
                "device_id": r["device_id"],
                "minute": iso_utc(r["minute"] * NS_PER_MIN),
                "hits": r["count"],
            }
            for r in rows[:FLOODS_LISTED]
        ],
    }


def warn(floods: Floods) -> None:
    for row in floods["largest"]:
        log.warning(
            "device %s sent %d hits in the minute from %s: searching its first %d",
            row["device_id"],
            row["hits"],
            row["minute"],
            floods["max_hits_per_min"],
        )
    log.warning(
        "%d hits of %d devices in %d minutes over --max-hits-per-min %d were not searched",
        floods["hits_not_searched"],
        floods["devices"],
        floods["minutes"],
        floods["max_hits_per_min"],
    )
