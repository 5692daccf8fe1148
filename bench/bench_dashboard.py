"""Dashboard benchmark: p50/p95 of the public pages and the researcher API, 10^4-10^6 phones.

Fills a throwaway PostgreSQL (server-side generate_series) with hits from
--devices phones (10,000; a fifth in 5 cities at 1,000/km², the rest over the
world, as bench_million_live places them) over the last 24 h, as many 180-s
exposure blocks as hits (each phone's back to back, ending now), plus their
counters (7 days of per-device days), a CREDO volunteer per 10 phones in 1,000
teams, and 1,000 showers, then serves it with `crowdray serve` (2 workers) and
measures p50/p95 under 4 concurrent clients, with the reply cache off
(CROWDRAY_STATUS_CACHE_S=0), twice:
- "per request": CROWDRAY_STATUS_INTERVAL_S=0, so every request builds the status;
- "follower": as served, the follower inside serve recomputes the status every
  5 s and requests read its snapshot (the follower's marks start past the
  filled hits, as if it had folded them).
Goal: p95 < 100 ms at 10^7 hits and at 10^6 phones, and no growth from 10^6 to 10^7 hits.

    .venv/bin/python bench/bench_dashboard.py [--sizes 1e6 1e7] [--devices 1e4] [--seconds 10]
        [--only /showers/S]
"""

from __future__ import annotations

import argparse
import re
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_million_live import place
from crowdray.process import crowdray, service_env, serving
from crowdray.testing.postgres import ThrowawayPostgres
from vocab.cells import cell_key, cells_of

BENCH_KEY = "bench-only-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGH"
PUBLIC = (
    "/api/v1/status",
    "/",
    "/showers/",
    "/showers/S1/",
    "/showers/S100/",  # ~17 h old: the page must not read every block since
    "/teams/",
    "/api/v1/showers",
    "/api/v1/cells?bbox=-180,-90,180,90",  # the world: the follower's squares
    "/api/v1/cells?bbox=-10,35,30,60",  # Europe: 1-degree squares of the table's cells
    "/api/v1/cells?bbox=5.9,46.0,6.4,46.4",  # Geneva: the ~1 km cells
)
RESEARCHER = ("/api/v1/hits?since={hour_ago}&page_size=100",)
# CROWDRAY_STATUS_INTERVAL_S, and whether serve runs the follower.
MODES = {"per request": ("0", False), "follower": ("5", True)}
PHONES_PER_VOLUNTEER, TEAMS, WEEK = 10, 1000, 7


def device_id(k: int) -> str:
    return f"00000000-0000-4000-8000-{k:012d}"


def fill(dsn: str, n_hits: int, n_devices: int, now_ns: int) -> None:
    """Devices, hits over the last 24 h, the counters derived from them, teams, showers."""
    rng = np.random.default_rng(1)
    lat, lon = place(n_devices, rng)
    device_cols = "id, token_hash, model, os, app_version, created_at, is_active, last_seen_ns"
    with psycopg.connect(dsn, autocommit=True) as conn:
        with conn.cursor().copy(f"COPY ingest_device ({device_cols}) FROM STDIN") as copy:
            for k, seen in enumerate(now_ns - rng.integers(0, 3600, n_devices) * 10**9):
                row = (device_id(k), f"{k:064x}", "bench", "", "", "2026-01-01T00:00:00Z")
                copy.write_row((*row, True, int(seen)))
        conn.execute("CREATE TEMP TABLE pos (k int, lat float8, lon float8)")
        with conn.cursor().copy("COPY pos FROM STDIN") as copy:
            for k in range(n_devices):
                copy.write_row((k, float(lat[k]), float(lon[k])))
        fill_hits(conn, n_hits, n_devices, now_ns)
        fill_exposures(conn, n_hits, n_devices, now_ns)
        fill_counters(conn, now_ns)
        fill_cells(conn, lat, lon, n_hits, now_ns)
        fill_teams(conn, n_devices)
        fill_showers(conn, now_ns)
        conn.execute("ANALYZE")


def fill_hits(conn: psycopg.Connection[Any], n_hits: int, n_devices: int, now_ns: int) -> None:
    day = 86400 * 10**9
    conn.execute(
        "INSERT INTO ingest_hit (device_id, seq, t_ns, lat, lon, received_at) "
        "SELECT ('00000000-0000-4000-8000-' || lpad((g %% %(d)s)::text, 12, '0'))::uuid, "
        "g / %(d)s, %(now)s - (g::numeric * %(day)s / %(n)s)::bigint, p.lat, p.lon, now() "
        "FROM generate_series(0, %(n)s - 1) g JOIN pos p ON p.k = g %% %(d)s",
        {"d": n_devices, "now": now_ns, "day": day, "n": n_hits},
    )


def fill_exposures(conn: psycopg.Connection[Any], n_hits: int, n_devices: int, now_ns: int) -> None:
    """As many exposure blocks as hits: each phone's 180-s blocks back to back, ending now.

    A shower page looks up the phones taking data at its time in them. The blocks
    reach back n_hits / n_devices × 180 s: 5 h at 10^6 hits and 10^4 phones.
    """
    block, per_phone = 180 * 10**9, max(1, n_hits // n_devices)
    conn.execute(
        "INSERT INTO ingest_exposureblock (block_id, device_id, start_ns, end_ns, lat, lon, "
        "received_at) SELECT md5(g::text)::uuid, "
        "('00000000-0000-4000-8000-' || lpad((g %% %(d)s)::text, 12, '0'))::uuid, "
        "%(now)s - (g / %(d)s + 1) * %(block)s, %(now)s - (g / %(d)s) * %(block)s, p.lat, p.lon, "
        "now() FROM generate_series(0, %(n)s - 1) g JOIN pos p ON p.k = g %% %(d)s",
        {"d": n_devices, "now": now_ns, "block": block, "n": per_phone * n_devices},
    )


def fill_counters(conn: psycopg.Connection[Any], now_ns: int) -> None:
    """What the follower would have folded in (phones taking data all minute long)."""
    minute, today = 60 * 10**9, now_ns // (86400 * 10**9)
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
        # A week of days for every phone: the teams page's input.
        (
            "INSERT INTO ingest_deviceday (day, device_id, hits, live_s) "
            f"SELECT {today} - d, id, 720, 86400.0 FROM ingest_device "
            f"CROSS JOIN generate_series(0, {WEEK - 1}) d"
        ),
        # The follower has folded everything filled.
        (
            "INSERT INTO ingest_consumermark (consumer, stream, lo, last_id, rows, updated_at) "
            "SELECT 'counters', s, pg_snapshot_xmin(pg_current_snapshot())::text::bigint, 0, 0, "
            "now() FROM unnest(ARRAY['hits', 'exposures']) s"
        ),
    ):
        conn.execute(sql)


def fill_cells(
    conn: psycopg.Connection[Any], lat: np.ndarray, lon: np.ndarray, n_hits: int, now_ns: int
) -> None:
    """The map's cells: every phone's ~1 km cell, active now."""
    keys, clat, clon = cells_of(lat, lon)
    keys, first = np.unique(keys, return_index=True)
    per_cell = max(1, n_hits // len(keys))
    with conn.cursor().copy(
        "COPY ingest_activecell (cell, lat, lon, last_seen_ns, hits) FROM STDIN"
    ) as copy:
        for key, i in zip(keys, first, strict=True):
            copy.write_row((cell_key(int(key)), float(clat[i]), float(clon[i]), now_ns, per_cell))
    print(f"  {len(keys):,} active cells")


def fill_teams(conn: psycopg.Connection[Any], n_devices: int) -> None:
    """A CREDO volunteer per PHONES_PER_VOLUNTEER phones, in TEAMS teams; a tenth named."""
    volunteers = -(-n_devices // PHONES_PER_VOLUNTEER)
    for sql in (
        f"INSERT INTO credo_team (name) SELECT 'team ' || g FROM generate_series(1, {TEAMS}) g",
        (
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, "
            "email, is_staff, is_active, date_joined) SELECT '!', false, 'v' || g, '', '', '', "
            f"false, true, now() FROM generate_series(0, {volunteers - 1}) g"
        ),
        (
            "INSERT INTO credo_volunteer (user_id, display_name, team_id, language, public_id) "
            "SELECT u.id, CASE WHEN u.id % 10 = 0 THEN u.username ELSE '' END, "
            f"(SELECT min(id) FROM credo_team) + u.id % {TEAMS}, '', md5(u.username) "
            "FROM auth_user u WHERE u.username LIKE 'v%'"
        ),
        (
            "INSERT INTO credo_phone (volunteer_id, credo_device_id, device_id, device_type, "
            "device_model, system_version, app_version) SELECT v.id, p.k::text, "
            "('00000000-0000-4000-8000-' || lpad(p.k::text, 12, '0'))::uuid, '', '', '', '' "
            "FROM pos p JOIN auth_user u ON u.username = "
            f"'v' || (p.k / {PHONES_PER_VOLUNTEER}) JOIN credo_volunteer v ON v.user_id = u.id"
        ),
    ):
        conn.execute(sql)


def fill_showers(conn: psycopg.Connection[Any], now_ns: int) -> None:
    day = 86400 * 10**9
    conn.execute("INSERT INTO ingest_searchrun (params, created_at) VALUES ('{}', now())")
    conn.execute(
        "INSERT INTO ingest_shower (shower_id, t_ns, t_spread_ns, lat, lon, radius_m, "
        "n_devices, n_hits, n_core_devices, n_core_hits, expected_background, "
        "significance_sigma, search_id, provisional, updated_at) "
        "SELECT 'S' || g, %s - g * %s, 1000, 46.2, 6.14, 100, 3 + g %% 5, 5, 3 + g %% 5, 5, "
        "1e-3, 6.0, (SELECT max(id) FROM ingest_searchrun), false, now() "
        "FROM generate_series(1, 1000) g",
        [now_ns, day * 7 // 1000],
    )


def measure(
    url: str, path: str, seconds: float, clients: int = 4, headers: dict[str, str] | None = None
) -> list[float]:
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(_: int) -> None:
        session, i = requests.Session(), 0
        session.headers.update(headers or {})
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


def researcher_headers(env: dict[str, str]) -> dict[str, str]:
    said = crowdray("researcher", "add", "bench@example.org", env=env)
    token = re.search(r"Token (\S+?)'", said)
    assert token, said
    return {"Authorization": f"Token {token.group(1)}"}


def measure_all(
    url: str, seconds: float, headers: dict[str, str], paths: tuple[str, ...]
) -> dict[str, np.ndarray]:
    hour_ago = time.time_ns() - 3600 * 10**9
    out = {}
    for path in paths:
        sent = headers if path in RESEARCHER else None
        target = path.format(hour_ago=hour_ago)
        measure(url, target, 2, headers=sent)  # warm up
        out[path] = np.array(measure(url, target, seconds, headers=sent))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--devices", type=float, default=1e4, help="phones registered")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--only", default="", help="measure only the paths holding this text")
    args = parser.parse_args()
    paths = tuple(p for p in PUBLIC + RESEARCHER if args.only in p)
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
            headers = researcher_headers(service_env(**base))
            started = time.perf_counter()
            fill(pg.url, size, int(args.devices), time.time_ns())
            print(
                f"{size:,} hits, {int(args.devices):,} phones: filled in "
                f"{time.perf_counter() - started:.0f} s"
            )
            for mode, (interval, follow) in MODES.items():
                env = service_env(**base, CROWDRAY_STATUS_INTERVAL_S=interval)
                with serving(env, follow=follow) as url:
                    time.sleep(float(interval) + 1)  # the follower's first snapshot
                    for path, lat in measure_all(url, args.seconds, headers, paths).items():
                        p50, p95 = np.percentile(lat, [50, 95])
                        results[(size, mode, path)] = p95
                        print(
                            f"  {mode:11s}  {path:16s} requests {len(lat):5d}  "
                            f"p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  (goal p95 < 100 ms)"
                        )
    sizes = sorted({key[0] for key in results})
    for mode in MODES:
        for path in paths:
            if len(sizes) >= 2:
                growth = results[(sizes[-1], mode, path)] / results[(sizes[0], mode, path)]
                print(
                    f"p95 growth {sizes[0]:,} -> {sizes[-1]:,} hits, {mode}, "
                    f"{path}: {growth:.2f}x (goal: none)"
                )


if __name__ == "__main__":
    main()
