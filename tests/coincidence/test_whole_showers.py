"""A candidate is the whole shower: every phone it fired, on the simulator with known truth.

Measured on showers that fired at least 3 phones and are not confused with another
injected one, among those found (a candidate holds their hits). The issue's goal is
97% complete with at most 1% chance hits; the footprint rule (coincidence.footprint:
one window, radius_m of the core) reaches what the bounds below say, and the README
(docs/physics.md, "Whole showers") gives the figures. The core alone is far less
complete, which the tests also check, so dropping the footprint fails them.
Sensor assumed: A = 1.5e-5 m^2, efficiency 0.5 (the defaults).
"""

from __future__ import annotations

import logging

import pytest

from coincidence.evaluate import confused, whole
from coincidence.params import Params
from coincidence.reference import find_showers
from simulator.scenarios import simulate_town

log = logging.getLogger(__name__)
PARAMS = Params()

# (phones per km^2, side km, hours, energies log10 eV, least complete, most chance)
NETWORKS = {
    # Measured: whole 0.836 (core alone 0.537), chance 10 of 367 hits (2.7%).
    "sparse": (60, 6, 2, (20.0, 21.5), 0.80, 0.035),
    # Measured: whole 0.804 (core alone 0.357), chance 50 of 1002 hits (5.0%).
    "250": (250, 4, 1, (19.8, 21.5), 0.78, 0.06),
    # Measured: whole 0.706 (core alone 0.137), chance 85 of 975 hits (8.7%).
    "1000": (1000, 3, 0.5, (19.5, 21.0), 0.68, 0.10),
}


@pytest.mark.parametrize("network", NETWORKS)
def test_found_showers_carry_every_fired_phone_with_few_chance_hits(network, tmp_path):
    per_km2, side_km, hours, (lo, hi), least_complete, most_chance = NETWORKS[network]
    town = simulate_town(
        tmp_path,
        seed=3,
        per_km2=per_km2,
        side_km=side_km,
        hours=hours,
        showers_per_hour=120,
        energy_ev=(10**lo, 10**hi),
    )
    found = find_showers(town.hits, PARAMS)
    scored = whole(found, town.truth, town.hits)
    clear = ~confused(town.truth, PARAMS.radius_m, PARAMS.window_ns)
    kept = scored[(scored.n_devices >= 3) & clear.to_numpy() & scored.found]
    complete, core = kept.complete.mean(), kept.core_complete.mean()
    chance = kept.chance.sum() / kept.members.sum()
    log.info(
        "%s: %d showers; whole %.3f, core alone %.3f; chance hits %d of %d (%.3f)",
        network,
        len(kept),
        complete,
        core,
        kept.chance.sum(),
        kept.members.sum(),
        chance,
    )
    assert len(kept) >= 40
    assert complete >= least_complete
    assert complete >= core + 0.1 or core == 1.0
    assert chance <= most_chance
