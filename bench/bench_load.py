"""Open-loop load: the highest rate of 100-hit batches with p99 < 200 ms and no errors.

Batches are scheduled at fixed intervals, whatever the replies do (open loop:
a slow server does not slow the clients down), and sent by a pool of
connections, one device each. A batch's latency counts from its scheduled
time, so queueing shows. The rate starts at --start hits/s and grows 1.25x per
step of --seconds until p99 reaches 200 ms or a request fails; the figure is
the last rate that held. Run against the embedded default (SQLite, the
follower inside serve) and PostgreSQL (durable, `crowdray follow` beside it),
with the load generator on the same 2-core machine.
Reference: about 12,000 hits/s on PostgreSQL when the hardening issue was filed.

    .venv/bin/python bench/bench_load.py [--seconds 8] [--start 2000] [--db sqlite postgres]
"""

from __future__ import annotations

import argparse
import http.client
import json
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_ingest import BATCH, make_batch
from crowdray.process import crowdray, service_env, serving
from crowdray.testing.postgres import ThrowawayPostgres

GOAL_P99_MS = 200.0
CONNECTIONS = 48
KEY = "bench-only-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGH"
REFERENCE_PG = 12_000
FAILED: list[str] = []  # the first failure, to report


class Sender:
    """A connection with its own device, sending scheduled batches from a queue."""

    def __init__(self, url: str, token: str, k: int) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.batch = make_batch(np.random.default_rng(k), 0, time.time_ns() - 60 * 10**9)
        self.seq = 0

    def send(self, scheduled: float) -> tuple[float, bool]:
        """(latency from the scheduled time in ms, whether it was stored)."""
        for i, hit in enumerate(self.batch):
            hit["seq"] = self.seq + i
        self.seq += BATCH
        body = json.dumps({"hits": self.batch})
        for attempt in range(2):  # gunicorn closes idle keep-alive connections: reconnect once
            try:
                self.conn.request("POST", "/api/v1/hits", body=body, headers=self.headers)
                reply = self.conn.getresponse()
                data = reply.read()
            except (OSError, http.client.HTTPException) as exc:
                self.conn.close()
                if attempt:
                    FAILED.append(repr(exc))
                    return (time.perf_counter() - scheduled) * 1000, False
                continue
            ok = reply.status == 201
            if not ok:
                FAILED.append(f"{reply.status} {data[:200]!r}")
            break
        return (time.perf_counter() - scheduled) * 1000, ok


def step(senders: list[Sender], rate_hits: float, seconds: float) -> tuple[float, int, int]:
    """One rate: (p99 ms, batches sent, failures)."""
    work: queue.Queue[float | None] = queue.Queue()
    results: list[tuple[float, bool]] = []
    lock = threading.Lock()

    def worker(sender: Sender) -> None:
        while (scheduled := work.get()) is not None:
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            out = sender.send(scheduled)
            with lock:
                results.append(out)

    threads = [threading.Thread(target=worker, args=(s,)) for s in senders]
    for t in threads:
        t.start()
    interval, start = BATCH / rate_hits, time.perf_counter() + 0.2
    for k in range(int(seconds / interval)):
        work.put(start + k * interval)
    for _ in threads:
        work.put(None)
    for t in threads:
        t.join()
    latencies = np.array([ms for ms, _ in results])
    failures = sum(not ok for _, ok in results)
    return float(np.percentile(latencies, 99)), len(results), failures


def ramp(url: str, args: argparse.Namespace, label: str) -> float:
    """The highest rate that held; prints each step."""
    tokens = [
        requests.post(f"{url}/api/v1/devices", json={"model": "load"}, timeout=10).json()["token"]
        for _ in range(CONNECTIONS)
    ]
    senders = [Sender(url, t, k) for k, t in enumerate(tokens)]
    rate, held = args.start, 0.0
    for _ in range(args.steps):
        p99, sent, failures = step(senders, rate, args.seconds)
        ok = p99 < GOAL_P99_MS and failures == 0
        print(
            f"  {label:8s} {rate:9,.0f} hits/s  {sent:5d} batches  p99 {p99:7.1f} ms  "
            f"failures {failures}  {'held' if ok else 'NOT held'}",
            flush=True,
        )
        if not ok:
            break
        held, rate = rate, rate * 1.25
    return held


# Each phone here sends 100 hits a second within ~1 km, a flood: this measures
# the upload and the counters (bench_live measures the live search).
LIVE_OFF = "0"


@contextmanager
def sqlite_server() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as data:
        env = service_env(
            CROWDRAY_DATA_DIR=data,
            CROWDRAY_REGISTER_RATE="100000/hour",
            CROWDRAY_DEVICE_HITS_PER_HOUR="0",  # a few phones carry the whole load
            CROWDRAY_LIVE_INTERVAL_S=LIVE_OFF,
        )
        env.pop("DATABASE_URL", None)
        crowdray("migrate", "--verbosity", "0", env=env)
        with serving(env, workers=2) as url:
            yield url


@contextmanager
def postgres_server() -> Iterator[str]:
    with ThrowawayPostgres(durable=True) as pg, tempfile.TemporaryDirectory() as data:
        env = service_env(
            DATABASE_URL=pg.url,
            SECRET_KEY=KEY,
            CROWDRAY_DATA_DIR=data,
            CROWDRAY_REGISTER_RATE="100000/hour",
            CROWDRAY_DEVICE_HITS_PER_HOUR="0",  # a few phones carry the whole load
            CROWDRAY_LIVE_INTERVAL_S=LIVE_OFF,
        )
        crowdray("migrate", "--verbosity", "0", env=env)
        argv = [sys.executable, "-m", "crowdray.cli", "follow"]
        follower = subprocess.Popen(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            with serving(env, workers=2) as url:
                yield url
        finally:
            follower.terminate()
            try:
                follower.wait(30)
            except subprocess.TimeoutExpired:  # a long catch-up turn; killing it loses nothing
                follower.kill()
                follower.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per rate step (8)")
    parser.add_argument("--start", type=float, default=2000.0, help="first rate, hits/s (2000)")
    parser.add_argument("--steps", type=int, default=14, help="most steps (14)")
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgres"])
    args = parser.parse_args()
    servers: dict[str, Any] = {"sqlite": sqlite_server, "postgres": postgres_server}
    held = {}
    for name in args.db:
        with servers[name]() as url:
            held[name] = ramp(url, args, name)
    for name, rate in held.items():
        ratio = (
            f" ({rate / REFERENCE_PG:.2f}x the reference {REFERENCE_PG:,})"
            if name == "postgres"
            else ""
        )
        print(
            f"{name}: highest rate with p99 < {GOAL_P99_MS:.0f} ms and 0 errors: "
            f"{rate:,.0f} hits/s{ratio}"
        )
    if FAILED:
        print(f"first failure: {FAILED[0]}")


if __name__ == "__main__":
    main()
