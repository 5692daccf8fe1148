"""The sweep finds exactly the pairs a brute-force comparison finds."""

from __future__ import annotations

import numpy as np
import pytest

from coincidence.geo import haversine_m
from coincidence.sweep import linked_pairs, local_components


def _brute_force(
    key: np.ndarray,
    t: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    window_ns: int,
    radius_m: float,
) -> set[tuple[int, int]]:
    return {
        (a, b)
        for a in range(len(t))
        for b in range(a + 1, len(t))
        if key[a] == key[b]
        and abs(t[b] - t[a]) <= window_ns
        and haversine_m(lat[a], lon[a], lat[b], lon[b]) <= radius_m
    }


@pytest.mark.parametrize(
    ("lat0", "lon0"), [(46.2, 6.1), (-12.0, 179.99), (89.99, 0.0), (-90.0, 0.0)]
)
def test_the_sweep_equals_brute_force_on_random_keyed_data(lat0, lon0):
    # Points over ~5 km, so they fall in several cells of the sweep's grid.
    rng = np.random.default_rng(3)
    n = 600
    key = rng.integers(0, 3, n)
    t = rng.integers(0, 200_000_000, n)
    lat = np.clip(lat0 + rng.normal(0, 0.02, n), -90.0, 90.0)
    lon = (lon0 + rng.normal(0, 0.02, n) + 180.0) % 360.0 - 180.0
    order = np.lexsort((t, key))
    key, t, lat, lon = key[order], t[order], lat[order], lon[order]
    i, j, dist = linked_pairs(key, t, lat, lon, 50_000_000, 1000.0)
    found = list(zip(i.tolist(), j.tolist(), strict=True))
    expected = _brute_force(key, t, lat, lon, 50_000_000, 1000.0)
    assert found == sorted(expected)  # each pair once, sorted by (i, j)
    assert len(expected) > 100
    np.testing.assert_allclose(dist, haversine_m(lat[i], lon[i], lat[j], lon[j]), atol=1e-6)


def test_a_mask_keeps_only_pairs_starting_at_marked_rows():
    t = np.array([0, 1, 2], dtype=np.int64)
    z = np.zeros(3)
    i, _, _ = linked_pairs(
        np.zeros(3, np.int64), t, z, z, 10, 1.0, from_mask=np.array([False, True, True])
    )
    assert set(i.tolist()) == {1}


def test_local_components_label_with_the_smallest_id_across_repeated_rows():
    ids = np.array([30, 10, 20, 30, 40], dtype=np.int64)  # hit 30 stands twice
    hit, label = local_components(ids, np.array([0, 3]), np.array([1, 4]))
    assert dict(zip(hit.tolist(), label.tolist(), strict=True)) == {10: 10, 30: 10, 40: 10}
