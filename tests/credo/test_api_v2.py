"""/api/v2/: requests shaped like CREDO's published samples, replayed against a live server.

CREDO's samples (credo-science/credo-webapp, credoapiv2/sample-payloads) carry
the device fields in every request, a token from user/login, detections with a
millisecond timestamp and a base64 PNG crop, and pings with on_time.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from credo.models import Detection, Phone, Volunteer
from ingest.models import Device, ExposureBlock, Hit

pytestmark = pytest.mark.postgres
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJ"
    "RU5ErkJggg=="
)  # a 1x1 PNG
DEVICE = {
    "device_id": "abcdef",
    "device_type": "phone",
    "device_model": "galaxy xcover 4",
    "system_version": "26-8.0",
    "app_version": "1.2.3",
}


def now_ms() -> int:
    return time.time_ns() // 10**6


def detection(**overrides: Any) -> dict[str, Any]:
    """One detection as in CREDO's sample, stamped now."""
    return {
        "accuracy": 14.0,
        "altitude": 168.0,
        "frame_content": PNG,
        "height": 480,
        "id": 227,
        "latitude": 52.0,
        "longitude": 21.0,
        "provider": "gps",
        "timestamp": now_ms(),
        "width": 864,
        "x": 311,
        "y": 42,
    } | overrides


class Credo:
    """A CREDO app talking to the live server."""

    def __init__(self, url: str) -> None:
        self.url, self.token = f"{url}/api/v2", ""

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        headers = {"Authorization": f"Token {self.token}"} if self.token else {}
        return requests.post(
            f"{self.url}/{path}", json={**DEVICE, **body}, headers=headers, timeout=30
        )

    def signed_up(self, username: str = "exampleusername", team: str = "CYFRONET") -> Credo:
        reply = self.post(
            "user/register",
            {
                "email": f"{username}@example.org",
                "username": username,
                "display_name": "Grzegorz Brzęczyszczykiewicz",
                "password": "correct horse battery",
                "team": team,
                "language": "pl",
            },
        )
        assert reply.status_code == 200, reply.text
        login = self.post("user/login", {"username": username, "password": "correct horse battery"})
        assert login.status_code == 200, login.text
        self.token = login.json()["token"]
        return self


@pytest.fixture
def app(live_server, transactional_db) -> Credo:
    return Credo(live_server.url).signed_up()


def test_register_and_login_by_username_or_email_give_a_token_and_the_users_info(
    live_server, transactional_db
):
    app = Credo(live_server.url).signed_up()
    assert len(app.token) == 64
    by_email = app.post(
        "user/login", {"email": "exampleusername@example.org", "password": "correct horse battery"}
    ).json()
    assert by_email["username"] == "exampleusername" and by_email["team"] == "CYFRONET"
    assert by_email["display_name"] == "Grzegorz Brzęczyszczykiewicz"
    assert set(by_email) == {"username", "display_name", "email", "team", "language", "token"}
    info = app.post("user/info", {"team": "Kraków", "display_name": "GB"}).json()
    assert (info["team"], info["display_name"], info["language"]) == ("Kraków", "GB", "pl")
    assert app.post("user/id", {}).json()["id"] == Volunteer.objects.get().public_id


def test_bad_credentials_and_taken_names_are_refused_with_a_message(app):
    wrong = app.post("user/login", {"username": "exampleusername", "password": "nope-nope"})
    assert wrong.status_code == 401
    assert wrong.json()["message"] == "Invalid username/email and password combination."
    again = app.post(
        "user/register",
        {
            "email": "x@example.org",
            "username": "ExampleUsername",
            "password": "long enough",
            "display_name": "",
            "team": "",
            "language": "",
        },
    )
    assert again.status_code == 400 and "taken" in again.json()["message"]
    app.token = "0" * 64
    assert app.post("detection", {"detections": [detection()]}).json()["message"] == (
        "Invalid token."
    )


def test_a_detection_becomes_a_hit_of_the_users_phone_with_its_frame_kept(app):
    sent = detection()
    reply = app.post("detection", {"detections": [sent]})
    assert reply.status_code == 200, reply.text
    stored = Hit.objects.get()
    assert reply.json() == {"detections": [{"id": stored.id, "visible": True}]}
    assert stored.t_ns == sent["timestamp"] * 10**6
    assert (stored.lat, stored.lon, stored.alt_m, stored.loc_err_m) == (52.0, 21.0, 168.0, 14.0)
    assert (stored.x, stored.y) == (311, 42)
    extra = Detection.objects.get()
    assert (extra.device_id, extra.width, extra.height) == (stored.device_id, 864, 480)
    assert (extra.frame_content, extra.provider, extra.client_id) == (PNG, "gps", 227)
    phone = Phone.objects.get()
    assert phone.device_id == stored.device_id and phone.credo_device_id == "abcdef"
    assert Device.objects.get().model == "galaxy xcover 4"


def test_a_resent_detection_is_stored_once_and_answered_with_the_same_id(app):
    batch = [detection(x=1), detection(x=2)]
    first = app.post("detection", {"detections": batch}).json()
    again = app.post("detection", {"detections": batch}).json()
    assert first == again
    assert Hit.objects.count() == 2 and Detection.objects.count() == 2


def test_bad_detections_are_named_per_item_and_the_rest_stored(app):
    reply = app.post(
        "detection",
        {
            "detections": [
                detection(latitude=91.0),
                detection(),
                detection(frame_content="x" * 10_001),
                detection(timestamp=time.time_ns()),
            ]
        },
    )
    body = reply.json()["detections"]
    assert reply.status_code == 200 and Hit.objects.count() == 1
    assert body[0]["errors"] == {"latitude": "must be between -90 and 90"}
    assert body[1]["id"] == Hit.objects.get().id
    assert "at most 10000 characters" in body[2]["errors"]["frame_content"]
    assert "timestamp" in body[3]["errors"]
    every = app.post("detection", {"detections": [detection(longitude=200.0)]})
    assert every.status_code == 400 and "longitude" in every.json()["message"]


def test_a_ping_with_on_time_becomes_an_exposure_block_ending_at_the_ping(app):
    app.post("detection", {"detections": [detection()]})
    ping_ms = now_ms()
    reply = app.post("ping", {"timestamp": ping_ms, "delta_time": 600_000, "on_time": 540_000})
    assert reply.status_code == 200, reply.text
    block = ExposureBlock.objects.get()
    assert (block.end_ns, block.start_ns) == (ping_ms * 10**6, (ping_ms - 540_000) * 10**6)
    assert (block.lat, block.lon) == (52.0, 21.0)
    app.post("ping", {"timestamp": ping_ms, "delta_time": 600_000, "on_time": 540_000})
    assert ExposureBlock.objects.count() == 1  # a resent ping is stored once


def test_the_older_android_version_field_and_two_users_with_the_same_device_id(
    live_server, transactional_db
):
    first = Credo(live_server.url).signed_up("first")
    second = Credo(live_server.url).signed_up("second")
    legacy = {k: v for k, v in DEVICE.items() if k != "system_version"} | {
        "android_version": "26-8.0"
    }
    for app in (first, second):
        body = {**legacy, "detections": [detection()]}
        headers = {"Authorization": f"Token {app.token}"}
        reply = requests.post(f"{app.url}/detection", json=body, headers=headers, timeout=30)
        assert reply.status_code == 200, reply.text
    assert Device.objects.count() == 2 and Hit.objects.count() == 2
    assert set(Device.objects.values_list("os", flat=True)) == {"26-8.0"}
