"""Distances and spatial cells on a 6,371 km sphere, correct across the antimeridian and poles.

At shower scales (<= a few km) the haversine differs from the WGS84 geodesic by
< 0.6% (docs/physics.md), far below phone GPS error.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_M = 6_371_000.0
M_PER_DEG = np.pi * EARTH_RADIUS_M / 180.0  # metres per degree of latitude (~111.19 km)

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def wrap_lon(delta_deg: Floats | float) -> Floats | float:
    """A longitude difference folded into [-180, 180): (d + 180) mod 360 - 180."""
    return (np.asarray(delta_deg) + 180.0) % 360.0 - 180.0


def haversine_m(
    lat1: Floats | float, lon1: Floats | float, lat2: Floats | float, lon2: Floats | float
) -> Floats:
    """Great-circle distance in metres between points given in degrees (vectorised)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(wrap_lon(np.asarray(lon2) - np.asarray(lon1)))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    distance: Floats = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return distance


def chord2(radius_m: float) -> float:
    """The squared chord between unit vectors of points radius_m apart on the sphere.

    Points are within radius_m exactly when their unit vectors' squared distance
    is at most this: the haversine's test without its trigonometry.
    """
    return float((2.0 * np.sin(radius_m / (2.0 * EARTH_RADIUS_M))) ** 2)


def chord_to_m(squared: Floats) -> Floats:
    """Great-circle distance (m) of squared unit-vector chords (inverse of chord2)."""
    distance: Floats = 2.0 * EARTH_RADIUS_M * np.arcsin(np.minimum(np.sqrt(squared) / 2.0, 1.0))
    return distance


def to_unit(lat: Floats, lon: Floats) -> tuple[Floats, Floats, Floats]:
    """Unit vectors (x, y, z) of points in degrees."""
    phi, lmb = np.radians(lat), np.radians(lon)
    return np.cos(phi) * np.cos(lmb), np.cos(phi) * np.sin(lmb), np.sin(phi)


def from_unit(x: Floats, y: Floats, z: Floats) -> tuple[Floats, Floats]:
    """(lat, lon) in degrees of (not necessarily unit) vectors."""
    lat = np.degrees(np.arctan2(z, np.hypot(x, y)))
    lon = np.degrees(np.arctan2(y, x))
    return lat, lon


def centroid(lat: Floats, lon: Floats) -> tuple[float, float]:
    """Mean position (degrees) via unit vectors: no jump at the antimeridian or the poles."""
    x, y, z = to_unit(lat, lon)
    clat, clon = from_unit(np.array([x.mean()]), np.array([y.mean()]), np.array([z.mean()]))
    return float(clat[0]), float(clon[0])


def tangent_plane(lat: Floats, lon: Floats, lat0: float, lon0: float) -> tuple[Floats, Floats]:
    """East and north (m) of points on the plane touching the sphere at (lat0, lon0).

    Built from unit vectors, so it holds at the poles and across the antimeridian;
    within a few km of the origin it is within a part in a million of the distances.
    """
    x, y, z = to_unit(np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64))
    p0, l0 = np.radians(lat0), np.radians(lon0)
    east = -np.sin(l0) * x + np.cos(l0) * y
    north = -np.sin(p0) * np.cos(l0) * x - np.sin(p0) * np.sin(l0) * y + np.cos(p0) * z
    return east * EARTH_RADIUS_M, north * EARTH_RADIUS_M


def from_tangent_plane(
    east_m: float, north_m: float, lat0: float, lon0: float
) -> tuple[float, float]:
    """(lat, lon) in degrees of a point east_m / north_m on tangent_plane(lat0, lon0)."""
    p0, l0 = np.radians(lat0), np.radians(lon0)
    e, n = east_m / EARTH_RADIUS_M, north_m / EARTH_RADIUS_M
    up = np.sqrt(max(1.0 - e * e - n * n, 0.0))
    centre = np.array([np.cos(p0) * np.cos(l0), np.cos(p0) * np.sin(l0), np.sin(p0)])
    east_axis = np.array([-np.sin(l0), np.cos(l0), 0.0])
    north_axis = np.array([-np.sin(p0) * np.cos(l0), -np.sin(p0) * np.sin(l0), np.cos(p0)])
    v = up * centre + e * east_axis + n * north_axis
    lat, lon = from_unit(v[:1], v[1:2], v[2:])
    return float(lat[0]), float(lon[0])


def lon_reach_deg(lat: Floats, radius_m: float) -> Floats:
    """Half-width in longitude (degrees) of the circles of radius_m round points at lat.

    The widest reach of a circle on the sphere is at its most poleward latitude:
    asin(sin(r / R) / cos(lat_poleward)). 180 when the circle reaches round a pole.
    """
    poleward = np.minimum(np.abs(lat) + radius_m / M_PER_DEG, 90.0)
    ratio = np.sin(radius_m / EARTH_RADIUS_M) / np.maximum(np.cos(np.radians(poleward)), 1e-12)
    reach: Floats = np.where(ratio >= 1.0, 180.0, np.degrees(np.arcsin(np.minimum(ratio, 1.0))))
    return reach


class CellGrid:
    """Cells of about `size_m` on a side: latitude bands, each cut into whole longitude cells.

    The number of cells in a band shrinks towards the poles so no cell is narrower
    than `size_m` (bands touching a pole are one cell). Cell ids are integers:
    band * 2**20 + index within the band; longitude indices wrap at 180°.
    """

    def __init__(self, size_m: float) -> None:
        self.size_m = size_m
        self.band_deg = size_m / M_PER_DEG
        self.n_bands = int(np.ceil(180.0 / self.band_deg))
        edges = -90.0 + self.band_deg * np.arange(self.n_bands + 1)
        poleward = np.maximum(np.abs(edges[:-1]), np.abs(np.minimum(edges[1:], 90.0)))
        circumference = 2 * np.pi * EARTH_RADIUS_M * np.cos(np.radians(np.minimum(poleward, 90.0)))
        self.n_lon = np.maximum(1, np.floor(circumference / size_m)).astype(np.int64)

    def band(self, lat: Floats) -> Ints:
        return np.clip(((lat + 90.0) / self.band_deg).astype(np.int64), 0, self.n_bands - 1)

    def lon_index(self, band: Ints, lon: Floats) -> Ints:
        n = self.n_lon[band]
        index: Ints = np.floor((wrap_lon(lon) + 180.0) / 360.0 * n).astype(np.int64) % n
        return index

    def home(self, lat: Floats, lon: Floats) -> Ints:
        """The cell id of each point."""
        band = self.band(lat)
        return band * (1 << 20) + self.lon_index(band, lon)

    def reach(self, lat: Floats, lon: Floats, radius_m: float) -> tuple[Ints, Ints]:
        """Every cell holding a point within radius_m of each point, home cell included.

        Returns (point index, cell id) pairs. Conservative: a cell may be listed
        that holds no point quite that close, never the reverse.
        """
        lat = np.asarray(lat, dtype=np.float64)
        lon = np.asarray(lon, dtype=np.float64)
        dlat = radius_m / M_PER_DEG
        lo_band, hi_band = self.band(lat - dlat), self.band(lat + dlat)
        dlon = lon_reach_deg(lat, radius_m)
        points, cells = [], []
        for offset in range(int((hi_band - lo_band).max(initial=0)) + 1):
            band = lo_band + offset
            inside = band <= hi_band
            idx = np.nonzero(inside)[0]
            b = band[idx]
            n = self.n_lon[b]
            # A reach of (nearly) the whole band lists every cell once.
            whole = 2 * dlon[idx] >= 360.0 - 360.0 / n
            first = np.floor((wrap_lon(lon[idx] - dlon[idx]) + 180.0) / 360.0 * n).astype(np.int64)
            last = np.floor((wrap_lon(lon[idx] + dlon[idx]) + 180.0) / 360.0 * n).astype(np.int64)
            span = np.where(whole, n, (last - first) % n + 1)
            span = np.minimum(span, n)
            first = np.where(whole, 0, first)
            rep = np.repeat(np.arange(len(idx)), span)
            step = np.arange(len(rep)) - np.repeat(np.cumsum(span) - span, span)
            points.append(idx[rep])
            cells.append(b[rep] * (1 << 20) + (first[rep] + step) % n[rep])
        return np.concatenate(points), np.concatenate(cells)
