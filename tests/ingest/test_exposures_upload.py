"""POST /api/v1/exposures: validation, the length limit, idempotency on (device, block_id)."""

from __future__ import annotations

import time
import uuid

import pytest
from django.test import override_settings

from ingest.models import ExposureBlock
from tests.factories import block

pytestmark = pytest.mark.postgres
URL = "/api/v1/exposures"


def test_it_stores_blocks_with_every_field(device_client):
    sent = block()
    reply = device_client.post(URL, {"blocks": [sent]}, format="json")
    assert reply.status_code == 201
    assert reply.json() == {"accepted": 1, "duplicates": 0, "rejected": [], "warnings": []}
    stored = ExposureBlock.objects.get()
    assert str(stored.block_id) == sent["block_id"]
    for name in ("start_ns", "end_ns", "lat", "lon", "frames", "l1_threshold", "n_hits"):
        assert getattr(stored, name) == sent[name]


def test_a_retried_block_is_stored_once(device_client):
    batch = {"blocks": [block(), block()]}
    device_client.post(URL, batch, format="json")
    reply = device_client.post(URL, batch, format="json").json()
    assert (reply["accepted"], reply["duplicates"]) == (0, 2)
    assert ExposureBlock.objects.count() == 2


def test_it_rejects_a_block_that_ends_before_it_starts(device_client):
    now = time.time_ns()
    bad = block(start_ns=now - 10**9, end_ns=now - 2 * 10**9)
    reply = device_client.post(URL, {"blocks": [bad]}, format="json").json()
    assert reply["rejected"] == [{"index": 0, "errors": {"end_ns": "must be after start_ns"}}]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("block_id", "not-a-uuid", "must be a UUID string"),
        ("block_id", 17, "must be a UUID string"),
        ("block_id", None, "is required"),
        ("lat", 90.5, "must be between -90 and 90"),
        ("frames", -3, "must be between 0 and 9223372036854775807"),
    ],
)
def test_it_rejects_a_block_with_a_bad_field(device_client, field, value, message):
    reply = device_client.post(URL, {"blocks": [block(**{field: value})]}, format="json").json()
    assert reply["rejected"] == [{"index": 0, "errors": {field: message}}]
    assert ExposureBlock.objects.count() == 0


def test_it_rejects_a_block_that_starts_over_30_days_ago(device_client):
    old = time.time_ns() - 31 * 86400 * 10**9
    reply = device_client.post(URL, {"blocks": [block(start_ns=old)]}, format="json").json()
    assert "start_ns" in reply["rejected"][0]["errors"]


@override_settings(CROWDRAY_MAX_BATCH=2)
def test_it_refuses_too_many_blocks_with_413(device_client):
    response = device_client.post(URL, {"blocks": [block() for _ in range(3)]}, format="json")
    assert response.status_code == 413
    assert ExposureBlock.objects.count() == 0


def test_it_needs_a_device_token(client_for):
    response = client_for(None).post(URL, {"blocks": [block()]}, format="json")
    assert response.status_code == 401


def test_the_uuid_is_accepted_in_any_case_and_matched_as_the_same_block(device_client):
    block_id = uuid.uuid4()
    first = block(block_id=str(block_id))
    second = {**first, "block_id": str(block_id).upper()}
    device_client.post(URL, {"blocks": [first]}, format="json")
    reply = device_client.post(URL, {"blocks": [second]}, format="json").json()
    assert reply["duplicates"] == 1


def test_two_devices_may_use_the_same_block_id_and_both_blocks_are_kept(client_for):
    shared = block()
    for client in (client_for(), client_for()):
        reply = client.post(URL, {"blocks": [shared]}, format="json").json()
        assert (reply["accepted"], reply["duplicates"]) == (1, 0)
    assert ExposureBlock.objects.count() == 2


def test_it_rejects_a_block_longer_than_the_limit_and_says_how_to_fix_it(device_client, settings):
    settings.CROWDRAY_MAX_BLOCK_S = 3600
    end = time.time_ns() - 10**9
    ok, too_long = (
        block(start_ns=end - 3600 * 10**9, end_ns=end),
        block(start_ns=end - 29 * 86400 * 10**9, end_ns=end),
    )
    reply = device_client.post(URL, {"blocks": [ok, too_long]}, format="json").json()
    assert reply["accepted"] == 1
    assert reply["rejected"] == [
        {
            "index": 1,
            "errors": {"end_ns": "block lasts 2505600 s, over the limit of 3600 s: split it"},
        }
    ]
