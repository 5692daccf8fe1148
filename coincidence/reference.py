"""The single-process NumPy implementation of the search: the oracle for the Spark job.

Same definition (coincidence/__init__.py), simplest algorithm: one global sort by
time, one sweep, connected components with scipy, neighbourhoods by brute force.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from coincidence.candidates import add_background, empty_showers, summarize
from coincidence.geo import from_unit, haversine_m, to_unit
from coincidence.params import Params
from coincidence.sweep import linked_pairs
from vocab.contracts import HIT_COLUMNS
from vocab.units import NS_PER_S


def select_span(hits: pd.DataFrame, params: Params) -> pd.DataFrame:
    df = hits[list(HIT_COLUMNS)]
    if params.since_ns is not None:
        df = df[df["t_ns"] >= params.since_ns]
    if params.until_ns is not None:
        df = df[df["t_ns"] < params.until_ns]
    return df


def span_seconds(t_min: int, t_max: int, params: Params) -> float:
    """The analysed span: [since, until) when given, else first to last hit (>= one window)."""
    lo = params.since_ns if params.since_ns is not None else t_min
    hi = params.until_ns if params.until_ns is not None else t_max
    return max(hi - lo, params.window_ns) / NS_PER_S


def device_table(df: pd.DataFrame, span_s: float, live_s: pd.Series | None = None) -> pd.DataFrame:
    """Per device: hits, mean position (unit vectors) and live time in seconds."""
    x, y, z = to_unit(df["lat"].to_numpy(), df["lon"].to_numpy())
    g = pd.DataFrame({"device_id": df["device_id"], "x": x, "y": y, "z": z}).groupby("device_id")
    sums = g.sum()
    lat, lon = from_unit(sums["x"].to_numpy(), sums["y"].to_numpy(), sums["z"].to_numpy())
    out = pd.DataFrame({"n": g.size(), "lat": lat, "lon": lon}, index=sums.index)
    out["live_s"] = span_s if live_s is None else live_s.reindex(out.index).fillna(span_s)
    return out


def neighbourhoods(showers: pd.DataFrame, devices: pd.DataFrame, radius_m: float) -> pd.DataFrame:
    """Add nb_hits, nb_rate_hz, nb_sum_sq: sums over devices within radius of each centroid."""
    n = devices["n"].to_numpy(np.float64)
    rate = n / devices["live_s"].to_numpy(np.float64)
    cols: dict[str, list[float]] = {"nb_hits": [], "nb_rate_hz": [], "nb_sum_sq": []}
    for lat, lon in zip(showers["lat"], showers["lon"], strict=True):
        near = (
            haversine_m(lat, lon, devices["lat"].to_numpy(), devices["lon"].to_numpy()) <= radius_m
        )
        cols["nb_hits"].append(float(n[near].sum()))
        cols["nb_rate_hz"].append(float(rate[near].sum()))
        cols["nb_sum_sq"].append(float((n[near] ** 2).sum()))
    return showers.assign(**cols)


def find_showers(
    hits: pd.DataFrame | pa.Table, params: Params, live_s: pd.Series | None = None
) -> pd.DataFrame:
    """Shower candidates (the shower contract) of hits (the hit contract).

    live_s: optional live time in seconds per device_id (from exposure blocks).
    """
    if isinstance(hits, pa.Table):
        hits = hits.select(list(HIT_COLUMNS)).to_pandas()
    df = select_span(hits, params)
    if df.empty:
        return empty_showers()
    df = df.sort_values(["t_ns", "hit_id"], kind="stable").reset_index(drop=True)
    t = df["t_ns"].to_numpy(np.int64)
    key = np.zeros(len(df), dtype=np.int64)
    i, j = linked_pairs(
        key, t, df["lat"].to_numpy(), df["lon"].to_numpy(), params.window_ns, params.radius_m
    )
    if len(i) == 0:
        return empty_showers()
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(len(df), len(df)))
    _, component = connected_components(graph, directed=False)
    linked = np.zeros(len(df), dtype=bool)
    linked[i] = linked[j] = True
    members = df[linked].assign(label=component[linked])
    showers = summarize(members, params.min_devices)
    if showers.empty:
        return showers
    devices = device_table(df, span_seconds(int(t[0]), int(t[-1]), params), live_s)
    return add_background(neighbourhoods(showers, devices, params.radius_m), params)
