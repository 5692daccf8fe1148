"""Uploads answered the short way (ingest/fast.py) get the replies Django gives.

Each test sends the same requests to `crowdray serve` with
CROWDRAY_FAST_UPLOADS on and off, each with a database of its own, and
compares status, headers and body. The fast server's /metrics shows which
uploads it answered itself, so the test compares the short way with Django,
not Django with itself.
"""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from crowdray.process import crowdray, service_env, serving

S = 10**9
PER_REPLY = {"date", "server"}  # set by uvicorn on every reply, whichever way it went


@contextmanager
def server(tmp: Path, fast: bool, **extra: str) -> Iterator[str]:
    tmp.mkdir()
    env = service_env(
        CROWDRAY_DATA_DIR=str(tmp),
        CROWDRAY_FAST_UPLOADS=str(fast).lower(),
        CROWDRAY_LIVE_INTERVAL_S="0",
        CROWDRAY_REGISTER_RATE="1000/hour",
        **extra,
    )
    crowdray("migrate", "--verbosity", "0", env=env)
    with serving(env, workers=1, follow=False) as url:
        yield url


def hits(seq0: int, n: int, now: int, **change: Any) -> list[dict[str, Any]]:
    return [
        {"seq": seq0 + i, "t_ns": now - (n - i) * S, "lat": 46.2, "lon": 6.14, **change}
        for i in range(n)
    ]


def requests_of(now: int) -> list[tuple[str, str, dict[str, str], bytes]]:
    """(name, path, headers, body) of each request; "TOKEN" stands for the device's token."""
    auth = {"Authorization": "Token TOKEN"}
    as_json = {**auth, "Content-Type": "application/json"}
    good = json.dumps({"hits": hits(0, 3, now)}).encode()
    mixed = [
        *hits(10, 2, now),
        {**hits(12, 1, now)[0], "lat": 91},
        {**hits(13, 1, now)[0], "colour": 1},
    ]
    block = {
        "block_id": "6f1c1d1e-0000-4000-8000-000000000001",
        "start_ns": now - 600 * S,
        "end_ns": now - S,
        "lat": 46.2,
        "lon": 6.14,
    }
    return [
        ("a new batch", "/api/v1/hits", as_json, good),
        ("the same batch again", "/api/v1/hits", as_json, good),
        (
            "some items rejected, one with an unknown field",
            "/api/v1/hits",
            as_json,
            json.dumps({"hits": mixed}).encode(),
        ),
        (
            "gzipped",
            "/api/v1/hits",
            {**as_json, "Content-Encoding": "gzip"},
            gzip.compress(json.dumps({"hits": hits(20, 2, now)}).encode()),
        ),
        ("exposure blocks", "/api/v1/exposures", as_json, json.dumps({"blocks": [block]}).encode()),
        (
            "every item rejected",
            "/api/v1/hits",
            as_json,
            json.dumps({"hits": hits(30, 2, now, lat=91)}).encode(),
        ),
        ("an unknown token", "/api/v1/hits", {"Authorization": "Token nope"}, good),
        ("a Bearer token", "/api/v1/hits", {"Authorization": "Bearer TOKEN"}, good),
        ("no token", "/api/v1/hits", {}, good),
        ("not JSON", "/api/v1/hits", as_json, b'{"hits": ['),
        ("no hits list", "/api/v1/hits", as_json, b'{"hit": []}'),
        ("an unsupported encoding", "/api/v1/hits", {**as_json, "Content-Encoding": "br"}, good),
        ("a host not allowed", "/api/v1/hits", {**as_json, "Host": "evil.example"}, good),
    ]


def replies(
    url: str, now: int, extra: dict[str, str]
) -> dict[str, tuple[int, dict[str, Any], Any]]:
    token = requests.post(f"{url}/api/v1/devices", json={}, headers=extra, timeout=10).json()[
        "token"
    ]
    out = {}
    for name, path, headers, body in requests_of(now):
        sent = {k: v.replace("TOKEN", token) for k, v in {**extra, **headers}.items()}
        reply = requests.post(
            f"{url}{path}", data=body, headers=sent, timeout=30, allow_redirects=False
        )
        out[name] = (reply.status_code, comparable(reply.headers), parsed(reply))
    return out


def comparable(headers: Any) -> dict[str, Any]:
    """Headers without uvicorn's own; the CSP as a set, its order being arbitrary."""
    out: dict[str, Any] = {k.lower(): v for k, v in headers.items() if k.lower() not in PER_REPLY}
    if "content-security-policy" in out:
        out["content-security-policy"] = set(out["content-security-policy"].split("; "))
    return out


def parsed(reply: requests.Response) -> Any:
    try:
        return reply.json()
    except ValueError:
        return reply.content


def fast_answered(url: str) -> dict[str, float]:
    # /metrics as a TLS proxy would ask for it when https is required
    text = requests.get(f"{url}/metrics", headers={"X-Forwarded-Proto": "https"}, timeout=10).text
    prefix = "crowdray_fast_uploads_total{"
    return {
        line.split('"')[1]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(prefix)
    }


def both_ways(tmp_path: Path, extra_headers: dict[str, str], **env: str) -> tuple[Any, Any, Any]:
    now = time.time_ns()
    with server(tmp_path / "fast", True, **env) as url:
        fast, answered = replies(url, now, extra_headers), fast_answered(url)
    with server(tmp_path / "django", False, **env) as url:
        slow, unanswered = replies(url, now, extra_headers), fast_answered(url)
    assert unanswered == {}
    return fast, slow, answered


def test_every_upload_gets_the_reply_django_gives(tmp_path):
    fast, slow, answered = both_ways(tmp_path, {})
    for name in slow:
        assert fast[name] == slow[name], name
    # The four good hit batches and the block went the short way; the rest to Django.
    assert answered == {"hits": 4.0, "blocks": 1.0}
    assert slow["a new batch"][2] == {
        "accepted": 3,
        "duplicates": 0,
        "rejected": [],
        "warnings": [],
    }
    assert slow["the same batch again"][2]["duplicates"] == 3
    assert slow["some items rejected, one with an unknown field"][2]["accepted"] == 3
    assert [
        slow[n][0]
        for n in (
            "every item rejected",
            "an unknown token",
            "not JSON",
            "an unsupported encoding",
            "a host not allowed",
        )
    ] == [422, 401, 400, 415, 400]


def test_behind_https_the_short_way_sends_hsts_and_leaves_plain_http_to_the_redirect(tmp_path):
    fast, slow, answered = both_ways(
        tmp_path, {"X-Forwarded-Proto": "https"}, CROWDRAY_HTTPS="true"
    )
    assert fast == slow and answered == {"hits": 4.0, "blocks": 1.0}
    assert "strict-transport-security" in fast["a new batch"][1]
    now = time.time_ns()
    body = json.dumps({"hits": hits(0, 1, now)}).encode()
    with server(tmp_path / "plain", True, CROWDRAY_HTTPS="true") as url:
        token = requests.post(
            f"{url}/api/v1/devices", json={}, timeout=10, headers={"X-Forwarded-Proto": "https"}
        ).json()["token"]
        reply = requests.post(
            f"{url}/api/v1/hits",
            data=body,
            allow_redirects=False,
            timeout=10,
            headers={"Authorization": f"Token {token}"},
        )
        assert reply.status_code == 301 and fast_answered(url) == {}


def test_a_batch_past_the_hourly_budget_goes_to_django_for_its_429(tmp_path):
    with server(tmp_path / "fast", True, CROWDRAY_DEVICE_HITS_PER_HOUR="20") as url:
        token = requests.post(f"{url}/api/v1/devices", json={}, timeout=10).json()["token"]
        auth = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        now = time.time_ns()
        statuses = []
        for seq0 in (0, 15):
            body = json.dumps({"hits": hits(seq0, 15, now)}).encode()
            reply = requests.post(f"{url}/api/v1/hits", data=body, headers=auth, timeout=30)
            statuses.append(reply.status_code)
        assert statuses == [201, 429]
        assert int(reply.headers["Retry-After"]) <= 3600
        assert "CROWDRAY_DEVICE_HITS_PER_HOUR" in reply.json()["detail"]
        assert fast_answered(url) == {"hits": 1.0}  # the refused batch went to Django
