"""Whole showers: each core and the rest of its footprint (coincidence/__init__.py, step 4).

A core is the most significant compact cylinder of a shower, but phones of the
same shower further out fired too: a 1.5 km footprint has phones outside a
500 m disc. A candidate's members are its core's hits and every other hit
searched that

- fits in one window with the core: max(t_last, t) - min(t_first, t) <= W, the
  same time extent a core may have, and
- lies within radius_m of the core's centroid, the same reach as a link.

Linked or not: a phone of the shower that fired with no neighbour within
radius_m is still a phone of the shower. Cores claim these hits most
significant first, and a hit of another core is never claimed, so no hit is in
two candidates. The significance stays the core's: the footprint's extra
phones are not weighed against chance again.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from coincidence.geo import haversine_m
from coincidence.params import Params

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def time_reach(first_ns: Ints, last_ns: Ints, params: Params) -> tuple[Ints, Ints]:
    """The times [lo, hi] a core's footprint may hold: within one window with the core."""
    return last_ns - params.window_ns, first_ns + params.window_ns


def in_reach(
    lat: Floats, lon: Floats, c_lat: Floats, c_lon: Floats, params: Params
) -> npt.NDArray[np.bool_]:
    """Hits within radius_m of their core's centroid."""
    reach: npt.NDArray[np.bool_] = haversine_m(lat, lon, c_lat, c_lon) <= params.radius_m
    return reach


def claim_footprints(hits: pd.DataFrame, cores: pd.DataFrame, params: Params) -> pd.DataFrame:
    """(priority, hit_id) of the footprint hits each core claims.

    hits: hit_id, t_ns, lat, lon of every hit searched, sorted by (t_ns, hit_id);
    cores: coincidence.cores.CORES. A hit goes to the first core by priority whose
    reach holds it, unless it is a member of any core.
    """
    t = hits["t_ns"].to_numpy(np.int64)
    lat, lon = hits["lat"].to_numpy(np.float64), hits["lon"].to_numpy(np.float64)
    ids = hits["hit_id"].to_numpy(np.int64)
    claimed = np.isin(ids, np.concatenate(cores["members"].to_list()))
    cores = cores.sort_values("priority", kind="stable")
    lo, hi = cores["reach_lo_ns"].to_numpy(), cores["reach_hi_ns"].to_numpy()
    c_lat, c_lon = cores["c_lat"].to_numpy(), cores["c_lon"].to_numpy()
    first = np.searchsorted(t, lo)
    last = np.searchsorted(t, hi, "right")
    rows = []
    for k in range(len(cores)):
        near = np.arange(first[k], last[k])
        near = near[~claimed[near]]
        near = near[in_reach(lat[near], lon[near], c_lat[k], c_lon[k], params)]
        claimed[near] = True
        rows.append(near)
    n = [len(r) for r in rows]
    return pd.DataFrame(
        {
            "priority": np.repeat(cores["priority"].to_numpy(np.int64), n),
            "hit_id": ids[np.concatenate(rows)] if rows else np.zeros(0, np.int64),
        }
    )
