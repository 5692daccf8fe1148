"""The core and energy fit: known showers are recovered, anywhere on Earth, with honest errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from coincidence.geo import from_tangent_plane, haversine_m, tangent_plane
from coincidence.params import Params
from coincidence.reconstruct import (
    Phones,
    _best_energy,
    fit_phones,
    fit_rows,
    neg_log_likelihood,
    reconstruct,
)
from vocab.shower import electron_number, nkg_density

P = Params()


def grid_shower(
    rng: np.random.Generator, centre: tuple[float, float], log10_e: float, spacing_m: float = 30
) -> tuple[pd.DataFrame, pd.DataFrame, tuple[float, float]]:
    """Phones on a square grid around centre; a vertical shower at a random core nearby.

    Returns (fired, live, core): fired phones drawn from the same model the fit uses.
    """
    steps = np.arange(-400, 401, spacing_m)
    east, north = (a.ravel() for a in np.meshgrid(steps, steps))
    core = rng.uniform(-40, 40, 2)
    mu = nkg_density(np.hypot(east - core[0], north - core[1]), electron_number(10**log10_e))
    mu = mu * P.sensor_area_m2 * P.efficiency
    fired = rng.random(len(east)) < -np.expm1(-mu)
    pos = [from_tangent_plane(e, n, *centre) for e, n in zip(east, north, strict=True)]
    phones = pd.DataFrame(pos, columns=["lat", "lon"]).assign(
        device_id=[f"p{k}" for k in range(len(east))], chance=0.0
    )
    return phones[fired], phones, from_tangent_plane(core[0], core[1], *centre)


@pytest.mark.parametrize(
    "centre", [(46.2, 6.14), (-16.5, 179.9999), (-89.9995, 0.0)], ids=["geneva", "fiji", "pole"]
)
def test_a_known_shower_is_recovered_with_errors_that_cover_the_truth(centre):
    rng = np.random.default_rng(1)
    pulls_e, misses = [], []
    for _ in range(20):
        true_lg = rng.uniform(19.5, 20.5)
        fired, live, core = grid_shower(rng, centre, true_lg)
        fit = reconstruct(fired, live, P)
        assert fit is not None
        miss = float(haversine_m(fit.core_lat, fit.core_lon, core[0], core[1]))
        misses.append(miss / fit.core_err_m)
        pulls_e.append((fit.log10_energy_ev - true_lg) / fit.log10_energy_err)
        assert fit.n_silent == len(live) - len(fired)
    # 1 sigma errors: most pulls within 2, none wild, no bias in energy.
    assert np.mean(np.abs(pulls_e) < 2) >= 0.8 and np.max(np.abs(pulls_e)) < 5
    assert np.median(misses) < 2 and np.max(misses) < 6
    assert abs(np.median(pulls_e)) < 0.8


def test_without_silent_phones_the_energy_is_unbounded_and_no_fit_is_reported():
    rng = np.random.default_rng(2)
    fired, _, _ = grid_shower(rng, (46.2, 6.14), 20.0)
    assert reconstruct(fired, fired.iloc[:0], P) is None


def test_fit_rows_reports_each_candidate_and_why_it_was_not_fitted():
    rng = np.random.default_rng(3)
    fired, live, _ = grid_shower(rng, (46.2, 6.14), 20.0)
    good = pd.concat([fired.assign(fired=True), live.assign(fired=False)]).assign(shower_id="S1")
    lonely = fired.assign(fired=True, shower_id="S2")
    out = fit_rows(pd.concat([good, lonely]), P).set_index("shower_id")
    assert out.loc["S1", "fit_status"] == "fitted"
    assert (out.loc[["S1"], "core_err_m"] > 0).all()
    assert out.loc["S2", "fit_status"] == "no_convergence" and pd.isna(out.loc["S2", "core_lat"])


@pytest.mark.parametrize("centre", [(46.2, 6.14), (0.0, 179.99), (89.99, 0.0), (-89.9999, 77.0)])
def test_the_tangent_plane_keeps_distances_and_goes_back_exactly(centre):
    rng = np.random.default_rng(4)
    east, north = rng.uniform(-2000, 2000, (2, 50))
    back = np.array([from_tangent_plane(e, n, *centre) for e, n in zip(east, north, strict=True)])
    e2, n2 = tangent_plane(back[:, 0], back[:, 1], *centre)
    assert np.allclose(e2, east, atol=1e-6) and np.allclose(n2, north, atol=1e-6)
    assert np.allclose(
        haversine_m(centre[0], centre[1], back[:, 0], back[:, 1]), np.hypot(east, north), rtol=1e-6
    )


def profiled_at(core: np.ndarray, phones: Phones) -> float:
    """-log L with the core held at core, the energy at its best there."""
    return _best_energy(core, phones, P)[1]


def test_the_fit_reaches_the_likelihood_maximum_and_its_region_covers_the_truth():
    """250 phones per km^2, placed at random, vertical showers drawn from the fit's model.

    No true core is more likely than the fitted one (with scipy's default first simplex,
    one fit in these 150 stayed on a fired phone's cusp, the true core 3.2 more likely
    in 2 ln L). The likelihood region, 2 ln(L_fit / L_true core) with the energy
    profiled, covers the truth at least at its chi^2(2) rate: measured 81% for 68% and
    97% for 95%, conservative with ~10 phones.
    """
    rng = np.random.default_rng(4)
    ratios: list[float] = []
    misses: list[float] = []  # metres
    while len(ratios) < 150:
        east, north = rng.uniform(-500, 500, (2, 250))
        core, true_lg = rng.uniform(-50, 50, 2), rng.uniform(19.8, 20.6)
        mu = nkg_density(np.hypot(east - core[0], north - core[1]), electron_number(10**true_lg))
        fired = rng.random(len(east)) < -np.expm1(-mu * P.sensor_area_m2 * P.efficiency)
        if fired.sum() < 10:  # the goals count showers that fired at least 10 phones
            continue
        phones = Phones(east, north, np.full(len(east), 1e-4), fired)
        result = fit_phones(phones, P)
        assert result is not None
        theta = result[0]
        ratios.append(2 * (profiled_at(core, phones) - neg_log_likelihood(theta, phones, P)))
        misses.append(float(np.hypot(*(theta[:2] - core))))
    ratios_a = np.array(ratios)
    assert ratios_a.min() > -1e-3  # never a better point than the fit's
    assert 0.68 <= np.mean(ratios_a <= 2.30) <= 0.9  # chi^2(2): 68% below 2.30
    assert 0.95 <= np.mean(ratios_a <= 5.99) <= 0.995  # and 95% below 5.99
    assert np.median(misses) < 25
