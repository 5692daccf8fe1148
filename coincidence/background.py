"""How many chance candidates to expect, and how significant a candidate is.

Model (documented in the README). Around a candidate, take the devices whose
mean position lies within `radius_m` of its centroid: their hits, N, are
treated as one Poisson stream of rate L = sum(N_d / T_d), with T_d the device's
live time (its exposure blocks when given, else the analysed span T). Hits are
linked in time when consecutive gaps are <= W, so a chance cluster is a run of
hits whose gaps are all <= W. With q = exp(-L W) (a gap is longer than W):

    runs started          = N q
    P(run length = l)     = (1 - q)^(l-1) q
    P(>= k devices | l)   = occupancy of l hits over n_eff equally busy devices,
                            n_eff = (sum N_d)^2 / sum N_d^2
    expected_background   = N q sum_{l>=k} (1 - q)^(l-1) q P(>= k devices | l)

This is the expected number of chance clusters with at least k distinct devices
in that neighbourhood over the whole analysed span: the trials are the N q runs.
It is exact for a compact group of devices (all within radius of each other)
firing at steady rates, and approximate for spread-out networks (it ignores
chains that reach beyond the radius) and for rates that vary in time.
significance_sigma is the one-sided Gaussian equivalent of
p = P(at least one such chance cluster) = 1 - exp(-expected_background).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

_MAX_RUN = 2000
_TAIL = 1e-16


def distinct_at_least(max_len: int, k: int, n_eff: float) -> np.ndarray:
    """P(at least k distinct devices among l hits), l = 0..max_len, devices equally likely."""
    probs = np.zeros(k + 1)  # probs[m]: m distinct so far; m = k means "k or more"
    probs[0] = 1.0
    out = np.zeros(max_len + 1)
    stay = np.minimum(np.arange(k) / n_eff, 1.0)  # a hit from a device already seen
    for length in range(1, max_len + 1):
        new = np.zeros(k + 1)
        new[:k] += probs[:k] * stay
        new[1:] += probs[:k] * (1.0 - stay)
        new[k] += probs[k]
        probs = new
        out[length] = probs[k]
    return out


def expected_clusters(
    n_hits: float, rate_hz: float, sum_sq_hits: float, window_s: float, k: int
) -> float:
    """Expected chance clusters with >= k distinct devices (see the module docstring).

    n_hits: hits N of the neighbourhood's devices over the span; rate_hz: their
    summed rate L (1/s); sum_sq_hits: sum of N_d squared; window_s: W in seconds.
    """
    if n_hits <= 0 or rate_hz <= 0:
        return 0.0
    q = math.exp(-rate_hz * window_s)
    p_link = 1.0 - q
    n_eff = n_hits * n_hits / sum_sq_hits if sum_sq_hits > 0 else 1.0
    if n_eff < k - 1e-9 or p_link == 0.0:
        return 0.0
    # Run lengths beyond max_len carry less than _TAIL of the probability.
    if p_link < 1.0:
        max_len = int(min(_MAX_RUN, k + math.log(_TAIL) / math.log(p_link) + 1))
    else:
        max_len = _MAX_RUN
    max_len = max(max_len, k)
    lengths = np.arange(k, max_len + 1)
    p_len = p_link ** (lengths - 1) * q
    p_devices = distinct_at_least(max_len, k, n_eff)[k:]
    return float(n_hits * q * np.sum(p_len * p_devices))


def significance_sigma(expected: float) -> float:
    """One-sided Gaussian sigma of p = 1 - exp(-expected); 0 when p >= 0.5."""
    p = -math.expm1(-expected)
    if p >= 0.5:
        return 0.0
    return -NormalDist().inv_cdf(max(p, 1e-300))
