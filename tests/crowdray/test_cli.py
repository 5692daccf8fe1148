"""`crowdray serve` runs the real service under gunicorn; commands pass through to Django."""

from __future__ import annotations

import re
import time

import requests

from crowdray.process import crowdray, service_env, serving
from tests.factories import hits


def test_serve_answers_uploads_over_http_and_commits_them(tmp_path):
    env = service_env(CROWDRAY_DATA_DIR=str(tmp_path))
    env.pop("DATABASE_URL", None)
    crowdray("migrate", "--verbosity", "0", env=env)
    with serving(env) as url:
        token = requests.post(f"{url}/api/v1/devices", json={}, timeout=10).json()["token"]
        auth = {"Authorization": f"Token {token}"}
        reply = requests.post(
            f"{url}/api/v1/hits", json={"hits": hits(3)}, headers=auth, timeout=10
        )
        assert reply.status_code == 201
        assert reply.json()["accepted"] == 3
    # The service is gone; the hits are still in its database file.
    out = crowdray(
        "shell", "-c", "from ingest.models import Hit; print(Hit.objects.count())", env=env
    )
    assert out.strip().splitlines()[-1] == "3"


def test_the_api_docs_load_only_from_this_server(tmp_path):
    env = service_env(CROWDRAY_DATA_DIR=str(tmp_path))
    env.pop("DATABASE_URL", None)
    with serving(env, workers=1) as url:
        page = requests.get(f"{url}/api/docs/", timeout=10)
        assert page.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert assets, "the docs page references its scripts"
        for asset in assets:
            assert asset.startswith("/"), f"{asset} is not served by this server"
            assert requests.get(url + asset, timeout=10).status_code == 200, asset
        schema = requests.get(f"{url}/api/schema/?format=json", timeout=10).json()
        for path in ("/api/v1/devices", "/api/v1/hits", "/api/v1/exposures"):
            assert path in schema["paths"]


def test_serve_rejects_a_bad_worker_count(tmp_path):
    env = service_env(CROWDRAY_DATA_DIR=str(tmp_path))
    try:
        crowdray("serve", "--workers", "0", env=env, timeout=30)
    except RuntimeError as exc:
        assert "--workers and --threads must be at least 1" in str(exc)
    else:
        raise AssertionError("serve accepted --workers 0")


def test_serve_on_a_sqlite_database_url_runs_the_follower_and_says_so(tmp_path):
    # DATABASE_URL=sqlite:///... is still the embedded database: nobody else follows it.
    env = service_env(
        CROWDRAY_DATA_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'own.sqlite3'}",
        SECRET_KEY="0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    )
    crowdray("migrate", "--verbosity", "0", env=env)
    log = tmp_path / "serve.log"
    with serving(env, workers=1, log=log) as url:
        token = requests.post(f"{url}/api/v1/devices", json={}, timeout=10).json()["token"]
        auth = {"Authorization": f"Token {token}"}
        reply = requests.post(
            f"{url}/api/v1/hits", json={"hits": hits(4)}, headers=auth, timeout=10
        )
        assert reply.status_code == 201
        deadline = time.monotonic() + 60
        while True:
            lag = requests.get(f"{url}/api/v1/health", timeout=10).json()["consumers"]
            if lag["counters"]["folded"] >= 4:
                break
            assert time.monotonic() < deadline, lag
            time.sleep(0.1)
    assert "the follower runs inside serve (database engine" in log.read_text()


def test_serve_on_postgres_leaves_the_follower_to_its_own_process_and_says_so(tmp_path):
    env = service_env(
        CROWDRAY_DATA_DIR=str(tmp_path),
        DATABASE_URL="postgres://nobody@127.0.0.1:1/none",
        SECRET_KEY="0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        DEBUG="1",
    )
    log = tmp_path / "serve.log"
    with serving(env, workers=1, log=log):
        pass
    assert "run `crowdray follow`" in log.read_text()
