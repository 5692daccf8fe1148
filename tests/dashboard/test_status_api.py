"""GET /api/v1/status: counters and series from what the follower folded in, cells only."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from follow.counters import Counters
from follow.tail import catch_up
from ingest.models import Hit
from tests.factories import block, hit, hits, make_device, make_shower

# On PostgreSQL the follower sees only committed rows, so these tests commit.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
MIN = 60 * 10**9


@pytest.fixture(autouse=True)
def _no_cached_replies():
    cache.clear()


def status() -> dict[str, Any]:
    """The status once the follower has folded in everything uploaded so far."""
    catch_up(Counters())
    cache.clear()
    return APIClient().get("/api/v1/status").json()


def test_counters_follow_uploads_and_ignore_duplicates(device_client):
    before = status()
    assert before["hits_last_hour"] == 0 and before["devices_active"] == 0
    batch = {"hits": hits(7)}
    device_client.post("/api/v1/hits", batch, format="json")
    device_client.post("/api/v1/hits", batch, format="json")  # a retry counts nothing
    after = status()
    assert after["hits_last_hour"] == 7
    assert after["devices_active"] == 1
    assert sum(after["series"]["hits"]) == 7
    assert max(after["series"]["devices"]) == 1


def test_the_series_covers_24_hours_minute_by_minute(device_client):
    now = time.time_ns()
    earlier = [hit(t_ns=now - 90 * MIN), hit(t_ns=now - 90 * MIN)]
    device_client.post("/api/v1/hits", {"hits": earlier}, format="json")
    series = status()["series"]
    assert len(series["minutes"]) == len(series["hits"]) == 1440
    assert series["hits"][-91] == 2
    assert status()["hits_last_hour"] == 0


def test_exposures_count_as_activity_and_live_time(device_client):
    reply = device_client.post("/api/v1/exposures", {"blocks": [block()]}, format="json")
    assert reply.json()["accepted"] == 1
    now = status()
    assert now["devices_active"] == 1
    assert now["live_hours_today"] == pytest.approx(today_part_of_last(600) / 3600, abs=0.01)
    assert sum(now["series"]["devices"][-12:]) >= 10  # active in each minute the block covers


def today_part_of_last(seconds: float) -> float:
    """Seconds of the last `seconds` that fall on today's UTC date."""
    since_midnight = time.time() % 86400
    return min(seconds, since_midnight)


def test_showers_are_counted_over_24_hours_and_7_days(db):
    day = 86400 * 10**9
    now = time.time_ns()
    for age in (0.5, 3, 10):
        make_shower(t_ns=now - int(age * day))
    body = status()
    assert (body["showers_24h"], body["showers_7d"]) == (1, 2)
    assert [s["t_ns"] for s in body["latest_showers"]] == sorted(
        (s["t_ns"] for s in body["latest_showers"]), reverse=True
    )


def test_no_position_finer_than_a_cell_leaves_the_server(client_for):
    _, token = make_device()
    exact = (46.204391, 6.143158)
    client_for(token).post(
        "/api/v1/hits", {"hits": [hit(lat=exact[0], lon=exact[1])]}, format="json"
    )
    make_shower(hits_of=list(Hit.objects.all()), lat=exact[0], lon=exact[1])
    cache.clear()
    for url in (
        "/api/v1/status",
        "/api/v1/showers",
        f"/api/v1/showers/{Hit.objects.get().showers.get().shower_id}",
        "/",
    ):
        text = APIClient().get(url).content.decode()
        for value in (str(exact[0]), str(exact[1]), "46.2043", "6.1431"):
            assert value not in text, (url, value)
    cells = status()["cells"]
    assert len(cells) == 1
    assert abs(cells[0]["lat"] - exact[0]) < 0.01 and abs(cells[0]["lon"] - exact[1]) < 0.02


def test_a_phone_uploading_old_hits_is_active_now(device_client):
    """The demo, or a phone sending its backlog: data two hours old, uploaded now."""
    old = [hit(t_ns=time.time_ns() - 120 * MIN)]
    device_client.post("/api/v1/hits", {"hits": old}, format="json")
    body = status()
    assert body["devices_active"] == 1
    assert body["hits_last_hour"] == 0


def test_the_status_api_is_throttled_per_client(db, settings):
    settings.CROWDRAY_PUBLIC_RATE = "3/minute"
    client = APIClient(REMOTE_ADDR="192.0.2.9")
    # Distinct URLs, so no reply comes from the cache.
    codes = [client.get("/api/v1/showers", {"page_size": s}).status_code for s in range(1, 5)]
    assert codes == [200, 200, 200, 429]


def test_counters_add_up_across_many_phones(client_for):
    now = time.time_ns()
    clients = [client_for() for _ in range(6)]  # six phones, all counted
    for client in clients:
        client.post(
            "/api/v1/hits",
            {"hits": [hit(t_ns=now - 2 * MIN), hit(t_ns=now - 2 * MIN)]},
            format="json",
        )
        client.post("/api/v1/exposures", {"blocks": [block()]}, format="json")
    body = status()
    assert body["hits_last_hour"] == 12
    assert body["series"]["hits"][-3] == 12
    assert body["series"]["devices"][-3] == 6
    assert body["devices_active"] == 6
    assert body["live_hours_today"] == pytest.approx(6 * today_part_of_last(600) / 3600, abs=0.01)
    assert sum(c["hits"] for c in body["cells"]) == 12 and len(body["cells"]) == 1


def test_the_public_counts_and_lists_showers_at_the_threshold_not_chance(db, settings):
    settings.CROWDRAY_PUBLIC_MIN_SIGMA = 5.0
    now = time.time_ns()
    make_shower(shower_id="S1", significance_sigma=3.15, t_ns=now - 10 * MIN)
    make_shower(shower_id="S2", significance_sigma=5.0, t_ns=now - 20 * MIN)
    make_shower(shower_id="S3", significance_sigma=20.4, t_ns=now - 30 * MIN)
    reply = status()
    assert (reply["showers_24h"], reply["showers_7d"]) == (2, 2)
    # The list the map's markers are drawn from: showers only, each marked as one.
    assert [s["shower_id"] for s in reply["latest_showers"]] == ["S2", "S3"]
    assert all(s["is_shower"] for s in reply["latest_showers"])
    settings.CROWDRAY_PUBLIC_MIN_SIGMA = 3.0
    assert status()["showers_24h"] == 3
