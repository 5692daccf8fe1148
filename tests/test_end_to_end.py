"""From phones to the dashboard: `crowdray demo` small, then the status API of the result."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys

import pyarrow.parquet as pq
import requests

from crowdray.process import free_port, service_env, serving


def test_injected_showers_reach_the_dashboard_api_with_their_multiplicities(tmp_path):
    env = service_env(CROWDRAY_DATA_DIR=str(tmp_path))
    env.pop("DATABASE_URL", None)
    demo = subprocess.run(
        [
            sys.executable,
            "-m",
            "crowdray.cli",
            "demo",
            "--no-serve",
            "--devices",
            "90",
            "--minutes",
            "0.4",
            "--speedup",
            "240",
            "--seed",
            "5",
            "--bind",
            f"127.0.0.1:{free_port()}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert demo.returncode == 0, demo.stderr[-3000:]
    found = re.search(
        r"injected \(>= 3 phones fired\) (\d+), found (\d+), missed (\d+)", demo.stdout
    )
    assert found, demo.stdout[-2000:]
    injected, hit, missed = map(int, found.groups())
    assert injected >= 10 and missed == 0 and hit == injected

    # What each loaded shower is made of, from the database and what the fleet sent.
    sent = pq.read_table(tmp_path / "demo" / "fleet" / "sent.parquet").to_pandas()
    device_of = {
        (d.replace("-", ""), int(s)): d for d, s in zip(sent.device_id, sent.seq, strict=True)
    }
    rows = zip(sent.device_id, sent.seq, sent.shower, strict=True)
    shower_of = {(d.replace("-", ""), int(s)): int(x) for d, s, x in rows}
    with sqlite3.connect(tmp_path / "crowdray.sqlite3") as db:
        links = db.execute(
            "SELECT l.shower_id, h.device_id, h.seq FROM ingest_shower_hits l "
            "JOIN ingest_hit h ON h.id = l.hit_id"
        ).fetchall()
    members: dict[str, set[str]] = {}
    injected_in: dict[str, set[int]] = {}
    for shower_id, device, seq in links:
        members.setdefault(shower_id, set()).add(device_of[(device, seq)])
        injected_in.setdefault(shower_id, set()).add(shower_of[(device, seq)])

    with serving(env, workers=1) as url:
        listed, page = [], f"{url}/api/v1/showers?page_size=500"
        while page:
            body = requests.get(page, timeout=10).json()
            listed += body["results"]
            page = body["next"]
        status = requests.get(f"{url}/api/v1/status", timeout=10).json()
    assert len(listed) == len(members) >= injected
    for shower in listed:
        assert shower["n_devices"] == len(members[shower["shower_id"]])
    real = [s for s in listed if injected_in[s["shower_id"]] - {-1}]
    assert len(real) == injected
    # The public counts showers at CROWDRAY_PUBLIC_MIN_SIGMA (5) or more, not chance.
    assert all(s["is_shower"] == (s["significance_sigma"] >= 5) for s in listed)
    assert status["showers_7d"] == sum(s["is_shower"] for s in listed) > 0
    assert status["hits_last_hour"] > 0
