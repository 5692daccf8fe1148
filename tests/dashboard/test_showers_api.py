"""GET /api/v1/showers and /api/v1/showers/<id>: filters, cursor pages, detail."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from ingest.models import Hit
from tests.factories import hits, make_device, make_shower
from vocab.cells import cell_of

pytestmark = pytest.mark.postgres
T0 = 1_790_000_000_000_000_000


@pytest.fixture(autouse=True)
def _fresh():
    cache.clear()


def test_filters_by_time_multiplicity_and_significance(db):
    for k in range(6):
        make_shower(t_ns=T0 + k * 10**9, n_devices=3 + k, significance_sigma=float(k))
    api = APIClient()
    assert len(api.get("/api/v1/showers", {"min_devices": 6}).json()["results"]) == 3
    assert len(api.get("/api/v1/showers", {"min_sigma": 4.5}).json()["results"]) == 1
    window = api.get("/api/v1/showers", {"since": T0 + 10**9, "until": T0 + 3 * 10**9}).json()
    assert [s["t_ns"] for s in window["results"]] == [T0 + 2 * 10**9, T0 + 10**9]
    bad = api.get("/api/v1/showers", {"min_sigma": "lots"})
    assert bad.status_code == 400 and "min_sigma" in bad.json()["errors"]


def test_bad_and_empty_parameters_are_named_not_ignored(db):
    api = APIClient()
    for params in ({"since": ""}, {"since": "then"}, {"page_size": 0}, {"page_size": 501}):
        reply = api.get("/api/v1/showers", params)
        assert reply.status_code == 400, params
        assert set(reply.json()["errors"]) == set(params), reply.json()
    assert api.get("/api/v1/showers", {"cursor": "nope"}).status_code == 404


def test_cursor_pages_give_every_shower_once_newest_first(db):
    for k in range(12):
        make_shower(t_ns=T0 + (k % 4) * 10**9)
    seen, url = [], "/api/v1/showers"
    params: dict[str, int] | None = {"page_size": 5}
    while url:
        page = APIClient().get(url, params).json()
        seen += page["results"]
        url, params = page["next"], None
    assert len({s["shower_id"] for s in seen}) == 12
    assert [s["t_ns"] for s in seen] == sorted((s["t_ns"] for s in seen), reverse=True)


def test_the_detail_lists_member_cells_and_the_search(client_for):
    _, token = make_device()
    client_for(token).post("/api/v1/hits", {"hits": hits(3) + hits(2, lat=46.3)}, format="json")
    shower = make_shower(hits_of=list(Hit.objects.all()))
    detail = APIClient().get(f"/api/v1/showers/{shower.shower_id}").json()
    assert sorted(c["hits"] for c in detail["member_cells"]) == [2, 3]
    assert detail["search"]["params"]["window_ms"] == 50.0
    assert APIClient().get("/api/v1/showers/S-none").status_code == 404


def test_the_status_endpoints_are_in_the_openapi_schema(db):
    paths = APIClient().get("/api/schema/?format=json").json()["paths"]
    for path in ("/api/v1/status", "/api/v1/showers", "/api/v1/showers/{shower_id}"):
        assert path in paths


def test_the_energy_is_public_and_the_fitted_core_only_as_its_cell(db):
    shower = make_shower(
        core_lat=46.20117,
        core_lon=6.10223,
        core_err_m=12.0,
        log10_energy_ev=19.7345,
        log10_energy_err=0.0912,
    )
    listed = APIClient().get("/api/v1/showers").json()["results"][0]
    detail = APIClient().get(f"/api/v1/showers/{shower.shower_id}").json()
    for reply in (listed, detail):
        assert (reply["log10_energy_ev"], reply["log10_energy_err"]) == (19.73, 0.09)
        _, lat, lon = cell_of(46.20117, 6.10223)
        assert (reply["lat"], reply["lon"]) == (lat, lon)  # the cell's centre, not the core
        assert "core_lat" not in reply and "core_err_m" not in reply
    unfitted = make_shower(shower_id="S-plain")
    plain = APIClient().get(f"/api/v1/showers/{unfitted.shower_id}").json()
    assert plain["log10_energy_ev"] is None


def test_every_shower_says_whether_it_is_provisional(db):
    make_shower(shower_id="S-batch")
    make_shower(shower_id="S-live", provisional=True)
    listed = {
        s["shower_id"]: s["provisional"]
        for s in APIClient().get("/api/v1/showers").json()["results"]
    }
    assert listed == {"S-batch": False, "S-live": True}
    assert APIClient().get("/api/v1/showers/S-live").json()["provisional"] is True
    latest = APIClient().get("/api/v1/status").json()["latest_showers"]
    assert {s["shower_id"]: s["provisional"] for s in latest} == listed


def test_the_detail_shows_silent_phones_and_the_time_profile_as_cells_and_ms(client_for):
    import uuid

    from ingest.models import ExposureBlock

    fired, token = make_device()
    client_for(token).post("/api/v1/hits", {"hits": hits(3)}, format="json")
    members = list(Hit.objects.all())
    t0 = members[0].t_ns
    shower = make_shower(hits_of=members, t_ns=t0)
    span = {"start_ns": t0 - 10**9, "end_ns": t0 + 10**9}
    near, _ = make_device()
    far, _ = make_device()
    outside, outside_token = make_device()  # fired with the shower, outside its compact core
    later, later_token = make_device()  # took a hit, but 51 ms after the shower: silent
    # took a hit with the shower, but 20 km north of it, far from where its block says: silent
    moved, moved_token = make_device()
    client_for(moved_token).post(
        "/api/v1/hits", {"hits": hits(1, t_ns=t0, lat=46.2044 + 0.18)}, format="json"
    )
    client_for(outside_token).post(
        "/api/v1/hits", {"hits": hits(1, t_ns=t0 - 50_000_000)}, format="json"
    )
    client_for(later_token).post(
        "/api/v1/hits", {"hits": hits(1, t_ns=t0 + 51_000_000)}, format="json"
    )
    places = (
        (fired, 46.2044),
        (near, 46.2050),
        (far, 46.3),
        (outside, 46.2051),
        (later, 46.2049),
        (moved, 46.2049),
    )  # far: 10 km north
    for device, lat in places:
        ExposureBlock.objects.create(
            block_id=uuid.uuid4(), device=device, lat=lat, lon=6.1432, **span
        )
    detail = APIClient().get(f"/api/v1/showers/{shower.shower_id}").json()
    # near, later and moved; not the members' phone, not the one that fired outside the
    # core, not far
    assert [c["phones"] for c in detail["silent_cells"]] == [3]
    _, lat, lon = cell_of(46.2050, 6.1432)
    assert (detail["silent_cells"][0]["lat"], detail["silent_cells"][0]["lon"]) == (lat, lon)
    expected = sorted(round((h.t_ns - t0) / 1e6, 1) for h in members)
    assert detail["time_profile_ms"] == expected


def test_candidates_below_the_public_threshold_are_listed_labelled_and_can_be_filtered(db):
    make_shower(shower_id="S1", significance_sigma=3.15)
    make_shower(shower_id="S2", significance_sigma=7.0)
    listed = APIClient().get("/api/v1/showers").json()["results"]
    assert {s["shower_id"]: s["is_shower"] for s in listed} == {"S1": False, "S2": True}
    only = APIClient().get("/api/v1/showers", {"min_sigma": 5}).json()["results"]
    assert [s["shower_id"] for s in only] == ["S2"]


@pytest.mark.parametrize(
    ("place", "phone"),
    [
        ((64.1, 179.9995), (64.1, -179.9990)),  # across the antimeridian, 70 m apart
        ((64.1, -180.0), (64.1, 180.0)),  # the same meridian, written two ways
        ((89.9990, 0.0), (89.9995, 175.0)),  # across the north pole, 170 m apart
        ((-89.9999, 10.0), (-89.9995, -100.0)),  # round the south pole
    ],
)
def test_silent_phones_are_found_across_the_antimeridian_and_the_poles(db, place, phone):
    import uuid

    from ingest.models import ExposureBlock

    t0 = T0
    shower = make_shower(t_ns=t0, lat=place[0], lon=place[1])
    near, _ = make_device()
    ExposureBlock.objects.create(
        block_id=uuid.uuid4(),
        device=near,
        lat=phone[0],
        lon=phone[1],
        start_ns=t0 - 10**9,
        end_ns=t0 + 10**9,
    )
    detail = APIClient().get(f"/api/v1/showers/{shower.shower_id}").json()
    assert [c["phones"] for c in detail["silent_cells"]] == [1]


def test_a_phone_is_silent_only_in_a_block_that_holds_the_showers_time(db, settings):
    import uuid

    from ingest.models import ExposureBlock

    settings.CROWDRAY_MAX_BLOCK_S = 3600
    shower = make_shower(t_ns=T0)
    hour = 3600 * 10**9
    spans = {
        "longest": (T0 - 1, T0 + hour - 1),  # the longest block, ending just under an hour on
        "ended": (T0 - hour, T0),  # ended at the shower's time
        "later": (T0 + 1, T0 + hour),  # began just after it
    }
    for start_ns, end_ns in spans.values():
        device, _ = make_device()
        ExposureBlock.objects.create(
            block_id=uuid.uuid4(),
            device=device,
            lat=46.2044,
            lon=6.1432,
            start_ns=start_ns,
            end_ns=end_ns,
        )
    detail = APIClient().get(f"/api/v1/showers/{shower.shower_id}").json()
    assert [c["phones"] for c in detail["silent_cells"]] == [1]
