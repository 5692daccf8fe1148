"""Distances and cells: haversine vs the WGS84 geodesic, cell reach everywhere on Earth."""

from __future__ import annotations

import numpy as np
import pytest
from geopy.distance import geodesic

from coincidence.geo import CellGrid, centroid, chord2, chord_to_m, haversine_m, to_unit, wrap_lon
from tests.coincidence.factories import offset

PLACES = [
    (46.2, 6.14),
    (0.0, 179.9999),
    (-16.5, -179.9999),
    (89.99, 45.0),
    (-89.99, -120.0),
    (80.0, 20.0),
    (-33.9, 18.4),
]


def test_longitude_differences_wrap_at_the_antimeridian():
    assert wrap_lon(179.0 - -179.0) == -2.0
    assert wrap_lon(-179.0 - 179.0) == 2.0
    assert wrap_lon(0.0) == 0.0


@pytest.mark.parametrize(("lat", "lon"), PLACES)
def test_haversine_is_within_0_6_percent_of_the_geodesic_at_shower_scales(lat, lon):
    rng = np.random.default_rng(1)
    for _ in range(50):
        dist = rng.uniform(10, 5000)
        bearing = rng.uniform(0, 360)
        end = geodesic(meters=dist).destination((lat, lon), bearing)
        ours = haversine_m(
            np.array(lat), np.array(lon), np.array(end.latitude), np.array(end.longitude)
        )
        assert abs(ours / dist - 1) < 0.006


@pytest.mark.parametrize(("lat", "lon"), PLACES)
def test_the_chord_test_and_distance_agree_with_the_haversine(lat, lon):
    rng = np.random.default_rng(2)
    n = 2000
    north, east = rng.uniform(-1100, 1100, (2, n))
    ends = np.array([offset(lat, lon, a, b) for a, b in zip(north, east, strict=True)])
    one = np.column_stack(to_unit(np.full(n, lat), np.full(n, lon)))
    two = np.column_stack(to_unit(ends[:, 0], ends[:, 1]))
    d2 = np.square(two - one).sum(axis=1)
    dist = haversine_m(lat, lon, ends[:, 0], ends[:, 1])
    np.testing.assert_allclose(chord_to_m(d2), dist, rtol=0, atol=1e-6)
    assert np.array_equal(d2 <= chord2(1000.0), dist <= 1000.0)
    assert 0 < np.count_nonzero(dist <= 1000.0) < n


def test_the_centroid_of_points_across_the_antimeridian_stays_there():
    lat, lon = centroid(np.array([10.0, 10.0]), np.array([179.999, -179.999]))
    assert abs(abs(lon) - 180.0) < 1e-6 and abs(lat - 10.0) < 1e-6


@pytest.mark.parametrize("cell_m", [1000.0, 20_000.0])
@pytest.mark.parametrize(("lat", "lon"), PLACES)
def test_every_point_within_the_radius_lies_in_a_reached_cell(cell_m, lat, lon):
    grid = CellGrid(cell_m)
    rng = np.random.default_rng(2)
    radius = 1000.0
    centres_lat, centres_lon, near_lat, near_lon = [], [], [], []
    for _ in range(300):
        clat, clon = offset(lat, lon, *rng.uniform(-3000, 3000, 2))
        clat = float(np.clip(clat, -89.9999, 89.9999))
        end = geodesic(meters=rng.uniform(0, radius * 0.99)).destination(
            (clat, clon), rng.uniform(0, 360)
        )
        centres_lat.append(clat)
        centres_lon.append(clon)
        near_lat.append(end.latitude)
        near_lon.append(end.longitude)
    point, cell = grid.reach(np.array(centres_lat), np.array(centres_lon), radius)
    homes = grid.home(np.array(near_lat), np.array(near_lon))
    reached = set(zip(point.tolist(), cell.tolist(), strict=True))
    for k, home in enumerate(homes.tolist()):
        assert (k, home) in reached, (centres_lat[k], centres_lon[k], near_lat[k], near_lon[k])


def test_each_point_reaches_its_home_cell_once():
    grid = CellGrid(20_000.0)
    lat = np.array([0.0, 89.999, -89.999, 45.0])
    lon = np.array([180.0, 0.0, 10.0, -180.0])
    point, cell = grid.reach(lat, lon, 1000.0)
    assert len(set(zip(point.tolist(), cell.tolist(), strict=True))) == len(point)
    for k, home in enumerate(grid.home(lat, lon).tolist()):
        assert home in cell[point == k]
