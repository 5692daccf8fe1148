"""The standard figures, with matplotlib: efficiency, multiplicity, a shower's footprint.

The footprint shows exact phone positions: for researchers only, never public.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.search import Score
from coincidence.geo import haversine_m, tangent_plane
from coincidence.params import Params


def _axes(ax: Any) -> Any:
    return ax if ax is not None else plt.subplots(figsize=(6, 4))[1]


LAND = (
    Path(__file__).resolve().parent.parent
    / "dashboard"
    / "static"
    / "dashboard"
    / "vendor"
    / "world-atlas-2.0.2"
    / "land-110m.json"
)  # the dashboard's own coastline (Natural Earth)


def _rings(topo: dict[str, Any]) -> list[np.ndarray]:
    """The land's outer and inner rings in degrees, from the TopoJSON's delta-coded arcs."""
    scale, shift = np.array(topo["transform"]["scale"]), np.array(topo["transform"]["translate"])
    arcs = [np.cumsum(np.array(a, dtype=np.float64), axis=0) * scale + shift for a in topo["arcs"]]
    polygons = [
        p
        for g in topo["objects"]["land"]["geometries"]
        for p in (g["arcs"] if g["type"] == "MultiPolygon" else [g["arcs"]])
    ]
    # An arc index i < 0 means arc ~i reversed.
    return [
        np.concatenate([arcs[i] if i >= 0 else arcs[~i][::-1] for i in ring])
        for polygon in polygons
        for ring in polygon
    ]


def world_map(ax: Any = None) -> Any:
    """An equirectangular world with the coastlines, to draw places on (lon, lat)."""
    ax = _axes(ax)
    for ring in _rings(json.loads(LAND.read_text())):
        # Break a line where it jumps across the antimeridian instead of crossing the map.
        jumps = np.flatnonzero(np.abs(np.diff(ring[:, 0])) > 180) + 1
        for piece in np.split(ring, jumps):
            ax.plot(piece[:, 0], piece[:, 1], color="grey", linewidth=0.5)
    ax.set(xlim=(-180, 180), ylim=(-90, 90), xlabel="longitude", ylabel="latitude")
    ax.set_aspect("equal")
    return ax


def efficiency_curve(scores: dict[str, Score], bins: Any = None, ax: Any = None) -> Any:
    """Share of showers found at >= 5 sigma against log10 E, one line per labelled score."""
    ax = _axes(ax)
    bins = np.arange(19.0, 21.01, 0.25) if bins is None else bins
    for label, s in scores.items():
        table = s.by("lg_e", bins)
        centres = [b.mid for b in table.index]
        ax.plot(centres, table.efficiency, marker="o", label=label)
    ax.set_xlabel("log10 energy / eV")
    ax.set_ylabel(f"found at ≥ {next(iter(scores.values())).sigma:g}σ")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def multiplicity_spectrum(found: pd.DataFrame, ax: Any = None) -> Any:
    """How many candidates had each number of phones (log scale once counts span decades)."""
    ax = _axes(ax)
    counts = found.n_devices.value_counts().sort_index()
    ax.bar(counts.index, counts.to_numpy(), width=0.8)
    if len(counts) and counts.max() > 20:
        ax.set_yscale("log")
    else:
        ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("phones in the candidate")
    ax.set_ylabel("candidates")
    return ax


def footprint(
    shower: Any,
    hits: pd.DataFrame,
    exposures: pd.DataFrame,
    radius_m: float = Params.radius_m,
    ax: Any = None,
    window_ms: float = Params.window_ms,
) -> Any:
    """A shower's phones in metres east and north of its core: fired, and live but silent.

    shower: one row of the shower contract (its fitted core, else its centroid).
    Live phones: covered by an exposure block at the shower's time, within radius_m.
    Of those, the ones with a hit within window_ms of the shower's time fired
    outside its compact core (drawn apart; the fit counts them as fired), the
    rest are silent.
    """
    ax = _axes(ax)
    lat0 = shower.core_lat if pd.notna(shower.core_lat) else shower.lat
    lon0 = shower.core_lon if pd.notna(shower.core_lon) else shower.lon
    members = hits[hits.hit_id.isin(list(shower.hit_ids))]
    live = exposures[(exposures.start_ns <= shower.t_ns) & (exposures.end_ns > shower.t_ns)]
    live = live[~live.device_id.isin(set(members.device_id))].drop_duplicates("device_id")
    live = live[haversine_m(lat0, lon0, live.lat.to_numpy(), live.lon.to_numpy()) <= radius_m]
    window = round(window_ms * 1e6)
    now = hits[(hits.t_ns - shower.t_ns).abs() <= window]
    outside = live.device_id.isin(set(now.device_id))
    layers = [
        (live[~outside], {"c": "lightgrey", "label": "live, silent"}),
        (members, {"c": "crimson", "label": "fired"}),
        (live[outside], {"c": "orange", "label": "fired, outside the core"}),
    ]
    for frame, style in layers:
        x, y = tangent_plane(frame.lat.to_numpy(), frame.lon.to_numpy(), lat0, lon0)
        ax.scatter(x, y, s=14, **style)
    ax.scatter([0], [0], marker="x", c="black", s=60, label="core")
    ax.set_aspect("equal")
    ax.set_xlabel("east of the core / m")
    ax.set_ylabel("north of the core / m")
    ax.set_title(f"{shower.shower_id}: {shower.n_devices} phones, {shower.significance_sigma:.1f}σ")
    ax.legend(loc="upper right")
    return ax
