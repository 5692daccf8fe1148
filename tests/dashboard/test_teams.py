"""/teams/ and follow.teams: each team's phones, hits and live hours over the last 7 days."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from crayfis.models import Phone as CrayfisPhone
from credo.models import Phone, Team, Volunteer
from follow.counters import Counters
from follow.follower import configured
from follow.tail import catch_up
from follow.teams import SNAPSHOT_ID, TeamSnapshots, teams, write
from ingest.models import StatusSnapshot
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


def test_the_page_shows_the_followers_counts_until_its_next_turn(client_for):
    now = time.time_ns()
    ada = volunteer("ada", "Geneva")
    upload(client_for, ada, [hit(seq=1, t_ns=now - 10**9)], [])
    catch_up(Counters())
    catch_up(TeamSnapshots())
    upload(client_for, ada, [hit(seq=2, t_ns=now - 2 * 10**9)], [])
    catch_up(Counters())
    page = Client().get("/teams/")
    (row,) = page.context["rows"]
    assert row["hits"] == 1  # counted before the second upload
    assert f"Counted at {page.context['as_of']}" in " ".join(page.content.decode().split())
    catch_up(TeamSnapshots())  # the follower's next turn
    (row,) = Client().get("/teams/").context["rows"]
    assert row["hits"] == 2


def test_a_snapshot_four_intervals_old_is_counted_again(client_for, settings):
    settings.CROWDRAY_TEAMS_INTERVAL_S = 60
    now = time.time_ns()
    ada = volunteer("ada", "Geneva")
    upload(client_for, ada, [hit(seq=1, t_ns=now - 10**9)], [])
    catch_up(Counters())
    write(now_ns=now - 241 * 10**9)  # the follower stopped four minutes ago
    (row,) = Client().get("/teams/").context["rows"]
    assert row["hits"] == 1


def test_with_interval_zero_every_request_counts_and_the_follower_does_not(client_for, settings):
    settings.CROWDRAY_TEAMS_INTERVAL_S = 0
    assert "teams" not in [c.name for c in configured()]
    ada = volunteer("ada", "Geneva")
    assert Client().get("/teams/").context["rows"][0]["hits"] == 0
    upload(client_for, ada, [hit(seq=1, t_ns=time.time_ns() - 10**9)], [])
    catch_up(Counters())
    assert Client().get("/teams/").context["rows"][0]["hits"] == 1


def test_a_team_whose_phones_were_idle_all_week_shows_zeros():
    volunteer("ada", "Geneva")
    (row,) = teams()
    assert (row["phones"], row["hits"], row["live_hours"], row["volunteers"]) == (0, 0, 0.0, 1)


def test_many_teams_come_a_hundred_a_page_with_ten_names_each(db):
    rows = [
        {
            "name": f"team {k:03d}",
            "volunteers": 12,
            "named": [f"v{k}-{j:02d}" for j in range(12)],
            "phones": 1,
            "hits": 1000 - k,
            "live_hours": 1.0,
        }
        for k in range(150)
    ]
    StatusSnapshot.objects.create(
        id=SNAPSHOT_ID, generated_ns=time.time_ns(), body=json.dumps(rows)
    )
    first = Client().get("/teams/")
    assert [r["name"] for r in first.context["rows"]] == [f"team {k:03d}" for k in range(100)]
    text = " ".join(first.content.decode().split())
    assert "v0-09 and 2 more named" in text and "v0-10" not in text
    assert "Page 1 of 2" in text and 'href="?page=2"' in text
    second = Client().get("/teams/", {"page": "2"})
    assert len(second.context["rows"]) == 50
