"""Whole-stack benchmark at a million phones: uploads, the follower, live showers, pages.

A throwaway PostgreSQL (fsync on), `crowdray serve` and `crowdray follow`
(counters, status, the lake export, the live search, the day partitions) on
this machine. --phones devices are registered server-side (COPY, with their
tokens' hashes): a fifth in 5 cities at 1,000 phones/km², the rest spread over
the world. A share of them (--fraction) take data: each is always on at 0.5
background hits a minute and, every --upload-s seconds (180, the CRAYFIS app's
exposure block), posts its block to /api/v1/exposures and its hits of the
block to /api/v1/hits. Every --shower-every seconds a shower fires the phones
taking data within 300 m of one in a city; its hits go with each phone's next
upload. The load is open-loop: each request is sent at its scheduled time
whatever the server does, and its latency counts from then.

It reports, per stage: uploads (p50/p99 latency, errors, every accepted hit
stored once), the follower (each consumer's lag, p50/p95, polled from
/api/v1/health), the live search (pass times from the follower's log, and the
delay from a shower's last upload to it on /api/v1/showers), showers (injected,
found live, found by `crowdray coincidence` over the lake after), the pages
(`/`, `/showers/`, a shower page, `/api/v1/status`; p95 with the reply cache
off), CPU per role, and the database's bytes per hit and per hour. With
--vandals, one broken phone of each kind the issue names runs beside the load
(bench/vandals.py: 10^5 hits a minute, overlapping blocks, clocks 3 h off, one
batch sent 100 times), and the report says what the server told each and what
the database counted of it. At
--fraction f the request rate is f times a million phones' (5,556 blocks/s and
8,333 hits/s in 4,330 hit uploads/s at f = 1); the figures say at which
fraction each stage stops keeping up, which is what 2 cores hold.

    .venv/bin/python bench/bench_million_live.py [--phones 1000000] [--fraction 0.02]
        [--minutes 10] [--upload-s 180] [--workers 2] [--vandals] [--no-batch]
"""

from __future__ import annotations

import argparse
import hashlib
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cpu
from bench.background import Background
from bench.bench_ingest import _reply
from bench.vandals import KINDS as VANDALS
from bench.vandals import Vandals
from crowdray.process import crowdray, service_env, serving
from crowdray.testing.postgres import ThrowawayPostgres

S, MS = 10**9, 10**6
CITIES = [(46.2, 6.14), (40.7, -74.0), (-23.5, -46.6), (35.7, 139.7), (28.6, 77.2)]
CITY_SHARE, DENSITY_PER_KM2, RATE_PER_MIN = 0.2, 1000.0, 0.5
SHOWER_RADIUS_M, SENDERS = 300.0, 48
SECRET = "bench-only-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGH"  # noqa: S105 - throwaway


@dataclass
class Phones:
    lat: np.ndarray
    lon: np.ndarray
    ids: list[str]
    tokens: list[str]


def place(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A fifth of the phones in CITIES at DENSITY_PER_KM2, the rest uniform over |lat| < 60."""
    lat, lon = np.empty(n), np.empty(n)
    in_city = int(n * CITY_SHARE)
    per = in_city // len(CITIES)
    side_m = np.sqrt(per / DENSITY_PER_KM2) * 1000
    for c, (clat, clon) in enumerate(CITIES):
        part = slice(c * per, (c + 1) * per)
        north, east = rng.uniform(-side_m / 2, side_m / 2, (2, per))
        lat[part] = clat + north / 111_195.0
        lon[part] = clon + east / (111_195.0 * np.cos(np.radians(clat)))
    rest = slice(per * len(CITIES), n)
    k = n - per * len(CITIES)
    lat[rest] = np.degrees(
        np.arcsin(rng.uniform(-np.sin(np.radians(60)), np.sin(np.radians(60)), k))
    )
    lon[rest] = rng.uniform(-180, 180, k)
    return lat, lon


def register(dsn: str, n: int, rng: np.random.Generator) -> Phones:
    """Devices COPYed into the database with known tokens (only their hashes stored)."""
    lat, lon = place(n, rng)
    ids = [str(uuid.UUID(int=int(x))) for x in rng.integers(1, 2**62, n)]
    tokens = [f"bench-phone-{i:08d}-{SECRET[:16]}" for i in range(n)]
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        columns = "id, token_hash, model, os, app_version, created_at, is_active"
        copy = f"COPY ingest_device ({columns}) FROM STDIN"
        with cur.copy(copy) as out:
            for i in range(n):
                digest = hashlib.sha256(tokens[i].encode()).hexdigest()
                out.write_row((ids[i], digest, "bench", "", "", "2026-01-01T00:00:00Z", True))
    return Phones(lat, lon, ids, tokens)


@dataclass
class Injected:
    t_ns: int
    members: list[int]
    waiting: set[int] = field(default_factory=set)  # members whose hit is not uploaded yet
    injected_at: float = field(default_factory=time.monotonic)
    uploaded_at: float | None = None  # monotonic time the last member's upload got its 201
    seen_live_at: float | None = None


class Load:
    """The open-loop load: who uploads when, the showers, and every reply."""

    def __init__(self, phones: Phones, fraction: float, upload_s: int, rng: np.random.Generator):
        self.phones, self.upload_s, self.rng = phones, upload_s, rng
        n = len(phones.ids)
        self.active = np.sort(rng.choice(n, int(n * fraction), replace=False))
        phase = rng.integers(0, upload_s, len(self.active))
        self.by_second = [self.active[phase == s] for s in range(upload_s)]
        self.seq = np.zeros(n, dtype=np.int64)
        self.pending: dict[int, list[tuple[int, Injected]]] = {}
        self.showers: list[Injected] = []
        self.lock = threading.Lock()
        self.replies: list[tuple[str, float, int, int]] = []  # kind, latency s, status, accepted
        city = self.active[self.active < int(n * CITY_SHARE) // len(CITIES) * len(CITIES)]
        self.city = city

    def inject(self, now_ns: int) -> None:
        """A shower now at a random phone in a city: the phones taking data within 300 m fire."""
        from coincidence.geo import haversine_m

        p = self.phones
        core = int(self.rng.choice(self.city))
        near = haversine_m(p.lat[core], p.lon[core], p.lat[self.city], p.lon[self.city])
        members = [int(m) for m in self.city[near <= SHOWER_RADIUS_M]]
        shower = Injected(now_ns, members, set(members))
        with self.lock:
            for m in members:
                t = now_ns + int(self.rng.normal(0, 3) * MS)
                self.pending.setdefault(m, []).append((t, shower))
            self.showers.append(shower)

    def bodies(self, phone: int, now_ns: int) -> tuple[bytes, bytes | None, list[Injected]]:
        """The phone's block of the last upload_s and its hits in it (with shower hits)."""
        p, span = self.phones, self.upload_s * S
        block = {
            "block_id": str(uuid.uuid4()),
            "start_ns": now_ns - span,
            "end_ns": now_ns,
            "lat": float(p.lat[phone]),
            "lon": float(p.lon[phone]),
            "frames": 2700,
        }
        with self.lock:  # one generator for all sender threads
            k = int(self.rng.poisson(RATE_PER_MIN * self.upload_s / 60))
            times = (now_ns - self.rng.integers(1, span, k)).tolist()
            fired = self.pending.pop(phone, [])
        times += [t for t, _ in fired]
        if not times:
            return orjson.dumps({"blocks": [block]}), None, []
        seq0 = int(self.seq[phone])
        self.seq[phone] += len(times)
        hits = [
            {"seq": seq0 + i, "t_ns": t, "lat": block["lat"], "lon": block["lon"]}
            for i, t in enumerate(times)
        ]
        return (
            orjson.dumps({"blocks": [block]}),
            orjson.dumps({"hits": hits}),
            [s for _, s in fired],
        )


def post(
    sock_of: dict[str, Any], host: str, port: int, path: str, token: str, body: bytes
) -> tuple[int, bytes]:
    """One keep-alive POST (bench_ingest's lean client, with a token per request)."""
    import socket

    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Token {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    try:
        if "sock" not in sock_of:
            sock_of["sock"] = socket.create_connection((host, port), timeout=60)
            sock_of["reader"] = sock_of["sock"].makefile("rb")
        sock_of["sock"].sendall(head.encode() + body)
        return _reply(sock_of["reader"])
    except (OSError, ValueError, IndexError):
        for k in ("reader", "sock"):
            if k in sock_of:
                sock_of.pop(k).close()
        return 0, b""


def sender(url: str, load: Load, jobs: queue.Queue[Any]) -> None:
    """Send each job at its time; record its latency from then."""
    host, port = url.removeprefix("http://").split(":")
    conn: dict[str, Any] = {}
    while (job := jobs.get()) is not None:
        due, phone = job
        time.sleep(max(0.0, due - time.monotonic()))
        now_ns = time.time_ns()
        blocks, hits, fired = load.bodies(phone, now_ns)
        token = load.phones.tokens[phone]
        for kind, body in (("blocks", blocks), ("hits", hits)):
            if body is None:
                continue
            status, reply = post(
                conn,
                host,
                int(port),
                f"/api/v1/{'exposures' if kind == 'blocks' else 'hits'}",
                token,
                body,
            )
            accepted = orjson.loads(reply)["accepted"] if status == 201 else 0
            with load.lock:
                load.replies.append((kind, time.monotonic() - due, status, accepted))
                if kind == "hits" and status == 201:
                    for shower in fired:
                        shower.waiting.discard(phone)
                        if not shower.waiting:
                            shower.uploaded_at = time.monotonic()


def drive(url: str, load: Load, seconds: float, shower_every: float) -> None:
    """Schedule every upload of the run, second by second, and the showers."""
    jobs: queue.Queue[Any] = queue.Queue()
    threads = [
        threading.Thread(target=sender, args=(url, load, jobs), daemon=True) for _ in range(SENDERS)
    ]
    for t in threads:
        t.start()
    start = time.monotonic()
    next_shower = start + shower_every
    stop_showers = start + seconds - load.upload_s - 5  # every shower's hits uploaded in time
    for second in range(int(seconds)):
        tick = start + second
        time.sleep(max(0.0, tick - time.monotonic()))
        if tick >= next_shower and tick < stop_showers:
            load.inject(time.time_ns())
            next_shower += shower_every
        phones = load.by_second[second % load.upload_s]
        for k, phone in enumerate(phones):
            jobs.put((tick + k / max(len(phones), 1), int(phone)))
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join()


class Watch(Background):
    """What the bench polls while the load runs: consumers' lag, showers on the API, pages."""

    def __init__(self, url: str, load: Load) -> None:
        self.url, self.load = url, load
        self.lag: dict[str, list[float]] = {}
        self.pages: dict[str, list[float]] = {}
        super().__init__([self.poll_health, self.poll_showers, self.poll_pages])

    def poll_health(self) -> None:
        while not self.stop.wait(5.0):
            consumers = requests.get(f"{self.url}/api/v1/health", timeout=30).json()["consumers"]
            for name, lag in consumers.items():
                self.lag.setdefault(name, []).append(float(lag["seconds"]))

    def poll_showers(self) -> None:
        """Mark each injected shower seen when /api/v1/showers lists one at its time."""
        since = time.time_ns()
        while not self.stop.wait(2.0):
            reply = requests.get(
                f"{self.url}/api/v1/showers",
                params={"since": str(since), "page_size": "500"},
                timeout=30,
            )
            reply.raise_for_status()
            times = np.array([r["t_ns"] for r in reply.json()["results"]], dtype=np.int64)
            now = time.monotonic()
            with self.load.lock:
                for shower in self.load.showers:
                    if (
                        shower.seen_live_at is None
                        and len(times)
                        and (np.abs(times - shower.t_ns).min() <= 50 * MS)
                    ):
                        shower.seen_live_at = now

    def poll_pages(self) -> None:
        session = requests.Session()
        while not self.stop.is_set():
            paths = ["/", "/showers/", "/api/v1/status"]
            listed = session.get(
                f"{self.url}/api/v1/showers", params={"page_size": "1"}, timeout=30
            )
            if listed.ok and listed.json()["results"]:
                paths.append(f"/showers/{listed.json()['results'][0]['shower_id']}/")
            for path in paths:
                started = time.perf_counter()
                ok = session.get(self.url + path, timeout=60).ok
                name = "/showers/<id>/" if path.startswith("/showers/S") else path
                self.pages.setdefault(name if ok else f"{name} (error)", []).append(
                    (time.perf_counter() - started) * 1000
                )
            self.stop.wait(0.5)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def vandal_phones(load: Load) -> dict[str, tuple[str, str, float, float]]:
    """A phone in the first city for each kind of vandal, from those not taking data."""
    idle = np.setdiff1d(np.arange(len(load.city) * 2), load.active)[: len(VANDALS)]
    p = load.phones
    return {
        kind: (p.ids[k], p.tokens[k], float(p.lat[k]), float(p.lon[k]))
        for kind, k in zip(VANDALS, idle.tolist(), strict=True)
    }


def report_uploads(load: Load, seconds: float, dsn: str, by_vandals: int = 0) -> None:
    for kind in ("blocks", "hits"):
        rows = [r for r in load.replies if r[0] == kind]
        lat = [r[1] * 1000 for r in rows]
        errors = sum(r[2] != 201 for r in rows)
        accepted = sum(r[3] for r in rows)
        print(
            f"  uploads of {kind}: {len(rows) / seconds:,.0f} requests/s, "
            f"{accepted / seconds:,.0f} {kind}/s; latency p50 {pct(lat, 50):.1f} ms, "
            f"p99 {pct(lat, 99):.1f} ms; errors {errors}"
        )
    with psycopg.connect(dsn) as conn:
        sql = "SELECT count(*), count(DISTINCT (device_id, seq, t_ns)) FROM ingest_hit"
        n, distinct = one(conn, sql)
    accepted = sum(r[3] for r in load.replies if r[0] == "hits") + by_vandals
    print(
        f"  hits accepted {accepted:,} ({by_vandals:,} of them from vandals), stored {n:,}, "
        f"distinct {distinct:,}: "
        f"{'every accepted hit stored once' if accepted == n == distinct else 'MISMATCH'}"
    )


def report_live(log: Path, load: Load, interval_s: float) -> None:
    passes = [
        float(m) for m in re.findall(r"live: \d+ new hits, .* in ([\d.]+) s", log.read_text())
    ]
    if passes:
        print(
            f"  live passes: {len(passes)}, p50 {pct(passes, 50):.2f} s, max {max(passes):.2f} s "
            f"(p50 {pct(passes, 50) / interval_s:.2f} of the {interval_s:g} s interval)"
        )
    shown = [s for s in load.showers if s.uploaded_at is not None]
    seen = [s for s in shown if s.seen_live_at is not None]
    # From the last member's upload (0 when found before it, from the first members);
    # and from the shower itself, which includes the phones' wait for their next upload.
    delays = [max(0.0, s.seen_live_at - s.uploaded_at) for s in seen]  # type: ignore[operator]
    since_event = [s.seen_live_at - s.injected_at for s in seen]  # type: ignore[operator]
    big = [s for s in shown if len(s.members) >= 10]
    print(
        f"  showers injected {len(load.showers)} (all hits uploaded: {len(shown)}; "
        f">= 10 phones: {len(big)}), found live {len(seen)} "
        f"({sum(s.seen_live_at is not None for s in big)} of those >= 10 phones); "
        f"on /api/v1/showers after the last member's upload p50 {pct(delays, 50):.1f} s, "
        f"p95 {pct(delays, 95):.1f} s; after the shower p50 {pct(since_event, 50):.1f} s, "
        f"p95 {pct(since_event, 95):.1f} s"
    )


def one(conn: psycopg.Connection[Any], sql: str) -> Any:
    row = conn.execute(sql).fetchone()
    assert row is not None
    return row[0] if len(row) == 1 else row


def report_database(dsn: str, seconds: float) -> None:
    with psycopg.connect(dsn) as conn:
        hits = one(conn, "SELECT count(*) FROM ingest_hit")
        rows = conn.execute(
            "SELECT p.relname::text, sum(pg_total_relation_size(c.oid)) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
            "WHERE p.relname IN ('ingest_hit', 'ingest_exposureblock') GROUP BY 1"
        ).fetchall()
        total = one(conn, "SELECT pg_database_size(current_database())")
    sizes: dict[str, int] = {str(name): int(size) for name, size in rows}
    hour = 3600 / seconds / 2**30
    hits_b, blocks_b = sizes.get("ingest_hit", 0), sizes.get("ingest_exposureblock", 0)
    print(
        f"  database: {hits_b / max(hits, 1):.0f} bytes per hit with its indexes; per hour of "
        f"this load {hits_b * hour:.2f} GiB of hits, {blocks_b * hour:.2f} GiB of blocks; "
        f"whole database {total / 2**30:.2f} GiB"
    )


def batch_search(env: dict[str, str], lake: Path, load: Load, since: int, until: int) -> None:
    """The batch search over the lake after the run: injected showers found at >= 5 sigma."""
    out = Path(tempfile.mkdtemp(prefix="crowdray-bench-batch-"))
    crowdray(
        "coincidence",
        "--input",
        str(lake),
        "--output",
        str(out / "r"),
        "--exposures",
        str(lake / "exposures"),
        "--since",
        str(since),
        "--until",
        str(until),
        "--allow-missing-days",
        env=env,
        timeout=3600,
    )
    import pyarrow.parquet as pq

    found = pq.read_table(out / "r" / "showers").to_pandas()
    found = found[found["significance_sigma"] >= 5.0]
    times = found["t_ns"].to_numpy(np.int64)
    hit = [s for s in load.showers if len(times) and np.abs(times - s.t_ns).min() <= 50 * MS]
    big = [s for s in load.showers if len(s.members) >= 10]
    print(
        f"  batch search after: {len(found)} candidates >= 5 sigma; injected found {len(hit)} "
        f"of {len(load.showers)} ({sum(len(s.members) >= 10 for s in hit)} of {len(big)} "
        "with >= 10 phones)"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--phones", type=int, default=1_000_000)
    p.add_argument("--fraction", type=float, default=0.02, help="share of the phones taking data")
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--upload-s", type=int, default=180)
    p.add_argument("--shower-every", type=float, default=20.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--no-batch", action="store_true", help="skip the batch search after")
    p.add_argument(
        "--vandals", action="store_true", help="add one broken phone of each kind (bench/vandals)"
    )
    args = p.parse_args()
    rng = np.random.default_rng(2026)
    seconds = args.minutes * 60
    with ThrowawayPostgres(durable=True) as pg:
        work = Path(tempfile.mkdtemp(prefix="crowdray-bench-million-"))
        lake = work / "lake"
        env = service_env(
            DATABASE_URL=pg.url,
            SECRET_KEY=SECRET,
            CROWDRAY_LAKE_DIR=str(lake),
            CROWDRAY_STATUS_CACHE_S="0",
        )
        crowdray("migrate", "--verbosity", "0", env=env)
        started = time.perf_counter()
        phones = register(pg.url, args.phones, rng)
        load = Load(phones, args.fraction, args.upload_s, rng)
        print(
            f"{args.phones:,} phones registered in {time.perf_counter() - started:.0f} s; "
            f"{len(load.active):,} take data ({args.fraction:g}), uploading every "
            f"{args.upload_s} s: {len(load.active) / args.upload_s:,.0f} blocks/s, "
            f"{len(load.active) * RATE_PER_MIN / 60:,.0f} hits/s; {args.minutes:g} min"
        )
        broken = vandal_phones(load) if args.vandals else {}
        follow_log = work / "follow.log"
        with serving(env, workers=args.workers) as url, open(follow_log, "w") as flog:
            follower = subprocess.Popen(
                [sys.executable, "-m", "crowdray.cli", "follow"],
                env=env,
                stdout=flog,
                stderr=subprocess.STDOUT,
            )
            try:
                since = time.time_ns() - args.upload_s * S
                before = cpu.snapshot()
                with Watch(url, load) as watch, Vandals(url, broken, post) as vandals:
                    drive(url, load, seconds, args.shower_every)
                    used = cpu.used(before, cpu.snapshot())
                    vandals.stop.set()
                    time.sleep(30)  # the last uploads' showers reach the API
                until = time.time_ns()
                report_uploads(load, seconds, pg.url, vandals.accepted_hits())
                vandals.report(pg.url)
                for name, lags in sorted(watch.lag.items()):
                    p50, p95 = pct(lags, 50), pct(lags, 95)
                    print(f"  follower {name}: lag p50 {p50:.1f} s, p95 {p95:.1f} s")
                report_live(follow_log, load, 15.0)
                for path, ms in sorted(watch.pages.items()):
                    print(
                        f"  page {path}: p50 {pct(ms, 50):.0f} ms, p95 {pct(ms, 95):.0f} ms "
                        f"({len(ms)} requests)"
                    )
                print(
                    "  CPU (cores busy): "
                    + ", ".join(f"{k} {v / seconds:.2f}" for k, v in used.items())
                )
                report_database(pg.url, seconds)
                if not args.no_batch:
                    crowdray("export", "--out", str(lake), env=env, timeout=3600)
                    batch_search(env, lake, load, since, until)
            finally:
                follower.terminate()
                follower.wait(60)


if __name__ == "__main__":
    main()
