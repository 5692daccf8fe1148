"""An air shower's footprint and a phone's chance to see it (docs/physics.md).

Shared by the simulator, which makes showers, and the search, which fits them.
Units: energies in eV, lengths in metres, areas in m^2.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

# HiSPARC sapphire's NKG defaults: age s and Moliere radius r0.
NKG_AGE = 1.7
NKG_R0_M = 30.0
# Assumed phone sensor: a ~4.5 x 3.4 mm CMOS chip, half the crossing particles seen.
# Both are options (--sensor-area-m2, --efficiency); no single value fits all phones.
SENSOR_AREA_M2 = 1.5e-5
SENSOR_EFFICIENCY = 0.5


def electron_number(energy_ev: Floats | float) -> Floats:
    """Shower size N_e = 10^(log10 E - 15 + 4.8) (sapphire's simple scaling), E in eV."""
    size: Floats = 10.0 ** (np.log10(energy_ev) - 15.0 + 4.8)
    return size


def nkg_norm(age: float = NKG_AGE) -> float:
    """C(s) = Gamma(4.5 - s) / (2 pi Gamma(s) Gamma(4.5 - 2s)), so the density integrates to N_e."""
    return math.gamma(4.5 - age) / (2 * math.pi * math.gamma(age) * math.gamma(4.5 - 2 * age))


def nkg_density(
    r_m: Floats, n_e: Floats | float, age: float = NKG_AGE, r0_m: float = NKG_R0_M
) -> Floats:
    """Particles per m^2 at distance r_m (m) from the axis, in the shower plane (NKG)."""
    x = np.maximum(np.asarray(r_m, dtype=np.float64), 1e-3) / r0_m
    density: Floats = n_e * nkg_norm(age) / r0_m**2 * x ** (age - 2) * (1 + x) ** (age - 4.5)
    return density
