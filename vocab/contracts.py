"""The Parquet contracts: hits in, showers out, and the lake layout (README, "Contracts").

Defined once here and used by the exporter, the loader, the simulator and the job.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from vocab.units import NS_PER_S

HIT_SCHEMA = pa.schema(
    [
        pa.field("hit_id", pa.int64(), nullable=False),
        pa.field("device_id", pa.string(), nullable=False),
        pa.field("t_ns", pa.int64(), nullable=False),
        pa.field("t_err_ns", pa.int64()),
        pa.field("lat", pa.float64(), nullable=False),
        pa.field("lon", pa.float64(), nullable=False),
        pa.field("alt_m", pa.float64()),
        pa.field("loc_err_m", pa.float64()),
    ]
)
HIT_COLUMNS = ("hit_id", "device_id", "t_ns", "lat", "lon")  # what the search needs

SHOWER_SCHEMA = pa.schema(
    [
        pa.field("shower_id", pa.string(), nullable=False),
        pa.field("t_ns", pa.int64(), nullable=False),
        pa.field("t_spread_ns", pa.int64(), nullable=False),
        pa.field("lat", pa.float64(), nullable=False),
        pa.field("lon", pa.float64(), nullable=False),
        pa.field("radius_m", pa.float64(), nullable=False),
        pa.field("n_devices", pa.int64(), nullable=False),
        pa.field("n_hits", pa.int64(), nullable=False),
        # The compact core the significance is computed on (n_devices, n_hits: the whole shower).
        pa.field("n_core_devices", pa.int64(), nullable=False),
        pa.field("n_core_hits", pa.int64(), nullable=False),
        pa.field("hit_ids", pa.list_(pa.int64()), nullable=False),
        pa.field("device_ids", pa.list_(pa.string()), nullable=False),
        pa.field("expected_background", pa.float64(), nullable=False),
        pa.field("significance_sigma", pa.float64(), nullable=False),
        # Reconstruction: null without exposure blocks or when the fit did not converge.
        pa.field("core_lat", pa.float64()),
        pa.field("core_lon", pa.float64()),
        pa.field("core_err_m", pa.float64()),
        pa.field("log10_energy_ev", pa.float64()),
        pa.field("log10_energy_err", pa.float64()),
        pa.field("n_silent", pa.int64()),
    ]
)
RECONSTRUCTION = (
    "core_lat",
    "core_lon",
    "core_err_m",
    "log10_energy_ev",
    "log10_energy_err",
    "n_silent",
)

# The upload contract: the fields of one hit in POST /api/v1/hits, and which are integers.
UPLOAD_HIT_FIELDS = (
    "seq",
    "t_ns",
    "t_err_ns",
    "lat",
    "lon",
    "alt_m",
    "loc_err_m",
    "x",
    "y",
    "value",
    "n_pixels",
)
UPLOAD_HIT_INTS = ("seq", "t_ns", "t_err_ns", "x", "y", "value", "n_pixels")

# Shower columns that are one number each (the loader stores these as they are).
SHOWER_SCALARS = tuple(
    f.name for f in SHOWER_SCHEMA if f.name not in ("shower_id", "hit_ids", "device_ids")
)

# Exposure blocks in the lake: LAKE/exposures/date=YYYY-MM-DD/<file>.parquet, by the
# UTC date of the block's end. What `coincidence --exposures` reads (it needs
# device_id, start_ns, end_ns, lat, lon).
EXPOSURE_SCHEMA = pa.schema(
    [
        pa.field("block_id", pa.string(), nullable=False),
        pa.field("device_id", pa.string(), nullable=False),
        pa.field("start_ns", pa.int64(), nullable=False),
        pa.field("end_ns", pa.int64(), nullable=False),
        pa.field("lat", pa.float64(), nullable=False),
        pa.field("lon", pa.float64(), nullable=False),
        pa.field("loc_err_m", pa.float64()),
        pa.field("frames", pa.int64()),
        pa.field("l1_threshold", pa.int64()),
        pa.field("l2_threshold", pa.int64()),
        pa.field("n_hits", pa.int64()),
    ]
)
EXPOSURES_DIR = "exposures"

# The lake: LAKE/date=YYYY-MM-DD/hour=HH/<file>.parquet, partitioned by the hit's UTC hour.
LAKE_PARTITIONS = ("date", "hour")


def lake_partition(t_ns: int) -> tuple[str, int]:
    """(date, hour) of the lake partition holding a hit at UTC epoch ns t_ns."""
    moment = datetime.fromtimestamp(t_ns // NS_PER_S, UTC)
    return moment.strftime("%Y-%m-%d"), moment.hour


def member_span(t_ns: int, t_spread_ns: int) -> tuple[int, int]:
    """The times (ns, both included) a shower's member hits lie within.

    t_ns is a member's time (the lower median) and t_spread_ns the last member's
    time minus the first's, so every member lies within t_spread_ns of t_ns.
    """
    return t_ns - t_spread_ns, t_ns + t_spread_ns


def shower_id(min_hit_id: int) -> str:
    """A candidate is named after its smallest hit_id: stable across reruns on the same hits."""
    return f"S{min_hit_id}"


def write_lake(table: pa.Table, root: str, basename: str = "part-{i}.parquet") -> None:
    """Write hits to the lake layout, one directory per UTC date and hour."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    micros = pc.divide(table.column("t_ns"), 1000)  # integer division: whole microseconds
    stamps = pc.cast(micros, pa.timestamp("us", tz="UTC"))
    table = table.append_column("date", pc.strftime(stamps, "%Y-%m-%d"))
    table = table.append_column("hour", pc.cast(pc.hour(stamps), pa.int32()))
    layout = pa.schema([("date", pa.string()), ("hour", pa.int32())])
    ds.write_dataset(
        table,
        root,
        format="parquet",
        basename_template=basename,
        partitioning=ds.partitioning(layout, flavor="hive"),
        existing_data_behavior="overwrite_or_ignore",
    )
