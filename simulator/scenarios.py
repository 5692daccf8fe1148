"""Standard simulated scenarios: a town of always-on phones with injected showers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from simulator.generate import SimConfig
from simulator.output import simulate_to_dir

M_PER_DEG = 111_195.0  # metres per degree of latitude on the 6,371 km sphere


@dataclass(frozen=True)
class Town:
    hits: pd.DataFrame
    exposures: pd.DataFrame
    truth: pd.DataFrame
    hours: float
    area_km2: float


def simulate_town(
    out: Path,
    *,
    seed: int,
    per_km2: float,
    side_km: float,
    hours: float,
    showers_per_hour: float = 0.0,
    energy_ev: tuple[float, float] = (10**19.5, 1e21),
) -> Town:
    """Always-on phones uniform over a side_km square near Geneva, with injected showers."""
    dlat = side_km * 1000 / M_PER_DEG
    dlon = side_km * 1000 / (M_PER_DEG * math.cos(math.radians(46.2)))
    config = SimConfig(
        seed=seed,
        devices=int(per_km2 * side_km**2),
        hours=hours,
        box=(6.1, 46.2, 6.1 + dlon, 46.2 + dlat),
        always_on=True,
        inject_per_hour=showers_per_hour,
        energy_min_ev=energy_ev[0],
        energy_max_ev=energy_ev[1],
    )
    simulate_to_dir(config, out, progress=False)
    return Town(
        hits=pq.read_table(out / "hits.parquet").to_pandas(),
        exposures=pq.read_table(out / "exposures.parquet").to_pandas(),
        truth=pq.read_table(out / "truth.parquet").to_pandas(),
        hours=hours,
        area_km2=side_km**2,
    )
