"""The grid of coincidence.density against the exact pair sums it replaces."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from coincidence.density import disc_sums, neighbourhoods, to_fixed
from coincidence.geo import EARTH_RADIUS_M, haversine_m, to_unit, wrap_lon
from coincidence.params import Params
from coincidence.reference import device_neighbourhoods, find_showers
from simulator.scenarios import simulate_town
from tests.coincidence.factories import offset

RADII = Params().radii_m
# The stated tolerance at 1,000 phones per km^2 (docs/search.md), radius_m / 8 ... radius_m.
MEDIAN = (0.005, 0.007, 0.004, 0.0025)
P99 = (0.075, 0.035, 0.018, 0.011)


def town(seed: int, n: int, lat0: float, lon0: float, side_km: float) -> pd.DataFrame:
    """Devices (n) spread evenly over a square around (lat0, lon0), with hits and live time."""
    rng = np.random.default_rng(seed)
    north, east = rng.uniform(-500, 500, (2, n)) * side_km
    lat = np.clip(lat0 + np.degrees(north / EARTH_RADIUS_M), -90, 90)
    lon = wrap_lon(lon0 + np.degrees(east / EARTH_RADIUS_M / np.cos(np.radians(lat0))))
    return pd.DataFrame(
        {"n": rng.poisson(10, n) + 1, "lat": lat, "lon": lon, "live_s": 1200.0},
        index=[f"d{i}" for i in range(n)],
    )


def exact(devices: pd.DataFrame, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Lambda_d(r) and H_d(r) summed pair by pair: the computation the grid replaced."""
    lat, lon = devices["lat"].to_numpy(), devices["lon"].to_numpy()
    n = devices["n"].to_numpy(np.float64)
    p = -np.expm1(-n / devices["live_s"].to_numpy() * Params().window_ms / 1000)
    tree = cKDTree(np.column_stack(to_unit(lat, lon)))
    pairs = tree.query_pairs(
        2 * np.sin(radius_m / 2 / EARTH_RADIUS_M) * 1.001, output_type="ndarray"
    )
    a, b = pairs[:, 0], pairs[:, 1]
    near = haversine_m(lat[a], lon[a], lat[b], lon[b]) <= radius_m
    a, b = a[near], b[near]
    lam = np.bincount(a, p[b], len(n)) + np.bincount(b, p[a], len(n))
    hood = n + np.bincount(a, n[b], len(n)) + np.bincount(b, n[a], len(n))
    return lam, hood


@pytest.mark.parametrize(
    "place",
    [
        pytest.param((46.2, 6.1), id="geneva"),
        pytest.param((-17.8, 180.0), id="across-the-antimeridian"),
        pytest.param((89.985, 0.0), id="at-the-north-pole"),
    ],
)
def test_the_grid_is_within_its_stated_tolerance_of_the_pair_sums(place):
    # 1,000 phones per km^2, the density the grid is for.
    lat0, lon0 = place
    devices = town(1, 9000, lat0, lon0, side_km=3.0)
    grid = device_neighbourhoods(devices, Params())
    for q, radius in enumerate(RADII):
        lam, hood = exact(devices, radius)
        for got, want in ((grid[f"lam_{q}"], lam), (grid[f"hood_{q}"], hood)):
            rel = np.abs(got.to_numpy() - want) / want
            assert abs(np.mean((got.to_numpy() - want) / want)) < 0.001  # unbiased
            assert np.median(rel) <= MEDIAN[q] and np.quantile(rel, 0.99) <= P99[q]


def test_devices_well_inside_or_outside_the_disc_count_exactly():
    # Across the antimeridian: one device 0.6 r away and one 1.2 r away, r = 1 km.
    lat, lon = offset(-17.8, 179.9995, 0.0, 0.0)
    inside, outside = offset(lat, lon, 0.0, 600.0), offset(lat, lon, 0.0, -1200.0)
    lats = np.array([lat, inside[0], outside[0]])
    lons = np.array([lon, inside[1], outside[1]])
    assert lons[1] < 0 < lons[0]  # the inner neighbour is across 180 degrees
    sums = disc_sums(lats, lons, np.array([[1], [10], [100]]), lats[:1], lons[:1], 1000.0)
    assert sums.tolist() == [[11]]


def test_the_sums_are_the_same_to_the_bit_in_any_order_and_any_split():
    devices = town(2, 4000, 46.2, 6.1, side_km=2.0)
    lat, lon, n = devices["lat"].to_numpy(), devices["lon"].to_numpy(), devices["n"].to_numpy()
    p = n / 1200 * 0.05
    whole = neighbourhoods(lat, lon, n, p, np.arange(100), RADII)
    shuffled = np.random.default_rng(3).permutation(len(n))
    back = np.argsort(shuffled)[:100]
    again = neighbourhoods(lat[shuffled], lon[shuffled], n[shuffled], p[shuffled], back, RADII)
    # A tile holds only the devices within reach of its own: the far half is not needed.
    near = np.flatnonzero(haversine_m(lat, lon, lat[0], lon[0]) < 1200)
    tile = neighbourhoods(lat[near], lon[near], n[near], p[near], np.array([0]), RADII)
    assert np.array_equal(whole[0], again[0]) and np.array_equal(whole[1], again[1])
    assert np.array_equal(tile[0], whole[0][:1]) and np.array_equal(tile[1], whole[1][:1])
    assert to_fixed(np.array([0.5])).tolist() == [2**39]


def test_candidates_and_significance_are_unchanged_from_the_pair_sums(tmp_path, monkeypatch):
    town = simulate_town(
        tmp_path, seed=5, per_km2=1000, side_km=2, hours=0.25, showers_per_hour=120
    )
    params = Params()
    grid = find_showers(town.hits, params)

    def pair_sums(devices, params, of=None):
        out = devices.copy()
        for q, radius in enumerate(params.radii_m):
            out[f"lam_{q}"], out[f"hood_{q}"] = exact(devices, radius)
        return out

    monkeypatch.setattr("coincidence.reference.device_neighbourhoods", pair_sums)
    pairs = find_showers(town.hits, params)
    strong = pairs[pairs.significance_sigma >= 5]
    assert len(strong) >= 5
    both = strong.merge(grid, on="shower_id", suffixes=("_pairs", "_grid"))
    assert len(both) == len(strong)  # every >= 5 sigma candidate found again, whole
    assert (both.n_devices_pairs == both.n_devices_grid).all()
    shift = (both.significance_sigma_grid - both.significance_sigma_pairs).abs()
    # Stated: the grid moves a significance by at most 2 % of itself.
    assert (shift <= 0.02 * both.significance_sigma_pairs).all()
