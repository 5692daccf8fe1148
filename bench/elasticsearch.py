"""Elasticsearch benchmark: bulk indexing, dashboard aggregations and the shower search.

Takes ELASTICSEARCH_URL (with ELASTICSEARCH_COMPAT if needed), else starts
osmem-server (in-memory, OpenSearch-compatible). For 10^4 and 10^5 hits from
2,000 phones over 24 h in a throwaway SQLite database (the embedded default),
with their counters and 1,000 showers, it prints:
- bulk indexing of the hits through the follower's index consumer, docs/s;
- p50/p95 of the dashboard's aggregations from the index (hits per ~1 km cell
  and hits per minute over 24 h) next to the same answers from the database
  rollups (ActiveCell, Minute), and whether they agree;
- p50/p95 of a shower search (time range, min_sigma, a bounding box) next to
  the same filter on the database.

    .venv/bin/python bench/elasticsearch.py [--sizes 10000 100000] [--repeat 50]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

# This file's own folder must not shadow the elasticsearch package.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

DEVICES = 2000
CITIES = [(46.2, 6.14), (50.06, 19.94), (-18.12, 178.45), (35.68, 139.65)]
S, MIN, DAY = 10**9, 60 * 10**9, 86_400 * 10**9


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """p50 and p95 in ms of `repeat` calls, and the last answer."""
    times, answer = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        answer = fn()
        times.append((time.perf_counter() - start) * 1000)
    p50, p95 = np.percentile(times, [50, 95])
    return float(p50), float(p95), answer


def fill(n_hits: int, now_ns: int) -> None:
    """Devices, hits over 24 h, the counters the follower makes of them, 1,000 showers."""
    from follow.counters import Counters
    from follow.tail import catch_up
    from ingest.models import Device, Hit, SearchRun, Shower

    rng = np.random.default_rng(n_hits)
    city = rng.integers(0, len(CITIES), DEVICES)
    lat = np.array([CITIES[c][0] for c in city]) + rng.normal(0, 0.03, DEVICES)
    lon = np.array([CITIES[c][1] for c in city]) + rng.normal(0, 0.03, DEVICES)
    ids = [uuid.uuid4() for _ in range(DEVICES)]
    Device.objects.bulk_create([Device(id=i, token_hash=i.hex * 2) for i in ids])
    dev = rng.integers(0, DEVICES, n_hits)
    t = now_ns - rng.integers(0, DAY - MIN, n_hits)
    Hit.objects.bulk_create(
        [
            Hit(device_id=ids[d], seq=k, t_ns=int(ts), lat=float(lat[d]), lon=float(lon[d]))
            for k, (d, ts) in enumerate(zip(dev, t, strict=True))
        ],
        batch_size=5000,
    )
    catch_up(Counters())
    run = SearchRun.objects.create(params={"window_ms": 50.0, "radius_m": 1000.0})
    showers = []
    for k in range(1000):
        c = CITIES[k % len(CITIES)]
        showers.append(
            Shower(
                shower_id=f"S{k}",
                search=run,
                t_ns=now_ns - int(rng.integers(0, DAY)),
                lat=c[0],
                lon=c[1],
                significance_sigma=float(rng.uniform(0, 10)),
                t_spread_ns=4_000_000,
                radius_m=200.0,
                n_devices=5,
                n_hits=5,
                expected_background=1e-6,
            )
        )
    Shower.objects.bulk_create(showers)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--repeat", type=int, default=50)
    args = p.parse_args()
    server = None
    if not os.environ.get("ELASTICSEARCH_URL"):
        from osmem_server import OsmemServer  # type: ignore[import-untyped]  # no type hints

        server = OsmemServer.start(japanese=False)
        os.environ.update(ELASTICSEARCH_URL=server.url, ELASTICSEARCH_COMPAT="plain-json")
    where = "osmem-server " + server.version if server else os.environ["ELASTICSEARCH_URL"]
    data = tempfile.mkdtemp(prefix="crowdray-bench-es-")
    os.environ.update(CROWDRAY_DATA_DIR=data, DJANGO_SETTINGS_MODULE="crowdray.settings")
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    print(f"search server: {where}; database: SQLite; {DEVICES} phones, 24 h")
    try:
        for n in args.sizes:
            one_size(n, args.repeat)
    finally:
        if server is not None:
            server.close()


def one_size(n_hits: int, repeat: int) -> None:
    from django.core.management import call_command

    from dashboard.search import search_request
    from follow import status as snapshot
    from follow.cells import MAX_CELLS, busiest
    from follow.indexer import Indexer
    from follow.tail import catch_up
    from ingest import es
    from ingest.models import ActiveCell, Shower

    call_command("flush", interactive=False, verbosity=0)
    call_command("migrate", verbosity=0)
    es.client().options(ignore_status=404).indices.delete(index="crowdray-*")
    now = time.time_ns()
    fill(n_hits, now)
    start = time.perf_counter()
    catch_up(Indexer())
    took = time.perf_counter() - start
    es.client().indices.refresh(index="crowdray-*")
    print(f"\n{n_hits:,} hits: bulk indexing {n_hits / took:,.0f} docs/s ({took:.1f} s)")
    since = now - DAY
    rows: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        (
            "cells, 24 h",
            lambda: snapshot.cells_from_index(since),
            lambda: busiest(ActiveCell.objects.filter(last_seen_ns__gte=since))[:MAX_CELLS],
        ),
        (
            "hits per minute, 24 h",
            lambda: snapshot.series_from_index(now)["hits"],
            lambda: snapshot.series(now)["hits"],
        ),
    ]
    for name, index_fn, db_fn in rows:
        i50, i95, i_answer = timed(index_fn, repeat)
        d50, d95, d_answer = timed(db_fn, repeat)
        print(
            f"  {name:24} index p50 {i50:6.1f} ms p95 {i95:6.1f} ms | rollups p50 {d50:6.1f} "
            f"ms p95 {d95:6.1f} ms | ratio p95 {i95 / d95:5.2f} | same: {i_answer == d_answer}"
        )
    params = {"since": str(now - DAY // 2), "min_sigma": "5", "bbox": "5,45,8,48"}
    body = search_request(params)
    i50, i95, found = timed(lambda: es.client().search(index=es.SHOWERS, **body), repeat)
    db = Shower.objects.filter(
        t_ns__gte=now - DAY // 2,
        significance_sigma__gte=5,
        lat__gte=45,
        lat__lte=48,
        lon__gte=5,
        lon__lte=8,
    )
    d50, d95, n_db = timed(lambda: len(list(db.order_by("-t_ns")[:50])), repeat)
    print(
        f"  {'shower search':24} index p50 {i50:6.1f} ms p95 {i95:6.1f} ms | database p50 "
        f"{d50:6.1f} ms p95 {d95:6.1f} ms | found {len(found['hits']['hits'])} vs {n_db}"
    )


if __name__ == "__main__":
    main()
