"""The standard scenarios of `crowdray simulate --preset`, each with what it yields.

- `town` (the default): a CRAYFIS-density town, 1,000 always-on phones on one
  km² at ~0.5 background hits per minute, 60 showers an hour injected at
  10^19.5-10^21 eV, real phone sensors. Showers fire phones: in 15 minutes
  (seed 4) all 12 fired >= 5 phones and 10 fired >= 10. Data where showers
  can be seen.
- `world`: 500 phones in 8 cities around the world (Geneva to Longyearbyen and
  both sides of the antimeridian), part-time, the physical cosmic-ray flux
  from 10^16 eV. Hundreds of showers a day, almost none firing a phone: what a
  sparse network really sees.
- `demo`: `crowdray demo`'s network, 300 always-on phones in Geneva, Kraków and
  Suva with boosted sensors (5 x 10^-3 m^2), 30 showers an hour at 10^19-10^21
  eV: showers of tens of phones within minutes.
"""

from __future__ import annotations

import math
from typing import Any

from simulator.network import Place

M_PER_DEG = 111_195.0  # metres per degree of latitude on the 6,371 km sphere
DEMO_SENSOR_AREA_M2 = 5e-3  # boosted: the search must be told (Params.sensor_area_m2)
DEMO_TOWNS = (
    ("Geneva", 46.2044, 6.1432),
    ("Krakow", 50.0647, 19.9450),
    ("Suva", -18.1248, 178.4501),
)


def square(lat: float, lon: float, side_km: float) -> tuple[float, float, float, float]:
    """min_lon, min_lat, max_lon, max_lat of a side_km square with its corner at lat, lon."""
    dlat = side_km * 1000 / M_PER_DEG
    dlon = side_km * 1000 / (M_PER_DEG * math.cos(math.radians(lat)))
    return lon, lat, lon + dlon, lat + dlat


PRESETS: dict[str, dict[str, Any]] = {
    "town": {
        "devices": 1000,
        "hours": 1.0,
        "box": square(46.2, 6.1, 1.0),
        "always_on": True,
        "inject_per_hour": 60.0,
        "energy_min_ev": 10**19.5,
        "energy_max_ev": 1e21,
    },
    "world": {
        "devices": 500,
        "hours": 2.0,
        "energy_min_ev": 1e16,
        "energy_max_ev": 1e21,
    },
    "demo": {
        "devices": 300,
        "hours": 2.0,
        "always_on": True,
        "mean_rate_hz": 0.2 / 60,
        "places": tuple(Place(name, lat, lon, 1, 400) for name, lat, lon in DEMO_TOWNS),
        "inject_per_hour": 30.0,
        "energy_min_ev": 1e19,
        "energy_max_ev": 1e21,
        "sensor_area_m2": DEMO_SENSOR_AREA_M2,
    },
}
