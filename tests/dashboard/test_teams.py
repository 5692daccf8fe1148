"""/teams/: each team's live hours, phones and hits over 7 days; names only when chosen."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from crayfis.models import Phone as CrayfisPhone
from credo.models import Phone, Team, Volunteer
from follow.counters import Counters
from follow.tail import catch_up
from tests.factories import block, hit, make_device

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
DAY = 86400 * 10**9


def volunteer(username: str, team: str, display_name: str = "", app: str = "credo") -> str:
    """A volunteer in a team with one phone of this app (credo or crayfis); its device token."""
    user = get_user_model().objects.create_user(username, f"{username}@example.org", "pw-123456")
    person = Volunteer.objects.create(
        user=user, display_name=display_name, team=Team.objects.get_or_create(name=team)[0]
    )
    device, token = make_device()
    if app == "credo":
        Phone.objects.create(volunteer=person, credo_device_id=username, device=device)
    else:  # as an upload with the volunteer's App-code links it
        CrayfisPhone.objects.create(
            volunteer=person, android_id=username, camera_id="0", device=device
        )
    return token


def upload(client_for, token: str, hits: list[Any], blocks: list[Any]) -> None:
    client = client_for(token)
    if hits:
        assert client.post("/api/v1/hits", {"hits": hits}, format="json").status_code == 201
    if blocks:
        assert (
            client.post("/api/v1/exposures", {"blocks": blocks}, format="json").status_code == 201
        )


def test_teams_sum_their_phones_week_and_name_only_who_chose_a_name(client_for):
    now = time.time_ns()
    ada = volunteer("ada", "Geneva", display_name="Ada")
    anon = volunteer("anon", "Geneva")
    bob = volunteer("bob", "Kraków", display_name="Bob")
    upload(
        client_for,
        ada,
        [hit(seq=1, t_ns=now - 10**9), hit(seq=2, t_ns=now - 2 * 10**9)],
        [block(start_ns=now - 3600 * 10**9, end_ns=now - 10**9)],
    )
    upload(client_for, anon, [hit(seq=1, t_ns=now - 10**9)], [])
    upload(client_for, bob, [hit(seq=1, t_ns=now - 10**9)], [])
    catch_up(Counters())
    page = Client().get("/teams/")
    rows = page.context["rows"]
    assert [r["name"] for r in rows] == ["Geneva", "Kraków"]
    geneva = rows[0]
    assert (geneva["phones"], geneva["hits"], geneva["volunteers"]) == (2, 3, 2)
    assert geneva["live_hours"] == pytest.approx(1.0, abs=0.01)
    assert geneva["named"] == ["Ada"]
    text = page.content.decode()
    assert "Ada" in text and "Bob" in text and "anon" not in text


def test_a_crayfis_phone_counts_for_the_team_of_the_volunteer_its_app_code_named(client_for):
    now = time.time_ns()
    ada = volunteer("ada", "Geneva", display_name="Ada")
    cam = volunteer("cam", "Geneva", app="crayfis")
    upload(client_for, ada, [hit(seq=1, t_ns=now - 10**9)], [])
    upload(
        client_for,
        cam,
        [hit(seq=1, t_ns=now - 10**9), hit(seq=2, t_ns=now - 2 * 10**9)],
        [block(start_ns=now - 1800 * 10**9, end_ns=now - 10**9)],
    )
    catch_up(Counters())
    (row,) = Client().get("/teams/").context["rows"]
    assert (row["phones"], row["hits"], row["volunteers"]) == (2, 3, 2)
    assert row["live_hours"] == pytest.approx(0.5, abs=0.01)


def test_a_week_means_the_last_7_utc_days(client_for):
    now = time.time_ns()
    ada = volunteer("ada", "Geneva")
    upload(client_for, ada, [hit(seq=1, t_ns=now - 10 * DAY), hit(seq=2, t_ns=now - 10**9)], [])
    catch_up(Counters())
    (row,) = Client().get("/teams/").context["rows"]
    assert row["hits"] == 1


def test_without_teams_the_page_says_so(db):
    assert "No teams yet." in Client().get("/teams/").content.decode()
