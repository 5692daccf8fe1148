"""follow.status: the status computed once per interval by the follower, read per request."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from rest_framework.test import APIClient

from follow import status as snapshot
from follow.counters import Counters
from follow.follower import configured
from follow.tail import catch_up
from tests.factories import hits

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def hits_last_hour() -> int:
    return int(APIClient().get("/api/v1/status").json()["hits_last_hour"])


def upload(device_client, n: int) -> None:
    assert device_client.post("/api/v1/hits", {"hits": hits(n)}, format="json").status_code == 201
    catch_up(Counters())


def test_requests_read_the_followers_snapshot_until_its_next_tick(device_client):
    catch_up(snapshot.StatusSnapshots())
    upload(device_client, 3)
    assert hits_last_hour() == 0  # the snapshot from before the upload
    catch_up(snapshot.StatusSnapshots())  # the follower's next turn
    assert hits_last_hour() == 3
    assert APIClient().get("/").context["status"]["hits_last_hour"] == 3


def test_a_stale_snapshot_is_not_served(device_client):
    snapshot.write(now_ns=time.time_ns() - 60 * 10**9)  # the follower stopped a minute ago
    upload(device_client, 2)
    assert hits_last_hour() == 2


def test_with_interval_zero_every_request_computes(device_client, settings):
    settings.CROWDRAY_STATUS_INTERVAL_S = 0
    snapshot.write()
    upload(device_client, 4)
    assert hits_last_hour() == 4
    assert "status" not in [c.name for c in configured()]


def test_the_follower_refreshes_the_status_by_default():
    assert "status" in [c.name for c in configured()]


def test_the_reply_is_the_same_json_either_way(device_client):
    upload(device_client, 5)
    computed = APIClient().get("/api/v1/status").json()
    snapshot.write()
    stored = APIClient().get("/api/v1/status")
    assert stored["Content-Type"] == "application/json"
    assert {k: v for k, v in stored.json().items() if k != "generated_at"} == {
        k: v for k, v in computed.items() if k != "generated_at"
    }


def test_health_tells_how_old_the_status_snapshot_is():
    assert APIClient().get("/api/v1/health").json()["consumers"]["status"]["updated_at"] is None
    snapshot.write(now_ns=time.time_ns() - 30 * 10**9)  # the follower's last tick, 30 s ago
    status = APIClient().get("/api/v1/health").json()["consumers"]["status"]
    assert 30 <= status["seconds"] < 40
    age = time.time() - datetime.fromisoformat(status["updated_at"]).timestamp()
    assert 30 <= age < 40
