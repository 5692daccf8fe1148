"""Air-shower physics for the simulator. Sources are cited per function.

Units: energies in eV, lengths in metres, times in nanoseconds, angles in radians.
The footprint (NKG) and the sensor are shared with the search, in vocab.shower.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from vocab.shower import SENSOR_AREA_M2, SENSOR_EFFICIENCY

Floats = npt.NDArray[np.float64]

C_M_PER_NS = 0.299792458
# Cosmic-ray spectral index over 1e14-1e21 eV (sapphire defaults, docs/physics.md).
SPECTRAL_INDEX = 2.75
# UHECR flux: about 1 per km^2 per century above 1e19 eV (docs/physics.md).
UHECR_FLUX_PER_KM2_CENTURY = 1.0
UHECR_REF_EV = 1e19


def sample_energy(
    rng: np.random.Generator, n: int, e_min: float, e_max: float, index: float = SPECTRAL_INDEX
) -> Floats:
    """Energies (eV) from dN/dE ~ E^-index on [e_min, e_max], by inverting the CDF."""
    a = 1.0 - index
    u = rng.random(n)
    energy: Floats = (e_min**a + u * (e_max**a - e_min**a)) ** (1.0 / a)
    return energy


def sample_zenith(rng: np.random.Generator, n: int, max_zenith: float = math.radians(60)) -> Floats:
    """Zenith angles with pdf ~ cos^7(t) sin(t) (sapphire), on [0, max_zenith] radians.

    The CDF is proportional to 1 - cos^8(t), so cos(t) = (1 - u (1 - cos^8 max))^(1/8).
    """
    u = rng.random(n)
    return np.arccos((1.0 - u * (1.0 - math.cos(max_zenith) ** 8)) ** 0.125)


def axis(zenith: float, azimuth: float) -> Floats:
    """Unit vector (east, north, up) pointing from the ground back towards the source.

    azimuth: radians, from east towards north.
    """
    s = math.sin(zenith)
    return np.array([s * math.cos(azimuth), s * math.sin(azimuth), math.cos(zenith)])


def front_delay_ns(enu_m: Floats, zenith: float, azimuth: float) -> Floats:
    """Arrival time (ns) of the plane shower front at points enu_m relative to the core.

    Points towards the source are reached first: delay = -(x . n) / c.
    """
    return -(enu_m @ axis(zenith, azimuth)) / C_M_PER_NS


def axis_distance_m(enu_m: Floats, zenith: float, azimuth: float) -> Floats:
    """Distance (m) of points from the shower axis through the core."""
    along = enu_m @ axis(zenith, azimuth)
    distance: Floats = np.sqrt(np.maximum((enu_m**2).sum(axis=1) - along**2, 0.0))
    return distance


def fire_probability(
    density_per_m2: Floats,
    zenith: float,
    area_m2: float = SENSOR_AREA_M2,
    efficiency: float = SENSOR_EFFICIENCY,
) -> Floats:
    """P(a flat-lying phone records a hit) = 1 - exp(-rho A cos(zenith) eps).

    density_per_m2 is in the shower plane; a horizontal sensor presents A cos(zenith).
    """
    return -np.expm1(-density_per_m2 * area_m2 * math.cos(zenith) * efficiency)


def physical_rate_hz(area_km2: float, e_min: float) -> float:
    """Showers per second above e_min (eV) over area_km2, from the UHECR flux.

    Integral flux J(>E) = 1 / (km^2 century) (E / 1e19 eV)^-(index - 1).
    """
    per_km2_s = UHECR_FLUX_PER_KM2_CENTURY / (100 * 365.25 * 86400)
    return float(area_km2 * per_km2_s * (e_min / UHECR_REF_EV) ** (1.0 - SPECTRAL_INDEX))
