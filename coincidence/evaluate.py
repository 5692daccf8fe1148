"""Scoring a search against simulated truth: what was found, how significant, how well fitted.

truth is the simulator's truth.parquet (shower_id, t_ns, core_lat, core_lon,
energy_ev, n_devices, hit_ids); found is the shower contract.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from coincidence.geo import haversine_m


def match(found: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """One row per true shower, with the candidate that holds most of its hits (if any).

    Columns: the truth's, then found_id, sigma, n_found (devices in the candidate),
    core_err_m (distance of the fitted core from the true one, metres), dlog10_e
    (fitted minus true log10 energy) and split (other candidates holding its hits).
    """
    id_lists: list[Any] = truth["hit_ids"].to_list()
    true_of = {
        int(h): int(s)
        for s, ids in zip(truth["shower_id"].to_list(), id_lists, strict=True)
        for h in ids
    }
    rows = []
    cand: Any
    for cand in found.itertuples(index=False):
        owners = pd.Series([true_of.get(int(h), -1) for h in cand.hit_ids])
        for shower, hits in owners[owners >= 0].value_counts().items():
            rows.append(
                (
                    shower,
                    cand.shower_id,
                    hits,
                    cand.significance_sigma,
                    cand.n_devices,
                    cand.core_lat,
                    cand.core_lon,
                    cand.log10_energy_ev,
                )
            )
    cols = ["shower_id", "found_id", "hits", "sigma", "n_found", "fit_lat", "fit_lon", "fit_lg"]
    links = pd.DataFrame(rows, columns=cols).sort_values(["shower_id", "hits", "sigma"])
    best = links.groupby("shower_id").tail(1).set_index("shower_id")
    out = truth.join(best, on="shower_id")
    out["split"] = out["shower_id"].map(links.groupby("shower_id").size()).fillna(0) - 1
    out["split"] = out["split"].clip(lower=0).astype(int)
    out["core_err_m"] = haversine_m(
        out["core_lat"].to_numpy(),
        out["core_lon"].to_numpy(),
        out["fit_lat"].to_numpy(np.float64),
        out["fit_lon"].to_numpy(np.float64),
    )
    out["dlog10_e"] = out["fit_lg"].astype(np.float64) - np.log10(out["energy_ev"])
    return out


def chance_candidates(found: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Candidates that hold no hit of any true shower."""
    shower_hits = {int(h) for ids in truth.hit_ids for h in ids}
    real = found.hit_ids.map(lambda ids: any(int(h) in shower_hits for h in ids))
    return found[~real.astype(bool)]


def half_width_68(values: pd.Series) -> float:
    """Half the width of the central 68% of values (the 16th to the 84th percentile)."""
    lo, hi = np.nanpercentile(values.to_numpy(np.float64), [16, 84])
    return float(hi - lo) / 2


def confused(truth: pd.DataFrame, radius_m: float, window_ns: int) -> pd.Series:
    """Showers with another injected shower within radius_m and two windows.

    Such pairs come only from the boosted injection rate (real ones are a century
    apart per km^2); the search takes them as one event by design.
    """
    t = truth["t_ns"].to_numpy(np.int64)
    lat, lon = truth["core_lat"].to_numpy(), truth["core_lon"].to_numpy()
    out = np.zeros(len(truth), dtype=bool)
    for k in range(len(truth)):
        near = np.abs(t - t[k]) <= 2 * window_ns
        near[k] = False
        if near.any():
            out[k] = bool((haversine_m(lat[k], lon[k], lat[near], lon[near]) <= radius_m).any())
    return pd.Series(out, index=truth.index)


def whole(found: pd.DataFrame, truth: pd.DataFrame, hits: pd.DataFrame) -> pd.DataFrame:
    """Per true shower: is its best candidate the whole shower, and how much chance it holds.

    hits: the simulator's hits (hit_id, device_id). Columns: the truth's, then found
    (a candidate holds its hits), complete (every phone it fired is in that candidate),
    core_complete (as many phones in the candidate's core), members (hits in the
    candidate) and chance (of those, hits of no shower or of another one).
    """
    device = dict(zip(hits["hit_id"].to_list(), hits["device_id"].to_list(), strict=True))
    owner = {
        int(h): int(s) for s, ids in zip(truth.shower_id, truth.hit_ids, strict=True) for h in ids
    }
    by_id: dict[Any, Any] = {c.shower_id: c for c in found.itertuples(index=False)}
    best = match(found, truth)
    rows = []
    shower: Any
    for shower in best.itertuples(index=False):
        fired = {device[int(h)] for h in shower.hit_ids}
        cand = by_id.get(shower.found_id)
        if cand is None:
            rows.append((False, False, False, 0, 0))
            continue
        chance = sum(owner.get(int(h), -1) != shower.shower_id for h in cand.hit_ids)
        complete = fired <= set(cand.device_ids)
        rows.append(
            (True, complete, int(cand.n_core_devices) >= len(fired), len(cand.hit_ids), chance)
        )
    cols = ["found", "complete", "core_complete", "members", "chance"]
    return best.join(pd.DataFrame(rows, columns=cols, index=best.index))
