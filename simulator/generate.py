"""Streaming generation of hits, showers and exposures, chunk by chunk in time.

Every random number comes from numpy.random.default_rng(seed) and its spawned
children, one per chunk, so the same configuration gives the same output.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from coincidence.geo import EARTH_RADIUS_M, to_unit, wrap_lon
from simulator import physics
from simulator.network import (
    BLOCK_S,
    DEFAULT_PLACES,
    FPS,
    MEAN_RATE_HZ,
    Devices,
    Place,
    exposure_blocks,
    make_devices,
    schedule,
)
from vocab import shower as shower_physics
from vocab.units import NS_PER_S

DEFAULT_START_NS = 1_790_000_000 * NS_PER_S  # 2026-09-21T14:13:20Z: fixed, so runs repeat
SHOWER_REACH_M = 3000.0  # phones further from the core than this are not considered


@dataclass(frozen=True)
class SimConfig:
    """What to simulate. Defaults finish in seconds."""

    seed: int = 1
    devices: int = 500
    hours: float = 2.0
    start_ns: int = DEFAULT_START_NS
    places: tuple[Place, ...] = DEFAULT_PLACES
    box: tuple[float, float, float, float] | None = None
    mean_rate_hz: float = MEAN_RATE_HZ
    always_on: bool = False
    inject_per_hour: float | None = None  # None: the physical UHECR flux
    energy_min_ev: float = 1e16  # below this a phone at the core fires with p < 1e-3
    energy_max_ev: float = 1e21
    max_zenith_deg: float = 60.0
    sensor_area_m2: float = shower_physics.SENSOR_AREA_M2
    efficiency: float = shower_physics.SENSOR_EFFICIENCY
    chunk_hits: int = 1_000_000

    @property
    def end_ns(self) -> int:
        return self.start_ns + int(self.hours * 3600 * NS_PER_S)


@dataclass
class Network:
    """The devices, their active stretches and exposure blocks, and the showers to come."""

    devices: Devices
    stretch_dev: np.ndarray
    stretch_lo: np.ndarray
    stretch_hi: np.ndarray
    blocks: pd.DataFrame
    block_first: np.ndarray  # index of each stretch's first block
    showers: pd.DataFrame
    tree: cKDTree = field(repr=False)


@dataclass
class Chunk:
    hits: pd.DataFrame  # contract columns + x, y, value, n_pixels, device, shower
    block_index: np.ndarray


def populated_area_km2(config: SimConfig) -> float:
    if config.box:
        min_lon, min_lat, max_lon, max_lat = config.box
        width = math.radians((max_lon - min_lon) % 360 or 360)
        band = math.sin(math.radians(max_lat)) - math.sin(math.radians(min_lat))
        return (EARTH_RADIUS_M / 1000) ** 2 * width * band
    return sum(math.pi * (2 * p.spread_m / 1000) ** 2 for p in config.places)


def _cores(rng: np.random.Generator, config: SimConfig, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Shower cores uniform over the populated area: a place by area, then a uniform disk."""
    from simulator.network import box_devices

    if config.box:
        lat, lon, _ = box_devices(rng, config.box, n)
        return lat, lon
    areas = np.array([p.spread_m**2 for p in config.places])
    which = rng.choice(len(config.places), size=n, p=areas / areas.sum())
    r = 2 * np.array([config.places[w].spread_m for w in which]) * np.sqrt(rng.random(n))
    bearing = rng.uniform(0, 2 * np.pi, n)
    lat0 = np.array([config.places[w].lat for w in which])
    lon0 = np.array([config.places[w].lon for w in which])
    lat = np.clip(lat0 + np.degrees(r * np.cos(bearing) / EARTH_RADIUS_M), -90, 90)
    lon = lon0 + np.degrees(r * np.sin(bearing) / (EARTH_RADIUS_M * np.cos(np.radians(lat0))))
    return lat, np.asarray(wrap_lon(lon))


def make_showers(rng: np.random.Generator, config: SimConfig) -> pd.DataFrame:
    """The showers of the run: injected at a set rate, or at the physical flux."""
    if config.inject_per_hour is not None:
        expected = config.inject_per_hour * config.hours
    else:
        rate = physics.physical_rate_hz(populated_area_km2(config), config.energy_min_ev)
        expected = rate * config.hours * 3600
    n = int(rng.poisson(expected))
    lat, lon = _cores(rng, config, n)
    return pd.DataFrame(
        {
            "shower_id": np.arange(n, dtype=np.int64),
            "t_ns": np.sort(rng.integers(config.start_ns, config.end_ns, n)),
            "core_lat": lat,
            "core_lon": lon,
            "energy_ev": physics.sample_energy(rng, n, config.energy_min_ev, config.energy_max_ev),
            "zenith_deg": np.degrees(
                physics.sample_zenith(rng, n, math.radians(config.max_zenith_deg))
            ),
            "azimuth_deg": rng.uniform(0, 360, n),
        }
    )


def build_network(config: SimConfig) -> tuple[Network, np.random.Generator]:
    rng = np.random.default_rng(config.seed)
    devices = make_devices(rng, config.devices, config.places, config.box, config.mean_rate_hz)
    dev, lo, hi = schedule(rng, devices, config.start_ns, config.end_ns, config.always_on)
    blocks = exposure_blocks(rng, devices, dev, lo, hi)
    pieces = np.maximum(np.ceil((hi - lo) / (BLOCK_S * NS_PER_S)).astype(np.int64), 1)
    showers = make_showers(rng, config)
    tree = cKDTree(np.column_stack(to_unit(devices.lat, devices.lon)))
    first = np.cumsum(pieces) - pieces
    return Network(devices, dev, lo, hi, blocks, first, showers, tree), rng


Ints = npt.NDArray[np.int64]


def _background(rng: np.random.Generator, net: Network, c0: int, c1: int) -> tuple[Ints, Ints]:
    """(stretch index, true time) of background hits in [c0, c1)."""
    lo = np.maximum(net.stretch_lo, c0)
    hi = np.minimum(net.stretch_hi, c1)
    length = np.maximum(hi - lo, 0)
    counts = rng.poisson(net.devices.rate_hz[net.stretch_dev] * length / NS_PER_S)
    s = np.repeat(np.arange(len(lo)), counts)
    return s, lo[s] + (rng.random(len(s)) * length[s]).astype(np.int64)


def _shower_hits(
    rng: np.random.Generator, net: Network, shower: Any, config: SimConfig
) -> tuple[Ints, Ints]:
    """(stretch index, true time) of the hits one shower makes on active phones."""
    t, lat0, lon0 = int(shower.t_ns), shower.core_lat, shower.core_lon
    centre = np.array(to_unit(np.array([lat0]), np.array([lon0]))).ravel()
    near = np.array(net.tree.query_ball_point(centre, SHOWER_REACH_M / EARTH_RADIUS_M), dtype=int)
    # Which of them run at time t: their stretch covering t, if any.
    first = np.searchsorted(net.stretch_dev, near, "left")
    last = np.searchsorted(net.stretch_dev, near, "right")
    stretch = np.full(len(near), -1)
    for k in range(len(near)):  # stretches are sorted by device, then start
        own = np.arange(first[k], last[k])
        covering = own[(net.stretch_lo[own] <= t) & (net.stretch_hi[own] > t)]
        if len(covering):
            stretch[k] = covering[0]
    live = stretch >= 0
    d, stretch = near[live], stretch[live]
    if len(d) == 0:
        return np.empty(0, int), np.empty(0, np.int64)
    dev = net.devices
    north = np.radians(dev.lat[d] - lat0) * EARTH_RADIUS_M
    east = np.radians(wrap_lon(dev.lon[d] - lon0)) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
    enu = np.column_stack([east, north, np.zeros(len(d))])
    zen, az = math.radians(shower.zenith_deg), math.radians(shower.azimuth_deg)
    rho = shower_physics.nkg_density(
        physics.axis_distance_m(enu, zen, az), shower_physics.electron_number(shower.energy_ev)
    )
    p = physics.fire_probability(rho, zen, config.sensor_area_m2, config.efficiency)
    fired = rng.random(len(d)) < p
    delay = physics.front_delay_ns(enu[fired], zen, az).astype(np.int64)
    return stretch[fired], t + delay


def _chunk_bounds(net: Network, config: SimConfig) -> list[tuple[int, int]]:
    """Time chunks holding about config.chunk_hits hits each (at least a minute long)."""
    live_ns = (net.stretch_hi - net.stretch_lo).astype(np.float64)
    expected = float((net.devices.rate_hz[net.stretch_dev] * live_ns / NS_PER_S).sum())
    span = config.end_ns - config.start_ns
    n = max(1, math.ceil(expected / config.chunk_hits))
    step = max(span // n, 60 * NS_PER_S)
    edges = [*list(range(config.start_ns, config.end_ns, step)), config.end_ns]
    return list(itertools.pairwise(edges))


def _finish(
    rng: np.random.Generator,
    net: Network,
    s: np.ndarray,
    t_true: np.ndarray,
    shower: np.ndarray,
    first_id: int,
    config: SimConfig,
) -> Chunk:
    """Turn (stretch, true time) into reported hits: clocks, GPS error, pixels, ids."""
    dev = net.devices
    d = net.stretch_dev[s]
    n = len(s)
    drift = dev.drift_ppm[d] * 1e-6 * (t_true - config.start_ns)
    frame = (rng.random(n) * NS_PER_S / FPS).astype(np.int64)  # the frame opened before the hit
    t_ns = t_true + dev.clock_offset_ns[d] + drift.astype(np.int64) - frame
    err = dev.loc_err_m[d]
    north, east = rng.normal(0, 1, (2, n)) * err
    lat = np.clip(dev.lat[d] + np.degrees(north / EARTH_RADIUS_M), -90, 90)
    coslat = np.maximum(np.cos(np.radians(dev.lat[d])), 1e-6)
    lon = wrap_lon(dev.lon[d] + np.degrees(east / (EARTH_RADIUS_M * coslat)))
    hot = dev.hot[d] & (shower < 0)
    hits = pd.DataFrame(
        {
            # Sparse ids: one of three slots per hit, so ids are unique but not dense.
            "hit_id": (first_id + np.arange(n)) * 3 + rng.integers(0, 3, n),
            "device_id": dev.device_id[d],
            "t_ns": t_ns,
            "t_err_ns": np.full(n, 5_000_000, dtype=np.int64),
            "lat": lat,
            "lon": lon,
            "alt_m": dev.alt_m[d],
            "loc_err_m": err,
            "x": np.where(hot, dev.hot_x[d], rng.integers(0, 4000, n)),
            "y": np.where(hot, dev.hot_y[d], rng.integers(0, 3000, n)),
            "value": rng.integers(30, 256, n),
            "n_pixels": rng.integers(1, 20, n),
            "device": d,
            "shower": shower,
        }
    )
    offset = ((t_true - net.stretch_lo[s]) // int(BLOCK_S * NS_PER_S)).astype(np.int64)
    block = net.block_first[s] + offset
    order = rng.permutation(n)  # hits come out in no particular order
    return Chunk(hits.iloc[order].reset_index(drop=True), block[order])


def iter_chunks(config: SimConfig) -> tuple[Network, list[tuple[int, int]], Iterator[Chunk]]:
    """The network, the chunk bounds, and a generator of the chunks' hits in time order."""
    net, rng = build_network(config)
    bounds = _chunk_bounds(net, config)
    children = rng.spawn(len(bounds))

    def chunks() -> Iterator[Chunk]:
        first_id = 0
        for (c0, c1), crng in zip(bounds, children, strict=True):
            s, t = _background(crng, net, c0, c1)
            parts_s, parts_t, parts_sh = [s], [t], [np.full(len(s), -1)]
            in_chunk = net.showers[(net.showers.t_ns >= c0) & (net.showers.t_ns < c1)]
            for shower in in_chunk.itertuples(index=False):
                ss, tt = _shower_hits(crng, net, shower, config)
                parts_s.append(ss)
                parts_t.append(tt)
                parts_sh.append(np.full(len(ss), shower.shower_id))
            chunk = _finish(
                crng,
                net,
                np.concatenate(parts_s),
                np.concatenate(parts_t),
                np.concatenate(parts_sh),
                first_id,
                config,
            )
            first_id += len(chunk.hits)
            yield chunk

    return net, bounds, chunks()
