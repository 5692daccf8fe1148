"""The OpenAPI schema is the contract: schemathesis holds a live server to it.

`crowdray serve` (the follower inside, osmem-server or ELASTICSEARCH_URL as the
search index), on the embedded SQLite and on a throwaway PostgreSQL, with a
device, uploaded hits and loaded showers. Then schemathesis (CLI, 40 examples an
operation, deterministic) generates requests from /api/schema/ for every
operation and runs every check it has (schemathesis.toml) on each reply: no 5xx,
documented status codes, content types, headers and bodies, schema-valid
requests accepted and schema-violating ones refused. Once with a device token,
once with a researcher's token for every GET (the researchers' endpoints
included). schemathesis_hooks.py makes generated requests follow the rules
between fields that OpenAPI cannot state (a time window that moves with the
clock, until after since, near with within_km).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from crowdray.process import crowdray, service_env, serving
from crowdray.testing.postgres import ThrowawayPostgres
from tests.crowdray.schemathesis_hooks import SALT
from tests.factories import hits, search_result, shower_row
from tests.plugin import _state  # the cluster pytest was given, if any

pytestmark = pytest.mark.timeout(600)
EXAMPLES = "40"
KEY = "test-only-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEF"


def schemathesis(url: str, *options: str) -> subprocess.CompletedProcess[str]:
    st = Path(sys.executable).with_name("st")
    command = [
        str(st),
        "--config-file",
        str(Path(__file__).with_name("schemathesis.toml")),
        "run",
        f"{url}/api/schema/",
        "--url",
        url,
        "-n",
        EXAMPLES,
        "--generation-deterministic",
        "--request-timeout",
        "30",
        *options,
    ]
    root = Path(__file__).parents[2]
    env = service_env(SCHEMATHESIS_HOOKS="tests.crowdray.schemathesis_hooks", PYTHONPATH=str(root))
    return subprocess.run(
        command, capture_output=True, text=True, timeout=500, check=False, env=env, cwd=root
    )


def report(stdout: str) -> str:
    """Schemathesis's failures, each line cut to 400 characters (bodies can be huge)."""
    if "FAILURES" not in stdout:  # schemathesis could not run: its own message
        return stdout[-4000:]
    failures = stdout[stdout.find("FAILURES") :]
    return "\n".join(line[:400] for line in failures.splitlines() if line.strip())[:12000]


def seeded(url: str, data: Path, env: dict[str, str]) -> str:
    """A device with 20 hits and two loaded showers of them; returns the device token."""
    token = requests.post(f"{url}/api/v1/devices", json={"model": "st"}, timeout=10).json()
    headers = {"Authorization": f"Token {token['token']}"}
    now = time.time_ns()
    at = now - 60 * 10**9  # the showers' time is their hits' (the contract)
    reply = requests.post(
        f"{url}/api/v1/hits", json={"hits": hits(20, t_ns=at)}, headers=headers, timeout=10
    )
    assert reply.status_code == 201, reply.text
    rows = [shower_row("S1", [1, 2, 3], at), shower_row("S2", [4, 5, 6], at)]
    crowdray("load-showers", str(search_result(data / "run", rows, (now - 10**12, now))), env=env)
    shower = requests.get(f"{url}/api/v1/showers/S1", timeout=10).json()
    assert shower["member_cells"], shower  # linked to its hits
    return str(token["token"])


def test_the_api_keeps_its_schema_for_generated_requests(tmp_path, search_server):
    """The embedded default: SQLite, the follower inside serve."""
    with index_for_test(search_server) as index:
        run_both(tmp_path, index)


@pytest.mark.postgres
@pytest.mark.postgres_only
def test_on_postgres_the_api_keeps_its_schema_for_generated_requests(tmp_path, search_server):
    """A throwaway PostgreSQL of its own, the follower inside serve to feed the index."""
    with index_for_test(search_server) as index, ThrowawayPostgres() as pg:
        run_both(tmp_path, index, DATABASE_URL=pg.url, SECRET_KEY=KEY)


@contextmanager
def index_for_test(search_server: Any) -> Iterator[str]:
    """An empty search server of the test's own, or the cluster pytest was given."""
    if search_server is None:
        yield _state["ELASTICSEARCH_URL"]
        return
    clone = search_server.clone()
    try:
        yield clone.url
    finally:
        clone.close()


def run_both(tmp_path: Path, index: str, **database: str) -> None:
    env = service_env(
        CROWDRAY_DATA_DIR=str(tmp_path),
        ELASTICSEARCH_URL=index,
        ELASTICSEARCH_COMPAT=_state.get("ELASTICSEARCH_COMPAT") or "plain-json",
        CROWDRAY_REGISTER_RATE="100000/hour",
        CROWDRAY_PUBLIC_RATE="100000/minute",
        CROWDRAY_CRAYFIS_SALT=SALT,
        **database,
    )
    crowdray("migrate", "--verbosity", "0", env=env)
    added = crowdray("researcher", "add", "r@example.org", env=env)
    researcher = re.search(r"Token (\S+)'", added).group(1)  # type: ignore[union-attr]
    with serving(env, follow=True) as url:
        token = seeded(url, tmp_path, env)
        as_device = schemathesis(url, "-H", f"Authorization: Token {token}")
        assert as_device.returncode == 0, report(as_device.stdout)
        as_researcher = schemathesis(
            url, "-H", f"Authorization: Token {researcher}", "--include-method", "GET"
        )
        assert as_researcher.returncode == 0, report(as_researcher.stdout)
