"""The network page's map cells and hits per minute from Elasticsearch aggregations.

They must equal the follower's rollups on the same data, stay at the ~1 km
privacy cell, and come from the rollups while the index is down.
"""

from __future__ import annotations

import time

import pytest

from follow import status as queries
from follow.counters import Counters
from follow.indexer import Indexer
from follow.tail import catch_up
from tests.factories import hits
from vocab.cells import cell_of

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
PLACES = [
    (46.2044, 6.1432),
    (46.2091, 6.1502),
    (-18.1248, 179.9999),
    (-18.1248, -179.9999),
    (89.99, 10.0),
]


def upload(client_for, now_ns: int) -> None:
    for k, (lat, lon) in enumerate(PLACES):
        api = client_for()
        batch = [
            {**h, "t_ns": now_ns - (k * 37 + i * 613) * 10**9 % (23 * 3600 * 10**9)}
            for i, h in enumerate(hits(30, lat=lat, lon=lon))
        ]
        assert api.post("/api/v1/hits", {"hits": batch}, format="json").status_code == 201


def test_cells_and_hits_per_minute_from_the_index_equal_the_rollups(
    client_for, search_index, settings
):
    now = time.time_ns()
    upload(client_for, now)
    catch_up(Counters())
    catch_up(Indexer())
    from_index = queries.compute(now)
    settings.ELASTICSEARCH_URL = ""
    from_rollups = queries.compute(now)
    assert from_index["cells"] == from_rollups["cells"] and len(from_index["cells"]) == 4
    assert from_index["series"] == from_rollups["series"]
    assert sum(from_index["series"]["hits"]) == 30 * len(PLACES)
    for cell in from_index["cells"]:  # nothing finer than the privacy cell
        assert cell_of(cell["lat"], cell["lon"])[1:] == (cell["lat"], cell["lon"])


def test_the_status_comes_from_the_rollups_while_the_index_is_down(client_for, settings):
    now = time.time_ns()
    upload(client_for, now)
    catch_up(Counters())
    settings.ELASTICSEARCH_URL, settings.ELASTICSEARCH_COMPAT = "http://127.0.0.1:9", ""
    status = queries.compute(now)
    assert sum(c["hits"] for c in status["cells"]) == 30 * len(PLACES)
