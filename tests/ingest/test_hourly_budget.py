"""CROWDRAY_DEVICE_HITS_PER_HOUR: a flooding phone is refused (429) past its hourly budget."""

from __future__ import annotations

import time

import pytest
import requests
from django.db import connection

from ingest.models import Hit
from tests.factories import block, hit, hits, make_device

pytestmark = pytest.mark.postgres
URL = "/api/v1/hits"


@pytest.fixture(autouse=True)
def _budget_of_250(settings):
    settings.CROWDRAY_DEVICE_HITS_PER_HOUR = 250


def test_a_batch_past_the_budget_is_refused_whole_and_not_counted(device_client):
    assert device_client.post(URL, {"hits": hits(200)}, format="json").status_code == 201
    now = time.time_ns()
    over = [hit(seq=1000 + k, t_ns=now - k * 10**6) for k in range(100)]
    refused = device_client.post(URL, {"hits": over}, format="json")
    assert refused.status_code == 429
    wait = int(refused["Retry-After"])
    assert 0 < wait <= 3600
    body = refused.json()
    assert body["type"] == "/api/problems/throttled"
    assert "sent 200 hits this UTC hour" in body["detail"]
    assert "CROWDRAY_DEVICE_HITS_PER_HOUR" in body["detail"]
    assert Hit.objects.count() == 200  # nothing of the refused batch
    # The refused batch did not count: 50 more fit exactly.
    assert device_client.post(URL, {"hits": over[:50]}, format="json").status_code == 201
    assert Hit.objects.count() == 250


def test_one_phones_flood_leaves_the_others_alone(client_for):
    flooder, neighbour = client_for(), client_for()
    assert flooder.post(URL, {"hits": hits(250)}, format="json").status_code == 201
    assert flooder.post(URL, {"hits": hits(1)}, format="json").status_code == 429
    assert neighbour.post(URL, {"hits": hits(250)}, format="json").status_code == 201


def test_a_retried_batch_counts_once(device_client):
    batch = hits(100)
    for _ in range(2):  # the retry's hits are duplicates: stored once, counted once
        assert device_client.post(URL, {"hits": batch}, format="json").status_code == 201
    assert device_client.post(URL, {"hits": hits(150)}, format="json").status_code == 201
    assert Hit.objects.count() == 250
    assert device_client.post(URL, {"hits": hits(1)}, format="json").status_code == 429


def test_a_retry_at_the_budget_is_answered_as_duplicates_not_refused(device_client):
    first = hits(200)  # stored, but say the phone never got the reply
    assert device_client.post(URL, {"hits": first}, format="json").status_code == 201
    assert device_client.post(URL, {"hits": hits(50)}, format="json").status_code == 201
    retry = device_client.post(URL, {"hits": first}, format="json")
    assert retry.status_code == 201, retry.json()
    assert (retry.json()["accepted"], retry.json()["duplicates"]) == (0, 200)
    # One new hit beside the retried ones is past the budget: the batch is refused whole.
    mixed = device_client.post(URL, {"hits": [*first, *hits(1)]}, format="json")
    assert mixed.status_code == 429
    assert Hit.objects.count() == 250


@pytest.mark.postgres_only
def test_a_batch_the_database_failed_to_store_is_not_counted(live_server, transactional_db):
    token = make_device()[1]
    headers = {"Authorization": f"Token {token}"}
    url = f"{live_server.url}{URL}"
    with connection.cursor() as cursor:  # PostgreSQL refuses every hit, as if shutting down
        cursor.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'going down' USING ERRCODE = '57P01'; END $$; "
            "CREATE TRIGGER refuse BEFORE INSERT ON ingest_hit "
            "FOR EACH ROW EXECUTE FUNCTION refuse()"
        )
    for _ in range(3):  # the phone retries
        reply = requests.post(url, json={"hits": hits(200)}, headers=headers, timeout=30)
        assert reply.status_code == 503, reply.text
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER refuse ON ingest_hit; DROP FUNCTION refuse()")
    reply = requests.post(url, json={"hits": hits(250)}, headers=headers, timeout=30)
    assert reply.status_code == 201, reply.text
    assert Hit.objects.count() == 250


def test_zero_means_no_budget(device_client, settings):
    settings.CROWDRAY_DEVICE_HITS_PER_HOUR = 0
    for k in range(3):
        batch = [hit(seq=1000 * k + j) for j in range(100)]
        assert device_client.post(URL, {"hits": batch}, format="json").status_code == 201
    assert Hit.objects.count() == 300


def test_exposure_blocks_are_not_hits(device_client):

    now = time.time_ns()
    blocks = [block(start_ns=now - (k + 1) * 10**9, end_ns=now - k * 10**9) for k in range(300)]
    reply = device_client.post("/api/v1/exposures", {"blocks": blocks}, format="json")
    assert reply.status_code == 201
