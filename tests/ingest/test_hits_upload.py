"""POST /api/v1/hits: validation, limits, idempotency and what gets stored."""

from __future__ import annotations

import gzip
import json
import time

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from ingest.models import Device, Hit
from tests.factories import hit, hits, make_device

pytestmark = pytest.mark.postgres
URL = "/api/v1/hits"


def post_raw(client, body: bytes | str):
    return client.generic("POST", URL, data=body, content_type="application/json")


def test_it_stores_a_valid_batch_and_reports_it_accepted(device_client):
    response = device_client.post(URL, {"hits": hits(5)}, format="json")
    assert response.status_code == 201
    assert response.json() == {"accepted": 5, "duplicates": 0, "rejected": [], "warnings": []}
    assert Hit.objects.count() == 5


def test_it_stores_every_field_as_sent(client_for):
    device, token = make_device()
    sent = hit(seq=7, t_err_ns=None, alt_m=-12.5, x=0, n_pixels=1)
    client_for(token).post(URL, {"hits": [sent]}, format="json")
    stored = Hit.objects.get()
    assert stored.device_id == device.id
    for name, value in sent.items():
        assert getattr(stored, name) == value, name


def test_a_retried_batch_is_stored_once_and_counted_as_duplicates(device_client):
    batch = {"hits": hits(10)}
    first = device_client.post(URL, batch, format="json").json()
    second = device_client.post(URL, batch, format="json").json()
    assert (first["accepted"], first["duplicates"]) == (10, 0)
    assert (second["accepted"], second["duplicates"]) == (0, 10)
    assert Hit.objects.count() == 10


def test_a_hit_repeated_inside_one_batch_is_stored_once(device_client):
    same = hit(seq=5)
    reply = device_client.post(URL, {"hits": [same, dict(same)]}, format="json").json()
    assert (reply["accepted"], reply["duplicates"]) == (1, 1)
    assert Hit.objects.count() == 1


def test_a_seq_sent_again_with_another_time_is_a_second_hit(device_client):
    # The key is (device, seq, t_ns): PostgreSQL's partitions by day need the time in it.
    reply = device_client.post(
        URL, {"hits": [hit(seq=5, t_ns=time.time_ns() - k) for k in (1, 2)]}, format="json"
    ).json()
    assert (reply["accepted"], reply["duplicates"]) == (2, 0)


def test_the_same_seq_from_two_devices_is_two_hits(client_for):
    for _ in range(2):
        client_for().post(URL, {"hits": [hit(seq=1)]}, format="json")
    assert Hit.objects.count() == 2


def test_a_partly_bad_batch_stores_the_good_hits_and_says_what_was_wrong(device_client):
    batch = [hit(), hit(lat=91.0), hit(), hit(lon="east"), hit(seq=True)]
    reply = device_client.post(URL, {"hits": batch}, format="json").json()
    assert reply["accepted"] == 2
    assert reply["rejected"] == [
        {"index": 1, "errors": {"lat": "must be between -90 and 90"}},
        {"index": 3, "errors": {"lon": "must be a number"}},
        {"index": 4, "errors": {"seq": "must be an integer"}},
    ]
    assert Hit.objects.count() == 2


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("lat", -90.0001, "must be between -90 and 90"),
        ("lon", 180.5, "must be between -180 and 180"),
        ("lon", -181, "must be between -180 and 180"),
        ("seq", -1, "must be between 0 and 9223372036854775807"),
        ("seq", 2**63, "must be between 0 and 9223372036854775807"),
        ("t_ns", 1.5e18, "must be an integer"),
        ("x", 2**31, "must be between 0 and 2147483647"),
        ("loc_err_m", -1.0, "must be between 0 and 10000000"),
        ("seq", None, "is required"),
        ("lat", None, "is required"),
        ("value", "212", "must be an integer"),
    ],
)
def test_it_rejects_a_hit_with_a_field_out_of_range(device_client, field, value, message):
    reply = device_client.post(URL, {"hits": [hit(**{field: value})]}, format="json").json()
    assert reply["rejected"] == [{"index": 0, "errors": {field: message}}]
    assert Hit.objects.count() == 0


def test_it_rejects_a_hit_that_is_not_an_object(device_client):
    reply = device_client.post(URL, {"hits": [hit(), 42]}, format="json").json()
    assert reply["accepted"] == 1
    assert reply["rejected"] == [{"index": 1, "errors": {"item": "must be a JSON object"}}]


def test_it_accepts_the_poles_and_the_antimeridian(device_client):
    edges = [hit(lat=90.0), hit(lat=-90.0), hit(lon=180.0), hit(lon=-180.0)]
    reply = device_client.post(URL, {"hits": edges}, format="json").json()
    assert reply["accepted"] == 4


def test_it_rejects_times_older_than_30_days_or_more_than_5_minutes_ahead(device_client):
    now = time.time_ns()
    old = hit(t_ns=now - 31 * 86400 * 10**9)
    ahead = hit(t_ns=now + 6 * 60 * 10**9)
    fine = hit(t_ns=now + 60 * 10**9)
    reply = device_client.post(URL, {"hits": [old, ahead, fine]}, format="json").json()
    assert reply["accepted"] == 1
    assert [r["index"] for r in reply["rejected"]] == [0, 1]
    assert "t_ns" in reply["rejected"][0]["errors"]
    # The window depends on now, which no static schema bound can say: the message does.
    said = device_client.post(URL, {"hits": [hit(t_ns=0)]}, format="json").json()
    message = said["rejected"][0]["errors"]["t_ns"]
    assert "server's clock (now " in message and "moves with time" in message


def test_it_refuses_nan_and_infinity_and_stores_nothing(device_client):
    for literal in ("NaN", "Infinity", "-Infinity"):
        body = json.dumps({"hits": [hit()]}).replace('"lat": 46.2044', f'"lat": {literal}')
        response = post_raw(device_client, body)
        assert response.status_code == 400
        assert literal in response.json()["detail"]
    assert Hit.objects.count() == 0


def test_it_accepts_an_empty_batch(device_client):
    reply = device_client.post(URL, {"hits": []}, format="json")
    assert reply.status_code == 201
    assert reply.json() == {"accepted": 0, "duplicates": 0, "rejected": [], "warnings": []}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "body is not valid JSON"),
        ("[1, 2]", "body must be a JSON object with a 'hits' list"),
        ('{"hit": []}', "body must be a JSON object with a 'hits' list"),
        ('{"hits": {"seq": 1}}', "body must be a JSON object with a 'hits' list"),
        (b"\xff\xfe", "body is not valid JSON"),
    ],
)
def test_it_refuses_a_malformed_body_with_400_naming_the_problem(device_client, body, message):
    response = post_raw(device_client, body)
    assert response.status_code == 400
    assert message in response.json()["detail"]


@override_settings(CROWDRAY_MAX_BATCH=3)
def test_it_refuses_a_batch_over_the_limit_with_413_and_stores_nothing(device_client):
    response = device_client.post(URL, {"hits": hits(4)}, format="json")
    assert response.status_code == 413
    assert response.json()["detail"] == "batch of 4 hits is over the limit of 3"
    assert Hit.objects.count() == 0
    assert device_client.post(URL, {"hits": hits(3)}, format="json").json()["accepted"] == 3


def test_it_refuses_the_default_limit_of_1000_hits(device_client):
    response = device_client.post(URL, {"hits": hits(1001)}, format="json")
    assert response.status_code == 413
    assert device_client.post(URL, {"hits": hits(1000)}, format="json").json()["accepted"] == 1000


@override_settings(CROWDRAY_MAX_BODY_BYTES=2048, DATA_UPLOAD_MAX_MEMORY_SIZE=2049)
def test_it_refuses_a_body_over_the_byte_limit_with_413(device_client):
    body = json.dumps({"hits": hits(20)})
    assert len(body) > 2048
    response = post_raw(device_client, body)
    assert response.status_code == 413
    assert "2048 bytes" in response.json()["detail"]
    assert Hit.objects.count() == 0


def test_it_refuses_a_missing_or_unknown_token_with_401(client_for):
    for client in (client_for(None), client_for("not-a-real-token")):
        response = client.post(URL, {"hits": hits(1)}, format="json")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
    assert Hit.objects.count() == 0


def test_a_revoked_device_can_no_longer_upload(client_for):
    device, token = make_device()
    Device.objects.filter(id=device.id).update(is_active=False)
    response = client_for(token).post(URL, {"hits": hits(1)}, format="json")
    assert response.status_code == 401


def test_a_device_revoked_after_uploading_is_refused_once_its_token_is_forgotten(
    client_for, settings
):
    device, token = make_device()
    client = client_for(token)
    assert client.post(URL, {"hits": hits(1)}, format="json").status_code == 201
    Device.objects.filter(id=device.id).update(is_active=False)
    assert client.post(URL, {"hits": hits(1)}, format="json").status_code == 201  # remembered
    cache.clear()  # what CROWDRAY_TOKEN_CACHE_S seconds do
    assert client.post(URL, {"hits": hits(1)}, format="json").status_code == 401
    settings.CROWDRAY_TOKEN_CACHE_S = 0
    device.is_active = True
    device.save()
    assert client.post(URL, {"hits": hits(1)}, format="json").status_code == 201
    Device.objects.filter(id=device.id).update(is_active=False)
    assert client.post(URL, {"hits": hits(1)}, format="json").status_code == 401  # at once


def test_a_float_field_written_as_an_integer_is_stored_as_a_float(device_client):
    """Mobile JSON encoders write 5.0 as 5; PostgreSQL once refused the mixed batch."""
    batch = [hit(loc_err_m=5, lat=46), hit(loc_err_m=4.7)]
    reply = device_client.post(URL, {"hits": batch}, format="json")
    assert reply.status_code == 201 and reply.json()["accepted"] == 2
    assert sorted(Hit.objects.values_list("loc_err_m", flat=True)) == [4.7, 5.0]  # type: ignore[type-var]


def test_a_huge_integer_in_a_float_field_is_rejected_not_a_server_error(device_client):
    reply = device_client.post(
        URL,
        f'{{"hits": [{{"seq": 1, "t_ns": {time.time_ns()}, "lat": 1{"0" * 400}, "lon": 6}}]}}',
        content_type="application/json",
    )
    assert reply.status_code == 422
    assert reply.json()["rejected"] == [
        {"index": 0, "errors": {"lat": "must be between -90 and 90"}}
    ]


def test_json_nested_too_deeply_is_a_400_that_says_so(device_client):
    body = '{"hits": ' + "[" * 100_000 + "]" * 100_000 + "}"
    reply = device_client.post(URL, body, content_type="application/json")
    assert reply.status_code == 400
    assert "nested too deeply" in reply.json()["detail"]


def post_gzip(client, body: bytes, encoding: str = "gzip"):
    return client.generic(
        "POST", URL, data=body, content_type="application/json", HTTP_CONTENT_ENCODING=encoding
    )


def test_a_gzip_body_is_stored_like_a_plain_one(device_client):
    body = json.dumps({"hits": hits(1000)}).encode()
    reply = post_gzip(device_client, gzip.compress(body))
    assert reply.status_code == 201 and reply.json()["accepted"] == 1000
    assert len(gzip.compress(body)) < len(body) / 3
    assert Hit.objects.count() == 1000


@override_settings(CROWDRAY_MAX_BODY_BYTES=4096)
def test_the_size_limit_holds_after_decompression_so_a_zip_bomb_gets_413(device_client):
    bomb = gzip.compress(b'{"hits": [' + b" " * 10**6 + b"]}")
    assert len(bomb) < 4096
    reply = post_gzip(device_client, bomb)
    assert reply.status_code == 413
    assert reply.json()["detail"] == "decompressed body is over the limit of 4096 bytes"
    assert Hit.objects.count() == 0


def test_a_corrupt_or_unknown_encoding_is_named(device_client):
    broken = post_gzip(device_client, gzip.compress(b'{"hits": []}')[:-6])
    assert broken.status_code == 400 and "not valid gzip" in broken.json()["detail"]
    brotli = post_gzip(device_client, b"....", encoding="br")
    assert brotli.status_code == 415
    assert brotli.json()["detail"] == "Content-Encoding br is not supported: send gzip or identity"


def test_unknown_fields_are_warned_about_per_item_and_the_hit_is_stored(device_client):
    batch = hits(3)
    batch[1]["lattitude"] = 46.2
    batch[2] |= {"alt": 300, "color": "red"}
    reply = device_client.post(URL, {"hits": batch}, format="json")
    assert reply.status_code == 201 and reply.json()["accepted"] == 3
    assert reply.json()["warnings"] == [
        {"index": 1, "warnings": {"lattitude": "unknown field, not stored"}},
        {
            "index": 2,
            "warnings": {"alt": "unknown field, not stored", "color": "unknown field, not stored"},
        },
    ]


@pytest.mark.parametrize(
    ("scale", "unit", "factor"),
    [
        (10**6, "milliseconds", "1,000,000"),
        (10**9, "seconds", "1,000,000,000"),
        (10**3, "microseconds", "1,000"),
    ],
)
def test_a_time_in_a_coarser_unit_gets_a_message_naming_the_unit(
    device_client, scale, unit, factor
):
    reply = device_client.post(URL, {"hits": [hit(t_ns=time.time_ns() // scale)]}, format="json")
    message = reply.json()["rejected"][0]["errors"]["t_ns"]
    assert f"it looks like {unit}" in message and f"multiply by {factor}" in message


def test_a_time_far_off_in_nanoseconds_gets_no_unit_hint(device_client):
    reply = device_client.post(URL, {"hits": [hit(t_ns=10**18)]}, format="json")
    assert "looks like" not in reply.json()["rejected"][0]["errors"]["t_ns"]


def test_a_batch_with_every_item_rejected_is_a_422_problem_and_stores_nothing(device_client):
    reply = device_client.post(URL, {"hits": [hit(lat=91), hit(lon="x")]}, format="json")
    assert reply.status_code == 422 and reply["Content-Type"] == "application/problem+json"
    body = reply.json()
    assert body["type"] == "/api/problems/rejected" and body["status"] == 422
    assert body["detail"] == "nothing was stored: every item was rejected (2 of 2 hits)"
    assert [r["index"] for r in body["rejected"]] == [0, 1]
    assert (body["accepted"], body["duplicates"]) == (0, 0)
    assert Hit.objects.count() == 0


def test_a_batch_with_some_items_rejected_stores_the_rest_with_201(device_client):
    reply = device_client.post(URL, {"hits": [hit(), hit(lat=91)]}, format="json")
    assert reply.status_code == 201 and reply.json()["accepted"] == 1


def test_another_method_is_405_even_with_a_device_token(device_client):
    for method in ("put", "patch", "delete"):
        reply = getattr(device_client, method)(URL, {"hits": hits(1)}, format="json")
        assert reply.status_code == 405, method
        assert reply.json()["type"] == "/api/problems/method_not_allowed"
        assert "POST" in reply["Allow"]


def test_a_bearer_token_is_refused_with_a_hint(db):
    _, token = make_device()
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {token}")
    reply = client.post(URL, {"hits": hits(1)}, format="json")
    assert reply.status_code == 401
    assert reply.json()["detail"] == (
        "send the device token as 'Authorization: Token <token>', not Bearer"
    )
