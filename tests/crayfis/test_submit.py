"""POST /submit: the CRAYFIS app's DataChunks against a live server, as the app sends them.

The client builds its chunks from crayfis/crayfis.proto and posts them with the
app's headers (Device-id, Camera-id, Run-id, Crayfis-version, Hash-code, App-code).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pandas as pd
import pytest
import requests
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import OperationalError
from django.test import override_settings

from coincidence.params import Params
from coincidence.reference import find_showers
from crayfis.models import OtherBlock, Phone
from credo.models import Volunteer
from follow.indexer import Indexer
from follow.tail import catch_up
from ingest import es
from ingest.models import Device, Hit
from ingest.models import ExposureBlock as Block
from vocab.crayfis import hash_code
from vocab.crayfis_pb2 import DataChunk, ExposureBlock

SALT = "test-salt"
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _salted(settings: Any) -> None:
    settings.CROWDRAY_CRAYFIS_SALT = SALT
    settings.CROWDRAY_REGISTER_RATE = "1000/minute"
    cache.clear()


def now_ms() -> int:
    return time.time_ns() // 10**6


def a_chunk(
    start_ms: int, *, lat: float = 46.2044, lon: float = 6.1432, events: int = 3
) -> DataChunk:
    """A run config, a DATA block with events (one without its own GPS) and a CALIBRATION block."""
    chunk = DataChunk()
    chunk.run_configs.add(id_hi=7, id_lo=11, start_time=start_ms - 60_000, crayfis_build="b 1.0")
    calibration = chunk.exposure_blocks.add(
        daq_state=ExposureBlock.CALIBRATION, start_time=start_ms - 30_000, end_time=start_ms, xbn=1
    )
    calibration.events.add(timestamp=start_ms - 10_000, gps_lat=lat, gps_lon=lon)
    block = chunk.exposure_blocks.add(
        daq_state=ExposureBlock.DATA,
        run_id=11,
        run_id_hi=7,
        xbn=2,
        start_time=start_ms,
        end_time=start_ms + 180_000,
        start_time_ntp=start_ms + 3,
        end_time_ntp=start_ms + 180_003,
        gps_lat=lat,
        gps_lon=lon,
        gps_accuracy=8.0,
        L1_thresh=12,
        L2_thresh=8,
        L1_processed=5400,
    )
    for k in range(events):
        event = block.events.add(timestamp=start_ms + 1000 * (k + 1))
        if k:  # the first event has no GPS of its own: the block's is used
            event.gps_lat, event.gps_lon, event.gps_accuracy = lat + 1e-4, lon, 5.0
            event.timestamp_ntp = start_ms + 1000 * (k + 1) + 3
        event.pixels.add(x=10 * k, y=20, val=90)
        event.pixels.add(x=10 * k + 1, y=20, val=140 + k)
    return chunk


def submit(
    url: str, body: bytes, *, device: str = "a1b2c3", salt: str = SALT, **headers: str
) -> requests.Response:
    sent = {
        "Content-type": "application/octet-stream",
        "Device-id": device,
        "Camera-id": "0",
        "Run-id": str(uuid.UUID(int=7 << 64 | 11)),
        "Crayfis-version": "b 1.0",
        "Crayfis-version-code": "10",
        "Hash-code": hash_code(salt, body),
        **headers,
    }
    sent = {k: v for k, v in sent.items() if v != ""}
    return requests.post(f"{url}/submit", data=body, headers=sent, timeout=10)


def test_a_chunk_is_stored_once_even_when_resent_and_calibration_only_is_accepted(live_server):
    t0 = now_ms() - 600_000
    body = a_chunk(t0).SerializeToString()
    first = submit(live_server.url, body)
    assert first.status_code == 202, first.text
    assert first.json() == {}
    again = submit(live_server.url, body)  # the reply was lost: the app sends the same bytes
    assert again.status_code == 202
    calibration_only = DataChunk()
    calibration_only.calibration_results.add()
    assert submit(live_server.url, calibration_only.SerializeToString()).status_code == 202

    assert Hit.objects.count() == 3 and Block.objects.count() == 1
    assert OtherBlock.objects.get().state == ExposureBlock.CALIBRATION
    phone = Phone.objects.get()
    assert (phone.android_id, phone.camera_id, phone.device.app_version) == ("a1b2c3", "0", "b 1.0")
    block = Block.objects.get()
    assert (block.start_ns, block.end_ns) == ((t0 + 3) * 10**6, (t0 + 180_003) * 10**6)
    assert (block.l1_threshold, block.frames, block.n_hits) == (12, 5400, 3)
    hits = list(Hit.objects.order_by("t_ns"))
    assert hits[0].t_ns == (t0 + 1000) * 10**6 and hits[0].t_err_ns == 10**9  # phone's clock
    assert hits[1].t_ns == (t0 + 2003) * 10**6 and hits[1].t_err_ns == 5 * 10**6  # NTP
    assert (hits[0].lat, hits[1].lat) == (46.2044, 46.2045)  # the block's GPS, then its own
    assert (hits[1].x, hits[1].value, hits[1].n_pixels) == (11, 141, 2)  # the brightest pixel


def test_the_app_code_links_the_phone_to_its_volunteer(live_server):
    user = User.objects.create_user("marie")
    Volunteer.objects.create(user=user, display_name="Marie")
    body = a_chunk(now_ms() - 600_000).SerializeToString()
    reply = submit(live_server.url, body, **{"App-code": "marie"})
    assert reply.status_code == 202 and reply.json() == {"account_name": "Marie"}
    linked = Phone.objects.get().volunteer
    assert linked is not None and linked.user == user
    unknown = submit(live_server.url, body, **{"App-code": "nobody"})
    assert unknown.status_code == 401  # the app then stops uploading until the code is fixed
    assert "App-code" in unknown.json()["detail"]


def problem(reply: requests.Response, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    body: dict[str, Any] = reply.json()
    return body


@override_settings(CROWDRAY_MAX_BODY_BYTES=2048)
def test_bad_chunks_get_the_apps_status_codes_and_store_nothing(live_server):
    url, t0 = live_server.url, now_ms() - 600_000
    good = a_chunk(t0).SerializeToString()
    assert "not a CRAYFIS DataChunk" in problem(submit(url, good[:-5]), 400)["detail"]
    assert problem(submit(url, b"\x00" * 3000), 413)
    assert "not a CRAYFIS DataChunk" in problem(submit(url, b"<html>hello</html>"), 400)["detail"]
    assert problem(submit(url, good, salt="another salt"), 422)["type"].endswith("invalid_hash")
    missing = problem(submit(url, good, **{"Device-id": "", "Run-id": ""}), 400)
    assert set(missing["errors"]) == {"Device-id", "Run-id"}
    old = a_chunk(t0)
    old.exposure_blocks[1].events[2].timestamp_ntp = (t0 - 10 * 365 * 86_400_000) + 3
    far = problem(submit(url, old.SerializeToString()), 422)
    assert "t_ns" in far["errors"]["exposure_blocks[1].events[2]"]
    backwards = a_chunk(t0)
    backwards.exposure_blocks[1].end_time_ntp = t0 - 1000
    ends = problem(submit(url, backwards.SerializeToString()), 422)
    assert "end_ns" in ends["errors"]["exposure_blocks[1]"]
    assert Hit.objects.count() == Block.objects.count() == Device.objects.count() == 0


def test_a_chunk_whose_storing_fails_leaves_the_hourly_budget_as_it_was(
    live_server, settings, monkeypatch
):
    settings.CROWDRAY_DEVICE_HITS_PER_HOUR = 3  # the chunk's three hits, no more
    calibration_only = DataChunk()
    calibration_only.calibration_results.add()  # the phone is known before its failing chunk
    assert submit(live_server.url, calibration_only.SerializeToString()).status_code == 202
    body = a_chunk(now_ms() - 600_000).SerializeToString()

    def full_disk(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("could not extend file: No space left on device")

    with monkeypatch.context() as broken:  # the last insert of the chunk's transaction fails
        broken.setattr(OtherBlock.objects, "bulk_create", full_disk)
        assert problem(submit(live_server.url, body), 503)
    assert Hit.objects.count() == Block.objects.count() == 0
    again = submit(live_server.url, body)  # the app sends the chunk again
    assert again.status_code == 202, again.text
    assert Hit.objects.count() == 3 and Block.objects.count() == 1


def test_with_no_salt_the_endpoint_is_off(live_server, settings):
    settings.CROWDRAY_CRAYFIS_SALT = ""
    reply = submit(live_server.url, a_chunk(now_ms()).SerializeToString())
    assert "CROWDRAY_CRAYFIS_SALT" in problem(reply, 404)["detail"]


def test_a_shower_uploaded_by_five_crayfis_phones_is_found(live_server):
    t0 = now_ms() - 600_000
    for k in range(5):  # five phones within 200 m, one event each at the same ms
        chunk = a_chunk(t0, lat=46.2044 + 3e-4 * k, lon=6.1432, events=1)
        event = chunk.exposure_blocks[1].events[0]
        event.gps_lat, event.gps_lon, event.timestamp_ntp = 46.2044 + 3e-4 * k, 6.1432, t0 + 5000
        assert submit(live_server.url, chunk.SerializeToString(), device=f"p{k}").status_code == 202
    rows = Hit.objects.values_list("id", "device_id", "t_ns", "lat", "lon")
    hits = pd.DataFrame(list(rows), columns=["hit_id", "device_id", "t_ns", "lat", "lon"])
    blocks = Block.objects.values_list("device_id", "start_ns", "end_ns", "lat", "lon")
    live = pd.DataFrame(list(blocks), columns=["device_id", "start_ns", "end_ns", "lat", "lon"])
    for table in (hits, live):
        table["device_id"] = table["device_id"].astype(str)
    found = find_showers(hits, Params(), exposures=live)  # each phone's live time: its block
    assert len(found) == 1 and found.n_devices.iloc[0] == 5
    assert found.significance_sigma.iloc[0] > 5


def test_its_hits_and_blocks_reach_the_same_indices_as_every_upload(live_server, search_index):
    assert (
        submit(live_server.url, a_chunk(now_ms() - 600_000).SerializeToString()).status_code == 202
    )
    assert catch_up(Indexer()) == {"hits": 3, "exposures": 1}
    client = es.client()
    for index, rows in ((es.HITS, Hit.objects), (es.EXPOSURES, Block.objects)):
        client.indices.refresh(index=index)
        found = client.search(index=index, size=100, source=False)["hits"]["hits"]
        device = str(Device.objects.get().id)
        assert len(found) == rows.count() and all(h["_id"].startswith(device) for h in found)
