"""The background model: its pieces against exact results, and against background-only data.

On data with no showers at all, the number of chance cylinders the model predicts
must match what is counted in the data and in scrambled copies of it, at a sparse
density and at CRAYFIS's target of 1,000 phones per km^2.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from coincidence.background import fire_probability, poisson_tail, significance_sigma
from coincidence.chance import ChanceReport, chance_report
from coincidence.params import Params
from coincidence.reference import find_showers
from simulator.scenarios import simulate_town
from tests.coincidence.factories import background, network, with_ids


def test_the_poisson_tail_is_exact_and_one_below_one():
    mean = np.array([1e-4, 0.05, 1.3, 7.0, 40.0])
    for k in range(12):
        need = np.full(len(mean), k)
        assert poisson_tail(mean, need) == pytest.approx(stats.poisson.sf(k - 1, mean), rel=1e-9)
    assert poisson_tail(np.array([0.3]), np.array([-2]))[0] == 1.0
    assert poisson_tail(np.array([0.0]), np.array([1]))[0] == 0.0


def test_a_device_fires_in_a_window_with_the_poisson_probability():
    assert fire_probability(np.array([1 / 120]), 0.05)[0] == pytest.approx(
        1 - math.exp(-0.05 / 120)
    )
    assert fire_probability(np.array([1e-12]), 0.05)[0] == pytest.approx(5e-14, rel=1e-9)


def test_significance_follows_the_gaussian_tail():
    assert significance_sigma(1 - math.exp(-2.8665e-7)) == pytest.approx(5.0, abs=1e-3)
    assert significance_sigma(0.0027) == pytest.approx(2.78, abs=0.01)
    assert significance_sigma(3.0) == 0.0
    assert significance_sigma(0.0) > 30


def assert_agree(report: ChanceReport, min_expected: float = 5.0) -> int:
    """Model, data and scrambles agree (4 sigma, Poisson) wherever the model expects enough."""
    checked = 0
    for row in report["cylinders"]:
        model = row["model"]
        if model < min_expected:
            continue
        checked += 1
        # Counts at neighbouring k share chance cylinders, so allow 4 sigma and 5%.
        assert abs(row["data"] - model) <= 4 * math.sqrt(model) + 0.05 * model, row
        spread = 4 * math.sqrt(model / report["scrambles"]) + 0.05 * model
        assert row["scrambled"] is not None and abs(row["scrambled"] - model) <= spread, row
    return checked


def test_sparse_towns_chance_cylinders_match_the_model_and_the_scrambles():
    """Five towns of 40 phones within 150 m, 6 hits a minute each, for 2 h."""
    rng = np.random.default_rng(2026)
    towns = [(46.2, 6.14), (-33.9, 18.4), (35.7, 139.7), (64.1, -21.9), (-16.5, 179.999)]
    net = network(rng, towns, per_group=40, spread_m=150)
    data = with_ids(background(rng, net, 0.1, 7200), rng)
    report = chance_report(data, Params(), scrambles=3)
    assert assert_agree(report) >= 7  # the test has power at several radii and sizes
    found = {row["n_devices"]: row for row in report["candidates"]}
    assert sum(r["data"] for r in found.values()) <= 2  # chance cores rarely pass max_expected


def test_a_crayfis_density_town_matches_the_model_and_the_scrambles(tmp_path):
    """9,000 always-on phones at 1,000 per km^2 for 20 minutes, no showers."""
    town = simulate_town(tmp_path, seed=7, per_km2=1000, side_km=3, hours=1 / 3)
    report = chance_report(town.hits, Params(), town.exposures, scrambles=2)
    assert assert_agree(report) >= 12
    biggest = next(r for r in report["cylinders"] if r["radius_m"] == 1000 and r["k"] == 8)
    assert biggest["model"] > 10  # chance cylinders of 8 phones: the density is real
    found = find_showers(town.hits, Params(), town.exposures)
    assert (found.significance_sigma < 5).all()


def test_exposure_live_time_raises_the_rate_and_the_expectation():
    rng = np.random.default_rng(4)
    net = network(rng, [(46.2, 6.14)], per_group=20, spread_m=100)
    data = with_ids(background(rng, net, 0.1, 3600), rng)
    every = Params(max_expected=math.inf)
    plain = find_showers(data, every)
    t0, t1 = int(data.t_ns.min()), int(data.t_ns.max()) + 1
    half = pd.DataFrame(  # each phone live for half of the hour, at its place
        {
            "device_id": net.device_id,
            "start_ns": t0,
            "end_ns": t0 + (t1 - t0) // 2,
            "lat": net.lat,
            "lon": net.lon,
        }
    )
    halved = find_showers(data, every, half)
    assert len(plain) == len(halved) > 0
    assert (halved.expected_background.to_numpy() > plain.expected_background.to_numpy()).all()
