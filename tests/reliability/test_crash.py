"""PostgreSQL crashed under load: no acknowledged hit lost or doubled, only 503s meanwhile."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest
import requests

from crowdray.process import crowdray, service_env, serving
from crowdray.testing.postgres import ThrowawayPostgres
from tests.factories import hit

pytestmark = [pytest.mark.postgres, pytest.mark.postgres_only, pytest.mark.timeout(300)]
KEY = "test-only-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF"
PHONES, BATCH = 4, 50


# A few phones carry the whole load here: the hourly budget of hits per phone is off.
FLOOD_ENV = {
    "SECRET_KEY": KEY,
    "CROWDRAY_REGISTER_RATE": "1000/minute",
    "CROWDRAY_DEVICE_HITS_PER_HOUR": "0",
}


class Phones:
    """Phones that upload batches of new hits and retry each until it is acknowledged."""

    def __init__(self, url: str, tokens: list[str]) -> None:
        self.url, self.tokens = url, tokens
        self.acked: set[tuple[int, int]] = set()
        self.replies: dict[str, Counter[str]] = {
            "before": Counter(),
            "down": Counter(),
            "after": Counter(),
        }
        self.phase, self.stop, self.lock = "before", threading.Event(), threading.Lock()

    def run(self, k: int) -> None:
        session, seq = requests.Session(), 0
        headers = {"Authorization": f"Token {self.tokens[k]}"}
        while not self.stop.is_set():
            batch = {"hits": [hit(seq=seq + i) for i in range(BATCH)]}
            while True:  # a phone sends the same batch until it is stored
                phase = self.phase  # when the request was sent
                try:
                    reply = session.post(
                        f"{self.url}/api/v1/hits", json=batch, headers=headers, timeout=30
                    )
                    outcome = f"{reply.status_code} {reply.headers.get('Content-Type')}"
                except requests.RequestException as exc:
                    reply, outcome = None, type(exc).__name__
                with self.lock:
                    self.replies[phase][outcome] += 1
                if reply is not None and reply.status_code == 201:
                    with self.lock:
                        self.acked.update((k, s) for s in range(seq, seq + BATCH))
                    break
                time.sleep(0.2)
            seq += BATCH


def test_a_crashed_database_loses_no_acknowledged_hit_and_clients_see_only_503s(tmp_path):
    with ThrowawayPostgres(durable=True) as pg:
        env = service_env(**FLOOD_ENV, DATABASE_URL=pg.url)
        crowdray("migrate", "--verbosity", "0", env=env)
        with serving(env, workers=2) as url:
            tokens = [
                requests.post(f"{url}/api/v1/devices", json={}, timeout=10).json()["token"]
                for _ in range(PHONES)
            ]
            phones = Phones(url, tokens)
            threads = [threading.Thread(target=phones.run, args=(k,)) for k in range(PHONES)]
            for t in threads:
                t.start()
            time.sleep(3)
            pg.crash()
            phones.phase = "down"
            time.sleep(3)
            pg.restart()
            phones.phase = "after"
            time.sleep(4)
            phones.stop.set()
            for t in threads:
                t.join(60)
        with psycopg.connect(pg.url) as conn:
            rows, keys = conn.execute(
                "SELECT count(*), count(DISTINCT (device_id, seq)) FROM ingest_hit"
            ).fetchone()  # type: ignore[misc]
    assert rows == keys == len(phones.acked) > 0  # every acknowledged hit, once
    created, unavailable = "201 application/json", "503 application/problem+json"
    # Sent before the crash: stored, or a 503 for those in flight when it came.
    assert set(phones.replies["before"]) <= {created, unavailable}, phones.replies
    assert set(phones.replies["down"]) <= {created, unavailable}, phones.replies
    assert phones.replies["down"][unavailable] > 0
    # Sent after the restart: every one stored, the first included (no stale connection).
    assert set(phones.replies["after"]) == {created}, phones.replies


def gunicorn_workers(url: str) -> list[int]:
    """Pids of the gunicorn workers serving url (children of its master)."""
    port = url.rsplit(":", 1)[1]
    procs: dict[int, tuple[int, str]] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            cmdline = (status.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            ppid = int(
                next(
                    line.split()[1]
                    for line in status.read_text().splitlines()
                    if line.startswith("PPid:")
                )
            )
        except (OSError, StopIteration, ValueError):
            continue
        if "gunicorn" in cmdline and f":{port}" in cmdline:
            procs[int(status.parent.name)] = (ppid, cmdline)
    return [pid for pid, (ppid, _) in procs.items() if ppid in procs]


def test_a_worker_killed_under_load_loses_no_acknowledged_hit(tmp_path):
    with ThrowawayPostgres(durable=True) as pg:
        env = service_env(**FLOOD_ENV, DATABASE_URL=pg.url)
        crowdray("migrate", "--verbosity", "0", env=env)
        with serving(env, workers=2) as url:
            tokens = [
                requests.post(f"{url}/api/v1/devices", json={}, timeout=10).json()["token"]
                for _ in range(PHONES)
            ]
            phones = Phones(url, tokens)
            threads = [threading.Thread(target=phones.run, args=(k,)) for k in range(PHONES)]
            for t in threads:
                t.start()
            time.sleep(3)
            workers = gunicorn_workers(url)
            assert len(workers) == 2
            os.kill(workers[0], signal.SIGKILL)  # mid-request, most likely
            phones.phase = "down"
            time.sleep(4)
            phones.phase = "after"
            time.sleep(2)
            phones.stop.set()
            for t in threads:
                t.join(60)
            assert len(gunicorn_workers(url)) == 2  # gunicorn started another
        with psycopg.connect(pg.url) as conn:
            rows, keys = conn.execute(
                "SELECT count(*), count(DISTINCT (device_id, seq)) FROM ingest_hit"
            ).fetchone()  # type: ignore[misc]
    assert rows == keys == len(phones.acked) > 0
    assert set(phones.replies["after"]) == {"201 application/json"}, phones.replies
