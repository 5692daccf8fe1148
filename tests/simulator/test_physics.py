"""Shower physics: NKG normalisation, spectrum, zenith distribution, front geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from simulator import physics
from vocab import shower


@pytest.mark.parametrize("energy", [1e15, 1e18, 1e20])
def test_the_nkg_density_integrates_to_the_electron_number(energy):
    n_e = shower.electron_number(np.array(energy))
    total, _ = integrate.quad(
        lambda r: 2 * math.pi * r * shower.nkg_density(np.array(r), n_e), 0, np.inf, limit=400
    )
    assert total == pytest.approx(float(n_e), rel=1e-3)


def test_the_electron_number_follows_sapphire_scaling():
    assert shower.electron_number(np.array(1e15)) == pytest.approx(10**4.8)
    assert shower.electron_number(np.array(1e19)) == pytest.approx(10**8.8)


def test_a_fit_recovers_the_spectral_index():
    rng = np.random.default_rng(1)
    energies = physics.sample_energy(rng, 200_000, 1e14, 1e21)
    assert energies.min() >= 1e14 and energies.max() <= 1e21
    # Maximum-likelihood index of a power law above e_min (the 1e21 cut-off is negligible).
    fitted = 1 + len(energies) / np.log(energies / 1e14).sum()
    assert fitted == pytest.approx(2.75, abs=0.01)


def test_zenith_angles_follow_cos7_sin():
    rng = np.random.default_rng(2)
    zen = physics.sample_zenith(rng, 100_000, math.radians(60))
    top = 1 - math.cos(math.radians(60)) ** 8
    result = stats.kstest(zen, lambda t: (1 - np.cos(t) ** 8) / top)
    assert result.pvalue > 0.01
    assert zen.max() <= math.radians(60)


def test_the_front_reaches_points_towards_the_source_first():
    # Shower from the east at 45 degrees: a phone 300 m east is hit ~707 ns early.
    east = np.array([[300.0, 0.0, 0.0], [-300.0, 0.0, 0.0], [0.0, 300.0, 0.0]])
    delay = physics.front_delay_ns(east, math.radians(45), 0.0)
    assert delay[0] == pytest.approx(-300 * math.sin(math.radians(45)) / 0.299792458)
    assert delay[1] == pytest.approx(-delay[0])
    assert delay[2] == pytest.approx(0.0, abs=1e-9)
    assert np.allclose(physics.front_delay_ns(east, 0.0, 0.0), 0.0)


def test_the_axis_distance_of_a_vertical_shower_is_the_ground_distance():
    pts = np.array([[30.0, 40.0, 0.0]])
    assert physics.axis_distance_m(pts, 0.0, 1.0)[0] == pytest.approx(50.0)


def test_fire_probability_rises_with_density_and_falls_with_zenith():
    rho = np.array([0.0, 10.0, 1e6])
    p = physics.fire_probability(rho, 0.0, area_m2=1e-4, efficiency=0.5)
    assert p[0] == 0 and 0 < p[1] < p[2] <= 1
    assert physics.fire_probability(rho, 1.0, 1e-4, 0.5)[1] < p[1]


def test_the_physical_rate_is_one_per_km2_per_century_above_1e19():
    per_century = physics.physical_rate_hz(1.0, 1e19) * 100 * 365.25 * 86400
    assert per_century == pytest.approx(1.0)
