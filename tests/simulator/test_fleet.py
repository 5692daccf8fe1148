"""The fleet of virtual phones against a live server, and its retries."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pyarrow.parquet as pq

from crowdray.process import crowdray, service_env, serving
from simulator.fleet import FleetConfig, Uploader


def test_the_database_holds_exactly_what_the_fleet_says_it_stored(tmp_path):
    env = service_env(CROWDRAY_DATA_DIR=str(tmp_path / "var"), CROWDRAY_REGISTER_RATE="10000/hour")
    env.pop("DATABASE_URL", None)
    crowdray("migrate", "--verbosity", "0", env=env)
    with serving(env) as url:
        result = subprocess.run(
            [sys.executable, "-m", "crowdray.cli", "simulate", "--post-to", url,
             "--devices", "30", "--duration", "600", "--speedup", "600", "--seed", "3",
             "--rate-per-min", "6", "--connections", "4", "--out", str(tmp_path / "fleet")],
            capture_output=True, text=True, timeout=300, env=env,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stderr.strip().splitlines()[-1])
    sent = pq.read_table(tmp_path / "fleet" / "sent.parquet").to_pandas()
    assert summary["phones"] == 30 and summary["sent"] == len(sent) > 500
    assert summary["accepted"] + summary.get("duplicates", 0) == sent.stored.sum()
    assert summary.get("errors", 0) == 0
    with sqlite3.connect(tmp_path / "var" / "crowdray.sqlite3") as db:
        stored = set(db.execute("SELECT device_id, seq FROM ingest_hit").fetchall())
        blocks = db.execute("SELECT count(*) FROM ingest_exposureblock").fetchone()[0]
    kept = sent[sent.stored]
    expected = {(d.replace("-", ""), int(s)) for d, s in zip(kept.device_id, kept.seq, strict=True)}
    assert stored == expected
    assert blocks == summary["blocks"] > 0


class Flaky(BaseHTTPRequestHandler):
    """Fails the first two posts with 503, then answers 201 and records the bodies."""

    bodies: list[bytes] = []
    failures = 2

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Flaky.bodies.append(body)
        if len(Flaky.bodies) <= Flaky.failures:
            self.send_response(503)
            self.end_headers()
            return
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"accepted": 1, "duplicates": 0, "rejected": []}')

    def log_message(self, *args: object) -> None:
        pass


def test_uploads_are_retried_after_server_errors_with_the_same_body():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        up = Uploader(FleetConfig(f"http://127.0.0.1:{server.server_port}"))
        reply = up.post("/api/v1/hits", {"hits": [{"seq": 7}]}, token="t")
    finally:
        server.shutdown()
    assert reply == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert len(Flaky.bodies) == 3 and len(set(Flaky.bodies)) == 1
    assert up.counts["retried_503"] == 2


class Throttled(BaseHTTPRequestHandler):
    """Answers the first post 429 with Retry-After: 1, then 201."""

    calls = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        Throttled.calls += 1
        if Throttled.calls == 1:
            self.send_response(429)
            self.send_header("Retry-After", "1")
            self.end_headers()
            return
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"accepted": 1, "duplicates": 0, "rejected": []}')

    def log_message(self, *args: object) -> None:
        pass


def test_a_throttled_fleet_says_how_long_it_waits(caplog):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Throttled)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        up = Uploader(FleetConfig(f"http://127.0.0.1:{server.server_port}"))
        with caplog.at_level(logging.WARNING, logger="simulator.fleet"):
            reply = up.post("/api/v1/hits", {"hits": [{"seq": 7}]}, token="t")
    finally:
        server.shutdown()
    assert reply is not None and reply["accepted"] == 1
    assert "POST /api/v1/hits answered 429: waiting 1.0 s before trying again" in caplog.text
