"""Small generators of hit tables for the coincidence tests (until the simulator lands)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from coincidence.geo import EARTH_RADIUS_M, wrap_lon

T0 = 1_790_000_000_000_000_000
S = 1_000_000_000
MS = 1_000_000


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """A point north_m / east_m from (lat, lon), small-distance approximation on the sphere."""
    dlat = np.degrees(north_m / EARTH_RADIUS_M)
    dlon = np.degrees(east_m / (EARTH_RADIUS_M * np.cos(np.radians(lat))))
    return lat + dlat, float(wrap_lon(lon + dlon))


def hits(rows: list[tuple[str, int, float, float]], first_id: int = 1) -> pd.DataFrame:
    """A hit table from (device_id, t_ns, lat, lon) rows, ids counted from first_id."""
    return pd.DataFrame(
        {
            "hit_id": np.arange(first_id, first_id + len(rows), dtype=np.int64),
            "device_id": [r[0] for r in rows],
            "t_ns": np.array([r[1] for r in rows], dtype=np.int64),
            "lat": [float(r[2]) for r in rows],
            "lon": [float(r[3]) for r in rows],
        }
    )


@dataclass
class Network:
    """Devices at fixed places: groups of `per_group` phones spread around centres."""

    device_id: np.ndarray
    lat: np.ndarray
    lon: np.ndarray


def network(
    rng: np.random.Generator,
    centres: list[tuple[float, float]],
    per_group: int,
    spread_m: float,
) -> Network:
    ids, lats, lons = [], [], []
    for g, (clat, clon) in enumerate(centres):
        for d in range(per_group):
            north, east = rng.normal(0, spread_m, 2)
            lat, lon = offset(clat, clon, north, east)
            ids.append(f"g{g}-d{d}")
            lats.append(lat)
            lons.append(lon)
    return Network(np.array(ids), np.array(lats), np.array(lons))


def background(
    rng: np.random.Generator, net: Network, rate_hz: float, span_s: float
) -> pd.DataFrame:
    """Poisson hits from every device at rate_hz over [T0, T0 + span_s)."""
    counts = rng.poisson(rate_hz * span_s, len(net.device_id))
    dev = np.repeat(np.arange(len(net.device_id)), counts)
    return pd.DataFrame(
        {
            "device_id": net.device_id[dev],
            "t_ns": T0 + rng.integers(0, int(span_s * S), len(dev)),
            "lat": net.lat[dev],
            "lon": net.lon[dev],
        }
    )


def showers(
    rng: np.random.Generator,
    net: Network,
    n: int,
    span_s: float,
    footprint_m: float = 400.0,
    jitter_ms: float = 3.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """N showers at random devices' places; every device within footprint_m fires once.

    Returns (hits with a 'shower' column, truth with one row per shower).
    """
    from coincidence.geo import haversine_m

    rows, truth = [], []
    for k in range(n):
        core = rng.integers(len(net.device_id))
        t = T0 + int(rng.uniform(1, span_s - 1) * S)
        near = haversine_m(net.lat[core], net.lon[core], net.lat, net.lon) <= footprint_m
        for d in np.nonzero(near)[0]:
            dt = int(rng.normal(0, jitter_ms) * MS)
            rows.append((net.device_id[d], t + dt, net.lat[d], net.lon[d], k))
        truth.append((k, t, int(near.sum())))
    df = pd.DataFrame(rows, columns=["device_id", "t_ns", "lat", "lon", "shower"])
    return df, pd.DataFrame(truth, columns=["shower", "t_ns", "n_devices"])


def with_ids(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Sparse, shuffled hit ids and rows in no particular order."""
    ids = rng.choice(10 * len(df) + 10, size=len(df), replace=False).astype(np.int64) + 1
    out = df.assign(hit_id=ids)
    return out.sample(frac=1.0, random_state=int(rng.integers(2**31))).reset_index(drop=True)
