"""The follower against live servers: counters trail uploads, a killed follower, health."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests

from crowdray.process import crowdray, service_env, serving
from crowdray.testing.postgres import ThrowawayPostgres
from tests.factories import block, hits

BATCHES = 12


def register(url: str) -> dict[str, str]:
    token = requests.post(f"{url}/api/v1/devices", json={}, timeout=10).json()["token"]
    return {"Authorization": f"Token {token}"}


def upload(url: str, headers: dict[str, str], n: int = 50) -> int:
    reply = requests.post(f"{url}/api/v1/hits", json={"hits": hits(n)}, headers=headers, timeout=30)
    assert reply.status_code == 201, reply.text
    accepted: int = reply.json()["accepted"]
    return accepted


def counters(url: str) -> dict[str, Any]:
    reply = requests.get(f"{url}/api/v1/health", timeout=10)
    assert reply.status_code == 200, reply.text
    lag: dict[str, Any] = reply.json()["consumers"]["counters"]
    return lag


def wait_until_folded(url: str, total: int, timeout: float = 60) -> float:
    """Seconds until the counters have folded `total` rows."""
    start = time.monotonic()
    while counters(url)["folded"] < total:
        assert time.monotonic() - start < timeout, counters(url)
        time.sleep(0.05)
    return time.monotonic() - start


def test_counters_trail_uploads_by_at_most_5_s_p95_with_the_follower_inside_serve(tmp_path):
    env = service_env(
        CROWDRAY_DATA_DIR=str(tmp_path),
        CROWDRAY_STATUS_CACHE_S="0",
        CROWDRAY_STATUS_INTERVAL_S="0",
        CROWDRAY_MAX_HITS_PER_MIN="1000000",  # many hits from one phone a minute here
    )
    env.pop("DATABASE_URL", None)
    crowdray("migrate", "--verbosity", "0", env=env)
    with serving(env, workers=2, log=tmp_path / "serve.log") as url:
        headers = register(url)
        reply = requests.post(
            f"{url}/api/v1/exposures", json={"blocks": [block()]}, headers=headers, timeout=10
        )
        total, trails = reply.json()["accepted"], []
        for _ in range(BATCHES):
            total += upload(url, headers)
            trails.append(wait_until_folded(url, total))
            time.sleep(0.2)
        status = requests.get(f"{url}/api/v1/status", timeout=10).json()
        health = counters(url)
    p95 = float(np.percentile(trails, 95))
    assert p95 <= 5.0, f"counters trail uploads: p50 {np.median(trails):.2f} s, p95 {p95:.2f} s"
    assert status["hits_last_hour"] == total - 1  # every hit once; the block is not a hit
    assert status["devices_active"] == 1
    assert (health["rows"], health["seconds"]) == (0, 0.0)


def follow(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "crowdray.cli", "follow"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


@pytest.mark.postgres
@pytest.mark.postgres_only
def test_on_postgres_a_follower_killed_under_load_resumes_and_a_dead_database_shows_in_health(
    tmp_path,
):
    with ThrowawayPostgres() as pg:
        env = service_env(
            DATABASE_URL=pg.url,
            SECRET_KEY="test-only-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF",
            CROWDRAY_STATUS_CACHE_S="0",
            CROWDRAY_STATUS_INTERVAL_S="0",
            CROWDRAY_MAX_HITS_PER_MIN="1000000",
            CROWDRAY_REGISTER_RATE="1000/minute",
        )
        crowdray("migrate", "--verbosity", "0", env=env)
        with serving(env, workers=2) as url:  # no follower inside serve on PostgreSQL
            headers = [register(url) for _ in range(4)]
            total = sum(upload(url, h) for h in headers)
            time.sleep(1.5)
            assert counters(url)["folded"] == 0  # nobody folds until `crowdray follow` runs
            follower = follow(env, tmp_path / "follow.log")
            for k in range(40):
                total += upload(url, headers[k % 4], n=100)
                if k == 20:
                    follower.send_signal(signal.SIGKILL)  # at whatever point it was
                    follower.wait(10)
                    follower = follow(env, tmp_path / "follow.log")
            wait_until_folded(url, total)
            time.sleep(1.5)  # anything counted twice would show now
            status = requests.get(f"{url}/api/v1/status", timeout=10).json()
            assert counters(url)["folded"] == total
            assert status["hits_last_hour"] == total
            assert status["devices_active"] == 4
            follower.terminate()
            assert follower.wait(10) == 0
            pg.stop()
            down = requests.get(f"{url}/api/v1/health", timeout=30)
            upload_down = requests.post(
                f"{url}/api/v1/hits", json={"hits": hits(3)}, headers=headers[0], timeout=30
            )
    assert upload_down.status_code == 503
    assert "nothing was stored" in upload_down.json()["detail"]
    assert int(upload_down.headers["Retry-After"]) > 0
    assert down.status_code == 503
    assert down.json()["database"] == "unreachable"
    assert int(down.headers["Retry-After"]) > 0
