"""The live search split by region: part k of n owns a band of longitude.

Several `crowdray follow --only live` processes (or machines), each with
CROWDRAY_LIVE_PART=k/n, share the live search. Part k owns the candidates
whose centroid lies in its band, [-180 + 360 (k-1)/n, -180 + 360 k/n) degrees
of longitude, and reconciles only those. It searches the hits of its band
widened by a margin on both sides, so that a shower on a border is seen whole
by the part that owns it, and found once.

Exact, not approximate: a candidate depends on the devices' rates and
exposure blocks, which every part keeps, and on hits: those of its core's seed
group (coincidence/__init__.py), those its footprint may claim, and those of
the cores that may claim them first. Around a candidate's centroid (the mean of
all its hits) they all lie within 6 radius_m: its core's centroid within
2 radius_m (every member lies within 2 radius_m of it), a hit it may claim
within radius_m of that, a core claiming that hit first has its centroid within
radius_m of the hit, and its hits within 2 radius_m of its centroid. So a
candidate owned by the part is kept only when its centroid lies at least
7 radius_m from the edges of the searched band (every hit within 6 radius_m of
it was searched), and every hit of the seed groups of those hits lies at least
radius_m from the edges (no hit outside could have linked to them). Then it is
what one search of the whole network finds. When one is not, the part searches
again with the margin widened fourfold, up to the whole globe
(near the poles every band's edge is close, so polar showers take the whole
globe, and still come out once).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from coincidence.geo import EARTH_RADIUS_M, haversine_m, wrap_lon

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
FIRST_MARGIN_DEG = 0.5  # ~55 km at the equator: most seed groups are far smaller
# Every hit a candidate depends on lies within this many radius_m of its centroid.
DEPENDS_WITHIN = 6


@dataclass(frozen=True)
class Part:
    """Part k (1-based) of n longitude bands."""

    k: int = 1
    n: int = 1

    @classmethod
    def parse(cls, text: str) -> Part:
        """'k/n', as CROWDRAY_LIVE_PART gives it."""
        try:
            k, n = (int(x) for x in text.split("/"))
        except ValueError:
            raise ValueError(f"{text!r}: expected k/n, for example 2/3") from None
        if not 1 <= k <= n <= 360:
            raise ValueError(f"{text!r}: need 1 <= k <= n <= 360")
        return cls(k, n)

    @property
    def whole(self) -> bool:
        return self.n == 1

    @property
    def band(self) -> tuple[float, float]:
        """The owned longitudes [west, east)."""
        width = 360.0 / self.n
        return -180.0 + width * (self.k - 1), -180.0 + width * self.k

    def owns(self, lon: Floats) -> Bools:
        west, east = self.band
        lon = np.asarray(lon, dtype=np.float64)
        return (lon >= west) & ((lon < east) | (east >= 180.0))

    def searched(self, margin_deg: float) -> list[tuple[float, float]] | None:
        """The longitude ranges [a, b] searched with this margin; None: the whole globe."""
        west, east = self.band
        if self.whole or east - west + 2 * margin_deg >= 360.0:
            return None
        a, b = float(wrap_lon(west - margin_deg)), float(wrap_lon(east + margin_deg))
        return [(a, b)] if a < b else [(a, 180.0), (-180.0, b)]

    def inner(self, lat: Floats, lon: Floats, margin_deg: float, radius_m: float) -> Bools:
        """Whether each point lies at least radius_m from the searched band's edges."""
        if self.searched(margin_deg) is None:
            return np.ones(len(lat), dtype=bool)
        west, east = self.band
        near = np.zeros(len(lat), dtype=bool)
        for edge in (west - margin_deg, east + margin_deg):
            near |= meridian_distance_m(lat, lon, edge) < radius_m
        return ~near


def owned_whole(
    part: Part,
    found: pd.DataFrame,
    hits: pd.DataFrame,
    groups: pd.DataFrame,
    margin_deg: float,
    radius_m: float,
) -> bool:
    """Whether the part's candidates saw every hit they depend on (module docstring).

    found: candidates (shower contract); hits: the hits searched (hit_id, lat,
    lon); groups: every linked hit with its seed group (label, hit_id, lat, lon),
    as coincidence.reference.search gives them.
    """
    owned = found[part.owns(found["lon"].to_numpy(np.float64))] if len(found) else found
    if owned.empty or part.searched(margin_deg) is None:
        return True
    c_lat, c_lon = owned["lat"].to_numpy(np.float64), owned["lon"].to_numpy(np.float64)
    if not part.inner(c_lat, c_lon, margin_deg, (DEPENDS_WITHIN + 1) * radius_m).all():
        return False
    lat, lon = hits["lat"].to_numpy(np.float64), hits["lon"].to_numpy(np.float64)
    near = np.zeros(len(hits), dtype=bool)
    for a, b in zip(c_lat.tolist(), c_lon.tolist(), strict=True):
        near |= haversine_m(lat, lon, a, b) <= DEPENDS_WITHIN * radius_m
    labels = groups.loc[groups["hit_id"].isin(hits["hit_id"][near]), "label"].unique()
    linked = groups[groups["label"].isin(labels)]
    inside = part.inner(lat[near], lon[near], margin_deg, radius_m)
    g_lat, g_lon = linked["lat"].to_numpy(np.float64), linked["lon"].to_numpy(np.float64)
    return bool(inside.all() and part.inner(g_lat, g_lon, margin_deg, radius_m).all())


def meridian_distance_m(lat: Floats, lon: Floats, meridian: float) -> Floats:
    """Great-circle distance from each point to the half great circle of a meridian (m).

    Within 90 degrees of longitude of it, the distance to its plane,
    asin(cos(lat) sin(dlon)); beyond, to the nearer pole.
    """
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    dlon = np.radians(np.abs(wrap_lon(np.asarray(lon, dtype=np.float64) - meridian)))
    plane = np.arcsin(np.clip(np.cos(phi) * np.sin(np.minimum(dlon, math.pi / 2)), 0, 1))
    pole = math.pi / 2 - np.abs(phi)
    return EARTH_RADIUS_M * np.where(dlon <= math.pi / 2, plane, pole)
