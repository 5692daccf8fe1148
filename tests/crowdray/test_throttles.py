"""Throttles hold: across workers, against forged X-Forwarded-For, on pages as on the API."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.test import Client

from crowdray.process import crowdray, service_env, serving


def test_the_limit_holds_across_two_workers(tmp_path):
    env = service_env(CROWDRAY_DATA_DIR=str(tmp_path), CROWDRAY_PUBLIC_RATE="5/minute")
    crowdray("migrate", "--verbosity", "0", env=env)
    with serving(env, workers=2) as url, ThreadPoolExecutor(8) as pool:

        def get(_: int) -> int:
            return requests.get(f"{url}/api/v1/showers", timeout=30).status_code

        # Windows are fixed minutes, so a burst across a minute's edge may pass twice
        # the limit (as documented): start the burst well inside one minute.
        if time.time() % 60 > 45:
            time.sleep(61 - time.time() % 60)
        codes = list(pool.map(get, range(20)))
    assert sorted(codes) == [200] * 5 + [429] * 15


@pytest.mark.django_db
def test_a_forged_forwarded_for_does_not_make_a_new_client(settings):
    settings.CROWDRAY_PUBLIC_RATE = "3/minute"
    codes = [
        Client(REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR=f"203.0.113.{k}")
        .get("/api/v1/showers")
        .status_code
        for k in range(6)
    ]
    assert codes == [200, 200, 200, 429, 429, 429]


@pytest.mark.django_db
def test_pages_count_against_the_same_limit_and_say_when_to_come_back(settings):
    settings.CROWDRAY_PUBLIC_RATE = "3/minute"
    client = Client(REMOTE_ADDR="192.0.2.8")
    codes = [client.get(path).status_code for path in ("/", "/showers/", "/about/")]
    assert codes == [200, 200, 200]
    slow = client.get("/teams/")
    assert slow.status_code == 429 and int(slow["Retry-After"]) > 0
    assert "Too many requests" in slow.content.decode()
    assert client.get("/api/v1/status").status_code == 429
    assert Client(REMOTE_ADDR="192.0.2.9").get("/").status_code == 200
