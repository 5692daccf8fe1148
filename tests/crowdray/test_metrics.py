"""/metrics: Prometheus text for the allow-list only, with uploads, requests and follower lag."""

from __future__ import annotations

import pytest
import requests
from django.test import Client

from crowdray.process import crowdray, service_env, serving
from tests.factories import hit, hits

pytestmark = pytest.mark.postgres


def value(text: str, prefix: str) -> float:
    """The sample of the line that starts with prefix."""
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    assert lines, prefix
    return float(lines[0].rsplit(" ", 1)[1])


def test_uploads_and_follower_lag_are_counted(device_client):
    before = Client().get("/metrics/").content.decode()
    base = (
        value(before, 'crowdray_upload_items_total{kind="hits",outcome="accepted"}')
        if 'outcome="accepted"' in before
        else 0.0
    )
    device_client.post("/api/v1/hits", {"hits": [*hits(3), hit(lat=91)]}, format="json")
    text = Client().get("/metrics/").content.decode()
    accepted = value(text, 'crowdray_upload_items_total{kind="hits",outcome="accepted"}')
    assert accepted - base == 3
    assert value(text, 'crowdray_upload_items_total{kind="hits",outcome="rejected"}') >= 1
    assert value(text, 'crowdray_follower_lag_rows{consumer="counters"}') >= 3
    assert "django_http_requests_total_by_method_total" in text


def test_an_address_off_the_allow_list_gets_a_404(db):
    assert Client(REMOTE_ADDR="192.0.2.1").get("/metrics/").status_code == 404
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics/").status_code == 200


def test_the_workers_of_crowdray_serve_report_together(tmp_path):
    env = service_env(CROWDRAY_DATA_DIR=str(tmp_path))
    crowdray("migrate", "--verbosity", "0", env=env)
    with serving(env, workers=2) as url:
        session = requests.Session()
        for _ in range(12):
            session.get(f"{url}/api/v1/health", timeout=10)
            session.close()  # a new connection: requests reach both workers
        text = requests.get(f"{url}/metrics/", timeout=10).text
    total = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("django_http_responses_total_by_status_total") and 'status="200"' in line
    )
    assert total >= 12
