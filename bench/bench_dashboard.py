"""Dashboard benchmark: p50/p95 of the status API, /, /showers/ and a shower page, 10^6-10^7 hits.

Fills a throwaway PostgreSQL (server-side generate_series) with hits from 10,000
phones over the last 24 h, plus their counters, exposures and 1,000 showers,
then serves it with `crowdray serve` (2 workers) and measures p50/p95 under 4
concurrent clients, with the reply cache off (CROWDRAY_STATUS_CACHE_S=0), twice:
- "per request": CROWDRAY_STATUS_INTERVAL_S=0, so every request builds the status;
- "follower": as served, the follower inside serve recomputes the status every
  5 s and requests read its snapshot (the follower's marks start past the
  filled hits, as if it had folded them).
Goal: p95 < 100 ms at 10^7 hits and no growth from 10^6 to 10^7.

    .venv/bin/python bench/bench_dashboard.py [--sizes 1e6 1e7] [--seconds 10]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crowdray.process import crowdray, service_env, serving
from crowdray.testing.postgres import ThrowawayPostgres
from vocab.cells import cell_of

DEVICES = 10_000
BENCH_KEY = "bench-only-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGH"
PATHS = ("/api/v1/status", "/", "/showers/", "/showers/S1/")
# CROWDRAY_STATUS_INTERVAL_S, and whether serve runs the follower.
MODES = {"per request": ("0", False), "follower": ("5", True)}
CITIES = [(46.2, 6.14), (50.06, 19.94), (35.68, 139.65), (-18.12, 178.45), (33.68, -117.83)]


def fill(dsn: str, n_hits: int, now_ns: int) -> None:
    """Devices, hits over the last 24 h, the counters derived from them, showers."""
    rng = np.random.default_rng(1)
    city = rng.integers(0, len(CITIES), DEVICES)
    lat = np.array([CITIES[c][0] for c in city]) + rng.normal(0, 0.03, DEVICES)
    lon = np.array([CITIES[c][1] for c in city]) + rng.normal(0, 0.03, DEVICES)
    day, minute = 86400 * 10**9, 60 * 10**9
    device_cols = "id, token_hash, model, os, app_version, created_at, is_active, last_seen_ns"
    with psycopg.connect(dsn, autocommit=True) as conn:
        with conn.cursor().copy(f"COPY ingest_device ({device_cols}) FROM STDIN") as copy:
            for k in range(DEVICES):
                seen = now_ns - int(rng.integers(0, 3600)) * 10**9
                copy.write_row(
                    (
                        f"00000000-0000-4000-8000-{k:012d}",
                        f"{k:064x}",
                        "bench",
                        "",
                        "",
                        "2026-01-01T00:00:00Z",
                        True,
                        seen,
                    )
                )
        conn.execute("CREATE TEMP TABLE pos (k int, lat float8, lon float8)")
        with conn.cursor().copy("COPY pos FROM STDIN") as copy:
            for k in range(DEVICES):
                copy.write_row((k, float(lat[k]), float(lon[k])))
        conn.execute(
            "INSERT INTO ingest_hit (device_id, seq, t_ns, lat, lon, received_at) "
            "SELECT ('00000000-0000-4000-8000-' || lpad((g %% %(d)s)::text, 12, '0'))::uuid, "
            "g / %(d)s, %(now)s - (g::numeric * %(day)s / %(n)s)::bigint, p.lat, p.lon, now() "
            "FROM generate_series(0, %(n)s - 1) g JOIN pos p ON p.k = g %% %(d)s",
            {"d": DEVICES, "now": now_ns, "day": day, "n": n_hits},
        )
        # What the follower would have folded in (phones taking data all minute long).
        for sql in (
            (
                "INSERT INTO ingest_deviceminute (minute, device_id) "
                f"SELECT DISTINCT t_ns / {minute}, device_id FROM ingest_hit"
            ),
            (
                "INSERT INTO ingest_minute (minute, hits, devices, live_s) "
                f"SELECT t_ns / {minute}, count(*), count(DISTINCT device_id), "
                "60.0 * count(DISTINCT device_id) FROM ingest_hit GROUP BY 1"
            ),
        ):
            conn.execute(sql)
        cells = {}
        for a, b in zip(lat, lon, strict=True):
            key, clat, clon = cell_of(float(a), float(b))
            cells[key] = (clat, clon)
        cell_cols = "cell, lat, lon, last_seen_ns, hits"
        with conn.cursor().copy(f"COPY ingest_activecell ({cell_cols}) FROM STDIN") as copy:
            for key, (clat, clon) in cells.items():
                copy.write_row((key, clat, clon, now_ns, n_hits // len(cells)))
        conn.execute("INSERT INTO ingest_searchrun (params, created_at) VALUES ('{}', now())")
        conn.execute(
            "INSERT INTO ingest_shower (shower_id, t_ns, t_spread_ns, lat, lon, radius_m, "
            "n_devices, n_hits, expected_background, significance_sigma, search_id, "
            "provisional, updated_at) SELECT 'S' || g, %s - g * %s, 1000, 46.2, 6.14, 100, "
            "3 + g %% 5, 5, 1e-3, 3.0, (SELECT max(id) FROM ingest_searchrun), false, now() "
            "FROM generate_series(1, 1000) g",
            [now_ns, day * 7 // 1000],
        )
        # The follower has folded everything filled (its counters are above).
        conn.execute(
            "INSERT INTO ingest_consumermark (consumer, stream, lo, last_id, rows, updated_at) "
            "SELECT 'counters', s, pg_snapshot_xmin(pg_current_snapshot())::text::bigint, 0, 0, "
            "now() FROM unnest(ARRAY['hits', 'exposures']) s"
        )
        conn.execute("ANALYZE")


def measure(url: str, path: str, seconds: float, clients: int = 4) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(_: int) -> None:
        session, i = requests.Session(), 0
        while time.monotonic() < stop:
            target = url + path
            start = time.perf_counter()
            reply = session.get(target, timeout=30)
            elapsed = (time.perf_counter() - start) * 1000
            assert reply.status_code == 200, reply.status_code
            with lock:
                latencies.append(elapsed)
            i += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    results: dict[tuple[int, str, str], float] = {}
    for size in (int(s) for s in args.sizes):
        with ThrowawayPostgres(durable=False) as pg:
            base = {
                "DATABASE_URL": pg.url,
                "SECRET_KEY": BENCH_KEY,
                "CROWDRAY_PUBLIC_RATE": "1000000/minute",
                "CROWDRAY_STATUS_CACHE_S": "0",
                "CROWDRAY_LIVE_INTERVAL_S": "0",
            }
            crowdray("migrate", "--verbosity", "0", env=service_env(**base))
            started = time.perf_counter()
            fill(pg.url, size, time.time_ns())
            print(f"{size:,} hits: filled in {time.perf_counter() - started:.0f} s")
            for mode, (interval, follow) in MODES.items():
                env = service_env(**base, CROWDRAY_STATUS_INTERVAL_S=interval)
                with serving(env, follow=follow) as url:
                    time.sleep(float(interval) + 1)  # the follower's first snapshot
                    for path in PATHS:
                        measure(url, path, 2)  # warm up
                        lat = np.array(measure(url, path, args.seconds))
                        p50, p95 = np.percentile(lat, [50, 95])
                        results[(size, mode, path)] = p95
                        print(
                            f"  {mode:11s}  {path:16s} requests {len(lat):5d}  "
                            f"p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  (goal p95 < 100 ms)"
                        )
    sizes = sorted({key[0] for key in results})
    for mode in MODES:
        for path in PATHS:
            if len(sizes) >= 2:
                growth = results[(sizes[-1], mode, path)] / results[(sizes[0], mode, path)]
                print(
                    f"p95 growth {sizes[0]:,} -> {sizes[-1]:,} hits, {mode}, "
                    f"{path}: {growth:.2f}x (goal: none)"
                )


if __name__ == "__main__":
    main()
