"""Towns simulated with the project's own simulator, for the tests that measure the science."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from simulator.generate import SimConfig
from simulator.output import simulate_to_dir

M_PER_DEG = 111_195.0


@dataclass(frozen=True)
class Town:
    hits: pd.DataFrame
    exposures: pd.DataFrame
    truth: pd.DataFrame
    hours: float
    area_km2: float


def simulate_town(
    out: Path, *, seed: int, per_km2: float, side_km: float, hours: float,
    showers_per_hour: float = 0.0, energy_ev: tuple[float, float] = (10**19.5, 1e21),
) -> Town:  # fmt: skip
    """Always-on phones uniform over a side_km square near Geneva, with injected showers."""
    dlat = side_km * 1000 / M_PER_DEG
    dlon = side_km * 1000 / (M_PER_DEG * math.cos(math.radians(46.2)))
    config = SimConfig(
        seed=seed, devices=int(per_km2 * side_km**2), hours=hours,
        box=(6.1, 46.2, 6.1 + dlon, 46.2 + dlat), always_on=True,
        inject_per_hour=showers_per_hour, energy_min_ev=energy_ev[0], energy_max_ev=energy_ev[1],
    )  # fmt: skip
    simulate_to_dir(config, out, progress=False)
    return Town(
        hits=pq.read_table(out / "hits.parquet").to_pandas(),
        exposures=pq.read_table(out / "exposures.parquet").to_pandas(),
        truth=pq.read_table(out / "truth.parquet").to_pandas(),
        hours=hours,
        area_km2=side_km**2,
    )


def confused(truth: pd.DataFrame, radius_m: float, window_ns: int) -> pd.Series:
    """Showers with another injected shower within radius_m and two windows.

    Such pairs come only from the boosted injection rate (real ones are a century
    apart per km^2); the search takes them as one event by design.
    """
    from coincidence.geo import haversine_m

    t = truth["t_ns"].to_numpy(np.int64)
    lat, lon = truth["core_lat"].to_numpy(), truth["core_lon"].to_numpy()
    out = np.zeros(len(truth), dtype=bool)
    for k in range(len(truth)):
        near = np.abs(t - t[k]) <= 2 * window_ns
        near[k] = False
        if near.any():
            out[k] = bool((haversine_m(lat[k], lon[k], lat[near], lon[near]) <= radius_m).any())
    return pd.Series(out, index=truth.index)
