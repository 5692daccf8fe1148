"""The phone network: where phones are, how their clocks and sensors behave, when they run.

Sources: CRAYFIS targets ~20 first-level (L1) triggers per minute per phone and
recalibrates its threshold to hold that (crayfis-android CFConfig.java); phone
clocks are NTP-synced, milliseconds at best (CREDO syncs every 15 s). Both from
docs/physics.md. Values marked "assumed" are this simulator's choices.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from geopy.distance import geodesic

from vocab.units import NS_PER_S

L1_PER_MIN = 20.0  # CRAYFIS trigger target (CFConfig.java)
L2_PASS = 0.025  # assumed: a second-level cut keeps ~1 in 40 L1 triggers
MEAN_RATE_HZ = L1_PER_MIN * L2_PASS / 60.0  # ~0.5 hits/min after L2
CLOCK_SIGMA_NS = 5_000_000  # NTP: a few ms (docs/physics.md)
DRIFT_SIGMA_PPM = 0.1  # assumed: residual drift between 15 s NTP syncs
HOT_FRACTION = 0.02  # assumed: phones with a hot pixel ...
HOT_RATE_FACTOR = 10.0  # ... fire ten times as often, always at one (x, y)
FPS = 30.0  # assumed camera frame rate
BLOCK_S = 900.0  # exposure blocks are cut at most 15 min long


@dataclass(frozen=True)
class Place:
    """A population centre: phones spread around (lat, lon) degrees with a 1-sigma spread_m."""

    name: str
    lat: float
    lon: float
    weight: float
    spread_m: float
    alt_m: float = 0.0


# Real cities, including two near the antimeridian and one at 78° N.
DEFAULT_PLACES = (
    Place("Geneva", 46.2044, 6.1432, 3, 3000, 375),
    Place("Krakow", 50.0647, 19.9450, 3, 3000, 219),
    Place("Irvine", 33.6846, -117.8265, 2, 4000, 17),
    Place("Tokyo", 35.6762, 139.6503, 3, 5000, 40),
    Place("Nairobi", -1.2921, 36.8219, 1, 3000, 1795),
    Place("Suva", -18.1248, 178.4501, 1, 2000, 10),
    Place("Taveuni", -16.8, -179.97, 1, 1500, 20),
    Place("Longyearbyen", 78.2232, 15.6267, 1, 1000, 10),
)


@dataclass
class Devices:
    """Per-device columns (numpy arrays of equal length)."""

    device_id: np.ndarray
    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    alt_m: npt.NDArray[np.float64]
    loc_err_m: npt.NDArray[np.float64]
    clock_offset_ns: npt.NDArray[np.int64]
    drift_ppm: npt.NDArray[np.float64]
    rate_hz: npt.NDArray[np.float64]
    hot: npt.NDArray[np.bool_]
    hot_x: npt.NDArray[np.int64]
    hot_y: npt.NDArray[np.int64]
    l1_threshold: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.device_id)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(dict(self.__dict__.items()))


Positions = tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]


def place_devices(rng: np.random.Generator, places: tuple[Place, ...], n: int) -> Positions:
    """Positions of n phones around the places (geodesic offsets: right at any latitude)."""
    weights = np.array([p.weight for p in places], dtype=np.float64)
    which = rng.choice(len(places), size=n, p=weights / weights.sum())
    dist = rng.rayleigh(1.0, n)
    bearing = rng.uniform(0, 360, n)
    lat, lon, alt = np.empty(n), np.empty(n), np.empty(n)
    for k in range(n):
        place = places[which[k]]
        end = geodesic(meters=dist[k] * place.spread_m).destination(
            (place.lat, place.lon), bearing[k]
        )
        lat[k], lon[k], alt[k] = end.latitude, end.longitude, place.alt_m
    return lat, lon, alt + rng.normal(0, 10, n)


def box_devices(
    rng: np.random.Generator, box: tuple[float, float, float, float], n: int
) -> Positions:
    """Uniform over the area of (min_lon, min_lat, max_lon, max_lat); min_lon > max_lon wraps."""
    min_lon, min_lat, max_lon, max_lat = box
    s0, s1 = math.sin(math.radians(min_lat)), math.sin(math.radians(max_lat))
    lat = np.degrees(np.arcsin(rng.uniform(s0, s1, n)))
    width = (max_lon - min_lon) % 360 or 360.0
    lon = (min_lon + rng.uniform(0, width, n) + 180) % 360 - 180
    return lat, lon, rng.normal(100, 50, n)


def make_devices(
    rng: np.random.Generator,
    n: int,
    places: tuple[Place, ...] = DEFAULT_PLACES,
    box: tuple[float, float, float, float] | None = None,
    mean_rate_hz: float = MEAN_RATE_HZ,
    clock_sigma_ns: float = CLOCK_SIGMA_NS,
) -> Devices:
    """N phones with their positions, clocks, background rates and hot pixels."""
    lat, lon, alt = box_devices(rng, box, n) if box else place_devices(rng, places, n)
    hot = rng.random(n) < HOT_FRACTION
    # Rates scatter around the mean (gamma, shape 4: +-50%) as thresholds self-calibrate.
    rate = rng.gamma(4.0, mean_rate_hz / 4.0, n) * np.where(hot, HOT_RATE_FACTOR, 1.0)
    ids = [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)]
    return Devices(
        device_id=np.array(ids),
        lat=lat,
        lon=lon,
        alt_m=alt,
        loc_err_m=rng.uniform(5, 30, n),
        clock_offset_ns=rng.normal(0, clock_sigma_ns, n).astype(np.int64),
        drift_ppm=rng.normal(0, DRIFT_SIGMA_PPM, n),
        rate_hz=rate,
        hot=hot,
        hot_x=rng.integers(0, 4000, n),
        hot_y=rng.integers(0, 3000, n),
        l1_threshold=rng.integers(10, 40, n),
    )


def schedule(
    rng: np.random.Generator, devices: Devices, start_ns: int, end_ns: int, always_on: bool
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Active stretches (device index, start_ns, end_ns), sorted by device then start.

    Phones run while charging, mostly at night: each local night (local time from
    longitude) a phone runs with probability 0.7 from about 22:00 to 07:00.
    """
    n = len(devices)
    if always_on:
        return np.arange(n), np.full(n, start_ns), np.full(n, end_ns)
    offset_ns = (devices.lon / 15.0 * 3600 * NS_PER_S).astype(np.int64)  # local = UTC + offset
    day_ns = 86400 * NS_PER_S
    first_day = (start_ns + offset_ns.min()) // day_ns - 1
    last_day = (end_ns + offset_ns.max()) // day_ns + 1
    devs, starts, ends = [], [], []
    for day in range(int(first_day), int(last_day) + 1):
        on = rng.random(n) < 0.7
        begin = (
            day * day_ns + int(22 * 3600 * NS_PER_S) + rng.normal(0, 3600 * NS_PER_S, n) - offset_ns
        )
        stop = begin + rng.normal(9 * 3600 * NS_PER_S, 1800 * NS_PER_S, n)
        keep = on & (stop > start_ns) & (begin < end_ns)
        devs.append(np.nonzero(keep)[0])
        starts.append(np.maximum(begin[keep], start_ns).astype(np.int64))
        ends.append(np.minimum(stop[keep], end_ns).astype(np.int64))
    dev, lo, hi = np.concatenate(devs), np.concatenate(starts), np.concatenate(ends)
    order = np.lexsort((lo, dev))
    return dev[order], lo[order], hi[order]


def exposure_blocks(
    rng: np.random.Generator, devices: Devices, dev: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> pd.DataFrame:
    """Cut the active stretches into blocks of at most BLOCK_S (n_hits filled in later)."""
    pieces = np.maximum(np.ceil((hi - lo) / (BLOCK_S * NS_PER_S)).astype(np.int64), 1)
    d = np.repeat(dev, pieces)
    k = np.arange(pieces.sum()) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    start = np.repeat(lo, pieces) + k * int(BLOCK_S * NS_PER_S)
    end = np.minimum(start + int(BLOCK_S * NS_PER_S), np.repeat(hi, pieces))
    ids = [str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(len(d))]
    return pd.DataFrame(
        {
            "block_id": ids,
            "device_id": devices.device_id[d],
            "device": d,
            "start_ns": start,
            "end_ns": end,
            "lat": devices.lat[d],
            "lon": devices.lon[d],
            "loc_err_m": devices.loc_err_m[d],
            "frames": ((end - start) / NS_PER_S * FPS).astype(np.int64),
            "l1_threshold": devices.l1_threshold[d],
            "l2_threshold": devices.l1_threshold[d] * 2,
            "n_hits": np.zeros(len(d), dtype=np.int64),
        }
    )
