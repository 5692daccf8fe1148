"""The fleet of virtual phones against a live server, and its retries."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from crowdray.process import crowdray, service_env, serving
from simulator.fleet import FleetConfig, Uploader


def simulate(url: str, env: dict[str, str], out: Path, *options: str) -> tuple[dict[str, Any], Any]:
    """`crowdray simulate --post-to url` with these options: its summary and sent.parquet."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "crowdray.cli",
            "simulate",
            "--post-to",
            url,
            "--out",
            str(out),
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stderr.strip().splitlines()[-1])
    return summary, pq.read_table(out / "sent.parquet").to_pandas()


def embedded(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The environment of a migrated embedded SQLite server in tmp_path/var."""
    env = service_env(
        CROWDRAY_DATA_DIR=str(tmp_path / "var"), CROWDRAY_REGISTER_RATE="10000/hour", **settings
    )
    env.pop("DATABASE_URL", None)
    crowdray("migrate", "--verbosity", "0", env=env)
    return env


def test_the_database_holds_exactly_what_the_fleet_says_it_stored(tmp_path):
    env = embedded(tmp_path)
    with serving(env) as url:
        summary, sent = simulate(
            url,
            env,
            tmp_path / "fleet",
            *("--devices", "30", "--duration", "600", "--speedup", "600", "--seed", "3"),
            *("--rate-per-min", "6", "--connections", "4"),
        )
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


def test_a_fleet_speaking_as_the_crayfis_app_is_stored_as_its_chunks_said(tmp_path):
    env = embedded(tmp_path, CROWDRAY_CRAYFIS_SALT="fleet-salt")
    with serving(env) as url:
        summary, sent = simulate(
            url,
            env,
            tmp_path / "fleet",
            *("--dialect", "crayfis", "--crayfis-salt", "fleet-salt", "--devices", "12"),
            *("--duration", "300", "--speedup", "600", "--seed", "4"),
            # so that some phone has a minute with no hit: its block still counts
            *("--rate-per-min", "2"),
        )
    assert summary["phones"] == 12 and summary["sent"] == len(sent) > 60
    assert sent.stored.all() and summary.get("errors", 0) == 0
    with sqlite3.connect(tmp_path / "var" / "crowdray.sqlite3") as db:
        hits = db.execute("SELECT count(*), count(DISTINCT device_id) FROM ingest_hit").fetchone()
        phones = db.execute("SELECT count(*) FROM crayfis_phone").fetchone()[0]
        blocks = db.execute("SELECT count(*) FROM ingest_exposureblock").fetchone()[0]
        quiet = db.execute(
            "SELECT count(*) FROM ingest_exposureblock b WHERE NOT EXISTS (SELECT 1 FROM"
            " ingest_hit h WHERE h.device_id = b.device_id AND h.t_ns >= b.start_ns"
            " AND h.t_ns < b.end_ns)"
        ).fetchone()[0]
    assert hits == (len(sent), 12) and phones == 12
    assert blocks == summary["blocks"] == 12 * 5  # a block per phone per minute's upload
    assert quiet > 0  # minutes without a hit are live time too


def scripted(*answers: tuple[int, dict[str, str]]) -> type[BaseHTTPRequestHandler]:
    """A handler that gives these (status, headers) answers to the first posts, then 201.

    It records every body it receives in its `bodies`.
    """

    class Scripted(BaseHTTPRequestHandler):
        bodies: list[bytes] = []

        def do_POST(self) -> None:
            self.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            if len(self.bodies) <= len(answers):
                status, headers = answers[len(self.bodies) - 1]
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                return
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"accepted": 1, "duplicates": 0, "rejected": []}')

        def log_message(self, *args: object) -> None:
            pass

    return Scripted


def post_once(handler: type[BaseHTTPRequestHandler]) -> tuple[Uploader, Any]:
    """One upload through the fleet's Uploader to a real HTTP server with this handler."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        up = Uploader(FleetConfig(f"http://127.0.0.1:{server.server_port}"))
        return up, up.post("/api/v1/hits", {"hits": [{"seq": 7}]}, token="t")
    finally:
        server.shutdown()


def test_uploads_are_retried_after_server_errors_with_the_same_body():
    handler = scripted((503, {}), (503, {}))
    up, reply = post_once(handler)
    assert reply == {"accepted": 1, "duplicates": 0, "rejected": []}
    bodies = handler.bodies  # type: ignore[attr-defined]
    assert len(bodies) == 3 and len(set(bodies)) == 1
    assert up.counts["retried_503"] == 2


def test_a_throttled_fleet_says_how_long_it_waits(caplog):
    with caplog.at_level(logging.WARNING, logger="simulator.fleet"):
        _, reply = post_once(scripted((429, {"Retry-After": "1"})))
    assert reply is not None and reply["accepted"] == 1
    assert "POST /api/v1/hits answered 429: waiting 1.0 s before trying again" in caplog.text
