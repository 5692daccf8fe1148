"""Simulated showers with known truth: each found once, none merged, at >= 99% efficiency."""

from __future__ import annotations

import numpy as np
import pandas as pd

from coincidence.params import Params
from tests.coincidence.factories import background, network, showers, with_ids


def test_the_spark_job_finds_every_shower_that_fired_enough_devices_once(spark_job):
    rng = np.random.default_rng(77)
    cities = [(46.2, 6.14), (-16.5, 179.995), (78.22, 15.65)]  # Geneva, Fiji, Svalbard
    net = network(rng, cities, per_group=60, spread_m=1000)
    shower_hits, truth = showers(rng, net, 160, 7200, footprint_m=500, jitter_ms=3)
    noise = background(rng, net, 0.01, 7200).assign(shower=-1)
    data = with_ids(pd.concat([noise, shower_hits]), rng)
    params = Params(window_ms=50, radius_m=1000, min_devices=3)
    found = spark_job(data, params)

    shower_of = dict(zip(data.hit_id, data.shower, strict=True))
    detectable = set(truth.shower[truth.n_devices >= params.min_devices])
    assert len(detectable) >= 100
    seen: dict[int, int] = {}
    for hit_ids in found.hit_ids:
        members = {shower_of[h] for h in hit_ids} - {-1}
        assert len(members) <= 1, "two showers merged into one candidate"
        for s in members:
            seen[s] = seen.get(s, 0) + 1
    assert all(count == 1 for count in seen.values()), "a shower was split"
    efficiency = len(detectable & set(seen)) / len(detectable)
    assert efficiency >= 0.99
    showers_found = found[found.hit_ids.map(lambda ids: shower_of[ids[0]] >= 0)]
    # Three phones can fire by chance in a busy town; six or more almost never do.
    big = showers_found[showers_found.n_devices >= 6]
    assert len(big) >= 20
    assert (big.significance_sigma > 4).all()
    chance = found[~found.shower_id.isin(showers_found.shower_id)]
    assert (chance.significance_sigma < 4).all()
