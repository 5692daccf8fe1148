"""The background model against exact combinatorics and against background-only data."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from coincidence.background import distinct_at_least, expected_clusters, significance_sigma
from coincidence.params import Params
from coincidence.reference import find_showers
from tests.coincidence.factories import background, network, with_ids


@pytest.mark.parametrize(("n_devices", "k"), [(3, 3), (4, 2), (5, 3)])
def test_distinct_devices_probability_matches_enumeration(n_devices, k):
    probs = distinct_at_least(6, k, float(n_devices))
    for length in range(7):
        draws = list(itertools.product(range(n_devices), repeat=length))
        exact = sum(len(set(d)) >= k for d in draws) / len(draws)
        assert probs[length] == pytest.approx(exact, abs=1e-12)


def test_significance_follows_the_gaussian_tail():
    assert significance_sigma(1 - math.exp(-2.8665e-7)) == pytest.approx(5.0, abs=1e-3)
    assert significance_sigma(0.0027) == pytest.approx(2.78, abs=0.01)
    assert significance_sigma(3.0) == 0.0
    assert significance_sigma(0.0) > 30


def test_no_hits_means_no_expected_background():
    assert expected_clusters(0, 0.0, 0.0, 0.05, 3) == 0.0


def test_background_only_data_gives_as_many_candidates_as_expected():
    """Five compact towns of 30 phones at 0.05 Hz for 2 h: chance candidates only."""
    rng = np.random.default_rng(2026)
    towns = [(46.2, 6.14), (-33.9, 18.4), (35.7, 139.7), (64.1, -21.9), (-16.5, 179.999)]
    net = network(rng, towns, per_group=30, spread_m=150)
    data = with_ids(background(rng, net, 0.05, 7200), rng)
    params = Params(window_ms=50, radius_m=1000, min_devices=3)
    found = find_showers(data, params)

    town = data.device_id.str.split("-").str[0]
    span_s = (data.t_ns.max() - data.t_ns.min()) / 1e9  # the analysed span: first to last hit
    expected = 0.0
    for _, group in data.groupby(town):
        per_device = group.groupby("device_id").size().astype(float)
        n = per_device.sum()
        expected += expected_clusters(n, n / span_s, (per_device**2).sum(), 0.05, 3)
    assert 150 < expected < 400  # the test has statistical power
    assert abs(len(found) - expected) < 3 * math.sqrt(expected)
    # A candidate's own expectation is that of its town for its multiplicity.
    triple = found[found.n_devices == 3].iloc[0]
    town_of = triple.device_ids[0].split("-")[0]
    group = data[town == town_of].groupby("device_id").size().astype(float)
    own = expected_clusters(group.sum(), group.sum() / span_s, (group**2).sum(), 0.05, 3)
    assert triple.expected_background == pytest.approx(own, rel=1e-9)
    assert (found.significance_sigma < 3).mean() > 0.99


def test_exposure_live_time_raises_the_rate_and_the_expectation():
    rng = np.random.default_rng(4)
    net = network(rng, [(46.2, 6.14)], per_group=20, spread_m=100)
    data = with_ids(background(rng, net, 0.1, 3600), rng)
    plain = find_showers(data, Params())
    half = pd.Series(1800.0, index=pd.Index(net.device_id, name="device_id"))
    halved = find_showers(data, Params(), live_s=half)
    assert len(plain) == len(halved) > 0
    assert (halved.expected_background.to_numpy() > plain.expected_background.to_numpy()).all()
