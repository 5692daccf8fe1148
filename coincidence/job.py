"""The coincidence search as a Spark job: extract -> transform(df, params) -> load.

1. Each device's rate and neighbourhood sums (coincidence.neighbours).
2. The cores, tile by tile, then the greedy choice and the footprints
   (coincidence.spark_cores).
3. With exposure blocks, the core and energy fit per candidate (coincidence.spark_fit).
Every step uses the same Python as the in-memory reference for the science.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypedDict

from py4j.protocol import Py4JJavaError
from pyspark.errors import AnalysisException, PySparkException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from coincidence import spark_cores
from coincidence.chance import ChanceReport, assemble
from coincidence.failures import explain
from coincidence.links import seed_members
from coincidence.neighbours import device_neighbourhoods, device_stats
from coincidence.params import Params
from coincidence.reconstruct import FITTED, NO_CONVERGENCE, NO_EXPOSURES
from coincidence.spark_fit import (
    candidate_counts,
    modelled,
    observed,
    scrambled,
    to_pandas,
    with_fits,
)
from coincidence.spark_floods import Floods, flood_report, without_floods
from coincidence.spark_floods import warn as warn_floods
from vocab.contracts import (
    EXPOSURE_SCHEMA,
    EXPOSURES_DIR,
    HIT_COLUMNS,
    HIT_SCHEMA,
    lake_partition,
)
from vocab.units import NS_PER_S

log = logging.getLogger(__name__)


def span_seconds(hits: DataFrame, params: Params) -> DataFrame:
    """One row, span_s: [since, until) when given, else first to last hit (>= one window)."""
    lo = F.lit(params.since_ns) if params.since_ns is not None else F.min("t_ns")
    hi = F.lit(params.until_ns) if params.until_ns is not None else F.max("t_ns")
    return hits.agg(
        (F.greatest(hi - lo, F.lit(params.window_ns)).cast("double") / NS_PER_S).alias("span_s")
    )


def device_rates(hits: DataFrame, params: Params, blocks: DataFrame | None) -> DataFrame:
    """Per device: mean position, n hits in the span, live_s and rate (1/s)."""
    devices = device_stats(hits).crossJoin(span_seconds(hits, params))
    if blocks is not None:
        devices = devices.join(live_seconds(blocks, params), "device_id", "left")
        devices = devices.withColumn("live_s", F.coalesce("live_s", "span_s"))
    else:
        devices = devices.withColumn("live_s", F.col("span_s"))
    return devices.withColumn("rate", F.col("n") / F.col("live_s"))


def find_candidates(hits: DataFrame, devices: DataFrame, params: Params) -> DataFrame:
    """The candidates of the hits (SHOWER_SCHEMA, reconstruction empty)."""
    return spark_cores.find_candidates(hits, device_neighbourhoods(devices, params), params)


def transform(
    hits: DataFrame,
    params: Params,
    blocks: DataFrame | None = None,
    stage: Callable[[str, Callable[[], DataFrame]], DataFrame] | None = None,
) -> DataFrame:
    """Shower candidates (SHOWER_SCHEMA) of hits (the hit contract) under params.

    blocks: optional exposure blocks (device_id, start_ns, end_ns, lat, lon): the
    devices' live time, and the silent phones of the core and energy fit.
    stage: called with each step's name ("floods": the hits searched, "rates",
    "candidates", "fits") and a function that builds its frame (some steps run
    Spark jobs to build it); returns the frame to go on with (main's naming,
    timing and caching).
    """
    step = stage or (lambda _name, build: build())
    hits = step("floods", lambda: without_floods(select_span(hits, params), params))
    devices = step("rates", lambda: device_rates(hits, params, blocks))
    showers = step("candidates", lambda: find_candidates(hits, devices, params))
    if blocks is None:
        return showers
    return step("fits", lambda: with_fits(showers, hits, devices, blocks, params))


def select_span(hits: DataFrame, params: Params) -> DataFrame:
    out = hits.select(
        F.col("hit_id").cast("long"),
        F.col("device_id").cast("string"),
        F.col("t_ns").cast("long"),
        F.col("lat").cast("double"),
        F.col("lon").cast("double"),
    )
    if params.since_ns is not None:
        out = out.where(F.col("t_ns") >= params.since_ns)
    if params.until_ns is not None:
        out = out.where(F.col("t_ns") < params.until_ns)
    return out


def extract(spark: SparkSession, path: str, params: Params) -> DataFrame:
    """Hits from a Parquet file, directory, glob or the date/hour lake, pruned to the span."""
    lake = Path(path)
    if lake.is_dir() and not any(lake.rglob("*.parquet")):
        # An export of a span without hits writes no files: a valid, empty search.
        log.warning("%s holds no Parquet files: searching no hits", path)
        return spark.createDataFrame([], from_arrow_schema(HIT_SCHEMA)).select(*HIT_COLUMNS)
    if lake.is_dir() and any(lake.glob("date=*")):
        # The lake's hour partitions only: its exposures/ folder is another dataset.
        hits = spark.read.option("basePath", path).parquet(str(lake / "date=*"))
    else:
        hits = spark.read.parquet(path)
    missing = [c for c in HIT_COLUMNS if c not in hits.columns]
    if missing:
        raise ValueError(f"{path}: not in the hit contract, missing columns {', '.join(missing)}")
    if {"date", "hour"} <= set(hits.columns):
        hits = hits.where(_partition_filter(params))
    return select_span(hits, params)


def check_days(path: str, params: Params, allow: bool = False) -> list[str]:
    """The days of the span (UTC dates) for which a date=/hour= lake holds no hits.

    A missing day would be searched as a quiet one: every phone's rate, measured
    over the span or its exposure blocks, would come out too low and the
    candidates too significant. So it is refused, unless allow.
    """
    lake = Path(path)
    held = {d.name[len("date=") :] for d in lake.glob("date=*") if any(d.rglob("*.parquet"))}
    if not lake.is_dir() or not held:
        return []
    first = lake_partition(params.since_ns)[0] if params.since_ns is not None else min(held)
    last = lake_partition(params.until_ns - 1)[0] if params.until_ns is not None else max(held)
    day, end = date.fromisoformat(first), date.fromisoformat(last)
    missing = []
    while day <= end:
        if day.isoformat() not in held:
            missing.append(day.isoformat())
        day += timedelta(days=1)
    if not missing:
        return []
    listed = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    if not allow:
        raise ValueError(
            f"{path} holds no hits for {listed}, inside the span: a missing day would be "
            "searched as a quiet one. Export it (crowdray export), narrow the span "
            "(--since, --until) or search anyway with --allow-missing-days"
        )
    log.warning("%s holds no hits for %s: searched as quiet days", path, listed)
    return missing


def _partition_filter(params: Params) -> Column:
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


def load(showers: DataFrame, output: Path) -> None:
    """Write the shower dataset to OUTPUT/showers, one file ordered by time."""
    showers.orderBy("t_ns", "shower_id").coalesce(1).write.mode("overwrite").parquet(
        str(output / "showers")
    )


EXPOSURE_COLUMNS = ("device_id", "start_ns", "end_ns", "lat", "lon")


def read_blocks(spark: SparkSession, path: str) -> DataFrame:
    """Exposure blocks from Parquet (a file, directory, glob, or a lake with its exposures/)."""
    if (Path(path) / EXPOSURES_DIR).is_dir():
        path = str(Path(path) / EXPOSURES_DIR)
    if Path(path).is_dir() and not any(Path(path).rglob("*.parquet")):
        log.warning("%s holds no Parquet files: no exposure blocks", path)
        blocks = spark.createDataFrame([], from_arrow_schema(EXPOSURE_SCHEMA))
    else:
        blocks = spark.read.parquet(path)
    missing = set(EXPOSURE_COLUMNS) - set(blocks.columns)
    if missing:
        raise ValueError(f"{path}: exposure blocks need columns {', '.join(sorted(missing))}")
    return blocks.select(
        F.col("device_id").cast("string"),
        F.col("start_ns").cast("long"),
        F.col("end_ns").cast("long"),
        F.col("lat").cast("double"),
        F.col("lon").cast("double"),
    )


def live_seconds(blocks: DataFrame, params: Params) -> DataFrame:
    """(device_id, live_s): each device's exposure inside the span, from its blocks."""
    start, end = F.col("start_ns"), F.col("end_ns")
    if params.since_ns is not None:
        start = F.greatest(start, F.lit(params.since_ns))
    if params.until_ns is not None:
        end = F.least(end, F.lit(params.until_ns))
    overlap = F.greatest(end - start, F.lit(0)).cast("double") / NS_PER_S
    live = blocks.groupBy("device_id").agg(F.sum(overlap).alias("live_s"))
    return live.where(F.col("live_s") > 0)


class Counts(TypedDict):
    hits: int
    showers: int


class Timings(TypedDict):
    """Seconds: search = rates (per-phone rates and chance terms) + candidates.

    read: the count and time bounds of the hits; floods: reading them whole and
    keeping the hits searched (coincidence.floods), cached for the later steps.
    """

    read: float
    floods: float
    rates: float
    candidates: float
    search: float
    fit: float
    total: float


class SearchSummary(TypedDict):
    """OUTPUT/summary.json: what was searched, how, and what came out."""

    input: str
    exposures: str | None
    output: str
    parameters: dict[str, Any]
    master: str
    span_ns: list[int | None]
    missing_days: list[str]
    counts: Counts
    fit_status: dict[str, int]
    chance: ChanceReport | None
    floods: Floods | None
    timings_s: Timings
    finished_at: str


class Stages:
    """Each step cached, counted and timed once, so that its time is its own.

    `now` names the step running, for a failure's message (coincidence.failures).
    """

    def __init__(self) -> None:
        self.clock = [time.time()]
        self.now = "read"
        self.kept: dict[str, DataFrame] = {}
        self.counted: dict[str, int] = {}
        self.laps: dict[str, float] = {}

    def lap(self) -> float:
        self.clock.append(time.time())
        return round(self.clock[-1] - self.clock[-2], 3)

    def __call__(self, name: str, build: Callable[[], DataFrame]) -> DataFrame:
        self.now = name
        self.kept[name] = build().persist()
        self.counted[name] = self.kept[name].count()
        self.laps[name] = self.lap()
        return self.kept[name]


def main(
    spark: SparkSession,
    input_path: str,
    output: Path,
    params: Params,
    exposures: str | None = None,
    scrambles: int = 0,
    allow_missing_days: bool = False,
) -> SearchSummary:
    """Run the search; write OUTPUT/showers and OUTPUT/summary.json; return the summary.

    Raises ValueError for input that breaks the contracts, SearchError when Spark
    fails (naming the stage, and the file it could not read).
    """
    stages = Stages()
    try:
        missing = check_days(input_path, params, allow_missing_days)
        summary = _search(spark, input_path, output, params, exposures, scrambles, stages)
    except AnalysisException:
        raise  # Spark's own message names the path or the column
    except (Py4JJavaError, PySparkException) as exc:
        raise explain(exc, stages.now) from exc
    summary["missing_days"] = missing
    (output / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    log.info(
        "search %s on %s: %d hits -> %d candidates in %.1f s",
        input_path,
        summary["master"],
        summary["counts"]["hits"],
        summary["counts"]["showers"],
        summary["timings_s"]["total"],
    )
    return summary


def _search(
    spark: SparkSession,
    input_path: str,
    output: Path,
    params: Params,
    exposures: str | None,
    scrambles: int,
    stages: Stages,
) -> SearchSummary:
    output.mkdir(parents=True, exist_ok=True)
    hits = extract(spark, input_path, params)  # read once more, and kept, by the floods step
    blocks = read_blocks(spark, exposures).persist() if exposures else None
    bounds = hits.agg(F.count("*"), F.min("t_ns"), F.max("t_ns")).collect()[0]
    span = _span(params, bounds[1], bounds[2])
    read_s = stages.lap()
    showers = transform(hits, params, blocks, stages)
    floods = None
    if stages.counted["floods"] < bounds[0]:
        floods = flood_report(hits, params)
        warn_floods(floods)
    laps = stages.laps
    stages.now = "write"
    load(showers, output)
    fit_status = _fit_status(spark, output, blocks is not None)
    fit_s = round(laps.get("fits", 0.0) + stages.lap(), 3)  # the fits and the writing
    chance = None
    if scrambles:
        stages.now = "chance"
        chance = chance_report(stages.kept["floods"], blocks, params, scrambles, span)
    summary: SearchSummary = {
        "input": input_path,
        "exposures": exposures,
        "output": str(output / "showers"),
        "parameters": params.as_dict(),
        "master": str(spark.sparkContext.master),
        "span_ns": list(span),
        "missing_days": [],
        "counts": {"hits": int(bounds[0]), "showers": stages.counted["candidates"]},
        "fit_status": fit_status,
        "chance": chance,
        "floods": floods,
        "timings_s": {
            "read": read_s,
            "floods": laps["floods"],
            "rates": laps["rates"],
            "candidates": laps["candidates"],
            "search": round(laps["rates"] + laps["candidates"], 3),
            "fit": fit_s,
            "total": round(stages.clock[-1] - stages.clock[0] + stages.lap(), 3),
        },
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    for frame in (blocks, *stages.kept.values()):
        if frame is not None:
            frame.unpersist()
    return summary


def chance_report(
    hits: DataFrame,
    blocks: DataFrame | None,
    params: Params,
    scrambles: int,
    span: tuple[int, int],
) -> ChanceReport:
    """The model, the data and `scrambles` scrambled copies, counted alike (coincidence.chance).

    hits: the hits searched (without_floods).
    """
    devices = device_rates(hits, params, blocks)
    model = to_pandas(modelled(device_neighbourhoods(devices, params), devices, params))
    data = to_pandas(observed(seed_members(hits, params), params))
    found = candidate_counts(find_candidates(hits, devices, params), params)
    runs = []
    for replica in range(scrambles):
        copy = scrambled(hits, blocks, span, seed=1 + replica).persist()
        counts = to_pandas(observed(seed_members(copy, params), params))
        runs.append(
            (
                counts,
                candidate_counts(
                    find_candidates(copy, device_rates(copy, params, blocks), params), params
                ),
            )
        )
        copy.unpersist()
    return assemble(params, model, data, found, runs)


def _span(params: Params, first: int | None, last: int | None) -> tuple[int, int]:
    """The analysed span [since, until) in epoch ns (the data's when not given)."""
    lo = params.since_ns if params.since_ns is not None else (first or 0)
    hi = params.until_ns if params.until_ns is not None else ((last or 0) + 1)
    return lo, hi


def _fit_status(spark: SparkSession, output: Path, fitted: bool) -> dict[str, int]:
    """How many candidates were fitted, and why the others were not."""
    showers = spark.read.parquet(str(output / "showers"))
    total = showers.count()
    if not fitted:
        return {NO_EXPOSURES: total} if total else {}
    ok = showers.where(F.col("core_lat").isNotNull()).count()
    return {k: v for k, v in ((FITTED, ok), (NO_CONVERGENCE, total - ok)) if v}
