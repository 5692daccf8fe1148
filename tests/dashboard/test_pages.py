"""Pages render on the server (no JavaScript needed for essentials) and load nothing external."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client

from follow.counters import Counters
from follow.tail import catch_up
from tests.factories import hits, make_shower

pytestmark = pytest.mark.postgres
T_SHOWER = 1_790_000_000_000_000_000


@pytest.fixture(autouse=True)
def _fresh():
    cache.clear()


@pytest.mark.django_db(transaction=True)  # the follower sees committed rows only
def test_the_network_page_shows_counters_and_latest_showers_without_scripts(device_client):
    device_client.post("/api/v1/hits", {"hits": hits(4)}, format="json")
    catch_up(Counters())
    make_shower(shower_id="S77", n_devices=9)
    page = Client().get("/").content.decode()
    assert re.search(r'data-field="hits_last_hour">4<', page)
    assert re.search(r'data-field="devices_active">1<', page)
    assert "/showers/S77/" in page and "<td>9</td>" in page
    assert 'id="status-data"' in page


@pytest.mark.parametrize("url", ["/", "/showers/", "/about/"])
def test_pages_load_nothing_from_outside_the_server(db, url):
    page = Client().get(url)
    assert page.status_code == 200
    for ref in re.findall(r'(?:src|href)="([^"]+)"', page.content.decode()):
        assert ref.startswith(("/", "?", "#")), ref
    assert '<meta name="viewport"' in page.content.decode()


def test_the_showers_list_filters_and_pages(db):
    for k in range(30):
        make_shower(n_devices=3 + k % 5)
    page = Client().get("/showers/", {"min_devices": 7}).content.decode()
    assert "6 showers" in page  # n_devices 3..7, one in five is 7
    first = Client().get("/showers/").content.decode()
    assert "Page 1 of 2" in first and "Older" in first
    bad = Client().get("/showers/", {"min_devices": "many"}).content.decode()
    assert "Bad filter" in bad


def test_a_shower_page_shows_its_facts_and_search(db):
    older = make_shower(shower_id="S4", t_ns=T_SHOWER - 10**9)
    shower = make_shower(
        shower_id="S5",
        n_devices=6,
        significance_sigma=5.2,
        t_ns=T_SHOWER,
        lat=50.0647,
        lon=19.9450,
        expected_background=1e-12,
    )
    page = Client().get(f"/showers/{shower.shower_id}/").content.decode()
    assert "Shower S5" in page and "5.2 \u03c3" in page
    assert "6 phones within 420 m of each other near Kraków, Poland lit up within 4 ms" in page
    assert "&lt; 10⁻¹⁰" in page and "None" not in page.split("<script")[0]
    assert "within 50 ms of each other" in page  # the search in words
    assert f'href="/showers/{older.shower_id}/" rel="prev"' in page and 'rel="next"' not in page
    assert 'href="/showers/"' in page
    assert Client().get("/showers/S404/").status_code == 404


def test_a_shower_page_shows_the_estimated_energy_with_its_error(db):
    fitted = make_shower(shower_id="S6", log10_energy_ev=19.84, log10_energy_err=0.12)
    page = Client().get(f"/showers/{fitted.shower_id}/").content.decode()
    assert "10<sup>19.8 ± 0.1</sup> eV" in page
    plain = Client().get(f"/showers/{make_shower(shower_id='S7').shower_id}/").content.decode()
    assert "not estimated" in plain


def test_provisional_showers_are_marked_in_the_list_and_on_their_page(db):
    make_shower(shower_id="S8")
    live = make_shower(shower_id="S9", provisional=True)
    rows = Client().get("/showers/").content.decode()
    assert rows.count('class="badge"') == 1
    page = Client().get(f"/showers/{live.shower_id}/").content.decode()
    assert "provisional" in page and "full search will confirm" in page
    final = Client().get("/showers/S8/").content.decode()
    assert 'class="badge"' not in final


def test_candidates_are_labelled_in_the_list_and_the_about_page_explains_the_threshold(db):
    make_shower(shower_id="S1", significance_sigma=3.15)
    make_shower(shower_id="S2", significance_sigma=7.0)
    rows = Client().get("/showers/").content.decode()
    assert rows.count('class="badge candidate"') == 1
    about = Client().get("/about/").content.decode()
    assert "Showers and candidates" in about and "5.0σ or more count as showers" in about
