"""GET /api/v1/showers/search: filters, places across the antimeridian, pages.

Every test runs on both backends, with the same expectations: the index
(Elasticsearch or osmem-server) and the database (no ELASTICSEARCH_URL, or an
index that is down).
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from follow.indexer import Indexer
from tests.factories import make_shower
from vocab.cells import cell_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
T0 = 1_790_000_000_000_000_000
S = 10**9
# name: (lat, lon, seconds after T0, sigma, devices, log10 energy or None)
SHOWERS = {
    "S-geneva": (46.2044, 6.1432, 10, 5.5, 6, 19.5),
    "S-geneva-faint": (46.21, 6.15, 20, 3.1, 3, None),
    "S-suva": (-18.1248, 178.4501, 30, 8.0, 12, 20.2),
    "S-fiji-east": (-16.7, -179.9, 40, 4.2, 4, 19.1),
    "S-pole": (-89.9, 45.0, 50, 6.5, 5, 19.8),
    "S-krakow": (50.0647, 19.9450, 60, 12.0, 20, 20.5),
}


@pytest.fixture(params=["elasticsearch", "database"])
def indexed(request: pytest.FixtureRequest, settings: Any) -> str:
    """The showers, on the backend the search answers from; returns its name."""
    if request.param == "elasticsearch":
        request.getfixturevalue("search_index")
    else:
        settings.ELASTICSEARCH_URL = ""
    for name, (lat, lon, dt, sigma, devices, energy) in SHOWERS.items():
        make_shower(
            shower_id=name,
            lat=lat,
            lon=lon,
            t_ns=T0 + dt * S,
            significance_sigma=sigma,
            n_devices=devices,
            log10_energy_ev=energy,
            provisional=name == "S-krakow",
        )
    if request.param == "elasticsearch":
        Indexer().prepare()  # syncs the showers
    return str(request.param)


def found(**params: Any) -> list[str]:
    reply = APIClient().get("/api/v1/showers/search", params)
    assert reply.status_code == 200, reply.content
    return [s["shower_id"] for s in reply.json()["results"]]


def test_the_reply_says_which_backend_answered(indexed):
    reply = APIClient().get("/api/v1/showers/search")
    assert reply.status_code == 200 and reply["X-Search-Backend"] == indexed


@pytest.mark.django_db(transaction=True)
def test_an_index_that_is_down_degrades_to_the_database(settings):
    make_shower(shower_id="S-db", significance_sigma=7.0)
    settings.ELASTICSEARCH_URL = "http://127.0.0.1:9"  # nothing listens there
    reply = APIClient().get("/api/v1/showers/search")
    assert reply.status_code == 200 and reply["X-Search-Backend"] == "database"
    assert [s["shower_id"] for s in reply.json()["results"]] == ["S-db"]


def test_filters_by_time_significance_devices_and_energy(indexed):
    assert found(since=T0 + 20 * S, until=T0 + 50 * S) == [
        "S-fiji-east",
        "S-suva",
        "S-geneva-faint",
    ]
    assert set(found(min_sigma=6)) == {"S-suva", "S-pole", "S-krakow"}
    assert set(found(min_devices=10)) == {"S-suva", "S-krakow"}
    assert set(found(min_energy=1e20)) == {"S-suva", "S-krakow"}  # unfitted showers never match
    assert found(min_sigma=5, min_devices=6, until=T0 + 35 * S) == ["S-suva", "S-geneva"]


def test_places_by_box_across_the_antimeridian_and_by_distance(indexed):
    assert set(found(bbox="178,-20,-179,-15")) == {"S-suva", "S-fiji-east"}  # crosses 180
    assert set(found(bbox="6,46,7,47")) == {"S-geneva", "S-geneva-faint"}
    assert set(found(bbox="-180,-90,180,-89")) == {"S-pole"}
    assert set(found(near="46.2,6.14", within_km=5)) == {"S-geneva", "S-geneva-faint"}
    assert set(found(near="-17.5,179.9", within_km=300)) == {"S-suva", "S-fiji-east"}
    assert set(found(near="-90,0", within_km=20)) == {"S-pole"}


def test_sorted_by_significance_and_paged_without_gaps_or_repeats(indexed):
    assert found(sort="significance")[:2] == ["S-krakow", "S-suva"]
    seen: list[str] = []
    params: dict[str, Any] = {"page_size": 4, "sort": "significance"}
    url = "/api/v1/showers/search"
    while url:
        page = APIClient().get(url, params).json()
        seen += [s["shower_id"] for s in page["results"]]
        url, params = page["next"], {}
    assert sorted(seen) == sorted(SHOWERS) and len(seen) == len(SHOWERS)


def test_replies_are_the_public_summaries_cores_as_cells_and_provisional_marked(indexed):
    reply = APIClient().get("/api/v1/showers/search", {"min_sigma": 11}).json()["results"]
    assert [s["provisional"] for s in reply] == [True]
    _, lat, lon = cell_of(50.0647, 19.9450)
    assert (reply[0]["lat"], reply[0]["lon"]) == (lat, lon)


def test_bad_parameters_are_named(indexed):
    api = APIClient()
    for params, name in (
        ({"min_sigma": "lots"}, "min_sigma"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"near": "1,2"}, "near"),
        ({"sort": "size"}, "sort"),
        ({"min_energy": -1}, "min_energy"),
        ({"min_energy": 0}, "min_energy"),
        ({"page_size": 0}, "page_size"),
        ({"since": "then"}, "since"),
        ({"until": "9999-01-01"}, "until"),
        ({"since": ""}, "since"),  # in the API an empty value is an error, not "any"
    ):
        reply = api.get("/api/v1/showers/search", params)
        assert reply.status_code == 400 and name in reply.json()["errors"], (params, reply.content)


def test_a_cursor_it_did_not_give_is_no_page(indexed):
    reply = APIClient().get("/api/v1/showers/search", {"after": "nope"})
    assert reply.status_code == 404
    assert "after" in reply.json()["errors"]
