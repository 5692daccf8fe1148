"""Ingest benchmark: hits/s over HTTP against raw COPY and against a naive DRF endpoint.

Starts a throwaway PostgreSQL (durable: fsync on), migrates it, starts
`crowdray serve` with 2 gunicorn workers and `crowdray follow`, and drives the
upload API from a separate process with concurrent clients posting 100-hit
batches of compact JSON for a fixed time, through a lean HTTP client (Client):
the phones are other machines, so the load generator should take as little
of this machine's 2 cores as it can. It reports the follower's rows/s folded
during the load and its lag when the load stops. Then, with the follower
stopped, the same load goes to a naive DRF endpoint (bench/naive.py:
ModelSerializer + bulk_create) on the same server and database. Last, one Python process COPYs
the same number of rows into a copy of the hits table.

The three take turns for --rounds rounds, and the ratios are the medians of
the rounds' ratios: this machine's speed drifts by 20-40 % between minutes.

Goals: >= 40% of the COPY rate, p99 <= 100 ms per batch, zero errors, every
accepted hit stored once; >= 3x the naive endpoint.

    .venv/bin/python bench/bench_ingest.py [--seconds 15] [--rounds 3] [--clients 8]
                                           [--live-interval 0 [--split-live]] [--spaced-json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import cpu
from crowdray.process import crowdray, service_env, serving
from crowdray.testing.postgres import ThrowawayPostgres
from vocab.contracts import UPLOAD_HIT_FIELDS

ROOT = Path(__file__).resolve().parent.parent
BATCH = 100
COLUMNS = UPLOAD_HIT_FIELDS


def make_batch(rng: np.random.Generator, seq0: int, t_ns: int) -> list[dict[str, Any]]:
    """100 realistic hits with consecutive seq numbers."""
    return [
        {
            "seq": seq0 + i,
            "t_ns": t_ns + int(rng.integers(0, 10**9)),
            "t_err_ns": 2_000_000,
            "lat": 46.2 + float(rng.normal(0, 0.01)),
            "lon": 6.14 + float(rng.normal(0, 0.01)),
            "alt_m": 410.0,
            "loc_err_m": 12.0,
            "x": int(rng.integers(0, 4000)),
            "y": int(rng.integers(0, 3000)),
            "value": int(rng.integers(30, 255)),
            "n_pixels": int(rng.integers(1, 20)),
        }
        for i in range(BATCH)
    ]


class Client:
    """A lean HTTP/1.1 keep-alive client for the load generator.

    The phones are other machines, so the load generator should take as little
    of this machine's CPU as it can.

    http.client with json.dumps took 481 us of CPU per batch, this 67 us
    (exploratory, against a server that answers at once). Replies must carry a
    Content-Length, as uvicorn's do; anything else counts as an error.
    """

    def __init__(self, url: str, path: str, token: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.address = (host, int(port))
        self.head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Token {token}\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n"
        )
        self.sock: socket.socket | None = None
        self.reader: Any = None

    def post(self, body: bytes) -> tuple[int, bytes]:
        """(status, body) of one request; (0, b"") when the connection failed."""
        try:
            if self.sock is None:
                self.sock = socket.create_connection(self.address, timeout=60)
                self.reader = self.sock.makefile("rb")
            self.sock.sendall((self.head % len(body)).encode() + body)
            return _reply(self.reader)
        except (OSError, ValueError, IndexError):
            self.close()  # reconnects on the next request
            return 0, b""

    def close(self) -> None:
        if self.sock is not None:
            self.reader.close()
            self.sock.close()
        self.sock = self.reader = None


def _reply(reader: Any) -> tuple[int, bytes]:
    """Read one reply: (status, body).

    ValueError without a Content-Length; ConnectionError if the connection
    closed before the body's end.
    """
    status = int(reader.readline().split()[1])
    length = None
    while (line := reader.readline()) not in (b"\r\n", b""):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length is None:
        raise ValueError("a reply without Content-Length")
    body = reader.read(length)
    if len(body) != length:
        raise ConnectionError("the server closed the connection mid-reply")
    return status, body


def client_loop(
    url: str,
    path: str,
    token: str,
    client: int,
    stop_at: float,
    out: list[tuple[float, int, int]],
    spaced: bool,
) -> None:
    """One client: post batches until stop_at, record (latency, status, accepted).

    Bodies are compact JSON, as phone apps' JSON libraries write them
    (17,868 bytes per 100 hits); `spaced` sends json.dumps's form (20,068).
    """
    rng = np.random.default_rng(client)
    conn = Client(url, path, token)
    # The hits are made once; each batch only renumbers them, so the load
    # generator spends its CPU on sending, not on making data.
    batch = make_batch(rng, 0, time.time_ns() - 60 * 10**9)
    seq = 0
    while time.monotonic() < stop_at:
        for i, hit in enumerate(batch):
            hit["seq"] = seq + i
        body = json.dumps({"hits": batch}).encode() if spaced else orjson.dumps({"hits": batch})
        start = time.perf_counter()
        status, data = conn.post(body)
        accepted = orjson.loads(data)["accepted"] if status == 201 else 0
        out.append((time.perf_counter() - start, status, accepted))
        seq += BATCH
    conn.close()


def drive(
    url: str, path: str, tokens: list[str], seconds: float, spaced: bool, queue: mp.Queue[Any]
) -> None:
    """The load generator process: one thread per client."""
    results: list[tuple[float, int, int]] = []
    stop_at = time.monotonic() + seconds
    threads = [
        threading.Thread(target=client_loop, args=(url, path, tok, i, stop_at, results, spaced))
        for i, tok in enumerate(tokens)
    ]
    start, cpu_start = time.perf_counter(), time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put(
        {
            "elapsed": time.perf_counter() - start,
            "results": results,
            "cpu_s": time.process_time() - cpu_start,
        }
    )


def copy_rate(dsn: str, n_rows: int) -> tuple[float, float]:
    """Rows/s of one Python process COPYing n_rows hits into a copy of the hits table.

    Also its CPU seconds per row, the client's and PostgreSQL's.
    """
    rng = np.random.default_rng(99)
    rows: list[tuple[Any, ...]] = []
    now = datetime.now(UTC)
    with psycopg.connect(dsn) as conn:
        device = scalar(conn, "SELECT id FROM ingest_device LIMIT 1")
        conn.execute("DROP TABLE IF EXISTS bench_copy")
        conn.execute("CREATE TABLE bench_copy (LIKE ingest_hit INCLUDING ALL)")
        conn.commit()
        for b in range(0, n_rows, BATCH):
            batch = make_batch(rng, b, time.time_ns())
            rows.extend((device, now, *(h[c] for c in COLUMNS)) for h in batch)
        cols = ", ".join(("device_id", "received_at", *COLUMNS))
        start, cpu_start, before = time.perf_counter(), time.process_time(), cpu.snapshot()
        with conn.cursor() as cur, cur.copy(f"COPY bench_copy ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()
        took = time.perf_counter() - start
        cpu_s = time.process_time() - cpu_start + cpu.used(before, cpu.snapshot())["postgres"]
        return len(rows) / took, cpu_s / len(rows)


def scalar(conn: psycopg.Connection[Any], sql: str) -> Any:
    """The first column of the first row of a query."""
    row = conn.execute(sql).fetchone()
    assert row is not None, sql
    return row[0]


def stored(dsn: str, tokens_of: str) -> tuple[int, int]:
    """Hits stored for the devices of one target, and (device, seq) stored more than once."""
    with psycopg.connect(dsn) as conn:
        total = scalar(
            conn,
            f"SELECT count(*) FROM ingest_hit h JOIN ingest_device d "
            f"ON d.id = h.device_id WHERE d.model = '{tokens_of}'",
        )
        dupes = scalar(
            conn,
            "SELECT count(*) FROM (SELECT 1 FROM ingest_hit GROUP BY device_id, seq"
            " HAVING count(*) > 1) d",
        )
    return total, dupes


def folded(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        n = scalar(
            conn,
            "SELECT coalesce(sum(rows), 0) FROM ingest_consumermark WHERE consumer = 'counters'",
        )
    return int(n)


@dataclass(frozen=True)
class Load:
    """What each client sends: for how long, and whether json.dumps's spaced bodies."""

    seconds: float
    spaced: bool = False


def run_load(url: str, path: str, tokens: list[str], load: Load) -> dict[str, Any]:
    queue: mp.Queue[Any] = mp.get_context("spawn").Queue()
    driver = mp.get_context("spawn").Process(
        target=drive, args=(url, path, tokens, load.seconds, load.spaced, queue)
    )
    before = cpu.snapshot()
    driver.start()
    run: dict[str, Any] = queue.get()
    run["cpu"] = {**cpu.used(before, cpu.snapshot()), "load generator": run.pop("cpu_s")}
    driver.join()
    return run


def register(url: str, n: int, model: str) -> list[str]:
    body = {"model": model}
    return [
        requests.post(f"{url}/api/v1/devices", json=body, timeout=10).json()["token"]
        for _ in range(n)
    ]


def follow_during(
    url: str, dsn: str, env: dict[str, str], tokens: list[str], load: Load, split: bool
) -> tuple[dict[str, Any], dict[str, float]]:
    """Our endpoint under load with `crowdray follow` running; the follower's figures."""
    followers = start_followers(env, split)
    try:
        time.sleep(3)  # started and idle
        before = folded(dsn)
        run = run_load(url, "/api/v1/hits", tokens, load)
        after = folded(dsn)
        health = requests.get(f"{url}/api/v1/health", timeout=30).json()["consumers"]["counters"]
        start = time.monotonic()
        while requests.get(f"{url}/api/v1/health", timeout=30).json()["consumers"]["counters"][
            "rows"
        ]:
            time.sleep(0.2)
        figures = {
            "rate": (after - before) / run["elapsed"],
            "lag_rows": health["rows"],
            "lag_s": health["seconds"],
            "catch_up_s": time.monotonic() - start,
        }
    finally:
        stop_all(followers)
    return run, figures


def start_followers(env: dict[str, str], split: bool) -> list[subprocess.Popen[bytes]]:
    """`crowdray follow`, or when split two: --skip live and --only live."""
    follow = [sys.executable, "-m", "crowdray.cli", "follow"]
    argvs = [[*follow, "--skip", "live"], [*follow, "--only", "live"]] if split else [follow]
    return [
        subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for argv in argvs
    ]


def stop_all(followers: list[subprocess.Popen[bytes]]) -> None:
    for follower in followers:
        follower.terminate()
    for follower in followers:
        follower.wait(30)


def follower_capacity(
    url: str, dsn: str, env: dict[str, str], tokens: list[str], load: Load, split: bool
) -> tuple[int, float]:
    """A backlog uploaded with no follower, then folded by one: rows and seconds."""
    run_load(url, "/api/v1/hits", tokens, load)
    before = folded(dsn)
    start = time.monotonic()
    followers = start_followers(env, split)
    try:
        while requests.get(f"{url}/api/v1/health", timeout=30).json()["consumers"]["counters"][
            "rows"
        ]:
            time.sleep(0.1)
        counted_in = time.monotonic() - start
        if "live" in consumers(url):  # --live-interval: how long the live search takes after
            while consumers(url)["live"]["rows"] and time.monotonic() - start < 900:
                time.sleep(0.5)
            print(
                f"live search done with the backlog after {time.monotonic() - start:.1f} s "
                f"({consumers(url)['live']['rows']} rows left)"
            )
    finally:
        stop_all(followers)
    return folded(dsn) - before, counted_in


def consumers(url: str) -> dict[str, Any]:
    reply: dict[str, Any] = requests.get(f"{url}/api/v1/health", timeout=30).json()["consumers"]
    return reply


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15, help="per target and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--spaced-json",
        action="store_true",
        help="send bodies as json.dumps writes them (with spaces; the load generator "
        "takes about 4x the CPU), as this bench did before 2026-11-24",
    )
    parser.add_argument(
        "--live-interval",
        type=float,
        default=0.0,
        help="run the live search every so many seconds (default 0: off, see below)",
    )
    parser.add_argument(
        "--split-live",
        action="store_true",
        help="with --live-interval: the live search in a follower process of its own",
    )
    args = parser.parse_args()
    load = Load(args.seconds, args.spaced_json)

    with ThrowawayPostgres(durable=True) as pg:
        env = service_env(
            DATABASE_URL=pg.url,
            SECRET_KEY="bench-only-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGH",  # noqa: S106 - a throwaway server
            CROWDRAY_REGISTER_RATE="100000/hour",
            CROWDRAY_DEVICE_HITS_PER_HOUR="0",  # a few phones carry the whole load
            # This load is 8 phones each sending 100 hits a second within ~1 km: a
            # flood. By default this measures the upload and the counters (bench_live
            # measures the live search); --live-interval adds the live search.
            CROWDRAY_LIVE_INTERVAL_S=str(args.live_interval),
            DJANGO_SETTINGS_MODULE="bench.naive_settings",
            PYTHONPATH=str(ROOT),
        )
        crowdray("migrate", "--verbosity", "0", env=env)
        rounds = []
        with serving(env, workers=args.workers) as url:
            # The targets take turns, so a slower spell of the machine falls on
            # each of them; ratios are taken within a round.
            for r in range(args.rounds):
                ours = register(url, args.clients, "ours")
                run, follower = follow_during(url, pg.url, env, ours, load, args.split_live)
                naive = register(url, args.clients, "naive")
                peer = run_load(url, "/naive/hits", naive, load)
                accepted = sum(x[2] for x in run["results"])
                raw, copy_cpu = copy_rate(pg.url, max(accepted, 10_000))
                rounds.append(report_round(r + 1, run, peer, follower, raw, copy_cpu))
            backlog, took = follower_capacity(
                url,
                pg.url,
                env,
                register(url, args.clients, "backlog"),
                load,
                args.split_live,
            )
        print(
            f"follower alone on a backlog of {backlog} hits: folded in {took:.1f} s "
            f"({backlog / took:,.0f} rows/s, including its start-up)"
        )
        report(rounds, pg.url, args)


def latencies_ms(run: dict[str, Any]) -> np.ndarray[Any, Any]:
    return np.array([r[0] for r in run["results"]]) * 1000


def report_round(
    r: int,
    run: dict[str, Any],
    peer: dict[str, Any],
    follower: dict[str, float],
    raw: float,
    copy_cpu: float,
) -> dict[str, Any]:
    """Print one round; return its figures."""
    print(f"round {r}:")
    rate, errors, accepted = summary("  crowdray POST /api/v1/hits", run)
    naive_rate, _, _ = summary("  naive DRF ModelSerializer + bulk_create", peer)
    print(
        f"  follower during the load: {follower['rate']:,.0f} rows/s folded; lag when the "
        f"load stopped {follower['lag_rows']:.0f} rows, {follower['lag_s']:.1f} s; "
        f"caught up {follower['catch_up_s']:.1f} s later"
    )
    print(
        f"  raw COPY from one Python process: {raw:,.0f} rows/s; crowdray / COPY "
        f"{rate / raw:.1%}, crowdray / naive {rate / naive_rate:.2f}x"
    )
    ours, theirs = server_cpu(run, accepted), server_cpu(peer, sum(x[2] for x in peer["results"]))
    print(
        f"  server CPU per hit (web + PostgreSQL): crowdray {ours * 1e6:.1f} us, naive "
        f"{theirs * 1e6:.1f} us, COPY (client + PostgreSQL) {copy_cpu * 1e6:.1f} us; "
        f"at equal CPU crowdray / COPY {copy_cpu / ours:.1%}, "
        f"crowdray / naive {theirs / ours:.2f}x"
    )
    return {
        "rate": rate,
        "naive": naive_rate,
        "copy": raw,
        "errors": errors,
        "cpu_copy": copy_cpu / ours,
        "cpu_naive": theirs / ours,
        "accepted": accepted,
        "latencies": latencies_ms(run),
        "naive_latencies": latencies_ms(peer),
        "follower": follower,
    }


def summary(name: str, run: dict[str, Any]) -> tuple[float, int, int]:
    """Print one target's figures; returns hits/s, errors, hits accepted."""
    latencies = latencies_ms(run)
    errors = sum(1 for r in run["results"] if r[1] != 201)
    accepted = sum(r[2] for r in run["results"])
    rate = accepted / run["elapsed"]
    print(
        f"{name}: {len(latencies)} batches, {accepted} hits accepted, {errors} errors, "
        f"{rate:,.0f} hits/s, latency per batch p50 {np.percentile(latencies, 50):.1f} ms, "
        f"p99 {np.percentile(latencies, 99):.1f} ms"
    )
    per = ", ".join(f"{role} {s / max(accepted, 1) * 1e5:.2f} s" for role, s in run["cpu"].items())
    busy = sum(run["cpu"].values()) / run["elapsed"]
    print(f"    CPU per 10^5 hits: {per}; {busy:.2f} of {os.cpu_count()} cores busy")
    return rate, errors, accepted


def server_cpu(run: dict[str, Any], accepted: int) -> float:
    """CPU seconds per accepted hit of the web workers and PostgreSQL."""
    return float(run["cpu"]["web"] + run["cpu"]["postgres"]) / max(accepted, 1)


def report(rounds: list[dict[str, Any]], dsn: str, args: argparse.Namespace) -> None:
    def median(key: str) -> float:
        return float(np.median([x[key] for x in rounds]))

    lat = np.concatenate([x["latencies"] for x in rounds])
    naive_lat = np.concatenate([x["naive_latencies"] for x in rounds])
    to_copy = float(np.median([x["rate"] / x["copy"] for x in rounds]))
    to_naive = float(np.median([x["rate"] / x["naive"] for x in rounds]))
    body = "spaced" if args.spaced_json else "compact"
    print(
        f"\nmedian of {args.rounds} rounds: {args.workers} gunicorn workers, "
        f"{args.clients} clients, {BATCH}-hit batches of {body} JSON, "
        f"{args.seconds:g} s per target"
    )
    print(
        f"  crowdray {median('rate'):,.0f} hits/s, p50 {np.percentile(lat, 50):.1f} ms, "
        f"p99 {np.percentile(lat, 99):.1f} ms per batch (goal p99 <= 100 ms)"
    )
    print(f"  naive DRF {median('naive'):,.0f} hits/s, p99 {np.percentile(naive_lat, 99):.1f} ms")
    folded_rate = float(np.median([x["follower"]["rate"] for x in rounds]))
    worst = max(x["follower"]["lag_rows"] for x in rounds)
    print(
        f"  follower {folded_rate:,.0f} rows/s folded while {median('rate'):,.0f} hits/s "
        f"arrived; largest lag when a load stopped {worst:.0f} rows"
    )
    print(f"  raw COPY {median('copy'):,.0f} rows/s")
    print(f"ratio crowdray / COPY: {to_copy:.1%} (goal >= 40%)")
    print(f"ratio crowdray / naive DRF: {to_naive:.2f}x (goal >= 3x)")
    print(
        f"at equal server CPU (web + PostgreSQL per hit; COPY: client + PostgreSQL): "
        f"crowdray / COPY {median('cpu_copy'):.1%}, crowdray / naive "
        f"{median('cpu_naive'):.2f}x"
    )
    accepted = sum(x["accepted"] for x in rounds)
    errors = sum(x["errors"] for x in rounds)
    total, dupes = stored(dsn, "ours")
    print(
        f"  table holds {total} of our {accepted} accepted hits, {errors} errors, "
        f"{dupes} (device, seq) stored more than once"
    )
    ok = errors == 0 and total == accepted and dupes == 0
    print("integrity:", "OK" if ok else "FAILED")
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
