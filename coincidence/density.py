"""Sums over discs from a grid of cells: Lambda_d(r) and H_d(r) without pairs of phones.

coincidence.background needs, for every device d and scanned radius r, sums
over the devices within r of it: Lambda_d(r) (their firing probabilities p_j)
and H_d(r) (their hits). Summed pair by pair that costs phones x neighbours:
~3,100 neighbours per phone within 1 km at 1,000 phones per km^2.

Here every device's weights go into the cell holding it, on a grid of
latitude bands about r/32 high, each cut into whole longitude cells about r/32
wide (like coincidence.geo.CellGrid, at any size). A disc of radius r around a
point sums the cells whose centres lie within r of the point (exactly, on the
sphere): in each band one range of cells (two across the antimeridian), read
from running sums. That is ~65 bands x 2 look-ups per point and radius,
whatever the density.

Tolerance: a device counts as if at its cell's centre, about r/32/sqrt(2) =
0.022 r from where it is, so only devices that close to the disc's edge can be
counted on the wrong side. Against the exact pair sums at 1,000 phones per
km^2 (tests/coincidence/test_density.py): unbiased to 0.1 %, median error
<= 0.7 % and 99th percentile <= 7.5 % at every scanned radius (the largest at
r/8, ~50 neighbours), and a candidate's significance moved by <= 2 % of itself.

Sums are integers (probabilities in fixed point, units of 2^-40), so they do
not depend on the order of the devices: the Spark job's tiles and the NumPy
reference get the same sums to the bit.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pandas as pd

from coincidence.background import fire_probability
from coincidence.cores import hood_columns, lam_columns
from coincidence.geo import EARTH_RADIUS_M, M_PER_DEG, wrap_lon
from coincidence.params import Params

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

CELLS_PER_RADIUS = 32
FIXED_POINT = float(2**40)  # a probability p is stored as round(p * 2**40)
_BAND = np.int64(1 << 32)  # cell key: band * 2**32 + index within the band
_CHUNK = 16_384  # query points per pass: each band's arrays stay in the CPU's cache


def to_fixed(p: Floats) -> Ints:
    """Probabilities in fixed point (exact integer sums in any order)."""
    fixed: Ints = np.round(np.asarray(p, dtype=np.float64) * FIXED_POINT).astype(np.int64)
    return fixed


def from_fixed(total: Ints) -> Floats:
    out: Floats = np.asarray(total, dtype=np.float64) / FIXED_POINT
    return out


class BandGrid:
    """Latitude bands of about `size_m`, each cut into whole longitude cells no narrower.

    Band figures are computed for the bands asked about, not for all of them
    (a grid of 4 m cells has 5 million bands).
    """

    def __init__(self, size_m: float) -> None:
        self.size_m = size_m
        self.band_deg = size_m / M_PER_DEG
        self.n_bands = int(np.ceil(180.0 / self.band_deg))

    def centre_deg(self, band: Ints) -> Floats:
        lo = -90.0 + self.band_deg * band
        centre: Floats = (lo + np.minimum(lo + self.band_deg, 90.0)) / 2
        return centre

    def n_lon(self, band: Ints) -> Ints:
        """Cells in each band: none narrower than size_m at the band's poleward edge."""
        lo = -90.0 + self.band_deg * band
        poleward = np.maximum(np.abs(lo), np.abs(np.minimum(lo + self.band_deg, 90.0)))
        circumference = 2 * np.pi * EARTH_RADIUS_M * np.cos(np.radians(poleward))
        n: Ints = np.maximum(1, np.floor(circumference / self.size_m)).astype(np.int64)
        return n

    def band(self, lat: Floats) -> Ints:
        b = np.floor((np.asarray(lat) + 90.0) / self.band_deg).astype(np.int64)
        return np.clip(b, 0, self.n_bands - 1)

    def keys(self, lat: Floats, lon: Floats) -> Ints:
        """The cell key of each point."""
        b = self.band(lat)
        n = self.n_lon(b)
        index = np.floor((wrap_lon(np.asarray(lon)) + 180.0) / 360.0 * n).astype(np.int64) % n
        keys: Ints = b * _BAND + index
        return keys


def disc_sums(
    lat: Floats,
    lon: Floats,
    weights: Ints,
    at_lat: Floats,
    at_lon: Floats,
    radius_m: float,
) -> Ints:
    """Per query point, the summed weights of the cells whose centres are within radius_m.

    lat, lon (degrees) and weights (integers, shape (points, columns)): what is summed;
    at_lat, at_lon: the disc centres. Returns shape (queries, columns).
    """
    grid = BandGrid(radius_m / CELLS_PER_RADIUS)
    weights = np.asarray(weights, dtype=np.int64).reshape(len(lat), -1)
    keys, inverse = np.unique(grid.keys(lat, lon), return_inverse=True)
    cells = np.zeros((len(keys), weights.shape[1]), dtype=np.int64)
    np.add.at(cells, inverse.ravel(), weights)
    running = np.vstack([np.zeros((1, weights.shape[1]), np.int64), np.cumsum(cells, axis=0)])
    at_lat, at_lon = np.asarray(at_lat, np.float64), np.asarray(at_lon, np.float64)
    # In key order, each band's look-ups rise from point to point: searchsorted's best case.
    order = np.argsort(grid.keys(at_lat, at_lon), kind="stable")
    out = np.empty((len(at_lat), weights.shape[1]), dtype=np.int64)
    for start in range(0, len(order), _CHUNK):
        rows = order[start : start + _CHUNK]
        sums = np.zeros((len(rows), weights.shape[1]), dtype=np.int64)
        for lo, hi in _ranges(grid, at_lat[rows], at_lon[rows], radius_m):
            sums += running[np.searchsorted(keys, hi)] - running[np.searchsorted(keys, lo)]
        out[rows] = sums
    return out


def _ranges(
    grid: BandGrid, lat: Floats, lon: Floats, radius_m: float
) -> Iterator[tuple[Ints, Ints]]:
    """Key ranges [lo, hi) of the cells with centres within radius_m, band by band.

    Yields, for each band offset from the points' own bands, one range per point
    (empty ranges have lo == hi), then, for the points whose run of longitude
    indices wraps past index 0, one more range per point holding the remainder.
    """
    reach = int(np.ceil(radius_m / M_PER_DEG / grid.band_deg)) + 1
    own = grid.band(lat)
    if not len(own):
        return
    # Each band's figures once, from the lowest band asked about: not from band 0,
    # which made every call cost the bands from the south pole up (18 ms at 45 N, per
    # radius, for a tile of one phone: hours for a network spread over the world).
    first_band = max(int(own.min()) - reach, 0)
    span = np.arange(first_band, min(int(own.max()) + reach, grid.n_bands - 1) + 1)
    n_of, phi_of = grid.n_lon(span), np.radians(grid.centre_deg(span))
    cos_of = np.cos(phi_of)
    phi = np.radians(lat)
    cos_phi = np.cos(phi)
    hav_r = np.sin(radius_m / EARTH_RADIUS_M / 2) ** 2
    folded = np.asarray(wrap_lon(lon), dtype=np.float64)
    wrapped: list[tuple[Ints, Ints, Ints]] = []
    for offset in range(-reach, reach + 1):
        band = own + offset
        valid = (band >= 0) & (band < grid.n_bands)
        row = np.clip(band, 0, grid.n_bands - 1) - first_band
        n = n_of[row]
        # Haversine: hav(r/R) >= hav(dphi) + cos(phi) cos(phi_b) hav(dlon) for centres inside.
        room = hav_r - np.sin((phi_of[row] - phi) / 2) ** 2
        scale = cos_phi * cos_of[row]
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(scale > 1e-15, room / np.maximum(scale, 1e-300), np.inf)
        x = np.where(room < 0, -1.0, x)
        half_deg = np.degrees(2 * np.arcsin(np.sqrt(np.clip(x, 0.0, 1.0))))
        width = 360.0 / n
        at = (folded + 180.0) / width - 0.5  # fractional index of the point
        first = np.ceil(at - half_deg / width).astype(np.int64)
        count = np.floor(at + half_deg / width).astype(np.int64) - first + 1
        whole = (x >= 1.0) | (count >= n)
        count = np.where(whole, n, np.where(valid & (x >= 0), np.maximum(count, 0), 0))
        first = np.where(whole, 0, first % n)
        end = first + count
        base = (row + first_band) * _BAND
        yield base + first, base + np.minimum(end, n)
        past = np.nonzero(end > n)[0]
        wrapped.append((past, base[past], base[past] + (end - n)[past]))
    for past, lo, hi in wrapped:
        if len(past):
            full_lo, full_hi = np.zeros(len(lat), np.int64), np.zeros(len(lat), np.int64)
            full_lo[past], full_hi[past] = lo, hi
            yield full_lo, full_hi


def neighbourhoods(
    lat: Floats, lon: Floats, n: Floats, p: Floats, at: Ints, radii_m: tuple[float, ...]
) -> tuple[Floats, Floats]:
    """Lambda_d(r) and H_d(r) (coincidence.background) of the devices `at`, per radius.

    lat, lon (degrees), n (hits) and p (firing probability per window) of every
    device that can be within reach; at: the indices of the devices wanted.
    Returns two arrays of shape (len(at), len(radii_m)): the other devices' summed p
    within r, and the hits within r, the device's own included.
    """
    fixed = to_fixed(p)
    weights = np.column_stack([fixed, np.asarray(n).astype(np.int64)])
    lam = np.empty((len(at), len(radii_m)))
    hood = np.empty((len(at), len(radii_m)))
    for q, radius in enumerate(radii_m):
        sums = disc_sums(lat, lon, weights, lat[at], lon[at], radius)
        lam[:, q] = from_fixed(np.maximum(sums[:, 0] - fixed[at], 0))
        hood[:, q] = sums[:, 1]
    return lam, hood


def device_sums(devices: pd.DataFrame, at: Ints, params: Params) -> pd.DataFrame:
    """The lam_q and hood_q columns (coincidence.cores) of the devices at rows `at`.

    devices: n (hits in the span), live_s, lat, lon of every device within reach.
    The Spark job's tiles and the reference both come here.
    """
    n = devices["n"].to_numpy(np.float64)
    p = fire_probability(n / devices["live_s"].to_numpy(np.float64), params.window_ms / 1000.0)
    lat, lon = devices["lat"].to_numpy(np.float64), devices["lon"].to_numpy(np.float64)
    lam, hood = neighbourhoods(lat, lon, n, p, at, params.radii_m)
    out = {}
    for q, names in enumerate(zip(lam_columns(params), hood_columns(params), strict=True)):
        out[names[0]], out[names[1]] = lam[:, q], hood[:, q]
    return pd.DataFrame(out)


def reach_m(radius_m: float) -> float:
    """How far from a disc's centre a device can count in it (its cell's centre inside)."""
    return radius_m * (1.0 + 2.0 / CELLS_PER_RADIUS)
