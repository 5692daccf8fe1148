"""The OpenAPI schema is the contract: schemathesis holds a live server to it.

`crowdray serve` (SQLite, the follower inside, osmem-server or ELASTICSEARCH_URL
as the search index) with a device, uploaded hits and loaded showers; then
schemathesis (CLI, bounded examples, fixed seed) generates requests from
/api/schema/ for every operation and checks each reply: no 5xx, a status code,
content type and body the schema documents. Once with a device token, once
with a researcher's token for every GET (the researchers' endpoints included).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from crowdray.process import crowdray, service_env, serving
from tests.factories import hits, search_result, shower_row
from tests.plugin import _state  # the cluster pytest was given, if any

pytestmark = pytest.mark.timeout(600)
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
EXAMPLES = "25"


def schemathesis(url: str, *options: str) -> subprocess.CompletedProcess[str]:
    st = Path(sys.executable).with_name("st")
    command = [
        str(st),
        "run",
        f"{url}/api/schema/",
        "--url",
        url,
        "--checks",
        ",".join(CHECKS),
        "-n",
        EXAMPLES,
        "--generation-deterministic",
        "--request-timeout",
        "30",
        *options,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=500, check=False)


def seeded(url: str, data: Path, env: dict[str, str]) -> str:
    """A device with 20 hits and two loaded showers of them; returns the device token."""
    token = requests.post(f"{url}/api/v1/devices", json={"model": "st"}, timeout=10).json()
    headers = {"Authorization": f"Token {token['token']}"}
    reply = requests.post(
        f"{url}/api/v1/hits", json={"hits": hits(20)}, headers=headers, timeout=10
    )
    assert reply.status_code == 201, reply.text
    now = time.time_ns()
    rows = [shower_row("S1", [1, 2, 3], now - 10**9), shower_row("S2", [4, 5, 6], now - 10**8)]
    crowdray("load-showers", str(search_result(data / "run", rows, (now - 10**12, now))), env=env)
    return str(token["token"])


def test_the_api_keeps_its_schema_for_generated_requests(tmp_path, search_server):
    clone = None if search_server is None else search_server.clone()
    try:
        run_both(tmp_path, _state["ELASTICSEARCH_URL"] if clone is None else clone.url)
    finally:
        if clone is not None:
            clone.close()


def run_both(tmp_path: Path, index: str) -> None:
    env = service_env(
        CROWDRAY_DATA_DIR=str(tmp_path),
        ELASTICSEARCH_URL=index,
        ELASTICSEARCH_COMPAT=_state.get("ELASTICSEARCH_COMPAT") or "plain-json",
        CROWDRAY_REGISTER_RATE="100000/hour",
        CROWDRAY_PUBLIC_RATE="100000/minute",
    )
    crowdray("migrate", "--verbosity", "0", env=env)
    added = crowdray("researcher", "add", "r@example.org", env=env)
    researcher = re.search(r"Token (\S+)'", added).group(1)  # type: ignore[union-attr]
    with serving(env) as url:
        token = seeded(url, tmp_path, env)
        as_device = schemathesis(url, "-H", f"Authorization: Token {token}")
        assert as_device.returncode == 0, as_device.stdout[-8000:]
        as_researcher = schemathesis(
            url, "-H", f"Authorization: Token {researcher}", "--include-method", "GET"
        )
        assert as_researcher.returncode == 0, as_researcher.stdout[-8000:]
