"""The NumPy reference: invariances and the background model on larger data."""

from __future__ import annotations

import math

import numpy as np

from coincidence.params import Params
from coincidence.reference import find_showers
from tests.coincidence.factories import background, network, with_ids


def test_row_order_and_time_shift_do_not_change_the_candidates():
    rng = np.random.default_rng(11)
    net = network(rng, [(46.2, 6.14)], per_group=60, spread_m=500)
    data = with_ids(background(rng, net, 0.05, 3600), rng)
    every = Params(max_expected=math.inf)  # chance cores too: many candidates to compare
    base = find_showers(data, every).sort_values("shower_id")
    assert len(base) > 5
    again = find_showers(data.sample(frac=1.0, random_state=2), every).sort_values("shower_id")
    assert list(again.shower_id) == list(base.shower_id)
    later = find_showers(data.assign(t_ns=data.t_ns + 10**15), every).sort_values("shower_id")
    assert list(later.t_ns - 10**15) == list(base.t_ns)


def test_hits_from_rows_in_any_order_with_duplicate_times_are_handled():
    rng = np.random.default_rng(12)
    net = network(rng, [(0.0, 0.0)], per_group=10, spread_m=100)
    data = with_ids(background(rng, net, 1.0, 60), rng)
    data.loc[data.index[:50], "t_ns"] = data.t_ns.iloc[0]  # 50 hits at the same ns
    out = find_showers(data, Params(min_devices=2, max_expected=math.inf))
    assert len(out) > 0
    assert out.n_hits.sum() <= len(data)
    assert out.hit_ids.map(len).sum() == out.n_hits.sum()
