"""The single-process NumPy implementation of the search: the oracle for the Spark job.

Same definition (coincidence/__init__.py), simplest algorithm: one global sort by
time, one sweep, connected components with scipy (the seed groups: only their hits
can hold a core), device neighbourhoods from one grid (coincidence.density), and
the cores (coincidence.cores) of all seed groups at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from coincidence.candidates import empty_showers, with_contract_types
from coincidence.cores import core_input, find_cores, hood_columns, lam_columns
from coincidence.density import device_sums
from coincidence.floods import first_per_minute
from coincidence.geo import from_unit, haversine_m, to_unit
from coincidence.params import Params
from coincidence.reconstruct import (
    FIT_INPUT,
    NO_EXPOSURES,
    fit_radius_m,
    fit_rows,
    fit_window_s,
    hit_reach_m,
)
from coincidence.sweep import linked_pairs, local_components
from vocab.contracts import HIT_COLUMNS, RECONSTRUCTION
from vocab.units import NS_PER_S

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]


def select_span(hits: pd.DataFrame, params: Params) -> pd.DataFrame:
    """The hits the search reads: in [since, until), floods cut (coincidence.floods)."""
    df = hits[list(HIT_COLUMNS)]
    if params.since_ns is not None:
        df = df[df["t_ns"] >= params.since_ns]
    if params.until_ns is not None:
        df = df[df["t_ns"] < params.until_ns]
    return first_per_minute(df, params.max_hits_per_min)


def span_seconds(t_min: int, t_max: int, params: Params) -> float:
    """The analysed span: [since, until) when given, else first to last hit (>= one window)."""
    lo = params.since_ns if params.since_ns is not None else t_min
    hi = params.until_ns if params.until_ns is not None else t_max
    return max(hi - lo, params.window_ns) / NS_PER_S


def device_table(df: pd.DataFrame, span_s: float, live_s: pd.Series | None = None) -> pd.DataFrame:
    """Per device: hits, mean position (unit vectors) and live time in seconds."""
    x, y, z = to_unit(df["lat"].to_numpy(), df["lon"].to_numpy())
    g = pd.DataFrame({"device_id": df["device_id"], "x": x, "y": y, "z": z}).groupby("device_id")
    return rate_table(g.sum().assign(n=g.size()), span_s, live_s)


def rate_table(sums: pd.DataFrame, span_s: float, live_s: pd.Series | None = None) -> pd.DataFrame:
    """The device table (n, lat, lon, live_s) from per-device sums of hits' unit vectors.

    sums: n (hits) and x, y, z (sums of unit vectors), indexed by device_id. Devices
    without exposure blocks (live_s) are taken to be live for the whole span_s seconds.
    """
    lat, lon = from_unit(sums["x"].to_numpy(), sums["y"].to_numpy(), sums["z"].to_numpy())
    out = pd.DataFrame(
        {"n": sums["n"].to_numpy(np.int64), "lat": lat, "lon": lon}, index=sums.index
    )
    out["live_s"] = span_s if live_s is None else live_s.reindex(out.index).fillna(span_s)
    return out


def device_neighbourhoods(
    devices: pd.DataFrame, params: Params, of: pd.Index | None = None
) -> pd.DataFrame:
    """Add each device's Lambda_d(r) and H_d(r) per scanned radius (coincidence.background).

    devices: n (hits in the span), live_s, lat, lon (mean position), indexed by device_id.
    of: the devices whose neighbourhoods are wanted (the others' are NaN); default all.
    The sums come from coincidence.density's grid, like the Spark job's.
    """
    rows = np.arange(len(devices)) if of is None else devices.index.get_indexer(of)
    sums = device_sums(devices, rows.astype(np.int64), params)
    out = devices.copy()
    for name in sums.columns:
        column = np.full(len(devices), np.nan)
        column[rows] = sums[name].to_numpy()
        out[name] = column
    return out


def find_showers(
    hits: pd.DataFrame | pa.Table,
    params: Params,
    exposures: pd.DataFrame | None = None,
    rates: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Shower candidates (the shower contract) of hits (the hit contract).

    exposures: optional exposure blocks (device_id, start_ns, end_ns, lat, lon): the
    devices' live time, and the silent phones of the core and energy fit. Without
    them the fit is not made. rates: optional device table (rate_table) measured over
    another period, for the background; by default it is measured over the span.
    showers.attrs["fit_status"] counts the fits' outcomes and showers.attrs["timings_s"]
    holds the seconds spent on the scan and on the fit.
    """
    return search(hits, params, exposures, rates)[0]


def search(
    hits: pd.DataFrame | pa.Table,
    params: Params,
    exposures: pd.DataFrame | None = None,
    rates: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """find_showers' candidates, and every linked hit with its seed group (label, hit_id, lat, lon).

    The groups are those of any size (follow.regions).
    """
    started = time.perf_counter()
    prep = prepare(hits, params, exposures, rates, all_devices=False)
    members = prep.members
    showers = (
        find_cores(members[core_input(params)], params, prep.hits)
        if len(members)
        else empty_showers()
    )
    scanned = time.perf_counter()
    status: dict[str, int] = {NO_EXPOSURES: len(showers)} if len(showers) else {}
    if exposures is not None and len(showers):
        rate = prep.devices["n"] / prep.devices["live_s"]
        fits = fit_rows(fit_input(showers, prep.hits, exposures, rate, params), params)
        showers = with_contract_types(
            showers.drop(columns=list(RECONSTRUCTION)).merge(fits, on="shower_id", how="left")
        )
        status = {str(k): int(v) for k, v in fits["fit_status"].value_counts().items()}
    showers.attrs["fit_status"] = status
    showers.attrs["timings_s"] = {
        "scan": round(scanned - started, 3),
        "fit": round(time.perf_counter() - scanned, 3),
    }
    return showers, prep.linked[["label", "hit_id", "lat", "lon"]]


@dataclass(frozen=True)
class Prepared:
    """The hits in the span, their devices' neighbourhoods, and the seed groups' hits.

    linked: every linked hit, labelled by its group; members: those of the groups
    with at least min_devices devices, with their devices' neighbourhoods.
    """

    hits: pd.DataFrame
    devices: pd.DataFrame
    members: pd.DataFrame
    span_ns: tuple[int, int]
    linked: pd.DataFrame


def prepare(
    hits: pd.DataFrame | pa.Table,
    params: Params,
    exposures: pd.DataFrame | None = None,
    rates: pd.DataFrame | None = None,
    all_devices: bool = True,
) -> Prepared:
    """Everything the cores are found from (see find_showers).

    all_devices: the neighbourhoods of every device (the chance report models them
    all), else only of the devices in seed groups (all the cores need).
    """
    if isinstance(hits, pa.Table):
        hits = hits.select(list(HIT_COLUMNS)).to_pandas()
    df = select_span(hits, params)
    linked = linked_groups(df.sort_values(["t_ns", "hit_id"], kind="stable"), params)
    devices_per_group = linked.groupby("label")["device_id"].nunique()
    members = linked[
        linked["label"].isin(devices_per_group.index[devices_per_group >= params.min_devices])
    ]
    t_min, t_max = (int(df["t_ns"].min()), int(df["t_ns"].max())) if len(df) else (0, 0)
    span_ns = (
        params.since_ns if params.since_ns is not None else t_min,
        params.until_ns if params.until_ns is not None else t_max + 1,
    )
    if rates is None:
        live = None if exposures is None else live_seconds(exposures, params)
        devices = device_table(df, span_seconds(t_min, t_max, params), live)
    else:
        devices = rates
    if len(devices):
        of = None if all_devices else pd.Index(members["device_id"].unique())
        devices = device_neighbourhoods(devices, params, of)
        extra = [*lam_columns(params), *hood_columns(params)]
        members = members.join(devices[extra], on="device_id")
    return Prepared(df, devices, members, span_ns, linked)


def live_seconds(exposures: pd.DataFrame, params: Params) -> pd.Series:
    """Each device's exposure inside the span, in seconds, from its blocks."""
    start = exposures["start_ns"].to_numpy(np.int64)
    end = exposures["end_ns"].to_numpy(np.int64)
    if params.since_ns is not None:
        start = np.maximum(start, params.since_ns)
    if params.until_ns is not None:
        end = np.minimum(end, params.until_ns)
    seconds = pd.Series(np.maximum(end - start, 0) / NS_PER_S, index=exposures["device_id"])
    live = seconds.groupby(level=0).sum()
    return live[live > 0]


def fit_input(
    showers: pd.DataFrame,
    df: pd.DataFrame,
    exposures: pd.DataFrame,
    rate: pd.Series,
    params: Params,
) -> pd.DataFrame:
    """FIT_INPUT rows: each candidate's member hits, and the devices live at its time nearby.

    A live device with a hit within one window of the candidate's time and
    hit_reach_m of its centroid fired, member or not (reconstruct's module docstring).
    """
    members = showers[["shower_id", "hit_ids"]].explode("hit_ids")
    members = members.astype({"hit_ids": np.int64}).merge(df, left_on="hit_ids", right_on="hit_id")
    centre = showers.set_index("shower_id").loc[members["shower_id"]]
    reach = haversine_m(
        members["lat"].to_numpy(),
        members["lon"].to_numpy(),
        centre["lat"].to_numpy(np.float64),
        centre["lon"].to_numpy(np.float64),
    )
    members = members[reach <= fit_radius_m(params)]  # where silent phones count too
    fired = members[["shower_id", "device_id", "lat", "lon"]].assign(fired=True)
    start = exposures["start_ns"].to_numpy(np.int64)
    end = exposures["end_ns"].to_numpy(np.int64)
    by_time = df.sort_values("t_ns", kind="stable")
    times = by_time["t_ns"].to_numpy(np.int64)
    parts = [fired]
    for shower_id, t, lat, lon in showers[["shower_id", "t_ns", "lat", "lon"]].to_numpy():
        on = exposures[(start <= t) & (t < end)]
        near = haversine_m(float(lat), float(lon), on["lat"].to_numpy(), on["lon"].to_numpy())
        on = on[near <= fit_radius_m(params)]
        lo, hi = np.searchsorted(times, [t - params.window_ns, t + params.window_ns + 1])
        now = by_time.iloc[lo:hi]
        close = haversine_m(float(lat), float(lon), now["lat"].to_numpy(), now["lon"].to_numpy())
        hit = on["device_id"].isin(
            now["device_id"][close <= hit_reach_m(fit_radius_m(params), params.radius_m)]
        )
        parts.append(on[["device_id", "lat", "lon"]].assign(shower_id=shower_id, fired=hit))
    rows = pd.concat(parts, ignore_index=True)
    rows["chance"] = rows["device_id"].map(rate).fillna(0.0).to_numpy() * fit_window_s(params)
    return rows[FIT_INPUT]


def linked_groups(df: pd.DataFrame, params: Params) -> pd.DataFrame:
    """Every linked hit, labelled by its connected group (its seed group, of any size).

    df is sorted by (t_ns, hit_id); a label is its group's smallest hit_id.
    """
    i, j, _ = linked_pairs(
        np.zeros(len(df), dtype=np.int64),
        df["t_ns"].to_numpy(np.int64),
        df["lat"].to_numpy(),
        df["lon"].to_numpy(),
        params.window_ns,
        params.radius_m,
    )
    if len(i) == 0:
        return df.iloc[:0].assign(label=np.empty(0, np.int64))
    ids, label = local_components(df["hit_id"].to_numpy(np.int64), i, j)
    return df.set_index("hit_id").loc[ids].reset_index().assign(label=label)
