"""GET /api/v1/cells and the status's map: every active cell, merged into squares by size."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from follow import cells as map_cells
from follow import status
from ingest.models import ActiveCell
from vocab.cells import cell_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
DAY = 86400 * 10**9
GENEVA, TOKYO, FIJI_WEST, FIJI_EAST = (46.2, 6.14), (35.68, 139.69), (-16.8, 179.9), (-16.8, -179.9)


@pytest.fixture(autouse=True)
def _no_cached_replies():
    cache.clear()


def light(places: list[tuple[float, float]], hits: int = 1, age_ns: int = 0) -> None:
    """An active ~1 km cell at each place (as the counters would have folded it)."""
    now = time.time_ns()
    rows = {}
    for lat, lon in places:
        key, clat, clon = cell_of(lat, lon)
        rows[key] = ActiveCell(cell=key, lat=clat, lon=clon, last_seen_ns=now - age_ns, hits=hits)
    ActiveCell.objects.bulk_create(rows.values())


def grid(lat: float, lon: float, n: int, step: float = 0.011) -> list[tuple[float, float]]:
    """Places in n cells, a cell or more apart, from (lat, lon) north and east."""
    side = int(n**0.5) + 1
    east = step / math.cos(math.radians(lat))  # a ~1 km cell is this wide in longitude
    return [(lat + step * (k // side), lon + east * (k % side)) for k in range(n)]


def cells_of_view(bbox: str) -> dict[str, Any]:
    reply = APIClient().get("/api/v1/cells", {"bbox": bbox})
    assert reply.status_code == 200, reply.content
    body: dict[str, Any] = reply.json()
    return body


def test_a_city_view_gets_its_own_cells_and_none_outside():
    light([*grid(*GENEVA, 30), TOKYO])
    body = cells_of_view("6.0,46.1,6.4,46.35")
    assert body["cells_deg"] == 0.01
    assert len(body["cells"]) == 30
    for cell in body["cells"]:  # the public cells' centres, nothing finer
        assert cell_of(cell["lat"], cell["lon"])[1:] == (cell["lat"], cell["lon"])


def test_a_view_across_the_antimeridian_gets_both_sides():
    light([FIJI_WEST, FIJI_EAST, GENEVA])
    body = cells_of_view("179.5,-17.2,-179.5,-16.4")
    assert sorted(round(c["lon"]) for c in body["cells"]) == [-180, 180]


def test_a_wide_view_merges_cells_into_squares_and_keeps_every_hit(monkeypatch):
    monkeypatch.setattr(map_cells, "MAX_CELLS", 50)
    light(grid(*GENEVA, 40) + grid(*TOKYO, 40), hits=3)
    body = cells_of_view("-180,-90,180,90")
    assert body["cells_deg"] == 5.0 and len(body["cells"]) == 2
    assert sum(c["hits"] for c in body["cells"]) == 240
    # Each square sits at the mean of its cells, so on its city, not a square's corner.
    near = sorted((round(c["lat"], 1), round(c["lon"], 1)) for c in body["cells"])
    assert near == [(35.7, 139.7), (46.2, 6.2)]


def test_the_views_size_alone_decides_its_squares(monkeypatch):
    monkeypatch.setattr(map_cells, "MAX_CELLS", 5000)
    assert map_cells.view_deg(6.0, 46.0, 6.5, 46.5) == 0.01  # a city
    assert map_cells.view_deg(-10.0, 35.0, 30.0, 60.0) == 1.0  # Europe: 40 x 25 squares
    assert map_cells.view_deg(-180.0, -90.0, 180.0, 90.0) == 5.0  # the world
    assert map_cells.view_deg(170.0, -20.0, -170.0, -12.0) == 0.2  # 20 degrees across ±180
    assert map_cells.view_deg(-180.0, 89.0, 180.0, 90.0) == 1.0  # round the pole


def test_cells_idle_for_a_day_are_not_shown():
    light([GENEVA])
    light([TOKYO], age_ns=DAY + 10**9)
    assert len(cells_of_view("-180,-90,180,90")["cells"]) == 1


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({}, "bbox"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "0,50,10,40"}, "bbox"),
        ({"bbox": "0,40,10,50", "zoom": "3"}, "zoom"),
    ],
)
def test_a_bad_view_is_a_400_naming_the_parameter(query, named):
    reply = APIClient().get("/api/v1/cells", query)
    assert reply.status_code == 400
    assert named in reply.json()["errors"]


def test_the_status_shows_each_cell_while_few_and_squares_when_too_many(monkeypatch):
    light(grid(*GENEVA, 3), hits=5)
    light(grid(10.0, 10.0, 6, step=1.0))  # six one-hit cells a degree apart
    few = status.compute()
    assert few["cells_deg"] == 0.01 and len(few["cells"]) == 9
    monkeypatch.setattr(map_cells, "MAX_CELLS", 3)
    many = status.compute()
    assert many["cells_deg"] > 0.01 and len(many["cells"]) <= 3
    assert sum(c["hits"] for c in many["cells"]) == 21  # nothing pushed off the map


def test_the_follower_merges_at_most_once_a_minute(monkeypatch):
    monkeypatch.setattr(map_cells, "MAX_CELLS", 3)
    light([*grid(*GENEVA, 2), *grid(*TOKYO, 2)])  # 4 cells: merged into squares
    consumer = status.StatusSnapshots()
    consumer.tick()
    light([FIJI_WEST])
    consumer.tick()  # within the minute: the squares of the last merge
    first = status.current()
    assert first["cells_deg"] > 0.01 and sum(c["hits"] for c in first["cells"]) == 4
    assert consumer.merged is not None
    made, shown = consumer.merged
    consumer.merged = (made - status.REUSE_MERGED_NS, shown)  # a minute on
    consumer.tick()
    assert sum(c["hits"] for c in status.current()["cells"]) == 5


def test_a_view_as_coarse_as_the_followers_squares_is_cut_from_them():
    world_grid = [
        (float(lat), float(lon)) for lat in range(-55, 57, 2) for lon in range(-180, 180, 3)
    ]
    light(world_grid)  # 6,720 cells: more than a page draws
    status.StatusSnapshots().tick()  # squares, as the follower stored them
    light([FIJI_WEST])  # after the snapshot
    world = cells_of_view("-180,-90,180,90")
    assert world["cells_deg"] == status.current()["cells_deg"] == 5.0
    assert sum(c["hits"] for c in world["cells"]) == len(world_grid)  # the snapshot's
    fiji = cells_of_view("179.8,-16.9,-179.9,-16.7")  # finer than the squares: the table's
    assert fiji["cells_deg"] == 0.01 and len(fiji["cells"]) == 1
