"""POST /api/v1/devices: registration, hashed tokens, throttling."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from ingest.models import Device, hash_token

pytestmark = pytest.mark.postgres
URL = "/api/v1/devices"


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    cache.clear()


def test_it_registers_a_device_and_returns_its_token_once(db):
    reply = APIClient().post(URL, {"model": "Pixel 8", "os": "Android 15"}, format="json")
    assert reply.status_code == 201
    body = reply.json()
    device = Device.objects.get(id=body["device_id"])
    assert device.model == "Pixel 8"
    assert device.token_hash == hash_token(body["token"])
    assert body["token"] not in device.token_hash


def test_a_registration_needs_no_fields(db):
    reply = APIClient().post(URL)
    assert reply.status_code == 201


def test_the_token_authenticates_uploads(db):
    token = APIClient().post(URL).json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.post("/api/v1/hits", {"hits": []}, format="json").status_code == 201


def test_it_refuses_an_overlong_field(db):
    reply = APIClient().post(URL, {"model": "x" * 101}, format="json")
    assert reply.status_code == 400
    assert "model" in reply.json()["errors"]


def test_it_refuses_a_number_where_the_schema_says_string(db):
    for body in ({"app_version": 0}, {"model": 3.5}, {"os": True}):
        reply = APIClient().post(URL, body, format="json")
        assert reply.status_code == 400, body
        assert set(reply.json()["errors"]) == set(body), reply.json()
    assert Device.objects.count() == 0


def test_it_refuses_a_body_that_is_not_an_object(db):
    for body in (b"null", b"[]", b"7"):
        reply = APIClient().post(URL, body, content_type="application/json")
        assert reply.status_code == 400, body
        assert "JSON object" in reply.json()["errors"]["body"]
    assert Device.objects.count() == 0


@override_settings(CROWDRAY_REGISTER_RATE="3/hour")
def test_it_throttles_registrations_per_client_address(db):
    client = APIClient(REMOTE_ADDR="192.0.2.1")
    codes = [client.post(URL).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    assert APIClient(REMOTE_ADDR="192.0.2.2").post(URL).status_code == 201
    assert Device.objects.count() == 4
