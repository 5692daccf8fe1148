"""Finding exposure blocks by time, and by time and place, through their indexes.

A shower page asks which phones were live within its radius at its time. The
index on end_ns alone reads every block that ends after that time: every block
the whole network stored since, more the older the shower.
The index `exposure_square_end` leads with the block's 0.01° square
(floor(lat * 100), floor(lon * 100)), so the lookup reads only the squares
around the place, and only blocks that can hold the time: a block that holds t
ends after t and at most CROWDRAY_MAX_BLOCK_S after it (longer blocks are
refused at upload).
"""

from __future__ import annotations

import math

import numpy as np
from django.conf import settings
from django.db.models import F, Q
from django.db.models.functions import Floor

from coincidence.geo import M_PER_DEG, lon_reach_deg
from vocab.units import NS_PER_S

SQUARES_PER_DEG = 100  # 0.01°: ~1.1 km of latitude
_LON_SQUARES = 360 * SQUARES_PER_DEG


def overlapping(lo_ns: int, hi_ns: int) -> Q:
    """Blocks taking data at some time in [lo_ns, hi_ns).

    Such a block ends after lo_ns and before hi_ns + CROWDRAY_MAX_BLOCK_S (longer
    blocks are refused at upload): the second bound keeps a look-up into the past
    from reading every block since, on the index and the partitions by end_ns.
    """
    longest = settings.CROWDRAY_MAX_BLOCK_S * NS_PER_S
    return Q(start_ns__lt=hi_ns, end_ns__gt=lo_ns, end_ns__lt=hi_ns + longest)


def lat_square() -> Floor:
    """The block's row of squares, as the index computes it."""
    return Floor(F("lat") * SQUARES_PER_DEG)


def lon_square() -> Floor:
    """The block's column of squares, as the index computes it."""
    return Floor(F("lon") * SQUARES_PER_DEG)


def squares_near(lat: float, lon: float, radius_m: float) -> tuple[list[int], list[int] | None]:
    """The rows and columns of squares that hold every point within radius_m of (lat, lon).

    Conservative (a square too many, never one too few). Columns wrap at the
    antimeridian; None when the circle reaches round a pole (every column).
    """
    dlat = radius_m / M_PER_DEG
    rows = range(
        max(math.floor((lat - dlat) * SQUARES_PER_DEG) - 1, -90 * SQUARES_PER_DEG),
        min(math.floor((lat + dlat) * SQUARES_PER_DEG) + 1, 90 * SQUARES_PER_DEG) + 1,
    )
    dlon = float(lon_reach_deg(np.array([lat]), radius_m)[0])
    if dlon >= 180.0:
        return list(rows), None
    first = math.floor((lon - dlon) * SQUARES_PER_DEG) - 1
    last = math.floor((lon + dlon) * SQUARES_PER_DEG) + 1
    if last - first + 1 >= _LON_SQUARES:
        return list(rows), None
    half = _LON_SQUARES // 2
    columns = {(c + half) % _LON_SQUARES - half for c in range(first, last + 1)}
    if -half in columns:  # a phone at exactly 180° is in column +half
        columns.add(half)
    return list(rows), sorted(columns)
