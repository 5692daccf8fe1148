"""Live search benchmark: how many hits per minute one live pass keeps up with.

A town of phones at the CRAYFIS density (1,000 phones per km², each taking
data all the time at 0.5 background hits per minute, an exposure block every
--block-s seconds) fills a throwaway SQLite database (the embedded default)
with the trailing hour of hits and blocks. The live search starts, marked
caught up: it loads its rates from that hour once (follow.rates). Then, --passes
times, one interval's worth of new hits (15 s, with 3 showers) and blocks
arrives and one pass is timed. A pass keeps up when it takes less than its
interval: the ratio printed is pass seconds / 15 s. Bigger towns mean more hits
per minute; 10^6 phones send 500,000 a minute.

    .venv/bin/python bench/bench_live.py [--phones 16000 64000 250000] [--block-s 180]
        [--towns 2 --parts 2]

With --parts n the same passes are also run by n live searches split by region
(follow.regions), one after the other in this process, each timed; on n
processes or machines they would run side by side. The bench checks that they
leave the same showers as the whole search.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DENSITY_PER_KM2 = 1000.0
RATE_PER_MIN = 0.5
INTERVAL_S = 15.0
INTERVAL_NS = int(INTERVAL_S * 10**9)
S = 10**9
ROWS = 200_000  # rows per executemany


Town = tuple[list[str], np.ndarray, np.ndarray]  # device ids (as the column holds them), lat, lon


def _insert(table: str, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> None:
    """Insert rows in executemany pieces (bulk_create's model object per row is 10x slower)."""
    from django.db import connection, transaction

    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    piece: list[tuple[Any, ...]] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for row in rows:
            piece.append(row)
            if len(piece) == ROWS:
                cursor.executemany(sql, piece)
                piece = []
        if piece:
            cursor.executemany(sql, piece)


def add_hits(town: Town, dev: np.ndarray, t: np.ndarray, seq0: int) -> None:
    ids, lat, lon = town
    now = "2026-01-01 00:00:00"
    rows = (
        (ids[d], seq0 + k, int(ts), float(lat[d]), float(lon[d]), now)
        for k, (d, ts) in enumerate(zip(dev.tolist(), t.tolist(), strict=True))
    )
    _insert("ingest_hit", ("device_id", "seq", "t_ns", "lat", "lon", "received_at"), rows)


def add_blocks(town: Town, start_ns: int, end_ns: int, block_s: float) -> None:
    """Each phone's blocks of block_s seconds that end in [start_ns, end_ns).

    A phone sends a block when it ends; phones are out of step.
    """
    ids, lat, lon = town
    period = int(block_s * S)
    now = "2026-01-01 00:00:00"

    def rows() -> Iterator[tuple[object, ...]]:
        for d in range(len(ids)):
            phase = d * 7919 % period
            for a in range(start_ns - period - phase, end_ns, period):
                if start_ns <= a + period < end_ns:
                    b = (uuid.uuid4().hex, ids[d], a, a + period, float(lat[d]), float(lon[d]))
                    yield (*b, now)

    columns = ("block_id", "device_id", "start_ns", "end_ns", "lat", "lon", "received_at")
    _insert("ingest_exposureblock", columns, rows())


def fill(
    phones: int, now_ns: int, block_s: float, rng: np.random.Generator, towns: int = 1
) -> Town:
    """Devices spread uniformly over squares at DENSITY_PER_KM2, an hour of blocks and hits.

    towns > 1: that many equal squares, spread evenly in longitude at 46.2 N.
    """
    side_m = np.sqrt(phones / towns / DENSITY_PER_KM2) * 1000
    north, east = rng.uniform(0, side_m, (2, phones))
    centre = -180.0 + 360.0 * (np.arange(phones) % towns + 0.5) / towns if towns > 1 else 6.14
    lat = 46.2 + north / 111_195.0
    lon = centre + east / (111_195.0 * np.cos(np.radians(46.2)))
    ids = [uuid.uuid4().hex for _ in range(phones)]  # SQLite keeps UUIDs as 32 hex digits
    created = "2026-01-01 00:00:00"
    _insert(
        "ingest_device",
        ("id", "token_hash", "model", "os", "app_version", "created_at", "is_active"),
        ((i, i + i, "", "", "", created, True) for i in ids),
    )
    town = (ids, lat, lon)
    add_blocks(town, now_ns - 3600 * S, now_ns, block_s)
    counts = rng.poisson(RATE_PER_MIN * 60, phones)
    dev = np.repeat(np.arange(phones), counts)
    add_hits(town, dev, now_ns - rng.integers(0, 3600 * S, len(dev)), 0)
    return town


def arrive(town: Town, now_ns: int, block_s: float, rng: np.random.Generator, seq0: int) -> int:
    """One interval of new hits and blocks before now_ns; how many hits arrived.

    3 showers each fire the 20 phones nearest a random one.
    """
    ids, lat, lon = town
    phones = len(ids)
    n = rng.poisson(RATE_PER_MIN * phones * INTERVAL_S / 60)
    dev = [rng.integers(0, phones, n)]
    t = [now_ns - rng.integers(0, INTERVAL_NS, n)]
    for _ in range(3):
        core = int(rng.integers(0, phones))
        near = np.argsort(np.hypot(lat - lat[core], (lon - lon[core]) * 0.69))[:20]
        at = now_ns - int(rng.integers(0, INTERVAL_NS))
        dev.append(near)
        t.append(at + rng.normal(0, 3e6, 20).astype(np.int64))
    add_hits(town, np.concatenate(dev), np.concatenate(t), seq0)
    add_blocks(town, now_ns - INTERVAL_NS, now_ns, block_s)
    return sum(len(d) for d in dev)


def started_searches(parts: int) -> list[Any]:
    """The whole live search and, with parts > 1, its parts by region, each loaded."""
    from follow.live import LiveSearch
    from follow.regions import Part
    from follow.tail import Mark, horizon, save_mark

    shares = [Part()] + ([Part(k, parts) for k in range(1, parts + 1)] if parts > 1 else [])
    searches = []
    for part in shares:
        live = LiveSearch(interval_s=INTERVAL_S, part=part)
        for stream in live.streams:
            save_mark(live.name, stream, Mark(horizon(stream)), 0)
        started = time.perf_counter()
        live.prepare()
        print(f"  {live.name}: rates loaded from the hour in {time.perf_counter() - started:.1f} s")
        searches.append(live)
    return searches


def showers_now() -> dict[str, frozenset[int]]:
    from ingest.models import Shower

    return {
        s.shower_id: frozenset(s.hits.values_list("id", flat=True))
        for s in Shower.objects.filter(provisional=True).prefetch_related("hits")
    }


def timed_pass(searches: list[Any]) -> str:
    """One pass of the whole search, then of each part on a clean slate; the figures."""
    from follow.tail import catch_up
    from ingest.models import Shower

    took, before = [], showers_now()
    for k, live in enumerate(searches):
        if k == 1:  # the parts start from what there was before this pass
            whole = showers_now()
            Shower.objects.filter(provisional=True).exclude(shower_id__in=before).delete()
        started = time.perf_counter()
        catch_up(live)
        took.append(time.perf_counter() - started)
    line = f"{took[0]:6.2f} s, {took[0] / INTERVAL_S:.2f} of its {INTERVAL_S:g} s interval"
    if len(searches) > 1:
        same = "the same showers" if showers_now() == whole else "OTHER SHOWERS"
        each = ", ".join(f"{t:.2f}" for t in took[1:])
        line += f"; parts {each} s (slowest {max(took[1:]) / took[0]:.2f} of one), {same}"
    return line


def one_size(phones: int, block_s: float, passes: int, towns: int, parts: int) -> None:
    from ingest.models import ConsumerMark, Device, ExposureBlock, Hit, Shower

    for model in (Shower, Hit, ExposureBlock, Device, ConsumerMark):
        model.objects.all().delete()
    rng = np.random.default_rng(phones)
    now = time.time_ns() - passes * INTERVAL_NS
    started = time.perf_counter()
    town = fill(phones, now, block_s, rng, towns)
    print(
        f"{phones:>8,} phones in {towns} town(s) ({phones / DENSITY_PER_KM2:g} km², "
        f"{RATE_PER_MIN * phones:,.0f} hits/min, blocks of {block_s:g} s; "
        f"filled in {time.perf_counter() - started:.0f} s)"
    )
    searches = started_searches(parts)
    for k in range(passes):
        now += INTERVAL_NS
        new = arrive(town, now, block_s, rng, 10**9 * (k + 1))
        print(f"  pass {k + 1}: {new:,} new hits in {timed_pass(searches)}")
    rss_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    provisional = Shower.objects.filter(provisional=True).count()
    print(f"  {provisional} provisional showers (3 injected a pass); peak RSS {rss_gib:.1f} GiB")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--phones", type=int, nargs="+", default=[16000, 64000])
    p.add_argument("--block-s", type=float, default=180.0, help="exposure block length (CRAYFIS)")
    p.add_argument("--passes", type=int, default=3)
    p.add_argument("--towns", type=int, default=1, help="towns spread evenly in longitude")
    p.add_argument(
        "--parts", type=int, default=1, help="also run the live search split in this many regions"
    )
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
        one_size(phones, args.block_s, args.passes, args.towns, args.parts)


if __name__ == "__main__":
    main()
