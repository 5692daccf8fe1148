"""ingest.days on PostgreSQL: each UTC day of hits and blocks in a partition of its own."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest
from django.db import connection

from ingest.days import day_of, ensure_days, held_days, partition_name
from ingest.models import Hit
from ingest.store import insert_exposures, insert_hits
from tests.factories import make_device, make_shower
from vocab.units import NS_PER_DAY

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True),
]
NOW = time.time_ns()


def partitions_of(table: str) -> dict[int, str]:
    """Each hit id (or block id) with the partition that holds it."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, tableoid::regclass::text FROM {table}")
        return dict(cursor.fetchall())


def hits_at(times: list[int]) -> dict[str, list[Any]]:
    n = len(times)
    return {"seq": list(range(n)), "t_ns": times, "lat": [46.2] * n, "lon": [6.1] * n}


def test_an_upload_makes_the_partitions_of_its_days_and_its_hits_land_in_them():
    device, _ = make_device()
    times = [NOW - 3 * NS_PER_DAY, NOW]
    assert insert_hits(device.id, hits_at(times)) == 2
    assert {day_of(t) for t in times} <= held_days(Hit)
    assert sorted(partitions_of("ingest_hit").values()) == sorted(
        partition_name("ingest_hit", day_of(t)) for t in times
    )


def test_a_retry_across_the_days_is_still_a_duplicate():
    device, _ = make_device()
    times = [NOW - 2 * NS_PER_DAY, NOW - NS_PER_DAY, NOW]
    assert insert_hits(device.id, hits_at(times)) == 3
    assert insert_hits(device.id, hits_at(times)) == 0
    assert Hit.objects.count() == 3


def test_blocks_are_split_by_the_day_of_their_end():
    device, _ = make_device()
    end = (day_of(NOW) * NS_PER_DAY) + 60 * 10**9  # a minute after midnight
    insert_exposures(
        device.id,
        {
            "block_id": [uuid.uuid4()],
            "start_ns": [end - 600 * 10**9],  # began the day before
            "end_ns": [end],
            "lat": [46.2],
            "lon": [6.1],
        },
    )
    assert list(partitions_of("ingest_exposureblock").values()) == [
        partition_name("ingest_exposureblock", day_of(NOW))
    ]


def test_a_row_of_a_day_without_its_partition_waits_in_default_and_moves_in():
    device, _ = make_device()
    t = NOW - 400 * NS_PER_DAY  # an insert around the uploads (an admin, a bench)
    hit = Hit.objects.create(device=device, seq=1, t_ns=t, lat=0.0, lon=0.0)
    assert partitions_of("ingest_hit") == {hit.id: "ingest_hit_default"}
    ensure_days(Hit, t, t)
    assert partitions_of("ingest_hit") == {hit.id: partition_name("ingest_hit", day_of(t))}


def test_a_showers_members_are_read_from_its_own_days_only():
    device, _ = make_device()
    days = [day_of(NOW) - k for k in range(5)]
    midnight = days[0] * NS_PER_DAY
    times = [midnight - 10**6, midnight + 10**6, *(d * NS_PER_DAY + 10**12 for d in days[2:])]
    insert_hits(device.id, hits_at(times))
    shower = make_shower(hits_of=list(Hit.objects.filter(t_ns__in=times[:2])))
    plan = shower.members().explain()
    read = set(re.findall(r" on (ingest_hit_(?:d\d{8}|default))\b", plan))
    assert read == {partition_name("ingest_hit", d) for d in days[:2]}, plan
    assert sorted(shower.members().values_list("t_ns", flat=True)) == times[:2]
