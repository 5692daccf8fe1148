"""Elasticsearch kept in step: the follower's index consumer, load-showers, rebuild, a lost server.

Against a real search server process (tests/search.py): osmem-server, or the
cluster in ELASTICSEARCH_URL.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError, call_command

from follow.indexer import Indexer
from follow.load import load_result
from follow.tail import catch_up
from ingest import es
from ingest.models import ExposureBlock, Hit, Shower
from tests.factories import block, hits, search_result

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def indexed_ids(index: str) -> set[str]:
    client = es.client()
    client.indices.refresh(index=index)
    reply = client.search(index=index, size=10_000, source=False)
    return {h["_id"] for h in reply["hits"]["hits"]}


def database_ids() -> dict[str, set[str]]:
    return {
        es.HITS: {f"{d}:{s}" for d, s in Hit.objects.values_list("device_id", "seq")},
        es.EXPOSURES: {
            f"{d}:{b}" for d, b in ExposureBlock.objects.values_list("device_id", "block_id")
        },
        es.SHOWERS: set(Shower.objects.values_list("shower_id", flat=True)),
    }


def assert_index_equals_database() -> None:
    for index, ids in database_ids().items():
        assert indexed_ids(index) == ids, index


def upload(client_for: Any, n_devices: int = 3, per_device: int = 40) -> None:
    for _ in range(n_devices):
        api = client_for()
        batch = hits(per_device)
        for _ in range(2):  # the retry is answered as duplicates and indexes nothing twice
            assert api.post("/api/v1/hits", {"hits": batch}, format="json").status_code == 201
        blocks = {"blocks": [block(), block()]}
        assert api.post("/api/v1/exposures", blocks, format="json").status_code == 201


def shower_row(hit: Hit, shower_id: str) -> dict[str, Any]:
    return {
        "shower_id": shower_id,
        "t_ns": hit.t_ns,
        "t_spread_ns": 1000,
        "lat": hit.lat,
        "lon": hit.lon,
        "radius_m": 50.0,
        "n_devices": 3,
        "n_hits": 1,
        "n_core_devices": 3,
        "n_core_hits": 1,
        "hit_ids": [hit.id],
        "device_ids": [str(hit.device_id)],
        "expected_background": 1e-9,
        "significance_sigma": 6.0,
    }


def test_every_index_equals_the_database_after_uploads_retries_a_replaced_search_and_a_rebuild(
    client_for, search_index, tmp_path
):
    upload(client_for)
    consumer = Indexer()
    assert catch_up(consumer) == {"hits": 120, "exposures": 6}
    assert_index_equals_database()
    first = Hit.objects.order_by("t_ns").first()
    assert first is not None
    span = (first.t_ns - 10**12, first.t_ns + 10**12)
    load_result(search_result(tmp_path / "a", [shower_row(first, "S-old")], span))
    assert indexed_ids(es.SHOWERS) == {"S-old"}  # load-showers indexes what it loads
    load_result(search_result(tmp_path / "b", [shower_row(first, "S-new")], span))
    upload(client_for, n_devices=1)
    catch_up(consumer)
    assert_index_equals_database()  # the replaced shower is gone from the index too
    es.client().indices.delete(index="crowdray-*")
    call_command("index", "rebuild")
    assert_index_equals_database()


def test_hits_go_to_monthly_indices_behind_the_alias_with_exact_times(client_for, search_index):
    upload(client_for, n_devices=1, per_device=5)
    catch_up(Indexer())
    hit = Hit.objects.order_by("id").first()
    assert hit is not None
    client = es.client()
    doc = client.get(index=es.hit_index(hit.t_ns), id=f"{hit.device_id}:{hit.seq}")["_source"]
    assert doc["time"] == es.iso_nanos(hit.t_ns)
    assert doc["location"] == {"lat": hit.lat, "lon": hit.lon}
    month = es.hit_index(hit.t_ns)
    assert es.HITS in client.indices.get_alias(index=month)[month]["aliases"]
    assert es.iso_nanos(1_790_000_000_123_456_789) == "2026-09-21T14:13:20.123456789Z"


def test_a_server_lost_mid_stream_and_restarted_empty_is_restored_by_rebuild_and_the_follower(
    client_for, search_server, settings
):
    if search_server is None:
        pytest.skip("needs a search server this test may kill (osmem-server)")
    from osmem_server import OsmemServer  # type: ignore[import-untyped]  # no type hints

    first = OsmemServer.start(japanese=False)
    settings.ELASTICSEARCH_URL, settings.ELASTICSEARCH_COMPAT = first.url, "plain-json"
    upload(client_for, n_devices=2)
    consumer = Indexer()
    catch_up(consumer)
    first.process.kill()  # the server dies; uploads go on
    first.process.wait()
    upload(client_for, n_devices=2)
    with pytest.raises(Exception):  # noqa: B017, PT011 - the connection is refused
        catch_up(Indexer())
    second = OsmemServer.start(japanese=False)  # in memory: empty
    try:
        settings.ELASTICSEARCH_URL = second.url
        call_command("index", "rebuild", "--what", "showers", "--what", "exposures")
        call_command("index", "rebuild", "--what", "hits")
        catch_up(Indexer())  # the follower catches up from its mark; ids make redoing harmless
        assert_index_equals_database()
    finally:
        second.close()


def test_without_elasticsearch_the_commands_say_so_and_the_search_uses_the_database(db, settings):
    settings.ELASTICSEARCH_URL = ""
    with pytest.raises(CommandError, match="ELASTICSEARCH_URL is not set"):
        call_command("index", "status")
    from rest_framework.test import APIClient

    reply = APIClient().get("/api/v1/showers/search")
    assert reply.status_code == 200 and reply["X-Search-Backend"] == "database"
