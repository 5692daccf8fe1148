"""The upload contract (README, "Upload") as field specifications.

The same specs drive validation and the OpenAPI schema, so the two cannot drift.
"""

from __future__ import annotations

from ingest.validation import Field
from vocab.limits import INT32_MAX, INT64_MAX

HIT_FIELDS: tuple[Field, ...] = (
    Field("seq", "int", lo=0, hi=INT64_MAX, help="per-device sequence number; idempotency key"),
    Field(
        "t_ns",
        "int",
        lo=0,
        hi=INT64_MAX,
        help="UTC epoch nanoseconds of the frame, e.g. 1764700000000000000; accepted within "
        "the last CROWDRAY_MAX_AGE_S (default 30 days) and at most CROWDRAY_MAX_FUTURE_S "
        "(default 300 s) ahead of the server's clock: a window that moves with time",
    ),
    Field("t_err_ns", "int", False, lo=0, hi=INT64_MAX, help="1 sigma clock error, ns"),
    Field("lat", "float", lo=-90, hi=90, help="WGS84 latitude, degrees"),
    Field("lon", "float", lo=-180, hi=180, help="WGS84 longitude, degrees"),
    Field("alt_m", "float", False, lo=-1000, hi=20000, help="altitude, metres"),
    Field("loc_err_m", "float", False, lo=0, hi=1e7, help="1 sigma position error, metres"),
    Field("x", "int", False, lo=0, hi=INT32_MAX, help="brightest pixel column"),
    Field("y", "int", False, lo=0, hi=INT32_MAX, help="brightest pixel row"),
    Field("value", "int", False, lo=0, hi=INT32_MAX, help="brightest pixel value"),
    Field("n_pixels", "int", False, lo=0, hi=INT32_MAX, help="pixels in the cluster"),
)

EXPOSURE_FIELDS: tuple[Field, ...] = (
    Field("block_id", "uuid", help="client-made UUID; idempotency key"),
    Field(
        "start_ns",
        "int",
        lo=0,
        hi=INT64_MAX,
        help="UTC epoch ns when data taking began; like end_ns accepted within the last "
        "CROWDRAY_MAX_AGE_S (default 30 days) and at most CROWDRAY_MAX_FUTURE_S (300 s) "
        "ahead of the server's clock: a window that moves with time",
    ),
    Field("end_ns", "int", lo=0, hi=INT64_MAX, help="UTC epoch ns when it ended"),
    Field("lat", "float", lo=-90, hi=90, help="WGS84 latitude, degrees"),
    Field("lon", "float", lo=-180, hi=180, help="WGS84 longitude, degrees"),
    Field("loc_err_m", "float", False, lo=0, hi=1e7, help="1 sigma position error, metres"),
    Field("frames", "int", False, lo=0, hi=INT64_MAX, help="frames analysed"),
    Field("l1_threshold", "int", False, lo=0, hi=INT32_MAX, help="first-level trigger threshold"),
    Field("l2_threshold", "int", False, lo=0, hi=INT32_MAX, help="second-level threshold"),
    Field("n_hits", "int", False, lo=0, hi=INT64_MAX, help="hits recorded in the block"),
)
