"""ingest.near: the 0.01° squares that hold every point within a radius of a place."""

from __future__ import annotations

import math

import numpy as np
import pytest

from coincidence.geo import EARTH_RADIUS_M
from ingest.near import SQUARES_PER_DEG, squares_near


def circle(lat: float, lon: float, radius_m: float, n: int = 720) -> tuple[np.ndarray, np.ndarray]:
    """Points on the circle of radius_m round (lat, lon), by the spherical destination formula."""
    bearing = np.linspace(0, 2 * np.pi, n, endpoint=False)
    d = radius_m / EARTH_RADIUS_M
    p1, l1 = math.radians(lat), math.radians(lon)
    p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(bearing))
    l2 = l1 + np.arctan2(
        np.sin(bearing) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2)
    )
    lon2 = (np.degrees(l2) + 180) % 360 - 180
    return np.degrees(p2), lon2


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (46.2044, 6.1432),  # Geneva
        (0.0, 0.0),
        (-33.86, 151.21),
        (64.1, 179.9995),  # on the antimeridian, from the east
        (-17.0, -179.9999),  # and from the west
        (89.95, 20.0),  # near the north pole
        (-89.9999, -120.0),  # the circle goes round the south pole
    ],
)
def test_every_point_within_the_radius_is_in_a_listed_square(lat, lon):
    for radius in (50.0, 1000.0, 2000.0):
        rows, columns = squares_near(lat, lon, radius)
        for scale in (1.0, 0.5, 0.0):
            plat, plon = circle(lat, lon, radius * scale)
            assert set(np.floor(plat * SQUARES_PER_DEG).astype(int)) <= set(rows), (lat, lon)
            if columns is not None:
                assert set(np.floor(plon * SQUARES_PER_DEG).astype(int)) <= set(columns)


def test_a_place_in_a_city_needs_a_handful_of_squares_not_a_band():
    rows, columns = squares_near(46.2044, 6.1432, 1000.0)
    assert columns is not None
    assert len(rows) <= 5 and len(columns) <= 6


def test_squares_wrap_at_the_antimeridian_and_take_in_180_itself():
    _, columns = squares_near(10.0, 179.9995, 1000.0)
    assert columns is not None
    assert {18000 - 1, 18000, -18000} <= set(columns)  # a phone at exactly 180° is column 18000
    assert max(columns) <= 18000 and min(columns) >= -18000
    assert len(columns) < 10


def test_a_circle_round_a_pole_takes_every_column():
    rows, columns = squares_near(89.999, 0.0, 1000.0)
    assert columns is None
    assert max(rows) == 9000  # latitude 90 itself
