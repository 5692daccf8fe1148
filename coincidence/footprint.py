"""Whole showers: each core and the rest of its footprint (coincidence/__init__.py, step 4).

A core is the most significant compact cylinder of a shower, but phones of the
same shower further out fired too: a 1.5 km footprint has phones outside a
500 m disc. A candidate's members are its core's hits and every other hit of
its seed group that

- fits in one window with the core: max(t_last, t) - min(t_first, t) <= W, the
  same time extent a core may have, and
- lies within radius_m of the core's centroid, the same reach as a link.

Cores claim these hits most significant first, and a hit of another core is
never claimed, so no hit is in two candidates. The significance stays the
core's: the footprint's extra phones are not weighed against chance again.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from coincidence.geo import centroid, haversine_m
from coincidence.params import Params

Ints = npt.NDArray[np.int64]


def whole_showers(df: pd.DataFrame, cores: list[Ints], params: Params) -> list[Ints]:
    """Each core's rows of df plus the rows of its footprint, cores in order of priority.

    df: the seed groups' hits sorted by (label, t_ns, hit_id); cores: row indices.
    """
    label = df["label"].to_numpy(np.int64)
    t = df["t_ns"].to_numpy(np.int64)
    lat, lon = df["lat"].to_numpy(np.float64), df["lon"].to_numpy(np.float64)
    claimed = np.zeros(len(df), dtype=bool)
    for rows in cores:
        claimed[rows] = True
    out = []
    for rows in cores:
        group = label[rows[0]]
        g0, g1 = np.searchsorted(label, [group, group + 1])
        times = t[g0:g1]  # one group's times, sorted
        first, last = int(t[rows].min()), int(t[rows].max())
        lo = g0 + int(np.searchsorted(times, last - params.window_ns, "left"))
        hi = g0 + int(np.searchsorted(times, first + params.window_ns, "right"))
        near = np.arange(lo, hi)
        near = near[~claimed[near]]
        c_lat, c_lon = centroid(lat[rows], lon[rows])
        near = near[haversine_m(lat[near], lon[near], c_lat, c_lon) <= params.radius_m]
        claimed[near] = True
        out.append(np.concatenate([rows, near]))
    return out
