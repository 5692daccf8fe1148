"""Live search benchmark: how many hits per minute one live pass keeps up with.

A town of phones at the CRAYFIS density (1,000 phones per km², each taking
data all the time at 0.5 background hits per minute, exposure blocks for the
hour) fills a throwaway SQLite database (the embedded default) with the
trailing hour of hits. The live search is marked caught up; then one
interval's worth of new hits (15 s, with a few showers) arrives and one pass
is timed. The pass keeps up when it takes less than its interval: the ratio
printed is pass seconds / 15 s. Bigger towns mean more hits per minute.

    .venv/bin/python bench/bench_live.py [--phones 1000 4000 16000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DENSITY_PER_KM2 = 1000.0
RATE_PER_MIN = 0.5
INTERVAL_S = 15.0
INTERVAL_NS = int(INTERVAL_S * 10**9)
S = 10**9


Town = tuple[list[uuid.UUID], np.ndarray, np.ndarray]  # device ids, lat, lon


def fill(phones: int, now_ns: int, rng: np.random.Generator) -> Town:
    """Devices spread uniformly over a square at DENSITY_PER_KM2, an hour of blocks and hits."""
    from ingest.models import Device, ExposureBlock, Hit

    side_m = np.sqrt(phones / DENSITY_PER_KM2) * 1000
    north, east = rng.uniform(0, side_m, (2, phones))
    lat = 46.2 + north / 111_195.0
    lon = 6.14 + east / (111_195.0 * np.cos(np.radians(46.2)))
    ids = [uuid.uuid4() for _ in range(phones)]
    Device.objects.bulk_create(
        [Device(id=i, token_hash=i.hex + i.hex) for i in ids], batch_size=2000
    )
    ExposureBlock.objects.bulk_create(
        [
            ExposureBlock(
                block_id=uuid.uuid4(),
                device_id=i,
                start_ns=now_ns - 3600 * S,
                end_ns=now_ns,
                lat=a,
                lon=o,
            )
            for i, a, o in zip(ids, lat, lon, strict=True)
        ],
        batch_size=2000,
    )
    counts = rng.poisson(RATE_PER_MIN * 60, phones)
    dev = np.repeat(np.arange(phones), counts)
    t = now_ns - rng.integers(INTERVAL_NS, 3600 * S, len(dev))
    rows = [
        Hit(device_id=ids[d], seq=k, t_ns=int(ts), lat=float(lat[d]), lon=float(lon[d]))
        for k, (d, ts) in enumerate(zip(dev, t, strict=True))
    ]
    Hit.objects.bulk_create(rows, batch_size=5000)
    return ids, lat, lon


def arrive(town: Town, now_ns: int, rng: np.random.Generator) -> int:
    """One interval of new hits, with 3 showers that each fire the 20 phones nearest one.

    Returns how many hits arrived.
    """
    from ingest.models import Hit

    ids, lat, lon = town
    phones = len(ids)
    n = rng.poisson(RATE_PER_MIN * phones * INTERVAL_S / 60)
    dev = list(rng.integers(0, phones, n))
    t = list(now_ns - rng.integers(0, INTERVAL_NS, n))
    for _ in range(3):
        core = int(rng.integers(0, phones))
        near = np.argsort(np.hypot(lat - lat[core], (lon - lon[core]) * 0.69))[:20]
        at = now_ns - int(rng.integers(0, INTERVAL_NS))
        dev += near.tolist()
        t += [at + int(d) for d in rng.normal(0, 3e6, 20)]
    rows = [
        Hit(device_id=ids[d], seq=10**9 + k, t_ns=int(ts), lat=float(lat[d]), lon=float(lon[d]))
        for k, (d, ts) in enumerate(zip(dev, t, strict=True))
    ]
    Hit.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def one_size(phones: int) -> None:
    from follow.live import LiveSearch
    from follow.tail import Mark, catch_up, horizon, save_mark
    from ingest.models import Device, ExposureBlock, Hit, Shower

    for model in (Shower, Hit, ExposureBlock, Device):
        model.objects.all().delete()
    rng = np.random.default_rng(phones)
    now = time.time_ns()
    started = time.perf_counter()
    town = fill(phones, now, rng)
    filled = time.perf_counter() - started
    live = LiveSearch(interval_s=INTERVAL_S)
    save_mark(live.name, "hits", Mark(horizon("hits")), 0)
    new = arrive(town, now, rng)
    started = time.perf_counter()
    catch_up(live)
    took = time.perf_counter() - started
    per_min = RATE_PER_MIN * phones
    print(
        f"{phones:>7} phones ({phones / DENSITY_PER_KM2:g} km², filled in {filled:.0f} s): "
        f"{per_min:>8,.0f} hits/min, pass over {new} new hits {took:6.2f} s, "
        f"{took / INTERVAL_S:.2f} of its {INTERVAL_S:g} s interval; "
        f"{Shower.objects.filter(provisional=True).count()} showers"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--phones", type=int, nargs="+", default=[1000, 4000, 16000])
    args = p.parse_args()
    data = tempfile.mkdtemp(prefix="crowdray-bench-live-")
    os.environ.update(CROWDRAY_DATA_DIR=data, DJANGO_SETTINGS_MODULE="crowdray.settings")
    os.environ.pop("DATABASE_URL", None)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    print(
        f"live pass on SQLite ({data}); {DENSITY_PER_KM2:g} phones/km², "
        f"{RATE_PER_MIN} hits/phone/min, rate window 1 h"
    )
    for phones in args.phones:
        one_size(phones)


if __name__ == "__main__":
    main()
