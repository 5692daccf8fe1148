"""How many chance cores to expect, and how significant a core is (a space-time scan statistic).

The search scans cylinders: an anchor hit a, a disc of radius r around it (r
from Params.radii_m) and the window [t_a, t_a + W]. A cylinder's size k is
the number of distinct devices with hits in it, the anchor's own included.

Model. Device j fires at a steady rate lambda_j = N_j / T_j (its hits in the
analysed span over its live time: exposure blocks when given, else the span),
so it fires at least once in a window with probability p_j = 1 - exp(-lambda_j W).
For an anchor on device d, the other devices within r of d add up to

    Lambda_d(r) = sum_{j != d, |x_j - x_d| <= r} p_j

chance devices in its cylinder, and the chance that the cylinder reaches k
devices is the Poisson tail P(Poisson(Lambda_d(r)) >= k - 1) (devices fire
independently and each p_j is small). Every hit is an anchor, so the number
of chance cylinders of radius r with at least k devices anchored in the
neighbourhood of d (the devices within radius_m of it, H_d hits in the span) is

    E(k, r) = H_d * P(Poisson(Lambda_d(r)) >= k - 1)

which assumes the devices around d are about as busy as d's own surroundings.
A core is the most significant cylinder, so the radius is a trial too:

    expected_background = n_radii * min over the scanned radii of E(k_r, r)

(Bonferroni over the radii: conservative, since the radii are nested). The
time trials are the anchors: one per hit in the span. significance_sigma is
the one-sided Gaussian equivalent of p = 1 - exp(-expected_background).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import numpy.typing as npt
from scipy.special import gammainc

Floats = npt.NDArray[np.float64]


def fire_probability(rate_hz: Floats, window_s: float) -> Floats:
    """P(a device firing at rate_hz (1/s) has at least one hit in window_s seconds)."""
    p: Floats = -np.expm1(-np.asarray(rate_hz, dtype=np.float64) * window_s)
    return p


def poisson_tail(mean: Floats, at_least: npt.NDArray[np.int64]) -> Floats:
    """P(Poisson(mean) >= at_least), elementwise; 1 where at_least <= 0."""
    mean = np.asarray(mean, dtype=np.float64)
    at_least = np.asarray(at_least)
    safe = np.maximum(at_least, 1).astype(np.float64)
    # The regularised lower incomplete gamma P(m, x) is P(Poisson(x) >= m) for integer m >= 1.
    tail: Floats = np.where(at_least <= 0, 1.0, gammainc(safe, mean))
    return tail


def expected_chance(
    hood_hits: Floats, chance_devices: Floats, k: npt.NDArray[np.int64], n_radii: int
) -> Floats:
    """expected_background of cylinders of k devices (see the module docstring).

    hood_hits: H_d(r), hits in the span within the cylinder's radius of the anchor's device;
    chance_devices: Lambda_d(r) at the cylinder's radius; n_radii: radii scanned.
    """
    expected: Floats = n_radii * np.asarray(hood_hits) * poisson_tail(chance_devices, k - 1)
    return expected


def significance_sigma(expected: float) -> float:
    """One-sided Gaussian sigma of p = 1 - exp(-expected); 0 when p >= 0.5."""
    p = -math.expm1(-expected)
    if p >= 0.5:
        return 0.0
    return -NormalDist().inv_cdf(max(p, 1e-300))


def expected_for_sigma(sigma: float) -> float:
    """The expected_background whose significance_sigma is `sigma` (its inverse, for sigma > 0)."""
    p = 0.5 * math.erfc(sigma / math.sqrt(2.0))  # the upper tail, exact far out
    return -math.log1p(-p)
