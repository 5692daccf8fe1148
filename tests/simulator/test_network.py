"""The phone network: placement everywhere on Earth, rates, schedules, exposure blocks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from geopy.distance import geodesic

from simulator.generate import SimConfig, iter_chunks
from simulator.network import Place, box_devices, make_devices, schedule

NS = 1_000_000_000


@pytest.mark.parametrize(
    "place",
    [
        Place("Taveuni", -16.8, -179.99, 1, 2000),
        Place("north", 80.0, 20.0, 1, 2000),
        Place("pole", 89.99, 0.0, 1, 500),
    ],
)
def test_phones_are_placed_around_their_place_at_the_antimeridian_and_far_north(place):
    rng = np.random.default_rng(1)
    devices = make_devices(rng, 400, (place,))
    dist = [
        geodesic((place.lat, place.lon), (a, b)).m
        for a, b in zip(devices.lat, devices.lon, strict=True)
    ]
    assert np.median(dist) == pytest.approx(place.spread_m * 1.1774, rel=0.15)  # Rayleigh median
    assert ((devices.lon >= -180) & (devices.lon <= 180)).all()
    assert (np.abs(devices.lat) <= 90).all()


def test_a_box_across_the_antimeridian_is_filled_on_both_sides_and_nowhere_else():
    rng = np.random.default_rng(2)
    lat, lon, _ = box_devices(rng, (170.0, -20.0, -170.0, -10.0), 5000)
    assert ((lon >= 170) | (lon <= -170)).all()
    assert (lon > 0).mean() == pytest.approx(0.5, abs=0.05)
    assert ((lat >= -20) & (lat <= -10)).all()


def test_phones_run_mostly_at_local_night():
    rng = np.random.default_rng(3)
    devices = make_devices(rng, 300, (Place("Tokyo", 35.7, 139.7, 1, 3000),))
    start = 1_790_000_000 * NS
    _dev, lo, hi = schedule(rng, devices, start, start + 3 * 86400 * NS, always_on=False)
    middle = (lo + hi) // 2
    local_hour = ((middle / NS + 139.7 / 15 * 3600) % 86400) / 3600
    night = (local_hour > 22) | (local_hour < 7)
    assert night.mean() > 0.8
    assert ((hi - lo) / NS / 3600).mean() > 5


def test_background_rates_per_phone_match_their_configured_rates():
    config = SimConfig(seed=4, devices=200, hours=3, always_on=True, mean_rate_hz=0.05)
    net, _, chunks = iter_chunks(config)
    hits = pd.concat([c.hits for c in chunks])
    counts = hits.groupby("device").size().reindex(range(200), fill_value=0).to_numpy()
    expected = net.devices.rate_hz * 3 * 3600
    # Every phone within 5 sigma of Poisson; the total within 3 sigma.
    assert (np.abs(counts - expected) < 5 * np.sqrt(expected) + 3).all()
    assert abs(counts.sum() - expected.sum()) < 3 * np.sqrt(expected.sum())
    normal = ~net.devices.hot
    assert net.devices.rate_hz[normal].mean() == pytest.approx(0.05, rel=0.1)
    assert net.devices.rate_hz[~normal].mean() > 5 * 0.05  # hot pixels fire ten times as often


def test_exposure_blocks_cover_every_hit():
    config = SimConfig(seed=5, devices=100, hours=4)
    net, _, chunks = iter_chunks(config)
    blocks = net.blocks
    for chunk in chunks:
        hit_blocks = blocks.iloc[chunk.block_index]
        assert (hit_blocks.device.to_numpy() == chunk.hits.device.to_numpy()).all()
        # Reported times carry the clock offset and the frame; true times lie inside.
        slack = 100_000_000
        assert (chunk.hits.t_ns.to_numpy() >= hit_blocks.start_ns.to_numpy() - slack).all()
        assert (chunk.hits.t_ns.to_numpy() <= hit_blocks.end_ns.to_numpy() + slack).all()
    assert (blocks.end_ns > blocks.start_ns).all()
    assert ((blocks.end_ns - blocks.start_ns) <= 900 * NS).all()
