"""Finding showers in memory and scoring them against the simulator's truth."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from coincidence import reference
from coincidence.evaluate import chance_candidates, half_width_68, match
from coincidence.params import Params


def find_showers(
    hits: pd.DataFrame, exposures: pd.DataFrame | None = None, **params: Any
) -> pd.DataFrame:
    """Shower candidates (the shower contract) of hits, as `crowdray coincidence` finds them.

    The reference implementation: one process, no Spark, the same candidates as
    the Spark job (tests assert it). params: any of coincidence.params.Params,
    e.g. window_ms=50, radius_m=1000, sensor_area_m2=5e-3. With exposure blocks
    each candidate gets a fitted core and energy.
    """
    return reference.find_showers(hits, Params(**params), exposures)


@dataclass(frozen=True)
class Score:
    """A search against simulated truth, for showers that fired at least `min_devices` phones.

    matched: one row per true shower (evaluate.match) with found_id, sigma,
    core_err_m and dlog10_e; efficiency: the share found at >= `sigma`;
    chance: candidates at >= `sigma` holding no shower hit; purity: the share of
    candidates at >= `sigma` that are real; the resolutions are over found showers.
    """

    matched: pd.DataFrame
    min_devices: int
    sigma: float
    efficiency: float
    chance: int
    purity: float
    median_core_err_m: float
    median_dlog10_e: float
    dlog10_e_68: float

    def by(self, column: str, bins: Any) -> pd.DataFrame:
        """Efficiency per bin of a truth column (e.g. "n_devices", or log10 energy "lg_e")."""
        visible = self.matched[self.matched.n_devices >= self.min_devices].copy()
        visible["lg_e"] = np.log10(visible["energy_ev"])
        visible["found"] = visible["sigma"].fillna(-np.inf) >= self.sigma
        groups = pd.cut(visible[column], bins, right=False)  # [lo, hi): "at least lo"
        grouped = visible.groupby(groups, observed=False)["found"]
        return pd.DataFrame({"showers": grouped.size(), "efficiency": grouped.mean()})


def score(
    found: pd.DataFrame, truth: pd.DataFrame, min_devices: int = 10, sigma: float = 5.0
) -> Score:
    """Score candidates (the shower contract) against truth (the simulator's truth.parquet)."""
    matched = match(found, truth)
    visible = matched[matched.n_devices >= min_devices]
    hit = visible["sigma"].fillna(-np.inf) >= sigma
    strong = found[found.significance_sigma >= sigma]
    chance = len(chance_candidates(strong, truth))
    fitted = visible[hit]
    return Score(
        matched=matched,
        min_devices=min_devices,
        sigma=sigma,
        efficiency=float(hit.mean()) if len(visible) else float("nan"),
        chance=chance,
        purity=1 - chance / len(strong) if len(strong) else float("nan"),
        median_core_err_m=float(np.nanmedian(fitted.core_err_m)) if len(fitted) else float("nan"),
        median_dlog10_e=float(np.nanmedian(fitted.dlog10_e)) if len(fitted) else float("nan"),
        dlog10_e_68=half_width_68(fitted.dlog10_e) if len(fitted) else float("nan"),
    )
