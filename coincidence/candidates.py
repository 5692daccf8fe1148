"""Turning a core's hits into a shower row: shared by the Spark job and the NumPy reference."""

from __future__ import annotations

import numpy as np
import pandas as pd

from coincidence.geo import from_unit, haversine_m, to_unit
from vocab.contracts import SHOWER_SCHEMA, shower_id


def summarize(members: pd.DataFrame, min_devices: int) -> pd.DataFrame:
    """One row per core (priority) of `members` with >= min_devices devices.

    members: priority, hit_id, device_id, t_ns, lat, lon.

    t_ns is the lower median member time; lat/lon the unit-vector centroid;
    radius_m the largest member distance from it. Background and reconstruction
    columns are added later.
    """
    df = members.sort_values(["priority", "t_ns", "hit_id"], kind="stable").reset_index(drop=True)
    groups = df.groupby("priority", sort=True)
    n_devices = groups["device_id"].nunique()
    keep = n_devices.index[n_devices >= min_devices]
    df = df[df["priority"].isin(keep)].reset_index(drop=True)
    if df.empty:
        return empty_showers()
    groups = df.groupby("priority", sort=True)
    size = groups.size().to_numpy()
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    t = df["t_ns"].to_numpy(np.int64)
    x, y, z = to_unit(df["lat"].to_numpy(), df["lon"].to_numpy())
    sums = pd.DataFrame({"priority": df["priority"], "x": x, "y": y, "z": z})
    sums = sums.groupby("priority").sum()
    clat, clon = from_unit(sums["x"].to_numpy(), sums["y"].to_numpy(), sums["z"].to_numpy())
    rep = np.repeat(np.arange(len(size)), size)
    dist = haversine_m(df["lat"].to_numpy(), df["lon"].to_numpy(), clat[rep], clon[rep])
    return pd.DataFrame(
        {
            "shower_id": [shower_id(int(v)) for v in groups["hit_id"].min()],
            "t_ns": t[start + (size - 1) // 2],
            "t_spread_ns": t[start + size - 1] - t[start],
            "lat": clat,
            "lon": clon,
            "radius_m": np.maximum.reduceat(dist, start),
            "n_devices": groups["device_id"].nunique().to_numpy(np.int64),
            "n_hits": size.astype(np.int64),
            "hit_ids": [sorted(v) for v in groups["hit_id"].agg(list)],
            "device_ids": [sorted(set(v)) for v in groups["device_id"].agg(list)],
        }
    )


def empty_showers() -> pd.DataFrame:
    """No candidates, with the shower contract's columns and types."""
    empty: pd.DataFrame = SHOWER_SCHEMA.empty_table().to_pandas()
    return empty


def with_contract_types(showers: pd.DataFrame) -> pd.DataFrame:
    """The shower contract's columns, in order, nullable ones as float or Int64 (None -> NA)."""
    out = showers.loc[:, list(SHOWER_SCHEMA.names)].copy()
    for name in ("core_lat", "core_lon", "core_err_m", "log10_energy_ev", "log10_energy_err"):
        out[name] = pd.to_numeric(out[name]).astype("float64")
    out["n_silent"] = out["n_silent"].astype("Int64")
    return out
