"""GET /api/v1/hits: researchers only, filters, cursor pagination; from the database or the index.

The filter and paging tests run twice: on the database, and with Elasticsearch
configured (tests/search.py), where the same replies come from the index.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from follow.indexer import Indexer
from follow.tail import catch_up
from ingest.models import Hit
from ingest.store import insert_hits
from tests.factories import make_device

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
URL = "/api/v1/hits"
T0 = 1_790_000_000_000_000_000


@pytest.fixture(params=["database", "index"])
def source(request: pytest.FixtureRequest) -> str:
    """Where GET /api/v1/hits reads from."""
    if request.param == "index":
        request.getfixturevalue("search_index")
    return str(request.param)


def store(points: list[tuple[int, float, float]], source: str = "database") -> None:
    """Store hits at (t_ns, lat, lon) for one device (and index them when reading the index)."""
    device, _ = make_device()
    columns: dict[str, list[Any]] = {
        "seq": list(range(len(points))),
        "t_ns": [p[0] for p in points],
        "lat": [p[1] for p in points],
        "lon": [p[2] for p in points],
    }
    insert_hits(device.id, columns)
    if source == "index":
        assert catch_up(Indexer())["hits"] == len(points)  # type: ignore[index]


@pytest.fixture
def researcher(db) -> APIClient:
    user = User.objects.create_user("ada", password="pw")
    user.groups.add(
        Group.objects.get_or_create(name="researcher")[0]
    )  # flushed by transactional tests
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_anonymous_users_devices_and_ordinary_users_cannot_read_hits(db):
    _, token = make_device()
    device = APIClient()
    device.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    plain = APIClient()
    plain.force_authenticate(User.objects.create_user("bob"))
    assert APIClient().get(URL).status_code == 401
    assert device.get(URL).status_code == 403
    assert plain.get(URL).status_code == 403


def test_basic_auth_is_not_accepted_so_no_password_is_hashed_per_request(db):
    User.objects.create_user("root", password="s3cret", is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic cm9vdDpzM2NyZXQ=")  # root:s3cret
    assert client.get(URL).status_code == 401


def test_it_filters_by_time_range_in_ns_or_iso(researcher, source):
    store([(T0 + i * 10**9, 0.0, 0.0) for i in range(10)], source)
    by_ns = researcher.get(URL, {"since": T0 + 2 * 10**9, "until": T0 + 5 * 10**9}).json()
    assert [h["t_ns"] for h in by_ns["results"]] == [T0 + i * 10**9 for i in (2, 3, 4)]
    # T0 is 2026-09-21T14:13:20Z
    by_iso = researcher.get(URL, {"since": "2026-09-21T14:13:23Z"}).json()
    assert len(by_iso["results"]) == 7


def test_a_bounding_box_across_the_antimeridian_keeps_both_sides(researcher, source):
    store([(T0, 10.0, 179.9), (T0, 10.0, -179.9), (T0, 10.0, 0.0), (T0, 50.0, 179.9)], source)
    reply = researcher.get(URL, {"bbox": "179,0,-179,20"}).json()
    assert sorted(h["lon"] for h in reply["results"]) == [-179.9, 179.9]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "0,10,1,5"}, "bbox"),
        ({"device": "nope"}, "device"),
        ({"sinse": "2026-01-01"}, "sinse"),
        ({"since": "2026-01-02", "until": "2026-01-01"}, "until"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
    ],
)
def test_it_explains_a_bad_filter(researcher, source, params, field):
    reply = researcher.get(URL, params)
    assert reply.status_code == 400
    assert field in reply.json()["errors"]


def test_cursor_pages_visit_every_hit_exactly_once(researcher, source):
    store([(T0 + (i % 7) * 10**6, 0.0, 0.0) for i in range(53)], source)  # many equal times
    seen: list[int] = []
    url = URL
    params: dict[str, int] | None = {"page_size": 10}
    while url:
        page = researcher.get(url, params).json()
        assert len(page["results"]) <= 10
        seen += [h["hit_id"] for h in page["results"]]
        url, params = page["next"], None
    assert sorted(seen) == sorted(Hit.objects.values_list("id", flat=True))
    assert len(seen) == 53


def test_a_page_size_over_the_maximum_is_refused(researcher, source, settings):
    settings.CROWDRAY_HITS_PAGE_MAX = 5
    store([(T0 + i, 0.0, 0.0) for i in range(8)], source)
    refused = researcher.get(URL, {"page_size": 1000})
    assert refused.status_code == 400
    assert refused.json()["errors"]["page_size"] == "must be a whole number from 1 to 5"
    page = researcher.get(URL, {"page_size": 5}).json()
    assert len(page["results"]) == 5
    assert page["next"]


def test_the_index_gives_the_databases_reply_field_for_field(researcher, search_index, settings):
    store([(T0 + i * 10**6, 46.2 + i / 1000, 6.14) for i in range(30)], "index")
    params = {"since": T0 + 3 * 10**6, "until": T0 + 25 * 10**6, "bbox": "6,46,7,47"}
    from_index = researcher.get(URL, params).json()["results"]
    settings.ELASTICSEARCH_URL = ""
    from_database = researcher.get(URL, params).json()["results"]
    assert from_index == from_database and len(from_index) == 22


def test_hits_come_from_the_database_while_the_index_is_down(researcher, settings):
    store([(T0, 0.0, 0.0)])
    settings.ELASTICSEARCH_URL, settings.ELASTICSEARCH_COMPAT = "http://127.0.0.1:9", ""
    reply = researcher.get(URL)
    assert reply.status_code == 200 and len(reply.json()["results"]) == 1
